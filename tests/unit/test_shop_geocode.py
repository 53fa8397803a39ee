"""The offline address geocoder (shops/geocode.py) on hand-made roads: no database."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString, Point

from gis.crs import project, utm_epsg_for
from shops.geocode import (
    DEFAULT_OFFSET_M,
    METRES_PER_NUMBER,
    Anchor,
    Geocoder,
    geocode,
    parse_address,
)
from shops.registry import parse_records

LON0, LAT0 = 112.45, 23.03
EPSG = utm_epsg_for(LON0, LAT0)
ORIGIN = project(Point(LON0, LAT0), 4326, EPSG)


def road(*xy_m: tuple[float, float]) -> LineString:
    """A WGS84 line from points in metres east/north of (LON0, LAT0)."""
    return project(LineString([(ORIGIN.x + x, ORIGIN.y + y) for x, y in xy_m]), EPSG, 4326)


def metres(lon: float, lat: float) -> tuple[float, float]:
    p = project(Point(lon, lat), 4326, EPSG)
    return p.x - ORIGIN.x, p.y - ORIGIN.y


EAST = ("新兴大道", road((0, 0), (1000, 0)))  # runs west → east: odd north, even south
NORTH = ("江滨路", road((0, 200), (0, 800)), 20.0)  # runs south → north, 20 m wide


@pytest.mark.parametrize(("text", "expected"), [
    ("新兴大道12号", ("新兴大道", 12)),
    ("西江市端江区新兴大道12号", ("新兴大道", 12)),
    ("广东省西江市端江区城东街道新兴大道１２号", ("新兴大道", 12)),
    ("新兴大道 12", ("新兴大道", 12)),
    ("新兴大道12號", ("新兴大道", 12)),
    ("新兴大道100-1号", ("新兴大道", 100)),
    ("新兴大道", None),
])
def test_parse_address_with_known_roads(text, expected) -> None:
    assert parse_address(text, ["新兴大道", "新兴路", "江滨路"]) == expected


def test_parse_address_without_roads_strips_the_admin_prefix() -> None:
    assert parse_address("西江市端江区人民路８号") == ("人民路", 8)
    assert parse_address("") is None


def test_spacing_places_odd_left_and_even_right_from_the_start() -> None:
    odd = geocode("新兴大道21号", [EAST])
    even = geocode("新兴大道20号", [EAST])
    assert odd.ok and even.ok and odd.method == "spacing"
    x, y = metres(odd.lon, odd.lat)
    assert x == pytest.approx(21 * METRES_PER_NUMBER, abs=0.5)
    assert y == pytest.approx(DEFAULT_OFFSET_M, abs=0.5)  # left of west → east is north
    x, y = metres(even.lon, even.lat)
    assert x == pytest.approx(20 * METRES_PER_NUMBER, abs=0.5) and y == pytest.approx(
        -DEFAULT_OFFSET_M, abs=0.5)
    # A road running north: odd numbers on its left (west), offset from its width.
    x, y = metres(*(lambda g: (g.lon, g.lat))(geocode("江滨路3号", [EAST, NORTH])))
    assert x == pytest.approx(-(10.0 + 3.0), abs=0.5) and y == pytest.approx(215, abs=0.5)


def test_anchors_interpolate_on_the_same_side() -> None:
    def door(s: float, side: int) -> Anchor:
        lon, lat = project(Point(ORIGIN.x + s, ORIGIN.y + 12 * side), EPSG, 4326).coords[0]
        return Anchor("新兴大道", 0, lon, lat)

    anchors = [Anchor("新兴大道", n, a.lon, a.lat) for n, a in
               ((1, door(100, 1)), (5, door(300, 1)), (2, door(50, -1)), (6, door(650, -1)))]
    coder = Geocoder([EAST], anchors)
    three = coder.geocode("新兴大道3号")
    assert three.method == "anchors"
    x, y = metres(three.lon, three.lat)
    assert x == pytest.approx(200, abs=0.5) and y == pytest.approx(12, abs=0.5)
    four = coder.geocode("新兴大道4号")
    x, y = metres(four.lon, four.lat)
    assert x == pytest.approx(350, abs=0.5) and y == pytest.approx(-12, abs=0.5)
    seven = coder.geocode("新兴大道7号")  # beyond the last odd anchor at its rate (50 m/number)
    assert metres(seven.lon, seven.lat)[0] == pytest.approx(400, abs=0.5)
    known = coder.geocode("新兴大道5号")
    assert metres(known.lon, known.lat)[0] == pytest.approx(300, abs=0.5)
    assert metres(*(lambda g: (g.lon, g.lat))(coder.geocode(
        "新兴大道5号", exclude_number=True)))[0] != pytest.approx(300, abs=5)


def test_refusals_carry_a_reason() -> None:
    unknown = geocode("幸福路8号", [EAST])
    assert not unknown.ok and "幸福路" in unknown.zh and "no road named" in unknown.en
    far = geocode("新兴大道999号", [EAST])  # 4,995 m along a 1,000 m road
    assert not far.ok and "beyond the end" in far.en
    assert not geocode("新兴大道0号", [EAST]).ok
    assert not geocode("新兴大道", [EAST]).ok
    assert "no roads" in geocode("新兴大道1号", []).en


def test_the_parser_places_an_address_only_row_through_a_geocoder() -> None:
    coder = Geocoder([EAST])

    def hook(address: str):
        g = coder.geocode(address)
        return (g.lon, g.lat) if g.ok else (g.zh, g.en)

    rows = [(1, ["店名", "地址"]), (2, ["甲店", "新兴大道11号"]), (3, ["乙店", "幸福路8号"]),
            (4, ["丙店", ""])]
    result = parse_records(rows, geocode=hook)
    (row,) = result.rows
    assert row.geocoded and not row.location_given and row.line == 2
    assert metres(row.lon, row.lat)[0] == pytest.approx(55, abs=0.5)
    by_line = {e.line: e for e in result.errors}
    assert by_line[3].column == "address" and "幸福路" in by_line[3].zh
    assert by_line[4].column == "lon"
    with pytest.raises(Exception, match="location columns"):
        parse_records(rows)  # without a geocoder an address-only file is still refused
