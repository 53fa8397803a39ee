"""The big screen (指挥大屏): the whole city's situation for the command center's wall.

1920×1080, dark, no scrolling; ``/?kiosk=1`` drops the navbar (the shell reads it) for a
full-screen wall display. The map is sent once with every grid's geometry; the callbacks in
``callbacks/bigscreen.py`` then patch only what changed every few seconds.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from api.auth import current_principal
from api.geo import view_url
from api.media import media_url
from data.bigscreen import LAYERS, grid_codes, live_state, map_view, view_counts
from data.types import utcnow
from data.views import cached_area_bounds, cached_area_features, region_tree
from i18n import add_messages, current_lang, t
from layouts import _ids as ids
from layouts._bigscreen import (
    bar_figure,
    digest,
    kpi_tiles,
    light_tiles,
    map_figure,
    marker_note,
    payloads,
    ticker_items,
)
from layouts._components import ALL, area_options, notice
from services import get_services

ROLES = ("command", "leader", "admin")
REFRESH_MS = 5000
CATEGORY_COLOUR = "#38bdf8"
DISTRICT_COLOUR = "#2dd4bf"

add_messages({
    "nav.bigscreen": {"zh-CN": "指挥大屏", "en": "Big screen"},
    "bigscreen.title": {"zh-CN": "城市运行指挥大屏", "en": "City operations big screen"},
    "bigscreen.kpis": {"zh-CN": "今日态势", "en": "Today"},
    "bigscreen.lights": {"zh-CN": "在办案件红黄绿灯", "en": "Open cases on the clock"},
    "bigscreen.by_category": {"zh-CN": "在办案件 · 按类别", "en": "Open cases by category"},
    "bigscreen.by_district": {"zh-CN": "在办案件 · 按区县", "en": "Open cases by district"},
    "bigscreen.ticker": {"zh-CN": "视频识别实时告警", "en": "Live camera detections"},
    "bigscreen.layer": {"zh-CN": "网格着色", "en": "Colour grids by"},
    "bigscreen.updated": {"zh-CN": "数据更新", "en": "Updated"},
    "bigscreen.exit_kiosk": {"zh-CN": "退出大屏模式", "en": "Leave kiosk mode"},
    "bigscreen.kiosk": {"zh-CN": "大屏模式", "en": "Kiosk mode"},
    "bigscreen.fullscreen": {"zh-CN": "全屏", "en": "Full screen"},
    "bigscreen.close": {"zh-CN": "关闭", "en": "Close"},
    "bigscreen.pick_district": {"zh-CN": "全市", "en": "Whole city"},
    "bigscreen.pick_street": {"zh-CN": "全部街道", "en": "All streets"},
})

dash.register_page(
    __name__,
    path="/",
    name="bigscreen",
    roles=ROLES,
    nav_key="nav.bigscreen",
    title=lambda **_: f"{t('bigscreen.title')} · {t('app.short')}",
)

GRAPH_CONFIG = {"displayModeBar": False, "staticPlot": False}
MAP_CONFIG = {"displayModeBar": False, "scrollZoom": True}


def _panel(title_key: str, body: Any, class_name: str = "") -> html.Section:
    return html.Section([html.H2(t(title_key), className="og-bs-panel-title"), body],
                        className=f"og-bs-panel {class_name}".strip())


def layout(kiosk: str | None = None, **_query: str) -> html.Div:
    """The page for command staff, leaders and administrators; anyone else gets a notice
    (the routing callback bypasses the GET guard, so the role is checked here too)."""
    who = current_principal()
    if who is None or who.role not in ROLES:
        return notice(t("forbidden.title"), t("forbidden.text"), "danger")
    services = get_services()
    lang, tz, now = current_lang(), services.cases.calendar.tz, utcnow()
    layer = LAYERS[0]
    with services.session() as session:
        view = map_view(grid_codes(session), None, services.settings.map_grid_limit)
        features = cached_area_features(session, view.level, view.prefix)
        bounds = cached_area_bounds(session)
        state = live_state(session, services.cases, now)
        items = region_tree(session)
    figure = map_figure(features, bounds, view_counts(view, state.layers[layer]), layer,
                        state.components, state.trackers, lang=lang,
                        tile_url=services.settings.tile_url, tz=tz, codes=view.codes,
                        level=view.level, geojson=view_url(view.level, view.codes))
    parts = payloads(state, view, layer, lang, tz)
    digests = {name: digest(value) for name, value in parts.items()}
    digests["layer"], digests["area"] = layer, ""
    kiosk_on = kiosk in ("1", "true", "yes")

    header = html.Header([
        html.H1(t("bigscreen.title"), className="og-bs-title"),
        html.Div([
            html.Span(t("bigscreen.updated"), className="og-bs-updated-label"),
            html.Span(now.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), id=ids.BIGSCREEN_CLOCK,
                      className="og-bs-clock"),
        ], className="og-bs-updated"),
        html.Div([
            html.Button(t("bigscreen.fullscreen"), id=ids.BIGSCREEN_FULLSCREEN, n_clicks=0,
                        className="og-bs-quiet", type="button"),
            html.A(t("bigscreen.exit_kiosk") if kiosk_on else t("bigscreen.kiosk"),
                   href="/" if kiosk_on else "/?kiosk=1", id=ids.BIGSCREEN_EXIT,
                   className="og-bs-quiet"),
        ], className="og-bs-actions"),
    ], className="og-bs-header")

    left = html.Aside([
        _panel("bigscreen.kpis", html.Div(kpi_tiles(state.kpis, lang), id=ids.BIGSCREEN_KPIS,
                                          className="og-bs-kpis", **{"aria-live": "polite"})),
        _panel("bigscreen.lights", html.Div(light_tiles(state.lights, lang),
                                            id=ids.BIGSCREEN_LIGHTS, className="og-bs-lights")),
        _panel("bigscreen.by_category", dcc.Graph(
            id=ids.BIGSCREEN_CATEGORIES, figure=bar_figure(state.by_category, lang,
                                                           colour=CATEGORY_COLOUR),
            config=GRAPH_CONFIG, responsive=True, className="og-bs-chart"), "og-bs-grow"),
    ], className="og-bs-col og-bs-left")

    layer_options = [{"label": t(f"bigscreen.layer.{name}"), "value": name} for name in LAYERS]
    toolbar = html.Div([
        html.Div(dbc.RadioItems(id=ids.BIGSCREEN_LAYER, options=layer_options, value=layer,
                                className="btn-group og-bs-layers", inputClassName="btn-check",
                                labelClassName="btn btn-outline-info",
                                labelCheckedClassName="active"),
                 role="group", **{"aria-label": t("bigscreen.layer")}),
        dbc.Select(id=ids.BIGSCREEN_DISTRICT, value=ALL, className="og-bs-select",
                   options=area_options(items, lang, t("bigscreen.pick_district"),
                                        level="district")),
        dbc.Select(id=ids.BIGSCREEN_STREET, value=ALL, className="og-bs-select", disabled=True,
                   options=area_options(items, lang, t("bigscreen.pick_street"))),
    ], className="og-bs-toolbar")
    drill = html.Div([
        html.Button("×", id=ids.BIGSCREEN_DRILL_CLOSE, n_clicks=0, className="og-bs-close",
                    title=t("bigscreen.close"), **{"aria-label": t("bigscreen.close")}),
        html.Div(id=ids.BIGSCREEN_DRILL_BODY),
    ], id=ids.BIGSCREEN_DRILL, className="og-bs-drill og-bs-hidden")
    centre = html.Section([
        dcc.Graph(id=ids.BIGSCREEN_MAP, figure=figure, config=MAP_CONFIG, responsive=True,
                  className="og-bs-map", style={"height": "100%"}),
        toolbar,
        html.Div(marker_note(state, lang), id=ids.BIGSCREEN_NOTE, className="og-bs-map-note"),
        drill,
    ], className="og-bs-centre")

    right = html.Aside([
        _panel("bigscreen.ticker", html.Ul(
            ticker_items(state.detections, lang, tz, media_url), id=ids.BIGSCREEN_TICKER,
            className="og-bs-ticker", **{"aria-live": "polite"}), "og-bs-grow"),
        _panel("bigscreen.by_district", dcc.Graph(
            id=ids.BIGSCREEN_DISTRICTS, figure=bar_figure(state.by_district, lang,
                                                          colour=DISTRICT_COLOUR,
                                                          horizontal=False),
            config=GRAPH_CONFIG, responsive=True, className="og-bs-chart"), "og-bs-districts"),
    ], className="og-bs-col og-bs-right")

    return html.Div([
        header,
        html.Div([left, centre, right], className="og-bs-body"),
        dcc.Interval(id=ids.BIGSCREEN_INTERVAL, interval=REFRESH_MS, n_intervals=0),
        dcc.Store(id=ids.BIGSCREEN_DIGESTS, data=digests),
        dcc.Store(id=ids.BIGSCREEN_SELECTED, data=None),
        dcc.Store(id=ids.BIGSCREEN_DRILL_DIGEST, data=None),
    ], id=ids.BIGSCREEN_ROOT,
        className="og-bigscreen og-bigscreen-kiosk" if kiosk_on else "og-bigscreen")
