"""Dedup (去重): is a trigger a new case, evidence for an open one, or a closed one back?

:func:`decide_dedup` takes a trigger (anything with the :class:`TriggerLike` attributes —
:class:`cases.rules.Trigger` has them) and plain snapshots of nearby open and recently closed
cases, and returns one decision, checked in this order:

1. **same component + same rule key** as an open case → :class:`AddEvidence` (``component``);
2. a trigger **not tied to a component** (a camera sighting) of the **same event category**
   within ``radius_m`` metres and ``hours`` hours of an open case's report →
   :class:`AddEvidence` of the nearest (``distance``). Component triggers never merge by
   distance: each component's case must close on its own sensor's evidence;
3. **same component + same rule key** as a case closed at most ``reopen_days`` days before the
   trigger → :class:`Reopen` (rework 返工) of the latest; a trigger older than that closure
   (a late message) is :class:`AddEvidence` (``late``) to it, not a reopening;
4. otherwise :class:`NewCase`.

Distance is the haversine great-circle distance on a sphere of the mean Earth radius
(6,371,008.8 m, IUGG): within 0.5 % of the ellipsoidal distance, far below a camera's or a
phone's position error, and exact enough at the 50 m scale. Timestamps are aware datetimes.
Pure Python, no I/O: the data layer supplies the candidate cases (found with its spatial index).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

EARTH_RADIUS_M = 6_371_008.8


class TriggerLike(Protocol):
    category_kind: str
    category_code: str
    component_id: Hashable | None
    rule_key: str | None
    lon: float | None
    lat: float | None
    ts: datetime


@dataclass(frozen=True)
class OpenCase:
    """An open case, as dedup needs it."""

    id: int
    category_kind: str
    category_code: str
    component_id: Hashable | None
    rule_key: str | None
    lon: float | None
    lat: float | None
    reported_at: datetime


@dataclass(frozen=True)
class ClosedCase(OpenCase):
    """A recently closed case (结案), as dedup needs it."""

    closed_at: datetime


@dataclass(frozen=True)
class DedupPolicy:
    """How close in space and time a sighting merges, and how long a closed case can reopen."""

    radius_m: float = 50.0
    hours: float = 24.0
    reopen_days: float = 7.0

    def __post_init__(self) -> None:
        for name in ("radius_m", "hours", "reopen_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} {value!r} must be a number ≥ 0")


@dataclass(frozen=True)
class DedupTable:
    """Policies by category: 4-digit code first, then its 2-digit major class, then default.

    Keys are ``(kind, code)``, e.g. ``("event", "0503")`` or ``("event", "05")``.
    """

    default: DedupPolicy = field(default_factory=DedupPolicy)
    by_category: Mapping[tuple[str, str], DedupPolicy] = field(default_factory=dict)

    def for_category(self, kind: str, code: str) -> DedupPolicy:
        found = self.by_category.get((kind, code)) or self.by_category.get((kind, code[:2]))
        return found or self.default


@dataclass(frozen=True)
class NewCase:
    """Open a new case."""


@dataclass(frozen=True)
class AddEvidence:
    """Attach the trigger to this case (seen again); ``matched_by`` says why."""

    case_id: int
    matched_by: str = "component"  # component | distance | late
    distance_m: float | None = None


@dataclass(frozen=True)
class Reopen:
    """The problem is back within ``reopen_days`` of closure: reopen the case (rework 返工)."""

    case_id: int


Decision = NewCase | AddEvidence | Reopen


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine distance in metres between two WGS84 points (lon, lat in degrees)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def decide_dedup(trigger: TriggerLike, open_cases: Iterable[OpenCase],
                 recently_closed: Iterable[ClosedCase],
                 policy: DedupPolicy | DedupTable) -> Decision:
    """New case, evidence for an open case, or reopen a closed one (see the module doc)."""
    if isinstance(policy, DedupTable):
        policy = policy.for_category(trigger.category_kind, trigger.category_code)
    open_cases = list(open_cases)
    component, key = trigger.component_id, trigger.rule_key
    if component is not None:
        same = [c for c in open_cases if c.component_id == component and c.rule_key == key]
        if same:
            return AddEvidence(min(same, key=lambda c: (c.reported_at, c.id)).id)
    elif (trigger.category_kind == "event" and trigger.lon is not None
          and trigger.lat is not None):
        span = timedelta(hours=policy.hours)
        # A degree of latitude is at least 110.5 km: farther apart in latitude than this can
        # never be within the radius, so most candidates are skipped before the haversine.
        dlat = policy.radius_m / 110_500.0
        best: tuple[float, datetime, int] | None = None
        for c in open_cases:
            if (c.lat is None or abs(c.lat - trigger.lat) > dlat or c.lon is None
                    or c.category_kind != "event" or c.category_code != trigger.category_code
                    or abs(trigger.ts - c.reported_at) > span):
                continue
            d = distance_m(trigger.lon, trigger.lat, c.lon, c.lat)
            if d <= policy.radius_m and (best is None or (d, c.reported_at, c.id) < best):
                best = (d, c.reported_at, c.id)
        if best is not None:
            return AddEvidence(best[2], "distance", round(best[0], 1))
    if component is not None:
        reopen = timedelta(days=policy.reopen_days)
        same_closed = [c for c in recently_closed
                       if c.component_id == component and c.rule_key == key
                       and trigger.ts - c.closed_at <= reopen]
        if same_closed:
            latest = max(same_closed, key=lambda c: (c.closed_at, c.id))
            if trigger.ts < latest.closed_at:
                return AddEvidence(latest.id, "late")
            return Reopen(latest.id)
    return NewCase()


__all__ = [
    "AddEvidence", "ClosedCase", "Decision", "DedupPolicy", "DedupTable", "NewCase", "OpenCase",
    "Reopen", "TriggerLike", "decide_dedup", "distance_m",
]
