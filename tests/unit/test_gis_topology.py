"""Coverage topology of unit grids (单元网格): invalid geometry, overlaps, gaps."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import LineString, Polygon, box
from shapely.ops import unary_union

from gis.crs import area_m2
from gis.synthetic import lattice_grids, metres_to_degrees
from gis.topology import check_coverage


def _items(codes: list[str], polys: list) -> list[tuple[str, Polygon]]:
    return list(zip(codes, polys, strict=True))


def test_clean_lattice_passes() -> None:
    codes, polys = lattice_grids(10, 10)
    report = check_coverage(_items(codes, polys), boundary=unary_union(polys))
    assert report.ok, report.summary()
    assert report.invalid == [] and report.overlaps == [] and report.gaps == []
    assert report.epsg == 32649
    assert "OK" in report.summary()


def test_clean_jittered_lattice_of_2000_grids_passes() -> None:
    codes, polys = lattice_grids(45, 45, jitter=0.2, seed=1)
    report = check_coverage(_items(codes, polys))
    assert report.ok, report.summary()
    assert report.item_count == 2025


def test_bow_tie_is_reported_invalid_by_id() -> None:
    codes, polys = lattice_grids(3, 3)
    x0, y0, x1, y1 = polys[4].bounds
    bow_tie = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    items = _items(codes, polys)
    items[4] = (codes[4], bow_tie)
    report = check_coverage(items)
    assert not report.ok
    assert [i for i, _ in report.invalid] == [codes[4]]
    assert "Self-intersection" in report.invalid[0][1]
    assert codes[4] in report.summary()


def test_non_polygons_and_duplicate_ids_are_invalid() -> None:
    codes, polys = lattice_grids(2, 2)
    items = _items(codes, polys)
    items[1] = (codes[1], LineString([(0, 0), (1, 1)]))
    items.append((codes[0], polys[0]))
    report = check_coverage(items)
    reasons = dict(report.invalid)
    assert "not a polygon" in reasons[codes[1]]
    assert reasons[codes[0]] == "duplicate id"


def test_overlap_pair_is_reported_with_ids_and_area() -> None:
    codes, polys = lattice_grids(3, 3)  # polys[i * 3 + j]: column i, row j
    dlon, _ = metres_to_degrees(10.0, 23.05)
    left, right = polys[1], polys[4]  # horizontally adjacent
    x0, y0, x1, y1 = right.bounds
    grown = box(x0 - dlon, y0, x1, y1)  # reaches 10 m into `left`
    items = _items(codes, polys)
    items[4] = (codes[4], grown)
    report = check_coverage(items)
    assert len(report.overlaps) == 1
    a, b, area = report.overlaps[0]
    assert (a, b) == (codes[1], codes[4])
    expected = area_m2(left.intersection(grown))
    assert area == pytest.approx(expected, rel=1e-6)
    assert 900.0 < area < 1100.0  # ~10 m x 100 m
    assert report.gaps == []
    assert codes[1] in report.summary() and codes[4] in report.summary()


def test_overlap_below_tolerance_is_ignored() -> None:
    codes, polys = lattice_grids(2, 1)
    dlon, _ = metres_to_degrees(0.001, 23.05)  # 1 mm x 100 m = 0.1 m²
    x0, y0, x1, y1 = polys[1].bounds
    items = [(codes[0], polys[0]), (codes[1], box(x0 - dlon, y0, x1, y1))]
    assert check_coverage(items).ok
    assert not check_coverage(items, tolerance_m2=0.01).ok


def test_contained_duplicate_polygon_is_an_overlap() -> None:
    codes, polys = lattice_grids(2, 1)
    items = [*_items(codes, polys), ("441202001001099", polys[0])]
    report = check_coverage(items)
    assert [(a, b) for a, b, _ in report.overlaps] == [(codes[0], "441202001001099")]
    assert report.overlaps[0][2] == pytest.approx(area_m2(polys[0]), rel=1e-6)


def test_gap_inside_the_union_is_found_with_its_area() -> None:
    codes, polys = lattice_grids(3, 3)
    missing = polys[4]
    report = check_coverage(_items(codes[:4] + codes[5:], polys[:4] + polys[5:]))
    assert len(report.gaps) == 1
    (lon, lat), area = report.gaps[0]
    assert missing.contains(shapely.Point(lon, lat))
    assert area == pytest.approx(area_m2(missing), rel=1e-6)
    assert 9_000 < area < 11_000
    assert "gap" in report.summary()


def test_gap_with_an_island_inside_counts_only_the_empty_part() -> None:
    codes, polys = lattice_grids(3, 3)
    missing = polys[4]
    island = missing.buffer(-0.0002)
    items = [*_items(codes[:4] + codes[5:], polys[:4] + polys[5:]), ("441202001001099", island)]
    report = check_coverage(items)
    assert len(report.gaps) == 1
    assert report.gaps[0][1] == pytest.approx(area_m2(missing) - area_m2(island), rel=1e-6)


def test_uncovered_boundary_is_a_gap_and_overhang_is_outside() -> None:
    codes, polys = lattice_grids(2, 2)
    union = unary_union(polys)
    dlon, dlat = metres_to_degrees(20.0, 23.05)
    x0, y0, x1, y1 = union.bounds
    boundary = box(x0, y0, x1 + dlon, y1)  # a 20 m strip east of the grids is uncovered
    report = check_coverage(_items(codes, polys), boundary=boundary)
    assert len(report.gaps) == 1
    # Differences taken in UTM and in lon/lat cut straight edges slightly differently.
    assert report.gaps[0][1] == pytest.approx(area_m2(boundary.difference(union)), rel=1e-4)
    assert report.outside == []

    small = box(x0, y0, x1, y1 - dlat)  # the top row sticks out by 20 m
    report = check_coverage(_items(codes, polys), boundary=small)
    assert report.gaps == []
    outside = dict(report.outside)
    top = [c for c, p in zip(codes, polys, strict=True) if p.bounds[3] == y1]
    assert sorted(outside) == sorted(top)
    for code in top:
        poly = polys[codes.index(code)]
        assert outside[code] == pytest.approx(area_m2(poly.difference(small)), rel=1e-4)
    assert "outside" in report.summary()


def test_empty_input_is_ok_and_empty_geometry_invalid() -> None:
    assert check_coverage([]).ok
    report = check_coverage([("441202001001001", Polygon())])
    assert report.invalid == [("441202001001001", "empty geometry")]
