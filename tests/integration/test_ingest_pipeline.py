"""The ingest pipeline on both real databases (no broker: messages are handed in directly)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from data.models import Attachment, Component, DeadLetter, Detection, Device, Position, Reading
from gis.crs import wgs84_to_gcj02
from sensors.pipeline import Inbound, Pipeline
from services import prepare_database

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"
COVER, COVER_DEVICE = "4499020101000001", "DEV-MHC-000001"
CAMERA = "CAM-000001"


@pytest.fixture
def pipeline(services):
    prepare_database(services, seed=True)
    return Pipeline(services)


def inbound(topic: str, doc: object, acks: list[str], tag: str) -> Inbound:
    payload = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return Inbound(topic, payload, datetime.now(UTC), ack=lambda: acks.append(tag))


def _count(session, model, *where) -> int:
    stmt = select(func.count()).select_from(model)
    for w in where:
        stmt = stmt.where(w)
    return session.scalar(stmt)


def test_a_mixed_batch_is_stored_refused_and_acknowledged(pipeline, services) -> None:
    now = datetime.now(UTC).astimezone(UTC)
    ts = (now - timedelta(seconds=30)).isoformat()
    with services.session() as session:
        cam_lon, cam_lat = session.execute(select(Component.geom).where(
            Component.code == "4499020125000001")).scalar_one().coords[0]
    glon, glat = wgs84_to_gcj02(cam_lon + 0.0002, cam_lat + 0.0001)
    acks: list[str] = []
    items = [
        inbound(f"onegrid/v1/readings/{COVER}", {"msg_id": "r1", "ts": ts, "metrics": {
            "tilt_deg": 18.5, "water_level_cm": 2}, "battery": 3.55}, acks, "r1"),
        inbound(f"onegrid/v1/readings/{COVER}", b"{broken", acks, "bad-json"),
        inbound(f"onegrid/v1/detections/{CAMERA}", {
            "msg_id": "d1", "ts": ts, "event": "street_vending", "confidence": 0.93,
            "snapshot": base64.b64encode(JPEG).decode()}, acks, "d1"),
        inbound(f"onegrid/v1/detections/{CAMERA}", {
            "msg_id": "d2", "ts": ts, "event": "umbrella", "confidence": 0.8,
            "lon": 100.0, "lat": 20.0}, acks, "outside"),
        inbound("onegrid/v1/positions/TRK-INS-01", {
            "ts": ts, "lon": glon, "lat": glat, "speed_kmh": 4.1, "crs": "gcj02"}, acks, "p1"),
        inbound(f"onegrid/v1/status/{CAMERA}", {"online": False, "ts": ts}, acks, "s1"),
        inbound("onegrid/v1/readings/4499029999000001", {
            "msg_id": "x", "ts": ts, "metrics": {"tilt_deg": 1}}, acks, "unknown"),
        # OneGrid's own shop notice on the same broker: passed by, not a dead letter
        inbound("onegrid/v1/notices/S00000001", {"notice_id": 1, "kind": "problem"}, acks,
                "notice"),
    ]
    pipeline.process(items)
    assert acks == ["r1", "bad-json", "d1", "outside", "p1", "s1", "unknown", "notice"]
    with services.session() as session:
        reading = session.scalar(select(Reading))
        assert reading.metrics == {"tilt_deg": 18.5, "water_level_cm": 2}
        component = session.scalar(select(Component).where(Component.code == COVER))
        assert component.last_reading["tilt_deg"] == 18.5
        assert component.last_reading_at == datetime.fromisoformat(ts)
        device = session.scalar(select(Device).where(Device.code == COVER_DEVICE))
        assert device.online is True and device.battery == 3.55
        detection = session.scalar(select(Detection))
        assert detection.event_type_code == "0501" and detection.grid_code is not None
        assert detection.geom.x == pytest.approx(cam_lon)
        sha = detection.snapshot_sha256
        assert session.get(Attachment, sha).size == len(JPEG)
        stored = services.settings.media_dir / sha[:2] / sha[2:4] / f"{sha}.jpg"
        assert stored.read_bytes() == JPEG
        position = session.scalar(select(Position))
        assert position.geom.x == pytest.approx(cam_lon + 0.0002, abs=1e-7)
        assert position.grid_code is not None
        camera = session.scalar(select(Device).where(Device.code == CAMERA))
        assert camera.online is False
        camera_component = session.get(Component, camera.component_id)
        assert camera_component.status == "offline"
        dead = {d.reason_code: d for d in session.scalars(select(DeadLetter))}
    assert set(dead) == {"not_json", "outside_city", "unknown_device"}
    assert dead["not_json"].payload == b"{broken" and dead["not_json"].topic.endswith(COVER)
    assert pipeline.stats.stored == 4 and pipeline.stats.dead_letters == 3


def test_redelivered_messages_are_stored_once(pipeline, services) -> None:
    ts = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    acks: list[str] = []

    def batch() -> list[Inbound]:
        return [inbound(f"onegrid/v1/readings/{COVER}", {
            "msg_id": f"m{i}", "ts": ts, "metrics": {"tilt_deg": float(i)}}, acks, f"m{i}")
            for i in range(50)] + [inbound("onegrid/v1/positions/TRK-INS-01", {
                "ts": ts, "lon": 112.47, "lat": 23.05}, acks, "p")]

    pipeline.process(batch())
    pipeline.process(batch())  # the broker redelivers everything after a crash
    pipeline.process(batch()[:10] + batch()[:10])  # and duplicates inside one batch
    with services.session() as session:
        assert _count(session, Reading) == 50
        assert _count(session, Position) <= 1
    assert len(acks) == 51 * 2 + 20
    assert pipeline.stats.duplicates >= 50 + 20


def test_a_reading_older_than_the_latest_does_not_rewind_the_component(pipeline,
                                                                       services) -> None:
    newer = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    older = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    acks: list[str] = []
    pipeline.process([inbound(f"onegrid/v1/readings/{COVER}", {
        "msg_id": "new", "ts": newer, "metrics": {"tilt_deg": 3.0}}, acks, "n")])
    pipeline.process([inbound(f"onegrid/v1/readings/{COVER}", {
        "msg_id": "old", "ts": older, "metrics": {"tilt_deg": 40.0}}, acks, "o")])
    with services.session() as session:
        component = session.scalar(select(Component).where(Component.code == COVER))
        assert component.last_reading == {"tilt_deg": 3.0}
        assert _count(session, Reading) == 2


def test_a_batch_across_many_components_updates_each_once(pipeline, services) -> None:
    ts = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    with services.session() as session:
        codes = session.scalars(select(Component.code).where(Component.type_code == "0122")
                                .join(Device, Device.component_id == Component.id)
                                .order_by(Component.code).limit(40)).all()
        session.execute(Component.__table__.update().where(Component.code == codes[0])
                        .values(status="offline"))
        session.commit()
    acks: list[str] = []
    pipeline.process([inbound(f"onegrid/v1/readings/{code}", {
        "msg_id": f"l{i}", "ts": ts, "metrics": {"lamp_on": True, "current_a": 0.5}},
        acks, code) for i, code in enumerate(codes)])
    assert pipeline.stats.stored == 40 and pipeline.stats.dead_letters == 0
    with services.session() as session:
        rows = session.execute(select(Component.status, Component.last_reading).where(
            Component.code.in_(codes))).all()
    assert all(status == "normal" and reading == {"lamp_on": True, "current_a": 0.5}
               for status, reading in rows)
