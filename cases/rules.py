"""Rules (规则): when a sensor reading or a camera detection opens a case.

Rule specs are frozen dataclasses, loaded from ``data/config/rules.yaml`` by
``data.config.rules.load_rules`` and compiled by :class:`RuleEngine` into flat objects so that
the ingest pipeline can evaluate them on every message:

* :class:`Threshold` — ``metric op value``, e.g. ``tilt_deg > 15``;
* :class:`Duration` — a threshold that holds continuously for longer than ``seconds``,
  optionally only inside a local-time :class:`Window` (e.g. a street light dark at night);
* :class:`Repetition` — a threshold seen ``times`` times within ``within_s`` seconds;
* :class:`NoData` — a device silent for longer than ``factor`` × its report period
  (evaluated by the periodic :meth:`RuleEngine.silent`, not per message);
* :class:`Confidence` — a camera detection at or above a minimum confidence.

Each :class:`Rule` names what it opens (a :class:`Category`), its urgency, a stable ``key``
(``"0101.tilt"``) that dedup uses per component, and its ``normal`` condition — when a
reading counts as back to normal, evidence for sensor-verified closure (default: the negation
of the trigger condition; a separate condition gives hysteresis, e.g. trigger ``tilt > 15``,
normal ``tilt < 5``).

The engine is edge-triggered: a :class:`Trigger` is emitted once when a component enters the
abnormal state, nothing while it stays there, and a :class:`Normal` when it comes back. Per
(component, rule) state lives in memory only while a component is abnormal or a Duration or
Repetition is counting; it is dropped when the component is back to normal. State is not
persisted: after a restart an abnormal component triggers again and dedup adds the trigger as
evidence to the open case.

Timestamps are aware datetimes (UTC from ingest). Pure Python, no I/O.
"""

from __future__ import annotations

import operator
from bisect import insort
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
    "==": operator.eq, "!=": operator.ne,
}
#: Operators that make sense for a boolean metric.
BOOL_OPS = ("==", "!=")
NEGATION = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}
URGENCIES = ("urgent", "normal", "low")
CATEGORY_KINDS = ("component", "event")
DEFAULT_TZ = "Asia/Shanghai"


# --------------------------------------------------------------------------------------------
# Rule specs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """``metric op value``; booleans compare with ``==``/``!=`` to true/false."""

    metric: str
    op: str
    value: float | bool

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"operator {self.op!r} not allowed: use one of {' '.join(OPS)}")
        if isinstance(self.value, bool) and self.op not in BOOL_OPS:
            raise ValueError(f"{self.metric} {self.op} {self.value}: true/false compare "
                             "only with == or !=")

    def negated(self) -> Threshold:
        return Threshold(self.metric, NEGATION[self.op], self.value)

    def __str__(self) -> str:
        value = ("true" if self.value else "false") if isinstance(self.value, bool) else (
            f"{self.value:g}")
        return f"{self.metric} {self.op} {value}"


@dataclass(frozen=True)
class Window:
    """A local-time window in which a rule applies, e.g. night 19:00–06:00 Asia/Shanghai.

    ``start`` is inclusive, ``end`` exclusive; a window with ``end`` before ``start`` wraps
    past midnight.
    """

    start: time
    end: time
    tz: str = DEFAULT_TZ
    name: str = ""

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("window start and end are equal: leave the window out to apply "
                             "the rule all day")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"time zone {self.tz!r} unknown: use an IANA name such as "
                             f"{DEFAULT_TZ}")

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


@dataclass(frozen=True)
class Duration:
    """``condition`` holds continuously for longer than ``seconds`` (inside ``window``)."""

    condition: Threshold
    seconds: float
    window: Window | None = None

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise ValueError(f"duration {self.seconds} s must be positive")


@dataclass(frozen=True)
class Repetition:
    """``condition`` seen ``times`` times within ``within_s`` seconds."""

    condition: Threshold
    times: int
    within_s: float

    def __post_init__(self) -> None:
        if isinstance(self.times, bool) or not isinstance(self.times, int) or self.times < 2:
            raise ValueError(f"times {self.times!r} must be a whole number ≥ 2 (once is a "
                             "threshold)")
        if not self.within_s > 0:
            raise ValueError(f"within {self.within_s} s must be positive")


@dataclass(frozen=True)
class NoData:
    """A device silent for longer than ``factor`` × its report period.

    ``period_s`` is used for devices whose own report period is unknown (``None``: skip them).
    """

    period_s: float | None
    factor: float

    def __post_init__(self) -> None:
        if self.period_s is not None and not self.period_s > 0:
            raise ValueError(f"period {self.period_s} s must be positive")
        if not self.factor >= 1:
            raise ValueError(f"factor {self.factor} must be at least 1 (× the report period)")


@dataclass(frozen=True)
class Confidence:
    """A detection of ``event`` (detection code, e.g. ``umbrella``) at ≥ ``min_confidence``."""

    event: str
    min_confidence: float

    def __post_init__(self) -> None:
        _check_confidence(self.min_confidence, "min_confidence")


def _check_confidence(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{name} {value!r} must be between 0 and 1")


@dataclass(frozen=True)
class Category:
    """What a rule opens: a component type (部件) or an event type (事件) by 4-digit code."""

    kind: str
    code: str

    def __post_init__(self) -> None:
        if self.kind not in CATEGORY_KINDS:
            raise ValueError(f"category kind {self.kind!r} must be one of {CATEGORY_KINDS}")
        if len(self.code) != 4 or not self.code.isdigit():
            raise ValueError(f"category code {self.code!r} must be 4 digits")


@dataclass(frozen=True)
class Label:
    """How a metric or event is named in reasons: zh, en, and the unit."""

    zh: str
    en: str
    unit: str = ""


def _check_urgency(urgency: str) -> None:
    if urgency not in URGENCIES:
        raise ValueError(f"urgency {urgency!r} must be one of {', '.join(URGENCIES)}")


@dataclass(frozen=True)
class Rule:
    """A reading rule for one component type."""

    key: str
    when: Threshold | Duration | Repetition
    category: Category
    urgency: str = "normal"
    normal: Threshold | None = None
    label: Label | None = None

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("a rule needs a key")
        _check_urgency(self.urgency)
        if self.normal is not None and self.normal.metric != self.condition.metric:
            raise ValueError(f"normal condition is on {self.normal.metric}, the rule on "
                             f"{self.condition.metric}: use the same metric")

    @property
    def condition(self) -> Threshold:
        return self.when if isinstance(self.when, Threshold) else self.when.condition

    @property
    def normal_condition(self) -> Threshold:
        """When a reading counts as back to normal (default: the trigger's negation)."""
        return self.normal if self.normal is not None else self.condition.negated()


@dataclass(frozen=True)
class EventRule:
    """A detection rule; at or above ``auto_register_confidence`` (``None``: never) the case
    registers and dispatches itself."""

    key: str
    when: Confidence
    category: Category
    urgency: str = "normal"
    auto_register_confidence: float | None = None
    label: Label | None = None

    def __post_init__(self) -> None:
        _check_urgency(self.urgency)
        if self.auto_register_confidence is not None:
            _check_confidence(self.auto_register_confidence, "auto_register_confidence")
            if self.auto_register_confidence < self.when.min_confidence:
                raise ValueError(f"auto_register_confidence {self.auto_register_confidence} "
                                 f"is below min_confidence {self.when.min_confidence}")


@dataclass(frozen=True)
class NoDataRule:
    """The device-fault rule (设备离线): what a silent device opens."""

    key: str
    when: NoData
    category: Category
    urgency: str = "normal"

    def __post_init__(self) -> None:
        _check_urgency(self.urgency)


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trigger:
    """A rule fired: open a case (or add evidence — dedup decides).

    ``lon``/``lat`` are the place, when the caller passed it (dedup by distance needs it).
    A device-fault trigger carries ``device_id`` and no ``component_id``; the caller fills the
    component (``dataclasses.replace``) when the device sits on one.
    """

    rule_key: str
    category_kind: str
    category_code: str
    urgency: str
    component_id: Hashable | None
    ts: datetime
    values: Mapping[str, float | bool]
    reason_zh: str
    reason_en: str
    device_id: Hashable | None = None
    auto_register: bool = False
    lon: float | None = None
    lat: float | None = None


@dataclass(frozen=True, slots=True)
class Normal:
    """A component (or device) is back to normal for a rule: evidence for closure."""

    rule_key: str
    component_id: Hashable | None
    ts: datetime
    values: Mapping[str, float | bool]
    device_id: Hashable | None = None


# --------------------------------------------------------------------------------------------
# Reasons (zh, en)
# --------------------------------------------------------------------------------------------


def _num(value: float, unit: str) -> str:
    text = f"{round(value, 2):g}"
    if not unit:
        return text
    return f"{text}{unit}" if unit in ("°", "%") else f"{text} {unit}"


def _observed(cond: Threshold, value: float | bool, label: Label) -> tuple[str, str]:
    if isinstance(cond.value, bool):
        zh = "是" if value else "否"
        en = "true" if value else "false"
        return f"{label.zh} = {zh}", f"{label.en} = {en}"
    seen = _num(value, label.unit)
    limit = _num(float(cond.value), label.unit)
    return f"{label.zh} {seen} {cond.op} {limit}", f"{label.en} {seen} {cond.op} {limit}"


def _span(seconds: float) -> tuple[str, str]:
    if seconds < 120:
        n = f"{round(seconds):d}"
        return f"{n} 秒", f"{n} s"
    if seconds < 7200:
        n = f"{round(seconds / 60, 1):g}"
        return f"{n} 分钟", f"{n} min"
    n = f"{round(seconds / 3600, 1):g}"
    return f"{n} 小时", f"{n} h"


def _label(rule: Rule) -> Label:
    return rule.label or Label(rule.condition.metric, rule.condition.metric)


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------

_THRESHOLD, _DURATION, _REPETITION = 0, 1, 2
_MISSING = object()
_ACTIVE = True  # a threshold rule's whole state: "fired, not yet back to normal"


class _Compiled:
    """A rule flattened for the hot path: attribute reads and one C comparison."""

    __slots__ = ("key", "kind", "metric", "ntest", "nvalue", "rule", "seconds", "test",
                 "times", "tz", "value", "wend", "within", "wstart")

    def __init__(self, rule: Rule) -> None:
        cond, normal = rule.condition, rule.normal_condition
        self.rule = rule
        self.key = rule.key
        self.metric = cond.metric
        self.test = OPS[cond.op]
        self.value = cond.value
        self.ntest = OPS[normal.op]
        self.nvalue = normal.value
        self.seconds = 0.0
        self.tz: ZoneInfo | None = None
        self.wstart = self.wend = 0
        self.times = 0
        self.within = 0.0
        when = rule.when
        if isinstance(when, Duration):
            self.kind = _DURATION
            self.seconds = float(when.seconds)
            if when.window is not None:
                w = when.window
                self.tz = ZoneInfo(w.tz)
                self.wstart = w.start.hour * 3600 + w.start.minute * 60 + w.start.second
                self.wend = w.end.hour * 3600 + w.end.minute * 60 + w.end.second
        elif isinstance(when, Repetition):
            self.kind = _REPETITION
            self.times = when.times
            self.within = float(when.within_s)
        else:
            self.kind = _THRESHOLD

    def window_opened(self, ts: datetime) -> float | None:
        """When the window containing ``ts`` opened (epoch s), or None if ``ts`` is outside."""
        local = ts.astimezone(self.tz)
        s = local.hour * 3600 + local.minute * 60 + local.second
        start, end = self.wstart, self.wend
        if start < end:
            if not start <= s < end:
                return None
            back = s - start
        elif s >= start:
            back = s - start
        elif s < end:
            back = s + 86400 - start
        else:
            return None
        return ts.timestamp() - back - local.microsecond / 1e6


class _Counting:
    """Duration state: since when the condition holds, the last reading, fired or not."""

    __slots__ = ("fired", "last", "start")

    def __init__(self, start: float | None, last: float) -> None:
        self.start = start
        self.last = last
        self.fired = False


class _Seen:
    """Repetition state: the latest ``times`` sightings (sorted epoch s), fired or not."""

    __slots__ = ("fired", "seen")

    def __init__(self, t: float) -> None:
        self.seen = [t]
        self.fired = False


class RuleEngine:
    """Evaluates reading rules by component type, detection rules by event, and no-data.

    ``rules_by_type`` maps a component type code to its rules; ``events`` maps a detection code
    (``umbrella``) to its rule; ``no_data`` is the device-fault rule (``None``: no checks).
    Not thread-safe: one engine per ingest writer thread.
    """

    def __init__(self, rules_by_type: Mapping[str, tuple[Rule, ...]],
                 events: Mapping[str, EventRule] | None = None,
                 no_data: NoDataRule | None = None) -> None:
        for code, rules in rules_by_type.items():
            keys = [r.key for r in rules]
            if len(set(keys)) != len(keys):
                raise ValueError(f"component type {code}: rule keys repeat: {keys}")
        self._by_type: dict[str, tuple[Rule, ...]] = dict(rules_by_type)
        self._compiled: dict[str, tuple[_Compiled, ...]] = {
            code: tuple(_Compiled(r) for r in rules)
            for code, rules in rules_by_type.items() if rules
        }
        #: Per type, (metric, test, limit) of every rule: the quick check that most readings
        #: (nothing abnormal, nothing counting) need and no more.
        self._quick: dict[str, tuple[tuple[str, Any, Any], ...]] = {
            code: tuple((r.metric, r.test, r.value) for r in compiled)
            for code, compiled in self._compiled.items()
        }
        self._events: dict[str, EventRule] = dict(events or {})
        self._no_data = no_data
        #: component id → {rule key → state}; only components that are abnormal or counting.
        self._state: dict[Hashable, dict[str, Any]] = {}
        self._silent: set[Hashable] = set()

    # -- readings ----------------------------------------------------------------------------

    def on_reading(self, component_id: Hashable, type_code: str | None, ts: datetime,
                   metrics: Mapping[str, float | bool], lon: float | None = None,
                   lat: float | None = None) -> list[Trigger | Normal]:
        """Evaluate one reading; O(rules of this type). Metrics a reading lacks are skipped."""
        out: list[Trigger | Normal] = []
        rules = self._compiled.get(type_code)  # type: ignore[arg-type]
        if rules is None:
            return out
        states = self._state.get(component_id)
        if states is None:  # no state: only an abnormal value can change anything
            get = metrics.get
            for metric, test, limit in self._quick[type_code]:  # type: ignore[index]
                v = get(metric, _MISSING)
                if v is not _MISSING and test(v, limit):
                    break
            else:
                return out
        t = -1.0  # epoch seconds, computed only when a Duration/Repetition needs it
        for r in rules:
            v = metrics.get(r.metric, _MISSING)
            if v is _MISSING:
                continue
            bad = r.test(v, r.value)
            kind = r.kind
            if kind == _THRESHOLD:
                if bad:
                    if states is None:
                        states = self._state[component_id] = {}
                    elif r.key in states:
                        continue
                    states[r.key] = _ACTIVE
                    out.append(self._trigger(r, component_id, ts, v, lon, lat))
                elif states is not None and r.key in states and r.ntest(v, r.nvalue):
                    del states[r.key]
                    out.append(Normal(r.key, component_id, ts, {r.metric: v}))
                continue
            st = states.get(r.key) if states is not None else None
            if st is None and not bad:
                continue
            if t < 0:
                t = ts.timestamp()
            if kind == _DURATION:
                if st is not None and t < st.last:
                    continue  # out of order: older than what the state has seen
                if bad:
                    opened = r.window_opened(ts) if r.tz is not None else None
                    if r.tz is not None and opened is None:  # outside the window
                        if st is not None:
                            st.last = t
                            st.start = None
                            if not st.fired:
                                del states[r.key]
                        continue
                    if st is None:
                        if states is None:
                            states = self._state[component_id] = {}
                        st = states[r.key] = _Counting(t, t)
                    else:
                        st.last = t
                        if st.start is None:
                            st.start = t
                    start = st.start if opened is None or st.start > opened else opened
                    if not st.fired and t - start > r.seconds:
                        st.fired = True
                        out.append(self._trigger(r, component_id, ts, v, lon, lat, t - start))
                else:
                    st.last = t
                    st.start = None
                    if r.ntest(v, r.nvalue):
                        if st.fired:
                            out.append(Normal(r.key, component_id, ts, {r.metric: v}))
                        del states[r.key]
                    elif not st.fired:
                        del states[r.key]
            else:  # _REPETITION
                if bad:
                    if st is None:
                        if states is None:
                            states = self._state[component_id] = {}
                        st = states[r.key] = _Seen(t)
                    else:
                        seen = st.seen
                        insort(seen, t)
                        if len(seen) > r.times:
                            del seen[0]
                    seen = st.seen
                    if (not st.fired and len(seen) >= r.times
                            and seen[-1] - seen[0] <= r.within):
                        st.fired = True
                        out.append(self._trigger(r, component_id, ts, v, lon, lat))
                elif t - st.seen[-1] > r.within and r.ntest(v, r.nvalue):
                    # quiet for a whole window and normal now
                    if st.fired:
                        out.append(Normal(r.key, component_id, ts, {r.metric: v}))
                    del states[r.key]
        if states is not None and not states:
            del self._state[component_id]
        return out

    def _trigger(self, r: _Compiled, component_id: Hashable, ts: datetime, v: float | bool,
                 lon: float | None, lat: float | None, held: float = 0.0) -> Trigger:
        rule = r.rule
        label = _label(rule)
        zh, en = _observed(rule.condition, v, label)
        values: dict[str, float | bool] = {r.metric: v}
        when = rule.when
        if isinstance(when, Duration):
            held_zh, held_en = _span(held)
            limit_zh, limit_en = _span(when.seconds)
            zh += f" 持续 {held_zh} > {limit_zh}"
            en += f" for {held_en} > {limit_en}"
            if when.window is not None:
                zh += f"（{when.window}）"
                en += f" ({when.window})"
            values["held_s"] = round(held, 1)
        elif isinstance(when, Repetition):
            within_zh, within_en = _span(when.within_s)
            zh += f"，{within_zh}内 {when.times} 次"
            en += f", {when.times} times within {within_en}"
            values["times"] = when.times
        return Trigger(rule.key, rule.category.kind, rule.category.code, rule.urgency,
                       component_id, ts, values, zh, en, lon=lon, lat=lat)

    # -- detections --------------------------------------------------------------------------

    def on_detection(self, event: str, confidence: float, ts: datetime, *,
                     device_id: Hashable | None = None, component_id: Hashable | None = None,
                     lon: float | None = None, lat: float | None = None) -> Trigger | None:
        """A camera detection at or above its event's ``min_confidence`` → a Trigger.

        Not edge-triggered: every sighting is a trigger, and dedup makes repeated sightings
        of one violation evidence on one case.
        """
        rule = self._events.get(event)
        if rule is None or confidence < rule.when.min_confidence:
            return None
        auto = (rule.auto_register_confidence is not None
                and confidence >= rule.auto_register_confidence)
        label = rule.label or Label(event, event)
        c = f"{confidence:.2f}"
        limit = f"{rule.when.min_confidence:g}"
        return Trigger(
            rule.key, rule.category.kind, rule.category.code, rule.urgency, component_id, ts,
            {"confidence": confidence},
            f"视频识别 {label.zh}，置信度 {c} ≥ {limit}",
            f"camera detected {label.en}, confidence {c} ≥ {limit}",
            device_id=device_id, auto_register=auto, lon=lon, lat=lat,
        )

    # -- no data -----------------------------------------------------------------------------

    def silent(self, last_seen: Mapping[Hashable, tuple[datetime, float | None]],
               now: datetime) -> list[Trigger | Normal]:
        """Devices silent longer than factor × report period → device-fault Triggers.

        ``last_seen`` maps device id → (last message time, report period in s or ``None`` for
        the rule's default). Called periodically. Edge-triggered like readings: a device fires
        once when it goes silent; when it is heard again it yields a :class:`Normal` (evidence
        for closing the device-fault case). Devices missing from ``last_seen`` are forgotten.
        """
        out: list[Trigger | Normal] = []
        rule = self._no_data
        if rule is None:
            return out
        factor, default = rule.when.factor, rule.when.period_s
        still: set[Hashable] = set()
        for device, (seen_at, period) in last_seen.items():
            period = period or default
            if period is None:
                continue
            gap = (now - seen_at).total_seconds()
            limit = factor * period
            if gap > limit:
                still.add(device)
                if device in self._silent:
                    continue
                gap_zh, gap_en = _span(gap)
                period_zh, period_en = _span(period)
                out.append(Trigger(
                    rule.key, rule.category.kind, rule.category.code, rule.urgency, None, now,
                    {"silent_s": round(gap, 1), "period_s": float(period)},
                    f"设备 {device} 已 {gap_zh} 无数据（上报周期 {period_zh}，超过 {factor:g} 倍）",
                    f"device {device} silent for {gap_en} (report period {period_en}, over "
                    f"{factor:g}×)",
                    device_id=device,
                ))
            elif device in self._silent:
                out.append(Normal(rule.key, None, seen_at, {"silent_s": round(gap, 1)},
                                  device_id=device))
        self._silent = still
        return out

    # -- introspection -----------------------------------------------------------------------

    def rules_for(self, type_code: str) -> tuple[Rule, ...]:
        return self._by_type.get(type_code, ())

    def tracked(self) -> int:
        """How many components have in-memory state (abnormal or counting)."""
        return len(self._state)


__all__ = [
    "BOOL_OPS", "OPS", "URGENCIES", "Category", "Confidence", "Duration", "EventRule", "Label",
    "NoData", "NoDataRule", "Normal", "Repetition", "Rule", "RuleEngine", "Threshold",
    "Trigger", "Window",
]
