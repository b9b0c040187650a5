"""recordings: segment index, gaps, evidence locks

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "recording_segments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("codec", sa.String(length=16), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("keyframes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("path"),
    )
    with op.batch_alter_table("recording_segments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recording_segments_camera_start", ["camera_id", "started_at"], unique=False
        )
        batch_op.create_index("ix_recording_segments_ended_at", ["ended_at"], unique=False)

    op.create_table(
        "recording_gaps",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recording_gaps", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recording_gaps_camera_start", ["camera_id", "started_at"], unique=False
        )

    op.create_table(
        "evidence_locks",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=400), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("evidence_locks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_evidence_locks_camera_start", ["camera_id", "started_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("evidence_locks", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_locks_camera_start")
    op.drop_table("evidence_locks")
    with op.batch_alter_table("recording_gaps", schema=None) as batch_op:
        batch_op.drop_index("ix_recording_gaps_camera_start")
    op.drop_table("recording_gaps")
    with op.batch_alter_table("recording_segments", schema=None) as batch_op:
        batch_op.drop_index("ix_recording_segments_ended_at")
        batch_op.drop_index("ix_recording_segments_camera_start")
    op.drop_table("recording_segments")
