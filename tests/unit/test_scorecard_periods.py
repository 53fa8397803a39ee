"""The scorecard's plain shapes (reports/scorecard.py): periods in the city's time zone,
request parsing, value formatting, sorting and rankings — against hand-computed values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from cases.metrics import CaseTally, compute
from reports.scorecard import (
    BY_INDICATOR,
    GROUPINGS,
    MAX_DAYS,
    Period,
    PeriodError,
    ScoreRow,
    behind_counts,
    format_value,
    last_full_month,
    month_of,
    parse_groupings,
    parse_period,
    ranking,
    recent_months,
    sort_rows,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_last_full_month_is_the_month_before_today() -> None:
    assert last_full_month(date(2026, 1, 15)) == Period(date(2025, 12, 1), date(2025, 12, 31))
    assert last_full_month(date(2026, 3, 1)) == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert last_full_month(date(2024, 3, 31)) == Period(date(2024, 2, 1), date(2024, 2, 29))


def test_a_month_in_city_time_starts_at_local_midnight() -> None:
    start, end = month_of(date(2026, 3, 9)).bounds(SHANGHAI)
    assert start.astimezone(UTC) == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)


def test_labels_and_months() -> None:
    march = month_of(date(2026, 3, 1))
    assert march.is_month and march.month == "2026-03"
    assert march.label("zh-CN") == "2026年3月" and march.label("en") == "March 2026"
    part = Period(date(2026, 3, 2), date(2026, 3, 15))
    assert not part.is_month and part.month == "2026-03"
    assert part.label("zh-CN") == "2026-03-02 至 2026-03-15"


def test_recent_months_run_oldest_first_across_a_year() -> None:
    months = recent_months(Period(date(2026, 3, 5), date(2026, 3, 20)), 12)
    assert [m.month for m in months] == [
        "2025-04", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09", "2025-10",
        "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    assert all(m.is_month for m in months)


def test_parse_period_accepts_a_month_a_range_or_nothing() -> None:
    today = date(2026, 4, 10)
    assert parse_period(today=today) == Period(date(2026, 3, 1), date(2026, 3, 31))
    assert parse_period(month="2025-02", today=today) == Period(date(2025, 2, 1),
                                                                 date(2025, 2, 28))
    assert parse_period(start="2026-03-02", end="2026-03-02", today=today) == Period(
        date(2026, 3, 2), date(2026, 3, 2))


@pytest.mark.parametrize(("kwargs", "code"), [
    (dict(month="2026-13"), "bad_month"),
    (dict(month="2026-3"), "bad_month"),
    (dict(month="march"), "bad_month"),
    (dict(start="2026-03-01"), "bad_period"),
    (dict(end="2026-03-01"), "bad_period"),
    (dict(month="2026-03", start="2026-03-01", end="2026-03-02"), "bad_period"),
    (dict(start="2026-3-1", end="2026-03-02"), "bad_start"),
    (dict(start="2026-02-30", end="2026-03-02"), "bad_start"),
    (dict(start="2026-03-01", end="tomorrow"), "bad_end"),
    (dict(start="0001-01-01", end="0001-01-02"), "bad_start"),
    (dict(start="2026-03-02", end="2026-03-01"), "bad_range"),
    (dict(start="2025-01-01", end="2026-01-02"), "range_too_long"),
])
def test_parse_period_refuses_with_a_reason_in_both_languages(kwargs, code) -> None:
    with pytest.raises(PeriodError) as refused:
        parse_period(today=date(2026, 4, 10), **kwargs)
    assert refused.value.code == code
    assert refused.value.message and refused.value.message_zh
    assert refused.value.text("en") == refused.value.message


def test_the_longest_range_is_allowed() -> None:
    period = parse_period(start="2025-01-01", end="2026-01-01", today=date(2026, 4, 10))
    assert (period.last - period.first).days + 1 == MAX_DAYS == 366


def test_parse_groupings() -> None:
    assert parse_groupings(None, ("district",)) == ("district",)
    assert parse_groupings("all", ()) == GROUPINGS
    assert parse_groupings("grid, district,grid", ()) == ("grid", "district")
    assert parse_groupings("city", ()) == ("city",)
    for bad in ("county", "district,,shop", ","):
        with pytest.raises(PeriodError) as refused:
            parse_groupings(bad, ())
        assert refused.value.code == "bad_by"


def test_values_are_shown_as_percentages_hours_and_counts() -> None:
    assert format_value(BY_INDICATOR["registration_rate"], 8 / 9) == "88.9%"
    assert format_value(BY_INDICATOR["registration_rate"], 1.0) == "100.0%"
    assert format_value(BY_INDICATOR["mean_handling_hours"], 21.75) == "21.75"
    assert format_value(BY_INDICATOR["p90_handling_hours"], 1234.5) == "1,234.50"
    assert format_value(BY_INDICATOR["reports"], 12345) == "12,345"
    assert format_value(BY_INDICATOR["closure_rate"], None) == "—"


def test_cases_behind_each_number() -> None:
    tally = CaseTally(reports=6, accepted=5, registered=4, dispatched=4, dispatched_on_time=3,
                      due_handling=4, handled_on_time=3, due_closing=4, closed=3,
                      closed_on_time=2, reworked=1, extended=1, overdue=2, handled=4,
                      handling_seconds=313200.0)
    behind = behind_counts(vars(tally))
    assert behind["reports"] == 6 and behind["registration_rate"] == 4
    assert behind["on_time_handling_rate"] == 3 and behind["rework_rate"] == 1
    assert behind["mean_handling_hours"] == 4 and behind["p90_handling_hours"] == 4
    assert behind["overdue"] == 2


def _rows() -> list[ScoreRow]:
    def row(key: str, closure: float | None, rework: float | None, reports: int) -> ScoreRow:
        values = compute(CaseTally())
        values.update(closure_rate=closure, rework_rate=rework, reports=reports)
        return ScoreRow(key, f"name-{key}", values)

    return [row("a", 0.5, 0.1, 3), row("b", 0.9, 0.3, 9), row("c", None, None, 0),
            row("d", 0.7, 0.0, 5), row("e", 0.9, 0.2, 1)]


def test_sorting_puts_missing_values_last_either_way() -> None:
    rows = _rows()
    assert [r.key for r in sort_rows(rows, "closure_rate", True)] == ["b", "e", "d", "a", "c"]
    assert [r.key for r in sort_rows(rows, "closure_rate", False)] == ["a", "d", "b", "e", "c"]
    assert [r.key for r in sort_rows(rows, "name", True)] == ["e", "d", "c", "b", "a"]


def test_rankings_know_which_way_is_better() -> None:
    rows = _rows()
    best, worst = ranking(rows, "closure_rate", 2)
    assert [r.key for r in best] == ["b", "e"] and [r.key for r in worst] == ["a", "d"]
    best, worst = ranking(rows, "rework_rate", 2)   # lower is better
    assert [r.key for r in best] == ["d", "a"] and [r.key for r in worst] == ["b", "e"]
    best, worst = ranking(rows, "reports", 1)       # counts: most first
    assert [r.key for r in best] == ["b"] and [r.key for r in worst] == ["c"]
    with pytest.raises(ValueError):
        ranking(rows, "happiness")
