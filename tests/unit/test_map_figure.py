"""The overview map figure: offline by default, a bureau's tiles when set, boundaries on top."""

from __future__ import annotations

import json

from shapely.geometry import box, mapping

from layouts._components import fit_view, map_figure


def _fc(codes: list[str], **props: object) -> dict:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": c, "geometry": mapping(box(112.47 + i * 0.001, 23.05,
                                                              112.471 + i * 0.001, 23.051)),
         "properties": {"code": c, "name": f"网格{i}", "area_m2": 10000.0, **props}}
        for i, c in enumerate(codes)]}


BOUNDS = (112.47, 23.05, 112.475, 23.051)


def test_offline_by_default_no_url_anywhere() -> None:
    fig = map_figure(_fc(["449902001001001", "449902001001002"], components=3), "grid",
                     BOUNDS, lang="zh-CN")
    assert fig["layout"]["map"]["style"] == "white-bg"
    assert "http" not in json.dumps(fig)
    assert fig["data"][0]["locations"] == ["449902001001001", "449902001001002"]


def test_tile_url_goes_under_the_areas_and_outline_over_them() -> None:
    url = "http://tiles.bureau.local/{z}/{x}/{y}.png"
    outline = _fc(["449902001001"])
    fig = map_figure(_fc(["449902001001001"]), "grid", BOUNDS, lang="en", tile_url=url,
                     outline=outline)
    raster, line = fig["layout"]["map"]["layers"]
    assert raster["sourcetype"] == "raster" and raster["source"] == [url]
    assert raster["below"] == "traces"
    assert line["type"] == "line" and line.get("below") in (None, "")
    assert len(line["source"]["features"]) == 1


def test_fit_view_contains_the_bounds() -> None:
    centre, zoom = fit_view(BOUNDS)
    assert 112.47 < centre["lon"] < 112.475 and 23.05 < centre["lat"] < 23.051
    wider = fit_view((112.3, 22.9, 112.6, 23.2))[1]
    assert 0 < wider < zoom <= 19
