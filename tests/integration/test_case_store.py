"""The case engine on real databases (SQLite and PostgreSQL/PostGIS): the closed loop, refusals
that change nothing, automation, the clock's once-per-deadline marks, suspension, merging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from data.cases import (
    SYSTEM,
    CaseError,
    actor_for,
    events_of,
    load_case_config,
    report_case,
    run_clock,
    transition,
)
from data.models import Case, CaseEvent, Department, UnitGrid, User

# A Tuesday morning in Asia/Shanghai (02:00 UTC = 10:00 CST), clear of holidays.
T0 = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)
PHOTO = {"sha256": "a" * 64, "mime": "image/jpeg"}


@pytest.fixture(scope="module")
def cfg():
    return load_case_config()


def user(session, name: str) -> User:
    return session.scalar(select(User).where(User.username == name))


def a_grid(session, district: str = "449902") -> UnitGrid:
    return session.scalar(select(UnitGrid).where(UnitGrid.inspector_id.is_not(None),
                                                 UnitGrid.code.like(f"{district}%"))
                          .order_by(UnitGrid.code).limit(1))


def inside(grid: UnitGrid) -> tuple[float, float]:
    p = grid.geom.representative_point()
    return p.x, p.y


def test_the_closed_loop_from_report_to_close(seeded_services, cfg) -> None:
    with seeded_services.transaction() as s:
        grid = a_grid(s)
        lon, lat = inside(grid)
        inspector = s.get(User, grid.inspector_id)
        case = report_case(s, cfg, kind="event", code="0102", actor=actor_for(s, inspector),
                           source="inspector", lon=lon, lat=lat, description="垃圾堆在路边",
                           attachments=[PHOTO], now=T0)
        case_id = case.id
        assert case.status == "reported" and case.grid_code == grid.code
        assert case.inspector_id == inspector.id and case.step == "register"
        assert case.code.startswith("20261117") and case.deadline_at > T0
        command = actor_for(s, user(s, "command01"))
        transition(s, cfg, case, "register", command, now=T0 + timedelta(minutes=5))
        d03 = s.scalar(select(Department.id).where(Department.code == "D03"))
        transition(s, cfg, case, "dispatch", command, data={"department_id": d03},
                   now=T0 + timedelta(minutes=10))
        assert case.step == "handle" and case.handle_deadline_at is not None
        assert case.close_deadline_at >= case.handle_deadline_at
        handler = actor_for(s, user(s, "handler_d03"))
        transition(s, cfg, case, "accept", handler, now=T0 + timedelta(minutes=20))
        transition(s, cfg, case, "feedback", handler, note="已清运", attachments=[PHOTO],
                   now=T0 + timedelta(minutes=50))
        transition(s, cfg, case, "verify_pass", actor_for(s, inspector),
                   now=T0 + timedelta(minutes=70), lon=lon, lat=lat)
        transition(s, cfg, case, "close", command, now=T0 + timedelta(minutes=75))
    with seeded_services.session() as s:
        case = s.get(Case, case_id)
        assert case.status == "closed" and case.step is None and case.deadline_at is None
        assert case.dispatched_on_time and case.handled_on_time and case.closed_on_time
        events = events_of(s, case_id)
        assert [e.action for e in events] == ["report", "register", "dispatch", "accept",
                                              "feedback", "verify_pass", "close"]
        assert [e.seq for e in events] == list(range(1, 8))
        assert [e.to_state for e in events][-1] == "closed"
        assert events[0].attachments == {"files": [PHOTO]}
        assert events[5].geom is not None and events[4].actor_role == "handler"


def test_a_refusal_changes_nothing(seeded_services, cfg) -> None:
    with seeded_services.transaction() as s:
        case = report_case(s, cfg, kind="event", code="0503", actor=SYSTEM, source="camera",
                           lon=None, lat=None, grid_code=a_grid(s).code, auto=True, now=T0)
        case_id, status = case.id, case.status
    assert status == "dispatched"
    with seeded_services.transaction() as s:
        with pytest.raises(CaseError) as err:
            transition(s, cfg, case_id, "accept", actor_for(s, user(s, "handler_d03")),
                       now=T0)
        assert err.value.code == "not_your_department"
        with pytest.raises(CaseError) as err:
            transition(s, cfg, case_id, "close", actor_for(s, user(s, "command01")), now=T0)
        assert err.value.code == "not_allowed_from_state" and "verified" in err.value.message
        with pytest.raises(CaseError) as err:
            transition(s, cfg, 10**9, "close", SYSTEM)
        assert err.value.code == "not_found"
    with seeded_services.session() as s:
        assert s.get(Case, case_id).status == "dispatched"
        assert len(events_of(s, case_id)) == 3


def test_automatic_cases_are_routed_by_category_and_place(seeded_services, cfg) -> None:
    with seeded_services.transaction() as s:
        dingshan = report_case(s, cfg, kind="event", code="0503", actor=SYSTEM,
                               source="camera", grid_code=a_grid(s, "449903").code, auto=True,
                               now=T0)
        duanjiang = report_case(s, cfg, kind="event", code="0503", actor=SYSTEM,
                                source="camera", grid_code=a_grid(s, "449902").code, auto=True,
                                now=T0)
        codes = dict(s.execute(select(Department.id, Department.code)).all())
        assert codes[dingshan.department_id] == "D06"   # district route
        assert codes[duanjiang.department_id] == "D05"  # class route
        assert [e.action for e in events_of(s, dingshan.id)] == ["report", "register",
                                                                  "dispatch"]
        assert dingshan.auto and dingshan.registered_at == T0


def test_overdue_is_marked_and_escalated_exactly_once(seeded_services, cfg) -> None:
    with seeded_services.transaction() as s:
        case = report_case(s, cfg, kind="component", code="0101", actor=SYSTEM,
                           source="sensor", grid_code=a_grid(s).code, auto=True, now=T0)
        case_id, due = case.id, case.deadline_at
        assert case.urgency == "urgent" and case.step == "handle"
    later = due + timedelta(minutes=1)
    with seeded_services.transaction() as s:
        first = run_clock(s, cfg, later)
    with seeded_services.transaction() as s:
        second = run_clock(s, cfg, later + timedelta(hours=1))
    assert case_id in first.overdue and case_id not in second.overdue
    with seeded_services.session() as s:
        case = s.get(Case, case_id)
        actions = [e.action for e in events_of(s, case_id)]
        assert actions.count("mark_overdue") == 1 and actions.count("escalate") == 1
        assert case.overdue_count == 1 and case.escalation_level == 1
        assert case.overdue_for == case.deadline_at


def test_warning_at_eighty_percent_once(seeded_services, cfg) -> None:
    with seeded_services.transaction() as s:
        case = report_case(s, cfg, kind="event", code="0102", actor=SYSTEM, source="camera",
                           grid_code=a_grid(s).code, auto=True, now=T0)
        case_id, start, due = case.id, case.step_started_at, case.deadline_at
    # 85 % of the way in wall time is past 80 % of working time unless a break intervenes:
    # find the first minute the clock says ≥ 80 %.
    from data.cases import time_used
    with seeded_services.session() as s:
        case = s.get(Case, case_id)
        at = start
        while time_used(case, cfg, at) < 0.8:
            at += timedelta(minutes=1)
        before = at - timedelta(minutes=1)
    with seeded_services.transaction() as s:
        assert case_id not in run_clock(s, cfg, before).warned
    with seeded_services.transaction() as s:
        assert case_id in run_clock(s, cfg, at).warned
    with seeded_services.transaction() as s:
        assert case_id not in run_clock(s, cfg, at + timedelta(minutes=1)).warned
    assert at < due
    with seeded_services.session() as s:
        assert [e.action for e in events_of(s, case_id)].count("warn") == 1


def test_suspension_stops_the_clock(seeded_services, cfg) -> None:
    with seeded_services.transaction() as s:
        case = report_case(s, cfg, kind="event", code="0101", actor=SYSTEM, source="camera",
                           grid_code=a_grid(s).code, auto=True, now=T0)
        case_id, due = case.id, case.deadline_at
        command = actor_for(s, user(s, "command01"))
        transition(s, cfg, case, "suspend", command, reason="等待规划部门认定",
                   now=T0 + timedelta(hours=1))
        assert case.status == "suspended"
    with seeded_services.transaction() as s:
        # Overdue by the old deadline, but suspended: the clock does not mark it.
        assert case_id not in run_clock(s, cfg, due + timedelta(days=1)).overdue
    with seeded_services.transaction() as s:
        transition(s, cfg, case_id, "resume", actor_for(s, user(s, "command01")),
                   now=T0 + timedelta(days=1, hours=1))
    with seeded_services.session() as s:
        case = s.get(Case, case_id)
        assert case.status == "dispatched" and case.suspended_at is None
        # A day's pause during working time moves the deadline by a working day (7.5 h).
        assert case.deadline_at > due + timedelta(hours=7)
        assert len(case.pauses) == 1


def test_merge_adds_evidence_to_the_target(seeded_services, cfg) -> None:
    with seeded_services.transaction() as s:
        grid = a_grid(s).code
        target = report_case(s, cfg, kind="event", code="0105", actor=SYSTEM,
                             source="camera", grid_code=grid, auto=True, now=T0)
        dup = report_case(s, cfg, kind="event", code="0105",
                          actor=actor_for(s, user(s, "inspector01")), source="inspector",
                          grid_code=grid, now=T0 + timedelta(minutes=3))
        command = actor_for(s, user(s, "command01"))
        with pytest.raises(CaseError) as err:
            transition(s, cfg, dup, "merge", command, data={"target_case_id": "abc"})
        assert err.value.code == "target_required"
        transition(s, cfg, dup, "merge", command, data={"target_case_id": target.id},
                   now=T0 + timedelta(minutes=4))
        assert dup.status == "declined" and dup.decline_reason == "duplicate"
        assert dup.merged_into_id == target.id and target.seen_count == 2
        assert events_of(s, target.id)[-1].action == "add_evidence"


def test_case_events_cannot_be_changed(seeded_services, cfg) -> None:
    with seeded_services.transaction() as s:
        case = report_case(s, cfg, kind="event", code="0601", actor=SYSTEM, source="camera",
                           grid_code=a_grid(s).code, now=T0)
        case_id = case.id
    with pytest.raises((DBAPIError, IntegrityError)):
        with seeded_services.transaction() as s:
            s.execute(update(CaseEvent).where(CaseEvent.case_id == case_id)
                      .values(note="rewritten"))
    with pytest.raises((DBAPIError, IntegrityError)):
        with seeded_services.transaction() as s:
            s.execute(text("DELETE FROM case_events WHERE case_id = :c"), {"c": case_id})
    with seeded_services.session() as s:
        assert s.scalar(select(func.count()).select_from(CaseEvent)
                        .where(CaseEvent.case_id == case_id)) == 1
