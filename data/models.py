"""Tables: the whole data model of OneGrid (SQLAlchemy 2.x, typed).

One schema for SQLite and PostgreSQL/PostGIS. Geometry is EPSG:4326 throughout (see
:mod:`data.types`). Codes follow the national digital city-management standards
(GB/T 30428): districts 6 digits, streets 9, communities 12, unit grids 15, components 16.

Later issues add columns and tables through Alembic migrations; nothing here is created at
import time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import shapely
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from data.types import Geometry, JSONType, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Roles (角色). Server-side checks use these strings everywhere.
ROLES = ("command", "inspector", "handler", "leader", "admin", "shop_owner")
REGION_LEVELS = ("city", "district", "street", "community")
COMPONENT_CLASSES = {
    "01": ("公用设施", "Public utilities"),
    "02": ("道路交通", "Roads and traffic"),
    "03": ("市容环境", "City appearance and environment"),
    "04": ("园林绿化", "Landscaping and greening"),
    "05": ("房屋土地", "Buildings and land"),
    "06": ("其他设施", "Other facilities"),
}
EVENT_CLASSES = {
    "01": ("市容环境", "City appearance and environment"),
    "02": ("宣传广告", "Publicity and advertising"),
    "03": ("施工管理", "Construction management"),
    "04": ("突发事件", "Emergencies"),
    "05": ("街面秩序", "Street order"),
    "06": ("其他事件", "Other events"),
}
COMPONENT_STATUSES = ("normal", "alarm", "fault", "offline", "unknown", "removed")
DEVICE_KINDS = ("sensor", "camera", "tracker")
TRACKER_KINDS = ("inspector", "vehicle")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


BigId = BigInteger().with_variant(Integer, "sqlite")
"""64-bit ids on PostgreSQL; SQLite's INTEGER PRIMARY KEY is 64-bit and autoincrements."""


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Region(Base):
    """An administrative area (行政区划).

    Levels: city 市, district 区/县, street 街道/镇, community 社区/村.
    """

    __tablename__ = "regions"
    __table_args__ = (
        CheckConstraint(_in("level", REGION_LEVELS), name="level"),
        Index("ix_regions_parent_level", "parent_code", "level"),
    )

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    level: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    geom: Mapped[shapely.Geometry | None] = mapped_column(Geometry("MULTIPOLYGON"))
    area_m2: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnitGrid(Base):
    """A unit grid (单元网格): the smallest management cell, inside one community."""

    __tablename__ = "unit_grids"
    __table_args__ = (CheckConstraint("length(code) = 15", name="code_length"),)

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    community_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    geom: Mapped[shapely.Geometry] = mapped_column(Geometry("POLYGON"))
    area_m2: Mapped[float] = mapped_column(Float)
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    inspector: Mapped[User | None] = relationship(foreign_keys=[inspector_id])


class Department(Base):
    """A department or unit that handles cases (处置部门)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str | None] = mapped_column(String(30))
    phone: Mapped[str | None] = mapped_column(String(30))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    """A person who logs in (用户): command staff, grid inspector (网格员), handler, leader,
    admin or shop owner."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    phone: Mapped[str | None] = mapped_column(String(30))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    department: Mapped[Department | None] = relationship()


class ApiToken(Base):
    """An API token for an integration; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class _Category:
    """Columns shared by component and event types: GB/T 30428 class (2) + subclass (2)."""

    __table_args__ = (CheckConstraint("length(code) = 4", name="code_length"),)

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    major_code: Mapped[str] = mapped_column(String(2))
    major_name: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    department_code: Mapped[str | None] = mapped_column(String(20))


class ComponentType(_Category, Base):
    """A component type (部件小类), e.g. 0101 上水井盖, 0122 路灯, with its device metrics."""

    __tablename__ = "component_types"

    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    report_period_s: Mapped[int | None] = mapped_column(Integer)


class Component(Base):
    """A managed city component (城市部件) with its 16-digit code."""

    __tablename__ = "components"
    __table_args__ = (
        CheckConstraint("length(code) = 16", name="code_length"),
        CheckConstraint(_in("status", COMPONENT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    type_code: Mapped[str] = mapped_column(ForeignKey("component_types.code"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    geom: Mapped[shapely.Geometry] = mapped_column(Geometry("POINT"))
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("unit_grids.code"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="normal", index=True)
    last_reading: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    last_reading_at: Mapped[datetime | None]
    installed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    component_type: Mapped[ComponentType] = relationship()


class Device(Base):
    """An IoT device (物联感知设备): a sensor on a component, a camera, or a tracker."""

    __tablename__ = "devices"
    __table_args__ = (CheckConstraint(_in("kind", DEVICE_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    component_id: Mapped[int | None] = mapped_column(ForeignKey("components.id"), index=True)
    model: Mapped[str | None] = mapped_column(String(60))
    period_s: Mapped[int | None] = mapped_column(Integer)
    online: Mapped[bool | None] = mapped_column(Boolean)
    last_seen_at: Mapped[datetime | None]
    battery: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class _DeviceMessage:
    """Columns of a message a device sent: ``(device_id, msg_id)`` is unique in each table,
    so a redelivered message is stored once."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    msg_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reading(_DeviceMessage, Base):
    """One sensor reading (读数) with its metrics."""

    __tablename__ = "readings"
    __table_args__ = (
        UniqueConstraint("device_id", "msg_id", name="uq_readings_device_msg"),
        Index("ix_readings_component_ts", "component_id", "ts"),
    )

    component_id: Mapped[int | None] = mapped_column(ForeignKey("components.id"))
    metrics: Mapped[dict[str, Any]]
    battery: Mapped[float | None] = mapped_column(Float)


class EventType(_Category, Base):
    """An event category (事件小类): 市容环境, 宣传广告, 施工管理, 突发事件, 街面秩序, …"""

    __tablename__ = "event_types"

    detection_code: Mapped[str | None] = mapped_column(String(40), unique=True)


class Detection(_DeviceMessage, Base):
    """A camera's AI detection (视频识别) with its snapshot."""

    __tablename__ = "detections"
    __table_args__ = (
        UniqueConstraint("device_id", "msg_id", name="uq_detections_device_msg"),
        Index("ix_detections_event_ts", "event_code", "ts"),
    )

    event_code: Mapped[str] = mapped_column(String(40))
    event_type_code: Mapped[str | None] = mapped_column(ForeignKey("event_types.code"))
    confidence: Mapped[float] = mapped_column(Float)
    geom: Mapped[shapely.Geometry] = mapped_column(Geometry("POINT"))
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("unit_grids.code"), index=True)
    bbox: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    snapshot_sha256: Mapped[str | None] = mapped_column(ForeignKey("attachments.sha256"))
    snapshot_url: Mapped[str | None] = mapped_column(String(500))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)


class Attachment(Base):
    """A stored file (photo, snapshot) addressed by its SHA-256 content hash."""

    __tablename__ = "attachments"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    mime: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[str | None] = mapped_column(String(200))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Case(Base):
    """A case (案件): one problem, from report to evaluation. Its history is in case_events."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_deadline", "status", "deadline_at"),
        Index("ix_cases_category", "category_kind", "category_code"),
        Index("ix_cases_component_rule", "component_id", "rule_key"),
        # A month's shop scores read only this index (门前三包, data/shop_scores.py).
        Index("ix_cases_shop_month", "shop_id", "category_kind", "category_code",
              "registered_at", "status", "handled_on_time", "handle_deadline_at",
              "rework_count", postgresql_include=["id"]),
        CheckConstraint(_in("category_kind", ("component", "event")), name="category_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    source: Mapped[str] = mapped_column(String(20))
    category_kind: Mapped[str] = mapped_column(String(10))
    category_code: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20), index=True)
    urgency: Mapped[str] = mapped_column(String(10), default="normal")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(200))
    geom: Mapped[shapely.Geometry | None] = mapped_column(Geometry("POINT"))
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("unit_grids.code"), index=True)
    component_id: Mapped[int | None] = mapped_column(ForeignKey("components.id"), index=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reporter_contact: Mapped[str | None] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(64), index=True)
    seen_count: Mapped[int] = mapped_column(Integer, default=1)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    reported_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    registered_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    #: Deadline of the step now on the clock (``step``); None when nothing is on the clock.
    deadline_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # -- added by migration 0003 (case engine) --------------------------------------------
    #: The rule that opened it (``0101.tilt``): dedup by component and rule.
    rule_key: Mapped[str | None] = mapped_column(String(60))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    auto: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The clock's step (register / dispatch / handle / verify) and when it started.
    step: Mapped[str | None] = mapped_column(String(10))
    step_started_at: Mapped[datetime | None]
    #: Suspension (挂账): when it began, the state to resume, and past pauses of this step.
    suspended_at: Mapped[datetime | None]
    state_before_suspension: Mapped[str | None] = mapped_column(String(20))
    pauses: Mapped[list[Any] | None] = mapped_column(JSONType)
    handled_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    # Facts for evaluation, kept by transitions and derivable from the events.
    dispatch_deadline_at: Mapped[datetime | None]
    handle_deadline_at: Mapped[datetime | None]
    close_deadline_at: Mapped[datetime | None]
    dispatched_on_time: Mapped[bool | None] = mapped_column(Boolean)
    handled_on_time: Mapped[bool | None] = mapped_column(Boolean)
    closed_on_time: Mapped[bool | None] = mapped_column(Boolean)
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    overdue_count: Mapped[int] = mapped_column(Integer, default=0)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    decline_reason: Mapped[str | None] = mapped_column(String(20))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    #: Scheduler claims: the deadline a warning / an overdue mark was recorded for (once each).
    warned_for: Mapped[datetime | None]
    overdue_for: Mapped[datetime | None]


class CaseEvent(Base):
    """One step in a case's life (留痕).

    Append-only: a database trigger refuses UPDATE and DELETE; a correction is a new event.
    """

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    origin: Mapped[str | None] = mapped_column(String(100))
    geom: Mapped[shapely.Geometry | None] = mapped_column(Geometry("POINT"))
    note: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class Shop(Base):
    """A street-front business with 门前三包 duties; one shop, one QR code (一户一码)."""

    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(40))
    licence_no: Mapped[str | None] = mapped_column(String(40), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    owner_name: Mapped[str | None] = mapped_column(String(100))
    owner_phone: Mapped[str | None] = mapped_column(String(30))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    geom: Mapped[shapely.Geometry] = mapped_column(Geometry("POINT"))
    zone: Mapped[shapely.Geometry | None] = mapped_column(Geometry("POLYGON"))
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("unit_grids.code"), index=True)
    qr_token: Mapped[str] = mapped_column(String(64), unique=True)
    qr_issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Depth (m) of the responsibility zone in front of the shop when no polygon was given.
    frontage_m: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime | None] = mapped_column()


# -- 门前三包: QR tokens, ratings, notices, one-time links, monthly scores (issue 6) ---------
SHOP_NOTICE_KINDS = ("problem", "reminder", "overdue", "rework", "verified", "closed", "info")
NOTICE_CHANNELS = ("webhook", "mqtt")
DELIVERY_STATUSES = ("pending", "sent", "failed")
SHOP_LISTS = ("red", "black")


class ShopToken(Base):
    """Every QR token a shop was ever given: the current one is ``shops.qr_token``; a revoked
    one still finds its shop, so its page can say "this code was replaced"."""

    __tablename__ = "shop_tokens"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ShopRating(Base):
    """A citizen's rating of a shop (1–5 stars and a comment) from the public QR page; one per
    device per shop per day (``device`` and ``client`` are keyed hashes, never raw values)."""

    __tablename__ = "shop_ratings"
    __table_args__ = (
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),
        UniqueConstraint("shop_id", "device", "day", name="uq_shop_ratings_device_day"),
        Index("ix_shop_ratings_shop_created", "shop_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    device: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)


class RateHit(Base):
    """Requests counted per key (e.g. ``rate:<client hash>``) and window, for the public
    pages' abuse limits: shared by every web process through the database."""

    __tablename__ = "rate_hits"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class ShopNotice(Base):
    """A notice to a shop (a problem found, a reminder, rework, …), shown on its page and
    sent out through the configured hooks (``notice_deliveries``)."""

    __tablename__ = "shop_notices"
    __table_args__ = (CheckConstraint(_in("kind", SHOP_NOTICE_KINDS), name="kind"),
                      Index("ix_shop_notices_shop_created", "shop_id", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()


class NoticeDelivery(Base):
    """One notice to one outbound channel (a webhook URL, an MQTT topic): an outbox row,
    claimed, sent and retried by the scheduler."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (CheckConstraint(_in("channel", NOTICE_CHANNELS), name="channel"),
                      CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
                      Index("ix_notice_deliveries_status_next", "status", "next_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("shop_notices.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column()


class ShopLink(Base):
    """A signed one-time link for a shop without a login (e.g. "mark rectified" for one
    case): only the SHA-256 of the token is kept; used once, then dead."""

    __tablename__ = "shop_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    purpose: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class ShopScoreMonth(Base):
    """A month of shop scores as published: frozen once, never recomputed (a later edit to
    a case does not rewrite a published month)."""

    __tablename__ = "shop_score_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    frozen_at: Mapped[datetime] = mapped_column(default=utcnow)
    frozen_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    formula: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    shops: Mapped[int] = mapped_column(Integer, default=0)


class ShopScore(Base):
    """One shop's score (0–100) for one frozen month, its grade and list, the inputs and
    where the points were lost (``losses``: a list of {reason, points, cases})."""

    __tablename__ = "shop_scores"
    __table_args__ = (CheckConstraint("listed IS NULL OR " + _in("listed", SHOP_LISTS),
                                      name="listed"),
                      Index("ix_shop_scores_month_street", "month", "street_code"))

    month: Mapped[str] = mapped_column(ForeignKey("shop_score_months.month"), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), primary_key=True, index=True)
    street_code: Mapped[str | None] = mapped_column(String(9))
    community_code: Mapped[str | None] = mapped_column(String(12))
    score: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(10))
    stars: Mapped[int] = mapped_column(Integer)
    listed: Mapped[str | None] = mapped_column(String(5))
    rank_in_street: Mapped[int | None] = mapped_column(Integer)
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    losses: Mapped[list[Any] | None] = mapped_column(JSONType)


class Tracker(Base):
    """A GPS tracker carried by an inspector or fitted to an enforcement vehicle."""

    __tablename__ = "trackers"
    __table_args__ = (CheckConstraint(_in("kind", TRACKER_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    plate: Mapped[str | None] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))


class Position(Base):
    """A GPS fix of an inspector or vehicle, stored in WGS84 whatever the device sent.

    One fix per tracker and instant: a redelivered fix is stored once.
    """

    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("tracker_id", "ts", name="uq_positions_tracker_ts"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tracker_id: Mapped[int] = mapped_column(ForeignKey("trackers.id"))
    ts: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    geom: Mapped[shapely.Geometry] = mapped_column(Geometry("POINT"))
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("unit_grids.code"))
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)


class Road(Base):
    """A road centreline (道路), for the map and for addressing."""

    __tablename__ = "roads"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    road_class: Mapped[str] = mapped_column(String(20))
    width_m: Mapped[float | None] = mapped_column(Float)
    geom: Mapped[shapely.Geometry] = mapped_column(Geometry("LINESTRING"))


class DeadLetter(Base):
    """A message or record refused at the door, kept with a reason a sender can act on."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str | None] = mapped_column(String(300))
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    payload_size: Mapped[int] = mapped_column(Integer, default=0)
    reason_code: Mapped[str] = mapped_column(String(40), index=True)
    reason: Mapped[str] = mapped_column(Text)


class IngestWorker(Base):
    """Heartbeat of an MQTT ingest worker, so any web process can report ingest health."""

    __tablename__ = "ingest_workers"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str | None] = mapped_column(String(100))
    pid: Mapped[int | None] = mapped_column(Integer)
    broker: Mapped[str | None] = mapped_column(String(200))
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(200), default="starting")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    received: Mapped[int] = mapped_column(BigId, default=0)
    stored: Mapped[int] = mapped_column(BigId, default=0)
    duplicates: Mapped[int] = mapped_column(BigId, default=0)
    dead_letters: Mapped[int] = mapped_column(BigId, default=0)
    reconnects: Mapped[int] = mapped_column(Integer, default=0)
