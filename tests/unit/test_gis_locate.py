"""Point-to-grid location (单元网格定位), the edge rule, codes and the hierarchy."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
import warnings

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, box

from gis import (
    GridIndex,
    Location,
    is_community_code,
    is_component_code,
    is_district_code,
    is_grid_code,
    is_street_code,
    parent_codes,
)
from gis.synthetic import lattice_grids, voronoi_grids


def brute_force(codes: list[str], polys: list, x: np.ndarray, y: np.ndarray) -> list:
    """Reference answer: the lowest code among all grids whose polygon covers the point."""
    pts = shapely.points(x, y)
    best: list[str | None] = [None] * len(x)
    for code, poly in zip(codes, polys, strict=True):
        for k in np.flatnonzero(shapely.covers(poly, pts)):
            if best[k] is None or code < best[k]:
                best[k] = code
    return best


def covering(codes: list[str], polys: list, x: float, y: float) -> list[str]:
    return sorted(c for c, p in zip(codes, polys, strict=True) if p.covers(shapely.Point(x, y)))


@pytest.fixture(scope="module")
def lattice() -> tuple[list[str], list[Polygon], GridIndex]:
    """10 x 10 axis-aligned ~100 m squares near 112.47E, 23.05N."""
    codes, polys = lattice_grids(10, 10)
    return codes, polys, GridIndex.from_polygons(codes, polys)


@pytest.fixture(scope="module")
def jittered() -> tuple[list[str], list[Polygon], GridIndex]:
    codes, polys = lattice_grids(12, 9, jitter=0.25, seed=5)
    return codes, polys, GridIndex.from_polygons(codes, polys)


@pytest.fixture(scope="module")
def voronoi() -> tuple[list[str], list[Polygon], GridIndex]:
    codes, polys = voronoi_grids(150, seed=2)
    return codes, polys, GridIndex.from_polygons(codes, polys)


# --------------------------------------------------------------------------------------------
# inside / outside
# --------------------------------------------------------------------------------------------


def test_interior_points_land_in_their_own_grid(lattice) -> None:
    codes, polys, index = lattice
    pts = shapely.point_on_surface(polys)
    xy = shapely.get_coordinates(pts)
    for code, (x, y) in zip(codes, xy, strict=True):
        assert index.locate(x, y) == code
    assert list(index.locate_many_codes(xy[:, 0], xy[:, 1])) == codes


def test_shared_edge_points_land_in_exactly_one_grid(lattice) -> None:
    codes, polys, index = lattice
    seen_edges = 0
    for poly in polys:
        ring = list(poly.exterior.coords)
        for (x1, y1), (x2, y2) in itertools.pairwise(ring):
            # Axis-aligned edges: the midpoint is exactly on the edge.
            mx, my = (x1 + x2) / 2.0, (y1 + y2) / 2.0
            owners = covering(codes, polys, mx, my)
            got = index.locate(mx, my)
            assert got == owners[0], (mx, my, owners)
            many = index.locate_many_codes([mx], [my])
            assert many[0] == got
            seen_edges += len(owners) == 2
    assert seen_edges >= 2 * 2 * 9 * 10  # every interior edge seen from both sides


def test_shared_vertices_land_in_exactly_one_grid(lattice) -> None:
    codes, polys, index = lattice
    vertices = np.unique(shapely.get_coordinates(shapely.boundary(polys)), axis=0)
    many = index.locate_many_codes(vertices[:, 0], vertices[:, 1])
    four_way = 0
    for (x, y), from_many in zip(vertices, many, strict=True):
        owners = covering(codes, polys, x, y)
        assert owners, "every lattice vertex is on some grid"
        assert index.locate(x, y) == owners[0] == from_many
        four_way += len(owners) == 4
    assert four_way == 9 * 9


def test_edge_rule_does_not_depend_on_input_order(jittered) -> None:
    codes, polys, index = jittered
    order = list(range(len(codes)))
    random.Random(3).shuffle(order)
    shuffled = GridIndex.from_polygons([codes[i] for i in order], [polys[i] for i in order])
    vertices = shapely.get_coordinates(shapely.boundary(polys))
    a = index.locate_many_codes(vertices[:, 0], vertices[:, 1])
    b = shuffled.locate_many_codes(vertices[:, 0], vertices[:, 1])
    assert list(a) == list(b)
    assert shuffled.codes == tuple(sorted(codes))


def test_outer_boundary_counts_as_inside(lattice) -> None:
    codes, polys, index = lattice
    xmin, ymin, xmax, ymax = index.bounds
    mid_y = (ymin + ymax) / 2.0
    for x, y in [(xmin, mid_y), (xmax, mid_y), (xmin, ymin), (xmax, ymax)]:
        owners = covering(codes, polys, x, y)
        assert owners
        assert index.locate(x, y) == owners[0]
        assert index.locate_many([x], [y])[0] == index.index_of(owners[0])


@pytest.mark.parametrize(
    ("dx", "dy"),
    [(-1e-9, 0.0), (1e-9, 0.0), (0.0, -1e-9), (0.0, 1e-9), (-0.5, 0.0), (0.0, 10.0)],
)
def test_points_just_or_far_outside_are_outside(lattice, dx: float, dy: float) -> None:
    _, _, index = lattice
    xmin, ymin, xmax, ymax = index.bounds
    x = (xmax + dx) if dx > 0 else (xmin + dx) if dx < 0 else (xmin + xmax) / 2
    y = (ymax + dy) if dy > 0 else (ymin + dy) if dy < 0 else (ymin + ymax) / 2
    assert index.locate(x, y) is None
    assert index.locate_region(x, y) is None
    assert index.locate_many([x], [y]).tolist() == [-1]


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (0.0, 0.0),
        (-112.47, -23.05),
        (math.nan, 23.05),
        (112.47, math.nan),
        (math.inf, 23.05),
        (112.47, -math.inf),
        (math.nan, math.nan),
    ],
)
def test_far_away_and_non_finite_points_are_outside(lattice, lon: float, lat: float) -> None:
    _, _, index = lattice
    assert index.locate(lon, lat) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert index.locate_many([lon, lon], [lat, lat]).tolist() == [-1, -1]


def test_a_gap_inside_the_city_is_outside() -> None:
    codes, polys = lattice_grids(3, 3)
    hole = polys[4]
    index = GridIndex.from_polygons(codes[:4] + codes[5:], polys[:4] + polys[5:])
    c = hole.centroid
    assert index.locate(c.x, c.y) is None
    # ... but its edges still belong to the neighbours.
    x0, y0, x1, y1 = hole.bounds
    assert index.locate(x0, (y0 + y1) / 2) == codes[1]  # west edge: the column to the west
    assert index.locate(x1, (y0 + y1) / 2) == codes[7]  # east edge: the column to the east


def test_holes_and_islands() -> None:
    outer = box(112.47, 23.05, 112.48, 23.06)
    inner = box(112.474, 23.054, 112.476, 23.056)
    ring = Polygon(outer.exterior.coords, [inner.exterior.coords])
    island = inner
    with_island = GridIndex.from_polygons(["441202001001002", "441202001001001"], [ring, island])
    assert with_island.locate(112.475, 23.055) == "441202001001001"
    assert with_island.locate(112.471, 23.051) == "441202001001002"
    # Island edge: covered by both, the lower code wins.
    assert with_island.locate(112.474, 23.055) == "441202001001001"
    without = GridIndex.from_polygons(["441202001001002"], [ring])
    assert without.locate(112.475, 23.055) is None
    assert without.locate(112.474, 23.055) == "441202001001002"  # on the hole's edge


def test_multipolygon_grid() -> None:
    parts = MultiPolygon([box(112.47, 23.05, 112.471, 23.051), box(112.48, 23.05, 112.481, 23.051)])
    index = GridIndex.from_polygons(["441202001001001"], [parts])
    assert index.locate(112.4805, 23.0505) == "441202001001001"
    assert index.locate(112.475, 23.0505) is None


# --------------------------------------------------------------------------------------------
# vectorised location against brute force
# --------------------------------------------------------------------------------------------


def _random_points(index: GridIndex, polys: list, n: int, seed: int) -> tuple:
    xmin, ymin, xmax, ymax = index.bounds
    rng = np.random.default_rng(seed)
    w, h = xmax - xmin, ymax - ymin
    x = rng.uniform(xmin - 0.05 * w, xmax + 0.05 * w, n)
    y = rng.uniform(ymin - 0.05 * h, ymax + 0.05 * h, n)
    verts = shapely.get_coordinates(shapely.boundary(polys))  # exactly on edges/vertices
    return np.concatenate([x, verts[:, 0]]), np.concatenate([y, verts[:, 1]])


@pytest.mark.parametrize("which", ["lattice", "jittered", "voronoi"])
def test_locate_many_agrees_with_brute_force(which: str, request) -> None:
    codes, polys, index = request.getfixturevalue(which)
    x, y = _random_points(index, polys, 20_000, seed=len(which))
    expected = brute_force(codes, polys, x, y)
    got = index.locate_many_codes(x, y)
    assert list(got) == expected
    assert sum(e is None for e in expected) > 100  # some points really were outside
    indices = index.locate_many(x, y)
    assert indices.dtype.kind == "i"
    for k in range(0, len(x), 7):
        assert index.locate(float(x[k]), float(y[k])) == expected[k]
        assert index.locate_index(x[k], y[k]) == indices[k]


@pytest.mark.parametrize("cell_size", [1.0, 1e-5, 3e-4])
def test_answers_do_not_depend_on_the_raster(voronoi, cell_size: float) -> None:
    codes, polys, index = voronoi
    other = GridIndex.from_polygons(codes, polys, cell_size=cell_size)
    x, y = _random_points(index, polys, 5_000, seed=9)
    assert np.array_equal(other.locate_many(x, y), index.locate_many(x, y))


def test_locate_many_shapes_and_codes(lattice) -> None:
    codes, polys, index = lattice
    c = polys[0].centroid
    grid = index.locate_many(np.full((2, 3), c.x), np.full((2, 3), c.y))
    assert grid.shape == (2, 3)
    assert (grid == index.index_of(codes[0])).all()
    assert index.locate_many(c.x, c.y).shape == ()
    assert index.locate_many([], []).shape == (0,)
    got = index.codes_of(np.array([0, -1, 5]))
    assert got.dtype == object
    assert list(got) == [index.codes[0], None, index.codes[5]]
    with pytest.raises(IndexError):
        index.codes_of([len(index.codes)])


# --------------------------------------------------------------------------------------------
# construction
# --------------------------------------------------------------------------------------------


def test_constructor_rejects_bad_input() -> None:
    sq = box(112.47, 23.05, 112.471, 23.051)
    with pytest.raises(ValueError, match="duplicate"):
        GridIndex.from_polygons(["441202001001001", "441202001001001"], [sq, sq])
    with pytest.raises(ValueError, match="2 codes but 1"):
        GridIndex.from_polygons(["441202001001001", "441202001001002"], [sq])
    with pytest.raises(ValueError, match="LineString"):
        GridIndex.from_polygons(["441202001001001"], [LineString([(0, 0), (1, 1)])])
    with pytest.raises(ValueError, match="no grids"):
        GridIndex.from_polygons([], [])
    with pytest.raises(ValueError, match="WGS84"):
        GridIndex.from_polygons(["441202001001001"], [box(700_000, 2_550_000, 700_100, 2_550_100)])


def test_from_features() -> None:
    codes, polys = lattice_grids(2, 2)
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code": c}, "geometry": p.__geo_interface__}
            for c, p in zip(codes, polys, strict=True)
        ],
    }
    index = GridIndex.from_features(fc)
    c = polys[3].centroid
    assert index.locate(c.x, c.y) == codes[3]
    fc["crs"] = {"type": "name", "properties": {"name": "EPSG:3857"}}
    with pytest.raises(ValueError, match="EPSG:3857"):
        GridIndex.from_features(fc)


# --------------------------------------------------------------------------------------------
# codes and hierarchy
# --------------------------------------------------------------------------------------------


def test_parent_codes() -> None:
    assert parent_codes("441202003014027") == {
        "community": "441202003014",
        "street": "441202003",
        "district": "441202",
    }


@pytest.mark.parametrize(
    "bad",
    [
        "44120200301402",
        "4412020030140271",
        "44120200301402x",
        "",
        None,
        441202003014027,
        " 441202003014027",
    ],
)
def test_parent_codes_rejects_malformed(bad) -> None:
    with pytest.raises(ValueError, match="15 digits"):
        parent_codes(bad)


@pytest.mark.parametrize(
    ("fn", "good", "bad"),
    [
        (is_district_code, "441202", ["44120", "4412021", "44120a", "４４１２０２", "-44120"]),
        (is_street_code, "441202003", ["44120200", "4412020031", "441202 03"]),
        (is_community_code, "441202003014", ["44120200301", "4412020030145", "441202003o14"]),
        (
            is_grid_code,
            "441202003014027",
            ["44120200301402", "4412020030140271", "٤٤١٢٠٢٠٠٣٠١٤٠٢٧", "441202003014027\n"],
        ),
        (
            is_component_code,
            "4412020101000123",
            ["441202010100012", "44120201010001234", "441202010100012X"],
        ),
    ],
)
def test_code_validators(fn, good: str, bad: list) -> None:
    assert fn(good) is True
    for value in [*bad, None, 441202, b"441202", ["441202"]]:
        assert fn(value) is False, value


def test_locate_region(lattice) -> None:
    codes, polys, index = lattice
    c = polys[42].centroid
    loc = index.locate_region(c.x, c.y)
    assert loc == Location(
        grid=codes[42],
        community=codes[42][:12],
        street=codes[42][:9],
        district=codes[42][:6],
    )
    assert loc.district == "441202"
    with pytest.raises(dataclasses.FrozenInstanceError):
        loc.grid = "x"  # type: ignore[misc]


def test_locate_region_with_malformed_code_says_so() -> None:
    index = GridIndex.from_polygons(["G-1"], [box(112.47, 23.05, 112.471, 23.051)])
    assert index.locate(112.4705, 23.0505) == "G-1"
    with pytest.raises(ValueError, match="G-1"):
        index.locate_region(112.4705, 23.0505)
