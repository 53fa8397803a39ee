"""shops: QR tokens, ratings, rate limits, notices and deliveries, one-time links, monthly scores

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 19:19:15.219069
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import data.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_hits",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("window_start", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_hits")),
    )
    op.create_table(
        "shop_score_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("frozen_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("frozen_by", sa.Integer(), nullable=True),
        sa.Column("formula", sa.String(length=20), nullable=False),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("shops", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["frozen_by"], ["users.id"], name=op.f("fk_shop_score_months_frozen_by_users")
        ),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_shop_score_months")),
    )
    op.create_table(
        "shop_ratings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("created_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name=op.f("ck_shop_ratings_stars")),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shop_ratings_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_ratings")),
        sa.UniqueConstraint("shop_id", "device", "day", name="uq_shop_ratings_device_day"),
    )
    with op.batch_alter_table("shop_ratings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_shop_ratings_shop_created", ["shop_id", "created_at"], unique=False
        )

    op.create_table(
        "shop_scores",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("street_code", sa.String(length=9), nullable=True),
        sa.Column("community_code", sa.String(length=12), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("grade", sa.String(length=10), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("listed", sa.String(length=5), nullable=True),
        sa.Column("rank_in_street", sa.Integer(), nullable=True),
        sa.Column(
            "inputs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "losses",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "listed IS NULL OR listed IN ('red', 'black')", name=op.f("ck_shop_scores_listed")
        ),
        sa.ForeignKeyConstraint(
            ["month"],
            ["shop_score_months.month"],
            name=op.f("fk_shop_scores_month_shop_score_months"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shop_scores_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("month", "shop_id", name=op.f("pk_shop_scores")),
    )
    with op.batch_alter_table("shop_scores", schema=None) as batch_op:
        batch_op.create_index("ix_shop_scores_month_street", ["month", "street_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_shop_scores_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "shop_tokens",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["revoked_by"], ["users.id"], name=op.f("fk_shop_tokens_revoked_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shop_tokens_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_shop_tokens")),
    )
    with op.batch_alter_table("shop_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shop_tokens_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "shop_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("created_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_shop_links_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shop_links_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_shop_links_token_hash")),
    )
    with op.batch_alter_table("shop_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shop_links_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "shop_notices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('problem', 'reminder', 'overdue', 'rework', 'verified', 'closed', 'info')",
            name=op.f("ck_shop_notices_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_shop_notices_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shop_notices_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_notices")),
    )
    with op.batch_alter_table("shop_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shop_notices_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_shop_notices_shop_created", ["shop_id", "created_at"], unique=False
        )

    op.create_table(
        "notice_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "notice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("sent_at", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "channel IN ('webhook', 'mqtt')", name=op.f("ck_notice_deliveries_channel")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name=op.f("ck_notice_deliveries_status")
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["shop_notices.id"],
            name=op.f("fk_notice_deliveries_notice_id_shop_notices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_deliveries")),
    )
    with op.batch_alter_table("notice_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notice_deliveries_notice_id"), ["notice_id"], unique=False
        )
        batch_op.create_index(
            "ix_notice_deliveries_status_next", ["status", "next_at"], unique=False
        )

    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frontage_m", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("updated_at", data.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_shop_month",
            ["shop_id", "category_kind", "category_code", "registered_at", "status",
             "handled_on_time", "handle_deadline_at", "rework_count"],
            unique=False, postgresql_include=["id"])
    # every shop's current token is on record, so a later revoke leaves a trace
    op.execute(
        "INSERT INTO shop_tokens (token, shop_id, issued_at) "
        "SELECT qr_token, id, qr_issued_at FROM shops"
    )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_shop_month")
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("frontage_m")

    with op.batch_alter_table("notice_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_deliveries_status_next")
        batch_op.drop_index(batch_op.f("ix_notice_deliveries_notice_id"))

    op.drop_table("notice_deliveries")
    with op.batch_alter_table("shop_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_shop_notices_shop_created")
        batch_op.drop_index(batch_op.f("ix_shop_notices_case_id"))

    op.drop_table("shop_notices")
    with op.batch_alter_table("shop_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shop_links_shop_id"))

    op.drop_table("shop_links")
    with op.batch_alter_table("shop_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shop_tokens_shop_id"))

    op.drop_table("shop_tokens")
    with op.batch_alter_table("shop_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shop_scores_shop_id"))
        batch_op.drop_index("ix_shop_scores_month_street")

    op.drop_table("shop_scores")
    with op.batch_alter_table("shop_ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_shop_ratings_shop_created")

    op.drop_table("shop_ratings")
    op.drop_table("shop_score_months")
    op.drop_table("rate_hits")
