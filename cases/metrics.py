"""Evaluation indicators (评价考核): ratios of summed per-case facts.

Each indicator is a numerator over a denominator, both sums of per-case facts, so a month of
cases for any grouping (district, street, community, grid, department, inspector, shop) is one
``GROUP BY`` producing one ``CaseTally`` per group; tallies add with ``+`` to roll groups up.
``INDICATORS`` is the single source: ``compute`` evaluates it and ``formulas_markdown`` renders
it for the docs. Rates are fractions in [0, 1]; an indicator whose denominator is 0 is ``None``
(shown as "—"), never a division by zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Literal


@dataclass(frozen=True)
class CaseTally:
    """Summed per-case facts for one group of cases over one period. ``CaseTally()`` is zero.

    Counts are of cases (a case counts once however often it was reworked or extended):

    - ``reports`` 上报数: cases reported in the period.
    - ``accepted`` 受理数: reported cases not declined as ``invalid``.
    - ``registered`` 立案数: cases registered in the period.
    - ``declined`` 不予立案数: cases declined or merged in the period.
    - ``dispatched`` 派遣数: cases dispatched in the period; ``dispatched_on_time`` of them
      within the dispatch limit.
    - ``due_handling`` 应处置数: dispatched cases whose handle deadline fell in the period or
      that were handled in it; ``handled_on_time`` 按期处置数 of them handled by the deadline.
    - ``due_closing`` 应结案数: registered cases whose close deadline fell in the period or that
      were closed in it; ``closed`` 结案数 of them closed, ``closed_on_time`` 按期结案数 closed
      by the deadline, ``reworked`` 返工数 with ``rework_count > 0``.
    - ``extended`` 延期数: dispatched cases with ``extension_count > 0``.
    - ``overdue`` 超期数: cases that went overdue in the period (``overdue_count > 0``).
    - ``handled`` 处置数 and ``handling_seconds``: cases handled in the period and the sum of
      their handling times (dispatch to feedback, elapsed time; the on-time flags, not these
      times, carry the working-time calendar).
    """

    reports: int = 0
    accepted: int = 0
    registered: int = 0
    declined: int = 0
    dispatched: int = 0
    dispatched_on_time: int = 0
    due_handling: int = 0
    handled_on_time: int = 0
    due_closing: int = 0
    closed: int = 0
    closed_on_time: int = 0
    reworked: int = 0
    extended: int = 0
    overdue: int = 0
    handled: int = 0
    handling_seconds: float = 0.0

    def __add__(self, other: object) -> CaseTally:
        if not isinstance(other, CaseTally):
            return NotImplemented
        return CaseTally(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                            for f in fields(self)})

    def __radd__(self, other: object) -> CaseTally:
        if other == 0:  # sum(tallies) starts from 0
            return self
        return NotImplemented


TALLY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CaseTally))

Kind = Literal["count", "rate", "hours"]


@dataclass(frozen=True)
class Indicator:
    """One evaluation indicator: ``numerator / denominator`` over ``CaseTally`` fields.

    ``kind`` is ``count`` (the numerator alone), ``rate`` (a fraction) or ``hours``
    (seconds / denominator / 3600). With ``percentile`` set, the value is that percentile
    (nearest rank) of the handling durations passed to ``compute``, in hours.
    """

    key: str
    name_zh: str
    name_en: str
    numerator: str | None
    denominator: str | None
    formula_zh: str
    formula_en: str
    kind: Kind = "rate"
    percentile: int | None = None


INDICATORS: tuple[Indicator, ...] = (
    Indicator("reports", "上报数", "Reports", "reports", None,
              "上报案件数", "cases reported", "count"),
    Indicator("accepted", "受理数", "Accepted reports", "accepted", None,
              "上报数 − 以无效为由不予立案数", "reports − declined as invalid", "count"),
    Indicator("registered", "立案数", "Registered cases", "registered", None,
              "立案案件数", "cases registered", "count"),
    Indicator("registration_rate", "立案率", "Registration rate", "registered", "accepted",
              "立案数 ÷ 受理数", "registered ÷ accepted"),
    Indicator("dispatch_rate", "派遣率", "Dispatch rate", "dispatched", "registered",
              "派遣数 ÷ 立案数", "dispatched ÷ registered"),
    Indicator("on_time_dispatch_rate", "按时派遣率", "On-time dispatch rate",
              "dispatched_on_time", "dispatched",
              "按时派遣数 ÷ 派遣数", "dispatched on time ÷ dispatched"),
    Indicator("on_time_handling_rate", "按期处置率", "On-time handling rate",
              "handled_on_time", "due_handling",
              "按期处置数 ÷ 应处置数", "handled on time ÷ due for handling"),
    Indicator("closure_rate", "结案率", "Closure rate", "closed", "due_closing",
              "结案数 ÷ 应结案数", "closed ÷ due for closing"),
    Indicator("on_time_closure_rate", "按期结案率", "On-time closure rate",
              "closed_on_time", "due_closing",
              "按期结案数 ÷ 应结案数", "closed on time ÷ due for closing"),
    Indicator("rework_rate", "返工率", "Rework rate", "reworked", "due_closing",
              "返工数 ÷ 应结案数", "reworked ÷ due for closing"),
    Indicator("extension_rate", "延期率", "Extension rate", "extended", "dispatched",
              "延期数 ÷ 派遣数", "extended ÷ dispatched"),
    Indicator("overdue", "超期数", "Overdue cases", "overdue", None,
              "超期案件数", "cases overdue", "count"),
    Indicator("mean_handling_hours", "平均处置时长（小时）", "Mean handling time (hours)",
              "handling_seconds", "handled",
              "处置时长合计 ÷ 处置数 ÷ 3600", "sum of handling seconds ÷ handled ÷ 3600",
              "hours"),
    Indicator("p90_handling_hours", "90% 处置时长（小时）", "90th percentile handling time (hours)",
              None, None,
              "处置时长第 90 百分位（最近秩法）÷ 3600",
              "90th percentile of handling seconds (nearest rank) ÷ 3600", "hours",
              percentile=90),
)


def percentile(values: Iterable[float], p: float) -> float | None:
    """The ``p``-th percentile of ``values`` by the nearest-rank method; None when empty.

    Sort the n values ascending; the result is the value at rank ``ceil(p / 100 × n)`` (1-based),
    and the smallest value for ``p = 0``. It is always one of the values, never interpolated.
    Example: p90 of 1..10 is the 9th value, 9; p90 of 1..11 is rank ceil(9.9) = 10, so 10.
    """
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be between 0 and 100, not {p}")
    ordered = sorted(values)
    if not ordered:
        return None
    # Exact arithmetic: in floats 7 / 100 × 100 is 7.000…1, whose ceiling would be 8.
    rank = math.ceil(Fraction(str(p)) * len(ordered) / 100)
    return ordered[max(rank, 1) - 1]


def compute(tally: CaseTally, durations: Iterable[float] = ()) -> dict[str, float | None]:
    """Every indicator in ``INDICATORS`` order, keyed by ``Indicator.key``.

    ``durations`` are the handling times in seconds of the cases in ``tally.handled`` (only the
    percentile indicators read them). A ratio over a zero denominator is None.
    """
    durations = tuple(durations)
    result: dict[str, float | None] = {}
    for ind in INDICATORS:
        if ind.percentile is not None:
            value = percentile(durations, ind.percentile)
            result[ind.key] = None if value is None else value / 3600
            continue
        assert ind.numerator is not None
        numerator = getattr(tally, ind.numerator)
        if ind.denominator is None:
            result[ind.key] = numerator / 3600 if ind.kind == "hours" else numerator
            continue
        denominator = getattr(tally, ind.denominator)
        if not denominator:
            result[ind.key] = None
        elif ind.kind == "hours":
            result[ind.key] = numerator / denominator / 3600
        else:
            result[ind.key] = numerator / denominator
    return result


def formulas_markdown() -> str:
    """The indicator table (key, names, formulas) as Markdown, for the docs and README."""
    lines = ["| key | 指标 | indicator | 公式 | formula |", "|---|---|---|---|---|"]
    for ind in INDICATORS:
        lines.append(f"| `{ind.key}` | {ind.name_zh} | {ind.name_en} | {ind.formula_zh} | "
                     f"{ind.formula_en} |")
    return "\n".join(lines) + "\n"
