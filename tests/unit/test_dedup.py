"""Dedup: a trigger is evidence for an open case (same component and rule, or a nearby camera
sighting of the same event), reopens a recently closed case, or opens a new one."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cases.dedup import (
    EARTH_RADIUS_M,
    AddEvidence,
    ClosedCase,
    DedupPolicy,
    DedupTable,
    NewCase,
    OpenCase,
    Reopen,
    decide_dedup,
    distance_m,
)
from cases.rules import Trigger

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
LON, LAT = 113.3245, 23.1064
POLICY = DedupPolicy(radius_m=50, hours=24, reopen_days=7)
M_PER_DEG_LAT = EARTH_RADIUS_M * math.pi / 180


def _north(metres: float) -> float:
    return LAT + metres / M_PER_DEG_LAT


def _trigger(**changes) -> Trigger:
    base = Trigger("0101.tilt", "component", "0101", "urgent", 7, NOW, {"tilt_deg": 20.0},
                   "倾斜 20° > 15°", "tilt 20° > 15°", lon=LON, lat=LAT)
    return replace(base, **changes)


def _sighting(**changes) -> Trigger:
    base = Trigger("0504.umbrella", "event", "0504", "low", None, NOW, {"confidence": 0.85},
                   "", "", device_id="cam-1", lon=LON, lat=LAT)
    return replace(base, **changes)


def _open(case_id: int, **changes) -> OpenCase:
    base = OpenCase(case_id, "component", "0101", 7, "0101.tilt", LON, LAT,
                    NOW - timedelta(hours=2))
    return replace(base, **changes)


def _open_event(case_id: int, metres_north: float, hours_ago: float, code: str = "0504",
                ) -> OpenCase:
    return OpenCase(case_id, "event", code, None, f"{code}.x", LON, _north(metres_north),
                    NOW - timedelta(hours=hours_ago))


def _closed(case_id: int, days_ago: float, **changes) -> ClosedCase:
    base = ClosedCase(case_id, "component", "0101", 7, "0101.tilt", LON, LAT,
                      NOW - timedelta(days=days_ago + 3), NOW - timedelta(days=days_ago))
    return replace(base, **changes)


def test_haversine_against_known_distances() -> None:
    assert distance_m(LON, LAT, LON, _north(49)) == pytest.approx(49, abs=1e-6)
    # one degree of longitude on the equator
    assert distance_m(0, 0, 1, 0) == pytest.approx(M_PER_DEG_LAT, rel=1e-12)
    # Guangzhou Tower to Canton Fair complex: about 3.2 km by map
    assert 3000 < distance_m(113.3245, 23.1064, 113.3650, 23.1000) < 4500


def test_same_component_and_rule_while_open_is_evidence() -> None:
    decision = decide_dedup(_trigger(), [_open(1), _open(2, rule_key="0101.displacement")],
                            [], POLICY)
    assert decision == AddEvidence(1, "component")


def test_same_component_other_rule_or_other_component_is_new() -> None:
    assert decide_dedup(_trigger(), [_open(2, rule_key="0101.displacement")], [],
                        POLICY) == NewCase()
    assert decide_dedup(_trigger(), [_open(3, component_id=8)], [], POLICY) == NewCase()


def test_component_triggers_never_merge_by_distance() -> None:
    neighbour = _open(4, component_id=8)  # same place, same rule key, another cover
    assert decide_dedup(_trigger(), [neighbour], [], POLICY) == NewCase()


@pytest.mark.parametrize(("metres", "merges"), [(0, True), (49, True), (51, False)])
def test_sightings_merge_within_the_radius(metres: float, merges: bool) -> None:
    decision = decide_dedup(_sighting(), [_open_event(10, metres, 1)], [], POLICY)
    if merges:
        assert isinstance(decision, AddEvidence) and decision.case_id == 10
        assert decision.matched_by == "distance"
        assert decision.distance_m == pytest.approx(metres, abs=0.1)
    else:
        assert decision == NewCase()


@pytest.mark.parametrize(("hours", "merges"), [(23, True), (25, False)])
def test_sightings_merge_within_the_hours(hours: float, merges: bool) -> None:
    decision = decide_dedup(_sighting(), [_open_event(11, 10, hours)], [], POLICY)
    assert isinstance(decision, AddEvidence) is merges


def test_sighting_merges_into_the_nearest_same_category_case() -> None:
    cases = [_open_event(20, 40, 1), _open_event(21, 12, 3), _open_event(22, 1, 1, "0503"),
             _open_event(23, 30, 30)]
    assert decide_dedup(_sighting(), cases, [], POLICY) == AddEvidence(21, "distance", 12.0)


def test_sighting_without_a_place_is_new() -> None:
    decision = decide_dedup(_sighting(lon=None, lat=None), [_open_event(30, 0, 1)], [], POLICY)
    assert decision == NewCase()


def test_policy_table_by_code_then_major_class_then_default() -> None:
    table = DedupTable(DedupPolicy(50, 24, 7), {
        ("event", "05"): DedupPolicy(100, 24, 7),
        ("event", "0503"): DedupPolicy(30, 12, 7),
    })
    assert table.for_category("event", "0503").radius_m == 30
    assert table.for_category("event", "0504").radius_m == 100
    assert table.for_category("event", "0102").radius_m == 50
    far = [_open_event(40, 80, 1)]
    assert isinstance(decide_dedup(_sighting(), far, [], table), AddEvidence)  # 80 m ≤ 100
    assert decide_dedup(_sighting(category_code="0503", rule_key="0503.x"),
                        [_open_event(41, 40, 1, "0503")], [], table) == NewCase()


@pytest.mark.parametrize(("days_ago", "expected"), [
    (0.5, Reopen(50)), (6.9, Reopen(50)), (7.5, NewCase()), (30, NewCase()),
])
def test_reopen_within_n_days_of_closure(days_ago: float, expected) -> None:
    assert decide_dedup(_trigger(), [], [_closed(50, days_ago)], POLICY) == expected


def test_reopen_takes_the_latest_closure_of_the_same_component_and_rule() -> None:
    closed = [_closed(60, 5), _closed(61, 1), _closed(62, 0.5, component_id=8),
              _closed(63, 0.2, rule_key="0101.water_level")]
    assert decide_dedup(_trigger(), [], closed, POLICY) == Reopen(61)


def test_open_case_wins_over_reopening() -> None:
    assert decide_dedup(_trigger(), [_open(70)], [_closed(71, 1)], POLICY) == AddEvidence(70)


def test_a_late_message_older_than_the_closure_does_not_reopen() -> None:
    late = _trigger(ts=NOW - timedelta(days=2))
    assert decide_dedup(late, [], [_closed(80, 1)], POLICY) == AddEvidence(80, "late")


def test_policy_refuses_negative_values() -> None:
    with pytest.raises(ValueError):
        DedupPolicy(radius_m=-1)
