"""The case scheduler on both databases: a silent device opens one device-fault case, a
restarted scheduler adds evidence instead of a second case, a device heard again is evidence;
two schedulers never record an overdue mark twice."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from data.cases import SYSTEM, events_of, report_case
from data.models import Case, Device, UnitGrid
from data.scheduler import Scheduler
from data.types import utcnow

ROOT = Path(__file__).resolve().parents[2]


def test_a_silent_device_opens_one_device_fault_case(seeded_services) -> None:
    now = utcnow()
    with seeded_services.transaction() as s:
        device = s.scalars(select(Device).where(Device.kind == "sensor",
                                                Device.component_id.is_not(None))
                           .order_by(Device.id).limit(1)).one()
        device_id, component_id = device.id, device.component_id
        # Every other device was just heard; this one has been silent for 4 report periods.
        s.execute(update(Device).values(last_seen_at=now))
        s.execute(update(Device).where(Device.id == device_id)
                  .values(last_seen_at=now - timedelta(hours=4), period_s=3600))
    first = Scheduler(seeded_services)
    assert first.silence_pass(now) == 1
    assert first.silence_pass(now + timedelta(minutes=1)) == 0  # fires once per silence
    with seeded_services.session() as s:
        case = s.scalars(select(Case).where(Case.component_id == component_id,
                                            Case.rule_key == "device.no_data")).one()
        assert (case.category_kind, case.category_code) == ("event", "0602")
        assert case.status == "dispatched" and case.source == "sensor"
        case_id = case.id
    restarted = Scheduler(seeded_services)  # its memory is empty: the device fires again
    assert restarted.silence_pass(now + timedelta(minutes=2)) == 1
    with seeded_services.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Case).where(
            Case.component_id == component_id, Case.rule_key == "device.no_data")) == 1
        assert s.get(Case, case_id).seen_count == 2
        s.execute(update(Device).where(Device.id == device_id)
                  .values(last_seen_at=now + timedelta(minutes=3)))
    assert restarted.silence_pass(now + timedelta(minutes=4)) == 1
    with seeded_services.session() as s:
        # The repeat two minutes on counts (seen_count) without a timeline entry of its own.
        assert [e.action for e in events_of(s, case_id)] == ["report", "register", "dispatch",
                                                             "back_to_normal"]


def test_two_schedulers_mark_overdue_once(seeded_services) -> None:
    cfg = seeded_services.cases
    t0 = utcnow() - timedelta(days=30)
    with seeded_services.transaction() as s:
        grid = s.scalars(select(UnitGrid.code).order_by(UnitGrid.code).limit(1)).one()
        case = report_case(s, cfg, kind="event", code="0504", actor=SYSTEM, source="camera",
                           grid_code=grid, auto=True, now=t0)
        case_id = case.id
    a, b = Scheduler(seeded_services), Scheduler(seeded_services)
    a.clock_pass()
    b.clock_pass()
    with seeded_services.session() as s:
        actions = [e.action for e in events_of(s, case_id)]
        assert actions.count("mark_overdue") == 1 and actions.count("escalate") == 1


def test_scheduler_command_runs_one_pass(tmp_path) -> None:
    import os
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEGRID_")}
    env.update(ONEGRID_DB_URL=f"sqlite:///{tmp_path / 'og.db'}",
               ONEGRID_VAR_DIR=str(tmp_path / "var"), ONEGRID_SEED_DEMO="never")
    out = subprocess.run([sys.executable, str(ROOT / "app.py"), "scheduler", "--once"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "clock: 0 warned, 0 overdue; 0 device outcome(s)" in out.stdout
