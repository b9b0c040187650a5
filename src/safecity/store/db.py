"""Engine, sessions and migrations for SQLite (WAL, the embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from safecity.core.errors import ConfigError, StoreUnavailable


def async_url(url: str) -> str:
    """Map plain URLs onto the async drivers we ship (aiosqlite, asyncpg)."""
    parsed = make_url(url)
    driver = parsed.drivername
    if driver in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif driver in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif driver not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ConfigError(f"store.url: unsupported database driver {driver!r}")
    return parsed.render_as_string(hide_password=False)


def sqlite_pragmas(dbapi_connection: Any, _record: Any = None) -> None:
    """Set on every SQLite connection: the engine's and any raw one (`store.repositories.inbox`)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before it returns, so an ACKed alarm survives a power cut too,
    # not only a crash of the process (NORMAL in WAL mode may lose the last commits then).
    # Group commits in the intake share one fsync between many alarms.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Database:
    """Owns the engine; hands out sessions; runs Alembic to head."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        database = make_url(self.url).database if self.is_sqlite else None
        # The file behind a SQLite store (None in memory), for raw connections that share it.
        self.sqlite_path = database if database and database != ":memory:" else None
        options: dict[str, Any] = {"echo": echo}
        if not self.is_sqlite:
            options.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock()

    @property
    def write_lock(self) -> asyncio.Lock:
        """Held by every SQLite writer of this process, raw connections included."""
        return self._write_lock

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read session in one transaction, committed on success, rolled back on error."""
        try:
            async with self.sessions() as session, session.begin():
                yield session
        except (OperationalError, DBAPIError) as exc:
            if isinstance(exc, OperationalError) or exc.connection_invalidated:
                raise StoreUnavailable(f"store did not answer: {exc.orig}") from exc
            raise

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction. On SQLite, writers in this process queue on one lock (SQLite
        allows one writer anyway, and this keeps the audit chain's read-then-append atomic);
        PostgreSQL serialises audit appends with a row lock on the chain head instead."""
        if not self.is_sqlite:
            async with self.session() as session:
                yield session
            return
        async with self._write_lock, self.session() as session:
            yield session

    async def migrate(self) -> None:
        """Bring the schema to the latest Alembic revision."""
        async with self.engine.begin() as connection:
            await connection.run_sync(_upgrade_to_head)

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await asyncio.shield(self.dispose())


def alembic_config() -> Config:
    config = Config()
    location = resources.files("safecity.store") / "migrations"
    config.set_main_option("script_location", str(location))
    return config


def _upgrade_to_head(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
