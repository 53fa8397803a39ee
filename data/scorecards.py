"""Read models of the leader scorecards (考核评价): the indicators of :mod:`data.metrics` as the
plain rows of :mod:`reports.scorecard`, a month-on-month series, the cases behind a number,
and what an export prints.

A scorecard is asked for again and again while a leader sorts, pages, ranks and maps the same
period: :func:`cached_rows` keeps the last few results a short while (the page asks for fresh
figures whenever the period or the grouping changes, and reuses them for the rest); the
month-on-month :func:`trend` is kept the same while.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.workflow import STATE_LABELS
from data.metrics import indicator_cases, indicator_series, indicators
from data.models import Case, Region
from reports.scorecard import (
    Period,
    Scorecard,
    ScoreRow,
    ScoreTable,
    behind_counts,
    recent_months,
)

#: How long computed rows are reused for sorting, paging, ranking and the map (seconds).
ROWS_TTL_S = 120.0
ROWS_KEPT = 16
DRILL_LIMIT = 200

_rows: OrderedDict[tuple[str, str, str, str], tuple[float, tuple[ScoreRow, ...]]] = OrderedDict()
_trends: OrderedDict[tuple[str, str, str, str], tuple[float, list[tuple[str, float | None]]]] \
    = OrderedDict()
_rows_lock = threading.Lock()


def score_rows(session: Session, *, start: datetime, end: datetime,
               by: str) -> tuple[ScoreRow, ...]:
    """:func:`data.metrics.indicators` for ``[start, end)`` grouped ``by``, as plain rows
    (sorted by key) with the number of cases behind each value."""
    rows = indicators(session, None, start=start, end=end, by=by)
    return tuple(ScoreRow(key=r["key"], name=r["name"], values=dict(r["values"]),
                          behind=behind_counts(asdict(r["tally"]))) for r in rows)


def cached_rows(session: Session, *, start: datetime, end: datetime, by: str,
                fresh: bool = False) -> tuple[ScoreRow, ...]:
    """:func:`score_rows`, reused for :data:`ROWS_TTL_S` seconds per (database, period, by);
    ``fresh`` computes them again (and keeps the new result)."""
    key = (str(session.get_bind().url), start.isoformat(), end.isoformat(), by)
    now = time.monotonic()
    if not fresh:
        with _rows_lock:
            hit = _rows.get(key)
        if hit is not None and now - hit[0] <= ROWS_TTL_S:
            return hit[1]
    rows = score_rows(session, start=start, end=end, by=by)
    with _rows_lock:
        _rows[key] = (now, rows)
        _rows.move_to_end(key)
        while len(_rows) > ROWS_KEPT:
            _rows.popitem(last=False)
    return rows


def trend(session: Session, *, last: Period, months: int, tz: tzinfo, indicator: str,
          by: str = "city", key: str = "city") -> list[tuple[str, float | None]]:
    """``indicator`` of group ``key`` for the ``months`` calendar months ending with the
    month of ``last``: [("2025-04", value), …], oldest first, from one grouped query
    (:func:`data.metrics.indicator_series`), kept :data:`ROWS_TTL_S` seconds (a year of
    months rarely changes while a leader looks at it)."""
    periods = recent_months(last, months)
    bounds = [p.bounds(tz) for p in periods]
    cache_key = (str(session.get_bind().url), bounds[0][0].isoformat(),
                 bounds[-1][1].isoformat(), f"{by}|{key}|{indicator}")
    now = time.monotonic()
    with _rows_lock:
        hit = _trends.get(cache_key)
    if hit is not None and now - hit[0] <= ROWS_TTL_S:
        return hit[1]
    values = indicator_series(session, periods=bounds, by=by, key=key, indicator=indicator)
    points = [(p.month, v) for p, v in zip(periods, values, strict=True)]
    with _rows_lock:
        _trends[cache_key] = (now, points)
        while len(_trends) > 4 * ROWS_KEPT:
            _trends.popitem(last=False)
    return points


def cases_behind(session: Session, *, start: datetime, end: datetime, by: str, key: str,
                 indicator: str, limit: int = DRILL_LIMIT) -> tuple[list[dict[str, Any]], int]:
    """The cases behind one number (:func:`data.metrics.indicator_cases`): the first
    ``limit`` of them, oldest id first, as plain dicts, and how many there are in all.
    Raises ValueError for an unknown indicator or a key that names no group."""
    ids = indicator_cases(session, start=start, end=end, by=by, key=key, indicator=indicator)
    sub = ids.order_by(None).subquery()
    total = int(session.scalar(select(func.count()).select_from(sub)) or 0)
    rows = session.execute(
        select(Case.id, Case.code, Case.title, Case.status, Case.reported_at, Case.grid_code)
        .where(Case.id.in_(select(sub.c.id))).order_by(Case.id).limit(limit)).all()
    out = [{"id": i, "code": code, "title": title, "status": status,
            "status_label": STATE_LABELS.get(status, (status, status)),
            "reported_at": reported, "grid_code": grid}
           for i, code, title, status, reported, grid in rows]
    return out, total


def city_name(session: Session) -> str:
    return session.scalar(select(Region.name).where(Region.level == "city")
                          .order_by(Region.code).limit(1)) or ""


def scorecard(session: Session, *, period: Period, tz: tzinfo, groupings: Sequence[str],
              generated_at: datetime, lang: str = "zh-CN") -> Scorecard:
    """What an export prints: one fresh table per grouping for ``period``."""
    start, end = period.bounds(tz)
    tables = tuple(ScoreTable(by, score_rows(session, start=start, end=end, by=by))
                   for by in groupings)
    return Scorecard(period=period, generated_at=generated_at, tables=tables,
                     city_name=city_name(session), lang=lang)
