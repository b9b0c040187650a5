"""Persistence: engine and sessions, tables, Alembic migrations, repositories."""
