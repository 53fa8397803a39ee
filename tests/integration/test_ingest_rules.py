"""Rules inside the ingest, on both real databases: readings and detections become cases, a
repeat is evidence on the same case, a reading back to normal is evidence for closing."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from data.cases import events_of
from data.models import Case, Component, Department, Detection, Reading
from sensors.pipeline import Inbound, Pipeline

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"
COVER = "4499020101000002"
CAMERA = "CAM-000002"


def inbound(topic: str, doc: object) -> Inbound:
    return Inbound(topic, json.dumps(doc).encode(), datetime.now(UTC), ack=lambda: None)


def reading(msg_id: str, ts: datetime, **metrics: float) -> Inbound:
    return inbound(f"onegrid/v1/readings/{COVER}",
                   {"msg_id": msg_id, "ts": ts.isoformat(), "metrics": metrics})


def detection(msg_id: str, ts: datetime, event: str, confidence: float,
              lon: float | None = None, lat: float | None = None) -> Inbound:
    doc = {"msg_id": msg_id, "ts": ts.isoformat(), "event": event, "confidence": confidence,
           "snapshot": base64.b64encode(JPEG + msg_id.encode()).decode()}
    if lon is not None:
        doc.update(lon=lon, lat=lat)
    return inbound(f"onegrid/v1/detections/{CAMERA}", doc)


def cases_of_component(session, code: str) -> list[Case]:
    cid = session.scalar(select(Component.id).where(Component.code == code))
    return list(session.scalars(select(Case).where(Case.component_id == cid)))


def test_a_tilted_cover_opens_one_case_and_its_recovery_is_evidence(seeded_services) -> None:
    pipeline = Pipeline(seeded_services)
    t = datetime.now(UTC) - timedelta(minutes=4)
    pipeline.process([reading("a1", t, tilt_deg=2.0)])
    pipeline.process([reading("a2", t + timedelta(seconds=30), tilt_deg=23.5),
                      reading("a3", t + timedelta(seconds=60), tilt_deg=24.0)])
    pipeline.process([reading("a4", t + timedelta(seconds=90), tilt_deg=25.0)])
    with seeded_services.session() as s:
        cases = cases_of_component(s, COVER)
        assert len(cases) == 1
        case = cases[0]
        assert case.rule_key == "0101.tilt" and case.source == "sensor" and case.auto
        assert case.status == "dispatched" and case.urgency == "urgent"
        dept = s.get(Department, case.department_id).code
        assert dept == "D07"  # routing: water-supply covers
        assert "23.5" in case.description
        assert case.grid_code is not None
    pipeline.process([reading("a5", t + timedelta(seconds=120), tilt_deg=1.0)])
    with seeded_services.session() as s:
        case = cases_of_component(s, COVER)[0]
        actions = [e.action for e in events_of(s, case.id)]
        assert actions == ["report", "register", "dispatch", "back_to_normal"]
        assert s.scalar(select(func.count()).select_from(Reading)
                        .where(Reading.msg_id.in_(["a1", "a2", "a3", "a4", "a5"]))) == 5
    assert pipeline.stats.cases_opened == 1 and pipeline.stats.rule_errors == 0


def test_camera_sightings_queue_or_dispatch_and_merge_nearby(seeded_services) -> None:
    pipeline = Pipeline(seeded_services)
    pipeline.camera_cases.REFRESH_S = 0.0  # the test changes a case behind the worker's back
    t = datetime.now(UTC) - timedelta(minutes=3)
    with seeded_services.session() as s:
        lon, lat = s.scalar(select(Component.geom).where(
            Component.code == "4499020125000002")).coords[0]
    pipeline.process([detection("d1", t, "street_vending", 0.85, lon + 0.0001, lat)])
    # 0.85 is over the minimum (0.8) and under auto-register (0.9): it waits for the desk.
    pipeline.process([detection("d2", t + timedelta(minutes=1), "street_vending", 0.95,
                                lon + 0.0001, lat + 0.0001)])  # ~11 m away: same case
    pipeline.process([detection("d3", t + timedelta(minutes=1), "street_vending", 0.5,
                                lon, lat)])  # under the minimum: stored, no case
    pipeline.process([detection("d4", t + timedelta(minutes=2), "umbrella", 0.97,
                                lon + 0.0001, lat)])  # another event: its own case
    with seeded_services.session() as s:
        vending = s.scalars(select(Case).where(Case.category_code == "0501",
                                               Case.source == "camera")).all()
        assert len(vending) == 1
        case = vending[0]
        assert case.status == "reported" and not case.auto and case.seen_count == 2
        linked = dict(s.execute(select(Detection.msg_id, Detection.case_id)
                                .where(Detection.msg_id.in_(["d1", "d2", "d3"]))).all())
        assert linked == {"d1": case.id, "d2": case.id, "d3": None}
        events = events_of(s, case.id)
        # A sighting a minute later counts, but is not a timeline entry of its own.
        assert [e.action for e in events] == ["report"]
        assert events[0].attachments["files"][0]["mime"] == "image/jpeg"
        case_id = case.id
    with seeded_services.transaction() as s:  # the case was last seen 20 minutes ago
        s.execute(update(Case).where(Case.id == case_id)
                  .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=20)))
    pipeline.process([detection("d5", t + timedelta(minutes=2), "street_vending", 0.9,
                                lon + 0.0002, lat)])
    with seeded_services.session() as s:
        case = s.get(Case, case_id)
        assert case.seen_count == 3
        events = events_of(s, case.id)
        assert [e.action for e in events] == ["report", "add_evidence"]
        assert events[1].data["matched_by"] == "distance"
        assert events[1].data["sightings"] == 1 and events[1].attachments["files"]
        umbrella = s.scalars(select(Case).where(Case.category_code == "0504",
                                                Case.source == "camera")).one()
        assert umbrella.status == "dispatched" and umbrella.auto


def test_rules_off_stores_the_same_and_opens_nothing(seeded_services) -> None:
    pipeline = Pipeline(seeded_services, rules=False)
    t = datetime.now(UTC) - timedelta(minutes=2)
    before = _cases(seeded_services)
    pipeline.process([inbound(f"onegrid/v1/readings/{sensed_cover(seeded_services, 5)}",
                              {"msg_id": "off1", "ts": t.isoformat(),
                               "metrics": {"tilt_deg": 40.0}})])
    assert _cases(seeded_services) == before
    assert pipeline.stats.stored == 1


def sensed_cover(services, n: int) -> str:
    """The n-th manhole cover (type 0101) that has a sensor."""
    from data.models import Device
    with services.session() as s:
        return s.scalars(select(Component.code).join(Device, Device.component_id == Component.id)
                         .where(Component.type_code == "0101", Device.kind == "sensor")
                         .order_by(Component.code).offset(n).limit(1)).one()


def _cases(services) -> int:
    with services.session() as s:
        return s.scalar(select(func.count()).select_from(Case))


def test_a_fault_in_the_case_logic_never_costs_the_readings(seeded_services,
                                                            monkeypatch) -> None:
    import sensors.pipeline as sp

    def boom(*_a, **_k):
        raise RuntimeError("bug in the case logic")

    monkeypatch.setattr(sp, "apply_rule_outcomes", boom)
    pipeline = Pipeline(seeded_services)
    t = datetime.now(UTC) - timedelta(minutes=1)
    pipeline.process([inbound(f"onegrid/v1/readings/{sensed_cover(seeded_services, 6)}",
                              {"msg_id": "f1", "ts": t.isoformat(),
                               "metrics": {"tilt_deg": 40.0}})])
    assert pipeline.stats.stored == 1 and pipeline.stats.rule_errors == 1
    with seeded_services.session() as s:
        assert s.scalar(select(func.count()).select_from(Reading)
                        .where(Reading.msg_id == "f1")) == 1


def test_a_case_voided_at_the_desk_is_not_fed_again(seeded_services) -> None:
    """The ingest keeps open camera cases between batches; a case the desk voids meanwhile
    drops out (on the worker's next read of changed cases), and the next sighting opens a new
    case."""
    from data.cases import actor_for, transition
    from data.models import User

    pipeline = Pipeline(seeded_services)
    pipeline.camera_cases.REFRESH_S = 0.0  # read changed cases before every batch
    t = datetime.now(UTC) - timedelta(minutes=3)
    with seeded_services.session() as s:
        lon, lat = s.scalar(select(Component.geom).where(
            Component.code == "4499020125000003")).coords[0]
    pipeline.process([detection("v1", t, "out_of_store", 0.95, lon, lat)])
    pipeline.process([detection("v2", t + timedelta(seconds=10), "out_of_store", 0.95, lon,
                                lat)])
    with seeded_services.transaction() as s:
        first = s.scalars(select(Case).where(Case.category_code == "0502",
                                             Case.source == "camera")).one()
        assert first.seen_count == 2
        command = actor_for(s, s.scalar(select(User).where(User.username == "command01")))
        transition(s, seeded_services.cases, first, "void", command, reason="误报 false alarm")
        first_id = first.id
    pipeline.process([detection("v3", t + timedelta(seconds=20), "out_of_store", 0.95, lon,
                                lat)])
    with seeded_services.session() as s:
        cases = s.scalars(select(Case).where(Case.category_code == "0502",
                                             Case.source == "camera")
                          .order_by(Case.id)).all()
        assert len(cases) == 2 and cases[0].id == first_id
        assert cases[1].status == "dispatched" and cases[1].seen_count == 1


def test_a_sighting_of_a_case_closed_since_the_last_read_is_only_counted(seeded_services) -> None:
    """Between the worker's reads a case may be voided at the desk while the worker still
    thinks it open: a sighting that would make a timeline entry is counted instead, and the
    batch's other outcomes are not lost."""
    from data.cases import actor_for, transition
    from data.models import User

    pipeline = Pipeline(seeded_services)
    pipeline.camera_cases.REFRESH_S = 3600.0  # the worker does not read the void
    t = datetime.now(UTC) - timedelta(minutes=3)
    with seeded_services.session() as s:
        lon, lat = s.scalar(select(Component.geom).where(
            Component.code == "4499020125000004")).coords[0]
    pipeline.process([detection("w1", t, "garbage_overflow", 0.95, lon, lat)])
    with seeded_services.transaction() as s:
        first = s.scalars(select(Case).join(Detection, Detection.case_id == Case.id)
                          .where(Detection.msg_id == "w1")).one()
        command = actor_for(s, s.scalar(select(User).where(User.username == "command01")))
        transition(s, seeded_services.cases, first, "void", command, reason="误报 false alarm")
        first_id = first.id
    pipeline.camera_cases.rows[first_id].last_seen_at = t - timedelta(hours=1)  # quiet
    pipeline.process([detection("w2", t + timedelta(seconds=10), "garbage_overflow", 0.95,
                                lon, lat),
                      detection("w3", t + timedelta(seconds=10), "umbrella", 0.95, lon, lat)])
    assert pipeline.stats.rule_errors == 0
    with seeded_services.session() as s:
        first = s.get(Case, first_id)
        assert first.status == "void"
        assert [e.action for e in events_of(s, first_id)][-1] == "void"
        umbrella = s.scalars(select(Case).join(Detection, Detection.case_id == Case.id)
                             .where(Detection.msg_id == "w3")).one()
        assert umbrella.auto and umbrella.category_code == "0504"


def test_repeat_sightings_are_summed_in_memory_and_written_on_flush(seeded_services) -> None:
    """Workers write repeat sightings every few seconds (and on stop), not with every batch;
    a batch that does not commit adds none."""
    pipeline = Pipeline(seeded_services, sightings_flush_s=3600)
    t = datetime.now(UTC) - timedelta(minutes=3)
    with seeded_services.session() as s:
        lon, lat = s.scalar(select(Component.geom).where(
            Component.code == "4499020125000004")).coords[0]
    pipeline.process([detection("s1", t, "piled_materials", 0.95, lon, lat)])
    pipeline.process([detection("s2", t + timedelta(seconds=5), "piled_materials", 0.95, lon,
                                lat),
                      detection("s3", t + timedelta(seconds=6), "piled_materials", 0.95, lon,
                                lat)])

    def seen() -> int:
        with seeded_services.session() as s:
            return s.scalars(select(Case.seen_count).where(
                Case.category_code == "0105", Case.source == "camera")).one()

    assert seen() == 1  # summed in memory
    assert sum(n for n, _ in pipeline.camera_cases.pending.values()) == 2
    pipeline.camera_cases.stage([{"cid": 10**9, "n": 5, "at": t}])
    pipeline.camera_cases.rolled_back()  # a batch that did not commit
    pipeline.flush_sightings()
    assert seen() == 3 and not pipeline.camera_cases.pending
