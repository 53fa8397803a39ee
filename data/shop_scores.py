"""Monthly shop scores (门前三包月度评分): gather a month's inputs, compute, freeze, read back.

The formula is ``shops/scoring.py`` (pure); this module only asks the database. A month's
inputs come from three aggregate queries, whatever the number of shops:

1. the active shops with their community and street (shops → unit grids → regions);
2. the shop-front problems: cases with a ``shop_id``, registered in the month or in the
   ``repeat_days`` before it, not declined or voided, grouped by shop and problem type, with
   the ids of the month's cases, of the late and overdue ones and of the reworked ones
   (``group_concat`` / ``string_agg``) — the SQL twin of ``shops.scoring.timeliness``;
3. the month's citizen ratings (not hidden) per shop: count and sum of stars.

A month is **frozen** once (:func:`freeze_month`): one ``shop_score_months`` row with the
formula's version and parameters, and one ``shop_scores`` row per shop with its inputs and
losses. From then on :func:`month_scores` and :func:`lists` read those rows, so a later edit
of a case never rewrites a published month; a second freeze is refused.
Month boundaries are midnights in the city's time zone (``calendar.yaml``).
"""

from __future__ import annotations

import gc
import re
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Text, case, cast, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from data.models import Case, Region, Shop, ShopRating, ShopScore, ShopScoreMonth, UnitGrid
from data.types import utcnow
from shops.problems import severity_of
from shops.scoring import (
    DEFAULT_PARAMS,
    NOT_COUNTED_STATES,
    UNRECTIFIED_STATES,
    ProblemGroup,
    ScoreParams,
    ShopInput,
    ShopResult,
    lists_of,
    month_window,
    score_month,
)

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class ShopScoreError(Exception):
    """A month that cannot be scored or frozen as asked: ``code``, English and Chinese."""

    def __init__(self, code: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.code, self.message, self.message_zh = code, message, message_zh

    def text(self, lang: str) -> str:
        return self.message if lang == "en" else self.message_zh


@dataclass
class MonthScores:
    """A month of shop scores: frozen (read from the snapshot) or a preview (computed now)."""

    month: str
    frozen: bool
    formula: str
    params: dict[str, Any]
    results: list[ShopResult]
    frozen_at: datetime | None = None
    frozen_by: int | None = None
    as_of: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def mean(self) -> float | None:
        return (round(sum(r.score for r in self.results) / len(self.results), 2)
                if self.results else None)

    def counts(self) -> dict[str, int]:
        return {"shops": len(self.results),
                "red": sum(r.listed == "red" for r in self.results),
                "black": sum(r.listed == "black" for r in self.results)}

    def summary(self) -> str:
        c = self.counts()
        state = (f"frozen {self.frozen_at:%Y-%m-%d %H:%M} UTC" if self.frozen and self.frozen_at
                 else "preview, not frozen")
        mean = f"{self.mean:.2f}" if self.mean is not None else "-"
        return (f"shop scores {self.month} ({state}, formula {self.formula}): "
                f"{c['shops']:,} shops scored, mean {mean}, red list {c['red']:,}, "
                f"black list {c['black']:,}")


# ── Months ───────────────────────────────────────────────────────────────────────────────────

@lru_cache(maxsize=1)
def city_tz() -> tzinfo:
    """The city's time zone (``data/config/calendar.yaml``)."""
    from data.config.calendar import load_calendar

    return load_calendar().tz


def parse_month(month: str) -> tuple[date, date]:
    """``YYYY-MM`` → (its first day, the first day of the next month)."""
    m = _MONTH.match(str(month).strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2000:
        raise ShopScoreError("bad_month", f"month {month!r} is not YYYY-MM (e.g. 2026-10)",
                             f"月份 {month!r} 格式应为 YYYY-MM（例如 2026-10）")
    first = date(int(m.group(1)), int(m.group(2)), 1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def month_bounds(month: str, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """The half-open ``[start, end)`` of ``month``: midnights in the city's time zone."""
    first, following = parse_month(month)
    tz = tz or city_tz()
    return datetime.combine(first, time(), tz), datetime.combine(following, time(), tz)


def last_month(now: datetime | None = None, tz: tzinfo | None = None) -> str:
    """``YYYY-MM`` of the last month that has ended (the city's date)."""
    today = (now or utcnow()).astimezone(tz or city_tz()).date()
    prev = today.replace(day=1) - timedelta(days=1)
    return f"{prev.year:04d}-{prev.month:02d}"


# ── Gathering the inputs ─────────────────────────────────────────────────────────────────────

def _ids(session: Session, expr: ColumnElement[Any]) -> ColumnElement[Any]:
    """The comma-separated ids of a group (NULLs skipped)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.string_agg(cast(expr, Text), ",")
    return func.group_concat(expr)


def _split(value: str | None) -> tuple[int, ...]:
    return tuple(sorted(map(int, value.split(",")))) if value else ()


def gather_inputs(session: Session, month: str, *, as_of: datetime,
                  params: ScoreParams = DEFAULT_PARAMS, tz: tzinfo | None = None,
                  case_ids: bool = True) -> list[ShopInput]:
    """Every active shop's inputs for ``month`` (three aggregate queries). Without
    ``case_ids`` the problems carry their counts but not their cases' ids: the same scores,
    for a fraction of the work (the ids are for a frozen month's explanations)."""
    start, end = month_bounds(month, tz)
    first, following = parse_month(month)
    conn = session.connection()  # Core rows: the ORM's row machinery costs here

    shops = conn.execute(
        select(Shop.id, UnitGrid.community_code, Region.parent_code)
        .select_from(Shop)
        .outerjoin(UnitGrid, UnitGrid.code == Shop.grid_code)
        .outerjoin(Region, Region.code == UnitGrid.community_code)
        .where(Shop.active.is_(True))
        .order_by(Shop.id)).all()

    reg = Case.registered_at
    in_month = reg >= start
    overdue = (Case.status.in_(sorted(UNRECTIFIED_STATES))
               & (Case.handle_deadline_at < as_of))
    timely = case((overdue, 2), (Case.handled_on_time.is_(False), 1), else_=0)
    problems = conn.execute(
        select(Case.shop_id, Case.category_kind, Case.category_code,
               func.sum(case((in_month, 1), else_=0)).label("n"),
               func.sum(case((reg < start, 1), else_=0)).label("earlier"),
               (_ids(session, case((in_month, Case.id))) if case_ids
                else literal(None)).label("ids"),
               func.sum(case((in_month & (timely == 1), 1), else_=0)).label("late"),
               func.sum(case((in_month & (timely == 2), 1), else_=0)).label("overdue"),
               func.sum(case((in_month, Case.rework_count), else_=0)).label("reworks"))
        .where(Case.shop_id.is_not(None), reg >= month_window(start, params), reg < end,
               Case.status.not_in(sorted(NOT_COUNTED_STATES)))
        .group_by(Case.shop_id, Case.category_kind, Case.category_code)).all()
    groups: dict[int, list[ProblemGroup]] = {}
    severities: dict[str, int] = {}
    for shop_id, kind, code, n, earlier, ids, late, overdue, reworks in problems:
        if not n:
            continue  # only seen before the month
        key = code if kind == "event" else f"{kind}:{code}"
        severity = severities.get(key)
        if severity is None:
            severity = severities[key] = severity_of(key)
        groups.setdefault(shop_id, []).append(ProblemGroup(
            key, severity, _split(ids), int(late or 0), int(overdue or 0), int(reworks or 0),
            int(n) - (0 if earlier else 1), -1 if case_ids else int(n)))

    ratings = dict((shop_id, (int(n), float(total))) for shop_id, n, total in conn.execute(
        select(ShopRating.shop_id, func.count(), func.sum(cast(ShopRating.stars, Integer)))
        .where(ShopRating.day >= first.isoformat(), ShopRating.day < following.isoformat(),
               ShopRating.hidden.is_(False))
        .group_by(ShopRating.shop_id)).all())

    out = []
    for shop_id, community, street in shops:
        n, total = ratings.get(shop_id, (0, 0.0))
        out.append(ShopInput(shop_id, street, community,
                             tuple(sorted(groups.get(shop_id, ()), key=lambda g: g.category)),
                             n, total))
    return out


# ── Preview, freeze, read ────────────────────────────────────────────────────────────────────

def preview_month(session: Session, month: str, *, params: ScoreParams = DEFAULT_PARAMS,
                  tz: tzinfo | None = None, as_of: datetime | None = None,
                  case_ids: bool = False) -> MonthScores:
    """Compute ``month`` now without writing anything (a frozen month is not looked at).
    ``as_of`` (default: now) is when "overdue" is judged. The losses list the cases behind
    each reason only with ``case_ids`` (the freeze asks for them; a preview needs counts)."""
    as_of = as_of or utcnow()
    # Hundreds of thousands of small objects are made and all kept: the cyclic garbage
    # collector would rescan them again and again for nothing (it doubled the time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        t0 = _time.perf_counter()
        inputs = gather_inputs(session, month, as_of=as_of, params=params, tz=tz,
                               case_ids=case_ids)
        t1 = _time.perf_counter()
        results = score_month(inputs, params)
        t2 = _time.perf_counter()
    finally:
        if collecting:
            gc.enable()
    return MonthScores(month, False, params.version, params.as_dict(), results,
                       as_of=as_of.isoformat(),
                       timings={"sql_s": t1 - t0, "score_s": t2 - t1})


def freeze_month(session: Session, month: str, by_user: int | None = None, *,
                 params: ScoreParams = DEFAULT_PARAMS, tz: tzinfo | None = None,
                 now: datetime | None = None) -> MonthScores:
    """Compute ``month`` and write it as its published snapshot, once. Refused (raises
    :class:`ShopScoreError`, writes nothing) for a month already frozen or not yet ended."""
    now = now or utcnow()
    _, end = month_bounds(month, tz)
    if session.get(ShopScoreMonth, month) is not None:
        raise _already_frozen(month)
    if end > now:
        raise ShopScoreError(
            "not_ended", f"month {month} has not ended yet (it ends {end:%Y-%m-%d %H:%M %Z}): "
            "preview it; freeze it once it is over",
            f"{month} 月尚未结束（{end:%Y-%m-%d %H:%M} 结束），只能预览，月末后再发布")
    scores = preview_month(session, month, params=params, tz=tz, as_of=now, case_ids=True)
    head = ShopScoreMonth(month=month, frozen_at=now, frozen_by=by_user,
                          formula=params.version,
                          params={**params.as_dict(), "as_of": scores.as_of,
                                  "tz": str(tz or city_tz())},
                          shops=len(scores.results))
    try:
        with session.begin_nested():  # a concurrent freeze of the same month loses here
            session.add(head)
            session.flush()
    except IntegrityError:
        raise _already_frozen(month) from None
    rows = [dict(month=month, shop_id=r.shop_id, street_code=r.street_code,
                 community_code=r.community_code, score=r.score, grade=r.grade, stars=r.stars,
                 listed=r.listed, rank_in_street=r.rank_in_street, inputs=r.inputs,
                 losses=r.losses) for r in scores.results]
    for i in range(0, len(rows), 5_000):
        session.execute(insert(ShopScore.__table__), rows[i:i + 5_000])
    scores.frozen, scores.frozen_at, scores.frozen_by = True, now, by_user
    scores.params = head.params or {}
    return scores


def _already_frozen(month: str) -> ShopScoreError:
    return ShopScoreError("frozen", f"month {month} is already frozen (published); a published "
                          "month is never recomputed",
                          f"{month} 月评分已发布（冻结），不能重新计算")


def is_frozen(session: Session, month: str) -> bool:
    parse_month(month)
    return session.get(ShopScoreMonth, month) is not None


def month_scores(session: Session, month: str) -> MonthScores | None:
    """The frozen ``month`` as published, or None when it was never frozen."""
    parse_month(month)
    head = session.get(ShopScoreMonth, month)
    if head is None:
        return None
    rows = session.scalars(select(ShopScore).where(ShopScore.month == month)
                           .order_by(ShopScore.shop_id)).all()
    results = [ShopResult(r.shop_id, r.street_code, r.community_code, r.score, r.stars,
                          r.grade, r.listed, r.rank_in_street, list(r.losses or []),
                          dict(r.inputs or {})) for r in rows]
    params = dict(head.params or {})
    return MonthScores(month, True, head.formula, params, results, frozen_at=head.frozen_at,
                       frozen_by=head.frozen_by, as_of=params.get("as_of"))


def shop_score(session: Session, month: str, shop_id: int) -> ShopResult | None:
    """One shop's frozen score of ``month`` (e.g. "last month" on its public page)."""
    r = session.get(ShopScore, (month, shop_id))
    if r is None:
        return None
    return ShopResult(r.shop_id, r.street_code, r.community_code, r.score, r.stars, r.grade,
                      r.listed, r.rank_in_street, list(r.losses or []), dict(r.inputs or {}))


def lists(session: Session, month: str, street: str | None = None, *,
          params: ScoreParams = DEFAULT_PARAMS, tz: tzinfo | None = None
          ) -> dict[str, Any]:
    """The red and black lists of ``month`` (one street, or all): from the frozen snapshot
    when there is one, else a preview (``frozen`` says which). Each entry names the shop."""
    scores = month_scores(session, month)
    if scores is None:
        scores = preview_month(session, month, params=params, tz=tz)
    picked = lists_of(scores.results, street)
    ids = [r.shop_id for rs in picked.values() for r in rs]
    names = _shop_names(session, ids)
    return {"month": month, "frozen": scores.frozen, "street": street,
            **{key: [_listed(r, names) for r in rs] for key, rs in picked.items()}}


def _shop_names(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    names: dict[int, tuple[str, str]] = {}
    for i in range(0, len(ids), 1_000):
        names.update((sid, (code, name)) for sid, code, name in session.execute(
            select(Shop.id, Shop.code, Shop.name).where(Shop.id.in_(ids[i:i + 1_000]))))
    return names


def _listed(r: ShopResult, names: dict[int, tuple[str, str]]) -> dict[str, Any]:
    code, name = names.get(r.shop_id, ("", ""))
    return {"shop_id": r.shop_id, "code": code, "name": name, "street_code": r.street_code,
            "community_code": r.community_code, "score": r.score, "stars": r.stars,
            "grade": r.grade, "rank_in_street": r.rank_in_street, "listed": r.listed}
