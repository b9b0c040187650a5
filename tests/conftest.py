"""Fixtures shared by every test: stores on SQLite and on a real PostgreSQL, a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from safecity.store.db import Database
from safecity.testing.clock import FakeClock
from safecity.testing.postgres import create_database, embedded_postgres


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One embedded PostgreSQL for the whole run; each test gets its own database on it."""
    with embedded_postgres(tmp_path_factory.mktemp("pg")) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated-to-nothing, empty store URL: SQLite in tmp_path, or a fresh PostgreSQL DB."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'safecity.db'}"
        return
    server: str = request.getfixturevalue("postgres_server")
    yield asyncio.run(create_database(server))


@pytest.fixture
async def db(store_url: str) -> AsyncIterator[Database]:
    """A store migrated to head, on SQLite and on PostgreSQL."""
    database = Database(store_url)
    await database.migrate()
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
