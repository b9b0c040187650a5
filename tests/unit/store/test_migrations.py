from __future__ import annotations

from sqlalchemy import inspect

from safecity.store.db import Database
from safecity.store.tables import Base


async def test_migrations_create_every_table_the_models_declare(db: Database) -> None:
    async with db.engine.connect() as connection:
        names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert set(Base.metadata.tables) <= names


async def test_migrating_twice_changes_nothing(db: Database) -> None:
    await db.migrate()
    async with db.engine.connect() as connection:
        names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert "alembic_version" in names
