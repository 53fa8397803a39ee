"""Builders of the big screen (指挥大屏): the city map and its patches, KPI tiles, the detection
ticker, the charts, the traffic lights and the drill-down panel.

Pure functions of plain values (the read models of ``data/bigscreen.py``, the language,
settings): no queries here. The map is drawn once with the grid geometry; each refresh sends a
:class:`dash.Patch` that replaces only the short arrays that changed (grid values, marker
positions), and nothing at all when a part's digest is unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from typing import Any

from dash import Patch, dcc, html

from api.geo import slim_grids
from data.bigscreen import (
    COMMUNITY,
    GRID,
    LAYERS,
    SILENT,
    AreaDrill,
    ComponentPoint,
    CountItem,
    DetectionItem,
    Kpis,
    LiveState,
    MapView,
    ShopPoint,
    TrackerPoint,
    view_counts,
)
from i18n import add_messages, t
from layouts._components import FONT_STACK, fit_view

add_messages({
    "bigscreen.layer.open": {"zh-CN": "在办案件", "en": "Open cases"},
    "bigscreen.layer.overdue": {"zh-CN": "超期案件", "en": "Overdue cases"},
    "bigscreen.layer.faults": {"zh-CN": "设施故障", "en": "Device faults"},
    "bigscreen.layer.shops": {"zh-CN": "门前三包", "en": "Shop fronts"},
    "bigscreen.shops": {"zh-CN": "商户评分", "en": "Shop scores"},
    "bigscreen.shop_unscored": {"zh-CN": "尚未评分", "en": "not scored yet"},
    "bigscreen.shop_score": {"zh-CN": "{month} 得分 {score}（{stars} 星）",
                             "en": "{month}: {score} ({stars} stars)"},
    "bigscreen.list.red": {"zh-CN": "红榜", "en": "red list"},
    "bigscreen.list.black": {"zh-CN": "黑榜", "en": "black list"},
    "bigscreen.status.fault": {"zh-CN": "部件故障", "en": "Component fault"},
    "bigscreen.status.alarm": {"zh-CN": "部件告警", "en": "Component alarm"},
    "bigscreen.status.offline": {"zh-CN": "设备离线", "en": "Device offline"},
    "bigscreen.status.silent": {"zh-CN": "设备失联", "en": "Device silent"},
    "bigscreen.status.normal": {"zh-CN": "正常", "en": "Normal"},
    "bigscreen.status.unknown": {"zh-CN": "未知", "en": "Unknown"},
    "bigscreen.status.removed": {"zh-CN": "已拆除", "en": "Removed"},
    "bigscreen.inspectors": {"zh-CN": "网格员", "en": "Inspectors"},
    "bigscreen.vehicles": {"zh-CN": "执法车辆", "en": "Vehicles"},
    "bigscreen.kpi.reports_today": {"zh-CN": "今日上报", "en": "Reported today"},
    "bigscreen.kpi.registered_today": {"zh-CN": "今日立案", "en": "Registered today"},
    "bigscreen.kpi.dispatched_today": {"zh-CN": "今日派遣", "en": "Dispatched today"},
    "bigscreen.kpi.closed_today": {"zh-CN": "今日结案", "en": "Closed today"},
    "bigscreen.kpi.on_time_rate": {"zh-CN": "今日按期结案率", "en": "On-time closure today"},
    "bigscreen.kpi.overdue_now": {"zh-CN": "当前超期", "en": "Overdue now"},
    "bigscreen.kpi.on_time_of": {"zh-CN": "{a}/{b} 件按期", "en": "{a} of {b} on time"},
    "bigscreen.kpi.none_closed": {"zh-CN": "今日暂无结案", "en": "none closed yet"},
    "bigscreen.kpi.open_now": {"zh-CN": "在办 {n} 件", "en": "{n} open"},
    "bigscreen.light.green": {"zh-CN": "正常", "en": "On time"},
    "bigscreen.light.yellow": {"zh-CN": "预警", "en": "Warning"},
    "bigscreen.light.red": {"zh-CN": "超期", "en": "Overdue"},
    "bigscreen.count_unit": {"zh-CN": "件", "en": "cases"},
    "bigscreen.confidence": {"zh-CN": "置信度", "en": "confidence"},
    "bigscreen.no_snapshot": {"zh-CN": "无抓拍", "en": "no snapshot"},
    "bigscreen.no_detections": {"zh-CN": "暂无视频识别告警", "en": "No camera detections yet"},
    "bigscreen.grid_count": {"zh-CN": "数量", "en": "Count"},
    "bigscreen.by_community": {"zh-CN": "（按社区）", "en": " (by community)"},
    "bigscreen.drill.open": {"zh-CN": "在办", "en": "Open"},
    "bigscreen.drill.overdue": {"zh-CN": "超期", "en": "Overdue"},
    "bigscreen.drill.faults": {"zh-CN": "故障部件", "en": "Faulty"},
    "bigscreen.drill.components": {"zh-CN": "部件状态", "en": "Components by status"},
    "bigscreen.drill.cases": {"zh-CN": "在办案件", "en": "Open cases"},
    "bigscreen.drill.no_cases": {"zh-CN": "该区域暂无在办案件", "en": "No open cases here"},
    "bigscreen.drill.more": {"zh-CN": "仅列出最紧急的 {n} 件", "en": "The {n} most urgent shown"},
    "bigscreen.drill.inspector": {"zh-CN": "网格员", "en": "Inspector"},
    "bigscreen.drill.not_found": {"zh-CN": "未找到该区域：", "en": "No such area: "},
    "bigscreen.markers_capped": {"zh-CN": "地图显示最严重的 {shown} 个，共 {total} 个异常部件",
                                 "en": "{shown} most severe of {total} abnormal components shown"},
})

# -- palette (dark theme) ----------------------------------------------------------------------
BG = "#071322"
TEXT = "#e2e8f0"
MUTED = "#94a3b8"
ZERO = "#11294a"
#: Per layer: the colours of 0, 1-2, 3-5 and 6+ (grid values above ZMAX keep the top colour).
LAYER_COLOURS = {
    "open": (ZERO, "#2dd4bf", "#facc15", "#f97316"),
    "overdue": (ZERO, "#fb923c", "#ef4444", "#b91c1c"),
    "faults": (ZERO, "#a78bfa", "#8b5cf6", "#e879f9"),
    "shops": (ZERO, "#fcd34d", "#fb923c", "#f43f5e"),
}
ZMAX = 10
BINS = ((0, 0.05), (0.05, 0.25), (0.25, 0.55), (0.55, 1.0))  # 0 | 1-2 | 3-5 | 6+
BIN_TICKS = ([0.25, 1.5, 4, 8], ["0", "1–2", "3–5", "≥6"])
STATUS_COLOURS = {"fault": "#ef4444", "alarm": "#f97316", "offline": "#94a3b8",
                  SILENT: "#fde047"}
COMPONENT_STATUSES = ("fault", "alarm", "offline", SILENT)
TRACKER_STYLE = {"inspector": ("#38bdf8", 11), "vehicle": ("#c084fc", 16)}
LIGHT_COLOURS = {"green": "#22c55e", "yellow": "#facc15", "red": "#ef4444"}
KPI_FIELDS = ("reports_today", "registered_today", "dispatched_today", "closed_today",
              "on_time_rate", "overdue_now")
#: Trace order of the map figure (patches address traces by index).
GRID_TRACE = 0
COMPONENT_TRACES = {status: 1 + i for i, status in enumerate(COMPONENT_STATUSES)}
TRACKER_TRACES = {"inspector": 5, "vehicle": 6}
SHOP_TRACE = 7
#: Shops by stars of their last published month (门前三包), unscored grey.
STAR_COLOURS = {5: "#22c55e", 4: "#a3e635", 3: "#facc15", 2: "#f97316", 1: "#ef4444",
                None: "#94a3b8"}
WORLD = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [
    [[-180, -85], [180, -85], [180, 85], [-180, 85], [-180, -85]]]}}
COORD_DIGITS = 5  # ~1 m: marker positions travel as short numbers
MAP_SIZE = (1000, 960)  # px the map is fitted for (the centre column at 1920×1080)


def digest(value: Any) -> str:
    """A short stable hash of a JSON-able value (what a part showed last time)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def layer_of(value: str | None) -> str:
    """A layer name sent by the browser, or the default (a hand-made payload gets "open")."""
    return value if value in LAYERS else "open"


def grid_values(codes: Sequence[str], counts: dict[str, int]) -> list[int]:
    """The layer's count for every grid, in the map's feature order (0 for none)."""
    return [int(counts.get(code, 0)) for code in codes]


def colorscale(layer: str) -> list[list[Any]]:
    """A stepped scale: 0, 1-2, 3-5 and 6+ each in one colour (z is drawn on 0..ZMAX)."""
    scale: list[list[Any]] = []
    for (lo, hi), colour in zip(BINS, LAYER_COLOURS[layer_of(layer)], strict=True):
        scale += [[lo, colour], [hi, colour]]
    return scale


def _hover(layer: str, lang: str) -> str:
    return (f"<b>%{{customdata[0]}}</b><br>%{{location}}<br>"
            f"{t('bigscreen.layer.' + layer_of(layer), lang)}: <b>%{{z}}</b><extra></extra>")


def _colorbar(layer: str, lang: str, level: str = GRID) -> dict[str, Any]:
    title = t("bigscreen.layer." + layer_of(layer), lang)
    if level == COMMUNITY:
        title += t("bigscreen.by_community", lang)
    return dict(title=dict(text=title,
                           font=dict(color=TEXT, size=15)),
                tickvals=BIN_TICKS[0], ticktext=BIN_TICKS[1], tickfont=dict(color=TEXT, size=14),
                thickness=14, len=0.3, x=0.995, xanchor="right", y=0.02, yanchor="bottom",
                bgcolor="rgba(7,19,34,0.78)", outlinewidth=0)


def _round(v: float) -> float:
    return round(v, COORD_DIGITS)


def component_arrays(points: Iterable[ComponentPoint], status: str) -> dict[str, list[Any]]:
    """lon, lat and customdata ([code, name, grid]) of the components in ``status``."""
    chosen = [p for p in points if p.status == status]
    return {"lon": [_round(p.lon) for p in chosen], "lat": [_round(p.lat) for p in chosen],
            "customdata": [[p.code, p.name, p.grid_code or ""] for p in chosen]}


def tracker_arrays(points: Iterable[TrackerPoint], kind: str,
                   tz: tzinfo | None = None) -> dict[str, list[Any]]:
    """lon, lat and customdata ([name, plate or code, HH:MM:SS]) of the trackers of ``kind``."""
    chosen = [p for p in points if p.kind == kind]
    return {"lon": [_round(p.lon) for p in chosen], "lat": [_round(p.lat) for p in chosen],
            "customdata": [[p.name, p.plate or p.code, _clock(p.ts, tz)] for p in chosen]}


def shop_arrays(points: Iterable[ShopPoint], lang: str) -> dict[str, Any]:
    """lon, lat, customdata ([name, code, score line, list]) and the marker coloured by stars
    of the shops (the shop layer; empty arrays when it is off)."""
    chosen = list(points)

    def line(p: ShopPoint) -> str:
        if p.score is None:
            return t("bigscreen.shop_unscored", lang)
        return t("bigscreen.shop_score", lang).format(month=p.month or "",
                                                      score=f"{p.score:.0f}", stars=p.stars or 0)

    return {"lon": [_round(p.lon) for p in chosen], "lat": [_round(p.lat) for p in chosen],
            "customdata": [[p.name, p.code, line(p),
                            t(f"bigscreen.list.{p.listed}", lang) if p.listed else ""]
                           for p in chosen],
            "marker": dict(size=[12 if p.listed == "black" else 8 for p in chosen],
                           color=[STAR_COLOURS.get(p.stars, STAR_COLOURS[None])
                                  for p in chosen], opacity=0.95)}


def _clock(ts: datetime, tz: tzinfo | None) -> str:
    return (ts.astimezone(tz) if tz else ts).strftime("%H:%M:%S")


def map_layers(tile_url: str | None, outline: dict[str, Any] | None = None) -> list[dict]:
    """MapLibre layers: a dark ground under everything (the ``white-bg`` style is white), the
    bureau's raster tiles dimmed above it when configured, the picked area's outline on top."""
    layers: list[dict[str, Any]] = [dict(sourcetype="geojson", source=WORLD, type="fill",
                                         color=BG, below="traces")]
    if tile_url:
        layers.append(dict(sourcetype="raster", source=[tile_url], below="traces",
                           opacity=0.55))
    if outline:
        layers.append(dict(sourcetype="geojson", source=outline, type="line",
                           color="#fde047", line=dict(width=3.5)))
    return layers


def map_figure(features: dict[str, Any], bounds: Sequence[float], counts: dict[str, int],
               layer: str, components: Sequence[ComponentPoint],
               trackers: Sequence[TrackerPoint], *, lang: str, tile_url: str | None = None,
               tz: tzinfo | None = None, size: tuple[int, int] = MAP_SIZE,
               geojson: str | None = None, codes: Sequence[str] | None = None,
               level: str = GRID, outline: dict[str, Any] | None = None,
               shops: Sequence[ShopPoint] = ()) -> dict[str, Any]:
    """The whole map, sent when the page loads and when the set of areas drawn changes: the
    areas ``codes`` (default: every feature of ``features``; grids, or communities in a city
    too big to draw grid by grid) coloured by ``layer`` (their outlines from ``geojson``, a URL
    the browser fetches and keeps — see ``api.geo`` — or, without one, inline and slim);
    abnormal components by status; inspectors and vehicles; the shops by their score when
    the shop layer is on; the picked area outlined and fitted when ``outline`` is given."""
    layer = layer_of(layer)
    names = {f["properties"]["code"]: f["properties"].get("name") for f in features["features"]}
    codes = list(names) if codes is None else list(codes)
    grid = dict(
        type="choroplethmap", geojson=geojson or slim_grids(features),
        featureidkey="properties.code", locations=codes,
        z=grid_values(codes, counts), zmin=0, zmax=ZMAX, colorscale=colorscale(layer),
        customdata=[[names.get(code) or code] for code in codes],
        hovertemplate=_hover(layer, lang), colorbar=_colorbar(layer, lang, level),
        showscale=True,
        marker=dict(opacity=0.82, line=dict(color="rgba(148,163,184,0.28)", width=0.6)),
        name=t("bigscreen.layer." + layer, lang), showlegend=False,
    )
    data: list[dict[str, Any]] = [grid]
    for status in COMPONENT_STATUSES:
        label = t(f"bigscreen.status.{status}", lang)
        data.append(dict(
            type="scattermap", mode="markers", name=label, **component_arrays(components, status),
            marker=dict(size=9 if status != "fault" else 11, color=STATUS_COLOURS[status],
                        opacity=0.95),
            hovertemplate=(f"<b>%{{customdata[1]}}</b><br>%{{customdata[0]}}<br>{label}"
                           "<extra></extra>")))
    for kind, key in (("inspector", "bigscreen.inspectors"), ("vehicle", "bigscreen.vehicles")):
        colour, size_px = TRACKER_STYLE[kind]
        data.append(dict(
            type="scattermap", mode="markers", name=t(key, lang), **tracker_arrays(trackers, kind,
                                                                                   tz),
            marker=dict(size=size_px, color=colour, opacity=1.0),
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<br>%{customdata[2]}"
                          "<extra></extra>"))
    data.append(dict(
        type="scattermap", mode="markers", name=t("bigscreen.shops", lang),
        **shop_arrays(shops, lang),
        hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<br>%{customdata[2]}"
                      "<br>%{customdata[3]}<extra></extra>"))
    centre, zoom = fit_view(bounds, *size)
    layout = dict(
        map=dict(style="white-bg", center=centre, zoom=zoom,
                 layers=map_layers(tile_url, outline)),
        margin=dict(l=0, r=0, t=0, b=0), paper_bgcolor=BG, plot_bgcolor=BG,
        font=dict(family=FONT_STACK, color=TEXT, size=14),
        hoverlabel=dict(font=dict(family=FONT_STACK, size=16)),
        legend=dict(x=0.005, y=0.02, xanchor="left", yanchor="bottom", bgcolor="rgba(7,19,34,0.78)",
                    font=dict(color=TEXT, size=15), itemsizing="constant"),
        showlegend=True, uirevision=digest(list(bounds)),
    )
    return {"data": data, "layout": layout}


def grid_patch(patch: Patch, values: list[int], layer: str, lang: str,
               layer_changed: bool, level: str = GRID) -> None:
    """Replace the areas' values (and, on a layer switch, their colours and labels)."""
    patch["data"][GRID_TRACE]["z"] = values
    if layer_changed:
        patch["data"][GRID_TRACE]["colorscale"] = colorscale(layer)
        patch["data"][GRID_TRACE]["hovertemplate"] = _hover(layer, lang)
        patch["data"][GRID_TRACE]["colorbar"] = _colorbar(layer, lang, level)


def view_patch(patch: Patch, tile_url: str | None, outline: dict[str, Any] | None,
               bounds: Sequence[float], size: tuple[int, int] = MAP_SIZE) -> None:
    """Outline the picked area (None: no outline) and fit the map to ``bounds``."""
    patch["layout"]["map"]["layers"] = map_layers(tile_url, outline)
    centre, zoom = fit_view(bounds, *size)
    patch["layout"]["map"]["center"] = centre
    patch["layout"]["map"]["zoom"] = zoom
    patch["layout"]["uirevision"] = digest(list(bounds))


def points_patch(patch: Patch, index: int, arrays: dict[str, list[Any]]) -> None:
    """Replace one marker trace's positions and hover data."""
    for key, value in arrays.items():
        patch["data"][index][key] = value


def payloads(state: LiveState, view: MapView, layer: str, lang: str,
             tz: Any) -> dict[str, Any]:
    """What each part of the screen shows, as plain values: the digests of these decide
    which parts a refresh sends."""
    parts: dict[str, Any] = {
        "codes": [view.level, view.prefix, digest(view.codes)],
        "grid": [layer, grid_values(view.codes, view_counts(view, state.layers.get(layer, {})))],
        "kpis": [lang, state.kpis],
        "lights": [lang, state.lights],
        "ticker": [lang, state.detections],
        "categories": [lang, state.by_category],
        "districts": [lang, state.by_district],
        "note": [lang, state.component_total, len(state.components)],
    }
    for status in COMPONENT_STATUSES:
        parts[f"c-{status}"] = component_arrays(state.components, status)
    for kind in TRACKER_TRACES:
        parts[f"t-{kind}"] = tracker_arrays(state.trackers, kind, tz)
    parts["shops"] = shop_arrays(state.shops, lang)
    return parts


def marker_note(state: LiveState, lang: str) -> str:
    if state.component_total <= len(state.components):
        return ""
    return t("bigscreen.markers_capped", lang).format(shown=f"{len(state.components):,}",
                                                      total=f"{state.component_total:,}")


def clicked_grid(click: Any) -> str | None:
    """The unit grid a map click names: a grid's location, or a clicked component's grid
    (None for anything else, including a hand-made payload)."""
    try:
        point = click["points"][0]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(point, dict):
        return None
    code = point.get("location")
    data = point.get("customdata")
    if code is None and isinstance(data, list) and len(data) > 2:
        code = data[2]
    return code if isinstance(code, str) and len(code) == 15 and code.isdigit() else None


# -- tiles, ticker, lights, charts -------------------------------------------------------------
def kpi_id(name: str) -> str:
    return f"bigscreen-kpi-{name}"


def light_id(colour: str) -> str:
    return f"bigscreen-light-{colour}"


def format_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def kpi_tiles(kpis: Kpis, lang: str) -> list[html.Div]:
    """Six big numbers: today's steps, the on-time share of today's closures, overdue now."""
    values = {
        "reports_today": f"{kpis.reports_today:,}",
        "registered_today": f"{kpis.registered_today:,}",
        "dispatched_today": f"{kpis.dispatched_today:,}",
        "closed_today": f"{kpis.closed_today:,}",
        "on_time_rate": format_rate(kpis.on_time_rate),
        "overdue_now": f"{kpis.overdue_now:,}",
    }
    notes = {
        "on_time_rate": (t("bigscreen.kpi.on_time_of", lang).format(
            a=kpis.closed_on_time_today, b=kpis.closed_today) if kpis.closed_today
            else t("bigscreen.kpi.none_closed", lang)),
        "overdue_now": t("bigscreen.kpi.open_now", lang).format(n=f"{kpis.open_now:,}"),
    }
    tiles = []
    for name in KPI_FIELDS:
        alert = " og-bs-kpi-alert" if name == "overdue_now" and kpis.overdue_now else ""
        tiles.append(html.Div([
            html.Div(t(f"bigscreen.kpi.{name}", lang), className="og-bs-kpi-label"),
            html.Div(values[name], id=kpi_id(name), className="og-bs-kpi-value"),
            html.Div(notes.get(name, ""), className="og-bs-kpi-note"),
        ], className="og-bs-kpi" + alert))
    return tiles


def light_tiles(lights: dict[str, int], lang: str) -> list[html.Div]:
    """Green / yellow / red counts of open cases on the clock."""
    return [html.Div([
        html.Span(className=f"og-bs-lamp og-bs-lamp-{colour}"),
        html.Div([html.Div(f"{lights.get(colour, 0):,}", id=light_id(colour),
                           className="og-bs-light-value"),
                  html.Div(t(f"bigscreen.light.{colour}", lang), className="og-bs-light-label")]),
    ], className="og-bs-light") for colour in ("green", "yellow", "red")]


def ticker_items(items: Sequence[DetectionItem], lang: str, tz: tzinfo | None,
                 media_url: Any) -> list[html.Li] | html.Div:
    """The newest camera detections, newest first, each with its snapshot (when stored)."""
    if not items:
        return html.Div(t("bigscreen.no_detections", lang), className="og-bs-empty")
    out = []
    for d in items:
        url = media_url(d.snapshot_sha256)
        thumb = (html.Img(src=url, alt=d.name, className="og-bs-thumb")
                 if url else html.Div(t("bigscreen.no_snapshot", lang),
                                      className="og-bs-thumb og-bs-thumb-none"))
        place = " · ".join(p for p in (d.place, d.grid_name or d.grid_code) if p)
        out.append(html.Li([
            thumb,
            html.Div([
                html.Div([html.Span(d.name if lang != "en" else d.name_en,
                                    className="og-bs-det-name"),
                          html.Span(_clock(d.ts, tz), className="og-bs-det-time")],
                         className="og-bs-det-head"),
                html.Div(place or d.camera, className="og-bs-det-place"),
                html.Div(f"{d.camera} · {t('bigscreen.confidence', lang)} "
                         f"{d.confidence * 100:.0f}%", className="og-bs-det-meta"),
            ], className="og-bs-det-body"),
        ], className="og-bs-det", key=str(d.id), **{"data-detection": str(d.id)}))
    return out


def bar_figure(items: Sequence[CountItem], lang: str, *, colour: str = "#38bdf8",
               horizontal: bool = True) -> dict[str, Any]:
    """A dark bar chart of open cases (categories: horizontal, largest on top)."""
    names = [i.name_en if lang == "en" else i.name for i in items]
    counts = [i.count for i in items]
    if horizontal:
        names, counts = names[::-1], counts[::-1]
        bar = dict(type="bar", orientation="h", x=counts, y=names, text=counts,
                   textposition="outside", cliponaxis=False)
    else:
        bar = dict(type="bar", x=names, y=counts, text=counts, textposition="outside",
                   cliponaxis=False)
    bar.update(marker=dict(color=colour), textfont=dict(color=TEXT, size=16),
               hovertemplate="%{y}: %{x}<extra></extra>" if horizontal
               else "%{x}: %{y}<extra></extra>")
    axis = dict(showgrid=False, zeroline=False, color=TEXT, tickfont=dict(size=15, color=TEXT),
                automargin=True, fixedrange=True)
    value_axis = dict(axis, showticklabels=False, rangemode="tozero")
    top = max(counts, default=0)
    value_axis["range"] = [0, max(top * 1.22, 1)]
    layout = dict(margin=dict(l=6, r=10, t=4, b=4), paper_bgcolor="rgba(0,0,0,0)",
                  plot_bgcolor="rgba(0,0,0,0)", font=dict(family=FONT_STACK, color=TEXT),
                  bargap=0.28, showlegend=False,
                  xaxis=value_axis if horizontal else axis,
                  yaxis=axis if horizontal else value_axis)
    return {"data": [bar], "layout": layout}


# -- drill-down --------------------------------------------------------------------------------
def drill_body(drill: AreaDrill | None, lang: str, tz: tzinfo | None,
               code: str | None = None) -> list[Any]:
    """The picked area: counts, components by status, its open cases (each a link to the case
    page), most urgent first."""
    if drill is None:
        return [html.Div(t("bigscreen.drill.not_found", lang) + (code or ""),
                         className="og-bs-empty")]
    title = drill.name_en if lang == "en" and drill.name_en else drill.name
    head = [html.H2(title, className="og-bs-drill-title"),
            html.Div([html.Span(drill.code, className="og-bs-code")]
                     + ([html.Span(f"{t('bigscreen.drill.inspector', lang)}: {drill.inspector}",
                                   className="ms-3")] if drill.inspector else []),
                     className="og-bs-drill-sub")]
    stats = html.Div([
        _stat(t("bigscreen.drill.open", lang), drill.open_cases, "bigscreen-drill-open"),
        _stat(t("bigscreen.drill.overdue", lang), drill.overdue, "bigscreen-drill-overdue"),
        _stat(t("bigscreen.drill.faults", lang), drill.faults, "bigscreen-drill-faults"),
    ], className="og-bs-drill-stats")
    comps = html.Div([
        html.Div(t("bigscreen.drill.components", lang), className="og-bs-section"),
        html.Div([html.Span([html.Span(className=f"og-bs-dot og-bs-dot-{status}"),
                             f"{t('bigscreen.status.' + status, lang)} {n:,}"],
                            className="og-bs-chip")
                  for status, n in sorted(drill.components.items(),
                                          key=lambda kv: (kv[0] == "normal", kv[0]))],
                 className="og-bs-chips"),
    ])
    if drill.cases:
        rows = [html.Li([
            html.Span(className=f"og-bs-dot og-bs-dot-{c.light or 'none'}",
                      title=t(f"bigscreen.light.{c.light}", lang) if c.light else ""),
            dcc.Link(c.code, href=f"/cases/{c.id}", className="og-bs-case-code"),
            html.Span(c.category_en if lang == "en" else c.category, className="og-bs-case-cat"),
            html.Span(c.status_label_en if lang == "en" else c.status_label,
                      className="og-bs-case-status"),
        ], className="og-bs-case") for c in drill.cases]
        more = ([html.Div(t("bigscreen.drill.more", lang).format(n=len(drill.cases)),
                          className="og-bs-note")]
                if drill.open_cases > len(drill.cases) else [])
        listing = [html.Ul(rows, className="og-bs-cases", id="bigscreen-drill-cases"), *more]
    else:
        listing = [html.Div(t("bigscreen.drill.no_cases", lang), className="og-bs-empty")]
    return [*head, stats, comps, html.Div(t("bigscreen.drill.cases", lang),
                                          className="og-bs-section"), *listing]


def _stat(label: str, value: int, stat_id: str) -> html.Div:
    return html.Div([html.Div(f"{value:,}", id=stat_id, className="og-bs-stat-value"),
                     html.Div(label, className="og-bs-stat-label")], className="og-bs-stat")
