"""Read models of the desk (data/desk.py) and the case page (data/case_views.case_page) on the
demo city, SQLite and PostgreSQL: the work lists, evidence (photos, readings around the trigger,
similar cases within the dedup radius), desk actions through the workflow, and who may see a
case page with its timeline, photos and deadlines."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from data.case_views import case_page, visibility_for
from data.cases import SYSTEM, CaseError, actor_for, department_id, events_of, report_case
from data.desk import case_evidence, list_counts, take_action, work_list
from data.models import (
    Attachment,
    Case,
    Component,
    Department,
    Detection,
    Device,
    Reading,
    UnitGrid,
    User,
)

PAST = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Asia/Shanghai
SHA_STORED = "a1" * 32
SHA_SNAPSHOT = "c3" * 32
SHA_MISSING = "f0" * 32


@dataclass
class Place:
    grid: str
    lon: float
    lat: float
    inspector: str
    other_inspector: str


def _offset(lon: float, lat: float, east_m: float) -> tuple[float, float]:
    return lon + east_m / (111_320 * math.cos(math.radians(lat))), lat


@pytest.fixture(scope="module")
def place(seeded_services) -> Place:
    with seeded_services.transaction() as s:
        grid = s.scalar(select(UnitGrid).where(UnitGrid.inspector_id.is_not(None),
                                               UnitGrid.code.like("449902%"))
                        .order_by(UnitGrid.code).limit(1))
        other = s.scalar(select(User.username).where(User.role == "inspector",
                                                     User.id != grid.inspector_id).limit(1))
        for sha in (SHA_STORED, SHA_SNAPSHOT):
            if s.get(Attachment, sha) is None:
                s.add(Attachment(sha256=sha, mime="image/jpeg", size=10))
        p = grid.geom.representative_point()
        return Place(grid.code, p.x, p.y, s.get(User, grid.inspector_id).username, other)


def _actor(s, username: str):
    return actor_for(s, s.scalar(select(User).where(User.username == username)))


def _report(services, place: Place, *, east_m: float = 0.0, code: str = "0503",
            now: datetime | None = None, **kw) -> int:
    lon, lat = _offset(place.lon, place.lat, east_m)
    with services.transaction() as s:
        case = report_case(s, services.cases, kind="event", code=code, actor=SYSTEM,
                           source="camera", lon=lon, lat=lat, now=now, **kw)
        s.flush()
        return case.id


def test_queue_lists_reported_cases_oldest_first(seeded_services, place) -> None:
    older = _report(seeded_services, place, now=datetime.now(UTC) - timedelta(minutes=20))
    newer = _report(seeded_services, place, east_m=5)
    with seeded_services.session() as s:
        queue = work_list(s, seeded_services.cases, "queue")
        ids = [item["id"] for item in queue.items]
        assert older in ids and newer in ids and ids.index(older) < ids.index(newer)
        assert all(item["status"] == "reported" for item in queue.items)
        assert queue.total == list_counts(s)["queue"] >= 2
        light = {item["id"]: item["light"] for item in queue.items}
        assert light[older] in ("green", "yellow", "red") and light[newer] == "green"


def test_evidence_finds_similar_cases_within_the_dedup_radius(seeded_services, place) -> None:
    case = _report(seeded_services, place, east_m=300,
                   attachments=[{"sha256": SHA_STORED, "mime": "image/jpeg"},
                                {"sha256": SHA_MISSING, "mime": "image/jpeg"}])
    near = _report(seeded_services, place, east_m=320)   # 20 m away: 0503 merges within 30 m
    far = _report(seeded_services, place, east_m=400)    # 100 m away
    other_kind = _report(seeded_services, place, east_m=305, code="0502")
    with seeded_services.transaction() as s:
        device = s.scalar(select(Device.id).where(Device.kind == "camera").limit(1))
        s.add(Detection(device_id=device, msg_id=f"desk-{case}", ts=datetime.now(UTC),
                        event_code="non_motor_parking", confidence=0.9,
                        geom=s.get(Case, case).geom, snapshot_sha256=SHA_SNAPSHOT,
                        case_id=case))
    with seeded_services.session() as s:
        ev = case_evidence(s, seeded_services.cases, case, _actor(s, "command01"))
    similar = {item["id"]: item for item in ev["similar"]}
    assert near in similar and far not in similar and other_kind not in similar
    assert similar[near]["matched_by"] == "distance"
    assert 15 <= similar[near]["distance_m"] <= 25
    assert [p["sha256"] for p in ev["photos"]] == [SHA_STORED, SHA_SNAPSHOT]  # stored only
    assert ev["readings"] is None  # a camera case
    assert ev["place"]["grid"]["code"] == ev["grid_code"]
    assert ev["place"]["grid"]["geometry"]["type"] == "Polygon"
    assert ev["place"]["district"]["code"] == ev["grid_code"][:6]
    assert set(ev["allowed_actions"]) >= {"register", "decline", "merge"}
    assert ev["suggested_department"] == "D05"  # street order → enforcement (routing.yaml)
    assert ev["last_seq"] == 1


def test_sensor_case_shows_readings_around_the_trigger(seeded_services, place) -> None:
    trigger = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with seeded_services.transaction() as s:
        component, device = s.execute(
            select(Component.id, Device.id).join(Device, Device.component_id == Component.id)
            .where(Component.type_code == "0101").limit(1)).one()
        for i, hours in enumerate((-20, -2, -1, 0, 1, 5)):
            s.add(Reading(device_id=device, msg_id=f"desk-r{component}-{i}",
                          ts=trigger + timedelta(hours=hours), component_id=component,
                          metrics={"tilt_deg": 2.0 + i, "water_level_cm": 1}))
        case = report_case(s, seeded_services.cases, kind="component", code="0101",
                           actor=SYSTEM, source="sensor", component_id=component,
                           rule_key="0101.tilt", data={"ts": trigger.isoformat()})
        s.flush()
        case_id = case.id
    with seeded_services.session() as s:
        ev = case_evidence(s, seeded_services.cases, case_id, _actor(s, "command01"))
    readings = ev["readings"]
    assert readings["component"]["id"] == component
    assert readings["trigger"] == trigger.isoformat()
    times = [datetime.fromisoformat(p["ts"]) for p in readings["points"]]
    assert times == sorted(times)
    assert [round((t - trigger).total_seconds() / 3600) for t in times] == [-2, -1, 0, 1]
    assert readings["metrics"]["tilt_deg"]["unit"] == "°"


def test_desk_actions_append_events_with_actor_reason_and_origin(seeded_services,
                                                                 place) -> None:
    a = _report(seeded_services, place, east_m=600)
    b = _report(seeded_services, place, east_m=610)
    c = _report(seeded_services, place, east_m=800)
    cfg = seeded_services.cases
    with seeded_services.transaction() as s:
        actor = _actor(s, "command01")
        take_action(s, cfg, a, "register", actor, seen_seq=1, note="核实属实")
        take_action(s, cfg, b, "merge", actor, target_case_id=a)
        take_action(s, cfg, c, "decline", actor, reason="not_our_duty", note="物业管理范围")
    with seeded_services.session() as s:
        command01 = s.scalar(select(User.id).where(User.username == "command01"))
        ev_a, merged_in = events_of(s, a)[-2:]
        ev_b, ev_c = (events_of(s, i)[-1] for i in (b, c))
        assert (ev_a.action, ev_a.to_state, ev_a.actor_id, ev_a.origin, ev_a.note) == \
            ("register", "registered", command01, "desk", "核实属实")
        assert (ev_b.action, ev_b.data["target_case_id"], ev_b.data["reason"]) == \
            ("merge", a, "duplicate")
        assert (ev_c.action, ev_c.data["reason"], ev_c.actor_role) == \
            ("decline", "not_our_duty", "command")
        assert s.get(Case, b).merged_into_id == a
        assert merged_in.action == "add_evidence"  # the merge counted as evidence
        assert merged_in.data["merged_case_id"] == b
        dispatch_list = [i["id"] for i in work_list(s, cfg, "dispatch").items]
        assert a in dispatch_list
    with seeded_services.transaction() as s:
        actor = _actor(s, "command01")
        with pytest.raises(CaseError) as stale:
            take_action(s, cfg, a, "dispatch", actor, seen_seq=1, department_code="D05")
        assert stale.value.code == "stale"
        with pytest.raises(CaseError) as unknown:
            take_action(s, cfg, a, "dispatch", actor, department_code="D99")
        assert unknown.value.code == "unknown_department"
        with pytest.raises(CaseError) as twice:
            take_action(s, cfg, c, "register", actor)
        assert twice.value.code == "not_allowed_from_state" and "不予立案" in \
            twice.value.message_zh
        take_action(s, cfg, a, "dispatch", actor, department_code="D05")
    with seeded_services.session() as s:
        case = s.get(Case, a)
        assert case.status == "dispatched"
        assert case.department_id == department_id(s, "D05")


def test_supervise_list_holds_overdue_cases_in_progress(seeded_services, place) -> None:
    lon, lat = _offset(place.lon, place.lat, 900)
    with seeded_services.transaction() as s:
        late = report_case(s, seeded_services.cases, kind="event", code="0503", actor=SYSTEM,
                           source="camera", lon=lon, lat=lat, auto=True, now=PAST)
        s.flush()
        late_id = late.id
    with seeded_services.session() as s:
        supervise = work_list(s, seeded_services.cases, "supervise")
        item = next(i for i in supervise.items if i["id"] == late_id)
        assert item["status"] == "dispatched" and item["light"] == "red"
        deadlines = [i["deadline_at"] for i in supervise.items]
        assert deadlines == sorted(deadlines)
    with seeded_services.transaction() as s:
        take_action(s, seeded_services.cases, late_id, "supervise", _actor(s, "command01"))
    with seeded_services.session() as s:
        assert s.get(Case, late_id).supervised is True
        assert events_of(s, late_id)[-1].action == "supervise"


def test_verified_cases_wait_in_the_close_list_and_close_from_the_desk(seeded_services,
                                                                     place) -> None:
    from data.cases import transition

    lon, lat = _offset(place.lon, place.lat, 1200)
    with seeded_services.transaction() as s:
        case = report_case(s, seeded_services.cases, kind="event", code="0503", actor=SYSTEM,
                           source="camera", lon=lon, lat=lat, auto=True)
        handler = s.scalar(select(User).where(User.role == "handler",
                                              User.department_id == case.department_id))
        transition(s, seeded_services.cases, case, "accept", actor_for(s, handler))
        transition(s, seeded_services.cases, case, "feedback", actor_for(s, handler),
                   note="摊位已清理 stall cleared",
                   attachments=[{"sha256": SHA_STORED, "mime": "image/jpeg"}])
        inspector = s.get(User, s.scalar(select(UnitGrid.inspector_id)
                                         .where(UnitGrid.code == case.grid_code)))
        transition(s, seeded_services.cases, case, "verify_pass", actor_for(s, inspector))
        case_id = case.id
    with seeded_services.session() as s:
        waiting = work_list(s, seeded_services.cases, "close")
        assert case_id in [i["id"] for i in waiting.items]
        assert all(i["status"] == "verified" for i in waiting.items)
        assert list_counts(s)["close"] == waiting.total >= 1
    with seeded_services.transaction() as s:
        with pytest.raises(CaseError):  # a handler may not close
            take_action(s, seeded_services.cases, case_id, "close",
                        _actor(s, handler.username))
    with seeded_services.transaction() as s:
        take_action(s, seeded_services.cases, case_id, "close", _actor(s, "command01"))
    with seeded_services.session() as s:
        assert s.get(Case, case_id).status == "closed"
        assert events_of(s, case_id)[-1].origin == "desk"
        assert case_id not in [i["id"] for i in work_list(s, seeded_services.cases,
                                                           "close").items]


def test_case_page_respects_visibility_and_tells_the_whole_life(seeded_services,
                                                                place) -> None:
    lon, lat = _offset(place.lon, place.lat, 1000)
    cfg = seeded_services.cases
    with seeded_services.transaction() as s:
        case = report_case(s, cfg, kind="event", code="0503", actor=SYSTEM, source="camera",
                           lon=lon, lat=lat, grid_code=place.grid, auto=True, now=PAST,
                           attachments=[{"sha256": SHA_STORED, "mime": "image/jpeg"}])
        s.flush()
        case_id, dept = case.id, case.department_id
        dept_code = s.scalar(select(Department.code).where(Department.id == dept))
    handler_own = f"handler_{dept_code.lower()}"
    handler_other = "handler_d01" if dept_code != "D01" else "handler_d02"
    with seeded_services.session() as s:
        def page_for(username: str):
            actor = _actor(s, username)
            return case_page(s, cfg, case_id, visibility_for(actor), actor)

        assert page_for(handler_other) is None
        assert page_for(place.other_inspector) is None
        assert page_for(place.inspector) is not None
        assert page_for(handler_own) is not None
        page = page_for("command01")
    assert [e["action"] for e in page["events"]] == ["report", "register", "dispatch"]
    assert [e["seq"] for e in page["events"]] == [1, 2, 3]
    assert page["events"][0]["role_label"] == {"zh": "系统", "en": "System"}
    assert page["events"][2]["department"]["code"] == dept_code
    assert page["events"][0]["photos"] == [SHA_STORED]
    assert [p["sha256"] for p in page["photos_before"]] == [SHA_STORED]
    assert page["photos_after"] == []
    assert page["department_name"]["code"] == dept_code
    assert page["place"]["grid"]["code"] == place.grid
    assert page["inspector_name"]
    steps = {row["step"]: row for row in page["deadlines"]}
    assert [row["step"] for row in page["deadlines"]] == ["register", "dispatch", "handle",
                                                          "close"]
    assert steps["register"]["outcome"] == "met" and steps["dispatch"]["outcome"] == "met"
    assert steps["handle"]["outcome"] == "overdue" and steps["handle"]["done_at"] is None
    assert steps["close"]["outcome"] == "overdue"
    assert page["light"] == "red" and page["time_used"] > 1
