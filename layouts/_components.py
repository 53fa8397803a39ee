"""Reusable builders for pages: count tiles, area picker options, the area map figure.

Pure functions of plain values (read-model results, the language, settings): no queries here,
so callbacks stay thin and the builders are easy to test.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import html

from data.views import AreaCounts, RegionItem
from i18n import t
from layouts._ids import count_id

ALL = "all"
"""Picker value meaning "no narrowing at this level" (全市 / 全部)."""

FONT_STACK = ('"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
              "sans-serif")

# Grids: components per grid, pale to deep teal (sequential).
GRID_SCALE = [
    [0.0, "#f1f8f6"], [0.15, "#cdebe3"], [0.35, "#8fd1c2"], [0.6, "#3fa79a"],
    [0.8, "#1d7a78"], [1.0, "#0b4f5c"],
]
# Districts, streets, communities: a soft categorical palette (neighbours differ by code order).
REGION_PALETTE = [
    "#8ecae6", "#ffb703", "#90be6d", "#f28482", "#b8a1d9", "#f6bd60",
    "#84a59d", "#e5989b", "#a2d2ff", "#cdb4db", "#95d5b2", "#ffd6a5",
]
GRID_OUTLINE = ("rgba(30, 41, 59, 0.55)", 0.7)  # (colour, width px): every grid visible
REGION_OUTLINE = ("rgba(30, 41, 59, 0.85)", 1.6)

# (field of AreaCounts, i18n key, is primary) in display order
COUNT_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("grids", "count.grids", True),
    ("components", "count.components", True),
    ("shops", "count.shops", True),
    ("streets", "count.streets", False),
    ("communities", "count.communities", False),
    ("devices", "count.devices", False),
    ("inspectors", "count.inspectors", False),
    ("area_km2", "count.area_km2", False),
)


def format_count(value: float) -> str:
    """Thousands separators; areas with two decimals."""
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


def count_tile(label: str, value: float, tile_id: str, *, primary: bool = False) -> html.Div:
    """One big readable number with its label."""
    return html.Div(
        [html.Div(format_count(value), id=tile_id, className="og-tile-value"),
         html.Div(label, className="og-tile-label")],
        className="og-tile og-tile-primary" if primary else "og-tile",
    )


def count_tiles(counts: AreaCounts, page: str) -> list[html.Div]:
    """The overview's count tiles for one area, in display order."""
    return [count_tile(t(key), getattr(counts, field), count_id(page, field), primary=primary)
            for field, key, primary in COUNT_FIELDS]


def region_label(item: RegionItem, lang: str) -> str:
    return (item.name_en or item.name) if lang == "en" else item.name


def area_options(items: Iterable[RegionItem], lang: str, top_label: str, *,
                 parent: str | None = None, level: str | None = None) -> list[dict[str, str]]:
    """Picker options: ``top_label`` (全市/全部) first, then the regions at ``level`` or under
    ``parent`` (none when ``parent`` is "all": nothing picked above)."""
    options = [{"label": top_label, "value": ALL}]
    if level is not None:
        chosen = [i for i in items if i.level == level]
    elif parent in (None, "", ALL):
        chosen = []
    else:
        chosen = [i for i in items if i.parent_code == parent]
    return options + [{"label": region_label(i, lang), "value": i.code} for i in chosen]


def area_title(items: Iterable[RegionItem], area: str | None, lang: str) -> str:
    """"西江市 · 端州区 · 城东街道": the city, then every picked level down to ``area``."""
    names = {i.code: i for i in items}
    city = next((i for i in names.values() if i.level == "city"), None)
    parts = [region_label(city, lang) if city else t("overview.all_city", lang)]
    if area:
        parts += [region_label(names[code], lang) for code in
                  (area[:n] for n in (6, 9, 12) if n <= len(area)) if code in names]
    return " · ".join(parts)


def selected_area(*choices: str | None) -> str | None:
    """The deepest picked area of district → street → community (None: the whole city)."""
    area = None
    for choice in choices:
        if choice in (None, "", ALL):
            break
        area = choice
    return area


def fit_view(bounds: Sequence[float], width: int = 1200, height: int = 800,
             padding: float = 0.85) -> tuple[dict[str, float], float]:
    """Centre and zoom that fit ``bounds`` (lon/lat) in a ``width`` × ``height`` px map.

    MapLibre's world is 512 px wide at zoom 0; latitude is measured in Web Mercator.
    """
    min_lon, min_lat, max_lon, max_lat = bounds

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    lon_span = max(max_lon - min_lon, 1e-6)
    y_span = max(merc(max_lat) - merc(min_lat), 1e-8)
    zoom_x = math.log2(width * padding * 360 / (512 * lon_span))
    zoom_y = math.log2(height * padding * 2 * math.pi / (512 * y_span))
    mid_y = (merc(min_lat) + merc(max_lat)) / 2
    centre_lat = math.degrees(2 * math.atan(math.exp(mid_y)) - math.pi / 2)
    zoom = max(0.0, min(zoom_x, zoom_y, 19.0))
    return {"lon": (min_lon + max_lon) / 2, "lat": centre_lat}, round(zoom, 2)


def _name(props: dict[str, Any], lang: str) -> str:
    return (props.get("name_en") or props["name"]) if lang == "en" else props["name"]


def _slim(features: dict[str, Any]) -> dict[str, Any]:
    """The GeoJSON the browser needs: geometry and code only (hover text travels once)."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f.get("id"), "properties": {"code": f["properties"]["code"]},
         "geometry": f["geometry"]} for f in features["features"]]}


OUTLINE_PARENT = {"grid": "community", "community": "street", "street": "district"}
"""The level whose boundaries are drawn over each level's areas, to read the map by."""


def outline_layer(features: dict[str, Any]) -> dict[str, Any]:
    """A MapLibre line layer of area boundaries, drawn above the areas (no glyphs, offline)."""
    lines = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": f["geometry"]}
        for f in features["features"]]}
    return dict(sourcetype="geojson", source=lines, type="line",
                color="rgba(15, 23, 42, 0.9)", line=dict(width=2.4))


def map_figure(features: dict[str, Any], level: str, bounds: Sequence[float], *,
               lang: str, tile_url: str | None = None, view_key: str = "",
               outline: dict[str, Any] | None = None) -> dict[str, Any]:
    """The area map: grids coloured by component count, regions in a categorical palette,
    with the boundaries of the level above (``outline``) drawn over them.

    Drawn on MapLibre's blank ``white-bg`` style (no tile server, works offline); a bureau's
    own raster tiles (``ONEGRID_TILE_URL``) go underneath the areas when configured. Returned
    as a plain figure dict: plotly validates everything but the GeoJSON, which it would
    otherwise deep-copy and check point by point (slow for a whole city of grids).
    """
    props = [f["properties"] for f in features["features"]]
    codes = [p["code"] for p in props]
    area_line = f"{t('map.area_m2', lang)}: %{{customdata[4]:,.0f}}"
    head = f"<b>%{{customdata[0]}}</b><br>{t('map.code', lang)}: %{{customdata[1]}}<br>"
    if level == "grid":
        z = [p.get("components") or 0 for p in props]
        color, width = GRID_OUTLINE
        colour = dict(colorscale=GRID_SCALE, zmin=0, zmax=max([*z, 1]), showscale=True,
                      colorbar=dict(title=dict(text=t("map.components", lang)), thickness=12,
                                    len=0.45, x=0.99, xanchor="right", y=0.03,
                                    yanchor="bottom", bgcolor="rgba(255,255,255,0.85)"))
        hover = (head + f"{t('map.inspector', lang)}: %{{customdata[2]}}<br>"
                 f"{t('map.components', lang)}: %{{customdata[3]}}<br>" + area_line)
        opacity = 0.78
    else:
        z = [i % len(REGION_PALETTE) for i in range(len(props))]
        color, width = REGION_OUTLINE
        n = len(REGION_PALETTE)
        scale = [[k / (n - 1), c] for k, c in enumerate(REGION_PALETTE)]
        colour = dict(colorscale=scale, zmin=0, zmax=n - 1, showscale=False)
        hover = head + area_line
        opacity = 0.62
    customdata = [[_name(p, lang), p["code"], p.get("inspector") or "—",
                   p.get("components", 0), p.get("area_m2") or 0.0] for p in props]
    trace = go.Choroplethmap(
        featureidkey="properties.code", locations=codes, z=z,
        customdata=customdata, hovertemplate=hover + "<extra></extra>",
        marker=dict(opacity=opacity, line=dict(color=color, width=width)), **colour,
    )
    centre, zoom = fit_view(bounds)
    layers = []
    if tile_url:
        layers.append(dict(below="traces", sourcetype="raster", source=[tile_url]))
    if outline is not None and outline["features"]:
        layers.append(outline_layer(outline))
    fig = go.Figure(trace)
    fig.update_layout(
        map=dict(style="white-bg", center=centre, zoom=zoom, layers=layers),
        margin=dict(l=0, r=0, t=0, b=0),
        paper_bgcolor="rgba(0,0,0,0)",
        font=dict(family=FONT_STACK),
        hoverlabel=dict(font=dict(family=FONT_STACK, size=14)),
        uirevision=view_key,
        template="none",
    )
    figure = fig.to_plotly_json()
    figure["data"][0]["geojson"] = _slim(features)
    return figure


def empty_figure() -> go.Figure:
    """A blank map placeholder (before the first callback answers, or after an error)."""
    fig = go.Figure(go.Choroplethmap())
    fig.update_layout(map=dict(style="white-bg"), margin=dict(l=0, r=0, t=0, b=0),
                      paper_bgcolor="rgba(0,0,0,0)", template="none")
    return fig


def notice(title: str, text: str, color: str = "warning", class_name: str = "m-4") -> dbc.Alert:
    """A plain notice: forbidden page, bad input (rendered with ``role="alert"``)."""
    return dbc.Alert([html.H2(title, className="h5"), html.P(text, className="mb-0")],
                     color=color, className=class_name)
