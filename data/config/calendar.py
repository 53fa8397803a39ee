"""Load the work calendar (``calendar.yaml``) and the time-limit profiles (``time_limits.yaml``).

Both feed the SLA clock (:mod:`cases.clock`). A mistake raises :class:`ConfigError` as
``file: where: what is wrong`` and nothing is loaded.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from cases.catalogue import URGENCIES
from cases.clock import STEPS, TimeLimit, WorkCalendar
from data.config import CONFIG_DIR, ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CALENDAR_KEYS = ("timezone", "weekdays", "periods", "holidays")
HOLIDAY_KEYS = ("name", "days", "workdays")
MAX_HOLIDAY_DAYS = 15
PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
PROFILE = re.compile(r"^[a-z][a-z0-9_]*$")


class _Loader(yaml.SafeLoader):
    """Safe loader that leaves dates as text, so a bad date is reported where it is."""


_Loader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except FileNotFoundError:
        raise ConfigError(f"{path.name}: file not found ({path})")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "top"
        problem = getattr(exc, "problem", None) or exc
        raise ConfigError(f"{path.name}: {where}: not valid YAML: {problem}")
    if not isinstance(doc, dict):
        raise ConfigError(f"{path.name}: top: expected a mapping of keys, "
                          f"not {type(doc).__name__}")
    return doc


def _unknown(name: str, where: str, given: dict[Any, Any], allowed: tuple[str, ...]) -> None:
    unknown = [str(k) for k in given if k not in allowed]
    if unknown:
        raise ConfigError(f"{name}: {where}: unknown key(s) {', '.join(sorted(unknown))}; "
                          f"allowed: {', '.join(allowed)}")


def _period(name: str, where: str, raw: Any) -> tuple[time, time]:
    if isinstance(raw, int):
        raise ConfigError(f"{name}: {where}: {raw!r} is not a period; write it in quotes, "
                          'e.g. "08:30-12:00" (YAML reads unquoted 08:30 as a number)')
    m = PERIOD.match(raw) if isinstance(raw, str) else None
    if not m:
        raise ConfigError(f"{name}: {where}: {raw!r} must read \"HH:MM-HH:MM\", "
                          'e.g. "08:30-12:00"')
    h1, m1, h2, m2 = map(int, m.groups())
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ConfigError(f"{name}: {where}: {raw!r}: {exc}")
    if end <= start:
        raise ConfigError(f"{name}: {where}: {raw!r} ends before it starts")
    return start, end


def _date(name: str, where: str, raw: Any) -> date:
    if isinstance(raw, datetime):
        raise ConfigError(f"{name}: {where}: {raw!r} is a timestamp; give a date YYYY-MM-DD")
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ConfigError(f"{name}: {where}: {raw!r} is not a date YYYY-MM-DD")


def _holidays(name: str, raw: Any, weekdays: frozenset[int]
              ) -> tuple[frozenset[date], frozenset[date]]:
    if raw is None:
        return frozenset(), frozenset()
    if not isinstance(raw, dict):
        raise ConfigError(f"{name}: holidays: expected a mapping of years to lists of holidays")
    off: dict[date, str] = {}
    on: dict[date, str] = {}
    for year, blocks in raw.items():
        if not re.fullmatch(r"\d{4}", str(year)):
            raise ConfigError(f"{name}: holidays[{year!r}]: the key must be a year, e.g. 2026")
        year = int(year)
        if not isinstance(blocks, list):
            raise ConfigError(f"{name}: holidays[{year}]: expected a list of holidays")
        for i, block in enumerate(blocks):
            where = f"holidays[{year}][{i}]"
            if not isinstance(block, dict):
                raise ConfigError(f"{name}: {where}: expected {{name, days, workdays}}")
            _unknown(name, where, block, HOLIDAY_KEYS)
            title = block.get("name")
            if not isinstance(title, str) or not title.strip():
                raise ConfigError(f"{name}: {where}: 'name' is required (e.g. 春节)")
            where = f"{where} ({title})"
            days = block.get("days")
            if not isinstance(days, list) or len(days) != 2:
                raise ConfigError(f"{name}: {where}: days must be [first, last], "
                                  "e.g. [2026-10-01, 2026-10-07]")
            first, last = (_date(name, f"{where}: days", d) for d in days)
            if last < first:
                raise ConfigError(f"{name}: {where}: days: {last} is before {first}")
            if (last - first).days + 1 > MAX_HOLIDAY_DAYS:
                raise ConfigError(f"{name}: {where}: days {first} to {last} is more than "
                                  f"{MAX_HOLIDAY_DAYS} days; check the dates")
            make_up = block.get("workdays") or []
            if not isinstance(make_up, list):
                raise ConfigError(f"{name}: {where}: workdays must be a list of dates")
            work = [_date(name, f"{where}: workdays", d) for d in make_up]
            for d in (first, last, *work):
                if abs(d.year - year) > 1:
                    raise ConfigError(f"{name}: {where}: {d} is not in or next to {year}")
            for k in range((last - first).days + 1):
                d = first + timedelta(days=k)
                if d in off:
                    raise ConfigError(f"{name}: {where}: {d} is already a holiday in {off[d]}")
                off[d] = where
            for d in work:
                if d.weekday() in weekdays:
                    raise ConfigError(f"{name}: {where}: make-up workday {d} is a "
                                      f"{WEEKDAYS[d.weekday()]}, already a workday; list only "
                                      "weekend days that are worked")
                if d in on:
                    raise ConfigError(f"{name}: {where}: make-up workday {d} is already given "
                                      f"in {on[d]}")
                on[d] = where
    both = sorted(set(off) & set(on))
    if both:
        d = both[0]
        raise ConfigError(f"{name}: {on[d]}: {d} is both a holiday ({off[d]}) and a make-up "
                          "workday")
    return frozenset(off), frozenset(on)


def load_calendar(path: Path = CONFIG_DIR / "calendar.yaml") -> WorkCalendar:
    """Build the :class:`WorkCalendar` from ``calendar.yaml``; raise :class:`ConfigError`."""
    path = Path(path)
    name = path.name
    doc = _read(path)
    _unknown(name, "top", doc, CALENDAR_KEYS)
    for key in ("timezone", "weekdays", "periods"):
        if key not in doc:
            raise ConfigError(f"{name}: top: '{key}' is required")
    tz_name = doc["timezone"]
    try:
        tz = ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name}: timezone: {tz_name!r} is not a known IANA time zone "
                          "(e.g. Asia/Shanghai)")
    raw_days = doc["weekdays"]
    if not isinstance(raw_days, list) or not raw_days:
        raise ConfigError(f"{name}: weekdays: expected a list such as [mon, tue, wed, thu, fri]")
    weekdays: set[int] = set()
    for i, day in enumerate(raw_days):
        if day not in WEEKDAYS:
            raise ConfigError(f"{name}: weekdays[{i}]: {day!r} is not one of "
                              + ", ".join(WEEKDAYS))
        if WEEKDAYS.index(day) in weekdays:
            raise ConfigError(f"{name}: weekdays[{i}]: {day} appears twice")
        weekdays.add(WEEKDAYS.index(day))
    raw_periods = doc["periods"]
    if not isinstance(raw_periods, list) or not raw_periods:
        raise ConfigError(f'{name}: periods: expected a list such as ["08:30-12:00", '
                          '"13:30-17:30"]')
    periods = [(_period(name, f"periods[{i}]", p), i) for i, p in enumerate(raw_periods)]
    periods.sort()
    for (prev, i), (cur, j) in pairwise(periods):
        if cur[0] < prev[1]:
            raise ConfigError(f"{name}: periods[{j}]: {raw_periods[j]!r} overlaps periods[{i}] "
                              f"{raw_periods[i]!r}")
    holidays, workdays = _holidays(name, doc.get("holidays"), frozenset(weekdays))
    try:
        return WorkCalendar(tz=tz, weekdays=frozenset(weekdays),
                            periods=tuple(p for p, _ in periods),
                            holidays=holidays, workdays=workdays)
    except ValueError as exc:  # already checked above; kept so nothing escapes unnamed
        raise ConfigError(f"{name}: top: {exc}")


def _limit(name: str, where: str, raw: Any) -> TimeLimit:
    try:
        if isinstance(raw, dict):
            return TimeLimit.from_dict(raw)
        if isinstance(raw, str):
            return TimeLimit.parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: {where}: {exc}")
    raise ConfigError(f"{name}: {where}: {raw!r} must read '<amount> <unit>', "
                      "e.g. '4 working_hours'")


def load_time_limits(path: Path = CONFIG_DIR / "time_limits.yaml"
                     ) -> dict[str, dict[str, dict[str, TimeLimit]]]:
    """Profiles from ``time_limits.yaml`` as profile → urgency → step → :class:`TimeLimit`.

    Every profile has the urgencies ``urgent``, ``normal``, ``low`` and each of them the steps
    ``register``, ``dispatch``, ``handle``, ``verify``; raise :class:`ConfigError` otherwise.
    """
    path = Path(path)
    name = path.name
    doc = _read(path)
    _unknown(name, "top", doc, ("profiles",))
    profiles = doc.get("profiles")
    if not isinstance(profiles, dict) or not profiles:
        raise ConfigError(f"{name}: profiles: expected a mapping of profile names to limits")
    out: dict[str, dict[str, dict[str, TimeLimit]]] = {}
    for profile, rows in profiles.items():
        where = f"profiles.{profile}"
        if not isinstance(profile, str) or not PROFILE.match(profile):
            raise ConfigError(f"{name}: {where}: the profile name must be snake_case")
        if not isinstance(rows, dict):
            raise ConfigError(f"{name}: {where}: expected a mapping with "
                              + ", ".join(URGENCIES))
        _unknown(name, where, rows, URGENCIES)
        out[profile] = {}
        for urgency in URGENCIES:
            if urgency not in rows:
                raise ConfigError(f"{name}: {where}: urgency '{urgency}' is missing; give "
                                  + ", ".join(URGENCIES))
            steps = rows[urgency]
            at = f"{where}.{urgency}"
            if not isinstance(steps, dict):
                raise ConfigError(f"{name}: {at}: expected a mapping with " + ", ".join(STEPS))
            _unknown(name, at, steps, STEPS)
            out[profile][urgency] = {}
            for step in STEPS:
                if step not in steps:
                    raise ConfigError(f"{name}: {at}: step '{step}' is missing; give "
                                      + ", ".join(STEPS))
                out[profile][urgency][step] = _limit(name, f"{at}.{step}", steps[step])
    return out
