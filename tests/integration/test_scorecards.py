"""The scorecards' read models (data/scorecards.py, data.metrics.indicator_series) on SQLite and
PostgreSQL, over the hand-made cases of tests/integration/test_metrics.py (January to April
2026, counted by hand there): the month-on-month series equals the month's indicators for
every indicator and grouping, the drill-down lists exactly the cases behind a number, and the
cached rows are reused until asked to be fresh."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from cases.metrics import INDICATORS, CaseTally, compute
from data.metrics import group_filter, indicator_cases, indicator_series, indicators
from data.migrate import upgrade
from data.models import Case
from data.scorecards import cached_rows, cases_behind, score_rows, scorecard, trend
from reports.scorecard import Period, recent_months
from tests.integration.test_metrics import GA1, GB, _insert_cases, _places

MONTHS = recent_months(date(2026, 4, 1), 5)  # 2025-12 … 2026-04
GROUPS = [("city", "city"), ("district", GA1[:6]), ("district", GB[:6]),
          ("street", GA1[:9]), ("grid", GB), ("department", "D01"), ("department", "D02"),
          ("inspector", "insp_a"), ("inspector", "insp_b")]


@pytest.fixture
def month(services):
    upgrade(services.engine)
    with services.transaction() as s:
        made = _insert_cases(s, _places(s))
    return services, made


def _value(session, period: Period, by: str, key: str, indicator: str) -> float | None:
    start, end = period.bounds(UTC)
    rows = {r["key"]: r for r in indicators(session, None, start=start, end=end, by=by)}
    # A group with nothing in the period is left out of indicators(): all its counts are 0.
    return (rows[key]["values"] if key in rows else compute(CaseTally()))[indicator]


def test_series_equals_each_month_indicators(month) -> None:
    services, _ = month
    periods = [p.bounds(UTC) for p in MONTHS]
    checked = 0
    with services.session() as s:
        for by, key in GROUPS:
            for ind in INDICATORS:
                series = indicator_series(s, periods=periods, by=by, key=key,
                                          indicator=ind.key)
                expected = [_value(s, p, by, key, ind.key) for p in MONTHS]
                assert series == pytest.approx(expected), (by, key, ind.key)
                checked += sum(v is not None for v in expected)
    assert checked > 100, "the hand-made months should give many values to compare"


def test_series_of_march_matches_the_numbers_counted_by_hand(month) -> None:
    services, _ = month
    periods = [p.bounds(UTC) for p in MONTHS]
    with services.session() as s:
        reports = indicator_series(s, periods=periods, by="district", key=GA1[:6],
                                   indicator="reports")
        p90 = indicator_series(s, periods=periods, by="district", key=GA1[:6],
                               indicator="p90_handling_hours")
        overdue = indicator_series(s, periods=periods, by="city", key="city",
                                   indicator="overdue")
    # District A: A6 and A7 in February; A1 A2 A3 A4 A5 A8 in March (test_metrics' tally A).
    assert reports == [0, 0, 2, 6, 0]
    # March: handling times 2 13 24 48 h → nearest rank 4 of 4 = 48 h; February: A6 (24 h
    # 40 min); none in other months.
    assert p90[3] == pytest.approx(48.0)
    assert p90[2] == pytest.approx(23 + 40 / 60) and p90[0] is None and p90[4] is None
    # Overdue and open: B4 in January (closed 02-20, so also in February with A7), March
    # A2 A7 B3; April: A7 and B3 (both still open).
    assert overdue == [0, 1, 2, 3, 2]


def test_series_refuses_what_it_cannot_answer(month) -> None:
    services, _ = month
    march, april = MONTHS[3].bounds(UTC), MONTHS[4].bounds(UTC)
    with services.session() as s:
        assert indicator_series(s, periods=[], by="city", key="city", indicator="reports") == []
        for kwargs in (dict(periods=[april, march], by="city", key="city", indicator="reports"),
                       dict(periods=[march], by="city", key="city", indicator="joy"),
                       dict(periods=[march], by="district", key="12ab", indicator="reports"),
                       dict(periods=[march], by="department", key="D99",
                            indicator="reports"),
                       dict(periods=[march], by="inspector", key="nobody",
                            indicator="reports"),
                       dict(periods=[march], by="shop", key="1", indicator="reports")):
            with pytest.raises(ValueError):
                indicator_series(s, **kwargs)
        with pytest.raises(ValueError):
            group_filter(s, "city", "449902")


def test_trend_labels_the_months(month) -> None:
    services, _ = month
    with services.session() as s:
        points = trend(s, last=Period(date(2026, 3, 5), date(2026, 3, 20)), months=3, tz=UTC,
                       indicator="reports", by="district", key=GB[:6])
    # District B: B4 in January, none in February, B1 B2 B3 B5 in March.
    assert points == [("2026-01", 1), ("2026-02", 0), ("2026-03", 4)]


def test_cases_behind_a_number_are_the_drill_down(month) -> None:
    services, made = month
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    with services.session() as s:
        cases, total = cases_behind(s, start=start, end=end, by="district", key=GA1[:6],
                                    indicator="reports")
        ids = list(s.scalars(indicator_cases(s, start=start, end=end, by="district",
                                             key=GA1[:6], indicator="reports")))
        assert [c["id"] for c in cases] == ids
        assert total == 6 == len(ids)
        assert {c["title"] for c in cases} == {"A1", "A2", "A3", "A4", "A5", "A8"}
        first = next(c for c in cases if c["title"] == "A1")
        assert first["status"] == "closed" and first["status_label"][0] == "结案"
        assert first["grid_code"] == GA1 and first["reported_at"] is not None
        few, total = cases_behind(s, start=start, end=end, by="city", key="city",
                                  indicator="reports", limit=2)
        assert len(few) == 2 and total == 11
        handled, n = cases_behind(s, start=start, end=end, by="department", key="D01",
                                  indicator="mean_handling_hours")
        assert {c["id"] for c in handled} == {made[x] for x in ("A1", "A2", "A3", "A7")} \
            and n == 4
        with pytest.raises(ValueError):
            cases_behind(s, start=start, end=end, by="district", key="4499", indicator="reports")


def test_rows_are_reused_until_asked_fresh(month) -> None:
    services, made = month
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    with services.session() as s:
        first = cached_rows(s, start=start, end=end, by="district", fresh=True)
        assert {r.key: r.values["reports"] for r in first} == {GA1[:6]: 6, GB[:6]: 4}
        assert next(r for r in first if r.key == GA1[:6]).behind["registration_rate"] == 4
    with services.transaction() as s:  # one more March report in district B
        s.execute(update(Case).where(Case.id == made["A6"]).values(
            grid_code=GB, reported_at=datetime(2026, 3, 3, tzinfo=UTC)))
    with services.session() as s:
        assert cached_rows(s, start=start, end=end, by="district") is first
        fresh = cached_rows(s, start=start, end=end, by="district", fresh=True)
        assert {r.key: r.values["reports"] for r in fresh} == {GA1[:6]: 6, GB[:6]: 5}
        assert score_rows(s, start=start, end=end, by="district") == fresh
        assert s.scalar(select(Case.grid_code).where(Case.id == made["A6"])) == GB


def test_scorecard_for_an_export(month) -> None:
    services, _ = month
    generated = datetime(2026, 4, 2, tzinfo=UTC)
    with services.session() as s:
        card = scorecard(s, period=Period(date(2026, 3, 1), date(2026, 3, 31)), tz=UTC,
                         groupings=("city", "district", "inspector"), generated_at=generated)
    assert card.city_name == "西江市" and card.generated_at == generated
    assert [t.by for t in card.tables] == ["city", "district", "inspector"]
    assert [r.key for r in card.tables[2].rows] == ["insp_a", "insp_b"]
    assert card.tables[0].rows[0].values["reports"] == 11
