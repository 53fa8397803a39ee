"""Read models of "my tasks" (data.tasks) on SQLite and PostgreSQL: what an inspector and a
handler see, in deadline order with the light, and one task's detail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from data.cases import SYSTEM, actor_for, report_case, transition
from data.models import Case, UnitGrid, User
from data.tasks import (
    case_for_request,
    event_for_request,
    handler_tasks,
    inspector_grids,
    inspector_tasks,
    task_detail,
)

PHOTO = {"sha256": "d" * 64, "mime": "image/jpeg"}
NOW = datetime.now(UTC)


@dataclass
class Place:
    inspector: User
    other_inspector: User
    grid: str
    other_grid: str


@pytest.fixture(scope="module")
def place(seeded_services) -> Place:
    with seeded_services.session() as s:
        grid = s.scalar(select(UnitGrid).where(UnitGrid.inspector_id.is_not(None))
                        .order_by(UnitGrid.code).limit(1))
        other = s.scalar(select(UnitGrid).where(UnitGrid.inspector_id.is_not(None),
                                                UnitGrid.inspector_id != grid.inspector_id)
                         .order_by(UnitGrid.code.desc()).limit(1))
        me, them = s.get(User, grid.inspector_id), s.get(User, other.inspector_id)
        s.expunge_all()
        return Place(me, them, grid.code, other.code)


def handled(services, grid: str, *, at: datetime, title: str) -> int:
    cfg = services.cases
    with services.transaction() as s:
        case = report_case(s, cfg, kind="event", code="0503", actor=SYSTEM, source="camera",
                           grid_code=grid, auto=True, title=title, now=at)
        handler = s.scalar(select(User).where(User.role == "handler",
                                              User.department_id == case.department_id))
        actor = actor_for(s, handler)
        transition(s, cfg, case, "accept", actor, now=at)
        transition(s, cfg, case, "feedback", actor, note="done", attachments=[PHOTO], now=at)
        return case.id


def test_inspector_sees_verifications_in_their_grids_and_own_reports(seeded_services,
                                                                     place) -> None:
    services, cfg = seeded_services, seeded_services.cases
    older = handled(services, place.grid, at=NOW - timedelta(days=3), title="older")
    newer = handled(services, place.grid, at=NOW - timedelta(hours=1), title="newer")
    elsewhere = handled(services, place.other_grid, at=NOW, title="elsewhere")
    with services.transaction() as s:
        me = actor_for(s, s.get(User, place.inspector.id))
        own = report_case(s, cfg, kind="event", code="0102", actor=me, source="inspector",
                          grid_code=place.other_grid, title="my report")
        s.flush()
        own_id = own.id
    with services.session() as s:
        me = actor_for(s, s.get(User, place.inspector.id))
        items = inspector_tasks(s, cfg, me)
        them = inspector_tasks(s, cfg, actor_for(s, s.get(User, place.other_inspector.id)))
    by_id = {i["id"]: i for i in items}
    assert by_id[older]["task"] == by_id[newer]["task"] == "verify"
    assert by_id[own_id]["task"] == "report" and by_id[own_id]["status"] == "reported"
    assert elsewhere not in by_id
    assert elsewhere in {i["id"] for i in them} and own_id not in {i["id"] for i in them}
    deadlines = [i["deadline_at"] for i in items if i["deadline_at"]]
    assert deadlines == sorted(deadlines, key=datetime.fromisoformat)
    assert [i["id"] for i in items].index(older) < [i["id"] for i in items].index(newer)
    assert by_id[older]["light"] == "red" and by_id[newer]["light"] in ("green", "yellow")


def test_a_verified_case_leaves_the_list(seeded_services, place) -> None:
    services, cfg = seeded_services, seeded_services.cases
    case_id = handled(services, place.grid, at=NOW, title="to verify")
    with services.transaction() as s:
        me = actor_for(s, s.get(User, place.inspector.id))
        transition(s, cfg, case_id, "verify_pass", me, data={"request_id": "req-12345678"})
    with services.session() as s:
        me = actor_for(s, s.get(User, place.inspector.id))
        assert case_id not in {i["id"] for i in inspector_tasks(s, cfg, me)}
        found = event_for_request(s, case_id, place.inspector.id, "req-12345678")
        assert found is not None and found.action == "verify_pass"
        assert event_for_request(s, case_id, place.other_inspector.id, "req-12345678") is None
        assert event_for_request(s, case_id, place.inspector.id, "req-other-000") is None


def test_handler_sees_only_their_departments_waiting_cases(seeded_services, place) -> None:
    services, cfg = seeded_services, seeded_services.cases
    with services.transaction() as s:
        case = report_case(s, cfg, kind="event", code="0503", actor=SYSTEM, source="camera",
                           grid_code=place.grid, auto=True, title="for handlers")
        s.flush()
        case_id, dept = case.id, case.department_id
        mine = s.scalar(select(User).where(User.role == "handler",
                                           User.department_id == dept))
        other = s.scalar(select(User).where(User.role == "handler",
                                            User.department_id != dept))
        mine_id, other_id = mine.id, other.id
    with services.session() as s:
        listed = {i["id"] for i in handler_tasks(s, cfg, actor_for(s, s.get(User, mine_id)))}
        elsewhere = {i["id"] for i in handler_tasks(s, cfg,
                                                    actor_for(s, s.get(User, other_id)))}
    assert case_id in listed and case_id not in elsewhere
    with services.transaction() as s:
        actor = actor_for(s, s.get(User, mine_id))
        transition(s, cfg, case_id, "accept", actor)
    with services.session() as s:
        items = handler_tasks(s, cfg, actor_for(s, s.get(User, mine_id)))
        assert next(i for i in items if i["id"] == case_id)["status"] == "accepted"
    with services.transaction() as s:
        actor = actor_for(s, s.get(User, mine_id))
        transition(s, cfg, case_id, "feedback", actor, note="ok", attachments=[PHOTO])
    with services.session() as s:
        items = handler_tasks(s, cfg, actor_for(s, s.get(User, mine_id)))
        assert case_id not in {i["id"] for i in items}


def test_task_detail_has_photos_grid_and_actions(seeded_services, place) -> None:
    services, cfg = seeded_services, seeded_services.cases
    case_id = handled(services, place.grid, at=NOW, title="detail")
    with services.session() as s:
        me = actor_for(s, s.get(User, place.inspector.id))
        detail = task_detail(s, cfg, case_id, me)
        hidden = task_detail(s, cfg, case_id,
                             actor_for(s, s.get(User, place.other_inspector.id)))
        grids = inspector_grids(s, me)
    assert hidden is None
    assert [p["sha256"] for p in detail["photos"]] == [PHOTO["sha256"]]
    assert detail["photos"][0]["url"] == f"/media/{PHOTO['sha256']}"
    assert detail["grid"]["type"] == "Polygon" and detail["grid_name"]
    assert {"verify_pass", "verify_fail"} <= set(detail["allowed_actions"])
    assert [e["action"] for e in detail["events"]][-1] == "feedback"
    codes = {g["code"] for g in grids}
    assert place.grid in codes and place.other_grid not in codes
    one = next(g for g in grids if g["code"] == place.grid)
    west, south, east, north = one["bounds"]
    assert west <= one["lon"] <= east and south <= one["lat"] <= north


def test_case_for_request_finds_only_the_reporters_case(seeded_services, place) -> None:
    services, cfg = seeded_services, seeded_services.cases
    with services.transaction() as s:
        me = actor_for(s, s.get(User, place.inspector.id))
        case = report_case(s, cfg, kind="event", code="0102", actor=me, source="inspector",
                           grid_code=place.grid, external_id="tab-abcdef0123456789")
        s.flush()
        case_id = case.id
    with services.session() as s:
        assert case_for_request(s, place.inspector.id, "tab-abcdef0123456789").id == case_id
        assert case_for_request(s, place.other_inspector.id, "tab-abcdef0123456789") is None
        assert s.get(Case, case_id).external_id == "tab-abcdef0123456789"
