"""The city overview (城市概览): pick a level and an area; see its counts and its map."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from api.auth import STAFF_ROLES, current_principal
from data.views import region_tree
from i18n import current_lang, t
from layouts import _ids as ids
from layouts._components import ALL, area_options, empty_figure, notice
from services import get_services

dash.register_page(
    __name__,
    path="/overview",
    name="overview",
    roles=STAFF_ROLES,
    nav_key="nav.overview",
    title=lambda **_: f"{t('overview.title')} · {t('app.short')}",
)

LEVEL_CHOICES = ("district", "street", "community", "grid")
DEFAULT_LEVEL = "grid"
MAP_CONFIG = {"displaylogo": False, "scrollZoom": True,
              "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def _picker(label_key: str, picker_id: str, options: list[dict[str, str]]) -> html.Div:
    return html.Div([
        dbc.Label(t(label_key), html_for=picker_id, className="og-picker-label"),
        dbc.Select(id=picker_id, options=options, value=ALL, disabled=len(options) == 1),
    ], className="og-picker")


def layout(**_query: str) -> html.Div:
    """The page for staff roles; anyone else gets a notice (the routing callback bypasses
    the GET guard, so the role is checked here too)."""
    who = current_principal()
    if who is None or who.role not in STAFF_ROLES:
        return notice(t("forbidden.title"), t("forbidden.text"), "danger")
    lang = current_lang()
    with get_services().session() as session:
        items = region_tree(session)
    levels = [{"label": t(f"level.{level}"), "value": level} for level in LEVEL_CHOICES]
    panel = html.Aside([
        html.H1(t("overview.title"), className="og-page-title"),
        html.Section([
            html.Div(t("overview.show_level"), className="og-section-label"),
            dbc.RadioItems(id=ids.OVERVIEW_LEVEL, options=levels, value=DEFAULT_LEVEL,
                           className="btn-group og-levels", inputClassName="btn-check",
                           labelClassName="btn btn-outline-primary",
                           labelCheckedClassName="active"),
        ], className="og-section"),
        html.Section([
            html.Div(t("overview.area"), className="og-section-label"),
            _picker("level.district", ids.OVERVIEW_DISTRICT,
                    area_options(items, lang, t("overview.all_city"), level="district")),
            _picker("level.street", ids.OVERVIEW_STREET,
                    area_options(items, lang, t("overview.any"))),
            _picker("level.community", ids.OVERVIEW_COMMUNITY,
                    area_options(items, lang, t("overview.any"))),
        ], className="og-section"),
        html.H2(id=ids.OVERVIEW_AREA_NAME, className="og-area-name"),
        html.Div(id=ids.OVERVIEW_MESSAGE),
        html.Div(id=ids.OVERVIEW_COUNTS, className="og-tiles", **{"aria-live": "polite"}),
    ], className="og-panel")
    graph = dcc.Graph(id=ids.OVERVIEW_MAP, figure=empty_figure(), config=MAP_CONFIG,
                      responsive=True, className="og-map", style={"height": "100%"})
    return html.Div([panel, html.Section(graph, className="og-map-wrap")], className="og-overview")
