"""An offline address geocoder (地址定位) on the city's own named roads.

A shop list often gives an address ("新兴大道12号", "西江市端江区新兴大道12号") and no
coordinates. This module places such an address beside its road, the way Chinese door numbers
(门牌号) are laid out: facing from the road's start to its end, odd numbers on the left and
even numbers on the right (左单右双), numbers growing from the road's start.

How far along the road a number lies:

- **Anchors** — shops already registered on the same road with a known number and position —
  are used first: the number is interpolated between the nearest known numbers of the same
  parity (the other side's when one side has none), extrapolated beyond them at the rate the
  anchors show. The offset from the centreline is the anchors' median on that side.
  A number past the road's end is put at the end unless it is over twice the highest
  known number (then refused as absurd).
- Without anchors, :data:`METRES_PER_NUMBER` (5 m per number, so 10 m between neighbours on
  one side, about one shop front) and an offset of half the road width plus
  :data:`KERB_TO_DOOR_M` (:data:`DEFAULT_OFFSET_M` when the width is unknown).

The demo city's generator numbers shops by their rank along each side (``2k - 1`` on the
left, ``2k`` on the right; shops are sparse, about 230 m apart per number on a side), not by
distance, so only anchors place demo addresses well; the fixed spacing is the fallback for a
road with no registered shop yet. Every result is an estimate to be checked on the map.

Pure: plain values in, a :class:`Geocoded` out; measured in the local UTM zone, returned in
WGS84 (EPSG:4326).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median

from shapely.geometry import LineString, Point

from gis.crs import WGS84_EPSG, project, utm_epsg_for

__all__ = [
    "ANCHOR_MAX_M",
    "DEFAULT_OFFSET_M",
    "END_SLACK_M",
    "KERB_TO_DOOR_M",
    "MAX_NUMBER",
    "METRES_PER_NUMBER",
    "Anchor",
    "Geocoded",
    "Geocoder",
    "geocode",
    "normalise_address",
    "parse_address",
]

METRES_PER_NUMBER = 5.0
"""Without anchors: number ``n`` lies ``n × 5 m`` from the road's start (10 m between
neighbours on one side — one shop front of the demo's 6–15 m)."""

DEFAULT_OFFSET_M = 10.0
"""Without anchors or a road width: the door this far from the centreline."""

KERB_TO_DOOR_M = 3.0
"""Without anchors: the door this far beyond half the road width (the pavement)."""

ANCHOR_MAX_M = 60.0
"""A registered shop further than this from its road's centreline is not used as an anchor."""

END_SLACK_M = 30.0
"""A number placed more than this beyond the road's end is refused as absurd."""

MAX_NUMBER = 9999
"""A door number above this is refused as absurd."""

_ADMIN_PREFIX = re.compile(r"^(?:\D{2,}?(?:省|自治区|自治州|市|区|县|旗|镇|乡|街道办事处|街道))+")
_NUMBER = re.compile(r"(\d+)(?:\s*[-－—之]\s*\d+)?\s*(?:号|號)?")


def normalise_address(text: str) -> str:
    """``text`` with full-width characters folded (NFKC: "１２" → "12") and blanks removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def parse_address(text: str, road_names: Iterable[str] = ()) -> tuple[str, int] | None:
    """``(road name, door number)`` of an address, or ``None`` when it has no number.

    With ``road_names`` the longest known name found in the text and followed by a number
    wins ("西江市端江区新兴大道12号" → ``("新兴大道", 12)``); otherwise the text before the
    number, less a leading province/city/district/town prefix. "号"/"號" may be missing;
    a sub-number ("100-1号", "100之1号") is ignored.
    """
    norm = normalise_address(text)
    if not norm:
        return None
    for name in sorted({normalise_address(n) for n in road_names if n}, key=len, reverse=True):
        start = norm.find(name)
        while start >= 0:
            m = _NUMBER.match(norm, start + len(name))
            if m:
                return name, int(m.group(1))
            start = norm.find(name, start + 1)
    m = re.search(r"(\D+?)(\d+)(?:[-－—之]\d+)?(?:号|號)?", norm)
    if not m:
        return None
    head = m.group(1)
    stripped = _ADMIN_PREFIX.sub("", head)
    return (stripped or head), int(m.group(2))


@dataclass(frozen=True)
class Anchor:
    """A known door: a registered shop's road, number and WGS84 position."""

    road: str
    number: int
    lon: float
    lat: float


@dataclass(frozen=True)
class Geocoded:
    """The estimate (``lon``/``lat`` WGS84, ``method`` "anchors" or "spacing") or, when
    ``lon`` is ``None``, why the address could not be placed (``zh`` / ``en``)."""

    lon: float | None = None
    lat: float | None = None
    road: str | None = None
    number: int | None = None
    method: str | None = None
    zh: str = ""
    en: str = ""

    @property
    def ok(self) -> bool:
        return self.lon is not None


def _fail(zh: str, en: str, road: str | None = None, number: int | None = None) -> Geocoded:
    return Geocoded(road=road, number=number, zh=zh, en=en)


class _Road:
    """One road name's centreline parts in metres, chained in the given order."""

    def __init__(self, parts: list[LineString], width: float | None) -> None:
        self.parts = parts
        self.starts = []
        total = 0.0
        for part in parts:
            self.starts.append(total)
            total += part.length
        self.length = total
        self.width = width

    def locate(self, p: Point) -> tuple[float, float, int]:
        """``(distance along, distance from, side)`` of ``p`` (side +1 left, -1 right)."""
        k = min(range(len(self.parts)), key=lambda i: self.parts[i].distance(p))
        part = self.parts[k]
        s = part.project(p)
        q, (tx, ty) = self._frame(part, s)
        cross = tx * (p.y - q.y) - ty * (p.x - q.x)
        return self.starts[k] + s, part.distance(p), (1 if cross >= 0 else -1)

    def point(self, s: float, side: int, offset: float) -> Point:
        k = max(i for i in range(len(self.parts)) if self.starts[i] <= s or i == 0)
        part = self.parts[k]
        q, (tx, ty) = self._frame(part, min(max(s - self.starts[k], 0.0), part.length))
        return Point(q.x - ty * offset * side, q.y + tx * offset * side)

    @staticmethod
    def _frame(part: LineString, s: float) -> tuple[Point, tuple[float, float]]:
        a = part.interpolate(max(s - 1.0, 0.0))
        b = part.interpolate(min(s + 1.0, part.length))
        dx, dy = b.x - a.x, b.y - a.y
        norm = math.hypot(dx, dy) or 1.0
        return part.interpolate(s), (dx / norm, dy / norm)


class Geocoder:
    """Addresses → positions on ``roads`` (``(name, LineString)`` or ``(name, LineString,
    width_m)``, WGS84), helped by ``anchors`` (known doors). Build once, call :meth:`geocode`
    for every row."""

    def __init__(self, roads: Iterable[Sequence], anchors: Iterable[Anchor] = ()) -> None:
        grouped: dict[str, tuple[list[LineString], list[float]]] = {}
        self._epsg = 0
        for item in roads:
            name, line = normalise_address(str(item[0])), item[1]
            width = item[2] if len(item) > 2 else None
            if not name or line is None or line.is_empty or line.geom_type != "LineString":
                continue
            if not self._epsg:
                x, y = line.coords[0]
                self._epsg = utm_epsg_for(x, y)
            parts, widths = grouped.setdefault(name, ([], []))
            parts.append(project(line, WGS84_EPSG, self._epsg))
            if width:
                widths.append(float(width))
        self._roads = {name: _Road(parts, max(widths) if widths else None)
                       for name, (parts, widths) in grouped.items()}
        # road → parity → [(number, along, offset)]
        self._anchors: dict[str, dict[int, list[tuple[int, float, float]]]] = {}
        for a in anchors:
            road = self._roads.get(normalise_address(a.road))
            if road is None or a.number < 1:
                continue
            s, d, side = road.locate(project(Point(a.lon, a.lat), WGS84_EPSG, self._epsg))
            if d > ANCHOR_MAX_M or side != (1 if a.number % 2 else -1):
                continue  # far from the road, or on the wrong side for its number
            by_parity = self._anchors.setdefault(normalise_address(a.road), {})
            by_parity.setdefault(a.number % 2, []).append((a.number, s, d))
        for by_parity in self._anchors.values():
            for known in by_parity.values():
                known.sort()

    @property
    def road_names(self) -> list[str]:
        return sorted(self._roads)

    def geocode(self, address: str, *, exclude_number: bool = False) -> Geocoded:
        """Place ``address``; with ``exclude_number`` an anchor of the very same road and
        number is not used (to measure the estimate against a known door)."""
        if not self._roads:
            return _fail("没有道路数据，无法按地址定位", "no roads loaded: an address cannot be "
                         "placed")
        parsed = parse_address(address, self._roads)
        if parsed is None:
            return _fail(f"地址“{address}”中没有门牌号，无法定位",
                         f"the address {address!r} has no door number: it cannot be placed")
        name, number = parsed
        road = self._roads.get(name)
        if road is None:
            return _fail(f"没有名为“{name}”的道路，无法按地址定位",
                         f"no road named {name!r}: the address cannot be placed", name, number)
        if not 1 <= number <= MAX_NUMBER:
            return _fail(f"门牌号 {number} 不合理", f"door number {number} is implausible",
                         name, number)
        side = 1 if number % 2 else -1
        by_parity = self._anchors.get(name, {})
        known = by_parity.get(number % 2) or by_parity.get(1 - number % 2) or []
        if exclude_number:
            known = [k for k in known if k[0] != number]
        if known:
            along = _interpolate(known, number)
            same = by_parity.get(number % 2) or []
            offset = median(k[2] for k in same) if same else median(k[2] for k in known)
            method = "anchors"
        else:
            along = number * METRES_PER_NUMBER
            offset = (road.width / 2 + KERB_TO_DOOR_M) if road.width else DEFAULT_OFFSET_M
            method = "spacing"
        if along > road.length + END_SLACK_M and (
                method == "spacing" or number > 2 * max(k[0] for k in known)):
            return _fail(f"门牌号 {number} 超出“{name}”的长度（约 {road.length:,.0f} 米），请核对",
                         f"door number {number} lies beyond the end of {name} "
                         f"(about {road.length:,.0f} m long): check it", name, number)
        along = min(max(along, 0.0), road.length)
        door = project(road.point(along, side, offset), self._epsg, WGS84_EPSG)
        return Geocoded(lon=float(door.x), lat=float(door.y), road=name, number=number,
                        method=method)


def _interpolate(known: list[tuple[int, float, float]], number: int) -> float:
    """Distance along the road of ``number`` from known ``(number, along, _)`` (sorted)."""
    points: dict[int, list[float]] = {}
    for n, s, _ in known:
        points.setdefault(n, []).append(s)
    ns = sorted(points)
    ss = [sum(points[n]) / len(points[n]) for n in ns]
    if number in points:
        return ss[ns.index(number)]
    if len(ns) == 1:
        return ss[0] + (number - ns[0]) * METRES_PER_NUMBER
    rate = (ss[-1] - ss[0]) / (ns[-1] - ns[0])
    if rate <= 0:
        rate = METRES_PER_NUMBER
    if number < ns[0]:
        return max(ss[0] - (ns[0] - number) * rate, 0.0)
    if number > ns[-1]:
        return ss[-1] + (number - ns[-1]) * rate
    for i in range(1, len(ns)):
        if ns[i] > number:
            t = (number - ns[i - 1]) / (ns[i] - ns[i - 1])
            return ss[i - 1] + t * (ss[i] - ss[i - 1])
    return ss[-1]  # unreachable: number lies between ns[0] and ns[-1]


def geocode(address: str, roads: Iterable[Sequence],
            anchors: Iterable[Anchor] = ()) -> Geocoded:
    """Place one ``address`` on ``roads`` (see :class:`Geocoder`; build one for many rows)."""
    return Geocoder(roads, anchors).geocode(address)
