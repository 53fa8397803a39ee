"""Evaluation (评价考核) read model: indicator tallies per area, department or inspector.

The formulas are the domain's (:mod:`cases.metrics`); this module sums the per-case facts that
transitions keep on the ``cases`` row into one :class:`~cases.metrics.CaseTally` per group, in
one ``GROUP BY`` over ``cases`` (``SUM(CASE WHEN … THEN 1 ELSE 0 END)``, the same SQL on SQLite
and PostgreSQL), plus one query for the 90th-percentile handling time and one for the groups'
names. :func:`indicator_cases` selects the cases behind one number, under the same conditions.

Periods are half-open, ``start <= t < end``, aware datetimes (the database holds UTC). Which
timestamp puts a case into a period, per tally field (docs/evaluation.md has the table):

- ``reports``: ``reported_at`` in the period; ``accepted``: those not declined as ``invalid``;
  ``declined``: those declined or merged (``status = 'declined'``; a case is declined only from
  ``reported``, and the row keeps no separate decline time).
- ``registered``: ``registered_at`` in the period.
- ``dispatched`` / ``dispatched_on_time``: ``dispatched_at`` in the period (the last dispatch);
  ``extended``: those with ``extension_count > 0``.
- ``due_handling``: dispatched cases whose ``handle_deadline_at`` or ``handled_at`` is in the
  period; ``handled_on_time`` of them with ``handled_on_time`` true.
- ``due_closing``: registered cases whose ``close_deadline_at`` or ``closed_at`` is in the
  period; ``closed`` of them closed before the period's end, ``closed_on_time`` closed by the
  deadline, ``reworked`` with ``rework_count > 0``.
- ``overdue``: cases open at some point in the period — reported before its end, not closed
  before its start, not declined or voided (their end is not recorded) — with
  ``overdue_count > 0`` (marks recorded up to the time of the query).
- ``handled`` / ``handling_seconds``: dispatched cases with ``handled_at`` in the period, and
  the sum of ``handled_at − dispatched_at`` in elapsed seconds (the last feedback minus the last
  dispatch: rework time is included, suspension is not excluded).

Groups (``by``): ``city`` (one row, every case), ``district`` / ``street`` / ``community`` /
``grid`` (the first 6 / 9 / 12 / 15 digits of ``grid_code``), ``department``
(``department_id``, keyed by department code) and ``inspector`` (the grid inspector recorded
on the case, keyed by username). A case without a grid, department or inspector counts only in
the groupings that do not need it (always in ``city``). A group appears when at least one of
its cases counts in some field; groups are sorted by key.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    and_,
    case,
    cast,
    extract,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from cases.metrics import INDICATORS, TALLY_FIELDS, CaseTally, compute
from cases.workflow import HIDDEN
from data.models import Case, Department, Region, UnitGrid, User

By = Literal["city", "district", "street", "community", "grid", "department", "inspector"]
BY: tuple[str, ...] = ("city", "district", "street", "community", "grid", "department",
                       "inspector")
#: Code length of each area level: a grid code is district 6 + street 3 + community 3 + seq 3.
CODE_LENGTH: dict[str, int] = {"district": 6, "street": 9, "community": 12, "grid": 15}
CITY_KEY = "city"
#: The tally field whose cases stand behind an indicator that has no count of its own.
_BEHIND = {"handling_seconds": "handled"}
_P90 = next(ind for ind in INDICATORS if ind.percentile is not None)


# -- period conditions -------------------------------------------------------------------------
def _within(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def conditions(start: datetime, end: datetime) -> dict[str, ColumnElement[bool]]:
    """Tally field (except ``handling_seconds``) → the condition on a ``cases`` row that puts
    the case in that count for the period ``[start, end)``. The single source of the period
    semantics: :func:`indicators` sums them, :func:`indicator_cases` filters by them."""
    c = Case
    reported = _within(c.reported_at, start, end)
    dispatched = _within(c.dispatched_at, start, end)
    due_handling = and_(c.dispatched_at.is_not(None),
                        or_(_within(c.handle_deadline_at, start, end),
                            _within(c.handled_at, start, end)))
    due_closing = and_(c.registered_at.is_not(None),
                       or_(_within(c.close_deadline_at, start, end),
                           _within(c.closed_at, start, end)))
    open_in_period = and_(c.reported_at < end,
                          or_(c.closed_at.is_(None), c.closed_at >= start),
                          c.status.not_in(sorted(HIDDEN)))
    return {
        "reports": reported,
        "accepted": and_(reported, or_(c.decline_reason.is_(None),
                                       c.decline_reason != "invalid")),
        "registered": _within(c.registered_at, start, end),
        "declined": and_(reported, c.status == "declined"),
        "dispatched": dispatched,
        "dispatched_on_time": and_(dispatched, c.dispatched_on_time.is_(True)),
        "due_handling": due_handling,
        "handled_on_time": and_(due_handling, c.handled_on_time.is_(True)),
        "due_closing": due_closing,
        "closed": and_(due_closing, c.closed_at < end),
        "closed_on_time": and_(due_closing, c.closed_on_time.is_(True)),
        "reworked": and_(due_closing, c.rework_count > 0),
        "extended": and_(dispatched, c.extension_count > 0),
        "overdue": and_(open_in_period, c.overdue_count > 0),
        "handled": and_(c.dispatched_at.is_not(None), _within(c.handled_at, start, end)),
    }


def seconds_between(dialect: str, later: Any, earlier: Any) -> ColumnElement[float]:
    """``later − earlier`` in seconds (float), exact to the microsecond on both databases.

    PostgreSQL: ``extract(epoch from later - earlier)``. SQLite stores UTC datetimes as text
    ``YYYY-MM-DD HH:MM:SS.ffffff``: whole seconds by ``strftime('%s')`` and the microseconds
    from characters 21–26, so no ``julianday`` float rounding creeps into the percentiles.
    """
    if dialect == "postgresql":
        return cast(extract("epoch", later - earlier), Float)

    def whole(column: Any) -> ColumnElement[int]:
        return cast(func.strftime("%s", column), Integer)

    def micro(column: Any) -> ColumnElement[int]:
        return cast(func.substr(column, 21, 6), Integer)

    return cast((whole(later) - whole(earlier))
                + (micro(later) - micro(earlier)) / literal_column("1000000.0"), Float)


# -- grouping ----------------------------------------------------------------------------------
def _group_key(by: str) -> Any:
    """The column expression a grouping groups by (None for the whole city)."""
    if by == "city":
        return None
    # Expressions, not bare columns: grouping by an indexed column leads SQLite to walk that
    # index and fetch every case row out of order (several times slower than one scan of the
    # table). Lengths are literals, not bound parameters, so that PostgreSQL sees the SELECT
    # and GROUP BY expressions as the same expression.
    if by == "department":
        return Case.department_id + literal_column("0")
    if by == "inspector":
        return Case.inspector_id + literal_column("0")
    return func.substr(Case.grid_code, literal_column("1"), literal_column(str(CODE_LENGTH[by])))


def _check(start: datetime, end: datetime, by: str) -> None:
    if by not in BY:
        raise ValueError(f"cannot group indicators by {by!r}: use one of {', '.join(BY)}")
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"{name} must be a timezone-aware datetime, not {value!r}")
    if not start < end:
        raise ValueError(f"the period is empty: start {start.isoformat()} is not before end "
                         f"{end.isoformat()}")


def _names(session: Session, by: str, ids: list[Any]) -> dict[Any, tuple[str, str]]:
    """Group id → (key, name), in one query."""
    if by == "city":
        name = session.scalar(select(Region.name).where(Region.level == "city")
                              .order_by(Region.code).limit(1))
        return {None: (CITY_KEY, name or CITY_KEY)}
    if not ids:
        return {}
    if by == "department":
        rows = session.execute(select(Department.id, Department.code, Department.name)
                               .where(Department.id.in_(ids)))
    elif by == "inspector":
        rows = session.execute(select(User.id, User.username, User.display_name)
                               .where(User.id.in_(ids)))
    elif by == "grid":
        rows = session.execute(select(UnitGrid.code, UnitGrid.code, UnitGrid.name)
                               .where(UnitGrid.code.in_(ids)))
    else:
        rows = session.execute(select(Region.code, Region.code, Region.name)
                               .where(Region.code.in_(ids)))
    found = {i: (str(k), n) for i, k, n in rows}
    # An area code with no row in regions (or a deleted user) still gets a key.
    return {i: found.get(i, (str(i), str(i))) for i in ids}


def _p90(session: Session, key: Any, handled: ColumnElement[bool],
         prefilter: list[ColumnElement[bool]]) -> dict[Any, float]:
    """Group id → the nearest-rank 90th percentile of handling seconds, one row per group.

    PostgreSQL: ``percentile_disc(0.9) WITHIN GROUP (ORDER BY seconds)``, which takes the
    value at row ``ceil(0.9 × n)`` — nearest rank. SQLite (no ordered-set aggregates): number
    each group's durations with ``row_number()`` and ``count()`` windows and keep the row whose
    number is ``ceil(p × n / 100)``, computed in integers as ``(p·n + 99) // 100``.
    """
    dialect = session.get_bind().dialect.name
    p = _P90.percentile
    assert p is not None and int(p) == p and p > 0
    secs = seconds_between(dialect, Case.handled_at, Case.dispatched_at)
    group = [] if key is None else [key]
    where = [*prefilter, handled]
    if dialect == "postgresql":
        stmt = (select(*group, func.percentile_disc(p / 100).within_group(secs))
                .where(*where))
        if key is not None:
            stmt = stmt.group_by(key)
        rows = session.execute(stmt).all()
        return {(r[0] if key is not None else None): float(r[-1])
                for r in rows if r[-1] is not None}
    ranked = select(
        *(key.label("k"),) if key is not None else (),
        secs.label("secs"),
        func.row_number().over(partition_by=group or None, order_by=secs).label("rn"),
        func.count().over(partition_by=group or None).label("n"),
    ).where(*where).subquery()
    stmt = select(*(ranked.c.k,) if key is not None else (), ranked.c.secs).where(
        ranked.c.rn == (int(p) * ranked.c.n + 99) // 100)
    return {(r[0] if key is not None else None): float(r[-1]) for r in session.execute(stmt)}


def indicators(session: Session, cfg: Any = None, *, start: datetime, end: datetime,
               by: str) -> list[dict[str, Any]]:
    """Evaluation indicators for the period ``[start, end)`` per group of ``by``.

    ``by`` is one of ``city``, ``district``, ``street``, ``community``, ``grid``,
    ``department``, ``inspector``. Returns one dict per group, sorted by ``key``:
    ``key`` (area or grid code, department code, inspector username, or ``"city"``), ``name``
    (area name from ``regions`` — grid name from ``unit_grids`` —, department name, inspector
    display name), ``tally`` (:class:`~cases.metrics.CaseTally`) and ``values``
    (:func:`cases.metrics.compute`: indicator key → value, None over a zero denominator).

    Which timestamp puts a case into each count is in this module's docstring and in
    docs/evaluation.md. ``cfg`` (the case configuration) is not read: handling time is elapsed
    time here, and needs no calendar. Three queries: the tallies (one ``GROUP BY``), the
    90th-percentile handling times (one row per group) and the groups' names.
    """
    _check(start, end, by)
    dialect = session.get_bind().dialect.name
    conds = conditions(start, end)
    key = _group_key(by)
    # No range on reported_at: a month's cases are spread over every earlier month, so the
    # range would cover most of the table, and SQLite would fetch it row by row through the
    # index. One pass over the table is faster on both databases.
    prefilter = [] if key is None else [key.is_not(None)]
    relevant = or_(*(conds[f] for f in ("reports", "registered", "dispatched", "due_handling",
                                        "due_closing", "overdue", "handled")))
    secs = seconds_between(dialect, Case.handled_at, Case.dispatched_at)
    sums = [func.coalesce(func.sum(case((cond, 1), else_=0)), 0).label(field)
            for field, cond in conds.items()]
    sums.append(func.coalesce(func.sum(case((conds["handled"], secs), else_=0.0)), 0.0)
                .label("handling_seconds"))
    stmt = select(*(() if key is None else (key.label("k"),)), *sums).where(*prefilter)
    if key is None:
        rows = [(None, r) for r in session.execute(stmt)]
    else:
        stmt = stmt.where(relevant).group_by(key)
        rows = [(r.k, r) for r in session.execute(stmt)]
    p90 = _p90(session, key, conds["handled"], prefilter)
    names = _names(session, by, [k for k, _ in rows])
    out = []
    for k, row in rows:
        mapping = row._mapping
        tally = CaseTally(**{f: (float(mapping[f]) if f == "handling_seconds" else int(mapping[f]))
                             for f in TALLY_FIELDS})
        # The database took the percentile over the group's durations; the percentile of
        # that one value is the value itself.
        values = compute(tally, [p90[k]] if k in p90 else [])
        key_text, name = names[k]
        out.append({"key": key_text, "name": name, "tally": tally, "values": values})
    out.sort(key=lambda item: item["key"])
    return out


# -- drill-down --------------------------------------------------------------------------------
_DIGITS = re.compile(r"^\d+$")


def _field_for(indicator: str) -> str:
    """The tally field whose condition selects the cases behind ``indicator``'s number: an
    indicator's numerator (the handled cases for the handling-time indicators), or a tally
    field named directly (``due_handling`` to list a denominator)."""
    for ind in INDICATORS:
        if ind.key == indicator:
            field = ind.numerator if ind.numerator is not None else "handled"
            return _BEHIND.get(field, field)
    if indicator in TALLY_FIELDS:
        return _BEHIND.get(indicator, indicator)
    raise ValueError(f"unknown indicator {indicator!r}: use one of "
                     + ", ".join(ind.key for ind in INDICATORS) + " or a tally field ("
                     + ", ".join(TALLY_FIELDS) + ")")


def indicator_cases(session: Session, *, start: datetime, end: datetime, by: str, key: str,
                    indicator: str) -> Select[tuple[int]]:
    """A ``SELECT`` of the ids (ascending) of the cases behind one number of
    :func:`indicators`: group ``key`` of grouping ``by``, the numerator of ``indicator``
    (an indicator key such as ``on_time_handling_rate``, or a tally field such as
    ``due_handling``), over the same period conditions. Its row count equals that number."""
    _check(start, end, by)
    field = _field_for(indicator)
    stmt = select(Case.id).where(conditions(start, end)[field], *group_filter(session, by, key))
    return stmt.order_by(Case.id)


def group_filter(session: Session, by: str, key: str) -> list[ColumnElement[bool]]:
    """The conditions on a ``cases`` row that put it in group ``key`` of grouping ``by`` (the
    keys :func:`indicators` returns); none for the city. Raises ValueError for a key that
    names no group (a malformed area code, an unknown department code or username)."""
    if by not in BY:
        raise ValueError(f"cannot group indicators by {by!r}: use one of {', '.join(BY)}")
    if by == "city":
        if key != CITY_KEY:
            raise ValueError(f"the city-wide group's key is {CITY_KEY!r}, not {key!r}")
        return []
    if by in CODE_LENGTH:
        n = CODE_LENGTH[by]
        if not isinstance(key, str) or len(key) != n or not _DIGITS.match(key):
            raise ValueError(f"a {by} code has {n} digits, not {key!r}")
        return [_group_key(by) == key]
    if by == "department":
        dept = session.scalar(select(Department.id).where(Department.code == key))
        if dept is None:
            raise ValueError(f"no department with code {key!r}")
        return [Case.department_id == dept]
    user = session.scalar(select(User.id).where(User.username == key))
    if user is None:
        raise ValueError(f"no user {key!r}")
    return [Case.inspector_id == user]


# -- series over consecutive periods -----------------------------------------------------------
def _series_percentile(session: Session, periods: Sequence[tuple[datetime, datetime]],
                       where: list[ColumnElement[bool]], p: int) -> list[float | None]:
    """Nearest-rank ``p``-th percentile of handling hours per period, as :func:`_p90` computes
    it, with the durations bucketed by period (a ``CASE`` on ``handled_at``) in a subquery —
    so that PostgreSQL groups by the bucket's name, not by an expression full of bound
    datetimes that it cannot match between SELECT and GROUP BY."""
    dialect = session.get_bind().dialect.name
    secs = seconds_between(dialect, Case.handled_at, Case.dispatched_at)
    bucket = case(*((_within(Case.handled_at, s, e), literal_column(str(i)))
                    for i, (s, e) in enumerate(periods)), else_=None)
    handled = conditions(periods[0][0], periods[-1][1])["handled"]
    inner = select(bucket.label("k"), secs.label("secs")).where(*where, handled).subquery()
    if dialect == "postgresql":
        stmt = (select(inner.c.k, func.percentile_disc(p / 100).within_group(inner.c.secs))
                .where(inner.c.k.is_not(None)).group_by(inner.c.k))
    else:
        ranked = select(
            inner.c.k, inner.c.secs,
            func.row_number().over(partition_by=inner.c.k, order_by=inner.c.secs).label("rn"),
            func.count().over(partition_by=inner.c.k).label("n"),
        ).where(inner.c.k.is_not(None)).subquery()
        stmt = select(ranked.c.k, ranked.c.secs).where(
            ranked.c.rn == (int(p) * ranked.c.n + 99) // 100)
    found = {int(k): float(v) for k, v in session.execute(stmt) if v is not None}
    return [found[i] / 3600 if i in found else None for i in range(len(periods))]


def indicator_series(session: Session, *, periods: Sequence[tuple[datetime, datetime]],
                     by: str, key: str, indicator: str) -> list[float | None]:
    """One indicator of one group over several periods (a month-on-month trend), in one pass.

    ``periods`` are half-open ``[start, end)`` periods in ascending order that do not overlap
    (e.g. the last twelve months). Each value equals ``indicators(..., start, end, by)``'s
    value of ``indicator`` for group ``key``, or None (zero denominator, or no group): the
    sums use :func:`conditions` of each period, one ``SUM(CASE …)`` per period and field, in
    one query over ``cases`` (two for the 90th percentile: the durations are bucketed by
    period with a ``CASE`` on ``handled_at``, then one percentile per bucket), never one
    query per period.
    """
    ind = next((i for i in INDICATORS if i.key == indicator), None)
    if ind is None:
        raise ValueError(f"unknown indicator {indicator!r}: use one of "
                         + ", ".join(i.key for i in INDICATORS))
    if not periods:
        return []
    for start, end in periods:
        _check(start, end, by)
    for (_, end), (start, _) in itertools.pairwise(periods):
        if start < end:
            raise ValueError("periods must be ascending and must not overlap")
    where = group_filter(session, by, key)
    first, last = periods[0][0], periods[-1][1]
    if ind.percentile is not None:
        return _series_percentile(session, periods, where, ind.percentile)
    fields = [f for f in (ind.numerator, ind.denominator) if f is not None]
    secs = seconds_between(session.get_bind().dialect.name, Case.handled_at, Case.dispatched_at)
    sums = []
    for i, (start, end) in enumerate(periods):
        conds = conditions(start, end)
        for field in fields:
            if field == "handling_seconds":
                sums.append(func.coalesce(func.sum(case((conds["handled"], secs), else_=0.0)),
                                          0.0).label(f"{field}_{i}"))
            else:
                sums.append(func.coalesce(func.sum(case((conds[field], 1), else_=0)), 0)
                            .label(f"{field}_{i}"))
    # Counting in a sub-period implies counting in the whole span: skip the rest early.
    whole = conditions(first, last)
    relevant = or_(*(whole[_BEHIND.get(f, f)] for f in fields))
    row = session.execute(select(*sums).where(*where, relevant)).one()._mapping
    out = []
    for i in range(len(periods)):
        tally = CaseTally(**{f: (float(row[f"{f}_{i}"]) if f == "handling_seconds"
                                 else int(row[f"{f}_{i}"])) for f in fields})
        out.append(compute(tally)[ind.key])
    return out
