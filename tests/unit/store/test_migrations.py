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


async def test_migrated_tables_have_every_column_the_models_declare(db: Database) -> None:
    def columns(connection: object) -> dict[str, set[str]]:
        inspector = inspect(connection)
        return {
            name: {column["name"] for column in inspector.get_columns(name)}
            for name in Base.metadata.tables
        }

    async with db.engine.connect() as connection:
        found = await connection.run_sync(columns)
    for name, table in Base.metadata.tables.items():
        assert {c.name for c in table.columns} <= found[name], name
    assert "onvif_url" in found["devices"]
