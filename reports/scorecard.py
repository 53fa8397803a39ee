"""The leader scorecard (考核评价) as plain values: periods, rows, formatting and rankings.

Pure: the read model (``data/scorecards.py``) fills a :class:`Scorecard` from the database,
the page, the XLSX and the PDF builders read it. Texts come in zh-CN and en from
:data:`TEXTS`, so the builders need neither Flask nor the page's i18n tables.

A period is whole days in the city's time zone, both ends included (:class:`Period`); the
database wants the half-open ``[first 00:00, day after last 00:00)`` of :meth:`Period.bounds`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from cases.metrics import INDICATORS, Indicator

#: Groupings of the scorecard (a sheet each in the XLSX), in display order.
GROUPINGS: tuple[str, ...] = ("district", "street", "community", "grid", "department",
                              "inspector")
#: The groupings that are areas (drawn on the choropleth).
AREA_GROUPINGS: tuple[str, ...] = ("district", "street", "community", "grid")
#: The longest custom range (days, both ends included).
MAX_DAYS = 366
#: Indicators where a smaller value is the better one (rankings put the smallest first).
LOWER_IS_BETTER = frozenset({"rework_rate", "extension_rate", "overdue", "mean_handling_hours",
                             "p90_handling_hours"})
#: Plain counts (the rest are rates or hours); they rank largest first.
COUNTS = frozenset(ind.key for ind in INDICATORS if ind.kind == "count")
INDICATOR_KEYS: tuple[str, ...] = tuple(ind.key for ind in INDICATORS)
BY_INDICATOR: dict[str, Indicator] = {ind.key: ind for ind in INDICATORS}
NONE_TEXT = "—"

TEXTS: dict[str, dict[str, str]] = {
    "title": {"zh-CN": "考核评价", "en": "Scorecards"},
    "period": {"zh-CN": "考核周期", "en": "Period"},
    "generated": {"zh-CN": "生成时间", "en": "Generated"},
    "by": {"zh-CN": "统计维度", "en": "Grouped by"},
    "code": {"zh-CN": "编码", "en": "Code"},
    "name": {"zh-CN": "名称", "en": "Name"},
    "formulas": {"zh-CN": "指标公式", "en": "Formulas"},
    "key": {"zh-CN": "指标代码", "en": "Key"},
    "indicator": {"zh-CN": "指标", "en": "Indicator"},
    "formula": {"zh-CN": "公式", "en": "Formula"},
    "unit": {"zh-CN": "单位", "en": "Unit"},
    "unit.count": {"zh-CN": "件", "en": "cases"},
    "unit.rate": {"zh-CN": "%", "en": "%"},
    "unit.hours": {"zh-CN": "小时", "en": "hours"},
    "city": {"zh-CN": "全市", "en": "Whole city"},
    "empty": {"zh-CN": "本周期内没有案件。", "en": "No cases in this period."},
    "notes": {"zh-CN": "比率以百分比表示，时长以小时表示；“—”表示分母为零。"
                       "时段按城市时区的整日计算，含首尾两日。",
              "en": "Rates are percentages, times in hours; “—” means a zero denominator. "
                    "Periods are whole days in the city's time zone, both ends included."},
    "by.city": {"zh-CN": "全市", "en": "City"},
    "by.district": {"zh-CN": "区/县", "en": "District"},
    "by.street": {"zh-CN": "街道/镇", "en": "Street"},
    "by.community": {"zh-CN": "社区/村", "en": "Community"},
    "by.grid": {"zh-CN": "单元网格", "en": "Unit grid"},
    "by.department": {"zh-CN": "处置部门", "en": "Department"},
    "by.inspector": {"zh-CN": "网格员", "en": "Inspector"},
}


def text(key: str, lang: str) -> str:
    """A scorecard text in ``lang`` (zh-CN when the language is unknown)."""
    entry = TEXTS[key]
    return entry.get(lang) or entry["zh-CN"]


def indicator_name(ind: Indicator, lang: str) -> str:
    return ind.name_en if lang == "en" else ind.name_zh


def indicator_formula(ind: Indicator, lang: str) -> str:
    return ind.formula_en if lang == "en" else ind.formula_zh


def format_value(ind: Indicator, value: float | None, lang: str = "zh-CN") -> str:
    """How a value is shown: rates as percentages with one decimal, hours with two decimals,
    counts as whole numbers with thousands separators; None (zero denominator) as "—"."""
    del lang  # the same digits in both languages
    if value is None:
        return NONE_TEXT
    if ind.kind == "rate":
        return f"{value * 100:.1f}%"
    if ind.kind == "hours":
        return f"{value:,.2f}"
    return f"{round(value):,}"


# -- periods -----------------------------------------------------------------------------------
class PeriodError(ValueError):
    """A period a user asked for that cannot be used: ``code`` and messages in both languages."""

    def __init__(self, code: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.code, self.message, self.message_zh = code, message, message_zh

    def text(self, lang: str) -> str:
        return self.message if lang == "en" else self.message_zh


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Period:
    """Whole days ``first`` … ``last`` (both included) in the city's time zone."""

    first: date
    last: date

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """The half-open ``[start, end)`` the read models take: midnights in ``tz``."""
        return (datetime.combine(self.first, time(), tz),
                datetime.combine(self.last + timedelta(days=1), time(), tz))

    @property
    def is_month(self) -> bool:
        return self.first.day == 1 and self.last == month_of(self.first).last

    @property
    def month(self) -> str:
        """``YYYY-MM`` of the month the period ends in (the trend's last month)."""
        return f"{self.last.year:04d}-{self.last.month:02d}"

    def label(self, lang: str) -> str:
        """"2026年3月" / "March 2026" for a whole month, else "2026-03-01 至 2026-03-15"."""
        if self.is_month:
            if lang == "en":
                return self.first.strftime("%B %Y")
            return f"{self.first.year}年{self.first.month}月"
        sep = " – " if lang == "en" else " 至 "
        return f"{self.first.isoformat()}{sep}{self.last.isoformat()}"


def month_of(day: date) -> Period:
    """The calendar month containing ``day``."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first, following - timedelta(days=1))


def last_full_month(today: date) -> Period:
    """The last month that has ended by ``today`` (the city's date): the default period."""
    return month_of(today.replace(day=1) - timedelta(days=1))


def recent_months(last: Period | date, n: int) -> list[Period]:
    """``n`` calendar months ending with the month of ``last`` (its last day), oldest first."""
    day = last.last if isinstance(last, Period) else last
    months = [month_of(day)]
    while len(months) < n:
        months.insert(0, month_of(months[0].first - timedelta(days=1)))
    return months


def parse_month(value: str) -> Period:
    found = _MONTH.match(value or "")
    if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1900:
        raise PeriodError("bad_month", f"month must be YYYY-MM, not {value!r}",
                          f"月份须为 YYYY-MM 格式，而非 {value!r}")
    return month_of(date(int(found.group(1)), int(found.group(2)), 1))


def _parse_day(value: str, name: str) -> date:
    try:
        if not _DAY.match(value):
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise PeriodError(f"bad_{name}", f"{name} must be a date YYYY-MM-DD, not {value!r}",
                          f"{'开始' if name == 'start' else '结束'}日期须为 YYYY-MM-DD 格式，"
                          f"而非 {value!r}")
    if day.year < 1900 or day.year > 9000:
        raise PeriodError(f"bad_{name}", f"{name} {value!r} is out of range",
                          f"{'开始' if name == 'start' else '结束'}日期超出范围：{value!r}")
    return day


def parse_period(*, start: str | None = None, end: str | None = None,
                 month: str | None = None, today: date) -> Period:
    """The period a request names: ``month`` (YYYY-MM), or ``start`` and ``end`` (YYYY-MM-DD,
    both included, at most :data:`MAX_DAYS` days), or by default the last full month before
    ``today``. Raises :class:`PeriodError` with a message for the user."""
    if month and (start or end):
        raise PeriodError("bad_period", "give either month or start and end, not both",
                          "请只给出月份，或只给出开始和结束日期")
    if month:
        return parse_month(month)
    if not start and not end:
        return last_full_month(today)
    if not start or not end:
        raise PeriodError("bad_period", "give both start and end (YYYY-MM-DD)",
                          "请同时给出开始和结束日期（YYYY-MM-DD）")
    first, last = _parse_day(start, "start"), _parse_day(end, "end")
    if first > last:
        raise PeriodError("bad_range", f"start {first} is after end {last}",
                          f"开始日期 {first} 晚于结束日期 {last}")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError("range_too_long", f"a period is at most {MAX_DAYS} days",
                          f"考核周期最长 {MAX_DAYS} 天")
    return Period(first, last)


def parse_groupings(value: str | None, default: Sequence[str]) -> tuple[str, ...]:
    """``district,grid`` → ("district", "grid"); "all" → every grouping; empty → ``default``.
    Unknown names raise :class:`PeriodError` (code ``bad_by``)."""
    if not value:
        return tuple(default)
    if value == "all":
        return GROUPINGS
    names = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    wrong = [n for n in names if n not in ("city", *GROUPINGS)]
    if wrong or not names:
        allowed = ", ".join(("city", *GROUPINGS))
        raise PeriodError("bad_by", f"by must be a comma-separated list of {allowed} (or all), "
                          f"not {value!r}", f"by 须为 {allowed} 中的一项或多项（逗号分隔），"
                          f"或 all，而非 {value!r}")
    return names


# -- rows --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScoreRow:
    """One group's line: ``key`` (code, department code, username or "city"), ``name``,
    ``values`` (indicator key → value, None over a zero denominator) and ``behind``
    (indicator key → how many cases stand behind the number, for the drill-down)."""

    key: str
    name: str
    values: dict[str, float | None]
    behind: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoreTable:
    by: str
    rows: tuple[ScoreRow, ...]


@dataclass(frozen=True)
class Scorecard:
    """What an export prints: the period, when it was made, and one table per grouping."""

    period: Period
    generated_at: datetime
    tables: tuple[ScoreTable, ...]
    city_name: str = ""
    lang: str = "zh-CN"

    def title(self) -> str:
        head = f"{self.city_name} " if self.city_name else ""
        return f"{head}{text('title', self.lang)} · {self.period.label(self.lang)}"


def behind_counts(tally: dict[str, float]) -> dict[str, int]:
    """Indicator key → cases behind its number: the numerator's count (handled cases for the
    handling-time indicators), from a tally given as a field → value mapping."""
    out = {}
    for ind in INDICATORS:
        field_name = ind.numerator if ind.numerator not in (None, "handling_seconds") \
            else "handled"
        out[ind.key] = int(tally.get(field_name, 0))
    return out


def sort_rows(rows: Iterable[ScoreRow], key: str, descending: bool) -> list[ScoreRow]:
    """Rows sorted by an indicator (None always last; ties by key, ascending either way) or
    by ``key`` / ``name``."""
    rows = sorted(rows, key=lambda r: r.key)
    if key in ("key", "name"):
        return sorted(rows, key=lambda r: getattr(r, key), reverse=descending)
    valued = [r for r in rows if r.values.get(key) is not None]
    empty = [r for r in rows if r.values.get(key) is None]
    valued.sort(key=lambda r: r.values[key], reverse=descending)  # stable: ties keep key order
    return valued + empty


def ranking(rows: Iterable[ScoreRow], indicator: str,
            n: int = 5) -> tuple[list[ScoreRow], list[ScoreRow]]:
    """(best ``n``, worst ``n``) of the rows that have a value for ``indicator``: the highest
    values first, or the lowest for :data:`LOWER_IS_BETTER` indicators; for plain counts
    "best" means the most. Ties are broken by key. The worst list starts with the worst."""
    if indicator not in BY_INDICATOR:
        raise ValueError(f"unknown indicator {indicator!r}")
    valued = [r for r in rows if r.values.get(indicator) is not None]
    lower = indicator in LOWER_IS_BETTER
    best = sorted(valued, key=lambda r: (r.values[indicator] if lower
                                         else -r.values[indicator], r.key))  # type: ignore
    worst = sorted(valued, key=lambda r: (-r.values[indicator] if lower  # type: ignore
                                          else r.values[indicator], r.key))
    return best[:n], worst[:n]


def cell_number(ind: Indicator, value: float | None) -> float | int | None:
    """The number a spreadsheet cell holds: rates as fractions (formatted as %), hours as
    hours, counts as integers; None stays empty."""
    if value is None:
        return None
    return round(value) if ind.kind == "count" else value
