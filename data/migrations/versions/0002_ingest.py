"""ingest: positions unique per tracker and instant, ingest worker heartbeats

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:03:00.714007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import data.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_workers",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=100), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("broker", sa.String(length=200), nullable=True),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=200), nullable=False),
        sa.Column("started_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("stored", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "duplicates", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "dead_letters", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("reconnects", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ingest_workers")),
    )
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_positions_tracker_ts"))
        batch_op.create_unique_constraint("uq_positions_tracker_ts", ["tracker_id", "ts"])


def downgrade() -> None:
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_positions_tracker_ts", type_="unique")
        batch_op.create_index(
            batch_op.f("ix_positions_tracker_ts"), ["tracker_id", "ts"], unique=False
        )

    op.drop_table("ingest_workers")
