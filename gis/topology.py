"""Topology checks for a set of unit grids (单元网格): valid, no overlaps, no gaps.

The standard wants the grids of an area to cover it completely without overlapping. This
module finds what breaks that, by id, with areas in square metres measured in the local UTM
zone (chosen from the data's centre, see :mod:`gis.crs`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from gis.crs import WGS84_EPSG, project, utm_epsg_for

__all__ = ["TopologyReport", "check_coverage"]

_SUMMARY_LIMIT = 50  # lines per kind of problem in summary()


@dataclass(frozen=True)
class TopologyReport:
    """What :func:`check_coverage` found in a coverage of unit grids (单元网格).

    * ``invalid``: ``(id, reason)`` for geometries that are not valid polygons (reason from
      ``shapely.is_valid_reason``, or "empty geometry", "not a polygon: …", "duplicate id").
    * ``overlaps``: ``(id_a, id_b, area_m2)`` for pairs whose interiors share more than the
      tolerance, ``id_a`` before ``id_b`` in input order.
    * ``gaps``: ``((lon, lat), area_m2)``, one representative WGS84 point inside each hole in
      the union of the set (and each part of ``boundary`` left uncovered), largest first.
    * ``outside``: ``(id, area_m2)`` for grids reaching beyond ``boundary`` by more than the
      tolerance (only checked when a boundary is given).
    """

    invalid: list[tuple[str, str]]
    overlaps: list[tuple[str, str, float]]
    gaps: list[tuple[tuple[float, float], float]]
    outside: list[tuple[str, float]]
    item_count: int
    tolerance_m2: float
    epsg: int | None

    @property
    def ok(self) -> bool:
        """True when nothing is invalid, overlapping, missing or outside the boundary."""
        return not (self.invalid or self.overlaps or self.gaps or self.outside)

    def summary(self) -> str:
        """Human-readable English lines naming the offending ids (one problem per line)."""
        head = f"Coverage check of {self.item_count} items (tolerance {self.tolerance_m2:g} m²)"
        if self.ok:
            return f"{head}: OK, no invalid geometry, overlaps or gaps."
        counts = (
            f"{len(self.invalid)} invalid, {len(self.overlaps)} overlaps, "
            f"{len(self.gaps)} gaps, {len(self.outside)} outside the boundary"
        )
        lines = [f"{head}: {counts}."]
        lines += _limited(f"invalid: {i}: {reason}" for i, reason in self.invalid)
        lines += _limited(f"overlap: {a} / {b}: {area:.1f} m²" for a, b, area in self.overlaps)
        lines += _limited(
            f"gap: near lon {lon:.6f}, lat {lat:.6f}: {area:.1f} m²"
            for (lon, lat), area in self.gaps
        )
        lines += _limited(
            f"outside: {i}: {area:.1f} m² beyond the boundary" for i, area in self.outside
        )
        return "\n".join(lines)


def _limited(lines: Iterable[str]) -> list[str]:
    out = list(lines)
    if len(out) > _SUMMARY_LIMIT:
        rest = len(out) - _SUMMARY_LIMIT
        out = [*out[:_SUMMARY_LIMIT], f"… and {rest} more like the above"]
    return out


def _polygonal(geom: object) -> Polygon | MultiPolygon | None:
    """The polygonal part of a repaired geometry (make_valid may add lines and points)."""
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def check_coverage(
    items: Sequence[tuple[str, Polygon | MultiPolygon]],
    *,
    boundary: Polygon | MultiPolygon | None = None,
    tolerance_m2: float = 1.0,
) -> TopologyReport:
    """Check that unit grids (单元网格) form a clean coverage: valid, no overlaps, no gaps.

    ``items`` are ``(id, polygon)`` pairs in WGS84 lon/lat. Invalid polygons are reported and
    then repaired (``make_valid``) so the overlap and gap checks still see their area.
    Overlaps and gaps of at most ``tolerance_m2`` are ignored as digitising noise. When
    ``boundary`` (e.g. the district or community outline) is given, uncovered parts of it are
    gaps too, and grids reaching beyond it are listed in ``outside``.
    """
    ids = [str(i) for i, _ in items]
    geoms = [g for _, g in items]
    invalid: list[tuple[str, str]] = []
    work: list[Polygon | MultiPolygon | None] = []
    seen: set[str] = set()
    for ident, geom in zip(ids, geoms, strict=True):
        if ident in seen:
            invalid.append((ident, "duplicate id"))
        seen.add(ident)
        if geom is None or geom.is_empty:
            invalid.append((ident, "empty geometry"))
            work.append(None)
        elif not isinstance(geom, Polygon | MultiPolygon):
            invalid.append((ident, f"not a polygon: {geom.geom_type}"))
            work.append(None)
        else:
            work.append(geom)

    arr = np.empty(len(work), dtype=object)
    arr[:] = work
    present = np.flatnonzero(~shapely.is_missing(arr))
    if present.size:
        reasons = shapely.is_valid_reason(arr[present])
        for k, reason in zip(present, reasons, strict=True):
            if reason != "Valid Geometry":
                invalid.append((ids[k], str(reason)))
                arr[k] = _polygonal(shapely.make_valid(arr[k]))
    present = np.flatnonzero(~shapely.is_missing(arr))

    extents = [shapely.bounds(arr[present])] if present.size else []
    if boundary is not None and not boundary.is_empty:
        extents.append(np.asarray(boundary.bounds)[None, :])
    if not extents:
        return TopologyReport(invalid, [], [], [], len(ids), tolerance_m2, None)
    allb = np.vstack(extents)
    xmin, ymin = allb[:, 0].min(), allb[:, 1].min()
    xmax, ymax = allb[:, 2].max(), allb[:, 3].max()
    epsg = utm_epsg_for((xmin + xmax) / 2.0, (ymin + ymax) / 2.0)

    metric = project(arr[present], WGS84_EPSG, epsg)
    overlaps = _overlaps(metric, [ids[k] for k in present], tolerance_m2)
    boundary_m = None
    if boundary is not None and not boundary.is_empty:
        boundary_m = project(boundary, WGS84_EPSG, epsg)
        if not boundary_m.is_valid:
            boundary_m = _polygonal(shapely.make_valid(boundary_m))
    gaps = _gaps(metric, boundary_m, epsg, tolerance_m2)
    outside: list[tuple[str, float]] = []
    if boundary_m is not None:
        shapely.prepare(boundary_m)
        sticking = np.flatnonzero(~shapely.covered_by(metric, boundary_m))
        if sticking.size:
            areas = shapely.area(shapely.difference(metric[sticking], boundary_m))
            outside = [
                (ids[present[s]], float(a))
                for s, a in zip(sticking, areas, strict=True)
                if a > tolerance_m2
            ]
    return TopologyReport(invalid, overlaps, gaps, outside, len(ids), tolerance_m2, epsg)


def _overlaps(
    metric: np.ndarray, ids: list[str], tolerance_m2: float
) -> list[tuple[str, str, float]]:
    if len(metric) < 2:
        return []
    tree = shapely.STRtree(metric)
    a, b = tree.query(metric, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if not a.size:
        return []
    # Interiors meet (not just a shared edge or vertex): DE-9IM pattern T********.
    inner = shapely.relate_pattern(metric[a], metric[b], "T********")
    a, b = a[inner], b[inner]
    if not a.size:
        return []
    areas = shapely.area(shapely.intersection(metric[a], metric[b]))
    order = np.lexsort((b, a))
    return [(ids[a[k]], ids[b[k]], float(areas[k])) for k in order if areas[k] > tolerance_m2]


def _gaps(
    metric: np.ndarray, boundary_m: object, epsg: int, tolerance_m2: float
) -> list[tuple[tuple[float, float], float]]:
    union = shapely.union_all(metric)
    parts = shapely.get_parts(union)
    filled = shapely.union_all(shapely.polygons(shapely.get_exterior_ring(parts)))
    region = shapely.difference(filled, union)
    if boundary_m is not None:
        region = shapely.union(region, shapely.difference(boundary_m, union))
    pieces = shapely.get_parts(region)
    pieces = pieces[shapely.get_type_id(pieces) == 3]  # polygons only
    if not pieces.size:
        return []
    areas = shapely.area(pieces)
    big = areas > tolerance_m2
    pieces, areas = pieces[big], areas[big]
    if not pieces.size:
        return []
    points = project(shapely.point_on_surface(pieces), epsg, WGS84_EPSG)
    xy = shapely.get_coordinates(points)
    order = np.argsort(-areas, kind="stable")
    return [((float(xy[k, 0]), float(xy[k, 1])), float(areas[k])) for k in order]
