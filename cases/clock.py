"""The SLA clock (掐表计时): deadlines, time used and the traffic light, over a work calendar.

Pure Python (stdlib and :mod:`zoneinfo`); every function takes plain values.

Conventions, for every function here:

- Datetimes are timezone-aware; a naive one raises :class:`ValueError`. Results are in the
  calendar's time zone. Durations are measured on absolute time (through UTC), never by
  adding a fixed offset to wall-clock times.
- Working time is the union of the calendar's working periods on its workdays. A period is
  half-open: 08:30 is working time, 12:00 is not (the first moment of lunch).
- A pause (挂账, suspension) is a ``(begin, end)`` interval during which the clock stops; ``end``
  is None while the case is still suspended. Overlapping pauses count once.

Units of a :class:`TimeLimit`:

``working_hours``
    working time only. The deadline is the *earliest* moment at which the limit has been used,
    so a limit that runs out at the end of a period is due at that period's end (17:30).
``working_days``
    one working day is the calendar's working time per workday (:attr:`WorkCalendar.day_length`,
    7.5 h by default). The deadline is the same local clock time on the n-th following workday
    (:meth:`WorkCalendar.add_working_days`); a start outside working time first moves to the
    next working moment. Fractions of a day (0.5) are working time after the whole days.
``natural_hours`` / ``natural_days``
    elapsed time, ignoring the calendar (a natural day is 24 hours).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WORKING_HOURS = "working_hours"
WORKING_DAYS = "working_days"
NATURAL_HOURS = "natural_hours"
NATURAL_DAYS = "natural_days"
UNITS = (WORKING_HOURS, WORKING_DAYS, NATURAL_HOURS, NATURAL_DAYS)

#: Steps with a limit: register (立案), dispatch (派遣), handle (处置), verify (核实).
STEPS = ("register", "dispatch", "handle", "verify")

GREEN = "green"
YELLOW = "yellow"
RED = "red"
#: Fraction of the limit from which the light turns yellow (预警).
WARN_AT = 0.8

SHANGHAI = ZoneInfo("Asia/Shanghai")
_DAY = timedelta(days=1)

Pause = tuple[datetime, datetime | None]


def _aware(dt: datetime, name: str) -> datetime:
    if not isinstance(dt, datetime):
        raise ValueError(f"{name} must be a datetime, not {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} {dt.isoformat()} has no time zone; pass an aware datetime "
                         "(e.g. with tzinfo=ZoneInfo('Asia/Shanghai'))")
    return dt


def _utc(dt: datetime, name: str = "datetime") -> datetime:
    return _aware(dt, name).astimezone(UTC)


@dataclass(frozen=True)
class WorkCalendar:
    """The bureau's work calendar (工作日历).

    ``weekdays`` are the usual workdays (0 = Monday … 6 = Sunday); ``periods`` the working
    periods of every workday, in local time; ``holidays`` days off even on a weekday (法定节假日);
    ``workdays`` make-up workdays (调休上班) even on a weekend. Invalid values raise
    :class:`ValueError`.
    """

    tz: ZoneInfo = SHANGHAI
    weekdays: frozenset[int] = frozenset(range(5))
    periods: tuple[tuple[time, time], ...] = ((time(8, 30), time(12)), (time(13, 30), time(17, 30)))
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    _day_length: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        object.__setattr__(self, "periods", tuple((a, b) for a, b in self.periods))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError(f"weekdays {sorted(self.weekdays)} must be a non-empty set of "
                             "0 (Monday) … 6 (Sunday)")
        if not self.periods:
            raise ValueError("a workday needs at least one working period")
        for i, (a, b) in enumerate(self.periods):
            if a.tzinfo is not None or b.tzinfo is not None:
                raise ValueError(f"period {i + 1}: give local times without tzinfo")
            if b <= a:
                raise ValueError(f"period {i + 1} ({a:%H:%M}-{b:%H:%M}) ends before it starts")
            if i and a < self.periods[i - 1][1]:
                prev = self.periods[i - 1]
                raise ValueError(f"period {i + 1} ({a:%H:%M}-{b:%H:%M}) overlaps or comes before "
                                 f"period {i} ({prev[0]:%H:%M}-{prev[1]:%H:%M}); list them in "
                                 "order without overlap")
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"{', '.join(map(str, sorted(both)))}: both a holiday and a make-up "
                             "workday")
        ref = date(2000, 1, 3)
        length = sum((datetime.combine(ref, b) - datetime.combine(ref, a)
                      for a, b in self.periods), timedelta())
        object.__setattr__(self, "_day_length", length)

    @property
    def day_length(self) -> timedelta:
        """Working time in one workday (one ``working_days`` unit): 7.5 h by default."""
        return self._day_length

    def is_workday(self, d: date) -> bool:
        """True on a make-up workday, False on a holiday, else whether it is a usual weekday."""
        if d in self.workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() in self.weekdays

    def _local(self, d: date, t: time) -> datetime:
        # Through UTC and back so that a wall time skipped by a DST change is normalised.
        return datetime.combine(d, t, self.tz).astimezone(UTC).astimezone(self.tz)

    def _periods_utc(self, d: date) -> Iterator[tuple[datetime, datetime]]:
        if self.is_workday(d):
            for a, b in self.periods:
                yield (datetime.combine(d, a, self.tz).astimezone(UTC),
                       datetime.combine(d, b, self.tz).astimezone(UTC))

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """Working time in ``[start, end)`` as an exact :class:`timedelta`."""
        s, e = _utc(start, "start"), _utc(end, "end")
        if e < s:
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        total = timedelta()
        d, last = s.astimezone(self.tz).date(), e.astimezone(self.tz).date()
        while d <= last:
            for ps, pe in self._periods_utc(d):
                lo, hi = max(s, ps), min(e, pe)
                if hi > lo:
                    total += hi - lo
            d += _DAY
        return total

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Working seconds between two aware datetimes (``end`` not before ``start``)."""
        return self.working_time(start, end).total_seconds()

    def next_working_moment(self, dt: datetime) -> datetime:
        """``dt`` itself if it is working time, else the start of the next working period."""
        s = _utc(dt, "dt")
        d = s.astimezone(self.tz).date()
        while True:
            for ps, pe in self._periods_utc(d):
                if s < pe:
                    return max(s, ps).astimezone(self.tz)
            d += _DAY

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The earliest moment by which ``amount`` of working time has passed since ``start``.

        A zero amount returns ``start``; a limit that runs out exactly at the end of a period
        returns the period's end (12:00, 17:30), not the start of the next one.
        """
        s = _utc(start, "start")
        if amount < timedelta():
            raise ValueError(f"cannot add negative working time ({amount})")
        if not amount:
            return s.astimezone(self.tz)
        remaining = amount
        d = s.astimezone(self.tz).date()
        while True:
            for ps, pe in self._periods_utc(d):
                if pe <= s:
                    continue
                lo = max(s, ps)
                if remaining <= pe - lo:
                    return (lo + remaining).astimezone(self.tz)
                remaining -= pe - lo
            d += _DAY

    def add_working(self, start: datetime, seconds: float) -> datetime:
        """:meth:`add_working_time` with the amount in seconds."""
        return self.add_working_time(start, timedelta(seconds=seconds))

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The same local clock time on the n-th workday after ``start``.

        A start outside working time (evening, weekend, holiday, lunch) first moves to the next
        working moment: reported Friday 19:00 + 1 working day → Tuesday 08:30 (Monday 08:30 is
        where the clock starts). ``n = 0`` gives that next working moment.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a whole number of days >= 0, not {n!r}")
        begin = self.next_working_moment(start)
        d, t = begin.date(), begin.time()
        for _ in range(n):
            d += _DAY
            while not self.is_workday(d):
                d += _DAY
        return self._local(d, t)


@dataclass(frozen=True)
class TimeLimit:
    """A step's time limit (处置时限): ``amount`` (> 0) of ``unit`` (one of :data:`UNITS`)."""

    amount: float
    unit: str

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unknown time-limit unit {self.unit!r}; use one of "
                             + ", ".join(UNITS))
        amount = self.amount
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise ValueError(f"time-limit amount {amount!r} must be a number")
        if not math.isfinite(amount) or amount <= 0:
            raise ValueError(f"time-limit amount must be greater than 0, not {amount!r}")

    @classmethod
    def parse(cls, text: str) -> TimeLimit:
        """``"4 working_hours"``, ``"0.5 natural_hours"``, ``"5 working_days"``."""
        m = re.fullmatch(r"\s*([-+]?\d+(?:\.\d+)?)\s+([a-z_]+)\s*", str(text))
        if not m:
            raise ValueError(f"time limit {text!r} must read '<amount> <unit>', e.g. "
                             "'4 working_hours'")
        number = float(m.group(1))
        return cls(int(number) if number.is_integer() else number, m.group(2))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimeLimit:
        """``{"amount": 4, "unit": "working_hours"}``."""
        if set(data) != {"amount", "unit"}:
            raise ValueError(f"time limit {dict(data)!r} needs exactly 'amount' and 'unit'")
        return cls(data["amount"], data["unit"])

    def __str__(self) -> str:
        return f"{self.amount:g} {self.unit}"

    @property
    def counts_working_time(self) -> bool:
        return self.unit in (WORKING_HOURS, WORKING_DAYS)

    def duration(self, calendar: WorkCalendar) -> timedelta:
        """The limit as counted time: working time for working units, elapsed time otherwise."""
        hours = {WORKING_HOURS: 1, NATURAL_HOURS: 1, NATURAL_DAYS: 24}
        if self.unit == WORKING_DAYS:
            return calendar.day_length * self.amount
        return timedelta(hours=hours[self.unit] * self.amount)


def _pauses(pauses: Iterable[Pause], start: datetime) -> list[tuple[datetime, datetime | None]]:
    """Pauses in UTC, clipped to ``start``, sorted and merged; an open pause (None) is last."""
    spans: list[tuple[datetime, datetime | None]] = []
    for i, pause in enumerate(pauses):
        try:
            begin, end = pause
        except (TypeError, ValueError):
            raise ValueError(f"pause {i}: expected a (begin, end) pair, not {pause!r}")
        b = _utc(begin, f"pause {i} begin")
        e = None if end is None else _utc(end, f"pause {i} end")
        if e is not None and e < b:
            raise ValueError(f"pause {i}: end {end.isoformat()} is before begin "
                             f"{begin.isoformat()}")
        b = max(b, start)
        if e is not None and e <= b:
            continue
        spans.append((b, e))
    spans.sort(key=lambda p: p[0])
    merged: list[tuple[datetime, datetime | None]] = []
    for b, e in spans:
        if merged:
            pb, pe = merged[-1]
            if pe is None:
                break
            if b <= pe:
                merged[-1] = (pb, None if e is None else max(pe, e))
                continue
        merged.append((b, e))
    return merged


def _counted(a: datetime, b: datetime, limit: TimeLimit, calendar: WorkCalendar) -> timedelta:
    if b <= a:
        return timedelta()
    return calendar.working_time(a, b) if limit.counts_working_time else b - a


def _advance(a: datetime, amount: timedelta, limit: TimeLimit,
             calendar: WorkCalendar) -> datetime:
    if limit.counts_working_time:
        return calendar.add_working_time(a, amount).astimezone(UTC)
    return a + amount


def deadline(start: datetime, limit: TimeLimit, calendar: WorkCalendar,
             pauses: Iterable[Pause] = ()) -> datetime | None:
    """When the step started at ``start`` is due under ``limit``.

    Time inside ``pauses`` does not count, so each pause moves the deadline later by the time it
    covers in the limit's own unit (working time for working units, elapsed time otherwise). A
    pause that begins after the deadline changes nothing.

    Returns None while the clock is stopped by an open pause (end None) before the deadline was
    reached: the deadline depends on when the suspension ends.
    """
    s = _utc(start, "start")
    total = limit.duration(calendar)
    remaining = total
    cursor = s
    spans = _pauses(pauses, s)
    end: datetime | None = None
    for b, e in spans:
        if b > cursor:
            available = _counted(cursor, b, limit, calendar)
            if remaining <= available:
                end = _advance(cursor, remaining, limit, calendar)
                break
            remaining -= available
        if e is None:
            return None
        cursor = max(cursor, e)
    if end is None:
        end = _advance(cursor, remaining, limit, calendar)
    if limit.unit == WORKING_DAYS:
        # Same clock time on the n-th workday: the first counted (working, not paused) moment
        # at or after the moment the limit ran out. Without pauses this is exactly
        # WorkCalendar.add_working_days for whole days.
        while True:
            end = calendar.next_working_moment(end).astimezone(UTC)
            inside = next(((b, e) for b, e in spans if b <= end and (e is None or end < e)), None)
            if inside is None:
                break
            if inside[1] is None:
                return None
            end = inside[1]
    return end.astimezone(calendar.tz)


def used(start: datetime, now: datetime, limit: TimeLimit, calendar: WorkCalendar,
         pauses: Iterable[Pause] = ()) -> float:
    """Fraction of ``limit`` used between ``start`` and ``now``: 0.0 at the start, 1.0 at the
    deadline, above 1 when overdue. Paused time does not count (an open pause counts as lasting
    until ``now``); a ``now`` before ``start`` gives 0.0."""
    s, n = _utc(start, "start"), _utc(now, "now")
    if n <= s:
        return 0.0
    counted = _counted(s, n, limit, calendar)
    for b, e in _pauses(pauses, s):
        if b >= n:
            break
        counted -= _counted(b, n if e is None else min(e, n), limit, calendar)
    return counted / limit.duration(calendar)


def light(fraction: float) -> str:
    """Traffic light (红黄绿灯): green below :data:`WARN_AT` (80 %), yellow from 80 % up to and
    including 100 %, red when overdue (above 100 %)."""
    if fraction > 1.0:
        return RED
    if fraction >= WARN_AT:
        return YELLOW
    return GREEN
