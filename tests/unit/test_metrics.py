"""Evaluation indicators against hand-computed numbers; zero denominators; nearest-rank p90."""

from __future__ import annotations

import pytest

from cases.metrics import (
    INDICATORS,
    TALLY_FIELDS,
    CaseTally,
    compute,
    formulas_markdown,
    percentile,
)

H = 3600  # seconds per hour

# District A: 20 reports, 2 declined as invalid (→ 18 accepted), 3 more declined as duplicate or
# not our duty (→ 5 declined, 15 registered). Handling times of its 8 handled cases, in hours:
# 1 + 2 + 3 + 3 + 4 + 5 + 6 + 8 = 32 h.
A_HOURS = [1, 2, 3, 3, 4, 5, 6, 8]
A = CaseTally(reports=20, accepted=18, registered=15, declined=5, dispatched=12,
              dispatched_on_time=9, due_handling=10, handled_on_time=8, due_closing=10, closed=8,
              closed_on_time=6, reworked=2, extended=3, overdue=4, handled=8,
              handling_seconds=32 * H)
# District B: 2 handled cases, 10 h + 14 h = 24 h.
B_HOURS = [14, 10]
B = CaseTally(reports=5, accepted=5, registered=4, declined=1, dispatched=4,
              dispatched_on_time=4, due_handling=4, handled_on_time=2, due_closing=5, closed=3,
              closed_on_time=3, reworked=1, extended=0, overdue=2, handled=2,
              handling_seconds=24 * H)


def test_district_a_by_hand() -> None:
    got = compute(A, [h * H for h in A_HOURS])
    assert got == pytest.approx({
        "reports": 20,
        "accepted": 18,
        "registered": 15,
        "registration_rate": 15 / 18,       # 0.8333: 立案数 15 ÷ 受理数 18
        "dispatch_rate": 0.8,               # 派遣数 12 ÷ 立案数 15
        "on_time_dispatch_rate": 0.75,      # 9 ÷ 12
        "on_time_handling_rate": 0.8,       # 按期处置 8 ÷ 应处置 10
        "closure_rate": 0.8,                # 结案 8 ÷ 应结案 10
        "on_time_closure_rate": 0.6,        # 按期结案 6 ÷ 应结案 10
        "rework_rate": 0.2,                 # 返工 2 ÷ 应结案 10
        "extension_rate": 0.25,             # 延期 3 ÷ 派遣 12
        "overdue": 4,
        "mean_handling_hours": 4.0,         # 32 h ÷ 8 cases
        "p90_handling_hours": 8.0,          # rank ceil(0.9 × 8) = ceil(7.2) = 8 → 8 h
    })
    assert list(got) == [ind.key for ind in INDICATORS]


def test_city_is_the_ratio_of_sums_not_the_mean_of_rates() -> None:
    city = A + B
    # Sums: reports 25, accepted 23, registered 19, dispatched 16, on time 13, due handling 14,
    # handled on time 10, due closing 15, closed 11, on time 9, reworked 3, extended 3,
    # overdue 6, handled 10 in 32 h + 24 h = 56 h.
    assert city == CaseTally(reports=25, accepted=23, registered=19, declined=6, dispatched=16,
                             dispatched_on_time=13, due_handling=14, handled_on_time=10,
                             due_closing=15, closed=11, closed_on_time=9, reworked=3,
                             extended=3, overdue=6, handled=10, handling_seconds=56 * H)
    got = compute(city, [h * H for h in A_HOURS + B_HOURS])
    assert got == pytest.approx({
        "reports": 25, "accepted": 23, "registered": 19,
        "registration_rate": 19 / 23,       # 0.8261
        "dispatch_rate": 16 / 19,           # 0.8421
        "on_time_dispatch_rate": 0.8125,    # 13 ÷ 16
        "on_time_handling_rate": 10 / 14,   # 0.7143, not (0.8 + 0.5) ÷ 2 = 0.65
        "closure_rate": 11 / 15,            # 0.7333
        "on_time_closure_rate": 0.6,        # 9 ÷ 15
        "rework_rate": 0.2,                 # 3 ÷ 15
        "extension_rate": 0.1875,           # 3 ÷ 16
        "overdue": 6,
        "mean_handling_hours": 5.6,         # 56 h ÷ 10
        "p90_handling_hours": 10.0,         # sorted 1 2 3 3 4 5 6 8 10 14, rank ceil(9.0) = 9
    })
    assert got["on_time_handling_rate"] != pytest.approx(0.65)


def test_zero_denominators_give_none_not_an_error() -> None:
    got = compute(CaseTally())
    assert {k for k, v in got.items() if v is None} == {
        ind.key for ind in INDICATORS if ind.denominator or ind.percentile}
    assert got["reports"] == 0 and got["overdue"] == 0
    # Reports but nothing registered or dispatched yet: counts and registration rate only.
    got = compute(CaseTally(reports=3, accepted=2, registered=1))
    assert got["registration_rate"] == 0.5
    assert got["dispatch_rate"] == 0.0      # 0 dispatched ÷ 1 registered
    assert got["on_time_dispatch_rate"] is None and got["extension_rate"] is None
    assert got["mean_handling_hours"] is None and got["p90_handling_hours"] is None


@pytest.mark.parametrize(("values", "p", "expected"), [
    (range(1, 11), 90, 9),                  # ceil(0.9 × 10) = 9 → 9th
    (range(1, 12), 90, 10),                 # ceil(0.9 × 11) = ceil(9.9) = 10 → 10th
    (range(1, 21), 90, 18),                 # ceil(18.0) = 18, exact
    ([7, 1, 9, 3], 90, 9),                  # sorted 1 3 7 9, ceil(3.6) = 4 → 9
    ([7, 1, 9, 3], 50, 3),                  # ceil(2.0) = 2 → 3 (no interpolation)
    (range(1, 101), 7, 7),                  # 7 / 100 × 100 is 7.000…1 in floats; rank stays 7
    (range(1, 51), 14, 7),                  # 14 / 100 × 50 likewise
    ([42], 90, 42),
    ([5, 2, 8], 0, 2),                      # p = 0 → the smallest value
    ([5, 2, 8], 100, 8),
    ([1.5, 0.5], 90, 1.5),
])
def test_percentile_nearest_rank(values: range | list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == expected


def test_percentile_edges() -> None:
    assert percentile([], 90) is None
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1], 101)


def test_tallies_add() -> None:
    assert A + B == B + A
    assert A + CaseTally() == A
    assert sum([A, B]) == A + B                     # sum() starts from 0
    assert sum([A, B, A], CaseTally()) == A + B + A
    assert (A + A).handling_seconds == 64 * H and (A + A).reports == 40
    with pytest.raises(TypeError):
        _ = A + 1


def test_indicators_read_tally_fields_and_render() -> None:
    keys = [ind.key for ind in INDICATORS]
    assert len(keys) == len(set(keys)) == 14
    for ind in INDICATORS:
        assert ind.numerator in (None, *TALLY_FIELDS) and ind.denominator in (None, *TALLY_FIELDS)
        assert (ind.numerator is None) == (ind.percentile is not None)
        assert ind.kind in ("count", "rate", "hours")
        assert (ind.kind == "count") == (ind.denominator is None and ind.percentile is None)
    text = formulas_markdown()
    assert all(f"| `{key}` |" in text for key in keys)
    row = "| `on_time_handling_rate` | 按期处置率 | On-time handling rate | 按期处置数 ÷ 应处置数 |"
    assert row in text
