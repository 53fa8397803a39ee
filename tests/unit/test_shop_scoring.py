"""The monthly shop score against hand-computed numbers (docs/shop-scoring.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shops.scoring import (
    DEFAULT_PARAMS,
    Problem,
    ProblemGroup,
    ScoreParams,
    ScoreParamsError,
    ShopInput,
    group_problems,
    lists_of,
    ratings_loss,
    score_month,
    score_shop,
    shrunk_rating,
    stars_for,
    street_priors,
    timeliness,
)

T0 = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def test_a_clean_shop_keeps_100_and_makes_the_red_list() -> None:
    r = score_shop(ShopInput(1, "440101001"), prior=4.0)
    assert (r.score, r.stars, r.grade, r.listed, r.losses) == (100.0, 5, "excellent", "red", [])


def test_worked_example_of_the_docs() -> None:
    """docs/shop-scoring.md, "Worked example": two out-of-store problems (the second late,
    reworked once, a repeat) and one garbage problem still overdue."""
    problems = [
        Problem(101, "0502", day(2)),                          # on time
        Problem(102, "0502", day(9), late=True, reworks=1),    # late, one rework, repeat
        Problem(103, "0102", day(12), overdue=True),           # not rectified, past deadline
    ]
    groups = group_problems(problems)
    r = score_shop(ShopInput(7, "440101001", groups=groups), prior=4.0)
    by_cat = {e["category"]: e for e in r.losses}
    # out of store: severity 2, base 5: 2 × 5 + late 0.5 × 5 + rework 0.5 × 5 + repeat 0.5 × 5
    assert by_cat["0502"]["points"] == 17.5
    assert by_cat["0502"]["parts"] == {"base": 10.0, "late": 2.5, "overdue": 0.0,
                                       "rework": 2.5, "repeat": 2.5, "capped": 0.0}
    assert by_cat["0502"]["cases"] == [101, 102]
    # garbage: severity 2, base 5, overdue + 1.0 × 5
    assert by_cat["0102"]["points"] == 10.0
    assert r.score == 72.5
    assert (r.stars, r.grade, r.listed) == (2, "poor", None)
    assert sum(e["points"] for e in r.losses) == pytest.approx(100 - r.score)
    assert r.inputs["problems"] == 3 and r.inputs["late"] == 1 and r.inputs["overdue"] == 1
    assert "店外经营 2 起" in by_cat["0502"]["zh"] and by_cat["0502"]["en"] == (
        "Trading outside the shop: 2 problems (1 rectified late, 1 rework, 1 repeat)")


def test_one_bad_day_is_capped_per_problem_type_and_serious_problems_blacklist() -> None:
    """Three pavement stalls (serious, base 10), all overdue: 30 + 30 + 2 repeats × 5 = 70,
    capped at 30 → 70 points, 2 stars, and three serious problems put it on the black list."""
    groups = group_problems([Problem(i, "0501", day(i), overdue=True) for i in (1, 2, 3)])
    r = score_shop(ShopInput(8, "440101001", groups=groups), prior=4.0)
    (loss,) = r.losses
    assert loss["points"] == 30.0
    assert loss["parts"]["capped"] == 40.0
    assert "封顶 30" in loss["zh"]
    assert r.score == 70.0
    assert (r.stars, r.listed) == (2, "black")


def test_a_low_score_blacklists_even_without_serious_problems() -> None:
    groups = group_problems(
        [Problem(i, "0502", day(i), overdue=True) for i in range(6)]
        + [Problem(10 + i, "0105", day(i), overdue=True) for i in range(6)])
    r = score_shop(ShopInput(9, "440101001", groups=groups), prior=4.0)
    assert [e["points"] for e in r.losses] == [30.0, 30.0]  # both capped
    assert r.score == 40.0
    assert (r.stars, r.grade, r.listed) == (1, "failing", "black")
    assert r.inputs["serious"] == 0


def test_repeat_of_a_problem_from_before_the_month() -> None:
    """An umbrella (minor, base 2) that the shop also had in the 30 days before the month:
    base 2 + repeat 0.5 × 2 = 3 → 97; 5 stars, but a shop with a problem is not red."""
    fresh = group_problems([Problem(1, "0504", day(3))])
    again = group_problems([Problem(1, "0504", day(3))], earlier={"0504"})
    assert fresh[0].repeats == 0 and again[0].repeats == 1
    r = score_shop(ShopInput(3, "440101001", groups=again), prior=4.0)
    assert r.score == 97.0
    assert (r.stars, r.listed) == (5, None)


def test_group_problems_matches_hand_built_groups() -> None:
    groups = group_problems([Problem(5, "0105", day(5), reworks=2),
                             Problem(4, "0105", day(1), late=True),
                             Problem(6, "0105", day(7), late=True, overdue=True)],
                            earlier={"0102"})
    assert groups == (ProblemGroup("0105", 2, cases=(4, 5, 6), late=1, overdue=1, reworks=2,
                                   repeats=2),)
    assert group_problems([Problem(1, "9999", day(1))])[0].severity == 1  # unlisted type


def test_three_angry_ratings_do_not_sink_a_shop() -> None:
    """Street mean 4.2 (15 ratings), shop X three 1-star ratings: shrunk (3 + 5 × 4.2) / 8 =
    3.0, a third of the way from 4 stars down to 1 → 10 / 3 = 3.33 points → 96.7, still five
    stars and on the red list. Unshrunk (m = 0) the same ratings would cost all 10 points."""
    x = ShopInput(1, "S1", ratings_n=3, ratings_sum=3)
    y = ShopInput(2, "S1", ratings_n=12, ratings_sum=60)
    assert street_priors([x, y])["S1"] == pytest.approx(4.2)
    rx, ry = score_month([x, y])
    assert rx.inputs["rating_shrunk"] == 3.0
    assert rx.losses[0]["reason"] == "ratings" and rx.losses[0]["points"] == 3.33
    assert rx.score == 96.7
    assert (rx.stars, rx.listed) == (5, "red")
    assert ry.score == 100.0  # shrunk (60 + 21) / 17 = 4.76 ≥ 4: nothing lost
    unshrunk = score_shop(x, prior=4.2, params=replace(DEFAULT_PARAMS, ratings_m=0))
    assert unshrunk.score == 90.0


def test_fewer_ratings_than_the_minimum_do_not_count() -> None:
    assert shrunk_rating(2, 2, 4.2) is None
    r = score_shop(ShopInput(1, "S1", ratings_n=2, ratings_sum=2), prior=4.2)
    assert r.score == 100.0 and r.inputs["rating_shrunk"] is None
    assert ratings_loss(1.0) == 10.0 and ratings_loss(4.5) == 0.0 and ratings_loss(2.5) == 5.0


def test_many_bad_ratings_do_sink_a_shop() -> None:
    """40 one-star ratings: (40 + 5 × 4.2) / 45 = 1.356 → 10 × 2.644 / 3 = 8.81 points."""
    r = score_shop(ShopInput(1, "S1", ratings_n=40, ratings_sum=40), prior=4.2)
    assert r.losses[0]["points"] == 8.81
    assert r.score == 91.2


def test_street_prior_falls_back_to_the_city_then_the_default() -> None:
    few = [ShopInput(1, "S1", ratings_n=4, ratings_sum=8), ShopInput(2, "S2", ratings_n=5,
                                                                      ratings_sum=25)]
    priors = street_priors(few)
    assert priors == {None: 4.0}  # the city has 9 < 10 ratings: the default
    more = [*few, ShopInput(3, "S2", ratings_n=6, ratings_sum=30)]
    priors = street_priors(more)
    assert priors["S2"] == 5.0                        # 11 ratings: its own mean
    assert "S1" not in priors                         # 4 ratings: the city's
    assert priors[None] == pytest.approx(63 / 15)  # (8 + 25 + 30) / 15 = 4.2


@pytest.mark.parametrize(("score", "stars"), [(100, 5), (95, 5), (94.9, 4), (85, 4),
                                              (84.9, 3), (75, 3), (74.9, 2), (60, 2),
                                              (59.9, 1), (0, 1)])
def test_star_thresholds(score: float, stars: int) -> None:
    assert stars_for(score) == stars


def test_ranks_and_lists_per_street() -> None:
    shops = [ShopInput(1, "S1"), ShopInput(2, "S1"),
             ShopInput(3, "S1", groups=group_problems([Problem(9, "0501", day(1))])),
             ShopInput(4, "S2", groups=group_problems(
                 [Problem(i, "0501", day(i), overdue=True) for i in (1, 2, 3)]))]
    results = {r.shop_id: r for r in score_month(shops)}
    assert [results[i].rank_in_street for i in (1, 2, 3, 4)] == [1, 1, 3, 1]
    assert results[3].score == 90.0
    lists = lists_of(results.values(), street="S1")
    assert [r.shop_id for r in lists["red"]] == [1, 2] and lists["black"] == []
    assert [r.shop_id for r in lists_of(results.values())["black"]] == [4]


def test_timeliness() -> None:
    now = day(10)
    assert timeliness("accepted", None, day(9), now) == (False, True)     # overdue
    assert timeliness("accepted", None, day(11), now) == (False, False)   # not yet due
    assert timeliness("suspended", None, day(9), now) == (False, False)   # clock stopped
    assert timeliness("closed", False, day(9), now) == (True, False)      # rectified late
    assert timeliness("handled", True, day(9), now) == (False, False)     # on time
    assert timeliness("accepted", True, day(9), now) == (False, True)     # rework, overdue


def test_params_are_checked_and_carry_a_version() -> None:
    with pytest.raises(ScoreParamsError):
        ScoreParams(late_factor=-1)
    with pytest.raises(ScoreParamsError):
        ScoreParams(star_thresholds=(60, 75, 85, 95))
    assert DEFAULT_PARAMS.as_dict()["version"] == "shop-score/1"
    assert DEFAULT_PARAMS.as_dict()["base_points"] == [2.0, 5.0, 10.0]
    with pytest.raises(AttributeError):
        DEFAULT_PARAMS.category_cap = 5  # type: ignore[misc]
