"""Monthly shop scores on the demo city (SQLite and PostgreSQL): the SQL gathering agrees
with the pure formula, a frozen month does not move when a case is edited, and a second
freeze is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from cases.workflow import Actor
from data.cases import SYSTEM, report_case, transition
from data.models import Case, Region, Shop, ShopRating, ShopScore, UnitGrid
from data.shop_scores import (
    ShopScoreError,
    freeze_month,
    is_frozen,
    last_month,
    lists,
    month_bounds,
    month_scores,
    preview_month,
    shop_score,
)
from services import Services
from shops.scoring import (
    Problem,
    ShopInput,
    group_problems,
    score_shop,
    street_priors,
    timeliness,
)

COMMAND = Actor("command")
PHOTO = [{"sha256": "a" * 64, "mime": "image/jpeg"}]


def _handler(case: Case) -> Actor:
    return Actor("handler", department_id=case.department_id)


def _open(s: Services, session: Any, shop: Any, code: str, at: datetime) -> Case:
    return report_case(session, s.cases, kind="event", code=code, actor=Actor("inspector"),
                       source="inspector", grid_code=shop.grid_code, shop_id=shop.id,
                       description="门前问题", now=at, auto=True)


def _feedback(s: Services, session: Any, case: Case, at: datetime) -> None:
    if case.status == "dispatched":
        transition(session, s.cases, case, "accept", _handler(case), now=at)
    transition(session, s.cases, case, "feedback", _handler(case), note="已整改",
               attachments=PHOTO, now=at)


def _rate(session: Any, shop_id: int, stars: int, day: str, k: int, hidden: bool = False
          ) -> None:
    session.add(ShopRating(shop_id=shop_id, stars=stars, device=f"dev{shop_id}-{k}",
                           client=f"cli{k}", day=day, hidden=hidden))


@pytest.fixture(scope="module")
def city(seeded_services: Services) -> dict[str, Any]:
    """Three shops of one street with a month of problems and ratings, in the last month."""
    s = seeded_services
    month = last_month()
    start, _ = month_bounds(month)
    at = start.astimezone(UTC) + timedelta(hours=2)  # 10:00 in the city
    with s.transaction() as session:
        street_of_shop = (select(Shop, Region.parent_code.label("street"))
                          .join(UnitGrid, UnitGrid.code == Shop.grid_code)
                          .join(Region, Region.code == UnitGrid.community_code))
        busy = session.execute(
            select(Region.parent_code).select_from(Shop)
            .join(UnitGrid, UnitGrid.code == Shop.grid_code)
            .join(Region, Region.code == UnitGrid.community_code)
            .group_by(Region.parent_code).order_by(func.count().desc()).limit(1)).scalar_one()
        a, b, c = [row.Shop for row in session.execute(
            street_of_shop.where(Region.parent_code == busy).order_by(Shop.id).limit(3))]
        # A: the docs' worked example — out of store on time; out of store again, late and
        # reworked (late again); garbage never rectified.
        a1 = _open(s, session, a, "0502", at + timedelta(days=2))
        _feedback(s, session, a1, at + timedelta(days=2, minutes=10))
        transition(session, s.cases, a1, "verify_pass", COMMAND,
                   now=at + timedelta(days=2, hours=1))
        transition(session, s.cases, a1, "close", SYSTEM, now=at + timedelta(days=2, hours=2))
        a2 = _open(s, session, a, "0502", at + timedelta(days=9))
        _feedback(s, session, a2, at + timedelta(days=20))
        transition(session, s.cases, a2, "verify_fail", COMMAND, reason="not fixed",
                   now=at + timedelta(days=20, hours=1))
        _feedback(s, session, a2, at + timedelta(days=25))
        a3 = _open(s, session, a, "0102", at + timedelta(days=12))
        # B: a declined report (does not count) and three 1-star ratings.
        b1 = report_case(session, s.cases, kind="event", code="0501", actor=Actor("citizen"),
                         source="qr", grid_code=b.grid_code, shop_id=b.id,
                         now=at + timedelta(days=3))
        transition(session, s.cases, b1, "decline", COMMAND, reason="invalid",
                   now=at + timedelta(days=3, hours=1))
        for k in range(3):
            _rate(session, b.id, 1, f"{month}-0{k + 1}", k)
        # C: nine 5-star ratings, one hidden 1-star rating (does not count), one rating of the
        # month before (does not count).
        for k in range(9):
            _rate(session, c.id, 5, f"{month}-1{k}", k)
        _rate(session, c.id, 1, f"{month}-20", 99, hidden=True)
        before = (start - timedelta(days=3)).date().isoformat()
        _rate(session, c.id, 1, before, 98)
        ids = {"a": a.id, "b": b.id, "c": c.id, "a1": a1.id, "a2": a2.id, "a3": a3.id,
               "b1": b1.id}
    return {"month": month, "street": busy, **ids}


def _expected(session: Any, city: dict[str, Any], as_of: datetime) -> dict[int, Any]:
    """The pure formula fed case by case (no SQL aggregates)."""
    shops = [city["a"], city["b"], city["c"]]
    start, end = month_bounds(city["month"])
    inputs = []
    for shop_id in shops:
        problems = []
        for case in session.scalars(select(Case).where(
                Case.shop_id == shop_id, Case.registered_at >= start,
                Case.registered_at < end, Case.status.not_in(["declined", "void"]))):
            late, overdue = timeliness(case.status, case.handled_on_time,
                                       case.handle_deadline_at, as_of)
            problems.append(Problem(case.id, case.category_code, case.registered_at,
                                    late=late, overdue=overdue, reworks=case.rework_count))
        n, total = session.execute(select(func.count(), func.coalesce(func.sum(
            ShopRating.stars), 0)).where(ShopRating.shop_id == shop_id,
                                         ShopRating.day.like(city["month"] + "-%"),
                                         ShopRating.hidden.is_(False))).one()
        inputs.append(ShopInput(shop_id, city["street"], None, group_problems(problems),
                                int(n), float(total)))
    prior = street_priors(inputs)
    return {i.shop_id: score_shop(i, prior.get(city["street"], prior[None])) for i in inputs}


def test_preview_matches_the_pure_formula(seeded_services: Services, city: dict) -> None:
    as_of = datetime.now(UTC)
    with seeded_services.session() as session:
        scores = preview_month(session, city["month"], as_of=as_of, case_ids=True)
        got = {r.shop_id: r for r in scores.results}
        want = _expected(session, city, as_of)
        quick = {r.shop_id: r for r in preview_month(session, city["month"],
                                                     as_of=as_of).results}
    assert not scores.frozen
    assert len(scores.results) == 1_057  # every demo shop is scored
    for shop_id, w in want.items():
        g = got[shop_id]
        assert (g.score, g.stars, g.grade, g.listed) == (w.score, w.stars, w.grade, w.listed)
        assert g.losses == w.losses
        # without the ids (a preview's default): the same scores and reasons, no case lists
        q = quick[shop_id]
        assert (q.score, q.stars, q.listed, q.inputs) == (g.score, g.stars, g.listed, g.inputs)
        assert [{**e, "cases": []} for e in g.losses] == q.losses
        assert g.street_code == city["street"]
    a, b, c = got[city["a"]], got[city["b"]], got[city["c"]]
    # Hand-computed (docs/shop-scoring.md, worked example): 17.5 + 10 → 72.5
    assert a.score == 72.5 and (a.stars, a.listed) == (2, None)
    assert {e["category"]: e["points"] for e in a.losses} == {"0502": 17.5, "0102": 10.0}
    assert a.inputs["late"] == 1 and a.inputs["overdue"] == 1 and a.inputs["reworks"] == 1
    # Street mean (3 × 1 + 9 × 5) / 12 = 4.0; B shrunk (3 + 5 × 4) / 8 = 2.875 → 3.75 lost
    assert b.inputs["rating_prior"] == 4.0 and b.inputs["rating_shrunk"] == 2.875
    assert b.score == 96.2 and b.listed == "red" and b.inputs["problems"] == 0
    assert c.score == 100.0 and c.inputs["ratings"] == 9
    assert c.rank_in_street == 1 and a.rank_in_street > b.rank_in_street


def test_freeze_snapshot_survives_case_edits_and_refuses_a_second_freeze(
        seeded_services: Services, city: dict) -> None:
    s = seeded_services
    month = city["month"]
    with s.transaction() as session:
        frozen = freeze_month(session, month, by_user=None)
    assert frozen.frozen and frozen.counts()["shops"] == 1_057
    with s.session() as session:
        assert is_frozen(session, month)
        first = month_scores(session, month)
        assert first is not None and first.formula == "shop-score/1"
        a_before = shop_score(session, month, city["a"])
    assert a_before is not None and a_before.score == 72.5
    # Later edits: the overdue garbage gets rectified, a new problem is recorded in the month.
    with s.transaction() as session:
        a3 = session.get(Case, city["a3"])
        _feedback(s, session, a3, datetime.now(UTC))
        shop = session.get(Shop, city["c"])
        start, _ = month_bounds(month)
        _open(s, session, shop, "0501", start.astimezone(UTC) + timedelta(days=5))
    with s.session() as session:
        again = month_scores(session, month)
        preview = {r.shop_id: r for r in preview_month(session, month).results}
        rows = session.scalar(select(func.count()).select_from(ShopScore)
                              .where(ShopScore.month == month))
    assert again is not None and rows == 1_057
    assert [(r.shop_id, r.score, r.losses) for r in again.results] == \
        [(r.shop_id, r.score, r.losses) for r in first.results]
    assert preview[city["c"]].score == 80.0  # a stall, overdue: 10 + 10 — the live numbers moved
    assert {r.shop_id: r for r in again.results}[city["c"]].score == 100.0  # … not the snapshot
    with s.transaction() as session, pytest.raises(ShopScoreError) as refused:
        freeze_month(session, month)
    assert refused.value.code == "frozen" and "already frozen" in str(refused.value)
    with s.session() as session:
        red_black = lists(session, month, street=city["street"])
    assert red_black["frozen"] is True
    assert city["b"] in [e["shop_id"] for e in red_black["red"]]
    assert all(e["street_code"] == city["street"] for e in red_black["red"])


def test_bad_months_are_refused(seeded_services: Services) -> None:
    with seeded_services.session() as session:
        with pytest.raises(ShopScoreError) as bad:
            preview_month(session, "2026-13")
        assert bad.value.code == "bad_month"
        this_month = datetime.now(UTC).astimezone(month_bounds("2026-01")[0].tzinfo)
        with pytest.raises(ShopScoreError) as early:
            freeze_month(session, f"{this_month:%Y-%m}")
        assert early.value.code == "not_ended"
        assert month_scores(session, "2001-01") is None  # never frozen
