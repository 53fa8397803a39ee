"""Callbacks of the big screen: the ≤ 5 s refresh (only what changed, as patches), the area
pickers, the drill-down panel, and the full-screen button (in the browser only)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, Patch, State, no_update

from api.auth import require_roles
from api.geo import grids_url
from api.media import media_url
from data.bigscreen import area_drill, area_outline, as_dict, grid_codes, live_state
from data.types import utcnow
from data.views import ViewError, area_bounds, cached_area_features, region_tree
from i18n import current_lang, t
from layouts import _ids as ids
from layouts._bigscreen import (
    COMPONENT_STATUSES,
    COMPONENT_TRACES,
    MAP_SIZE,
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
    map_layers,
    marker_note,
    payloads,
    points_patch,
    ticker_items,
)
from layouts._components import ALL, area_options, fit_view, selected_area
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
    State(ids.BIGSCREEN_DIGESTS, "data"), prevent_initial_call=True)
@require_roles(*ROLES)
def refresh(_tick: int, layer: str, last: Any) -> tuple[Any, ...]:
    """Read the live state; send each part only if its digest changed (the map as a Patch of
    the arrays that changed; the whole map only if the set of grids changed)."""
    services, lang, now = get_services(), current_lang(), utcnow()
    tz, layer, last = services.cases.calendar.tz, layer_of(layer), last if isinstance(
        last, dict) else {}
    with services.session() as session:
        codes = grid_codes(session)
        state = live_state(session, services.cases, now)
        parts = payloads(state, codes, layer, lang, tz)
        new = {name: digest(value) for name, value in parts.items()}
        new["layer"] = layer
        changed = {name for name, value in new.items() if last.get(name) != value}
        figure: Any = no_update
        if "codes" in changed:
            features = cached_area_features(session, "grid", None)
            figure = map_figure(features, area_bounds(session), state.layers[layer], layer,
                                state.components, state.trackers, lang=lang,
                                tile_url=services.settings.tile_url, tz=tz,
                                geojson=grids_url(codes))
    if figure is no_update and changed & {"grid", *(f"c-{s}" for s in COMPONENT_STATUSES),
                                          *(f"t-{k}" for k in TRACKER_TRACES)}:
        figure = Patch()
        if "grid" in changed:
            grid_patch(figure, parts["grid"][1], layer, lang, "layer" in changed)
        for status in COMPONENT_STATUSES:
            if f"c-{status}" in changed:
                points_patch(figure, COMPONENT_TRACES[status], parts[f"c-{status}"])
        for kind, index in TRACKER_TRACES.items():
            if f"t-{kind}" in changed:
                points_patch(figure, index, parts[f"t-{kind}"])

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
               Output(ids.BIGSCREEN_MAP, "figure", allow_duplicate=True),
               Input(ids.BIGSCREEN_SELECTED, "data"), Input(ids.BIGSCREEN_INTERVAL, "n_intervals"),
               State(ids.BIGSCREEN_DRILL_DIGEST, "data"), prevent_initial_call=True)
@require_roles(*ROLES)
def show_drill(area: Any, _tick: int, last: Any) -> tuple[Any, ...]:
    """The picked area's open cases and components; outline it and fit the map to it when the
    pick changes, refresh the list with the other parts."""
    picked = dash.ctx.triggered_id == ids.BIGSCREEN_SELECTED
    services, lang = get_services(), current_lang()
    if not area:
        if not picked:
            return no_update, no_update, no_update, no_update
        return [], HIDDEN, None, _view(services, None, None)
    try:
        with services.session() as session:
            drill = area_drill(session, services.cases, utcnow(), str(area))
            outline = area_outline(session, str(area)) if picked and drill else None
            bounds = area_bounds(session, str(area)) if picked and drill else None
    except ViewError:
        drill = outline = bounds = None
    body = drill_body(drill, lang, services.cases.calendar.tz, str(area))
    new = digest([area, lang, as_dict(drill)])
    if new == last and not picked:
        return no_update, no_update, no_update, no_update
    return body, SHOWN, new, _view(services, outline, bounds) if picked else no_update


def _view(services: Any, outline: Any, bounds: Any) -> Patch:
    """Outline the picked area and fit the map to it (or back to the whole city)."""
    patch = Patch()
    patch["layout"]["map"]["layers"] = map_layers(services.settings.tile_url, outline)
    if bounds is None:
        with services.session() as session:
            bounds = area_bounds(session)
    centre, zoom = fit_view(bounds, *MAP_SIZE)
    patch["layout"]["map"]["center"] = centre
    patch["layout"]["map"]["zoom"] = zoom
    patch["layout"]["uirevision"] = digest(bounds)
    return patch


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
