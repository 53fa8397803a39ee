"""Callbacks of the leader scorecards (考核评价): the period and grouping load fresh figures
(kept a while by ``data.scorecards.cached_rows``); sorting, paging, ranking and the map reuse
them; the trend is one grouped query; a clicked number or map area lists its cases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, html, no_update

from api.auth import require_roles
from data.scorecards import cached_rows, cases_behind, trend
from data.shop_rankings import SHOP_RANK_LEVELS, published_months, shop_list, shop_rankings
from data.views import area_bounds, cached_area_features
from i18n import current_lang, t
from layouts import _ids as ids
from layouts._components import notice
from layouts._shop_scores import LIST_SHOWN, rank_table, shop_items
from layouts._shop_scores import export_links as shop_export_links
from layouts.scorecards import (
    PAGE_SIZE,
    SCORECARD_ROLES,
    TREND_MONTHS,
    city_tz,
    drill_panel,
    empty_map,
    export_links,
    map_figure,
    pager_text,
    ranking_panel,
    score_table,
    trend_figure,
)
from reports.scorecard import (
    AREA_GROUPINGS,
    BY_INDICATOR,
    GROUPINGS,
    Period,
    PeriodError,
    parse_period,
    text,
)
from services import get_services

ROLES = SCORECARD_ROLES


class BadInputError(ValueError):
    """A value no picker offers (a hand-made payload): shown as a message, nothing crashes."""


def _message(detail: str) -> Any:
    return notice(t("scorecards.bad_input"), detail, class_name="my-2")


def _query(data: dict[str, Any] | None) -> tuple[datetime, datetime, str, Period]:
    """The loaded period and grouping from the query store (checked again: it comes from the
    browser)."""
    if not isinstance(data, dict) or data.get("by") not in GROUPINGS:
        raise BadInputError(t("scorecards.bad_by") + str((data or {}).get("by")))
    try:
        period = Period(date.fromisoformat(data["first"]), date.fromisoformat(data["last"]))
    except (KeyError, TypeError, ValueError):
        raise BadInputError(str(data))
    start, end = period.bounds(city_tz())
    return start, end, data["by"], period


def _indicator(value: Any) -> str:
    if value not in BY_INDICATOR:
        raise BadInputError(t("scorecards.bad_indicator") + str(value))
    return value


def _rows(data: dict[str, Any] | None) -> tuple[Any, str, Period]:
    start, end, by, period = _query(data)
    with get_services().session() as session:
        return cached_rows(session, start=start, end=end, by=by), by, period


@dash.callback(Output(ids.SCORECARDS_MONTH_WRAP, "style"),
               Output(ids.SCORECARDS_RANGE_WRAP, "style"), Input(ids.SCORECARDS_MODE, "value"))
@require_roles(*ROLES)
def show_mode(mode: str) -> tuple[dict[str, str], dict[str, str]]:
    """Month picker or date range."""
    hidden = {"display": "none"}
    return (hidden, {}) if mode == "range" else ({}, hidden)


@dash.callback(Output(ids.SCORECARDS_QUERY, "data"), Output(ids.SCORECARDS_PERIOD, "children"),
               Output(ids.SCORECARDS_MESSAGE, "children"), Output(ids.SCORECARDS_XLSX, "href"),
               Output(ids.SCORECARDS_PDF, "href"), Output(ids.SCORECARDS_TREND_SCOPE, "options"),
               Output(ids.SCORECARDS_TREND_SCOPE, "value"),
               Input(ids.SCORECARDS_MODE, "value"), Input(ids.SCORECARDS_MONTH, "value"),
               Input(ids.SCORECARDS_START, "value"), Input(ids.SCORECARDS_END, "value"),
               Input(ids.SCORECARDS_BY, "value"))
@require_roles(*ROLES)
def load(mode: str, month: str, start: str, end: str, by: str) -> tuple[Any, ...]:
    """Fresh figures for the picked period and grouping; everything else follows the store."""
    lang, tz = current_lang(), city_tz()
    try:
        if by not in GROUPINGS:
            raise BadInputError(t("scorecards.bad_by") + str(by))
        period = (parse_period(start=start or "", end=end or "", today=datetime.now(tz).date())
                  if mode == "range" else parse_period(month=month or "",
                                                       today=datetime.now(tz).date()))
    except PeriodError as exc:
        return (no_update,) * 2 + (_message(exc.text(lang)),) + (no_update,) * 4
    except BadInputError as exc:
        return (no_update,) * 2 + (_message(str(exc)),) + (no_update,) * 4
    lo, hi = period.bounds(tz)
    with get_services().session() as session:
        rows = cached_rows(session, start=lo, end=hi, by=by, fresh=True)
    xlsx, pdf = export_links(period, by)
    scopes = [{"label": text("city", lang), "value": "city"}] + [
        {"label": f"{r.name} ({r.key})", "value": f"{by}|{r.key}"} for r in rows]
    query = {"first": period.first.isoformat(), "last": period.last.isoformat(), "by": by,
             "n": len(rows)}
    label = f"{period.label(lang)} · {text(f'by.{by}', lang)} · {len(rows)}"
    return query, label, None, xlsx, pdf, scopes, "city"


@dash.callback(Output(ids.SCORECARDS_SORT, "data"),
               Input({"type": ids.SCORECARDS_SORT_BUTTON, "col": ALL}, "n_clicks"),
               State(ids.SCORECARDS_SORT, "data"), prevent_initial_call=True)
@require_roles(*ROLES)
def sort_by(clicks: list[int | None], sort: dict[str, Any] | None) -> Any:
    """A column header clicked: sort by it (numbers largest first), again: the other way."""
    col = ctx.triggered_id["col"] if isinstance(ctx.triggered_id, dict) else None
    if not any(clicks) or (col not in BY_INDICATOR and col not in ("key", "name")):
        return no_update
    sort = sort if isinstance(sort, dict) else {}
    if sort.get("col") == col:
        return {"col": col, "desc": not sort.get("desc")}
    return {"col": col, "desc": col in BY_INDICATOR}


@dash.callback(Output(ids.SCORECARDS_PAGE, "data"), Input(ids.SCORECARDS_PREV, "n_clicks"),
               Input(ids.SCORECARDS_NEXT, "n_clicks"), Input(ids.SCORECARDS_QUERY, "data"),
               Input(ids.SCORECARDS_SORT, "data"), State(ids.SCORECARDS_PAGE, "data"),
               prevent_initial_call=True)
@require_roles(*ROLES)
def turn_page(_prev: int, _next: int, query: dict[str, Any] | None, _sort: Any,
              page: Any) -> int:
    """Previous/next page; back to the first page on new figures or a new order."""
    page = page if isinstance(page, int) else 1
    rows = int((query or {}).get("n") or 0) if isinstance(query, dict) else 0
    pages = max(1, -(-rows // PAGE_SIZE))
    if ctx.triggered_id == ids.SCORECARDS_PREV:
        return max(1, page - 1)
    if ctx.triggered_id == ids.SCORECARDS_NEXT:
        return min(pages, page + 1)
    return 1


@dash.callback(Output(ids.SCORECARDS_TABLE, "children"), Output(ids.SCORECARDS_PAGER, "children"),
               Output(ids.SCORECARDS_PREV, "disabled"), Output(ids.SCORECARDS_NEXT, "disabled"),
               Input(ids.SCORECARDS_QUERY, "data"), Input(ids.SCORECARDS_SORT, "data"),
               Input(ids.SCORECARDS_PAGE, "data"), prevent_initial_call=True)
@require_roles(*ROLES)
def show_table(query: dict[str, Any] | None, sort: Any, page: Any) -> tuple[Any, ...]:
    """One page of the sorted table."""
    lang = current_lang()
    try:
        rows, by, _ = _rows(query)
    except BadInputError as exc:
        return _message(str(exc)), "", True, True
    sort = sort if isinstance(sort, dict) else {}
    table, page, pages = score_table(rows, by, sort, page if isinstance(page, int) else 1, lang)
    return table, pager_text(page, pages, len(rows), lang), page <= 1, page >= pages


@dash.callback(Output(ids.SCORECARDS_RANKING, "children"), Output(ids.SCORECARDS_MAP, "figure"),
               Output(ids.SCORECARDS_MAP_NOTE, "children"), Input(ids.SCORECARDS_QUERY, "data"),
               Input(ids.SCORECARDS_INDICATOR, "value"), prevent_initial_call=True)
@require_roles(*ROLES)
def show_ranking_and_map(query: dict[str, Any] | None, indicator: str) -> tuple[Any, ...]:
    """Best and worst groups by the indicator, and its choropleth for area groupings."""
    lang, services = current_lang(), get_services()
    try:
        indicator = _indicator(indicator)
        rows, by, _ = _rows(query)
    except BadInputError as exc:
        return _message(str(exc)), no_update, None
    panel = ranking_panel(rows, indicator, lang)
    if by not in AREA_GROUPINGS:
        note = html.Div(t("scorecards.map_only_areas", lang), className="og-sc-muted")
        return panel, empty_map(), note
    with services.session() as session:
        features = cached_area_features(session, by, None)
        bounds = area_bounds(session, None)
    figure = map_figure(features, rows, indicator, bounds, lang=lang,
                        tile_url=services.settings.tile_url, view_key=by)
    return panel, figure, None


@dash.callback(Output(ids.SCORECARDS_TREND, "figure"), Input(ids.SCORECARDS_QUERY, "data"),
               Input(ids.SCORECARDS_INDICATOR, "value"),
               Input(ids.SCORECARDS_TREND_SCOPE, "value"), prevent_initial_call=True)
@require_roles(*ROLES)
def show_trend(query: dict[str, Any] | None, indicator: str, scope: str | None) -> Any:
    """The indicator over the last twelve months for the city or the chosen group."""
    lang = current_lang()
    try:
        indicator = _indicator(indicator)
        _, _, _, period = _query(query)
        by, key = ("city", "city") if scope in (None, "", "city") else str(scope).split("|", 1)
        with get_services().session() as session:
            points = trend(session, last=period, months=TREND_MONTHS, tz=city_tz(),
                           indicator=indicator, by=by, key=key)
        rows = _rows(query)[0] if by != "city" else ()
    except (BadInputError, ValueError):
        return no_update
    label = text("city", lang) if by == "city" else next(
        (r.name for r in rows if r.key == key), key)
    return trend_figure(points, indicator, label, lang)


@dash.callback(Output(ids.SCORECARDS_DRILL, "children"),
               Input({"type": ids.SCORECARDS_CELL, "row": ALL, "ind": ALL}, "n_clicks"),
               Input(ids.SCORECARDS_MAP, "clickData"), State(ids.SCORECARDS_QUERY, "data"),
               State(ids.SCORECARDS_INDICATOR, "value"), prevent_initial_call=True)
@require_roles(*ROLES)
def drill(_clicks: list[int | None], click: dict[str, Any] | None,
          query: dict[str, Any] | None, indicator: str) -> Any:
    """The cases behind a clicked number (or behind the indicator of a clicked map area)."""
    lang = current_lang()
    trigger = ctx.triggered_id
    if isinstance(trigger, dict):
        if not (ctx.triggered and ctx.triggered[0].get("value")):
            return no_update  # the table was drawn again, nothing was clicked
        key, indicator = str(trigger.get("row")), trigger.get("ind")
    elif trigger == ids.SCORECARDS_MAP:
        points = (click or {}).get("points") or [{}]
        key = str(points[0].get("location") or "")
    else:
        return no_update
    try:
        indicator = _indicator(indicator)
        start, end, by, period = _query(query)
        with get_services().session() as session:
            cases, total = cases_behind(session, start=start, end=end, by=by, key=key,
                                        indicator=indicator)
            rows = cached_rows(session, start=start, end=end, by=by)
    except (BadInputError, ValueError) as exc:
        return _message(str(exc))
    name = next((r.name for r in rows if r.key == key), key)
    return drill_panel(cases, total, group=f"{text(f'by.{by}', lang)} {name}",
                       indicator=indicator, period_label=period.label(lang), tz=city_tz(),
                       lang=lang)


@dash.callback(Output(ids.SCORECARDS_SHOP_TABLE, "children"),
               Output(ids.SCORECARDS_SHOP_RED, "children"),
               Output(ids.SCORECARDS_SHOP_BLACK, "children"),
               Output(ids.SCORECARDS_SHOP_XLSX, "href"), Output(ids.SCORECARDS_SHOP_PDF, "href"),
               Input(ids.SCORECARDS_SHOP_MONTH, "value"), Input(ids.SCORECARDS_SHOP_BY, "value"))
@require_roles(*SCORECARD_ROLES)
def show_shop_scores(month: Any, by: Any) -> tuple[Any, ...]:
    """A published month's areas ranked by their shops' scores, and its red and black lists."""
    lang = current_lang()
    by = by if by in SHOP_RANK_LEVELS else "street"
    with get_services().session() as session:
        if month not in published_months(session):
            return no_update, no_update, no_update, no_update, no_update
        rows = shop_rankings(session, month, by)
        red = shop_list(session, month, listed="red", limit=LIST_SHOWN)
        black = shop_list(session, month, listed="black", limit=LIST_SHOWN)
    xlsx, pdf = shop_export_links(month)
    return (rank_table(rows, lang), shop_items(red, sum(r.red for r in rows), lang),
            shop_items(black, sum(r.black for r in rows), lang), xlsx, pdf)
