"""Leader scorecards (考核评价, /scorecards): the case engine's indicators for a month or a
range, by area, department or inspector — a sortable table with each formula on hover,
rankings, a month-on-month trend, a choropleth, the cases behind any number, and XLSX/PDF
downloads (``/exports/scorecards.*``).

The builders below are pure functions of plain rows (``reports.scorecard``), so the
callbacks stay thin: parse the inputs, ask ``data.scorecards``, hand the rows to a builder.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import Any
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from api.auth import current_principal
from cases.metrics import INDICATORS, Indicator
from data.shop_rankings import published_months
from i18n import add_messages, current_lang, t
from layouts import _ids as ids
from layouts._components import FONT_STACK, GRID_SCALE, fit_view, notice
from layouts._shop_scores import shop_card
from reports.scorecard import (
    BY_INDICATOR,
    COUNTS,
    GROUPINGS,
    LOWER_IS_BETTER,
    Period,
    ScoreRow,
    format_value,
    indicator_formula,
    indicator_name,
    last_full_month,
    parse_month,
    ranking,
    recent_months,
    sort_rows,
    text,
)
from services import get_services

SCORECARD_ROLES = ("leader", "command", "admin")

add_messages({
    "nav.scorecards": {"zh-CN": "考核评价", "en": "Scorecards"},
    "scorecards.title": {"zh-CN": "考核评价", "en": "Scorecards"},
    "scorecards.mode_month": {"zh-CN": "按月", "en": "Month"},
    "scorecards.mode_range": {"zh-CN": "自定义时段", "en": "Date range"},
    "scorecards.month": {"zh-CN": "考核月份", "en": "Month"},
    "scorecards.this_month": {"zh-CN": "（本月至今）", "en": " (so far)"},
    "scorecards.start": {"zh-CN": "开始日期", "en": "From"},
    "scorecards.end": {"zh-CN": "结束日期（含）", "en": "To (included)"},
    "scorecards.by": {"zh-CN": "统计维度", "en": "Group by"},
    "scorecards.indicator": {"zh-CN": "排名/趋势/地图指标", "en": "Indicator for ranking, "
                                                             "trend and map"},
    "scorecards.export_xlsx": {"zh-CN": "导出 Excel", "en": "Export Excel"},
    "scorecards.export_pdf": {"zh-CN": "导出 PDF", "en": "Export PDF"},
    "scorecards.table_title": {"zh-CN": "指标明细", "en": "Indicators"},
    "scorecards.table_hint": {"zh-CN": "悬停列名查看公式；点击列名排序；点击数字查看案件。",
                              "en": "Hover a column for its formula; click it to sort; "
                                    "click a number for its cases."},
    "scorecards.pager": {"zh-CN": "第 {page} / {pages} 页，共 {rows} 项",
                         "en": "Page {page} of {pages}, {rows} rows"},
    "scorecards.prev": {"zh-CN": "上一页", "en": "Previous"},
    "scorecards.next": {"zh-CN": "下一页", "en": "Next"},
    "scorecards.no_rows": {"zh-CN": "本周期内没有案件。", "en": "No cases in this period."},
    "scorecards.ranking_title": {"zh-CN": "排名", "en": "Ranking"},
    "scorecards.best": {"zh-CN": "前 5 名", "en": "Best 5"},
    "scorecards.worst": {"zh-CN": "后 5 名", "en": "Worst 5"},
    "scorecards.most": {"zh-CN": "最多 5 项", "en": "Most 5"},
    "scorecards.fewest": {"zh-CN": "最少 5 项", "en": "Fewest 5"},
    "scorecards.no_ranking": {"zh-CN": "没有可排名的数据。", "en": "Nothing to rank."},
    "scorecards.trend_title": {"zh-CN": "月度趋势（近 12 个月）",
                               "en": "Month on month (last 12 months)"},
    "scorecards.trend_scope": {"zh-CN": "范围", "en": "For"},
    "scorecards.map_title": {"zh-CN": "分布地图", "en": "Map"},
    "scorecards.map_only_areas": {"zh-CN": "地图按区域显示：请将统计维度选为"
                                           "区/县、街道、社区或单元网格。",
                                  "en": "The map shows areas: group by district, street, "
                                        "community or unit grid."},
    "scorecards.no_value": {"zh-CN": "无数据", "en": "no data"},
    "scorecards.drill_title": {"zh-CN": "案件清单", "en": "Cases behind the number"},
    "scorecards.drill_hint": {"zh-CN": "点击表格中的数字或地图上的区域，查看其背后的案件。",
                              "en": "Click a number in the table or an area on the map to "
                                    "list the cases behind it."},
    "scorecards.drill_total": {"zh-CN": "共 {total} 件", "en": "{total} cases"},
    "scorecards.drill_more": {"zh-CN": "仅列出前 {shown} 件。",
                              "en": "Only the first {shown} are listed."},
    "scorecards.drill_none": {"zh-CN": "没有案件。", "en": "No cases."},
    "scorecards.col_case": {"zh-CN": "案件编号", "en": "Case"},
    "scorecards.col_title": {"zh-CN": "标题", "en": "Title"},
    "scorecards.col_status": {"zh-CN": "状态", "en": "Status"},
    "scorecards.col_reported": {"zh-CN": "上报时间", "en": "Reported"},
    "scorecards.col_grid": {"zh-CN": "单元网格", "en": "Grid"},
    "scorecards.cases_behind": {"zh-CN": "{n} 件，点击查看", "en": "{n} cases: click to list"},
    "scorecards.bad_input": {"zh-CN": "无法显示所选内容", "en": "This cannot be shown"},
    "scorecards.bad_by": {"zh-CN": "未知的统计维度：", "en": "Unknown grouping: "},
    "scorecards.bad_indicator": {"zh-CN": "未知的指标：", "en": "Unknown indicator: "},
})

dash.register_page(
    __name__,
    path="/scorecards",
    name="scorecards",
    roles=SCORECARD_ROLES,
    nav_key="nav.scorecards",
    title=lambda **_: f"{t('scorecards.title')} · {t('app.short')}",
)

DEFAULT_BY = "district"
DEFAULT_INDICATOR = "on_time_closure_rate"
PAGE_SIZE = 20
MONTHS_OFFERED = 24
TREND_MONTHS = 12
GRAPH_CONFIG = {"displaylogo": False, "displayModeBar": False}
MAP_CONFIG = {"displaylogo": False, "scrollZoom": True,
              "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
# Good to bad, for rates and hours (reversed when lower is better); counts use GRID_SCALE.
QUALITY_SCALE = [[0.0, "#c0392b"], [0.35, "#f39c12"], [0.65, "#f1c40f"], [1.0, "#27ae60"]]
NO_VALUE_COLOUR = "#e2e8f0"


def city_tz() -> tzinfo:
    return get_services().cases.calendar.tz


def month_options(today: date, lang: str) -> list[dict[str, str]]:
    """The current month (so far) and the :data:`MONTHS_OFFERED` months before it."""
    months = recent_months(today, MONTHS_OFFERED + 1)
    options = []
    for p in reversed(months):
        label = p.label(lang) + (t("scorecards.this_month", lang) if p.last >= today else "")
        options.append({"label": label, "value": p.month})
    return options


def by_options(lang: str) -> list[dict[str, str]]:
    return [{"label": text(f"by.{by}", lang), "value": by} for by in GROUPINGS]


def indicator_options(lang: str) -> list[dict[str, str]]:
    return [{"label": indicator_name(ind, lang), "value": ind.key} for ind in INDICATORS]


def export_links(period: Period, by: str) -> tuple[str, str]:
    """The hrefs of the two download buttons (the workbook has every grouping)."""
    span = {"start": period.first.isoformat(), "end": period.last.isoformat()}
    return (f"/exports/scorecards.xlsx?{urlencode(span)}",
            f"/exports/scorecards.pdf?{urlencode({**span, 'by': by})}")


def formula_title(ind: Indicator, lang: str) -> str:
    """A column header's hover text: the indicator and its formula."""
    return f"{indicator_name(ind, lang)} = {indicator_formula(ind, lang)}"


# -- table -------------------------------------------------------------------------------------
def _sort_mark(col: str, sort: dict[str, Any]) -> str:
    if sort.get("col") != col:
        return ""
    return " ▼" if sort.get("desc") else " ▲"


def _header_cell(col: str, label: str, title: str, sort: dict[str, Any]) -> html.Th:
    button = html.Button(label + _sort_mark(col, sort), type="button",
                         id={"type": ids.SCORECARDS_SORT_BUTTON, "col": col},
                         className="og-sc-sort", n_clicks=0)
    return html.Th(button, title=title, scope="col",
                   **{"data-col": col, "aria-sort": ("descending" if sort.get("desc")
                                                    else "ascending")
                      if sort.get("col") == col else "none"})


def _value_cell(row: ScoreRow, ind: Indicator, lang: str) -> html.Td:
    shown = format_value(ind, row.values.get(ind.key), lang)
    n = row.behind.get(ind.key, 0)
    if n > 0:
        content: Any = html.Button(
            shown, type="button", id={"type": ids.SCORECARDS_CELL, "row": row.key,
                                      "ind": ind.key},
            className="og-sc-cell", n_clicks=0,
            title=t("scorecards.cases_behind", lang).format(n=n))
    else:
        content = shown
    return html.Td(content, className="og-sc-num", **{"data-col": ind.key})


def score_table(rows: Sequence[ScoreRow], by: str, sort: dict[str, Any], page: int,
                lang: str) -> tuple[html.Table, int, int]:
    """One page of the sorted table, the page shown (clamped) and the number of pages."""
    ordered = sort_rows(rows, sort.get("col") or "key", bool(sort.get("desc")))
    pages = max(1, -(-len(ordered) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = ordered[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    head = html.Tr([
        _header_cell("key", text("code", lang), text("code", lang), sort),
        _header_cell("name", text(f"by.{by}", lang), text("name", lang), sort),
        *(_header_cell(ind.key, indicator_name(ind, lang), formula_title(ind, lang), sort)
          for ind in INDICATORS),
    ])
    body = [html.Tr([html.Td(row.key, className="og-sc-code"),
                     html.Td(row.name, className="og-sc-name"),
                     *(_value_cell(row, ind, lang) for ind in INDICATORS)],
                    **{"data-key": row.key}) for row in shown]
    if not body:
        body = [html.Tr(html.Td(t("scorecards.no_rows", lang), colSpan=len(INDICATORS) + 2,
                                className="og-sc-empty"))]
    table = html.Table([html.Thead(head), html.Tbody(body)],
                       className="table table-sm table-hover og-sc-table")
    return table, page, pages


def pager_text(page: int, pages: int, rows: int, lang: str) -> str:
    return t("scorecards.pager", lang).format(page=page, pages=pages, rows=rows)


# -- ranking, trend, map ------------------------------------------------------------------------
def ranking_panel(rows: Sequence[ScoreRow], indicator: str, lang: str) -> html.Div:
    """Best and worst five groups by ``indicator`` (most/fewest for plain counts)."""
    ind = BY_INDICATOR[indicator]
    best, worst = ranking(rows, indicator)
    if not best:
        return html.Div(t("scorecards.no_ranking", lang), className="og-sc-muted")
    counts = indicator in COUNTS

    def column(title_key: str, items: list[ScoreRow], kind: str) -> html.Div:
        return html.Div([
            html.Div(t(title_key, lang), className=f"og-sc-rank-title og-sc-rank-{kind}"),
            html.Ol([html.Li([html.Span(r.name, className="og-sc-rank-name"),
                              html.Span(format_value(ind, r.values[indicator], lang),
                                        className="og-sc-rank-value")],
                             **{"data-key": r.key}) for r in items],
                    className="og-sc-rank-list", id=f"{ids.SCORECARDS_RANKING}-{kind}"),
        ], className="og-sc-rank-col")

    return html.Div([
        html.Div(formula_title(ind, lang), className="og-sc-muted og-sc-rank-formula"),
        html.Div([column("scorecards.most" if counts else "scorecards.best", best, "best"),
                  column("scorecards.fewest" if counts else "scorecards.worst", worst,
                         "worst")], className="og-sc-rank"),
    ])


def _plot_value(ind: Indicator, value: float | None) -> float | None:
    if value is None:
        return None
    return value * 100 if ind.kind == "rate" else value


def _axis_suffix(ind: Indicator, lang: str) -> str:
    return "%" if ind.kind == "rate" else ""


def trend_figure(points: Sequence[tuple[str, float | None]], indicator: str, scope: str,
                 lang: str) -> dict[str, Any]:
    """One line: the indicator month by month (rates in %, times in hours)."""
    ind = BY_INDICATOR[indicator]
    xs = [m for m, _ in points]
    ys = [_plot_value(ind, v) for _, v in points]
    texts = [format_value(ind, v, lang) for _, v in points]
    fig = go.Figure(go.Scatter(
        x=xs, y=ys, mode="lines+markers", text=texts, connectgaps=False,
        line=dict(color="#1f4e79", width=2.5), marker=dict(size=7),
        hovertemplate="%{x}: %{text}<extra></extra>"))
    fig.update_layout(
        title=dict(text=f"{indicator_name(ind, lang)} · {scope}", font=dict(size=14), x=0.01),
        margin=dict(l=48, r=16, t=40, b=36), height=280, template="none",
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        font=dict(family=FONT_STACK, size=12),
        xaxis=dict(type="category", showgrid=False),
        yaxis=dict(ticksuffix=_axis_suffix(ind, lang), gridcolor="#e2e8f0", zeroline=False),
    )
    return fig.to_plotly_json()


def _slim(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f["properties"]["code"],
         "properties": {"code": f["properties"]["code"]}, "geometry": f["geometry"]}
        for f in features]}


def map_figure(features: dict[str, Any], rows: Sequence[ScoreRow], indicator: str,
               bounds: Sequence[float], *, lang: str, tile_url: str | None = None,
               view_key: str = "") -> dict[str, Any]:
    """The choropleth of ``indicator`` over the areas in ``features`` (one level): areas with
    a value coloured good (green) to bad (red) — blue shades for plain counts —, the others
    pale grey. Offline ``white-bg`` style; ``tile_url`` adds a raster base map."""
    ind = BY_INDICATOR[indicator]
    values = {r.key: r.values.get(indicator) for r in rows}
    valued = [f for f in features["features"] if values.get(f["properties"]["code"]) is not None]
    empty = [f for f in features["features"] if values.get(f["properties"]["code"]) is None]

    def name(f: dict[str, Any]) -> str:
        p = f["properties"]
        return (p.get("name_en") or p["name"]) if lang == "en" else p["name"]

    if ind.kind == "count":
        scale: list = GRID_SCALE
    else:
        scale = QUALITY_SCALE if indicator not in LOWER_IS_BETTER else \
            [[1 - s, c] for s, c in reversed(QUALITY_SCALE)]
    z = [_plot_value(ind, values[f["properties"]["code"]]) for f in valued]
    traces = []
    hover = "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>%{customdata[2]}<extra></extra>"
    if empty:
        traces.append(go.Choroplethmap(
            geojson=None, featureidkey="properties.code",
            locations=[f["properties"]["code"] for f in empty], z=[0] * len(empty),
            colorscale=[[0, NO_VALUE_COLOUR], [1, NO_VALUE_COLOUR]], showscale=False,
            customdata=[[name(f), f["properties"]["code"], t("scorecards.no_value", lang)]
                        for f in empty],
            hovertemplate=hover, marker=dict(opacity=0.7, line=dict(color="#94a3b8",
                                                                    width=0.6))))
    if valued:
        traces.append(go.Choroplethmap(
            geojson=None, featureidkey="properties.code",
            locations=[f["properties"]["code"] for f in valued], z=z, colorscale=scale,
            # The areas' own spread, so that neighbours that differ look different.
            zmin=min(z), zmax=max(z) if max(z) > min(z) else min(z) + 1,
            colorbar=dict(title=dict(text=indicator_name(ind, lang), side="top"),
                          orientation="h", thickness=10, len=0.6, x=0.5, xanchor="center",
                          y=0.01, yanchor="bottom",
                          ticksuffix=_axis_suffix(ind, lang),
                          bgcolor="rgba(255,255,255,0.85)"),
            customdata=[[name(f), f["properties"]["code"],
                         format_value(ind, values[f["properties"]["code"]], lang)]
                        for f in valued],
            hovertemplate=hover, marker=dict(opacity=0.8, line=dict(color="#334155",
                                                                    width=0.8))))
    # Zoomed out a little: the colour bar sits below the city.
    centre, zoom = fit_view(bounds, width=560, height=640)
    layers = [dict(below="traces", sourcetype="raster", source=[tile_url])] if tile_url else []
    fig = go.Figure(traces)
    fig.update_layout(map=dict(style="white-bg", center=centre, zoom=zoom, layers=layers),
                      margin=dict(l=0, r=0, t=0, b=0), paper_bgcolor="rgba(0,0,0,0)",
                      font=dict(family=FONT_STACK), template="none", uirevision=view_key,
                      hoverlabel=dict(font=dict(family=FONT_STACK, size=13)))
    figure = fig.to_plotly_json()
    # The GeoJSON goes in as plain dicts (plotly would validate it point by point).
    parts = [empty, valued] if empty else [valued]
    for trace, feats in zip(figure["data"], [p for p in parts if p], strict=True):
        trace["geojson"] = _slim(feats)
    return figure


def empty_map() -> dict[str, Any]:
    fig = go.Figure(go.Choroplethmap())
    fig.update_layout(map=dict(style="white-bg"), margin=dict(l=0, r=0, t=0, b=0),
                      paper_bgcolor="rgba(0,0,0,0)", template="none")
    return fig.to_plotly_json()


# -- drill-down --------------------------------------------------------------------------------
def drill_panel(cases: Sequence[dict[str, Any]], total: int, *, group: str, indicator: str,
                period_label: str, tz: tzinfo, lang: str) -> html.Div:
    """The cases behind one number, each linked to its case page."""
    ind = BY_INDICATOR[indicator]
    head = html.Div([
        html.Strong(f"{group} · {indicator_name(ind, lang)} · {period_label}"),
        html.Span(t("scorecards.drill_total", lang).format(total=total),
                  className="badge text-bg-primary ms-2", id=f"{ids.SCORECARDS_DRILL}-total"),
    ], className="og-sc-drill-head")
    if not cases:
        return html.Div([head, html.P(t("scorecards.drill_none", lang), className="mb-0")])

    def when(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else "—"

    rows = [html.Tr([
        html.Td(dcc.Link(c["code"], href=f"/cases/{c['id']}", className="og-sc-case-link")),
        html.Td(c["title"]),
        html.Td(c["status_label"][1 if lang == "en" else 0]),
        html.Td(when(c["reported_at"])),
        html.Td(c["grid_code"] or "—"),
    ], **{"data-case": str(c["id"])}) for c in cases]
    table = html.Table([
        html.Thead(html.Tr([html.Th(t(f"scorecards.{k}", lang)) for k in
                            ("col_case", "col_title", "col_status", "col_reported",
                             "col_grid")])),
        html.Tbody(rows),
    ], className="table table-sm table-striped og-sc-drill-table")
    more = [html.P(t("scorecards.drill_more", lang).format(shown=len(cases)),
                   className="og-sc-muted mb-0")] if total > len(cases) else []
    return html.Div([head, table, *more])


# -- the page ----------------------------------------------------------------------------------
def _card(title: str, body: list[Any], class_name: str = "") -> html.Section:
    return html.Section([html.H2(title, className="og-sc-card-title"), *body],
                        className=f"og-sc-card {class_name}".strip())


def layout(month: str | None = None, by: str | None = None, **_query: str) -> html.Div:
    """The page for leaders, the command center and administrators; anyone else gets a
    notice (the routing callback bypasses the GET guard, so the role is checked here too).
    ``?month=YYYY-MM&by=street`` open the page on that month and grouping."""
    who = current_principal()
    if who is None or who.role not in SCORECARD_ROLES:
        return notice(t("forbidden.title"), t("forbidden.text"), "danger")
    lang = current_lang()
    today = datetime.now(city_tz()).date()
    period = last_full_month(today)
    if month:
        with contextlib.suppress(ValueError):
            period = parse_month(month)
    by = by if by in GROUPINGS else DEFAULT_BY
    months = month_options(today, lang)
    if period.month not in {o["value"] for o in months}:
        months.append({"label": period.label(lang), "value": period.month})
    xlsx, pdf = export_links(period, by)
    with get_services().session() as session:
        shop_months = published_months(session)
    toolbar = html.Div([
        html.H1(t("scorecards.title"), className="og-page-title og-sc-title"),
        html.Div([
            dbc.RadioItems(id=ids.SCORECARDS_MODE, value="month", inline=True,
                           options=[{"label": t("scorecards.mode_month"), "value": "month"},
                                    {"label": t("scorecards.mode_range"), "value": "range"}],
                           className="og-sc-mode"),
            html.Div([dbc.Label(t("scorecards.month"), html_for=ids.SCORECARDS_MONTH),
                      dbc.Select(id=ids.SCORECARDS_MONTH, options=months, value=period.month)],
                     id=ids.SCORECARDS_MONTH_WRAP, className="og-sc-field"),
            html.Div([
                html.Div([dbc.Label(t("scorecards.start"), html_for=ids.SCORECARDS_START),
                          dbc.Input(id=ids.SCORECARDS_START, type="date",
                                    value=period.first.isoformat(), debounce=True)],
                         className="og-sc-field"),
                html.Div([dbc.Label(t("scorecards.end"), html_for=ids.SCORECARDS_END),
                          dbc.Input(id=ids.SCORECARDS_END, type="date",
                                    value=period.last.isoformat(), debounce=True)],
                         className="og-sc-field"),
            ], id=ids.SCORECARDS_RANGE_WRAP, className="og-sc-range", style={"display": "none"}),
        ], className="og-sc-period-pick"),
        html.Div([
            html.Div(t("scorecards.by"), className="og-sc-label"),
            dbc.RadioItems(id=ids.SCORECARDS_BY, options=by_options(lang), value=by,
                           className="btn-group og-sc-by", inputClassName="btn-check",
                           labelClassName="btn btn-outline-primary btn-sm",
                           labelCheckedClassName="active"),
        ], className="og-sc-field"),
        html.Div([
            html.A(t("scorecards.export_xlsx"), id=ids.SCORECARDS_XLSX, href=xlsx,
                   className="btn btn-success btn-sm", download=""),
            html.A(t("scorecards.export_pdf"), id=ids.SCORECARDS_PDF, href=pdf,
                   className="btn btn-danger btn-sm", download=""),
        ], className="og-sc-exports"),
    ], className="og-sc-toolbar")
    table_card = _card(t("scorecards.table_title"), [
        html.Div(t("scorecards.table_hint"), className="og-sc-muted og-sc-hint"),
        dcc.Loading(html.Div(id=ids.SCORECARDS_TABLE, className="og-sc-table-wrap"),
                    type="dot", delay_show=400),
        html.Div([
            dbc.Button(t("scorecards.prev"), id=ids.SCORECARDS_PREV, size="sm",
                       color="secondary", outline=True, n_clicks=0),
            html.Span(id=ids.SCORECARDS_PAGER, className="og-sc-pager-text"),
            dbc.Button(t("scorecards.next"), id=ids.SCORECARDS_NEXT, size="sm",
                       color="secondary", outline=True, n_clicks=0),
        ], className="og-sc-pager"),
    ], "og-sc-table-card")
    map_card = _card(t("scorecards.map_title"), [
        html.Div(id=ids.SCORECARDS_MAP_NOTE),
        dcc.Graph(id=ids.SCORECARDS_MAP, figure=empty_map(), config=MAP_CONFIG,
                  className="og-sc-map", responsive=True, style={"height": "100%"}),
    ], "og-sc-map-card")
    indicator_pick = html.Div([
        dbc.Label(t("scorecards.indicator"), html_for=ids.SCORECARDS_INDICATOR),
        dbc.Select(id=ids.SCORECARDS_INDICATOR, options=indicator_options(lang),
                   value=DEFAULT_INDICATOR),
    ], className="og-sc-field og-sc-indicator")
    side = html.Div([
        _card(t("scorecards.ranking_title"), [html.Div(id=ids.SCORECARDS_RANKING)],
              "og-sc-rank-card"),
        _card(t("scorecards.trend_title"), [
            html.Div([dbc.Label(t("scorecards.trend_scope"), html_for=ids.SCORECARDS_TREND_SCOPE),
                      dcc.Dropdown(id=ids.SCORECARDS_TREND_SCOPE, value="city", clearable=False,
                                   options=[{"label": text("city", lang), "value": "city"}])],
                     className="og-sc-field"),
            dcc.Graph(id=ids.SCORECARDS_TREND, config=GRAPH_CONFIG, className="og-sc-trend"),
        ], "og-sc-trend-card"),
    ], className="og-sc-side")
    drill = _card(t("scorecards.drill_title"), [
        html.Div(html.P(t("scorecards.drill_hint"), className="og-sc-muted mb-0"),
                 id=ids.SCORECARDS_DRILL, **{"aria-live": "polite"}),
    ], "og-sc-drill-card")
    return html.Div([
        dcc.Store(id=ids.SCORECARDS_QUERY),
        dcc.Store(id=ids.SCORECARDS_SORT, data={"col": "key", "desc": False}),
        dcc.Store(id=ids.SCORECARDS_PAGE, data=1),
        toolbar,
        html.Div([html.Div(id=ids.SCORECARDS_PERIOD, className="og-sc-period"),
                  indicator_pick], className="og-sc-subbar"),
        html.Div(id=ids.SCORECARDS_MESSAGE),
        html.Div([table_card, map_card], className="og-sc-row og-sc-row-main"),
        html.Div([side, drill], className="og-sc-row"),
        shop_card(shop_months, lang),
    ], className="og-scorecards")
