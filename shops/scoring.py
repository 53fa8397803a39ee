"""The monthly shop score (门前三包月度评分): 0–100, stars, red and black lists per street.

Pure Python: plain values in, a :class:`ShopResult` per shop out; no SQL, no Flask, no Dash.
``data/shop_scores.py`` gathers the month's inputs with a few aggregate queries and freezes
the results; ``docs/shop-scoring.md`` explains the formula with a worked example (the same
numbers as ``tests/unit/test_shop_scoring.py``).

The formula, in short (every number is a field of :class:`ScoreParams`):

* A shop starts the month at 100.
* Each shop-front problem (a case about the shop registered in the month, not declined or
  voided) costs ``base_points[severity]``, plus ``late_factor`` × base when it was rectified
  after its deadline, or ``overdue_factor`` × base when it is still not rectified past its
  deadline, plus ``rework_factor`` × base for each rework (返工), plus ``repeat_factor`` × base
  when it repeats (the shop had the same problem type earlier in the month or in the
  ``repeat_days`` days before the month began).
* What one problem type costs in a month is capped at ``category_cap`` (one bad day does not
  zero a shop).
* Citizen ratings: the shop's mean is shrunk toward its street's mean,
  ``r̃ = (n·r̄ + m·μ) / (n + m)``; below ``ratings_neutral`` it costs up to ``ratings_points``.
  Fewer than ``ratings_min`` ratings are not counted at all.
* Score = max(0, 100 − losses), one decimal; stars by ``star_thresholds``; red list: no
  problem and score ≥ ``red_min_score``; black list: score < ``black_below`` or at least
  ``black_serious`` serious (severity ≥ ``serious_severity``) problems.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from shops.problems import PROBLEMS_BY_EVENT, severity_of

#: Case states in which the shop has not (yet, or again) rectified the problem.
UNRECTIFIED_STATES: frozenset[str] = frozenset({"reported", "registered", "dispatched",
                                                "accepted"})
#: Case states that do not count as a problem (不予立案、作废).
NOT_COUNTED_STATES: frozenset[str] = frozenset({"declined", "void"})

GRADES: tuple[str, ...] = ("failing", "poor", "fair", "good", "excellent")  # 1 … 5 stars
GRADE_LABELS: dict[str, tuple[str, str]] = {
    "excellent": ("优秀", "Excellent"),
    "good": ("良好", "Good"),
    "fair": ("合格", "Fair"),
    "poor": ("待改进", "Needs improvement"),
    "failing": ("不合格", "Failing"),
}
LIST_LABELS: dict[str, tuple[str, str]] = {"red": ("红榜", "Red list"),
                                           "black": ("黑榜", "Black list")}


class ScoreParamsError(ValueError):
    """Parameters that cannot make a score (a negative weight, thresholds out of order)."""


@dataclass(frozen=True)
class ScoreParams:
    """Every weight of the formula. ``version`` is stored with each frozen month: change it
    whenever a number changes, so a month always says which formula made it."""

    version: str = "shop-score/1"
    start: float = 100.0
    #: Points one problem costs by severity (1 minor, 2 ordinary, 3 serious).
    base_points: tuple[float, float, float] = (2.0, 5.0, 10.0)
    #: Extra, as a share of the base: rectified after its deadline (超期整改).
    late_factor: float = 0.5
    #: Extra, as a share of the base: still not rectified and past its deadline (逾期未改).
    overdue_factor: float = 1.0
    #: Extra, as a share of the base, for each rework (返工).
    rework_factor: float = 0.5
    #: Extra, as a share of the base, for a repeat (重复发生).
    repeat_factor: float = 0.5
    repeat_days: int = 30
    #: The most one problem type can cost in a month.
    category_cap: float = 30.0
    #: The most citizen ratings can cost.
    ratings_points: float = 10.0
    #: A shrunk mean at or above this many stars costs nothing; 1 star costs all.
    ratings_neutral: float = 4.0
    #: Shrinkage strength: the shop's ratings count as n / (n + m).
    ratings_m: float = 5.0
    #: Fewer ratings than this in the month: no ratings term.
    ratings_min: int = 3
    #: A street needs this many ratings for its own mean; otherwise the city's, otherwise
    #: ``prior_default``.
    prior_min: int = 10
    prior_default: float = 4.0
    #: Lowest scores for 5, 4, 3 and 2 stars (below the last: 1 star).
    star_thresholds: tuple[float, float, float, float] = (95.0, 85.0, 75.0, 60.0)
    red_min_score: float = 95.0
    black_below: float = 60.0
    black_serious: int = 3
    serious_severity: int = 3

    def __post_init__(self) -> None:
        numbers = (self.start, *self.base_points, self.late_factor, self.overdue_factor,
                   self.rework_factor, self.repeat_factor, self.category_cap,
                   self.ratings_points, self.ratings_m)
        if any(x < 0 for x in numbers) or len(self.base_points) != 3:
            raise ScoreParamsError("weights must be ≥ 0 and base_points has three severities")
        if list(self.star_thresholds) != sorted(self.star_thresholds, reverse=True):
            raise ScoreParamsError("star_thresholds must go from 5 stars down to 2 stars")
        if not 1.0 < self.ratings_neutral <= 5.0:
            raise ScoreParamsError("ratings_neutral must be above 1 and at most 5 stars")

    def base(self, severity: int) -> float:
        return self.base_points[min(max(severity, 1), 3) - 1]

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


DEFAULT_PARAMS = ScoreParams()


# ── Inputs ───────────────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Problem:
    """One shop-front problem: a case about the shop (``category`` is its event code)."""

    case_id: int
    category: str
    registered_at: datetime
    late: bool = False      # rectified, but after its deadline
    overdue: bool = False   # not rectified and past its deadline
    reworks: int = 0
    severity: int | None = None  # default: shops.problems.severity_of(category)


class ProblemGroup(NamedTuple):
    """A month's problems of one type at one shop, as the score needs them. The data layer
    builds these straight from SQL aggregates; :func:`group_problems` builds them from
    :class:`Problem` rows — both give the same score."""

    category: str
    severity: int
    cases: tuple[int, ...]  # the ids of the month's cases of this type, oldest first
    late: int = 0           # how many were rectified late
    overdue: int = 0        # how many are overdue
    reworks: int = 0        # reworks of them all
    repeats: int = 0        # how many are repeats
    count: int = -1         # how many, when ``cases`` was not read (-1: ``len(cases)``)

    @property
    def n(self) -> int:
        """How many problems of this type (``cases`` may be left empty by a caller that
        needs the score, not the ids: a preview)."""
        return self.count if self.count >= 0 else len(self.cases)


@dataclass(frozen=True)
class ShopInput:
    """Everything the month's score of one shop depends on."""

    shop_id: int
    street_code: str | None = None
    community_code: str | None = None
    groups: tuple[ProblemGroup, ...] = ()
    ratings_n: int = 0
    ratings_sum: float = 0.0


@dataclass
class ShopResult:
    shop_id: int
    street_code: str | None
    community_code: str | None
    score: float
    stars: int
    grade: str
    listed: str | None
    rank_in_street: int | None
    losses: list[dict[str, Any]]
    inputs: dict[str, Any] = field(default_factory=dict)


def timeliness(status: str, handled_on_time: bool | None, handle_deadline_at: datetime | None,
               as_of: datetime) -> tuple[bool, bool]:
    """``(late, overdue)`` of one case as of ``as_of``: *overdue* when the shop has not
    rectified it (still in a state before 处置反馈, suspended cases excepted: their clock is
    stopped) and its rectification (handling) deadline has passed; otherwise *late* when its
    last feedback came after that deadline. ``data/shop_scores.py`` says the same in SQL."""
    if status in UNRECTIFIED_STATES and handle_deadline_at is not None \
            and handle_deadline_at < as_of:
        return False, True
    return handled_on_time is False, False


def group_problems(problems: Iterable[Problem],
                   earlier: Iterable[str] = ()) -> tuple[ProblemGroup, ...]:
    """Group one shop's month of problems by type. ``earlier`` are the problem types the
    shop had in the ``repeat_days`` days before the month: every problem of a type seen
    earlier (in the month or in that window) is a repeat; the first of a new type is not."""
    seen = set(earlier)
    by_type: dict[str, list[Problem]] = {}
    for p in sorted(problems, key=lambda p: (p.registered_at, p.case_id)):
        by_type.setdefault(p.category, []).append(p)
    groups = []
    for category, items in sorted(by_type.items()):
        severities = {p.severity for p in items if p.severity is not None}
        severity = max(severities) if severities else severity_of(category)
        groups.append(ProblemGroup(
            category=category, severity=severity, cases=tuple(p.case_id for p in items),
            late=sum(1 for p in items if p.late and not p.overdue),
            overdue=sum(1 for p in items if p.overdue),
            reworks=sum(p.reworks for p in items),
            repeats=len(items) - (0 if category in seen else 1)))
    return tuple(groups)


# ── The formula ──────────────────────────────────────────────────────────────────────────────

def _name(category: str) -> tuple[str, str]:
    known = PROBLEMS_BY_EVENT.get(category)
    if known is not None:
        return known.name, known.name_en
    return f"问题类别 {category}", f"problem type {category}"


def _pts(x: float) -> float:
    """Points to two decimals, half up (``round`` is ten times slower on 10⁶ values)."""
    if x == int(x):
        return float(x)
    return math.floor(x * 100.0 + 0.5) / 100.0


def group_loss(group: ProblemGroup, params: ScoreParams = DEFAULT_PARAMS,
               memo: dict[tuple[Any, ...], tuple[Any, ...]] | None = None) -> dict[str, Any]:
    """The points one problem type costs, with its parts, as one ``losses`` entry. ``memo``
    (a dict kept across the shops of one month, same ``params``) reuses the texts and
    arithmetic of groups with the same counts: a city has many alike."""
    key = (group.category, group.severity, group.n, group.late, group.overdue,
           group.reworks, group.repeats)
    made = memo.get(key) if memo is not None else None
    if made is None:
        made = _loss_parts(params, *key)
        if memo is not None:
            memo[key] = made
    points, text_zh, text_en, parts = made
    return {"reason": "problems", "category": group.category, "severity": group.severity,
            "zh": text_zh, "en": text_en, "points": points, "parts": dict(parts),
            "cases": list(group.cases)}


def _loss_parts(params: ScoreParams, category: str, severity: int, n: int, n_late: int,
                n_overdue: int, reworks: int, repeats: int
                ) -> tuple[float, str, str, dict[str, float]]:
    base = params.base(severity)
    p_base = base * n
    p_late = params.late_factor * base * n_late
    p_overdue = params.overdue_factor * base * n_overdue
    p_rework = params.rework_factor * base * reworks
    p_repeat = params.repeat_factor * base * repeats
    raw = p_base + p_late + p_overdue + p_rework + p_repeat
    points = raw if raw <= params.category_cap else params.category_cap
    zh, en = _name(category)
    text_zh = f"{zh} {n} 起"
    text_en = f"{en}: {n} problem{'s' if n != 1 else ''}"
    notes_zh, notes_en = [], []
    if n_late:
        notes_zh.append(f"超期整改 {n_late}")
        notes_en.append(f"{n_late} rectified late")
    if n_overdue:
        notes_zh.append(f"逾期未改 {n_overdue}")
        notes_en.append(f"{n_overdue} overdue")
    if reworks:
        notes_zh.append(f"返工 {reworks}")
        notes_en.append(f"{reworks} rework{'s' if reworks != 1 else ''}")
    if repeats:
        notes_zh.append(f"重复 {repeats}")
        notes_en.append(f"{repeats} repeat{'s' if repeats != 1 else ''}")
    if notes_zh:
        text_zh += f"（{'、'.join(notes_zh)}）"
        text_en += f" ({', '.join(notes_en)})"
    if raw > points:
        text_zh += f"，本类封顶 {params.category_cap:g} 分"
        text_en += f", capped at {params.category_cap:g} points"
    parts = {"base": _pts(p_base), "late": _pts(p_late), "overdue": _pts(p_overdue),
             "rework": _pts(p_rework), "repeat": _pts(p_repeat), "capped": _pts(raw - points)}
    return _pts(points), text_zh, text_en, parts


def shrunk_rating(n: int, total: float, prior: float, params: ScoreParams = DEFAULT_PARAMS
                  ) -> float | None:
    """The shop's mean rating shrunk toward ``prior`` (its street's mean): ``(total + m·prior)
    / (n + m)``; None when it has fewer than ``ratings_min`` ratings."""
    if n < max(params.ratings_min, 1):
        return None
    return (total + params.ratings_m * prior) / (n + params.ratings_m)


def ratings_loss(shrunk: float | None, params: ScoreParams = DEFAULT_PARAMS) -> float:
    """Points lost to ratings: ``ratings_points`` × how far the shrunk mean is below
    ``ratings_neutral``, as a share of the way down to 1 star."""
    if shrunk is None or shrunk >= params.ratings_neutral:
        return 0.0
    share = (params.ratings_neutral - shrunk) / (params.ratings_neutral - 1.0)
    return params.ratings_points * min(share, 1.0)


def stars_for(score: float, params: ScoreParams = DEFAULT_PARAMS) -> int:
    for stars, threshold in zip((5, 4, 3, 2), params.star_thresholds, strict=True):
        if score >= threshold:
            return stars
    return 1


def score_shop(shop: ShopInput, prior: float, params: ScoreParams = DEFAULT_PARAMS,
               memo: dict[tuple[Any, ...], tuple[Any, ...]] | None = None) -> ShopResult:
    """One shop's month: score, stars, grade, list and losses (``rank_in_street`` is set by
    :func:`score_month`). ``prior`` is the mean rating the shop's own ratings shrink toward;
    ``memo``: see :func:`group_loss`."""
    losses = [group_loss(g, params, memo) for g in shop.groups]
    shrunk = shrunk_rating(shop.ratings_n, shop.ratings_sum, prior, params)
    lost_to_ratings = ratings_loss(shrunk, params)
    if lost_to_ratings > 0:
        mean = shop.ratings_sum / shop.ratings_n
        losses.append({
            "reason": "ratings", "category": None, "severity": None,
            "zh": f"市民评价 {shop.ratings_n} 条，均分 {mean:.2f}，"
                  f"向街道均分 {prior:.2f} 收缩后 {shrunk:.2f}",
            "en": f"{shop.ratings_n} citizen ratings, mean {mean:.2f}, shrunk toward the "
                  f"street's {prior:.2f}: {shrunk:.2f}",
            "points": _pts(lost_to_ratings), "parts": {}, "cases": []})
    total = sum(e["points"] for e in losses)
    score = round(max(0.0, params.start - total), 1)
    stars = stars_for(score, params)
    problems = sum(g.n for g in shop.groups)
    serious = sum(g.n for g in shop.groups if g.severity >= params.serious_severity)
    listed = None
    if problems == 0 and score >= params.red_min_score:
        listed = "red"
    elif score < params.black_below or serious >= params.black_serious:
        listed = "black"
    inputs = {"problems": problems, "serious": serious,
              "late": sum(g.late for g in shop.groups),
              "overdue": sum(g.overdue for g in shop.groups),
              "reworks": sum(g.reworks for g in shop.groups),
              "repeats": sum(g.repeats for g in shop.groups),
              "ratings": shop.ratings_n,
              "rating_mean": round(shop.ratings_sum / shop.ratings_n, 3)
              if shop.ratings_n else None,
              "rating_prior": round(prior, 3),
              "rating_shrunk": round(shrunk, 3) if shrunk is not None else None}
    return ShopResult(shop.shop_id, shop.street_code, shop.community_code, score, stars,
                      GRADES[stars - 1], listed, None, losses, inputs)


def street_priors(shops: Sequence[ShopInput], params: ScoreParams = DEFAULT_PARAMS
                  ) -> dict[str | None, float]:
    """Each street's mean rating of the month (all its shops' ratings pooled); a street with
    fewer than ``prior_min`` ratings takes the city's mean, and the city with fewer takes
    ``prior_default``. Key ``None`` holds the city's value (shops with no street use it)."""
    n_by: dict[str | None, int] = {}
    sum_by: dict[str | None, float] = {}
    for s in shops:
        if s.ratings_n:
            n_by[s.street_code] = n_by.get(s.street_code, 0) + s.ratings_n
            sum_by[s.street_code] = sum_by.get(s.street_code, 0.0) + s.ratings_sum
    city_n, city_sum = sum(n_by.values()), sum(sum_by.values())
    city = city_sum / city_n if city_n >= params.prior_min else params.prior_default
    priors: dict[str | None, float] = {
        street: sum_by[street] / n for street, n in n_by.items()
        if street is not None and n >= params.prior_min}
    priors[None] = city
    return priors


def rank(results: Sequence[ShopResult]) -> None:
    """Set ``rank_in_street``: 1 is the best score of the street; equal scores share a rank
    (1, 2, 2, 4). Shops without a street are ranked among themselves."""
    by_street: dict[str | None, list[ShopResult]] = {}
    for r in results:
        by_street.setdefault(r.street_code, []).append(r)
    for group in by_street.values():
        group.sort(key=lambda r: (-r.score, r.shop_id))
        previous, place = None, 0
        for i, r in enumerate(group, start=1):
            if r.score != previous:
                previous, place = r.score, i
            r.rank_in_street = place


def score_month(shops: Sequence[ShopInput], params: ScoreParams = DEFAULT_PARAMS
                ) -> list[ShopResult]:
    """Every shop's month, ranked within its street."""
    priors = street_priors(shops, params)
    city = priors[None]
    memo: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    results = [score_shop(s, priors.get(s.street_code, city), params, memo) for s in shops]
    rank(results)
    return results


def lists_of(results: Iterable[ShopResult], street: str | None = None
             ) -> dict[str, list[ShopResult]]:
    """The red and black lists (of one street, or all), best first within each."""
    out: dict[str, list[ShopResult]] = {"red": [], "black": []}
    for r in results:
        if r.listed and (street is None or r.street_code == street):
            out[r.listed].append(r)
    for key in out:
        out[key].sort(key=lambda r: (r.street_code or "", -r.score, r.shop_id))
    return out


def month_window(start: datetime, params: ScoreParams = DEFAULT_PARAMS) -> datetime:
    """Where the look-back for repeats begins: ``repeat_days`` before the month starts."""
    return start - timedelta(days=params.repeat_days)
