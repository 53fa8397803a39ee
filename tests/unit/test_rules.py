"""Rules turn readings and detections into edge-triggered Triggers and Normals; the rule table
loads, and a broken one is refused with file, place and reason."""

from __future__ import annotations

import random
import time as clock
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from cases.rules import (
    Category,
    Confidence,
    Duration,
    EventRule,
    Label,
    NoData,
    NoDataRule,
    Normal,
    Repetition,
    Rule,
    RuleEngine,
    Threshold,
    Trigger,
    Window,
)
from data.config import ConfigError
from data.config.rules import RULES_FILE, load_rules

DAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)     # 10:00 in Shanghai
NIGHT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
COVER = Category("component", "0101")

TILT = Rule("0101.tilt", Threshold("tilt_deg", ">", 15), COVER, "urgent",
            normal=Threshold("tilt_deg", "<", 5), label=Label("倾斜", "tilt", "°"))
DARK = Rule("0122.dark_at_night",
            Duration(Threshold("lamp_on", "==", False), 600,
                     Window(time(19), time(6), "Asia/Shanghai", "night")),
            Category("component", "0122"), label=Label("亮灯", "lamp on"))
GALE = Rule("0305.gale", Repetition(Threshold("wind_ms", ">", 17), 3, 3600),
            Category("component", "0305"), label=Label("风速", "wind", "m/s"))


def _at(base: datetime, seconds: float) -> datetime:
    return base + timedelta(seconds=seconds)


def _triggers(out: list) -> list[Trigger]:
    return [x for x in out if isinstance(x, Trigger)]


def _normals(out: list) -> list[Normal]:
    return [x for x in out if isinstance(x, Normal)]


# -- thresholds -------------------------------------------------------------------------------

def test_threshold_edge_exactly_15_does_not_fire() -> None:
    engine = RuleEngine({"0101": (TILT,)})
    assert engine.on_reading(1, "0101", DAY, {"tilt_deg": 15.0}) == []
    [trigger] = engine.on_reading(1, "0101", _at(DAY, 60), {"tilt_deg": 15.01})
    assert trigger.rule_key == "0101.tilt"
    assert (trigger.category_kind, trigger.category_code) == ("component", "0101")
    assert trigger.urgency == "urgent" and trigger.component_id == 1


def test_trigger_says_why_in_zh_and_en() -> None:
    engine = RuleEngine({"0101": (TILT,)})
    [trigger] = engine.on_reading(7, "0101", DAY, {"tilt_deg": 23.5, "water_level_cm": 3.0},
                                  lon=113.3, lat=23.1)
    assert trigger.reason_zh == "倾斜 23.5° > 15°"
    assert trigger.reason_en == "tilt 23.5° > 15°"
    assert trigger.values == {"tilt_deg": 23.5}
    assert trigger.ts == DAY and (trigger.lon, trigger.lat) == (113.3, 23.1)


def test_edge_triggered_once_then_again_after_normal() -> None:
    engine = RuleEngine({"0101": (TILT,)})
    fired = []
    for i in range(10):
        fired += engine.on_reading(1, "0101", _at(DAY, i * 60), {"tilt_deg": 20.0 + i})
    assert len(_triggers(fired)) == 1
    back = engine.on_reading(1, "0101", _at(DAY, 700), {"tilt_deg": 2.0})
    assert back == [Normal("0101.tilt", 1, _at(DAY, 700), {"tilt_deg": 2.0})]
    assert engine.tracked() == 0  # state dropped when back to normal
    again = engine.on_reading(1, "0101", _at(DAY, 800), {"tilt_deg": 30.0})
    assert len(_triggers(again)) == 1


def test_hysteresis_band_neither_fires_nor_normalises() -> None:
    engine = RuleEngine({"0101": (TILT,)})
    assert len(engine.on_reading(1, "0101", DAY, {"tilt_deg": 20.0})) == 1
    assert engine.on_reading(1, "0101", _at(DAY, 60), {"tilt_deg": 10.0}) == []  # 5..15
    assert engine.on_reading(1, "0101", _at(DAY, 120), {"tilt_deg": 20.0}) == []  # still open
    assert len(_normals(engine.on_reading(1, "0101", _at(DAY, 180), {"tilt_deg": 4.9}))) == 1


def test_default_normal_is_the_negation_and_components_are_separate() -> None:
    full = Rule("0308.full", Threshold("fill_pct", ">=", 90), Category("component", "0308"))
    engine = RuleEngine({"0308": (full,)})
    assert len(engine.on_reading("a", "0308", DAY, {"fill_pct": 90.0})) == 1
    assert len(engine.on_reading("b", "0308", DAY, {"fill_pct": 95.0})) == 1
    assert engine.on_reading("a", "0308", _at(DAY, 1), {"fill_pct": 89.9}) == [
        Normal("0308.full", "a", _at(DAY, 1), {"fill_pct": 89.9})]
    assert engine.tracked() == 1


def test_unknown_type_and_missing_metric_are_ignored() -> None:
    engine = RuleEngine({"0101": (TILT,)})
    assert engine.on_reading(1, "0999", DAY, {"tilt_deg": 80.0}) == []
    assert engine.on_reading(1, None, DAY, {"tilt_deg": 80.0}) == []
    assert engine.on_reading(1, "0101", DAY, {"water_level_cm": 80.0}) == []
    assert engine.tracked() == 0


def test_bool_threshold() -> None:
    off = Rule("0122.off", Threshold("lamp_on", "==", False), Category("component", "0122"),
               label=Label("亮灯", "lamp on"))
    engine = RuleEngine({"0122": (off,)})
    assert engine.on_reading(1, "0122", DAY, {"lamp_on": True}) == []
    [trigger] = engine.on_reading(1, "0122", DAY, {"lamp_on": False})
    assert trigger.reason_zh == "亮灯 = 否" and trigger.reason_en == "lamp on = false"
    assert len(_normals(engine.on_reading(1, "0122", DAY, {"lamp_on": True}))) == 1


# -- durations --------------------------------------------------------------------------------

def _dark(engine: RuleEngine, start: datetime, minutes: list[int], lamp_on: bool = False):
    out = []
    for m in minutes:
        out += engine.on_reading(9, "0122", _at(start, m * 60), {"lamp_on": lamp_on})
    return out


def test_duration_fires_at_night_after_more_than_ten_minutes() -> None:
    engine = RuleEngine({"0122": (DARK,)})
    assert _dark(engine, NIGHT, [0, 5, 10]) == []  # exactly 600 s is not "longer than"
    [trigger] = _dark(engine, NIGHT, [11])
    assert trigger.values["held_s"] == 660
    assert trigger.reason_en == "lamp on = false for 11 min > 10 min (19:00–06:00)"
    assert trigger.reason_zh == "亮灯 = 否 持续 11 分钟 > 10 分钟（19:00–06:00）"
    assert _dark(engine, NIGHT, [20, 30, 40]) == []  # edge-triggered
    [normal] = _dark(engine, NIGHT, [50], lamp_on=True)
    assert normal.rule_key == "0122.dark_at_night" and normal.component_id == 9


def test_duration_does_not_fire_by_day() -> None:
    engine = RuleEngine({"0122": (DARK,)})
    assert _dark(engine, DAY, list(range(0, 480, 10))) == []  # 10:00 to 17:50
    assert engine.tracked() == 0


def test_duration_counts_inside_the_window_only() -> None:
    engine = RuleEngine({"0122": (DARK,)})
    dusk = datetime(2026, 11, 23, 10, 55, tzinfo=UTC)  # 18:55 local
    # 18:55 is outside; counting starts at the first reading inside, 19:05
    assert _dark(engine, dusk, [0, 10, 20]) == []
    assert len(_dark(engine, dusk, [21])) == 1      # 19:16: 11 min


def test_duration_does_not_count_the_day_between_two_nights() -> None:
    engine = RuleEngine({"0122": (DARK,)})
    dawn = datetime(2026, 11, 22, 21, 55, tzinfo=UTC)  # 05:55 local, then silent all day
    assert _dark(engine, dawn, [0]) == []
    assert _dark(engine, dawn, [13 * 60 + 10]) == []    # 19:05 next evening: 5 min of night
    assert len(_dark(engine, dawn, [13 * 60 + 16])) == 1  # 19:11: 11 min since 19:00


def test_duration_over_midnight_and_broken_by_a_normal_reading() -> None:
    engine = RuleEngine({"0122": (DARK,)})
    late = datetime(2026, 11, 23, 15, 55, tzinfo=UTC)  # 23:55 local
    assert _dark(engine, late, [0, 5]) == []
    assert _dark(engine, late, [8], lamp_on=True) == []  # continuity broken, nothing fired
    assert _dark(engine, late, [9, 15]) == []
    assert len(_dark(engine, late, [20])) == 1           # 00:15, 11 min since 00:04


def test_duration_ignores_out_of_order_readings() -> None:
    engine = RuleEngine({"0122": (DARK,)})
    assert _dark(engine, NIGHT, [0, 5]) == []
    assert _dark(engine, NIGHT, [3], lamp_on=True) == []  # older than the last: ignored
    assert len(_dark(engine, NIGHT, [11])) == 1


def test_pending_duration_dropped_when_window_closes() -> None:
    engine = RuleEngine({"0122": (DARK,)})
    dawn = datetime(2026, 11, 23, 21, 55, tzinfo=UTC)  # 05:55 local
    assert _dark(engine, dawn, [0, 10]) == []           # 06:05 is outside the window
    assert engine.tracked() == 0


# -- repetition -------------------------------------------------------------------------------

def _wind(engine: RuleEngine, minutes: list[int], wind: float = 18.0) -> list:
    out = []
    for m in minutes:
        out += engine.on_reading(5, "0305", _at(DAY, m * 60), {"wind_ms": wind})
    return out


def test_repetition_n_times_within_t() -> None:
    engine = RuleEngine({"0305": (GALE,)})
    assert _wind(engine, [0, 20]) == []
    [trigger] = _wind(engine, [40])
    assert trigger.values == {"wind_ms": 18.0, "times": 3}
    assert trigger.reason_en == "wind 18 m/s > 17 m/s, 3 times within 60 min"
    assert trigger.reason_zh == "风速 18 m/s > 17 m/s，60 分钟内 3 次"
    assert _wind(engine, [50, 55]) == []  # edge-triggered


def test_repetition_sliding_out_of_the_window() -> None:
    engine = RuleEngine({"0305": (GALE,)})
    assert _wind(engine, [0, 50, 70]) == []    # 0 and 70 are 70 min apart
    assert _wind(engine, [111]) == []          # 50..111: 61 min
    assert len(_wind(engine, [115])) == 1      # 70, 111, 115: within the hour


def test_repetition_keeps_bounded_memory_and_normalises_after_a_quiet_window() -> None:
    engine = RuleEngine({"0305": (GALE,)})
    _wind(engine, [0, 10, 20, 30, 40, 50])
    state = engine._state[5]["0305.gale"]
    assert len(state.seen) == 3
    assert _wind(engine, [80], wind=5.0) == []  # last gust 30 min ago: not quiet yet
    [normal] = _wind(engine, [111], wind=5.0)
    assert isinstance(normal, Normal) and engine.tracked() == 0


# -- no data ----------------------------------------------------------------------------------

def test_silent_device_fires_once_and_normalises() -> None:
    rule = NoDataRule("device.no_data", NoData(3600, 3), Category("event", "0601"), "low")
    engine = RuleEngine({}, {}, rule)
    now = DAY
    seen = {"cover-1": (now - timedelta(hours=3), 3600),        # exactly 3×: not yet
            "light-1": (now - timedelta(minutes=31), 600),      # > 3 × 600 s
            "bin-1": (now - timedelta(hours=4), None)}          # default period 3600
    fired = engine.silent(seen, now)
    assert {t.device_id for t in fired} == {"light-1", "bin-1"}
    light = next(t for t in fired if t.device_id == "light-1")
    assert (light.category_kind, light.category_code) == ("event", "0601")
    assert light.component_id is None and light.rule_key == "device.no_data"
    assert "light-1" in light.reason_en and "31 min" in light.reason_en
    assert engine.silent(seen, now) == []  # edge-triggered
    [cover] = engine.silent(seen, now + timedelta(minutes=1))  # now over 3 × 1 h
    assert cover.device_id == "cover-1"
    seen["light-1"] = (now + timedelta(minutes=2), 600)
    [back] = engine.silent(seen, now + timedelta(minutes=3))
    assert isinstance(back, Normal) and back.device_id == "light-1"


def test_silent_without_rule_or_period() -> None:
    assert RuleEngine({}).silent({"x": (DAY - timedelta(days=9), 60)}, DAY) == []
    rule = NoDataRule("device.no_data", NoData(None, 3), Category("event", "0601"))
    assert RuleEngine({}, {}, rule).silent({"x": (DAY - timedelta(days=9), None)}, DAY) == []


# -- detections -------------------------------------------------------------------------------

UMBRELLA = EventRule("0504.umbrella", Confidence("umbrella", 0.8), Category("event", "0504"),
                     "low", 0.9, Label("违规撑伞", "illegal umbrella"))


@pytest.mark.parametrize(("confidence", "fires", "auto"), [
    (0.79, False, False), (0.8, True, False), (0.89, True, False), (0.9, True, True),
    (1.0, True, True),
])
def test_detection_confidence_thresholds(confidence: float, fires: bool, auto: bool) -> None:
    engine = RuleEngine({}, {"umbrella": UMBRELLA})
    trigger = engine.on_detection("umbrella", confidence, DAY, device_id="cam-1",
                                  lon=113.3, lat=23.1)
    assert (trigger is not None) == fires
    if trigger is not None:
        assert trigger.auto_register is auto
        assert (trigger.category_kind, trigger.category_code) == ("event", "0504")
        assert trigger.component_id is None and trigger.device_id == "cam-1"
        assert trigger.lon == 113.3 and "违规撑伞" in trigger.reason_zh


def test_unknown_detection_event_is_ignored() -> None:
    assert RuleEngine({}, {"umbrella": UMBRELLA}).on_detection("parasol", 1.0, DAY) is None


# -- specs refuse nonsense --------------------------------------------------------------------

@pytest.mark.parametrize("build", [
    lambda: Threshold("tilt_deg", "=>", 15),
    lambda: Threshold("lamp_on", ">", False),
    lambda: Duration(Threshold("tilt_deg", ">", 1), -5),
    lambda: Repetition(Threshold("tilt_deg", ">", 1), 1, 60),
    lambda: Confidence("umbrella", 1.5),
    lambda: Window(time(6), time(6)),
    lambda: Rule("k", Threshold("a", ">", 1), COVER, "soon"),
    lambda: Rule("k", Threshold("a", ">", 1), COVER, normal=Threshold("b", "<", 1)),
    lambda: EventRule("k", Confidence("umbrella", 0.8), COVER, auto_register_confidence=0.5),
])
def test_specs_refuse_nonsense(build) -> None:
    with pytest.raises(ValueError):
        build()


# -- the shipped table ------------------------------------------------------------------------

def test_shipped_rules_load_and_run() -> None:
    rules = load_rules()
    covers = ("0101", "0102", "0103", "0105", "0107", "0111")
    for code in covers:
        keys = {r.key: r for r in rules.rules_by_type[code]}
        assert keys[f"{code}.tilt"].when == Threshold("tilt_deg", ">", 15)
        assert keys[f"{code}.tilt"].urgency == "urgent"
        assert keys[f"{code}.displacement"].when == Threshold("displacement_mm", ">", 50)
        assert keys[f"{code}.water_level"].urgency == "normal"
    assert rules.events["non_motor_parking"].when.min_confidence == 0.75
    assert rules.events["garbage_overflow"].when.min_confidence == 0.7
    assert rules.events["umbrella"].auto_register_confidence == 0.9
    assert rules.no_data.when.factor == 3
    assert (rules.no_data.category.kind, rules.no_data.category.code) == ("event", "0602")
    assert rules.report_periods["0122"] == 600
    policy = rules.dedup.for_category("event", "0503")
    assert (policy.radius_m, policy.hours) == (30, 12)
    assert rules.dedup.for_category("component", "0102").reopen_days == 30
    engine = rules.engine()
    [t] = engine.on_reading(1, "0103", DAY, {"tilt_deg": 23.5})
    assert t.reason_zh == "倾斜 23.5° > 15°"
    assert _dark(engine, NIGHT, [0, 10]) == []
    assert [x.rule_key for x in _dark(engine, NIGHT, [20])] == ["0122.dark_at_night"]
    flooding = engine.on_reading(2, "0603", DAY, {"water_level_cm": 25.0})
    assert [(x.category_kind, x.category_code) for x in flooding] == [("event", "0401")]


def _broken(tmp_path: Path, find: str, replace: str) -> Path:
    text = RULES_FILE.read_text(encoding="utf-8")
    assert find in text, find
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace(find, replace, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("find", "replace", "message"), [
    ('"0308":', '"0999":', r"components\['0999'\]: unknown component type code"),
    ('"0117":', "0117:", "quote the type code"),
    ("when: fill_pct > 90", "when: fullness >= 90",
     r"\(full\): when: metric 'fullness' is not defined for component type 0308"),
    ("when: fill_pct > 90", "when: fill_pct => 90", r"operator '=>' not allowed"),
    ("when: fill_pct > 90", "when: fill_pct >= lots", "not a finite number"),
    ("when: fill_pct > 90", "when: fill_pct", "must be a condition like"),
    ("when: lamp_on == false", "when: lamp_on > false",
     r"\(dark_at_night\): when: lamp_on is true/false: compare it with == or !=, not >"),
    ("when: lamp_on == false", "when: lamp_on == 0", "compare it with true or false"),
    ("normal: fill_pct < 30", "normal: tilt_deg < 30", "not defined for component type 0308"),
    ("  umbrella:", "  parasol:", r"detections\['parasol'\]: unknown detection event"),
    ("umbrella:          {min_confidence: 0.8,", "umbrella:          {min_confidence: 1.2,",
     r"detections\['umbrella'\]: min_confidence 1.2 must be between 0 and 1"),
    ("umbrella:          {min_confidence: 0.8,", "umbrella:          {min_confidence: -0.1,",
     "must be between 0 and 1"),
    ("auto_register_confidence: 0.9, urgency: low}\n  street",
     "auto_register_confidence: 0.5, urgency: low}\n  street", "is below min_confidence"),
    ("for_s: 1800", "for_s: -1800",
     r"components\['0117'\]\[0\] \(low_pressure\): for_s -1800 must be positive"),
    ("within_s: 3600", "within_s: -3600", "within_s -3600 must be positive"),
    ("times: 3", "times: 1", "times 1 must be a whole number"),
    ("factor: 3 ", "factor: -3 ", "no_data: factor -3 must be at least 1"),
    ("window: night", "window: evening", "window 'evening' is not defined"),
    ("urgency: urgent\n    - key: displacement", "urgency: soon\n    - key: displacement",
     "urgency 'soon' must be one of"),
    ("water_level_cm < 20\n      urgency:", "water_level_cm < 20\n      urgancy:",
     "unknown field 'urgancy'"),
    ('opens: {kind: event, code: "0401"}', 'opens: {kind: event, code: "0499"}',
     "event type '0499' is not in the catalogue"),
    ('"0503": {radius_m: 30, hours: 12}', '"0503": {radius_m: -30, hours: 12}',
     r"dedup: event\['0503'\]: radius_m -30 must be at least 0"),
    ('"0503": {radius_m: 30', '"0903": {radius_m: 30', "not a quoted event major class"),
    ('night: {from: "19:00"', 'night: {from: "7pm"', "must be a quoted local time"),
    ("timezone: Asia/Shanghai", "timezone: Mars/Olympus", "not an IANA time zone"),
    ("metric_labels:\n", "metric_labels:\n  speed_kmh: {zh: 速度, en: speed}\n",
     "not a metric of any component type"),
    ("components:\n", "components: [\n", "not valid YAML"),
])
def test_broken_rules_are_refused_clearly(tmp_path, find, replace, message) -> None:
    path = _broken(tmp_path, find, replace)
    with pytest.raises(ConfigError, match=message) as caught:
        load_rules(path)
    assert str(caught.value).startswith(("rules.yaml: ", str(path)))


def test_missing_rules_file_is_refused(tmp_path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_rules(tmp_path / "rules.yaml")


# -- timing (printed, not asserted) -----------------------------------------------------------

def test_timing_of_on_reading_over_100k_readings(capsys) -> None:
    engine = load_rules().engine()
    rng = random.Random(4)
    types = ["0101", "0103", "0122", "0305", "0308", "0117", "0603", "0125"]
    readings = []
    for i in range(100_000):
        code = types[i % len(types)]
        metrics: dict[str, float | bool]
        if code in ("0101", "0103"):
            metrics = {"tilt_deg": rng.uniform(0, 2), "displacement_mm": rng.uniform(0, 3),
                       "water_level_cm": rng.uniform(0, 40)}
        elif code == "0122":
            metrics = {"lamp_on": rng.random() < 0.95, "current_a": rng.uniform(0.4, 0.9),
                       "voltage_v": rng.gauss(220, 3)}
        elif code == "0305":
            metrics = {"tilt_deg": rng.uniform(0, 2.5), "wind_ms": rng.uniform(0, 20)}
        elif code == "0308":
            metrics = {"fill_pct": rng.uniform(0, 95)}
        elif code == "0117":
            metrics = {"pressure_mpa": rng.uniform(0.2, 0.35), "tilt_deg": rng.uniform(0, 1)}
        elif code == "0603":
            metrics = {"water_level_cm": rng.uniform(0, 25)}
        else:
            metrics = {}
        readings.append((i % 5000, code, _at(NIGHT, i), metrics))
    started = clock.perf_counter()
    fired = 0
    for component, code, ts, metrics in readings:
        fired += len(engine.on_reading(component, code, ts, metrics))
    elapsed = clock.perf_counter() - started
    with capsys.disabled():
        print(f"\non_reading: 100,000 readings in {elapsed * 1000:.0f} ms "
              f"({elapsed * 1e6 / 100_000:.2f} µs each), {fired} triggers/normals, "
              f"{engine.tracked()} components tracked")
