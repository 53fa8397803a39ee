"""Persistence for MQTT ingest: the device registry it checks against, and batch writes.

One batch is one transaction: readings, detections (with their snapshots, stored by content
hash), device and component state, positions and dead letters. Rows keyed by a device's
``msg_id`` (or a tracker's instant) are inserted with ON CONFLICT DO NOTHING, so a message the
broker redelivers after a crash is stored once.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import shapely
from shapely.geometry import Point
from sqlalchemy import Insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from data.config import Catalogue
from data.models import (
    Component,
    DeadLetter,
    Device,
    IngestWorker,
    Tracker,
)
from data.types import utcnow
from sensors.schemas import (
    DEAD_LETTER_KEEP,
    Detection,
    DeviceInfo,
    Registry,
    Resolved,
    Status,
)
from sensors.schemas import (
    Position as PositionMsg,
)
from sensors.schemas import (
    Reading as ReadingMsg,
)


def load_registry(session: Session, catalogue: Catalogue) -> Registry:
    """Every device, tracker, metric and detection event, as plain lookup tables."""
    rows = session.execute(
        select(Device.code, Device.id, Device.kind, Device.component_id, Component.code,
               Component.type_code, Component.geom, Component.grid_code)
        .outerjoin(Component, Component.id == Device.component_id)
    ).all()
    by_component: dict[str, DeviceInfo] = {}
    by_device: dict[str, DeviceInfo] = {}
    for code, device_id, kind, component_id, component_code, type_code, geom, grid in rows:
        info = DeviceInfo(device_id, kind, component_id, type_code,
                          geom.x if geom is not None else None,
                          geom.y if geom is not None else None, grid)
        by_device[code] = info
        if component_code is not None and (component_code not in by_component
                                           or kind == "sensor"):
            by_component[component_code] = info
    trackers = dict(session.execute(select(Tracker.code, Tracker.id)).all())
    metrics = {t.code: {m.name: (m.type, m.min, m.max) for m in t.metrics}
               for t in catalogue.component_types}
    events = {t.detection: t.code for t in catalogue.event_types if t.detection}
    return Registry(by_component, by_device, trackers, metrics, events)


@dataclass
class Batch:
    """What one transaction writes: resolved messages with their grids, and refusals."""

    resolved: list[tuple[Resolved, str | None]] = field(default_factory=list)
    dead: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class WriteResult:
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0


def dead_letter(topic: str, payload: bytes, reason_code: str, reason: str,
                received_at: datetime, source: str = "mqtt") -> dict[str, Any]:
    return dict(received_at=received_at, source=source, topic=topic[:300],
                payload=bytes(payload[:DEAD_LETTER_KEEP]), payload_size=len(payload),
                reason_code=reason_code, reason=reason[:2000])


def _insert(session: Session, model: type) -> Insert:
    """A Core INSERT on the model's table (dialect-specific, for ON CONFLICT)."""
    table = model.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    return (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table))


class _Raw:
    """Driver-level executemany for the hot writes (readings, detections, positions, state).

    SQLAlchemy's per-row parameter processing costs more than the insert itself at ingest
    rates, so values are converted here once, per dialect, exactly as the column types would:
    UTC datetimes (naive ISO text on SQLite), JSON text, geometry as WKB (SQLite) or EWKT
    (PostGIS). ``ON CONFLICT … DO NOTHING`` keeps redeliveries out; the driver's row count
    says how many rows were new (sqlite3 and psycopg both sum it over executemany).
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.pg = session.get_bind().dialect.name == "postgresql"
        self.mark = "%s" if self.pg else "?"

    def ts(self, value: datetime) -> Any:
        value = value.astimezone(UTC)
        return value if self.pg else value.replace(tzinfo=None).isoformat(" ", "microseconds")

    def json(self, value: Any) -> str | None:
        return None if value is None else orjson.dumps(value).decode()

    def geom(self, value: Any) -> Any:
        if value is None:
            return None
        return f"SRID=4326;{value.wkt}" if self.pg else shapely.to_wkb(value)

    def execute(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """executemany of ``sql`` with ``{m}`` placeholders, ``{json}`` for a JSON value and
        ``{true}`` for boolean true, rendered for the dialect."""
        sql = sql.format(m=self.mark, json=f"CAST({self.mark} AS jsonb)" if self.pg
                         else self.mark, true="TRUE" if self.pg else "1")
        self.session.connection().exec_driver_sql(sql, rows)

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]],
               keys: Sequence[str], kinds: dict[str, str]) -> int:
        if not rows:
            return 0
        marks = []
        for column in columns:
            kind = kinds.get(column)
            if self.pg and kind == "json":
                marks.append(f"CAST({self.mark} AS jsonb)")
            elif self.pg and kind == "geom":
                marks.append(f"ST_GeomFromEWKT({self.mark})")
            else:
                marks.append(self.mark)
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(marks)}) "
               f"ON CONFLICT ({', '.join(keys)}) DO NOTHING")
        result = self.session.connection().exec_driver_sql(sql, rows)
        return max(result.rowcount, 0)


def save_snapshot(media_dir: Path, data: bytes, sha256: str) -> Path:
    """Write a snapshot under ``media/ab/cd/<sha256>.jpg`` once (atomic rename)."""
    path = media_dir / sha256[:2] / sha256[2:4] / f"{sha256}.jpg"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return path


READING_COLUMNS = ("device_id", "component_id", "msg_id", "ts", "received_at", "metrics",
                   "battery")
DETECTION_COLUMNS = ("device_id", "msg_id", "ts", "received_at", "event_code",
                     "event_type_code", "confidence", "geom", "grid_code", "bbox",
                     "snapshot_sha256", "snapshot_url", "case_id")
POSITION_COLUMNS = ("tracker_id", "ts", "received_at", "geom", "grid_code", "speed_kmh",
                    "heading")
ATTACHMENT_COLUMNS = ("sha256", "mime", "size", "created_at")


def write_batch(session: Session, batch: Batch, media_dir: Path,
                case_links: Mapping[tuple[int, str], int] | None = None) -> WriteResult:
    """Persist one batch in the caller's transaction. ``case_links`` gives the case each
    detection is evidence for ((device id, msg_id) → case id), written with the detection."""
    links = case_links or {}
    raw = _Raw(session)
    received = raw.ts(utcnow())
    readings: list[tuple[Any, ...]] = []
    detections: list[tuple[Any, ...]] = []
    positions: list[tuple[Any, ...]] = []
    snapshots: dict[str, bytes] = {}
    latest_reading: dict[int, ReadingMsg] = {}  # component id -> its newest reading here
    device_seen: dict[int, tuple[datetime, float | None]] = {}
    status_changes: dict[int, tuple[datetime, bool, int | None]] = {}
    for item, grid in batch.resolved:
        msg, device = item.message, item.device
        if isinstance(msg, PositionMsg):
            positions.append((item.tracker_id, raw.ts(msg.ts), received,
                              raw.geom(Point(msg.lon, msg.lat)), grid, msg.speed_kmh,
                              msg.heading))
            continue
        if isinstance(msg, Status):
            prev = status_changes.get(device.device_id)
            if prev is None or prev[0] <= msg.ts:
                status_changes[device.device_id] = (msg.ts, msg.online, device.component_id)
            continue
        if isinstance(msg, ReadingMsg):
            readings.append((device.device_id, device.component_id, msg.msg_id,
                             raw.ts(msg.ts), received, raw.json(dict(msg.metrics)),
                             msg.battery))
            cid = device.component_id
            if cid is not None and (cid not in latest_reading
                                    or latest_reading[cid].ts < msg.ts):
                latest_reading[cid] = msg
        else:
            assert isinstance(msg, Detection)
            sha = msg.snapshot_sha256
            if sha is not None:
                snapshots[sha] = msg.snapshot
            detections.append((device.device_id, msg.msg_id, raw.ts(msg.ts), received,
                               msg.event, item.event_type, msg.confidence,
                               raw.geom(Point(item.lon, item.lat)), grid,
                               raw.json(list(msg.bbox) if msg.bbox else None), sha,
                               msg.snapshot_url, links.get((device.device_id, msg.msg_id))))
        seen = device_seen.get(device.device_id)
        if seen is None or seen[0] < msg.ts:
            battery = msg.battery if isinstance(msg, ReadingMsg) else None
            device_seen[device.device_id] = (msg.ts, battery)

    for sha, data in snapshots.items():
        save_snapshot(media_dir, data, sha)
    raw.insert("attachments", ATTACHMENT_COLUMNS,
               [(sha, "image/jpeg", len(data), received) for sha, data in snapshots.items()],
               ["sha256"], {})
    stored = raw.insert("readings", READING_COLUMNS, readings, ["device_id", "msg_id"],
                        {"metrics": "json"})
    stored += raw.insert("detections", DETECTION_COLUMNS, detections, ["device_id", "msg_id"],
                         {"geom": "geom", "bbox": "json"})
    stored += raw.insert("positions", POSITION_COLUMNS, positions, ["tracker_id", "ts"],
                         {"geom": "geom"})
    result = WriteResult(stored=stored + len(status_changes),
                         duplicates=len(readings) + len(detections) + len(positions) - stored,
                         dead_letters=len(batch.dead))
    if latest_reading:
        raw.execute(
            "UPDATE components SET last_reading = {json}, last_reading_at = {m}, "
            "status = CASE WHEN status IN ('offline', 'unknown') THEN 'normal' ELSE status END "
            "WHERE id = {m} AND (last_reading_at IS NULL OR last_reading_at <= {m})",
            [(raw.json(dict(m.metrics)), raw.ts(m.ts), cid, raw.ts(m.ts))
             for cid, m in latest_reading.items()])
    if device_seen:
        raw.execute(
            "UPDATE devices SET online = {true}, last_seen_at = {m}, "
            "battery = COALESCE({m}, battery) WHERE id = {m}",
            [(raw.ts(ts), battery, did) for did, (ts, battery) in device_seen.items()])
    for device_id, (ts, online, component_id) in status_changes.items():
        session.execute(update(Device).where(Device.id == device_id)
                        .values(online=online, last_seen_at=ts))
        if component_id is not None:
            session.execute(update(Component).where(Component.id == component_id)
                            .values(status="normal" if online else "offline"))
    if batch.dead:
        session.execute(_insert(session, DeadLetter), batch.dead)
    return result


def heartbeat(session: Session, name: str, *, broker: str, connected: bool, state: str,
              received: int, stored: int, duplicates: int, dead_letters: int,
              reconnects: int) -> None:
    """Record a worker's state (upsert by name)."""
    values = dict(host=socket.gethostname(), pid=os.getpid(), broker=broker,
                  connected=connected, state=state[:200], heartbeat_at=utcnow(),
                  received=received, stored=stored, duplicates=duplicates,
                  dead_letters=dead_letters, reconnects=reconnects)
    stmt = _insert(session, IngestWorker).values(name=name, started_at=utcnow(), **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=values))


def worker_states(session: Session) -> list[IngestWorker]:
    return list(session.scalars(select(IngestWorker).order_by(IngestWorker.name)))
