"""Evaluation indicators (评价考核) over a quarter of cases: one month, every grouping.

    python bench/metrics.py [--cases 200000] [--events 1000000] [--only sqlite|postgresql]

Seeds the demo city (``prepare_database(seed=True)``) into a temporary SQLite file and a
temporary PostgreSQL schema (``ONEGRID_TEST_PG_URL``, as the tests use), bulk-inserts
``--cases`` cases and ``--events`` case events with Core ``executemany``, then times
``data.metrics.indicators`` for March 2026 grouped by city, district, street, community, grid,
department and inspector, and prints the seconds (first run and best of three; target ≤ 1 s).

The cases are spread evenly over 2026-01-01 … 2026-04-01 (UTC) in the grids of the demo city's
three districts: about 20 % declined (half as invalid), the rest registered within an hour,
dispatched to a department within an hour and a half, handled after a log-normal time (median
six hours, a tenth of them late), a tenth reworked, one in twenty extended, verified and closed
within a working day; cases reported near the end of the quarter are still open. Each case's
events follow its life (report, register, dispatch, accept, feedback, verify, close, extension,
overdue marks); to hold the table at ``--events`` rows, a random share of the events after
each report is left out (or notes added). The indicators read only ``cases``: the events are
the table's realistic bulk, not an input.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pgschema import temporary_schema  # noqa: E402

from data.metrics import BY, indicators  # noqa: E402
from data.models import Case, CaseEvent, Department, UnitGrid  # noqa: E402
from services import build_services, prepare_database  # noqa: E402
from settings import Settings  # noqa: E402

Q_START = datetime(2026, 1, 1, tzinfo=UTC)
Q_END = datetime(2026, 4, 1, tzinfo=UTC)
M_START, M_END = datetime(2026, 3, 1, tzinfo=UTC), Q_END
CATEGORIES = ("0102", "0105", "0101", "0503", "0601")
BATCH = 20_000


def _event(case_id: int, action: str, at: datetime, from_state: str | None, to_state: str,
           role: str) -> dict[str, Any]:
    return dict(case_id=case_id, seq=0, action=action, from_state=from_state,
                to_state=to_state, actor_role=role, at=at)


def make_cases(n: int, grids: list[tuple[str, int | None]], departments: list[int],
               seed: int = 11) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``n`` case rows (ids 1…n) and their life's events (``seq`` not yet numbered)."""
    rng = random.Random(seed)
    span = (Q_END - Q_START).total_seconds()
    cases, events = [], []
    for i in range(1, n + 1):
        reported = Q_START + timedelta(seconds=rng.random() * span)
        grid, inspector = grids[rng.randrange(len(grids))]
        row: dict[str, Any] = dict(
            id=i, code=f"B{i:09d}", source=rng.choice(("inspector", "camera", "sensor",
                                                       "citizen")),
            category_kind="event", category_code=rng.choice(CATEGORIES), status="reported",
            urgency="normal", title="bench", grid_code=grid, inspector_id=inspector,
            seen_count=1, rework_count=0, extension_count=0, overdue_count=0,
            escalation_level=0, supervised=False, auto=False, reported_at=reported,
            updated_at=reported)
        ev = [_event(i, "report", reported, None, "reported", "inspector")]
        cases.append(row)
        events.append(ev)
        if rng.random() < 0.2:
            reason = "invalid" if rng.random() < 0.5 else rng.choice(("duplicate",
                                                                       "not_our_duty"))
            at = reported + timedelta(minutes=rng.uniform(5, 90))
            row.update(status="declined", decline_reason=reason, updated_at=at)
            ev.append(_event(i, "decline", at, "reported", "declined", "command"))
            continue
        registered = reported + timedelta(minutes=rng.uniform(1, 70))
        if registered >= Q_END:
            continue
        dispatch_due = registered + timedelta(hours=1)
        row.update(status="registered", registered_at=registered,
                   dispatch_deadline_at=dispatch_due,
                   close_deadline_at=dispatch_due + timedelta(hours=32))
        ev.append(_event(i, "register", registered, "reported", "registered", "command"))
        dispatched = registered + timedelta(minutes=rng.uniform(1, 90))
        if dispatched >= Q_END:
            continue
        handle_due = dispatched + timedelta(hours=24)
        row.update(status="dispatched", dispatched_at=dispatched,
                   dispatched_on_time=dispatched <= dispatch_due,
                   department_id=rng.choice(departments), handle_deadline_at=handle_due,
                   close_deadline_at=max(row["close_deadline_at"],
                                         handle_due + timedelta(hours=8)))
        ev.append(_event(i, "dispatch", dispatched, "registered", "dispatched", "command"))
        if rng.random() < 0.05:
            row["extension_count"] = 1
            row["handle_deadline_at"] = handle_due = handle_due + timedelta(hours=16)
            row["close_deadline_at"] += timedelta(hours=16)
            ev.append(_event(i, "grant_extension", dispatched + timedelta(hours=2),
                             "dispatched", "dispatched", "command"))
        accepted = dispatched + timedelta(minutes=rng.uniform(2, 60))
        if accepted >= Q_END:
            continue
        row["status"] = "accepted"
        ev.append(_event(i, "accept", accepted, "dispatched", "accepted", "handler"))
        handled = dispatched + timedelta(hours=min(rng.lognormvariate(math.log(6), 1.0), 400))
        if handled > handle_due:
            row["overdue_count"] = 1
            ev.append(_event(i, "mark_overdue", handle_due + timedelta(minutes=1),
                             "accepted", "accepted", "system"))
        if handled >= Q_END:
            continue
        row.update(status="handled", handled_at=handled, handled_on_time=handled <= handle_due)
        ev.append(_event(i, "feedback", handled, "accepted", "handled", "handler"))
        if rng.random() < 0.1:
            row["rework_count"] = 1
            ev.append(_event(i, "verify_fail", handled + timedelta(hours=1), "handled",
                             "accepted", "inspector"))
            handled += timedelta(hours=rng.uniform(2, 12))
            row.update(handled_at=handled, handled_on_time=handled <= handle_due)
            ev.append(_event(i, "feedback", handled, "accepted", "handled", "handler"))
        closed = handled + timedelta(hours=rng.uniform(0.5, 9))
        if closed >= Q_END:
            continue
        ev.append(_event(i, "verify_pass", closed - timedelta(minutes=20), "handled",
                         "verified", "inspector"))
        ev.append(_event(i, "close", closed, "verified", "closed", "command"))
        row.update(status="closed", closed_at=closed, updated_at=closed,
                   closed_on_time=closed <= row["close_deadline_at"])
    # executemany needs the same columns in every row.
    blank = dict.fromkeys(("registered_at", "dispatched_at", "handled_at", "closed_at",
                           "department_id", "decline_reason", "dispatch_deadline_at",
                           "handle_deadline_at", "close_deadline_at", "dispatched_on_time",
                           "handled_on_time", "closed_on_time"))
    return [{**blank, **row} for row in cases], events


def fit_events(events: list[list[dict[str, Any]]], target: int,
               seed: int = 13) -> list[dict[str, Any]]:
    """Exactly ``target`` events (at least each case's report): drop a random share of the
    later events, or add notes; number ``seq`` per case."""
    rng = random.Random(seed)
    natural = sum(len(ev) for ev in events)
    later = natural - len(events)
    keep = 1.0 if natural <= target else max(target - len(events), 0) / max(later, 1)
    out: list[dict[str, Any]] = []
    for ev in events:
        kept = [ev[0], *(e for e in ev[1:] if rng.random() < keep)]
        out.extend(kept)
    while len(out) > target and len(out) > len(events):
        out.pop()  # trailing rounding: the last case's later events
    pad = target - len(out)
    for k in range(pad):
        ev = events[k % len(events)]
        note = dict(ev[-1], action="note", actor_role="command")
        note["from_state"] = note["to_state"]
        out.append(note)
    seq: dict[int, int] = {}
    for e in sorted(out, key=lambda e: (e["case_id"], e["at"])):
        seq[e["case_id"]] = e["seq"] = seq.get(e["case_id"], 0) + 1
    return out


def _settings(url: str, tmp: Path) -> Settings:
    return Settings(db_url=url, var_dir=tmp / "var", media_dir=tmp / "media",
                    secret_key="bench", seed_demo="never")


def load(url: str, tmp: Path, n_cases: int, n_events: int) -> Any:
    services = build_services(_settings(url, tmp))
    prepare_database(services, seed=True)
    with services.session() as s:
        grids = [(c, i) for c, i in s.execute(
            select(UnitGrid.code, UnitGrid.inspector_id).where(
                UnitGrid.code.like("4499%")).order_by(UnitGrid.code))]
        departments = list(s.scalars(select(Department.id).order_by(Department.id)))
    t = time.perf_counter()
    cases, events = make_cases(n_cases, grids, departments)
    rows = fit_events(events, n_events)
    with services.engine.begin() as conn:
        for i in range(0, len(cases), BATCH):
            conn.execute(insert(Case.__table__), cases[i:i + BATCH])
        for i in range(0, len(rows), BATCH):
            conn.execute(insert(CaseEvent.__table__), rows[i:i + BATCH])
    with services.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    print(f"  {url.split(':')[0]}: {len(cases):,} cases, {len(rows):,} events loaded in "
          f"{time.perf_counter() - t:.1f} s", flush=True)
    return services


def time_groupings(services: Any, repeat: int = 3) -> dict[str, tuple[float, float, int]]:
    """by → (first run s, best of ``repeat`` s, groups)."""
    out = {}
    for by in BY:
        runs = []
        for _ in range(repeat):
            with services.session() as s:
                t = time.perf_counter()
                rows = indicators(s, services.cases, start=M_START, end=M_END, by=by)
                runs.append(time.perf_counter() - t)
        out[by] = (runs[0], min(runs), len(rows))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200_000, help="cases to generate")
    parser.add_argument("--events", type=int, default=None,
                        help="case events to generate (default: 5 per case, 1,000,000 for "
                        "the default 200,000 cases)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"),
                        help="run one database only")
    args = parser.parse_args(argv)
    n_events = args.events if args.events is not None else 5 * args.cases
    tmp = Path(tempfile.mkdtemp(prefix="onegrid-bench-metrics-"))
    results: dict[str, dict[str, tuple[float, float, int]]] = {}
    print(f"indicators for {M_START:%Y-%m} over {args.cases:,} cases in "
          f"{Q_START:%Y-%m}…{Q_END - timedelta(days=1):%Y-%m}")
    if args.only in (None, "sqlite"):
        services = load(f"sqlite:///{tmp / 'metrics.db'}", tmp, args.cases, n_events)
        try:
            results["sqlite"] = time_groupings(services)
        finally:
            services.engine.dispose()
    if args.only in (None, "postgresql"):
        with temporary_schema() as url:
            services = load(url, tmp, args.cases, n_events)
            try:
                results["postgresql"] = time_groupings(services)
            finally:
                services.engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    dbs = list(results)
    print()
    print(f"{'by':<12}" + "".join(f"{db + ' first':>18}{db + ' best':>17}{'groups':>8}"
                                  for db in dbs))
    missed = []
    for by in BY:
        line = f"{by:<12}"
        for db in dbs:
            first, best, groups = results[db][by]
            line += f"{first:>18.3f}{best:>17.3f}{groups:>8}"
            if first > 1.0:
                missed.append(f"{db}/{by}")
        print(line)
    print("\ntarget ≤ 1 s each: " + ("met" if not missed else "missed: " + ", ".join(missed)))
    return 0 if not missed else 1


if __name__ == "__main__":
    raise SystemExit(main())
