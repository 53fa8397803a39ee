"""Callbacks of the big screen: the ≤ 5 s refresh (only what changed, as patches), the area
pickers, the drill-down panel, and the full-screen button (in the browser only)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, Patch, State, no_update
from dash.exceptions import PreventUpdate

from api.auth import require_roles
from api.geo import view_url
from api.media import media_url
from data.bigscreen import (
    area_drill,
    area_outline,
    as_dict,
    grid_codes,
    live_state,
    map_view,
    view_counts,
)
from data.types import utcnow
from data.views import (
    ViewError,
    cached_area_bounds,
    cached_area_features,
    check_area,
    region_tree,
)
from i18n import current_lang, t
from layouts import _ids as ids
from layouts._bigscreen import (
    COMPONENT_STATUSES,
    COMPONENT_TRACES,
    SHOP_TRACE,
    TRACKER_TRACES,
    bar_figure,
    clicked_grid,
    digest,
    drill_body,
    grid_patch,
    kpi_tiles,
    layer_of,
    light_tiles,
    map_figure,
    marker_note,
    payloads,
    points_patch,
    ticker_items,
    view_patch,
)
from layouts._components import ALL, area_options, selected_area
from layouts.bigscreen import CATEGORY_COLOUR, DISTRICT_COLOUR, ROLES
from services import get_services

HIDDEN = "og-bs-drill og-bs-hidden"
SHOWN = "og-bs-drill"


@dash.callback(
    Output(ids.BIGSCREEN_MAP, "figure"), Output(ids.BIGSCREEN_KPIS, "children"),
    Output(ids.BIGSCREEN_LIGHTS, "children"), Output(ids.BIGSCREEN_TICKER, "children"),
    Output(ids.BIGSCREEN_CATEGORIES, "figure"), Output(ids.BIGSCREEN_DISTRICTS, "figure"),
    Output(ids.BIGSCREEN_NOTE, "children"), Output(ids.BIGSCREEN_CLOCK, "children"),
    Output(ids.BIGSCREEN_DIGESTS, "data"),
    Input(ids.BIGSCREEN_INTERVAL, "n_intervals"), Input(ids.BIGSCREEN_LAYER, "value"),
    Input(ids.BIGSCREEN_SELECTED, "data"),
    State(ids.BIGSCREEN_DIGESTS, "data"), prevent_initial_call=True)
@require_roles(*ROLES)
def refresh(_tick: int, layer: str, area: Any, last: Any) -> tuple[Any, ...]:
    """Read the live state; send each part only if its digest changed (the map as a Patch of
    the arrays that changed; the whole map only if the set of areas it draws changed — a
    picked area in a city drawn by community brings its grids; a pick that keeps the set
    only outlines the area and fits the map to it)."""
    services, lang, now = get_services(), current_lang(), utcnow()
    tz, layer, last = services.cases.calendar.tz, layer_of(layer), last if isinstance(
        last, dict) else {}
    area = _area(area)
    if dash.ctx.triggered_id == ids.BIGSCREEN_SELECTED and (area or "") == last.get("area"):
        raise PreventUpdate  # the store announcing itself as the page mounts: nothing new
    with services.session() as session:
        view = map_view(grid_codes(session), area, services.settings.map_grid_limit)
        state = live_state(session, services.cases, now, shops=layer == "shops")
        parts = payloads(state, view, layer, lang, tz)
        new = {name: digest(value) for name, value in parts.items()}
        new["layer"], new["area"] = layer, area or ""
        changed = {name for name, value in new.items() if last.get(name) != value}
        figure: Any = no_update
        outline: Any = None
        bounds: tuple[float, ...] = ()
        if changed & {"codes", "area"}:
            outline, bounds = _picked(session, area)
        if "codes" in changed:
            features = cached_area_features(session, view.level, view.prefix)
            figure = map_figure(features, bounds, view_counts(view, state.layers[layer]), layer,
                                state.components, state.trackers, lang=lang,
                                tile_url=services.settings.tile_url, tz=tz, codes=view.codes,
                                level=view.level, outline=outline, shops=state.shops,
                                geojson=view_url(view.level, view.codes, view.prefix))
    if figure is no_update and changed & {"grid", "area",
                                          *(f"c-{s}" for s in COMPONENT_STATUSES),
                                          *(f"t-{k}" for k in TRACKER_TRACES), "shops"}:
        figure = Patch()
        if "area" in changed:
            view_patch(figure, services.settings.tile_url, outline, bounds)
        if "grid" in changed:
            grid_patch(figure, parts["grid"][1], layer, lang, "layer" in changed, view.level)
        for status in COMPONENT_STATUSES:
            if f"c-{status}" in changed:
                points_patch(figure, COMPONENT_TRACES[status], parts[f"c-{status}"])
        for kind, index in TRACKER_TRACES.items():
            if f"t-{kind}" in changed:
                points_patch(figure, index, parts[f"t-{kind}"])
        if "shops" in changed:
            points_patch(figure, SHOP_TRACE, parts["shops"])

    def part(name: str, build: Any) -> Any:
        return build() if name in changed else no_update

    return (
        figure,
        part("kpis", lambda: kpi_tiles(state.kpis, lang)),
        part("lights", lambda: light_tiles(state.lights, lang)),
        part("ticker", lambda: ticker_items(state.detections, lang, tz, media_url)),
        part("categories", lambda: bar_figure(state.by_category, lang, colour=CATEGORY_COLOUR)),
        part("districts", lambda: bar_figure(state.by_district, lang, colour=DISTRICT_COLOUR,
                                             horizontal=False)),
        part("note", lambda: marker_note(state, lang)),
        now.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
        new,
    )


@dash.callback(Output(ids.BIGSCREEN_STREET, "options"), Output(ids.BIGSCREEN_STREET, "value"),
               Output(ids.BIGSCREEN_STREET, "disabled"), Input(ids.BIGSCREEN_DISTRICT, "value"),
               prevent_initial_call=True)
@require_roles(*ROLES)
def street_choices(district: str | None) -> tuple[list[dict[str, str]], str, bool]:
    """The streets of the picked district (全部街道 first); reset to all."""
    with get_services().session() as session:
        items = region_tree(session)
    options = area_options(items, current_lang(), t("bigscreen.pick_street"), parent=district)
    return options, ALL, len(options) == 1


@dash.callback(Output(ids.BIGSCREEN_SELECTED, "data"),
               Input(ids.BIGSCREEN_MAP, "clickData"), Input(ids.BIGSCREEN_DISTRICT, "value"),
               Input(ids.BIGSCREEN_STREET, "value"), Input(ids.BIGSCREEN_DRILL_CLOSE, "n_clicks"),
               prevent_initial_call=True)
@require_roles(*ROLES)
def select_area(click: Any, district: str | None, street: str | None, _close: int) -> Any:
    """A clicked grid, else the picked street or district (None: nothing picked / closed)."""
    trigger = dash.ctx.triggered_id
    if trigger == ids.BIGSCREEN_DRILL_CLOSE:
        return None
    if trigger == ids.BIGSCREEN_MAP:
        return clicked_grid(click) or no_update
    return selected_area(district, street)


@dash.callback(Output(ids.BIGSCREEN_DRILL_BODY, "children"),
               Output(ids.BIGSCREEN_DRILL, "className"),
               Output(ids.BIGSCREEN_DRILL_DIGEST, "data"),
               Input(ids.BIGSCREEN_SELECTED, "data"), Input(ids.BIGSCREEN_INTERVAL, "n_intervals"),
               State(ids.BIGSCREEN_DRILL_DIGEST, "data"), prevent_initial_call=True)
@require_roles(*ROLES)
def show_drill(area: Any, _tick: int, last: Any) -> tuple[Any, ...]:
    """The picked area's open cases and components, refreshed with the other parts (the map
    outlines the area and fits itself to it: see :func:`refresh`)."""
    picked = dash.ctx.triggered_id == ids.BIGSCREEN_SELECTED
    services, lang = get_services(), current_lang()
    if not area:
        if not picked:
            return no_update, no_update, no_update
        return [], HIDDEN, None
    try:
        with services.session() as session:
            drill = area_drill(session, services.cases, utcnow(), str(area))
    except ViewError:
        drill = None
    body = drill_body(drill, lang, services.cases.calendar.tz, str(area))
    new = digest([area, lang, as_dict(drill)])
    if new == last and not picked:
        return no_update, no_update, no_update
    return body, SHOWN, new


def _area(value: Any) -> str | None:
    """The picked area's code, or None for none or for anything not an area code."""
    try:
        return check_area(value) if isinstance(value, str) else None
    except ViewError:
        return None


def _picked(session: Any, area: str | None) -> tuple[Any, tuple[float, ...]]:
    """The picked area's outline and bounds; no outline and the city's bounds for none (or
    for an area without grids)."""
    if area:
        try:
            outline = area_outline(session, area)
            if outline is not None:
                return outline, cached_area_bounds(session, area)
        except ViewError:
            pass
    return None, cached_area_bounds(session)


dash.clientside_callback(
    """function (n) {
        if (!n) { return window.dash_clientside.no_update; }
        const root = document.documentElement;
        if (document.fullscreenElement) { document.exitFullscreen(); }
        else if (root.requestFullscreen) { root.requestFullscreen().catch(() => null); }
        return window.dash_clientside.no_update;
    }""",
    Output(ids.BIGSCREEN_FULLSCREEN, "title"), Input(ids.BIGSCREEN_FULLSCREEN, "n_clicks"),
    prevent_initial_call=True)
