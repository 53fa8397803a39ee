"""Evaluation indicators (评价考核) on real databases (SQLite and PostgreSQL/PostGIS).

A small hand-made month of cases across two districts and two departments, every indicator
checked against numbers counted by hand in the comments; the drill-down returns exactly the
cases behind each number; and tallies of cases run through the case engine agree with a
rebuild from their events.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest
from shapely.geometry import box
from sqlalchemy import select

from cases.clock import deadline
from cases.metrics import INDICATORS, TALLY_FIELDS, CaseTally, percentile
from data.cases import SYSTEM, actor_for, events_of, report_case, run_clock, transition
from data.metrics import indicator_cases, indicators
from data.migrate import upgrade
from data.models import Case, Department, Region, UnitGrid, User

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
GA1 = "449902001001001"  # district A 449902, street 449902001
GA2 = "449902002001001"  # district A 449902, street 449902002
GB = "449903001001001"   # district B 449903
H = 3600


def at(text: str, year: int = 2026) -> datetime:
    """``"03-02 01:20"`` → 2026-03-02 01:20 UTC."""
    return datetime.strptime(f"{year}-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def _places(s) -> dict[str, int]:
    s.add(Region(code="449900", level="city", name="西江市"))
    s.flush()
    for code, name in (("449902", "端江区"), ("449903", "鼎山区")):
        s.add(Region(code=code, level="district", name=name, parent_code="449900"))
    s.flush()
    for grid in (GA1, GA2, GB):
        s.add(Region(code=grid[:9], level="street", name=f"街道{grid[6:9]}-{grid[:6]}",
                     parent_code=grid[:6]))
        s.flush()
        s.add(Region(code=grid[:12], level="community", name=f"社区{grid[:12]}",
                     parent_code=grid[:9]))
        s.flush()
    s.add_all([Department(code="D01", name="市政设施管理处"),
               Department(code="D02", name="环境卫生管理处")])
    s.add_all([User(username="insp_a", display_name="网格员甲", role="inspector"),
               User(username="insp_b", display_name="网格员乙", role="inspector")])
    s.flush()
    ids = {"D01": s.scalar(select(Department.id).where(Department.code == "D01")),
           "D02": s.scalar(select(Department.id).where(Department.code == "D02")),
           "insp_a": s.scalar(select(User.id).where(User.username == "insp_a")),
           "insp_b": s.scalar(select(User.id).where(User.username == "insp_b"))}
    for i, grid in enumerate((GA1, GA2, GB)):
        s.add(UnitGrid(code=grid, community_code=grid[:12], name=f"网格{i + 1}",
                       geom=box(112.4 + i / 100, 23.0, 112.405 + i / 100, 23.005), area_m2=1e4,
                       inspector_id=ids["insp_b" if grid == GB else "insp_a"]))
    s.flush()
    return ids


# The hand-made cases. Period P = [03-01, 04-01) 2026, times UTC.
# Each dict: grid, department, status, the timestamps and facts transitions would keep.
CASES = [
    # A1: the whole loop inside P, on time. Handling 2 h.
    dict(name="A1", grid=GA1, dept="D01", status="closed", reported="03-02 01:00",
         registered="03-02 01:10", dispatched="03-02 01:20", dispatched_on_time=True,
         handle_due="03-03 01:20", handled="03-02 03:20", handled_on_time=True,
         close_due="03-04 01:20", closed="03-02 05:00", closed_on_time=True),
    # A2 (other street): handled late (48 h), closed late, once overdue.
    dict(name="A2", grid=GA2, dept="D01", status="closed", reported="03-05 00:00",
         registered="03-05 00:30", dispatched="03-05 01:00", dispatched_on_time=True,
         handle_due="03-06 01:00", handled="03-07 01:00", handled_on_time=False,
         close_due="03-08 01:00", closed="03-09 01:00", closed_on_time=False, overdue=1),
    # A3: dispatched late, extended once, reworked once; handled (24 h) and closed on time.
    dict(name="A3", grid=GA1, dept="D01", status="closed", reported="03-10 00:00",
         registered="03-10 00:10", dispatched="03-10 00:20", dispatched_on_time=False,
         handle_due="03-12 00:20", handled="03-11 00:20", handled_on_time=True,
         close_due="03-13 00:20", closed="03-12 00:00", closed_on_time=True, rework=1,
         extension=1),
    # A4: declined as invalid. A5: merged into another case (declined as duplicate).
    dict(name="A4", grid=GA1, dept=None, status="declined", reported="03-15 00:00",
         reason="invalid"),
    dict(name="A5", grid=GA1, dept=None, status="declined", reported="03-16 00:00",
         reason="duplicate"),
    # A6: entirely in February: counts nowhere.
    dict(name="A6", grid=GA1, dept="D01", status="closed", reported="02-10 00:00",
         registered="02-10 00:10", dispatched="02-10 00:20", dispatched_on_time=True,
         handle_due="02-11 00:20", handled="02-11 00:00", handled_on_time=True,
         close_due="02-12 00:20", closed="02-12 00:00", closed_on_time=True),
    # A7: reported and dispatched in February, due and handled (13 h, on time) in March,
    # close deadline in March but still open (awaiting verification), once overdue.
    dict(name="A7", grid=GA1, dept="D01", status="handled", reported="02-27 20:00",
         registered="02-27 22:00", dispatched="02-28 23:00", dispatched_on_time=True,
         handle_due="03-02 00:00", handled="03-01 12:00", handled_on_time=True,
         close_due="03-03 00:00", overdue=1),
    # A8: dispatched on the last day of March; handling and closing fall due in April.
    dict(name="A8", grid=GA1, dept="D01", status="dispatched", reported="03-31 10:00",
         registered="03-31 10:10", dispatched="03-31 10:20", dispatched_on_time=True,
         handle_due="04-01 10:20", close_due="04-02 10:20"),
    # B1: the whole loop inside P, on time. Handling 6 h.
    dict(name="B1", grid=GB, dept="D02", status="closed", reported="03-20 02:00",
         registered="03-20 02:05", dispatched="03-20 02:10", dispatched_on_time=True,
         handle_due="03-21 02:10", handled="03-20 08:10", handled_on_time=True,
         close_due="03-22 02:10", closed="03-20 10:00", closed_on_time=True),
    # B2: handled in March (4 h, on time); close deadline and (late) closing in April.
    dict(name="B2", grid=GB, dept="D02", status="closed", reported="03-28 00:00",
         registered="03-28 00:10", dispatched="03-28 00:20", dispatched_on_time=True,
         handle_due="03-29 00:20", handled="03-28 04:20", handled_on_time=True,
         close_due="04-02 00:00", closed="04-03 00:00", closed_on_time=False),
    # B3: reported, never registered, its registration overdue.
    dict(name="B3", grid=GB, dept=None, status="reported", reported="03-25 00:00", overdue=1),
    # B4: overdue in January but closed in February, before P: not overdue in March.
    dict(name="B4", grid=GB, dept="D02", status="closed", reported="01-10 00:00",
         registered="01-10 00:10", dispatched="01-10 00:20", dispatched_on_time=True,
         handle_due="01-11 00:20", handled="01-20 00:00", handled_on_time=False,
         close_due="01-12 00:20", closed="02-20 00:00", closed_on_time=False, overdue=1),
    # B5: voided while overdue: hidden cases are not counted as overdue. Reported in P.
    dict(name="B5", grid=GB, dept=None, status="void", reported="03-06 00:00", overdue=1),
    # C1: no grid (a hotline report without a place): city-wide only.
    dict(name="C1", grid=None, dept=None, status="reported", reported="03-18 00:00"),
]


def _insert_cases(s, ids: dict[str, int]) -> dict[str, int]:
    made = {}
    for i, c in enumerate(CASES):
        t = {k: at(c[k]) if c.get(k) else None
             for k in ("reported", "registered", "dispatched", "handle_due", "handled",
                       "close_due", "closed")}
        grid = c["grid"]
        inspector = None if grid is None else ids["insp_b" if grid == GB else "insp_a"]
        row = Case(code=f"T{i:04d}", source="inspector", category_kind="event",
                   category_code="0102", status=c["status"], title=c["name"], grid_code=grid,
                   department_id=ids[c["dept"]] if c["dept"] else None, inspector_id=inspector,
                   reported_at=t["reported"], registered_at=t["registered"],
                   dispatched_at=t["dispatched"], handle_deadline_at=t["handle_due"],
                   handled_at=t["handled"], close_deadline_at=t["close_due"],
                   closed_at=t["closed"], dispatched_on_time=c.get("dispatched_on_time"),
                   handled_on_time=c.get("handled_on_time"),
                   closed_on_time=c.get("closed_on_time"), rework_count=c.get("rework", 0),
                   extension_count=c.get("extension", 0), overdue_count=c.get("overdue", 0),
                   decline_reason=c.get("reason"), updated_at=t["reported"])
        s.add(row)
        s.flush()
        made[c["name"]] = row.id
    return made


@pytest.fixture
def month(services):
    upgrade(services.engine)
    with services.transaction() as s:
        ids = _places(s)
        made = _insert_cases(s, ids)
    return services, made


def by_key(rows) -> dict[str, dict]:
    return {r["key"]: r for r in rows}


# Counted by hand for P = March 2026:
#
# District A (449902): reported in P: A1 A2 A3 A4 A5 A8 = 6; accepted = 6 − A4 (invalid) = 5;
# declined A4 A5 = 2; registered in P: A1 A2 A3 A8 = 4; dispatched in P: A1 A2 A3 A8 = 4, on
# time A1 A2 A8 = 3; due for handling (deadline or feedback in P): A1 A2 A3 A7 = 4, on time
# A1 A3 A7 = 3; due for closing (close deadline or closing in P): A1 A2 A3 A7 = 4, closed
# A1 A2 A3 = 3, on time A1 A3 = 2, reworked A3 = 1; extended (among dispatched) A3 = 1;
# overdue (open in P, marked overdue) A2 A7 = 2; handled in P: A1 2 h, A2 48 h, A3 24 h,
# A7 13 h = 4 cases, 87 h = 313200 s, mean 21.75 h; p90 rank ceil(0.9 × 4) = 4 → 48 h.
A = CaseTally(reports=6, accepted=5, registered=4, declined=2, dispatched=4,
              dispatched_on_time=3, due_handling=4, handled_on_time=3, due_closing=4, closed=3,
              closed_on_time=2, reworked=1, extended=1, overdue=2, handled=4,
              handling_seconds=313200.0)
# District B (449903): reported in P: B1 B2 B3 B5 = 4 (B4 in January), none declined, all
# accepted; registered B1 B2 = 2; dispatched B1 B2 = 2, both on time; due for handling B1
# (deadline 03-21) and B2 (deadline 03-29) = 2, both on time; due for closing B1 only (B2's
# close deadline and closing are in April) = 1, closed on time; overdue B3 = 1 (B4 closed before
# P, B5 voided); handled B1 6 h + B2 4 h = 36000 s, mean 5 h; p90 rank ceil(1.8) = 2 → 6 h.
B = CaseTally(reports=4, accepted=4, registered=2, declined=0, dispatched=2,
              dispatched_on_time=2, due_handling=2, handled_on_time=2, due_closing=1, closed=1,
              closed_on_time=1, reworked=0, extended=0, overdue=1, handled=2,
              handling_seconds=36000.0)
# City: A + B + C1 (reported, accepted; no grid). Handling times 2 4 6 13 24 48 h: p90 rank
# ceil(5.4) = 6 → 48 h; mean 97 h / 6.
CITY = A + B + CaseTally(reports=1, accepted=1)


def test_every_indicator_per_district_and_city_wide(month) -> None:
    services, _ = month
    with services.session() as s:
        city = indicators(s, None, start=START, end=END, by="city")
        districts = indicators(s, None, start=START, end=END, by="district")
    assert [r["key"] for r in city] == ["city"] and city[0]["name"] == "西江市"
    assert city[0]["tally"] == CITY
    assert [(r["key"], r["name"]) for r in districts] == [("449902", "端江区"),
                                                        ("449903", "鼎山区")]
    a, b = districts[0]["values"], districts[1]["values"]
    assert districts[0]["tally"] == A and districts[1]["tally"] == B
    assert a == pytest.approx({
        "reports": 6, "accepted": 5, "registered": 4,
        "registration_rate": 4 / 5,      # registered ÷ accepted
        "dispatch_rate": 4 / 4,          # dispatched ÷ registered
        "on_time_dispatch_rate": 3 / 4,
        "on_time_handling_rate": 3 / 4,
        "closure_rate": 3 / 4,
        "on_time_closure_rate": 2 / 4,
        "rework_rate": 1 / 4,
        "extension_rate": 1 / 4,
        "overdue": 2,
        "mean_handling_hours": 87 / 4,
        "p90_handling_hours": 48.0,
    })
    assert b == pytest.approx({
        "reports": 4, "accepted": 4, "registered": 2,
        "registration_rate": 2 / 4, "dispatch_rate": 1.0, "on_time_dispatch_rate": 1.0,
        "on_time_handling_rate": 1.0, "closure_rate": 1.0, "on_time_closure_rate": 1.0,
        "rework_rate": 0.0, "extension_rate": 0.0, "overdue": 1,
        "mean_handling_hours": 5.0, "p90_handling_hours": 6.0,
    })
    c = city[0]["values"]
    assert c == pytest.approx({
        "reports": 11, "accepted": 10, "registered": 6,
        "registration_rate": 6 / 10, "dispatch_rate": 6 / 6, "on_time_dispatch_rate": 5 / 6,
        "on_time_handling_rate": 5 / 6, "closure_rate": 4 / 5, "on_time_closure_rate": 3 / 5,
        "rework_rate": 1 / 5, "extension_rate": 1 / 6, "overdue": 3,
        "mean_handling_hours": 97 / 6, "p90_handling_hours": 48.0,
    })
    # The same nearest rank as the domain's percentile over the hand-listed durations.
    assert c["p90_handling_hours"] == percentile([2, 4, 6, 13, 24, 48], 90)


def test_departments_inspectors_streets_and_grids(month) -> None:
    services, _ = month
    with services.session() as s:
        rows = {by: by_key(indicators(s, None, start=START, end=END, by=by))
                for by in ("department", "inspector", "street", "community", "grid")}
    # Departments: only dispatched cases carry one. D01 = A1 A2 A3 A7 A8 (A6 in February):
    # like district A without the undispatched A4 A5 (reports 6 − 2, accepted 5 − 1, no
    # declined). D02 = B1 B2 (B3 B5 never dispatched, B4 in January).
    assert list(rows["department"]) == ["D01", "D02"]
    assert rows["department"]["D01"]["name"] == "市政设施管理处"
    assert rows["department"]["D01"]["tally"] == CaseTally(**{
        **{f.name: getattr(A, f.name) for f in fields(A)}, "reports": 4, "accepted": 4,
        "declined": 0})
    assert rows["department"]["D02"]["tally"] == CaseTally(
        reports=2, accepted=2, registered=2, dispatched=2, dispatched_on_time=2,
        due_handling=2, handled_on_time=2, due_closing=1, closed=1, closed_on_time=1,
        handled=2, handling_seconds=36000.0)
    # Inspectors: every case in A's grids is insp_a's, in B's insp_b's; C1 has none.
    assert {k: (r["name"], r["tally"]) for k, r in rows["inspector"].items()} == {
        "insp_a": ("网格员甲", A), "insp_b": ("网格员乙", B)}
    # Streets: 449902002 holds only A2 (reported, registered, dispatched on time, due and
    # handled late in 48 h, closed late, overdue); 449902001 the rest of A.
    assert list(rows["street"]) == ["449902001", "449902002", "449903001"]
    a2 = CaseTally(reports=1, accepted=1, registered=1, dispatched=1, dispatched_on_time=1,
                   due_handling=1, due_closing=1, closed=1, overdue=1, handled=1,
                   handling_seconds=48.0 * H)
    assert rows["street"]["449902002"]["tally"] == a2
    assert rows["street"]["449902002"]["values"]["p90_handling_hours"] == 48.0
    assert rows["street"]["449902001"]["tally"] + a2 == A
    # A1 A3 A7 handled in 2, 24, 13 h: p90 rank ceil(2.7) = 3 → 24 h.
    assert rows["street"]["449902001"]["values"]["p90_handling_hours"] == 24.0
    assert rows["street"]["449902001"]["name"] == "街道001-449902"
    assert list(rows["community"]) == [GA1[:12], GA2[:12], GB[:12]]
    assert rows["grid"][GB]["tally"] == B and rows["grid"][GB]["name"] == "网格3"
    assert rows["grid"][GA2]["tally"] == a2


def test_drill_down_returns_the_cases_behind_each_number(month) -> None:
    services, made = month
    name = {v: k for k, v in made.items()}

    def cases(s, by: str, key: str, indicator: str) -> list[str]:
        stmt = indicator_cases(s, start=START, end=END, by=by, key=key, indicator=indicator)
        return sorted(name[i] for i in s.scalars(stmt))

    with services.session() as s:
        assert cases(s, "district", "449902", "on_time_handling_rate") == ["A1", "A3", "A7"]
        assert cases(s, "district", "449902", "due_handling") == ["A1", "A2", "A3", "A7"]
        assert cases(s, "city", "city", "closure_rate") == ["A1", "A2", "A3", "B1"]
        assert cases(s, "city", "city", "accepted") == ["A1", "A2", "A3", "A5", "A8", "B1",
                                                        "B2", "B3", "B5", "C1"]
        assert cases(s, "department", "D01", "overdue") == ["A2", "A7"]
        assert cases(s, "inspector", "insp_b", "p90_handling_hours") == ["B1", "B2"]
        assert cases(s, "street", "449902001", "rework_rate") == ["A3"]
        # Every numerator of every group, on every grouping: the count is the number.
        for by in ("city", "district", "street", "community", "grid", "department",
                   "inspector"):
            for row in indicators(s, None, start=START, end=END, by=by):
                for ind in INDICATORS:
                    field = ind.numerator or "handled"
                    field = "handled" if field == "handling_seconds" else field
                    ids = s.scalars(indicator_cases(s, start=START, end=END, by=by,
                                                    key=row["key"], indicator=ind.key)).all()
                    assert len(ids) == getattr(row["tally"], field), (by, row["key"], ind.key)
        with pytest.raises(ValueError, match="unknown indicator"):
            indicator_cases(s, start=START, end=END, by="city", key="city", indicator="nope")
        with pytest.raises(ValueError, match="6 digits"):
            indicator_cases(s, start=START, end=END, by="district", key="4499",
                            indicator="reports")
        with pytest.raises(ValueError, match="group indicators by"):
            indicators(s, None, start=START, end=END, by="shop")
        with pytest.raises(ValueError, match="empty"):
            indicators(s, None, start=END, end=START, by="city")


def test_a_later_period_counts_only_cases_still_open_and_overdue(month) -> None:
    services, _ = month
    june, july = at("06-01 00:00"), at("07-01 00:00")
    with services.session() as s:
        (city,) = indicators(s, None, start=june, end=july, by="city")
        districts = indicators(s, None, start=june, end=july, by="district")
    # Nothing happens in June, but A7 (awaiting verification) and B3 (never registered) are
    # still open there, overdue; A2 and B4 were closed, B5 voided.
    assert city["tally"] == CaseTally(overdue=2)
    assert [(r["key"], r["tally"]) for r in districts] == [("449902", CaseTally(overdue=1)),
                                                          ("449903", CaseTally(overdue=1))]
    assert city["values"]["closure_rate"] is None
    assert city["values"]["p90_handling_hours"] is None
    assert city["values"]["mean_handling_hours"] is None
    with services.session() as s:
        (empty,) = indicators(s, None, start=at("06-01 00:00", 2020),
                              end=at("07-01 00:00", 2020), by="city")
    assert empty["tally"] == CaseTally()


@pytest.mark.parametrize("n", [1, 9, 10, 11, 20, 21])
def test_p90_is_the_nearest_rank(services, n: int) -> None:
    """n cases handled in 1, 2, …, n hours (inserted shuffled, with two in another grid):
    the database's 90th percentile is the domain's nearest rank, on both databases."""
    upgrade(services.engine)
    with services.transaction() as s:
        ids = _places(s)
        hours = [*range(1, n + 1)]
        order = sorted(hours, key=lambda h: (h * 7919) % 31)
        for i, h in enumerate([*order, 50, 70]):
            grid = GA1 if i < n else GB
            d = at("03-10 00:00") + timedelta(minutes=i)
            s.add(Case(code=f"P{i:04d}", source="camera", category_kind="event",
                       category_code="0102", status="handled", title="p90", grid_code=grid,
                       department_id=ids["D01"], reported_at=d, registered_at=d,
                       dispatched_at=d, handled_at=d + timedelta(hours=h, microseconds=250),
                       updated_at=d))
    with services.session() as s:
        rows = by_key(indicators(s, None, start=START, end=END, by="district"))
    expected = percentile([h * H + 0.00025 for h in hours], 90) / H
    assert rows["449902"]["values"]["p90_handling_hours"] == pytest.approx(expected, abs=1e-12)
    assert rows["449903"]["values"]["p90_handling_hours"] == pytest.approx(70 + 0.00025 / H)


# -- a rebuild from events agrees --------------------------------------------------------------
# A Tuesday in Asia/Shanghai, 10:00 local, clear of holidays; a year no other test uses.
T0 = datetime(2031, 3, 4, 2, 0, tzinfo=UTC)


def _replay(events, cfg, case: Case) -> dict:
    """A case's facts for evaluation, rebuilt from its events alone and the configuration
    (deadlines recomputed by the clock), without reading the facts the transitions kept."""
    category = cfg.category(case.category_kind, case.category_code)

    def due(start: datetime, step: str) -> datetime:
        return deadline(start, cfg.limit(category, case.urgency, step), cfg.calendar)

    f = dict(reported_at=None, registered_at=None, dispatched_at=None, handled_at=None,
             closed_at=None, handle_due=None, close_due=None, step_due=None,
             dispatched_on_time=None, handled_on_time=None, closed_on_time=None, rework=0,
             extension=0, overdue=0, reason=None, status=None, step=None)
    for e in events:
        f["status"] = e.to_state
        if e.action == "report":
            f["reported_at"], f["step"], f["step_due"] = e.at, "register", due(e.at, "register")
        elif e.action == "register":
            f["registered_at"], f["step"] = e.at, "dispatch"
            f["step_due"] = due(e.at, "dispatch")
            f["close_due"] = due(due(f["step_due"], "handle"), "verify")
        elif e.action == "dispatch":
            f["dispatched_at"], f["dispatched_on_time"] = e.at, e.at <= f["step_due"]
        elif e.action == "feedback":
            f["handled_at"], f["handled_on_time"] = e.at, e.at <= f["handle_due"]
        elif e.action == "close":
            f["closed_at"], f["closed_on_time"] = e.at, e.at <= f["close_due"]
        elif e.action == "reopen":
            f["closed_at"] = f["closed_on_time"] = None
        elif e.action in ("decline", "merge"):
            f["reason"] = e.data["reason"]
        elif e.action == "mark_overdue":
            f["overdue"] += 1
        elif e.action == "grant_extension":
            f["extension"] += 1
            later = cfg.calendar.add_working(f["step_due"], e.data["hours"] * 3600)
            delta = later - f["step_due"]
            f["step_due"], f["close_due"] = later, f["close_due"] + delta
            if f["step"] == "handle":
                f["handle_due"] += delta
        if e.action in ("verify_fail", "reopen"):
            f["rework"] += 1
        if e.action in ("dispatch", "verify_fail", "reopen"):  # the handling step starts
            f["step"], f["step_due"] = "handle", due(e.at, "handle")
            f["handle_due"] = f["step_due"]
            if f["close_due"] < f["handle_due"]:
                f["close_due"] = due(f["handle_due"], "verify")
        elif e.action == "feedback":
            f["step"] = "verify"
    return f


def _tally_by_hand(facts: list[dict], start: datetime, end: datetime) -> CaseTally:
    """The period rules of docs/evaluation.md, applied in Python to rebuilt facts."""
    def within(t):
        return t is not None and start <= t < end

    counts = dict.fromkeys(TALLY_FIELDS, 0)
    for f in facts:
        reported, dispatched = within(f["reported_at"]), within(f["dispatched_at"])
        due_handling = f["dispatched_at"] is not None and (within(f["handle_due"])
                                                          or within(f["handled_at"]))
        due_closing = f["registered_at"] is not None and (within(f["close_due"])
                                                         or within(f["closed_at"]))
        open_in_period = (f["reported_at"] < end and f["status"] not in ("declined", "void")
                          and (f["closed_at"] is None or f["closed_at"] >= start))
        handled = f["dispatched_at"] is not None and within(f["handled_at"])
        for field, yes in (
                ("reports", reported), ("accepted", reported and f["reason"] != "invalid"),
                ("registered", within(f["registered_at"])),
                ("declined", reported and f["status"] == "declined"),
                ("dispatched", dispatched),
                ("dispatched_on_time", dispatched and f["dispatched_on_time"]),
                ("due_handling", due_handling),
                ("handled_on_time", due_handling and f["handled_on_time"]),
                ("due_closing", due_closing),
                ("closed", due_closing and f["closed_at"] is not None and f["closed_at"] < end),
                ("closed_on_time", due_closing and f["closed_on_time"]),
                ("reworked", due_closing and f["rework"] > 0),
                ("extended", dispatched and f["extension"] > 0),
                ("overdue", open_in_period and f["overdue"] > 0),
                ("handled", handled)):
            counts[field] += bool(yes)
        if handled:
            counts["handling_seconds"] += (f["handled_at"] - f["dispatched_at"]).total_seconds()
    return CaseTally(**counts)


def _run_cases_through_the_engine(services, cfg) -> list[int]:
    """Cases through report_case / transition / run_clock: on time, late, reworked,
    extended, declined as invalid, merged, left open and overdue."""
    made = []
    photo = {"sha256": "b" * 64, "mime": "image/jpeg"}
    with services.transaction() as s:
        grid = s.scalar(select(UnitGrid).where(UnitGrid.inspector_id.is_not(None),
                                               UnitGrid.code.like("449902%"))
                        .order_by(UnitGrid.code).limit(1))
        inspector = actor_for(s, s.get(User, grid.inspector_id))
        command = actor_for(s, s.scalar(select(User).where(User.username == "command01")))

        def handler(case: Case):
            return actor_for(s, s.scalar(select(User).where(
                User.role == "handler", User.department_id == case.department_id)))

        def auto(minutes: int, code: str = "0102") -> Case:
            case = report_case(s, cfg, kind="event", code=code, actor=SYSTEM,
                               source="camera", grid_code=grid.code, auto=True,
                               now=T0 + timedelta(minutes=minutes))
            made.append(case.id)
            return case

        # 1: on time all the way.
        c = auto(0)
        transition(s, cfg, c, "accept", handler(c), now=T0 + timedelta(minutes=10))
        transition(s, cfg, c, "feedback", handler(c), note="done", attachments=[photo],
                   now=T0 + timedelta(minutes=40))
        transition(s, cfg, c, "verify_pass", inspector, now=T0 + timedelta(minutes=50))
        transition(s, cfg, c, "close", command, now=T0 + timedelta(minutes=55))
        # 2: by hand; handled a week late, reworked, closed late.
        c = report_case(s, cfg, kind="event", code="0102", actor=inspector,
                        source="inspector", grid_code=grid.code, now=T0 + timedelta(hours=1))
        made.append(c.id)
        d03 = s.scalar(select(Department.id).where(Department.code == "D03"))
        transition(s, cfg, c, "register", command, now=T0 + timedelta(hours=1, minutes=5))
        transition(s, cfg, c, "dispatch", command, data={"department_id": d03},
                   now=T0 + timedelta(hours=1, minutes=10))
        transition(s, cfg, c, "accept", handler(c), now=T0 + timedelta(hours=2))
        transition(s, cfg, c, "feedback", handler(c), note="done", attachments=[photo],
                   now=T0 + timedelta(days=7))
        transition(s, cfg, c, "verify_fail", inspector, reason="still there",
                   now=T0 + timedelta(days=7, hours=1))
        transition(s, cfg, c, "feedback", handler(c), note="really done", attachments=[photo],
                   now=T0 + timedelta(days=8))
        transition(s, cfg, c, "verify_pass", inspector, now=T0 + timedelta(days=8, hours=1))
        transition(s, cfg, c, "close", command, now=T0 + timedelta(days=9))
        # 3: extended by 16 working hours, then handled in time.
        c = auto(120, "0101")
        transition(s, cfg, c, "accept", handler(c), now=T0 + timedelta(hours=2, minutes=5))
        transition(s, cfg, c, "request_extension", handler(c), reason="parts",
                   data={"hours": 16}, now=T0 + timedelta(hours=2, minutes=10))
        transition(s, cfg, c, "grant_extension", command, data={"hours": 16},
                   now=T0 + timedelta(hours=2, minutes=20))
        transition(s, cfg, c, "feedback", handler(c), note="fixed", attachments=[photo],
                   now=T0 + timedelta(days=1))
        # 4: declined as invalid; 5: merged into case 3 (still open).
        for reason_case in ("decline", "merge"):
            r = report_case(s, cfg, kind="event", code="0102", actor=inspector,
                            source="inspector", grid_code=grid.code,
                            now=T0 + timedelta(hours=3))
            made.append(r.id)
            if reason_case == "decline":
                transition(s, cfg, r, "decline", command, reason="invalid",
                           now=T0 + timedelta(hours=3, minutes=5))
            else:
                transition(s, cfg, r, "merge", command, data={"target_case_id": c.id},
                           now=T0 + timedelta(hours=3, minutes=5))
        # 6: auto, never accepted: goes overdue. 7: reported, never registered: overdue.
        auto(240, "0503")
        r = report_case(s, cfg, kind="event", code="0102", actor=inspector,
                        source="inspector", grid_code=grid.code, now=T0 + timedelta(hours=5))
        made.append(r.id)
    with services.transaction() as s:
        run_clock(s, cfg, T0 + timedelta(days=3))
    with services.transaction() as s:
        # 8: reported later, dispatched in the narrow window's last days.
        c = report_case(s, cfg, kind="event", code="0102", actor=SYSTEM, source="camera",
                        grid_code=grid.code, auto=True, now=T0 + timedelta(days=5))
        made.append(c.id)
    return made


def test_tallies_agree_with_a_rebuild_from_events(seeded_services) -> None:
    services, cfg = seeded_services, seeded_services.cases
    made = _run_cases_through_the_engine(services, cfg)
    with services.session() as s:
        facts = [_replay(events_of(s, i), cfg, s.get(Case, i)) for i in made]
        assert sum(f["overdue"] for f in facts) >= 2 and any(f["extension"] for f in facts)
        assert any(f["rework"] for f in facts) and any(f["reason"] == "invalid" for f in facts)
        assert any(f["handled_on_time"] is False for f in facts)
        for start, end in ((T0 - timedelta(days=1), T0 + timedelta(days=30)),
                           (T0 + timedelta(hours=2), T0 + timedelta(days=6)),
                           (T0 + timedelta(days=1), T0 + timedelta(days=8, hours=12))):
            expected = _tally_by_hand(facts, start, end)
            (city,) = indicators(s, cfg, start=start, end=end, by="city")
            assert city["tally"] == expected, (start, end)
            (district,) = indicators(s, cfg, start=start, end=end, by="district")
            assert district["key"] == "449902" and district["tally"] == expected
