"""The big screen's builders: the map drawn once, refreshes as small patches, tiles and ticker."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dash import Patch
from shapely.geometry import box, mapping

from data.bigscreen import (
    AreaDrill,
    ComponentPoint,
    CountItem,
    DetectionItem,
    DrillCase,
    Kpis,
    LiveState,
    TrackerPoint,
    map_view,
    view_counts,
)
from layouts._bigscreen import (
    BINS,
    COMPONENT_TRACES,
    GRID_TRACE,
    LAYER_COLOURS,
    TRACKER_TRACES,
    ZMAX,
    bar_figure,
    clicked_grid,
    colorscale,
    digest,
    drill_body,
    format_rate,
    grid_patch,
    grid_values,
    kpi_tiles,
    layer_of,
    map_figure,
    map_layers,
    payloads,
    points_patch,
    ticker_items,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)
BOUNDS = (112.47, 23.05, 112.475, 23.051)
CODES = ["449902001001001", "449902001001002", "449902001001003"]


def features(codes: list[str] = CODES) -> dict:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": c, "geometry": mapping(box(112.47 + i * 0.001, 23.05,
                                                              112.471 + i * 0.001, 23.051)),
         "properties": {"code": c, "name": f"网格{i}", "inspector": "张三", "components": 4}}
        for i, c in enumerate(codes)]}


COMPONENTS = [
    ComponentPoint("4499020101000001", "井盖1", CODES[0], "fault", 112.4705123456, 23.0505),
    ComponentPoint("4499020122000002", "路灯2", CODES[1], "silent", 112.4715, 23.0505),
    ComponentPoint("4499020122000003", "路灯3", CODES[1], "offline", 112.4716, 23.0506),
]
TRACKERS = [
    TrackerPoint("TRK-INS-01", "inspector", "宋锦华（网格员）", None, 112.471, 23.0502, NOW, 4.0),
    TrackerPoint("TRK-VEH-01", "vehicle", "执法车1", "粤H·12345", 112.472, 23.0503, NOW, 30.0),
]


def figure(layer: str = "open", tile_url: str | None = None) -> dict:
    return map_figure(features(), BOUNDS, {CODES[0]: 2, CODES[2]: 7}, layer, COMPONENTS,
                      TRACKERS, lang="zh-CN", tile_url=tile_url, tz=SHANGHAI)


def patch_json(patch: Patch) -> dict:
    return json.loads(json.dumps(patch.to_plotly_json()))


def test_the_map_is_offline_dark_and_holds_every_grid_once() -> None:
    fig = figure()
    text = json.dumps(fig, ensure_ascii=False)
    assert "http" not in text
    assert fig["layout"]["map"]["style"] == "white-bg"
    ground = fig["layout"]["map"]["layers"][0]
    assert ground["type"] == "fill" and ground["below"] == "traces"  # dark under the grids
    grids = fig["data"][GRID_TRACE]
    assert grids["locations"] == CODES and grids["z"] == [2, 0, 7]
    assert [f["properties"] for f in grids["geojson"]["features"]] == [{"code": c} for c in CODES]
    assert grids["zmin"] == 0 and grids["zmax"] == ZMAX


def test_markers_by_status_and_trackers_by_kind_sit_at_their_trace_index() -> None:
    data = figure()["data"]
    fault = data[COMPONENT_TRACES["fault"]]
    assert fault["lon"] == [112.47051] and fault["customdata"][0][2] == CODES[0]
    assert data[COMPONENT_TRACES["silent"]]["customdata"] == [["4499020122000002", "路灯2",
                                                                CODES[1]]]
    assert data[COMPONENT_TRACES["alarm"]]["lon"] == []
    inspectors, vehicles = data[TRACKER_TRACES["inspector"]], data[TRACKER_TRACES["vehicle"]]
    assert inspectors["customdata"] == [["宋锦华（网格员）", "TRK-INS-01", "10:00:00"]]
    assert vehicles["customdata"][0][1] == "粤H·12345"
    assert inspectors["marker"]["color"] != vehicles["marker"]["color"]
    assert vehicles["marker"]["size"] > inspectors["marker"]["size"]
    assert all(d["type"] == "scattermap" for d in data[1:])


def test_tile_url_adds_a_dimmed_base_layer_under_the_grids_and_outline_on_top() -> None:
    url = "http://tiles.bureau.local/{z}/{x}/{y}.png"
    layers = figure(tile_url=url)["layout"]["map"]["layers"]
    assert layers[1]["sourcetype"] == "raster" and layers[1]["source"] == [url]
    assert layers[1]["below"] == "traces"
    outline = {"type": "FeatureCollection", "features": []}
    with_outline = map_layers(None, outline)
    assert with_outline[-1]["type"] == "line" and "below" not in with_outline[-1]


def test_stepped_colours_zero_and_one_differ_and_above_zmax_keeps_the_top() -> None:
    def colour_of(layer: str, z: float) -> str:
        frac = min(z, ZMAX) / ZMAX
        for (lo, hi), colour in zip(BINS, LAYER_COLOURS[layer], strict=True):
            if lo <= frac <= hi:
                return colour
        raise AssertionError(z)

    for layer in LAYER_COLOURS:
        scale = colorscale(layer)
        assert scale[0][0] == 0 and scale[-1][0] == 1.0
        assert colour_of(layer, 0) != colour_of(layer, 1) == colour_of(layer, 2)
        assert colour_of(layer, 3) == colour_of(layer, 5) != colour_of(layer, 6)
        assert colour_of(layer, 6) == colour_of(layer, 60)
    assert layer_of("<script>") == "open" and layer_of("faults") == "faults"


def test_grid_values_follow_the_feature_order() -> None:
    assert grid_values(CODES, {CODES[2]: 3, "999": 9}) == [0, 0, 3]


def test_a_refresh_patch_replaces_only_short_arrays() -> None:
    patch = Patch()
    grid_patch(patch, [1, 0, 4], "open", "zh-CN", layer_changed=False)
    points_patch(patch, COMPONENT_TRACES["fault"], {"lon": [1.0], "lat": [2.0]})
    ops = patch_json(patch)["operations"]
    assert [op["location"] for op in ops] == [["data", 0, "z"], ["data", 1, "lon"],
                                              ["data", 1, "lat"]]
    assert "geojson" not in json.dumps(ops)
    switched = Patch()
    grid_patch(switched, [0, 0, 1], "overdue", "en", layer_changed=True)
    keys = {op["location"][-1] for op in patch_json(switched)["operations"]}
    assert keys == {"z", "colorscale", "hovertemplate", "colorbar"}
    assert "Overdue cases" in json.dumps(patch_json(switched))


def test_a_refresh_of_ten_thousand_grids_stays_far_below_200_kb() -> None:
    codes = [f"449902{i:09d}" for i in range(10_000)]
    counts = {c: (i % 7) for i, c in enumerate(codes)}
    patch = Patch()
    grid_patch(patch, grid_values(codes, counts), "open", "zh-CN", layer_changed=True)
    many = [ComponentPoint(f"{i:016d}", "路灯", codes[i], "fault", 112.4 + i / 1e5, 23.0 + i / 1e5)
            for i in range(2000)]
    from layouts._bigscreen import component_arrays

    points_patch(patch, COMPONENT_TRACES["fault"], component_arrays(many, "fault"))
    size = len(json.dumps({"response": {"bigscreen-map": {"figure": patch.to_plotly_json()}}},
                          ensure_ascii=False).encode())
    assert size < 200_000, size


def test_digests_are_stable_and_tell_a_change() -> None:
    assert digest({"a": [1, 2], "b": "x"}) == digest({"b": "x", "a": [1, 2]})
    assert digest([1, 2]) != digest([2, 1])


def state(**changes) -> LiveState:
    base = dict(now=NOW, kpis=Kpis(5, 1, 2, 2, 1, 1, 4), layers={"open": {CODES[0]: 2},
                                                                 "overdue": {}, "faults": {}},
                components=COMPONENTS, component_total=3, trackers=TRACKERS, detections=[],
                by_category=[], by_district=[], lights={"green": 2, "yellow": 1, "red": 1})
    base.update(changes)
    return LiveState(**base)


def test_payload_digests_change_only_for_the_part_that_changed() -> None:
    view = map_view(CODES, None, 5000)
    before = {k: digest(v) for k, v in payloads(state(), view, "open", "zh-CN",
                                                SHANGHAI).items()}
    moved = [TRACKERS[0], TrackerPoint(*[*TRACKERS[1].__dict__.values()][:4], 112.48, 23.06,
                                       NOW, 31.0)]
    after = {k: digest(v) for k, v in payloads(state(trackers=moved), view, "open", "zh-CN",
                                               SHANGHAI).items()}
    assert {k for k in before if before[k] != after[k]} == {"t-vehicle"}


# A city of two districts: 449902 with streets 001 (communities 001, 002) and 002, and 449903.
CITY = sorted([f"449902001001{n:03d}" for n in range(1, 5)]
              + [f"449902001002{n:03d}" for n in range(1, 4)]
              + [f"449902002001{n:03d}" for n in range(1, 3)]
              + [f"449903001001{n:03d}" for n in range(1, 4)])


def test_a_city_within_the_limit_always_draws_every_grid() -> None:
    for area in (None, "449902", "449902001001002"):
        view = map_view(CITY, area, len(CITY))
        assert (view.level, view.prefix, view.codes) == ("grid", None, tuple(CITY))


def test_a_bigger_city_draws_communities_until_an_area_small_enough_is_picked() -> None:
    city = map_view(CITY, None, 5)
    assert city.level == "community" and city.codes == (
        "449902001001", "449902001002", "449902002001", "449903001001")
    # district 449902 has 9 grids (> 5), its street 001 has 7 (> 5), community 001 has 4
    view = map_view(CITY, "449902001001003", 5)
    assert (view.level, view.prefix, view.codes) == ("grid", "449902001001", tuple(CITY[:4]))
    # a limit of 7 takes the street: the picked grid with its neighbours across communities
    street = map_view(CITY, "449902001002", 7)
    assert (street.level, street.prefix, len(street.codes)) == ("grid", "449902001", 7)
    assert map_view(CITY, "449903", 5).prefix == "449903"
    assert map_view(CITY, "449904", 5).level == "community"  # no such district: the city
    assert map_view(CITY, "449902001001", 3).level == "community"  # nothing small enough


def test_community_views_sum_their_grids_counts() -> None:
    view = map_view(CITY, None, 5)
    counts = {"449902001001001": 2, "449902001001004": 3, "449903001001002": 1}
    assert view_counts(view, counts) == {"449902001001": 5, "449903001001": 1}
    assert view_counts(map_view(CITY, None, 100), counts) == counts


def test_kpi_tiles_say_rate_and_nothing_closed() -> None:
    assert format_rate(None) == "—" and format_rate(0.5) == "50.0%"
    text = json.dumps([c.to_plotly_json() for c in kpi_tiles(Kpis(5, 1, 2, 2, 1, 1, 4),
                                                             "zh-CN")],
                      ensure_ascii=False, default=lambda o: o.to_plotly_json())
    assert "50.0%" in text and "今日按期结案率" in text and "1/2 件按期" in text
    none = json.dumps([c.to_plotly_json() for c in kpi_tiles(Kpis(0, 0, 0, 0, 0, 0, 0), "en")],
                      ensure_ascii=False, default=lambda o: o.to_plotly_json())
    assert "none closed yet" in none and '"—"' in none


def test_ticker_lists_detections_with_and_without_snapshots() -> None:
    sha = "ab" * 32
    items = [DetectionItem(2, NOW, "umbrella", "违规撑伞", "Illegal umbrella", 0.931, "CAM-000002",
                           "紫云路 近 和平路", CODES[0], "长安社区第025网格", sha, None),
             DetectionItem(1, NOW, "street_vending", "占道经营", "Street vending", 0.8,
                           "CAM-000001", None, None, None, None, None)]
    rows = ticker_items(items, "zh-CN", SHANGHAI, lambda s: f"/media/{s}" if s else None)
    text = json.dumps([r.to_plotly_json() for r in rows], ensure_ascii=False,
                      default=lambda o: o.to_plotly_json())
    assert f'"/media/{sha}"' in text and "无抓拍" in text
    assert "违规撑伞" in text and "10:00:00" in text and "93%" in text
    assert "长安社区第025网格" in text
    empty = ticker_items([], "en", SHANGHAI, lambda s: None)
    assert "No camera detections" in json.dumps(empty.to_plotly_json(),
                                                default=lambda o: o.to_plotly_json())


def test_bar_chart_puts_the_largest_category_on_top() -> None:
    fig = bar_figure([CountItem("event:0102", "暴露垃圾", "Exposed garbage", 9),
                      CountItem("event:0501", "占道经营", "Street vending", 4)], "en")
    bar = fig["data"][0]
    assert bar["y"] == ["Street vending", "Exposed garbage"] and bar["x"] == [4, 9]
    assert fig["layout"]["xaxis"]["range"][1] > 9


def test_clicks_name_a_grid_or_nothing() -> None:
    assert clicked_grid({"points": [{"curveNumber": 0, "location": CODES[1]}]}) == CODES[1]
    assert clicked_grid({"points": [{"customdata": ["c", "n", CODES[2]]}]}) == CODES[2]
    for bad in (None, {}, {"points": []}, {"points": ["x"]}, {"points": [{"location": "1; drop"}]},
                {"points": [{"customdata": ["a"]}]}):
        assert clicked_grid(bad) is None


def test_drill_body_links_each_case_to_its_page() -> None:
    drill = AreaDrill(code=CODES[0], level="grid", name="南园社区第001网格", name_en=None,
                      inspector="宋锦华", open_cases=3, overdue=1, faults=1,
                      components={"normal": 5, "fault": 1},
                      cases=[DrillCase(7, "20261117000007", "暴露垃圾", "暴露垃圾",
                                       "Exposed garbage", "reported", "上报", "Reported", "red",
                                       NOW, CODES[0])])
    text = json.dumps([c.to_plotly_json() if hasattr(c, "to_plotly_json") else c
                       for c in drill_body(drill, "zh-CN", SHANGHAI)], ensure_ascii=False,
                      default=lambda o: o.to_plotly_json())
    assert '"/cases/7"' in text and "20261117000007" in text and "宋锦华" in text
    assert "og-bs-dot-red" in text and "仅列出最紧急的 1 件" in text
    missing = json.dumps([c.to_plotly_json() for c in drill_body(None, "en", None, "449999")],
                         default=lambda o: o.to_plotly_json())
    assert "No such area" in missing and "449999" in missing
