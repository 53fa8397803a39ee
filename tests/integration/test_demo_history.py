"""The demo case history (data/demo_history.py) on the seeded demo city, SQLite and PostgreSQL:
written by the engine, consistent event by event, plausible in its figures, alive today,
deterministic and written once."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cases.workflow import PREVIOUS, STAYS, TRANSITIONS, history_state_before_suspension
from data.case_views import CaseFilters, list_cases, registration_queue, visibility_for
from data.cases import actor_for, time_used
from data.demo_history import MARK, has_history, seed_history
from data.metrics import indicators
from data.models import (
    Attachment,
    Case,
    CaseEvent,
    Component,
    Detection,
    Position,
    Tracker,
    User,
)
from services import Services, build_services, prepare_database, seed_demo_history
from tests.conftest import make_settings

#: Wednesday 18 November 2026, 10:30 in Xijiang: a working morning.
NOW = datetime(2026, 11, 18, 2, 30, tzinfo=UTC)
CST = timedelta(hours=8)
OPEN = ("reported", "registered", "dispatched", "accepted", "handled", "verified", "suspended")


def fingerprint(services: Services) -> list[Any]:
    """Everything the history decided, in a comparable form (not the clock time of the run)."""
    with services.session() as s:
        cases = s.execute(select(Case.id, Case.code, Case.status, Case.source, Case.category_code,
                                 Case.grid_code, Case.department_id, Case.seen_count,
                                 Case.rework_count, Case.deadline_at)
                          .order_by(Case.id)).all()
        events = s.execute(select(CaseEvent.case_id, CaseEvent.seq, CaseEvent.action,
                                  CaseEvent.from_state, CaseEvent.to_state, CaseEvent.actor_role,
                                  CaseEvent.at).order_by(CaseEvent.case_id, CaseEvent.seq)).all()
        detections = s.execute(select(Detection.msg_id, Detection.case_id, Detection.event_code,
                                      Detection.snapshot_sha256).order_by(Detection.msg_id)).all()
        positions = s.execute(select(Position.tracker_id, Position.ts, Position.grid_code)
                              .order_by(Position.tracker_id, Position.ts)).all()
    return [[tuple(r) for r in rows] for rows in (cases, events, detections, positions)]


@pytest.fixture(scope="module")
def history(seeded_services: Services) -> dict[str, Any]:
    """The default-size history written once per database; the figures are printed."""
    began = time.perf_counter()
    with seeded_services.transaction() as s:
        report = seed_history(s, seeded_services.cases, now=NOW,
                              media_dir=seeded_services.settings.media_dir)
    seconds = time.perf_counter() - began
    print(f"\n[{seeded_services.engine.dialect.name}] {report.summary()} "
          f"(with commit: {seconds:.1f} s; {report.clock_passes} clock passes)")
    return {"services": seeded_services, "report": report,
            "fingerprint": fingerprint(seeded_services)}


def test_volume_sources_and_paths(history) -> None:
    report = history["report"]
    total = sum(report.cases.values())
    assert 40 * 20 < total < 60 * 62, total  # tens of cases a day for two months
    assert set(report.sources) == {"sensor", "camera", "inspector", "citizen", "hotline"}
    assert all(n >= 100 for n in report.sources.values()), report.sources
    assert report.cases["closed"] > total * 0.8
    assert report.cases["declined"] > 0 and report.cases["void"] > 0
    with history["services"].session() as s:
        actions = Counter(dict(s.execute(select(CaseEvent.action, func.count())
                                         .group_by(CaseEvent.action)).all()))
        reasons = set(s.scalars(select(Case.decline_reason).where(Case.status == "declined")))
        merged = s.scalar(select(func.count()).select_from(Case)
                          .where(Case.merged_into_id.is_not(None)))
    for action in ("report", "register", "decline", "merge", "dispatch", "accept", "feedback",
                   "verify_pass", "verify_fail", "close", "return", "supervise", "escalate",
                   "suspend", "resume", "void", "reopen", "request_extension",
                   "grant_extension", "refuse_extension", "add_evidence", "mark_overdue",
                   "warn", "back_to_normal"):
        assert actions[action] > 0, f"no {action} in the history: {actions}"
    assert {"duplicate", "not_our_duty", "invalid"} <= reasons
    assert merged > 0
    assert report.events == sum(actions.values())


def test_every_case_replays_through_the_workflow(history) -> None:
    rules: dict[tuple[str, str | None], Any] = {}
    for rule in TRANSITIONS:
        for state in rule.from_states:
            rules[(rule.action, state)] = rule
    with history["services"].session() as s:
        cases = {c.id: c for c in s.scalars(select(Case))}
        events: dict[int, list[CaseEvent]] = {}
        for e in s.scalars(select(CaseEvent).order_by(CaseEvent.case_id, CaseEvent.seq)):
            events.setdefault(e.case_id, []).append(e)
    assert set(events) == set(cases)
    for case_id, chain in events.items():
        case = cases[case_id]
        assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
        assert chain[0].action == "report" and chain[0].from_state is None
        state = None
        trail: list[tuple[str, str | None, str | None]] = []
        for e in chain:
            assert e.from_state == state, (case.code, e.seq, e.action)
            rule = rules.get((e.action, e.from_state))
            assert rule is not None, (case.code, e.action, e.from_state)
            assert e.actor_role in rule.roles, (case.code, e.action, e.actor_role)
            if rule.to_state is STAYS:
                assert e.to_state == e.from_state
            elif rule.to_state is PREVIOUS:
                assert e.to_state == history_state_before_suspension(trail)
            else:
                assert e.to_state == rule.to_state
            trail.append((e.action, e.from_state, e.to_state))
            state = e.to_state
        assert state == case.status, case.code
        times = [e.at for e in chain]
        assert times == sorted(times) and times[-1] <= NOW, case.code
        assert chain[0].at == case.reported_at


def test_last_full_month_has_plausible_indicators(history) -> None:
    local = (NOW + CST).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = local - CST  # 1 November 00:00 in Xijiang
    start = (local - timedelta(days=1)).replace(day=1) - CST  # 1 October
    with history["services"].session() as s:
        city = indicators(s, start=start, end=end, by="city")[0]
        districts = indicators(s, start=start, end=end, by="district")
        departments = indicators(s, start=start, end=end, by="department")
    v, tally = city["values"], city["tally"]
    assert 500 < tally.reports < 2000, tally
    assert 0.8 < v["registration_rate"] < 1.0
    assert 0.9 < v["dispatch_rate"] <= 1.0
    assert 0.75 < v["on_time_handling_rate"] < 0.97
    assert 0.7 < v["on_time_closure_rate"] < 0.97
    assert 0.9 < v["closure_rate"] <= 1.0
    assert 0.0 < v["rework_rate"] < 0.2
    assert 0.0 < v["extension_rate"] < 0.2
    assert 0 < tally.overdue < tally.reports / 2
    assert 0.5 < v["mean_handling_hours"] < 200
    assert len(districts) == 3 and len(departments) >= 6
    rates = {d["key"]: d["values"]["on_time_closure_rate"] for d in districts}
    assert len(set(rates.values())) > 1, rates  # districts differ


def test_today_has_work_for_every_screen(history) -> None:
    services = history["services"]
    cfg = services.cases
    with services.session() as s:
        open_cases = list(s.scalars(select(Case).where(Case.status.in_(OPEN))))
        states = Counter(c.status for c in open_cases)
        lights = Counter(_light(c, cfg) for c in open_cases)
        queue, waiting = registration_queue(s, cfg, now=NOW)
        inspector = actor_for(s, s.scalar(select(User).where(User.username == "inspector01")))
        to_verify, n_verify = list_cases(s, cfg, CaseFilters(statuses=("handled",)),
                                         visibility_for(inspector), now=NOW)
        handler = actor_for(s, s.scalar(select(User).where(User.username == "handler_d01")))
        _tasks, n_tasks = list_cases(s, cfg, CaseFilters(statuses=("dispatched", "accepted")),
                                    visibility_for(handler), now=NOW)
        verify_grids = {c.grid_code for c in open_cases if c.status == "handled"}
        departments = {c.department_id for c in open_cases
                       if c.status in ("dispatched", "accepted")}
    assert set(OPEN) <= set(states), states
    assert {"green", "yellow", "red"} <= set(lights), lights
    assert 5 <= waiting <= 15 and all(q["status"] == "reported" for q in queue)
    assert n_verify >= 1 and all(c["grid_code"] in inspector.grid_codes for c in to_verify)
    assert n_tasks >= 1
    assert len(verify_grids) >= 2 and len(departments) >= 2


def _light(case: Case, cfg: Any) -> str | None:
    from cases.clock import light

    used = time_used(case, cfg, NOW)
    return light(used) if used is not None else None


def test_evidence_photos_detections_positions_and_components(history) -> None:
    services = history["services"]
    media: Path = services.settings.media_dir
    with services.session() as s:
        stored = s.scalars(select(Attachment.sha256)).all()
        dets = s.execute(select(Detection.case_id, Detection.snapshot_sha256,
                                Detection.grid_code)).all()
        seen_again = s.scalar(select(func.count()).select_from(Case)
                              .where(Case.source == "camera", Case.seen_count > 1))
        photos = [f["sha256"] for (att,) in s.execute(
            select(CaseEvent.attachments).where(CaseEvent.action.in_(("report", "feedback"))))
            for f in (att or {}).get("files", [])]
        trackers = s.scalar(select(func.count()).select_from(Tracker))
        recent = s.execute(select(Position.tracker_id, func.count(), func.max(Position.ts))
                           .where(Position.ts >= NOW - timedelta(minutes=31))
                           .group_by(Position.tracker_id)).all()
        moved = s.execute(select(Position.tracker_id, Position.geom)
                          .where(Position.ts >= NOW - timedelta(minutes=31))).all()
        alarms = s.execute(select(Component.id, Component.status)
                           .where(Component.status.in_(("alarm", "fault")))).all()
        open_sensor = set(s.scalars(select(Case.component_id).where(
            Case.source == "sensor", Case.status.in_(OPEN))))
    assert len(dets) > 300
    assert sum(1 for d in dets if d.case_id is not None) > 0.8 * len(dets)
    assert all(d.snapshot_sha256 for d in dets) and all(d.grid_code for d in dets)
    assert seen_again > 20  # repeat sightings merged by dedup
    assert set(photos) <= set(stored) and len(photos) > 500
    for sha in {*photos, *(d.snapshot_sha256 for d in dets)}:
        assert (media / sha[:2] / sha[2:4] / f"{sha}.jpg").is_file()
    assert len(recent) == trackers
    assert all(n >= 40 and last > NOW - timedelta(minutes=1) for _, n, last in recent)
    spread: dict[int, set[tuple[float, float]]] = {}
    for tracker_id, geom in moved:
        spread.setdefault(tracker_id, set()).add((round(geom.x, 4), round(geom.y, 4)))
    assert all(len(points) > 3 for points in spread.values())  # they move
    assert {"alarm", "fault"} <= {status for _, status in alarms}
    assert {cid for cid, _ in alarms} <= open_sensor


def test_written_once(history) -> None:
    services = history["services"]
    with services.transaction() as s:
        assert has_history(s)
        again = seed_history(s, services.cases, now=NOW + timedelta(hours=1),
                             media_dir=services.settings.media_dir)
    assert again.skipped
    assert fingerprint(services) == history["fingerprint"]
    with services.session() as s:
        assert s.scalar(select(func.count()).select_from(Case)
                        .where(Case.external_id.startswith(MARK))) > 0


def test_deterministic_and_not_paid_by_plain_fixtures(history, tmp_path) -> None:
    """A second database gets the same history for the same ``now`` and seed; seeding the city
    alone (what test fixtures do) writes no case."""
    if history["services"].engine.dialect.name != "sqlite":
        pytest.skip("compared on SQLite: one extra demo city is enough")
    other = build_services(make_settings(f"sqlite:///{tmp_path / 'again.db'}", tmp_path))
    try:
        prepare_database(other, seed=True)
        with other.session() as s:
            assert s.scalar(select(func.count()).select_from(Case)) == 0
        seed_demo_history(other, now=NOW)
        assert fingerprint(other) == history["fingerprint"]
    finally:
        other.engine.dispose()
