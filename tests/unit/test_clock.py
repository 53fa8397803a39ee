"""The SLA clock (掐表计时): deadlines against hand-computed times over lunch breaks, weekends,
the 2026 holidays and their make-up workdays; pauses; time used and the light; the loaders.

The default calendar works 08:30-12:00 and 13:30-17:30 (7.5 h a day), Monday to Friday.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cases.clock import (
    GREEN,
    RED,
    WARN_AT,
    YELLOW,
    TimeLimit,
    WorkCalendar,
    deadline,
    light,
    used,
)
from data.config import CONFIG_DIR, ConfigError
from data.config.calendar import load_calendar, load_time_limits

SH = ZoneInfo("Asia/Shanghai")
PLAIN = WorkCalendar()  # Monday-Friday, no holidays
CAL = load_calendar()  # the shipped calendar with the 2025 and 2026 holidays

WH4 = TimeLimit(4, "working_hours")


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, tz: ZoneInfo = SH) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz)


# --- the calendar ---------------------------------------------------------------------------

def test_shipped_calendar_has_the_2026_notice() -> None:
    assert CAL.tz == SH and CAL.day_length == timedelta(hours=7.5)
    for day in ("2026-01-01", "2026-02-15", "2026-02-23", "2026-04-06", "2026-05-05",
                "2026-06-19", "2026-09-25", "2026-10-01", "2026-10-07", "2025-10-08"):
        assert not CAL.is_workday(date.fromisoformat(day)), day
    for day in ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20",
                "2026-10-10", "2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28",
                "2025-10-11"):
        assert CAL.is_workday(date.fromisoformat(day)), day  # weekends worked (调休)
    assert CAL.is_workday(date(2026, 10, 8)) and not CAL.is_workday(date(2026, 10, 11))


def test_working_seconds_over_national_day_2026() -> None:
    # Mon 28 Sep .. Sun 11 Oct: worked are 28, 29, 30 Sep, 8, 9 Oct and Sat 10 Oct (调休):
    # 6 days x 7.5 h = 45 h. 20 Sep (Sun, 调休) lies outside the range.
    assert CAL.working_seconds(at(2026, 9, 28), at(2026, 10, 12)) == 45 * 3600
    # 11:00 -> 14:00 on a workday: 1 h before lunch + 0.5 h after.
    assert PLAIN.working_seconds(at(2026, 3, 10, 11), at(2026, 3, 10, 14)) == 1.5 * 3600
    assert PLAIN.working_seconds(at(2026, 3, 14, 9), at(2026, 3, 15, 17)) == 0  # weekend


def test_next_working_moment() -> None:
    assert PLAIN.next_working_moment(at(2026, 3, 10, 8, 30)) == at(2026, 3, 10, 8, 30)
    assert PLAIN.next_working_moment(at(2026, 3, 10, 12)) == at(2026, 3, 10, 13, 30)
    assert PLAIN.next_working_moment(at(2026, 3, 10, 17, 30)) == at(2026, 3, 11, 8, 30)
    assert PLAIN.next_working_moment(at(2026, 3, 14, 10)) == at(2026, 3, 16, 8, 30)  # Sat
    assert CAL.next_working_moment(at(2026, 9, 30, 18)) == at(2026, 10, 8, 8, 30)


# --- deadlines, hand-computed -------------------------------------------------------------

def test_working_hours_across_the_lunch_break() -> None:
    # Tue 10:00: 10:00-12:00 is 2 h, the other 2 h run 13:30-15:30.
    assert deadline(at(2026, 3, 10, 10), WH4, PLAIN) == at(2026, 3, 10, 15, 30)
    # Tue 08:30 + 3.5 h runs out exactly at 12:00: due at 12:00, not 13:30.
    assert deadline(at(2026, 3, 10, 8, 30), TimeLimit(3.5, "working_hours"),
                    PLAIN) == at(2026, 3, 10, 12)
    # Reported at lunch (12:40): the clock starts at 13:30, 4 h later is 17:30.
    assert deadline(at(2026, 3, 10, 12, 40), WH4, PLAIN) == at(2026, 3, 10, 17, 30)


def test_working_hours_over_a_weekend() -> None:
    # Fri 13 Mar 16:00: 1.5 h on Friday (16:00-17:30); Sat and Sun do not count; the other
    # 2.5 h run Mon 16 Mar 08:30-11:00.
    assert deadline(at(2026, 3, 13, 16), WH4, PLAIN) == at(2026, 3, 16, 11)
    # Reported Saturday evening: the clock starts Mon 08:30; 4 h = 08:30-12:00 (3.5) + 0.5.
    assert deadline(at(2026, 3, 14, 20), WH4, PLAIN) == at(2026, 3, 16, 14)


def test_working_hours_across_national_day_2026() -> None:
    # Wed 30 Sep 16:00: 1.5 h that day (16:00-17:30). 1-7 Oct are holidays (Thu-Wed), so the
    # remaining 2.5 h start Thu 8 Oct 08:30 and end at 11:00.
    assert deadline(at(2026, 9, 30, 16), WH4, CAL) == at(2026, 10, 8, 11)
    # Fri 9 Oct 16:00: 1.5 h on Friday; Sat 10 Oct is a make-up workday (调休), so the other
    # 2.5 h end there at 11:00, not on Monday.
    assert deadline(at(2026, 10, 9, 16), WH4, CAL) == at(2026, 10, 10, 11)
    # Fri 18 Sep 16:00: Sat 19 is off but Sun 20 Sep is worked (调休 for National Day).
    assert deadline(at(2026, 9, 18, 16), WH4, CAL) == at(2026, 9, 20, 11)
    # The same start without the holidays would be due Thu 1 Oct 11:00.
    assert deadline(at(2026, 9, 30, 16), WH4, PLAIN) == at(2026, 10, 1, 11)


def test_working_days_across_spring_festival_2026() -> None:
    three = TimeLimit(3, "working_days")
    # Fri 13 Feb 10:00 + 3 workdays: Sat 14 Feb (调休) is 1; 15-23 Feb are the holiday;
    # Tue 24 is 2; Wed 25 is 3 -> Wed 25 Feb 10:00, the same clock time.
    assert deadline(at(2026, 2, 13, 10), three, CAL) == at(2026, 2, 25, 10)
    assert CAL.add_working_days(at(2026, 2, 13, 10), 3) == at(2026, 2, 25, 10)
    # Reported Fri 13 Feb 19:00: the clock starts at the next working moment, Sat 14 Feb
    # 08:30; one workday later is Tue 24 Feb 08:30.
    one = TimeLimit(1, "working_days")
    assert deadline(at(2026, 2, 13, 19), one, CAL) == at(2026, 2, 24, 8, 30)
    # 5 workdays from Mon 23 Feb (still a holiday) 09:00: starts Tue 24 08:30; 25, 26, 27,
    # Sat 28 (调休), Mon 2 Mar -> Mon 2 Mar 08:30.
    assert deadline(at(2026, 2, 23, 9), TimeLimit(5, "working_days"), CAL) == at(2026, 3, 2, 8, 30)
    # Half a day is 3.75 h of working time: Tue 10 Mar 10:00 + 1.5 days = Wed 10:00 + 3.75 h
    # = Wed 10:00-12:00 (2 h) + 13:30-15:15.
    assert deadline(at(2026, 3, 10, 10), TimeLimit(1.5, "working_days"),
                    PLAIN) == at(2026, 3, 11, 15, 15)


def test_working_days_agree_with_add_working_days() -> None:
    # deadline() reaches the "same clock time" rule through working time; check they agree on
    # every half hour of a week around National Day 2026, for 1 to 3 days.
    start = at(2026, 9, 28)
    for k in range(7 * 48):
        t = start + timedelta(minutes=30 * k)
        for n in (1, 2, 3):
            assert deadline(t, TimeLimit(n, "working_days"), CAL) == CAL.add_working_days(t, n), t


def test_natural_units_ignore_the_calendar() -> None:
    # 2 natural days from Wed 30 Sep 16:00 is Fri 2 Oct 16:00, in the middle of the holiday.
    assert deadline(at(2026, 9, 30, 16), TimeLimit(2, "natural_days"), CAL) == at(2026, 10, 2, 16)
    # An urgent case reported Sat 3 Oct 23:00 with 2 natural hours is due Sun 4 Oct 01:00.
    assert deadline(at(2026, 10, 3, 23), TimeLimit(2, "natural_hours"),
                    CAL) == at(2026, 10, 4, 1)
    assert deadline(at(2026, 10, 3, 23, 50), TimeLimit(0.25, "natural_hours"),
                    CAL) == at(2026, 10, 4, 0, 5)


def test_arithmetic_goes_through_the_time_zone() -> None:
    # The same instant given in UTC (02:00Z = 10:00 Shanghai) gives the lunch-break answer,
    # returned in the calendar's zone.
    due = deadline(datetime(2026, 3, 10, 2, tzinfo=UTC), WH4, PLAIN)
    assert due == at(2026, 3, 10, 15, 30) and due.tzinfo == SH
    # A zone with DST: Berlin springs forward on Sun 29 Mar 2026 at 02:00. Fri 27 Mar 16:00 +
    # 4 working hours = 1.5 h Fri + Mon 30 Mar 08:30-11:00 local time.
    berlin = ZoneInfo("Europe/Berlin")
    cal = WorkCalendar(tz=berlin)
    assert deadline(at(2026, 3, 27, 16, tz=berlin), WH4, cal) == at(2026, 3, 30, 11, tz=berlin)
    # 4 natural hours from Sat 28 Mar 23:00 CET (22:00 UTC) are 4 real hours: 02:00 UTC, which
    # is 04:00 CEST on the wall clock (the hour 02:00-03:00 does not exist that night).
    due = deadline(at(2026, 3, 28, 23, tz=berlin), TimeLimit(4, "natural_hours"), cal)
    assert due == datetime(2026, 3, 29, 2, tzinfo=UTC) and due.hour == 4


# --- pauses (挂账) ----------------------------------------------------------------------------

def test_a_pause_moves_the_deadline_by_the_paused_working_time() -> None:
    start = at(2026, 3, 10, 9)  # Tue 09:00 + 4 h: 09:00-12:00 (3 h) + 13:30-14:30
    assert deadline(start, WH4, PLAIN) == at(2026, 3, 10, 14, 30)
    # Suspended 10:00-11:00: one working hour later, 15:30.
    assert deadline(start, WH4, PLAIN, [(at(2026, 3, 10, 10), at(2026, 3, 10, 11))]) \
        == at(2026, 3, 10, 15, 30)
    # Suspended 11:30-14:00 across lunch: 0.5 + 0.5 working hours, so also 15:30.
    assert deadline(start, WH4, PLAIN, [(at(2026, 3, 10, 11, 30), at(2026, 3, 10, 14))]) \
        == at(2026, 3, 10, 15, 30)
    # Suspended over lunch only (12:00-13:30): no working time paused, no change.
    assert deadline(start, WH4, PLAIN, [(at(2026, 3, 10, 12), at(2026, 3, 10, 13, 30))]) \
        == at(2026, 3, 10, 14, 30)
    # A pause that begins after the deadline changes nothing.
    assert deadline(start, WH4, PLAIN, [(at(2026, 3, 10, 15), at(2026, 3, 11, 9))]) \
        == at(2026, 3, 10, 14, 30)
    # Two overlapping pauses 10:00-11:00 and 10:30-11:30 count once: 1.5 h -> 16:00.
    assert deadline(start, WH4, PLAIN, [(at(2026, 3, 10, 10, 30), at(2026, 3, 10, 11, 30)),
                                         (at(2026, 3, 10, 10), at(2026, 3, 10, 11))]) \
        == at(2026, 3, 10, 16)


def test_a_pause_in_natural_and_day_units() -> None:
    # 2 natural hours from 09:00 with a 30-minute pause: 11:30.
    assert deadline(at(2026, 3, 10, 9), TimeLimit(2, "natural_hours"), PLAIN,
                    [(at(2026, 3, 10, 9, 30), at(2026, 3, 10, 10))]) == at(2026, 3, 10, 11, 30)
    # 2 working days from Tue 10 Mar 10:00 are due Thu 12 Mar 10:00. Suspended Wed 08:00-12:00,
    # which holds 3.5 working hours (08:30-12:00): Thu 10:00 + 3.5 h = 10:00-12:00 (2 h) +
    # 13:30-15:00.
    two = TimeLimit(2, "working_days")
    assert deadline(at(2026, 3, 10, 10), two, PLAIN) == at(2026, 3, 12, 10)
    assert deadline(at(2026, 3, 10, 10), two, PLAIN,
                    [(at(2026, 3, 11, 8), at(2026, 3, 11, 12))]) == at(2026, 3, 12, 15)


def test_an_open_pause_stops_the_clock() -> None:
    start = at(2026, 3, 10, 9)
    suspended = [(at(2026, 3, 10, 10), None)]
    assert deadline(start, WH4, PLAIN, suspended) is None
    # Only 09:00-10:00 counts, however long the case stays suspended.
    assert used(start, at(2026, 3, 20, 9), WH4, PLAIN, suspended) == 0.25
    # A still-open pause that begins after the deadline does not hide the deadline.
    assert deadline(start, WH4, PLAIN, [(at(2026, 3, 10, 16), None)]) == at(2026, 3, 10, 14, 30)


# --- time used and the light ----------------------------------------------------------------

def test_used_is_a_fraction_of_the_limit() -> None:
    start = at(2026, 3, 10, 9)  # due 14:30
    assert used(start, start, WH4, PLAIN) == 0.0
    assert used(start, at(2026, 3, 10, 12), WH4, PLAIN) == 0.75
    assert used(start, at(2026, 3, 10, 13), WH4, PLAIN) == 0.75  # lunch does not count
    # 3.2 h = 80 %: 09:00-12:00 (3 h) + 13:30-13:42 (12 min).
    assert used(start, at(2026, 3, 10, 13, 42), WH4, PLAIN) == 0.8 == WARN_AT
    assert used(start, at(2026, 3, 10, 14, 30), WH4, PLAIN) == 1.0
    assert used(start, at(2026, 3, 10, 15, 30), WH4, PLAIN) == 1.25
    assert used(start, at(2026, 3, 10, 8), WH4, PLAIN) == 0.0  # now before start
    # With a 1-hour pause at 10:00: at 12:00 only 2 h count.
    paused = [(at(2026, 3, 10, 10), at(2026, 3, 10, 11))]
    assert used(start, at(2026, 3, 10, 12), WH4, PLAIN, paused) == 0.5


@pytest.mark.parametrize(("start", "limit", "pauses"), [
    (at(2026, 9, 30, 16), WH4, ()),
    (at(2026, 2, 13, 10), TimeLimit(3, "working_days"), ()),
    (at(2026, 2, 13, 19), TimeLimit(1, "working_days"), ()),
    (at(2026, 9, 30, 16), TimeLimit(2, "natural_days"), ()),
    (at(2026, 3, 10, 10), TimeLimit(2, "working_days"),
     [(at(2026, 3, 11, 8), at(2026, 3, 11, 12))]),
    (at(2026, 3, 10, 9), TimeLimit(2, "natural_hours"), [(at(2026, 3, 10, 9, 30),
                                                          at(2026, 3, 10, 10))]),
])
def test_used_is_exactly_one_at_the_deadline(start, limit, pauses) -> None:
    due = deadline(start, limit, CAL, pauses)
    assert used(start, due, limit, CAL, pauses) == 1.0
    assert light(used(start, due, limit, CAL, pauses)) == YELLOW
    later = due + timedelta(minutes=1)
    assert used(start, later, limit, CAL, pauses) > 1.0
    assert light(used(start, later, limit, CAL, pauses)) == RED


def test_used_in_working_days_across_spring_festival() -> None:
    start, three = at(2026, 2, 13, 10), TimeLimit(3, "working_days")  # due Wed 25 Feb 10:00
    # By Fri 20 Feb (mid-holiday): Fri 13 Feb 10:00-17:30 (2 + 4 = 6 h) and all of Sat 14 Feb
    # (调休, 7.5 h) = 13.5 h of the 3 x 7.5 = 22.5 h: 0.6, and it stays there over the holiday.
    assert used(start, at(2026, 2, 20, 10), three, CAL) == 0.6
    assert used(start, at(2026, 2, 24, 8, 30), three, CAL) == 0.6
    # Tue 24 Feb 10:00 adds 08:30-10:00 (1.5 h): 15 h = two workdays = 2/3.
    assert used(start, at(2026, 2, 24, 10), three, CAL) == pytest.approx(2 / 3)


def test_light_boundaries() -> None:
    assert (GREEN, YELLOW, RED) == ("green", "yellow", "red")
    assert light(0.0) == GREEN
    assert light(0.7999999) == GREEN
    assert light(0.8) == YELLOW
    assert light(1.0) == YELLOW
    assert light(1.0000001) == RED
    assert light(3.0) == RED


# --- refusals ---------------------------------------------------------------------------------

def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 3, 10, 9)
    with pytest.raises(ValueError, match="no time zone"):
        deadline(naive, WH4, PLAIN)
    with pytest.raises(ValueError, match="no time zone"):
        used(at(2026, 3, 10, 9), naive, WH4, PLAIN)
    with pytest.raises(ValueError, match="no time zone"):
        deadline(at(2026, 3, 10, 9), WH4, PLAIN, [(naive, None)])
    with pytest.raises(ValueError, match="no time zone"):
        PLAIN.working_seconds(naive, at(2026, 3, 10, 9))
    with pytest.raises(ValueError, match="no time zone"):
        PLAIN.add_working(naive, 60)
    with pytest.raises(ValueError, match="no time zone"):
        PLAIN.add_working_days(naive, 1)


def test_bad_limits_and_pauses_are_refused() -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        TimeLimit(0, "working_hours")
    with pytest.raises(ValueError, match="greater than 0"):
        TimeLimit(-2, "natural_days")
    with pytest.raises(ValueError, match="unknown time-limit unit 'hours'"):
        TimeLimit(1, "hours")
    with pytest.raises(ValueError, match="<amount> <unit>"):
        TimeLimit.parse("four working_hours")
    assert TimeLimit.parse("4 working_hours") == WH4
    assert TimeLimit.parse(" 0.5 natural_hours ") == TimeLimit(0.5, "natural_hours")
    assert TimeLimit.from_dict({"amount": 4, "unit": "working_hours"}) == WH4
    assert str(TimeLimit(0.5, "natural_hours")) == "0.5 natural_hours"
    with pytest.raises(ValueError, match=r"end .* is before begin"):
        deadline(at(2026, 3, 10, 9), WH4, PLAIN, [(at(2026, 3, 10, 11), at(2026, 3, 10, 10))])
    with pytest.raises(ValueError, match="both a holiday and a make-up workday"):
        WorkCalendar(holidays=frozenset({date(2026, 2, 14)}),
                     workdays=frozenset({date(2026, 2, 14)}))
    with pytest.raises(ValueError, match="overlaps"):
        WorkCalendar(periods=((time(8), time(12)), (time(11), time(17))))


# --- loaders ----------------------------------------------------------------------------------

def test_shipped_time_limits_load() -> None:
    limits = load_time_limits()
    assert {"facility", "order", "sanitation", "environment", "device"} <= set(limits)
    for profile, rows in limits.items():
        assert set(rows) == {"urgent", "normal", "low"}, profile
        for steps in rows.values():
            assert set(steps) == {"register", "dispatch", "handle", "verify"}, profile
    facility = limits["facility"]
    assert facility["normal"]["handle"] == WH4
    assert facility["urgent"]["handle"] == TimeLimit(2, "natural_hours")
    assert facility["low"]["handle"] == TimeLimit(2, "working_days")
    assert facility["normal"]["register"] == TimeLimit(1, "working_hours")
    assert facility["normal"]["verify"] == WH4
    assert limits["environment"]["normal"]["handle"] == TimeLimit(5, "working_days")
    assert limits["device"]["normal"]["handle"] == TimeLimit(2, "working_days")


def test_every_profile_named_by_a_category_exists() -> None:
    from data.config.cases import load_case_catalogue

    load_case_catalogue(profiles=load_time_limits())  # raises ConfigError on an unknown one


def _edited(tmp_path: Path, name: str, find: str, replace: str) -> Path:
    path = tmp_path / name
    shutil.copy(CONFIG_DIR / name, path)
    text = path.read_text(encoding="utf-8")
    assert find in text, find
    path.write_text(text.replace(find, replace, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("find", "replace", "message"), [
    ("periods: [", "periods: [[", r"calendar\.yaml: line \d+, column \d+: not valid YAML"),
    ("timezone:", "weekend: [sat]\ntimezone:",
     r"calendar\.yaml: top: unknown key\(s\) weekend; allowed: timezone, weekdays"),
    ("{name: 清明节, days: [2026-04-04, 2026-04-06]}",
     "{name: 清明节, days: [2026-04-04, 2026-04-06], note: x}",
     r"calendar\.yaml: holidays\[2026\]\[2\]: unknown key\(s\) note"),
    ("days: [2026-02-15, 2026-02-23]", "days: [2026-02-14, 2026-02-23]",
     r"calendar\.yaml: holidays\[2026\]\[1\] \(春节\): 2026-02-14 is both a holiday "
     r"\(holidays\[2026\]\[1\] \(春节\)\) and a make-up workday"),
    ('"13:30-17:30"', '"11:30-17:30"',
     r"calendar\.yaml: periods\[1\]: '11:30-17:30' overlaps periods\[0\] '08:30-12:00'"),
    ('"13:30-17:30"', '"17:30-13:30"', r"calendar\.yaml: periods\[1\]: '17:30-13:30' ends "
                                       "before it starts"),
    ('"13:30-17:30"', "8", r"calendar\.yaml: periods\[1\]: 8 is not a period; write it in "
                           "quotes"),
    ("workdays: [2026-01-04]", "workdays: [2026-01-05]",
     r"calendar\.yaml: holidays\[2026\]\[0\] \(元旦\): make-up workday 2026-01-05 is a mon, "
     "already a workday"),
    ("days: [2026-10-01, 2026-10-07]", "days: [2026-10-07, 2026-10-01]",
     r"holidays\[2026\]\[6\] \(国庆节\): days: 2026-10-01 is before 2026-10-07"),
    ("days: [2026-10-01, 2026-10-07]", "days: [2026-10-01, 2026-11-07]", "more than 15 days"),
    ("days: [2026-04-04, 2026-04-06]", "days: [2026-04-04, 2026-04-31]",
     r"holidays\[2026\]\[2\] \(清明节\): days: '2026-04-31' is not a date"),
    ("timezone: Asia/Shanghai", "timezone: Asia/Beijing",
     r"calendar\.yaml: timezone: 'Asia/Beijing' is not a known IANA time zone"),
    ("weekdays: [mon,", "weekdays: [monday,",
     r"calendar\.yaml: weekdays\[0\]: 'monday' is not one of mon, tue"),
])
def test_broken_calendar_is_refused_clearly(tmp_path, find, replace, message) -> None:
    path = _edited(tmp_path, "calendar.yaml", find, replace)
    with pytest.raises(ConfigError, match=message):
        load_calendar(path)


FACILITY_NORMAL = ("normal: {register: 1 working_hours, dispatch: 1 working_hours, "
                   "handle: 4 working_hours, verify: 4 working_hours}")


@pytest.mark.parametrize(("find", "replace", "message"), [
    ("profiles:", "profiles: [", r"time_limits\.yaml: line \d+, column \d+: not valid YAML"),
    ("profiles:", "version: 1\nprofiles:",
     r"time_limits\.yaml: top: unknown key\(s\) version; allowed: profiles"),
    (FACILITY_NORMAL, FACILITY_NORMAL + "\n    critical: {}",
     r"time_limits\.yaml: profiles\.facility: unknown key\(s\) critical; allowed: urgent, "
     "normal, low"),
    ("handle: 4 working_hours, verify", "handle: 4 working_hours, close: 1 working_hours, verify",
     r"time_limits\.yaml: profiles\.facility\.normal: unknown key\(s\) close; allowed: "
     "register, dispatch, handle, verify"),
    ("handle: 4 working_hours", "handle: 4 working_hour",
     r"time_limits\.yaml: profiles\.facility\.normal\.handle: unknown time-limit unit "
     r"'working_hour'; use one of working_hours, working_days, natural_hours, natural_days"),
    ("handle: 4 working_hours", "handle: 0 working_hours",
     r"time_limits\.yaml: profiles\.facility\.normal\.handle: time-limit amount must be "
     "greater than 0, not 0"),
    ("handle: 4 working_hours", "handle: -1 working_hours",
     r"profiles\.facility\.normal\.handle: time-limit amount must be greater than 0, not -1"),
    ("handle: 4 working_hours", "handle: four hours",
     r"profiles\.facility\.normal\.handle: time limit 'four hours' must read '<amount> <unit>'"),
    (", verify: 4 working_hours}", "}",
     r"time_limits\.yaml: profiles\.facility\.normal: step 'verify' is missing"),
    ("    low: {register: 1 working_hours, dispatch: 1 working_hours, handle: 2 working_days",
     "    # removed: {register: 1 working_hours, dispatch: 1 working_hours, handle: 2 working_days",
     r"time_limits\.yaml: profiles\.facility: urgency 'low' is missing"),
])
def test_broken_time_limits_are_refused_clearly(tmp_path, find, replace, message) -> None:
    path = _edited(tmp_path, "time_limits.yaml", find, replace)
    with pytest.raises(ConfigError, match=message):
        load_time_limits(path)


def test_missing_file_is_named(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"calendar\.yaml: file not found"):
        load_calendar(tmp_path / "calendar.yaml")
