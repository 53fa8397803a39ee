"""initial schema: the whole data model, PostGIS geometry with GiST indexes, append-only case events

Revision ID: 0001
Revises:
Create Date: 2026-11-23 12:14:29.852013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import data.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


GEOMETRY_COLUMNS = [
    ("regions", "geom"),
    ("roads", "geom"),
    ("unit_grids", "geom"),
    ("components", "geom"),
    ("detections", "geom"),
    ("shops", "geom"),
    ("shops", "zone"),
    ("cases", "geom"),
    ("case_events", "geom"),
    ("positions", "geom"),
]

APPEND_ONLY_SQLITE = [
    "CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events "
    "BEGIN SELECT RAISE(ABORT, 'case_events is append-only: add a new event instead'); END",
    "CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events "
    "BEGIN SELECT RAISE(ABORT, 'case_events is append-only: add a new event instead'); END",
]

APPEND_ONLY_POSTGRESQL = [
    """CREATE FUNCTION onegrid_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: add a new event instead', TG_TABLE_NAME;
    END $$""",
    "CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events "
    "FOR EACH ROW EXECUTE FUNCTION onegrid_append_only()",
    "CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION onegrid_append_only()",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "component_types",
        sa.Column("code", sa.String(length=4), nullable=False),
        sa.Column("major_code", sa.String(length=2), nullable=False),
        sa.Column("major_name", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=True),
        sa.Column("department_code", sa.String(length=20), nullable=True),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("report_period_s", sa.Integer(), nullable=True),
        sa.CheckConstraint("length(code) = 4", name=op.f("ck_component_types_code_length")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_component_types")),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("received_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("topic", sa.String(length=300), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("payload_size", sa.Integer(), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dead_letters_reason_code"), ["reason_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dead_letters_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "event_types",
        sa.Column("code", sa.String(length=4), nullable=False),
        sa.Column("major_code", sa.String(length=2), nullable=False),
        sa.Column("major_name", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=True),
        sa.Column("detection_code", sa.String(length=40), nullable=True),
        sa.Column("department_code", sa.String(length=20), nullable=True),
        sa.CheckConstraint("length(code) = 4", name=op.f("ck_event_types_code_length")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_event_types")),
        sa.UniqueConstraint("detection_code", name=op.f("uq_event_types_detection_code")),
    )
    op.create_table(
        "regions",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=True),
        sa.Column("parent_code", sa.String(length=12), nullable=True),
        sa.Column("geom", data.types.Geometry("MULTIPOLYGON"), nullable=True),
        sa.Column("area_m2", sa.Float(), nullable=True),
        sa.Column("created_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "level IN ('city', 'district', 'street', 'community')",
            name=op.f("ck_regions_level"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_code"],
            ["regions.code"],
            name=op.f("fk_regions_parent_code_regions"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_regions")),
    )
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.create_index("ix_regions_parent_level", ["parent_code", "level"], unique=False)

    op.create_table(
        "roads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=True),
        sa.Column("road_class", sa.String(length=20), nullable=False),
        sa.Column("width_m", sa.Float(), nullable=True),
        sa.Column("geom", data.types.Geometry("LINESTRING"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roads")),
        sa.UniqueConstraint("code", name=op.f("uq_roads_code")),
    )
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=True),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["regions.code"],
            name=op.f("fk_departments_region_code_regions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("code", name=op.f("uq_departments_code")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('command', 'inspector', 'handler', 'leader', 'admin', 'shop_owner')",
            name=op.f("ck_users_role"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_users_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_role"), ["role"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "attachments",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("mime", sa.String(length=60), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["users.id"], name=op.f("fk_attachments_uploaded_by_users")
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_attachments")),
    )
    op.create_table(
        "trackers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("plate", sa.String(length=20), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('inspector', 'vehicle')", name=op.f("ck_trackers_kind")),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_trackers_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_trackers_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trackers")),
        sa.UniqueConstraint("code", name=op.f("uq_trackers_code")),
    )
    op.create_table(
        "unit_grids",
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("community_code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("geom", data.types.Geometry("POLYGON"), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("created_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(code) = 15", name=op.f("ck_unit_grids_code_length")),
        sa.ForeignKeyConstraint(
            ["community_code"],
            ["regions.code"],
            name=op.f("fk_unit_grids_community_code_regions"),
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["users.id"],
            name=op.f("fk_unit_grids_inspector_id_users"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_unit_grids")),
    )
    with op.batch_alter_table("unit_grids", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unit_grids_community_code"), ["community_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_unit_grids_inspector_id"), ["inspector_id"], unique=False
        )

    op.create_table(
        "components",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("type_code", sa.String(length=4), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("geom", data.types.Geometry("POINT"), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column(
            "last_reading",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("last_reading_at", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("installed_at", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('normal', 'alarm', 'fault', 'offline', 'unknown', 'removed')",
            name=op.f("ck_components_status"),
        ),
        sa.CheckConstraint("length(code) = 16", name=op.f("ck_components_code_length")),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_components_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["grid_code"],
            ["unit_grids.code"],
            name=op.f("fk_components_grid_code_unit_grids"),
        ),
        sa.ForeignKeyConstraint(
            ["type_code"],
            ["component_types.code"],
            name=op.f("fk_components_type_code_component_types"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_components")),
        sa.UniqueConstraint("code", name=op.f("uq_components_code")),
    )
    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_components_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_components_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_components_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_components_type_code"), ["type_code"], unique=False)

    op.create_table(
        "positions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tracker_id", sa.Integer(), nullable=False),
        sa.Column("ts", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("geom", data.types.Geometry("POINT"), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("speed_kmh", sa.Float(), nullable=True),
        sa.Column("heading", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["grid_code"],
            ["unit_grids.code"],
            name=op.f("fk_positions_grid_code_unit_grids"),
        ),
        sa.ForeignKeyConstraint(
            ["tracker_id"],
            ["trackers.id"],
            name=op.f("fk_positions_tracker_id_trackers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_positions")),
    )
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.create_index("ix_positions_tracker_ts", ["tracker_id", "ts"], unique=False)

    op.create_table(
        "shops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("licence_no", sa.String(length=40), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("owner_name", sa.String(length=100), nullable=True),
        sa.Column("owner_phone", sa.String(length=30), nullable=True),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("geom", data.types.Geometry("POINT"), nullable=False),
        sa.Column("zone", data.types.Geometry("POLYGON"), nullable=True),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("qr_token", sa.String(length=64), nullable=False),
        sa.Column("qr_issued_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_code"],
            ["unit_grids.code"],
            name=op.f("fk_shops_grid_code_unit_grids"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_shops_owner_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shops")),
        sa.UniqueConstraint("code", name=op.f("uq_shops_code")),
        sa.UniqueConstraint("qr_token", name=op.f("uq_shops_qr_token")),
    )
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shops_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_shops_licence_no"), ["licence_no"], unique=False)

    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("category_kind", sa.String(length=10), nullable=False),
        sa.Column("category_code", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("geom", data.types.Geometry("POINT"), nullable=True),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("component_id", sa.Integer(), nullable=True),
        sa.Column("shop_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("reporter_id", sa.Integer(), nullable=True),
        sa.Column("reporter_contact", sa.String(length=100), nullable=True),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("seen_count", sa.Integer(), nullable=False),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("supervised", sa.Boolean(), nullable=False),
        sa.Column("reported_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("registered_at", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "category_kind IN ('component', 'event')",
            name=op.f("ck_cases_category_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name=op.f("fk_cases_component_id_components"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_cases_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["grid_code"],
            ["unit_grids.code"],
            name=op.f("fk_cases_grid_code_unit_grids"),
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["users.id"], name=op.f("fk_cases_reporter_id_users")
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_cases_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("code", name=op.f("uq_cases_code")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_category", ["category_kind", "category_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_component_id"), ["component_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_external_id"), ["external_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_reported_at"), ["reported_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_shop_id"), ["shop_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_status"), ["status"], unique=False)
        batch_op.create_index("ix_cases_status_deadline", ["status", "deadline_at"], unique=False)

    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(length=60), nullable=True),
        sa.Column("period_s", sa.Integer(), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=True),
        sa.Column("last_seen_at", data.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("battery", sa.Float(), nullable=True),
        sa.Column("created_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('sensor', 'camera', 'tracker')", name=op.f("ck_devices_kind")),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name=op.f("fk_devices_component_id_components"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("code", name=op.f("uq_devices_code")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_component_id"), ["component_id"], unique=False)

    op.create_table(
        "case_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.String(length=100), nullable=True),
        sa.Column("geom", data.types.Geometry("POINT"), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "attachments",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_case_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
        sa.UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_events_at"), ["at"], unique=False)

    op.create_table(
        "detections",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("msg_id", sa.String(length=64), nullable=False),
        sa.Column("ts", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_code", sa.String(length=40), nullable=False),
        sa.Column("event_type_code", sa.String(length=4), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("geom", data.types.Geometry("POINT"), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column(
            "bbox",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("snapshot_sha256", sa.String(length=64), nullable=True),
        sa.Column("snapshot_url", sa.String(length=500), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_detections_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_detections_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["event_type_code"],
            ["event_types.code"],
            name=op.f("fk_detections_event_type_code_event_types"),
        ),
        sa.ForeignKeyConstraint(
            ["grid_code"],
            ["unit_grids.code"],
            name=op.f("fk_detections_grid_code_unit_grids"),
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_sha256"],
            ["attachments.sha256"],
            name=op.f("fk_detections_snapshot_sha256_attachments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detections")),
        sa.UniqueConstraint("device_id", "msg_id", name="uq_detections_device_msg"),
    )
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_detections_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_detections_event_ts", ["event_code", "ts"], unique=False)
        batch_op.create_index(batch_op.f("ix_detections_grid_code"), ["grid_code"], unique=False)

    op.create_table(
        "readings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=True),
        sa.Column("msg_id", sa.String(length=64), nullable=False),
        sa.Column("ts", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", data.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("battery", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name=op.f("fk_readings_component_id_components"),
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_readings_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readings")),
        sa.UniqueConstraint("device_id", "msg_id", name="uq_readings_device_msg"),
    )
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.create_index("ix_readings_component_ts", ["component_id", "ts"], unique=False)

    if dialect == "postgresql":
        for table, column in GEOMETRY_COLUMNS:
            op.create_index(f"ix_{table}_{column}_gist", table, [column], postgresql_using="gist")
        for statement in APPEND_ONLY_POSTGRESQL:
            op.execute(statement)
    else:
        for statement in APPEND_ONLY_SQLITE:
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_events_append_only ON case_events")
        op.execute("DROP TRIGGER IF EXISTS case_events_no_truncate ON case_events")
        op.execute("DROP FUNCTION IF EXISTS onegrid_append_only()")
        for table, column in GEOMETRY_COLUMNS:
            op.drop_index(f"ix_{table}_{column}_gist", table_name=table)
    else:
        op.execute("DROP TRIGGER IF EXISTS case_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS case_events_no_delete")
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_index("ix_readings_component_ts")

    op.drop_table("readings")
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_detections_grid_code"))
        batch_op.drop_index("ix_detections_event_ts")
        batch_op.drop_index(batch_op.f("ix_detections_case_id"))

    op.drop_table("detections")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_events_at"))

    op.drop_table("case_events")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_component_id"))

    op.drop_table("devices")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_status_deadline")
        batch_op.drop_index(batch_op.f("ix_cases_status"))
        batch_op.drop_index(batch_op.f("ix_cases_shop_id"))
        batch_op.drop_index(batch_op.f("ix_cases_reported_at"))
        batch_op.drop_index(batch_op.f("ix_cases_grid_code"))
        batch_op.drop_index(batch_op.f("ix_cases_external_id"))
        batch_op.drop_index(batch_op.f("ix_cases_department_id"))
        batch_op.drop_index(batch_op.f("ix_cases_component_id"))
        batch_op.drop_index("ix_cases_category")

    op.drop_table("cases")
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shops_licence_no"))
        batch_op.drop_index(batch_op.f("ix_shops_grid_code"))

    op.drop_table("shops")
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.drop_index("ix_positions_tracker_ts")

    op.drop_table("positions")
    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_components_type_code"))
        batch_op.drop_index(batch_op.f("ix_components_status"))
        batch_op.drop_index(batch_op.f("ix_components_grid_code"))
        batch_op.drop_index(batch_op.f("ix_components_department_id"))

    op.drop_table("components")
    with op.batch_alter_table("unit_grids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_grids_inspector_id"))
        batch_op.drop_index(batch_op.f("ix_unit_grids_community_code"))

    op.drop_table("unit_grids")
    op.drop_table("trackers")
    op.drop_table("attachments")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_role"))

    op.drop_table("users")
    op.drop_table("departments")
    op.drop_table("roads")
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.drop_index("ix_regions_parent_level")

    op.drop_table("regions")
    op.drop_table("event_types")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_received_at"))
        batch_op.drop_index(batch_op.f("ix_dead_letters_reason_code"))

    op.drop_table("dead_letters")
    op.drop_table("component_types")
