"""The shop registry's checks (shops/registry.py) and QR tokens (shops/tokens.py) on hand-made
rows: no database, no files."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import Point, Polygon, mapping

from gis.crs import to_metric, wgs84_to_gcj02
from shops.problems import DEFAULT_FRONTAGE_M
from shops.registry import (
    DEFAULT_WIDTH_M,
    RegistryFileError,
    default_zone,
    normalise_licence,
    normalise_phone,
    parse_file,
    parse_records,
    valid_uscc,
    zone_size,
)
from shops.tokens import is_token_format, new_token, public_url_for

LICENCE = "92449902MAPBX3QU12"  # a demo shop's, check character right
LICENCE_2 = "92449902MAGMAN5D1C"
LON, LAT = 112.4492509, 23.0323908
ZONE = Polygon([(112.4491909, 23.0323324), (112.4493266, 23.032351), (112.4493194, 23.0323957),
                (112.4491838, 23.032377), (112.4491909, 23.0323324)])


def records(header: list[str], *rows: list[str]) -> list[tuple[int, list[str]]]:
    return [(1, header)] + [(n, row) for n, row in enumerate(rows, 2)]


def test_chinese_headers_and_a_good_row() -> None:
    result = parse_records(records(
        ["店名", "营业执照号", "地址", "负责人", "联系电话", "经度", "纬度", "门前进深（米）",
         "备注"],
        ["旺角旅馆", LICENCE.lower(), " 新兴大道1号 ", "毛婷", "189 8623 7152", str(LON),
         str(LAT), "6"]))
    assert result.errors == []
    (row,) = result.rows
    assert (row.line, row.name, row.licence_no, row.address) == (2, "旺角旅馆", LICENCE,
                                                                  "新兴大道1号")
    assert row.owner_phone == "18986237152" and row.frontage_m == 6.0
    assert (row.lon, row.lat) == (LON, LAT) and row.zone is None and row.location_given
    assert result.columns["frontage_m"] == "门前进深（米）"
    assert result.ignored_columns == ["备注"]


def test_english_headers_and_a_geojson_zone_without_a_location() -> None:
    result = parse_records(records(
        ["name", "licence_no", "zone", "owner_phone"],
        ["Corner shop", LICENCE, json.dumps(mapping(ZONE)), "0758-2231234"]))
    assert result.errors == []
    (row,) = result.rows
    assert row.zone is not None and row.zone.equals(ZONE)
    assert not row.location_given and ZONE.contains(Point(row.lon, row.lat))
    assert row.owner_phone == "0758-2231234"


def test_each_bad_row_names_its_line_and_reason_and_the_good_rows_stay() -> None:
    result = parse_records(records(
        ["店名", "营业执照号", "联系电话", "经度", "纬度", "责任区"],
        ["好店", LICENCE, "18986237152", str(LON), str(LAT), ""],        # 2 good
        ["", LICENCE_2, "", str(LON), str(LAT), ""],                     # 3 no name
        ["坏执照", "92449902MAPBX3QU13", "", str(LON), str(LAT), ""],    # 4 check char
        ["坏电话", "", "12345", str(LON), str(LAT), ""],                 # 5 phone
        ["没位置", "", "", "", "", ""],                                  # 6 nowhere
        ["经度坏", "", "", "abc", str(LAT), ""],                         # 7 lon
        ["纬度越界", "", "", str(LON), "123", ""],                        # 8 lat range
        ["坏责任区", "", "", "", "", "POLYGON((1 2, 3"],                  # 9 zone
        ["重复执照", LICENCE, "", str(LON), str(LAT), ""],               # 10 dup of 2
        ["", "", "", "", "", ""],                                       # 11 blank: skipped
        ["远离责任区", "", "", "112.46", "23.04", ZONE.wkt],              # 12 far
        ["也好", LICENCE_2, "", str(LON), str(LAT), ZONE.wkt],           # 13 good
    ))
    assert [r.line for r in result.rows] == [2, 13]
    by_line = {e.line: e for e in result.errors}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8, 9, 10, 12]
    assert by_line[3].column == "name" and "店名" in by_line[3].zh and "name" in by_line[3].en
    assert "校验位" in by_line[4].zh and "check character" in by_line[4].en
    assert by_line[5].column == "owner_phone" and "phone" in by_line[5].en
    assert "经纬度" in by_line[6].zh and "location" in by_line[6].en
    assert by_line[7].column == "lon" and "not a number" in by_line[7].en
    assert by_line[8].column == "lat" and "between" in by_line[8].en
    assert by_line[9].column == "zone"
    assert "第 2 行" in by_line[10].zh and "line 2" in by_line[10].en
    assert "m from its zone" in by_line[12].en
    assert str(by_line[3]).startswith("line 3 [name]: ")


def test_zone_checks_type_validity_and_area() -> None:
    bow = "POLYGON((112.449 23.032, 112.4491 23.0321, 112.4491 23.032, 112.449 23.0321, " \
          "112.449 23.032))"
    huge = Point(LON, LAT).buffer(0.01).wkt
    line = "LINESTRING(112.449 23.032, 112.4491 23.0321)"
    projected = "POLYGON((500000 2500000, 500010 2500000, 500010 2500010, 500000 2500000))"
    result = parse_records(records(["店名", "责任区"], ["a", bow], ["b", huge], ["c", line],
                                   ["d", projected]))
    assert result.rows == []
    reasons = {e.line: e.en for e in result.errors}
    assert "invalid" in reasons[2] and "implausible" in reasons[3]
    assert "one Polygon" in reasons[4] and "not lon/lat" in reasons[5]


def test_gcj02_coordinates_are_converted_to_wgs84() -> None:
    glon, glat = wgs84_to_gcj02(LON, LAT)
    result = parse_records(records(["name", "lon", "lat", "crs"],
                                   ["a", f"{glon:.9f}", f"{glat:.9f}", "GCJ-02"],
                                   ["b", "1", "2", "mars"]))
    (row,) = result.rows
    assert abs(row.lon - LON) < 1e-7 and abs(row.lat - LAT) < 1e-7
    assert result.errors[0].line == 3 and result.errors[0].column == "crs"


def test_file_level_refusals() -> None:
    with pytest.raises(RegistryFileError, match="name column"):
        parse_records(records(["地址", "经度", "纬度"], ["x", "1", "2"]))
    with pytest.raises(RegistryFileError, match="location columns"):
        parse_records(records(["店名", "地址"], ["x", "y"]))
    with pytest.raises(RegistryFileError, match="empty"):
        parse_records([])
    with pytest.raises(RegistryFileError, match="not supported"):
        parse_file(b"x", "shops.doc")


def test_csv_lines_count_quoted_newlines_and_gbk_is_read() -> None:
    text = f'店名,经度,纬度,地址\n"两行\n店名",{LON},{LAT},x\n坏,{LON},999,y\n'
    result = parse_file(text.encode("gb18030"), "shops.csv")
    assert [r.name for r in result.rows] == ["两行 店名"]
    assert [e.line for e in result.errors] == [4]  # the record after a two-line one


def test_licence_and_phone_formats() -> None:
    assert valid_uscc(LICENCE) and not valid_uscc(LICENCE[:-1] + "3")
    assert normalise_licence("440101 000123456") == "440101000123456"  # 15-digit reg. no.
    with pytest.raises(ValueError, match="18"):
        normalise_licence("ABC")
    assert normalise_phone("+86 139 1234 5678") == "13912345678"
    assert normalise_phone("400-810-1234") == "400-810-1234"
    for bad in ("1391234567", "23912345678", "0758"):
        with pytest.raises(ValueError):
            normalise_phone(bad)


def test_default_zone_is_a_frontage_rectangle_facing_the_road() -> None:
    road = (LON, LAT - 0.0002)  # ~22 m due south
    zone = default_zone(LON, LAT, toward=road)
    width, depth, area = zone_size(zone)
    assert width == pytest.approx(DEFAULT_WIDTH_M, abs=0.01)
    assert depth == pytest.approx(DEFAULT_FRONTAGE_M, abs=0.01)
    assert area == pytest.approx(DEFAULT_WIDTH_M * DEFAULT_FRONTAGE_M, rel=1e-3)
    metric, epsg = to_metric(zone)
    door, _ = to_metric(Point(LON, LAT), epsg)
    assert metric.distance(door) < 0.01  # the door is on the zone's edge
    assert metric.centroid.y < door.y  # the zone lies toward the road (south)
    east = default_zone(LON, LAT, 3, 10, toward=(LON + 0.001, LAT))
    m_east, _ = to_metric(east, epsg)
    assert m_east.centroid.x > door.x
    assert zone_size(east)[:2] == pytest.approx((10, 3), abs=0.01)
    assert zone.exterior.is_ccw


def test_tokens_are_long_random_and_checked() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(len(t) >= 22 and is_token_format(t) for t in tokens)
    assert len(next(iter(tokens))) * 6 >= 128
    for junk in ("", "short", "x" * 65, "a" * 30 + "/", None, 12345):
        assert not is_token_format(junk)
    token = next(iter(tokens))
    assert public_url_for("https://city.example/", token) == f"https://city.example/s/{token}"
    with pytest.raises(ValueError):
        public_url_for("https://city.example", "../admin")
