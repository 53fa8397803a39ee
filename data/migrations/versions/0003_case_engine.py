"""case engine: clock, facts for evaluation, scheduler claims, dedup by rule

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import data.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

T = data.types.UTCDateTime(timezone=True)
DATES = ("step_started_at", "suspended_at", "handled_at", "verified_at", "last_seen_at",
         "dispatch_deadline_at", "handle_deadline_at", "close_deadline_at", "warned_for",
         "overdue_for")
COUNTERS = ("extension_count", "overdue_count", "escalation_level")
FLAGS = ("dispatched_on_time", "handled_on_time", "closed_on_time")


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch:
        batch.add_column(sa.Column("rule_key", sa.String(length=60), nullable=True))
        batch.add_column(sa.Column("inspector_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("handler_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("auto", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("step", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("state_before_suspension", sa.String(length=20),
                                   nullable=True))
        batch.add_column(sa.Column("pauses", data.types.JSONType, nullable=True))
        batch.add_column(sa.Column("decline_reason", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        for name in DATES:
            batch.add_column(sa.Column(name, T, nullable=True))
        for name in FLAGS:
            batch.add_column(sa.Column(name, sa.Boolean(), nullable=True))
        for name in COUNTERS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
        batch.create_foreign_key(batch.f("fk_cases_inspector_id_users"), "users",
                                 ["inspector_id"], ["id"])
        batch.create_foreign_key(batch.f("fk_cases_handler_id_users"), "users",
                                 ["handler_id"], ["id"])
        batch.create_foreign_key(batch.f("fk_cases_merged_into_id_cases"), "cases",
                                 ["merged_into_id"], ["id"])
        batch.create_index(batch.f("ix_cases_inspector_id"), ["inspector_id"], unique=False)
        batch.create_index("ix_cases_component_rule", ["component_id", "rule_key"],
                           unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch:
        batch.drop_index("ix_cases_component_rule")
        batch.drop_index(batch.f("ix_cases_inspector_id"))
        batch.drop_constraint(batch.f("fk_cases_merged_into_id_cases"), type_="foreignkey")
        batch.drop_constraint(batch.f("fk_cases_handler_id_users"), type_="foreignkey")
        batch.drop_constraint(batch.f("fk_cases_inspector_id_users"), type_="foreignkey")
        for name in (*COUNTERS, *FLAGS, *DATES, "merged_into_id", "decline_reason", "pauses",
                     "state_before_suspension", "step", "auto", "handler_id", "inspector_id",
                     "rule_key"):
            batch.drop_column(name)
