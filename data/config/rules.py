"""Load and validate ``rules.yaml`` (规则表) against the component and event catalogue.

A mistake is a :class:`data.config.ConfigError` ``<file>: <where>: <what>`` and nothing is
loaded: unknown type codes, metrics, events or windows, operators that are not allowed,
true/false metrics compared with ``>``, confidences outside 0..1, durations that are not
positive, unknown fields (a typo would otherwise be silently ignored).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from cases.dedup import DedupPolicy, DedupTable
from cases.rules import (
    BOOL_OPS,
    OPS,
    URGENCIES,
    Category,
    Confidence,
    Duration,
    EventRule,
    Label,
    NoData,
    NoDataRule,
    Repetition,
    Rule,
    RuleEngine,
    Threshold,
    Window,
)
from data.config import CONFIG_DIR, Catalogue, ConfigError, load_catalogue

RULES_FILE = CONFIG_DIR / "rules.yaml"
CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*([<>=!]+)\s*(\S+)\s*$")
KEY = re.compile(r"^[a-z][a-z0-9_.]{0,39}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
TOP_FIELDS = {"timezone", "windows", "metric_labels", "components", "detections", "no_data",
              "dedup"}
RULE_FIELDS = {"key", "when", "for_s", "window", "times", "within_s", "normal", "urgency",
               "opens"}
DETECTION_FIELDS = {"min_confidence", "auto_register_confidence", "urgency"}
NO_DATA_FIELDS = {"key", "factor", "default_period_s", "opens", "urgency"}
POLICY_FIELDS = ("radius_m", "hours", "reopen_days")
DEFAULT_NO_DATA_KEY = "device.no_data"
DEFAULT_NO_DATA_CATEGORY = Category("event", "0601")  # 其他事件


@dataclass(frozen=True)
class RuleSet:
    """The reviewed rule table, ready for :class:`cases.rules.RuleEngine` and dedup."""

    rules_by_type: Mapping[str, tuple[Rule, ...]]
    events: Mapping[str, EventRule]
    no_data: NoDataRule
    dedup: DedupTable
    #: component type code → report period (s), for devices that do not state their own.
    report_periods: Mapping[str, int]

    def engine(self) -> RuleEngine:
        return RuleEngine(self.rules_by_type, self.events, self.no_data)


class _Where:
    def __init__(self, path: Path) -> None:
        self.file = path.name

    def fail(self, where: str, what: str) -> ConfigError:
        return ConfigError(f"{self.file}: {where}: {what}")


def _mapping(value: Any, err: _Where, where: str, allowed: set[str] | None = None,
             ) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise err.fail(where, "expected a mapping {name: value}")
    if allowed is not None:
        unknown = sorted(str(k) for k in value if k not in allowed)
        if unknown:
            raise err.fail(where, f"unknown field {unknown[0]!r} (allowed: "
                                  f"{', '.join(sorted(allowed))})")
    return value


def _number(value: Any, err: _Where, where: str, name: str, *, positive: bool = False,
            minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise err.fail(where, f"{name} {value!r} must be a number")
    if positive and value <= 0:
        raise err.fail(where, f"{name} {value!r} must be positive (seconds > 0)")
    if minimum is not None and value < minimum:
        raise err.fail(where, f"{name} {value!r} must be at least {minimum:g}")
    return value


def _confidence(value: Any, err: _Where, where: str, name: str) -> float:
    value = _number(value, err, where, name)
    if not 0 <= value <= 1:
        raise err.fail(where, f"{name} {value!r} must be between 0 and 1")
    return float(value)


def _urgency(value: Any, err: _Where, where: str) -> str:
    if value not in URGENCIES:
        raise err.fail(where, f"urgency {value!r} must be one of {', '.join(URGENCIES)}")
    return value


def _category(value: Any, catalogue: Catalogue, err: _Where, where: str) -> Category:
    spec = _mapping(value, err, f"{where}: opens", {"kind", "code"})
    kind, code = spec.get("kind"), spec.get("code")
    if not isinstance(code, str):
        raise err.fail(f"{where}: opens", f"code {code!r} must be a quoted 4-digit string")
    if kind == "component":
        known = {t.code for t in catalogue.component_types}
    elif kind == "event":
        known = {t.code for t in catalogue.event_types}
    else:
        raise err.fail(f"{where}: opens", f"kind {kind!r} must be component or event")
    if code not in known:
        raise err.fail(f"{where}: opens", f"{kind} type {code!r} is not in the catalogue")
    return Category(kind, code)


def _condition(text: Any, metrics: Mapping[str, str], type_code: str, err: _Where,
               where: str) -> Threshold:
    if not isinstance(text, str):
        raise err.fail(where, f"{text!r} must be a condition like 'tilt_deg > 15'")
    match = CONDITION.match(text)
    if not match:
        raise err.fail(where, f"{text!r} must be a condition like 'tilt_deg > 15'")
    metric, op, raw = match.groups()
    if op not in OPS:
        raise err.fail(where, f"operator {op!r} not allowed: use one of {' '.join(OPS)}")
    kind = metrics.get(metric)
    if kind is None:
        known = ", ".join(sorted(metrics)) or "none"
        raise err.fail(where, f"metric {metric!r} is not defined for component type "
                              f"{type_code} (known: {known})")
    if kind == "bool":
        if op not in BOOL_OPS:
            raise err.fail(where, f"{metric} is true/false: compare it with == or !=, "
                                  f"not {op}")
        if raw not in ("true", "false"):
            raise err.fail(where, f"{metric} is true/false: compare it with true or false, "
                                  f"not {raw!r}")
        return Threshold(metric, op, raw == "true")
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise err.fail(where, f"{metric} is a number: {raw!r} is not a finite number")
    return Threshold(metric, op, value)


def _windows(doc: Mapping[str, Any], tz: str, err: _Where) -> dict[str, Window]:
    out: dict[str, Window] = {}
    for name, spec in _mapping(doc.get("windows") or {}, err, "windows").items():
        where = f"windows[{name!r}]"
        spec = _mapping(spec, err, where, {"from", "to"})
        times = []
        for field in ("from", "to"):
            text = spec.get(field)
            match = HHMM.match(text) if isinstance(text, str) else None
            if not match:
                raise err.fail(where, f"{field} {text!r} must be a quoted local time \"HH:MM\"")
            times.append(time(int(match[1]), int(match[2])))
        try:
            out[str(name)] = Window(times[0], times[1], tz, str(name))
        except ValueError as exc:
            raise err.fail(where, str(exc))
    return out


def _component_rules(code: str, items: Any, catalogue: Catalogue, windows: Mapping[str, Window],
                     labels: Mapping[str, tuple[str, str]], err: _Where) -> tuple[Rule, ...]:
    ctype = catalogue.component_type(code)
    if ctype is None:
        raise err.fail(f"components[{code!r}]", "unknown component type code (not in "
                                                "component_types.yaml)")
    metrics = {m.name: m.type for m in ctype.metrics}
    units = {m.name: m.unit for m in ctype.metrics}
    if not isinstance(items, list):
        raise err.fail(f"components[{code!r}]", "expected a list of rules")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"components[{code!r}][{i}]"
        spec = _mapping(item, err, where, RULE_FIELDS)
        short = spec.get("key")
        if not isinstance(short, str) or not KEY.match(short):
            raise err.fail(where, f"key {short!r} must be a short snake_case name")
        where = f"{where} ({short})"
        if short in seen:
            raise err.fail(where, f"key {short!r} appears twice for type {code}")
        seen.add(short)
        if "when" not in spec:
            raise err.fail(where, "'when' is required, e.g. when: tilt_deg > 15")
        cond = _condition(spec["when"], metrics, code, err, f"{where}: when")
        normal = None
        if spec.get("normal") is not None:
            normal = _condition(spec["normal"], metrics, code, err, f"{where}: normal")
            if normal.metric != cond.metric:
                raise err.fail(f"{where}: normal", f"must test the rule's metric "
                                                   f"{cond.metric}, not {normal.metric}")
        has_for = "for_s" in spec
        has_rep = "times" in spec or "within_s" in spec
        if has_for and has_rep:
            raise err.fail(where, "use either for_s (duration) or times/within_s "
                                  "(repetition), not both")
        if "window" in spec and not has_for:
            raise err.fail(where, "a window needs for_s (how long inside the window)")
        when: Threshold | Duration | Repetition = cond
        if has_for:
            seconds = _number(spec["for_s"], err, where, "for_s", positive=True)
            window = None
            if "window" in spec:
                window = windows.get(spec["window"])
                if window is None:
                    raise err.fail(where, f"window {spec['window']!r} is not defined under "
                                          f"windows (known: {', '.join(windows) or 'none'})")
            when = Duration(cond, seconds, window)
        elif has_rep:
            if "times" not in spec or "within_s" not in spec:
                raise err.fail(where, "a repetition needs both times and within_s")
            times = spec["times"]
            if isinstance(times, bool) or not isinstance(times, int) or times < 2:
                raise err.fail(where, f"times {times!r} must be a whole number ≥ 2")
            within = _number(spec["within_s"], err, where, "within_s", positive=True)
            when = Repetition(cond, times, within)
        category = (_category(spec["opens"], catalogue, err, where) if "opens" in spec
                    else Category("component", code))
        zh, en = labels.get(cond.metric, (cond.metric, cond.metric))
        try:
            rules.append(Rule(f"{code}.{short}", when, category,
                              _urgency(spec.get("urgency", "normal"), err, where), normal,
                              Label(zh, en, units.get(cond.metric, ""))))
        except ValueError as exc:
            raise err.fail(where, str(exc))
    return tuple(rules)


def _detections(doc: Any, catalogue: Catalogue, err: _Where) -> dict[str, EventRule]:
    out: dict[str, EventRule] = {}
    for detection, spec in _mapping(doc or {}, err, "detections").items():
        where = f"detections[{detection!r}]"
        etype = catalogue.event_for_detection(str(detection))
        if etype is None:
            known = ", ".join(sorted(t.detection for t in catalogue.event_types if t.detection))
            raise err.fail(where, f"unknown detection event (known: {known})")
        spec = _mapping(spec, err, where, DETECTION_FIELDS)
        if "min_confidence" not in spec:
            raise err.fail(where, "min_confidence is required")
        low = _confidence(spec["min_confidence"], err, where, "min_confidence")
        auto = spec.get("auto_register_confidence")
        if auto is not None:
            auto = _confidence(auto, err, where, "auto_register_confidence")
            if auto < low:
                raise err.fail(where, f"auto_register_confidence {auto:g} is below "
                                      f"min_confidence {low:g}")
        out[str(detection)] = EventRule(
            f"{etype.code}.{detection}", Confidence(str(detection), low),
            Category("event", etype.code), _urgency(spec.get("urgency", "normal"), err, where),
            auto, Label(etype.name, etype.name_en.lower()),
        )
    return out


def _no_data(doc: Any, catalogue: Catalogue, err: _Where) -> NoDataRule:
    spec = _mapping(doc or {}, err, "no_data", NO_DATA_FIELDS)
    factor = _number(spec.get("factor", 3), err, "no_data", "factor", minimum=1)
    period = spec.get("default_period_s")
    if period is not None:
        period = _number(period, err, "no_data", "default_period_s", positive=True)
    key = spec.get("key", DEFAULT_NO_DATA_KEY)
    if not isinstance(key, str) or not KEY.match(key):
        raise err.fail("no_data", f"key {key!r} must be a short snake_case name")
    category = (_category(spec["opens"], catalogue, err, "no_data") if "opens" in spec
                else DEFAULT_NO_DATA_CATEGORY)
    return NoDataRule(key, NoData(period, factor), category,
                      _urgency(spec.get("urgency", "low"), err, "no_data"))


def _policy(spec: Any, base: DedupPolicy, err: _Where, where: str) -> DedupPolicy:
    spec = _mapping(spec, err, where, set(POLICY_FIELDS))
    values = {name: getattr(base, name) for name in POLICY_FIELDS}
    for name in POLICY_FIELDS:
        if name in spec:
            values[name] = _number(spec[name], err, where, name, minimum=0)
    return DedupPolicy(**values)


def _dedup(doc: Any, catalogue: Catalogue, err: _Where) -> DedupTable:
    spec = _mapping(doc or {}, err, "dedup", {"default", "event", "component"})
    default = _policy(spec.get("default") or {}, DedupPolicy(), err, "dedup: default")
    table: dict[tuple[str, str], DedupPolicy] = {}
    for kind, types in (("event", catalogue.event_types),
                        ("component", catalogue.component_types)):
        entries = _mapping(spec.get(kind) or {}, err, f"dedup: {kind}")
        majors = {t.major_code for t in types}
        codes = {t.code for t in types}
        for code in entries:
            if not isinstance(code, str) or (code not in majors and code not in codes):
                raise err.fail(f"dedup: {kind}[{code!r}]", f"not a quoted {kind} major class "
                                                           "(2 digits) or type code (4 digits) "
                                                           "in the catalogue")
        # major classes first, so a type code inherits from its major class
        for code in sorted(entries, key=len):
            base = table.get((kind, code[:2]), default) if len(code) == 4 else default
            table[(kind, code)] = _policy(entries[code], base, err, f"dedup: {kind}[{code!r}]")
    return DedupTable(default, table)


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found")
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}")


def load_rules(path: Path = RULES_FILE, catalogue: Catalogue | None = None) -> RuleSet:
    """Load ``rules.yaml``, validated against ``catalogue`` (default: the shipped one)."""
    path = Path(path)
    catalogue = catalogue if catalogue is not None else load_catalogue()
    err = _Where(path)
    doc = _mapping(_read(path), err, "top level", TOP_FIELDS)
    tz = doc.get("timezone", "Asia/Shanghai")
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise err.fail("timezone", f"{tz!r} is not an IANA time zone (e.g. Asia/Shanghai)")
    windows = _windows(doc, str(tz), err)
    all_metrics = {m.name: m.unit for t in catalogue.component_types for m in t.metrics}
    labels: dict[str, tuple[str, str]] = {}
    for metric, spec in _mapping(doc.get("metric_labels") or {}, err, "metric_labels").items():
        where = f"metric_labels[{metric!r}]"
        if metric not in all_metrics:
            raise err.fail(where, "not a metric of any component type")
        spec = _mapping(spec, err, where, {"zh", "en"})
        if not all(isinstance(spec.get(k), str) and spec[k].strip() for k in ("zh", "en")):
            raise err.fail(where, "needs both zh and en names")
        labels[str(metric)] = (spec["zh"], spec["en"])
    rules_by_type: dict[str, tuple[Rule, ...]] = {}
    for code, items in _mapping(doc.get("components") or {}, err, "components").items():
        if not isinstance(code, str):
            raise err.fail(f"components[{code!r}]", "quote the type code, e.g. \"0101\" "
                                                    "(unquoted, YAML reads it as a number)")
        rules_by_type[code] = _component_rules(code, items, catalogue, windows, labels, err)
    return RuleSet(
        rules_by_type=rules_by_type,
        events=_detections(doc.get("detections"), catalogue, err),
        no_data=_no_data(doc.get("no_data"), catalogue, err),
        dedup=_dedup(doc.get("dedup"), catalogue, err),
        report_periods={t.code: t.report_period_s for t in catalogue.component_types
                        if t.report_period_s},
    )


__all__ = ["RULES_FILE", "RuleSet", "load_rules"]
