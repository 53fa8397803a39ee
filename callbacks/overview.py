"""Callbacks of the overview page: cascading area pickers, then counts and map for an area."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, no_update

from api.auth import STAFF_ROLES, require_roles
from data.views import (
    ViewError,
    area_bounds,
    area_counts,
    cached_area_features,
    region_tree,
)
from i18n import current_lang, t
from layouts import _ids as ids
from layouts._components import (
    OUTLINE_PARENT,
    area_options,
    area_title,
    count_tiles,
    map_figure,
    notice,
    selected_area,
)
from services import get_services


def _children(parent: str | None) -> tuple[list[dict[str, str]], str, bool]:
    with get_services().session() as session:
        items = region_tree(session)
    options = area_options(items, current_lang(), t("overview.any"), parent=parent)
    return options, options[0]["value"], len(options) == 1


@dash.callback(Output(ids.OVERVIEW_STREET, "options"), Output(ids.OVERVIEW_STREET, "value"),
               Output(ids.OVERVIEW_STREET, "disabled"), Input(ids.OVERVIEW_DISTRICT, "value"),
               prevent_initial_call=True)
@require_roles(*STAFF_ROLES)
def street_choices(district: str | None) -> tuple[list[dict[str, str]], str, bool]:
    """The streets of the picked district (全部 first); reset to 全部."""
    return _children(district)


@dash.callback(Output(ids.OVERVIEW_COMMUNITY, "options"),
               Output(ids.OVERVIEW_COMMUNITY, "value"),
               Output(ids.OVERVIEW_COMMUNITY, "disabled"), Input(ids.OVERVIEW_STREET, "value"),
               prevent_initial_call=True)
@require_roles(*STAFF_ROLES)
def community_choices(street: str | None) -> tuple[list[dict[str, str]], str, bool]:
    """The communities of the picked street (全部 first); reset to 全部."""
    return _children(street)


@dash.callback(Output(ids.OVERVIEW_COUNTS, "children"), Output(ids.OVERVIEW_MAP, "figure"),
               Output(ids.OVERVIEW_AREA_NAME, "children"), Output(ids.OVERVIEW_MESSAGE, "children"),
               Input(ids.OVERVIEW_LEVEL, "value"), Input(ids.OVERVIEW_DISTRICT, "value"),
               Input(ids.OVERVIEW_STREET, "value"), Input(ids.OVERVIEW_COMMUNITY, "value"))
@require_roles(*STAFF_ROLES)
def show_area(level: str, district: str, street: str, community: str) -> tuple[Any, ...]:
    """Counts and map of the picked area at the picked level."""
    area, lang = selected_area(district, street, community), current_lang()
    services = get_services()
    try:
        with services.session() as session:
            counts, bounds = area_counts(session, area), area_bounds(session, area)
            features, items = cached_area_features(session, level, area), region_tree(session)
            parent = OUTLINE_PARENT.get(level)
            outline = cached_area_features(session, parent, area) if parent else None
    except ViewError as exc:
        message = notice(t("error.bad_selection"), f"{t(exc.key)}{exc.value}",
                         class_name="mb-3")
        return no_update, no_update, no_update, message
    figure = map_figure(features, level, bounds, lang=lang, view_key=area or "city",
                        tile_url=services.settings.tile_url, outline=outline)
    return count_tiles(counts, "overview"), figure, area_title(items, area, lang), None
