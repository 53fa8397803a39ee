"""Read models of published shop scores (门前三包) for leaders: areas ranked by their shops'
scores, and the red and black lists — what the scorecards page shows and the exports print.

Only frozen months (``shop_score_months``) are read: a published month never changes.
Aggregated in SQL (``GROUP BY`` street or community over ``ix_shop_scores_month_street``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from data.models import Region, Shop, ShopScore, ShopScoreMonth

SHOP_RANK_LEVELS = ("street", "community")


@dataclass(frozen=True)
class ShopAreaRow:
    """One street or community's shops in a published month."""

    rank: int
    code: str
    name: str
    name_en: str | None
    shops: int
    mean: float
    five_star: int
    red: int
    black: int


@dataclass(frozen=True)
class ShopListRow:
    """A shop on a list (or in the month's table) with where it lost points."""

    code: str
    name: str
    street_code: str | None
    street: str | None
    score: float
    stars: int
    listed: str | None
    rank_in_street: int | None
    losses: list[dict]


def published_months(session: Session) -> list[str]:
    """The frozen months, newest first."""
    return list(session.scalars(select(ShopScoreMonth.month).order_by(
        ShopScoreMonth.month.desc())))


def shop_rankings(session: Session, month: str, by: str = "street") -> list[ShopAreaRow]:
    """Streets (or communities) by the mean score of their shops in ``month``, best first
    (ties: more shops first, then code)."""
    if by not in SHOP_RANK_LEVELS:
        raise ValueError(f"by={by!r}: use one of {', '.join(SHOP_RANK_LEVELS)}")
    column = ShopScore.street_code if by == "street" else ShopScore.community_code
    n = func.count().label("n")
    mean = func.avg(ShopScore.score).label("mean")
    rows = session.execute(
        select(column, n, mean,
               func.sum(case((ShopScore.stars == 5, 1), else_=0)),
               func.sum(case((ShopScore.listed == "red", 1), else_=0)),
               func.sum(case((ShopScore.listed == "black", 1), else_=0)),
               Region.name, Region.name_en)
        .outerjoin(Region, and_(Region.code == column, Region.level == by))
        .where(ShopScore.month == month, column.is_not(None))
        .group_by(column, Region.name, Region.name_en)
        .order_by(mean.desc(), n.desc(), column)).all()
    return [ShopAreaRow(rank=i, code=code, name=name or code, name_en=name_en, shops=int(count),
                        mean=round(float(avg), 1), five_star=int(five or 0), red=int(red or 0),
                        black=int(black or 0))
            for i, (code, count, avg, five, red, black, name, name_en) in enumerate(rows, 1)]


def shop_list(session: Session, month: str, *, listed: str | None = None,
              area: str | None = None, limit: int | None = None) -> list[ShopListRow]:
    """The shops of ``month`` (only the ``listed`` red or black ones when given; inside
    ``area`` — a street or community code — when given): the red list best first, anything
    else worst first."""
    street = Region.__table__.alias("street")
    stmt = (select(Shop.code, Shop.name, ShopScore.street_code, street.c.name, ShopScore.score,
                   ShopScore.stars, ShopScore.listed, ShopScore.rank_in_street,
                   ShopScore.losses)
            .join(Shop, Shop.id == ShopScore.shop_id)
            .outerjoin(street, street.c.code == ShopScore.street_code)
            .where(ShopScore.month == month))
    if listed is not None:
        stmt = stmt.where(ShopScore.listed == listed)
    if area:
        column = ShopScore.street_code if len(area) == 9 else ShopScore.community_code
        stmt = stmt.where(column == area)
    order = ShopScore.score.desc() if listed == "red" else ShopScore.score.asc()
    stmt = stmt.order_by(order, Shop.code)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [ShopListRow(code=code, name=name, street_code=sc, street=sn, score=float(score),
                        stars=int(stars), listed=lst, rank_in_street=rank,
                        losses=list(losses or []))
            for code, name, sc, sn, score, stars, lst, rank, losses in session.execute(stmt)]
