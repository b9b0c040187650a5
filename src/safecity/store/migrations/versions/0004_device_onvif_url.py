"""devices: the ONVIF device service address of a camera

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # A nullable column without a default: no table rewrite on PostgreSQL, and SQLite's ALTER
    # TABLE ADD COLUMN takes it as is (batch mode copies the table only where it must).
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("onvif_url", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("onvif_url")
