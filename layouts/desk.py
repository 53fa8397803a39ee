"""The registration and dispatch desk (受理派遣台, ``/desk``) of the command center.

Left: the work lists — the registration queue (上报待立案, oldest first, with the traffic
light of the registration clock), registered cases waiting for dispatch, and overdue cases to
supervise (督办). Middle: the selected case's evidence — snapshots, the component's readings
around the trigger, its place on a small offline map with its grid, similar open cases nearby.
Right: one-click actions (register, decline with a reason, merge, dispatch to the department
the routing table suggests, supervise), each one case event through ``data.cases.transition``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from api.auth import current_principal
from cases.workflow import DECLINE_REASONS, REASON_LABELS
from data.desk import LISTS
from i18n import add_messages, current_lang, t
from layouts import _ids as ids
from layouts._components import FONT_STACK, notice
from layouts.case import (
    MAP_CONFIG,
    badge,
    case_map_figure,
    case_point,
    category_label,
    light_badge,
    local_time,
    parse_case_id,
    pick,
    place_label,
    source_label,
    status_badge,
    thumbnails,
)

ROLES = ("command", "admin")
REFRESH_MS = 10_000
#: The actions the desk offers, in button order: (action, button id, colour).
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("register", ids.DESK_REGISTER, "primary"),
    ("decline", ids.DESK_DECLINE, "outline-danger"),
    ("merge", ids.DESK_MERGE, "outline-secondary"),
    ("dispatch", ids.DESK_DISPATCH, "success"),
    ("supervise", ids.DESK_SUPERVISE, "warning"),
    ("close", ids.DESK_CLOSE, "success"),
)

add_messages({
    "nav.desk": {"zh-CN": "受理派遣", "en": "Dispatch desk"},
    "desk.title": {"zh-CN": "受理派遣台", "en": "Registration & dispatch desk"},
    "desk.list.queue": {"zh-CN": "待立案", "en": "To register"},
    "desk.list.dispatch": {"zh-CN": "待派遣", "en": "To dispatch"},
    "desk.list.supervise": {"zh-CN": "超期督办", "en": "Overdue"},
    "desk.list.close": {"zh-CN": "待结案", "en": "To close"},
    "desk.list.empty": {"zh-CN": "当前没有案件。", "en": "No cases here now."},
    "desk.list.more": {"zh-CN": "仅显示前 {n} 件，共 {total} 件。",
                       "en": "Showing the first {n} of {total}."},
    "desk.pick": {"zh-CN": "请从左侧列表选择一个案件。", "en": "Pick a case from the list."},
    "desk.case_gone": {"zh-CN": "该案件已不存在。", "en": "This case no longer exists."},
    "desk.open_case": {"zh-CN": "案件详情", "en": "Case page"},
    "desk.evidence": {"zh-CN": "证据", "en": "Evidence"},
    "desk.photos": {"zh-CN": "现场照片与抓拍", "en": "Photos and snapshots"},
    "desk.readings": {"zh-CN": "部件读数（触发前后）",
                      "en": "Component readings around the trigger"},
    "desk.no_readings": {"zh-CN": "该时段没有读数。", "en": "No readings in this period."},
    "desk.trigger": {"zh-CN": "触发", "en": "trigger"},
    "desk.component": {"zh-CN": "部件", "en": "Component"},
    "desk.map": {"zh-CN": "位置", "en": "Location"},
    "desk.similar": {"zh-CN": "附近同类在办案件", "en": "Similar open cases nearby"},
    "desk.similar.none": {"zh-CN": "附近没有同类在办案件。", "en": "No similar open case nearby."},
    "desk.similar.component": {"zh-CN": "同一部件", "en": "same component"},
    "desk.register_condition": {"zh-CN": "立案条件", "en": "Register when"},
    "desk.actions": {"zh-CN": "处理", "en": "Actions"},
    "desk.note": {"zh-CN": "备注（可选）", "en": "Note (optional)"},
    "desk.reason": {"zh-CN": "不予立案原因", "en": "Reason to decline"},
    "desk.reason.pick": {"zh-CN": "请选择原因", "en": "Choose a reason"},
    "desk.merge_target": {"zh-CN": "合并至", "en": "Merge into"},
    "desk.merge_target.none": {"zh-CN": "附近没有可合并的案件",
                               "en": "No case nearby to merge into"},
    "desk.department": {"zh-CN": "派遣部门", "en": "Department"},
    "desk.suggested": {"zh-CN": "（建议）", "en": " (suggested)"},
    "desk.action.register": {"zh-CN": "立案", "en": "Register"},
    "desk.action.decline": {"zh-CN": "不予立案", "en": "Decline"},
    "desk.action.merge": {"zh-CN": "合并", "en": "Merge"},
    "desk.action.dispatch": {"zh-CN": "派遣", "en": "Dispatch"},
    "desk.action.supervise": {"zh-CN": "督办", "en": "Supervise"},
    "desk.action.close": {"zh-CN": "结案", "en": "Close"},
    "desk.done": {"zh-CN": "已{action}：案件 {code}", "en": "{action}: case {code}"},
    "desk.refused": {"zh-CN": "操作未执行：", "en": "Not done: "},
    "desk.stale": {"zh-CN": "案件 {code} 刚刚有了新的变化，请核对后再操作。",
                   "en": "Case {code} has just changed; check it and try again."},
    "desk.bad_input": {"zh-CN": "请求无效，请重新选择案件后再试。",
                       "en": "The request was not valid; pick the case again and retry."},
    "desk.no_department": {"zh-CN": "请选择派遣部门。", "en": "Choose a department."},
    "desk.unknown_department": {"zh-CN": "派遣部门不存在：", "en": "No such department: "},
    "desk.in_queue": {"zh-CN": "已等待", "en": "waiting"},
    "desk.seen": {"zh-CN": "次", "en": "×"},
    "desk.metric.tilt_deg": {"zh-CN": "倾斜", "en": "Tilt"},
    "desk.metric.displacement_mm": {"zh-CN": "位移", "en": "Displacement"},
    "desk.metric.water_level_cm": {"zh-CN": "水位", "en": "Water level"},
    "desk.metric.lamp_on": {"zh-CN": "亮灯", "en": "Lamp on"},
    "desk.metric.current_a": {"zh-CN": "电流", "en": "Current"},
    "desk.metric.voltage_v": {"zh-CN": "电压", "en": "Voltage"},
    "desk.metric.wind_ms": {"zh-CN": "风速", "en": "Wind"},
    "desk.metric.fill_pct": {"zh-CN": "满溢度", "en": "Fill level"},
    "desk.metric.pressure_mpa": {"zh-CN": "压力", "en": "Pressure"},
})

dash.register_page(
    __name__,
    path="/desk",
    name="desk",
    roles=ROLES,
    nav_key="nav.desk",
    title=lambda **_: f"{t('desk.title')} · {t('app.short')}",
)


# -- builders (pure: read-model values in, components out) -------------------------------------
def list_options(counts: Mapping[str, int], lang: str) -> list[dict[str, Any]]:
    """The list switch's options with each list's count."""
    return [{"label": f"{t(f'desk.list.{kind}', lang)} {counts.get(kind, 0)}", "value": kind}
            for kind in LISTS]


def _age(reported_at: str | None, now: datetime, lang: str) -> str:
    if reported_at is None:
        return ""
    minutes = max(0, int((now - datetime.fromisoformat(reported_at)).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min" if lang == "en" else f"{minutes} 分钟"
    hours, days = minutes // 60, minutes // 1440
    if days >= 1:
        return f"{days} d" if lang == "en" else f"{days} 天"
    return f"{hours} h" if lang == "en" else f"{hours} 小时"


def list_items(items: Sequence[Mapping[str, Any]], total: int, selected: int | None,
               lang: str, tz: tzinfo, now: datetime) -> list[Any]:
    """One button per case: light, code, category, place, when reported and how long ago."""
    if not items:
        return [html.Div(t("desk.list.empty", lang), className="og-muted p-3")]
    out: list[Any] = []
    for item in items:
        active = " active" if item["id"] == selected else ""
        light = item.get("light") or "none"
        out.append(html.Button([
            html.Span(className=f"og-dot og-dot-{light}", title=light),
            html.Div([
                html.Div([html.Span(item["code"], className="og-item-code"),
                          html.Span(local_time(item.get("reported_at"), tz, "%m-%d %H:%M"),
                                    className="og-item-time")], className="og-item-row"),
                html.Div(category_label(item, lang), className="og-item-category"),
                html.Div([html.Span(source_label(item.get("source"), lang)),
                          html.Span(item.get("grid_code") or "—"),
                          html.Span(f"{t('desk.in_queue', lang)} "
                                    f"{_age(item.get('reported_at'), now, lang)}"),
                          html.Span(f"{item.get('seen_count', 1)}{t('desk.seen', lang)}")
                          if (item.get("seen_count") or 1) > 1 else None],
                         className="og-item-meta"),
            ], className="og-item-body"),
            html.Span("督" if lang != "en" else "S", className="og-item-flag",
                      title=t("case.supervised", lang)) if item.get("supervised") else None,
        ], id={"type": ids.DESK_ITEM, "id": item["id"]}, n_clicks=0,
            className=f"list-group-item list-group-item-action og-desk-item{active}",
            **{"data-case-id": str(item["id"]), "data-light": light}))
    if total > len(items):
        out.append(html.Div(t("desk.list.more", lang).format(n=len(items), total=total),
                            className="og-muted p-2"))
    return out


def metric_label(name: str, meta: Mapping[str, Any], lang: str) -> str:
    key = f"desk.metric.{name}"
    text = t(key, lang)
    label = name if text == key else text
    unit = meta.get("unit") if isinstance(meta, Mapping) else None
    return f"{label} ({unit})" if unit else label


def readings_figure(readings: Mapping[str, Any], lang: str, tz: tzinfo) -> dict[str, Any]:
    """One line per metric over time (city time), a dashed line at the trigger."""
    points = readings.get("points") or []
    metrics: Mapping[str, Any] = readings.get("metrics") or {}
    names = list(metrics) or sorted({k for p in points for k in p["metrics"]})
    times = [local_time(p["ts"], tz, "%Y-%m-%d %H:%M:%S") for p in points]
    traces = []
    for name in names:
        ys = []
        for p in points:
            value = p["metrics"].get(name)
            ys.append(float(value) if isinstance(value, int | float) else None)
        if not any(y is not None for y in ys):
            continue
        boolean = (metrics.get(name) or {}).get("type") == "bool"
        traces.append(go.Scatter(x=times, y=ys, name=metric_label(name, metrics.get(name) or {},
                                                                   lang),
                                 mode="lines+markers", connectgaps=True,
                                 line=dict(shape="hv" if boolean else "linear", width=2),
                                 marker=dict(size=4)))
    fig = go.Figure(traces)
    trigger = readings.get("trigger")
    if trigger:
        at = local_time(trigger, tz, "%Y-%m-%d %H:%M:%S")
        fig.add_shape(type="line", x0=at, x1=at, y0=0, y1=1, yref="paper",
                      line=dict(color="#d6336c", dash="dash", width=2))
        fig.add_annotation(x=at, y=1, yref="paper", text=t("desk.trigger", lang),
                           showarrow=False, yanchor="bottom", font=dict(color="#d6336c"))
    fig.update_layout(height=240, margin=dict(l=40, r=10, t=24, b=30), template="none",
                      font=dict(family=FONT_STACK, size=12),
                      legend=dict(orientation="h", y=-0.25), hovermode="x unified",
                      paper_bgcolor="rgba(0,0,0,0)")
    return fig.to_plotly_json()


def similar_list(similar: Sequence[Mapping[str, Any]], lang: str, tz: tzinfo) -> Any:
    if not similar:
        return html.Div(t("desk.similar.none", lang), className="og-muted")
    rows = []
    for item in similar:
        how = (t("desk.similar.component", lang) if item.get("matched_by") == "component"
               else f"{item['distance_m']:.0f} m" if item.get("distance_m") is not None else "")
        rows.append(html.Li([
            dcc.Link(item["code"], href=f"/cases/{item['id']}", target="_blank",
                     className="og-item-code"),
            status_badge(item, lang),
            html.Span(how, className="og-muted"),
            html.Span(local_time(item.get("reported_at"), tz, "%m-%d %H:%M"),
                      className="og-muted"),
        ], **{"data-case-id": str(item["id"])}))
    return html.Ul(rows, className="og-similar", id=ids.DESK_SIMILAR)


def evidence_panel(ev: Mapping[str, Any], lang: str, tz: tzinfo,
                   tile_url: str | None = None) -> html.Div:
    """The selected case: header, snapshots, readings chart (sensor cases), map, similar."""
    place = ev.get("place") or {}
    head = html.Div([
        html.Div([
            html.H2([html.Span(ev["code"], className="og-case-code"),
                     html.Span(category_label(ev, lang), className="og-case-title")],
                    className="og-desk-case-title"),
            dcc.Link(t("desk.open_case", lang), href=f"/cases/{ev['id']}", target="_blank",
                     className="btn btn-sm btn-outline-primary", id=ids.DESK_CASE_LINK),
        ], className="og-desk-case-head"),
        html.Div([status_badge(ev, lang),
                  light_badge(ev.get("light"), lang),
                  badge(pick(ev.get("urgency_label"), lang), "light"),
                  badge(source_label(ev.get("source"), lang), "light"),
                  badge(t("case.supervised", lang), "danger", supervised="1")
                  if ev.get("supervised") else None], className="og-badges"),
        html.Div([html.Span(f"{t('case.place', lang)}：", className="og-k"),
                  place_label(place, lang, ev.get("grid_code"))], className="og-line"),
        html.Div([html.Span(f"{t('case.reported_at', lang)}：", className="og-k"),
                  local_time(ev.get("reported_at"), tz, "%Y-%m-%d %H:%M:%S"),
                  html.Span(f" · {t('case.seen_count', lang)} {ev.get('seen_count', 1)}")],
                 className="og-line"),
        html.P(ev.get("description"), className="og-line") if ev.get("description") else None,
        html.Div([html.Span(f"{t('desk.register_condition', lang)}：", className="og-k"),
                  pick(ev.get("register_condition"), lang)], className="og-line og-muted")
        if ev.get("register_condition") else None,
    ], className="og-card")
    parts: list[Any] = [head,
                        html.Section([html.H3(t("desk.photos", lang), className="og-h3"),
                                      thumbnails(ev.get("photos") or [], tz, lang)],
                                     className="og-card", id=ids.DESK_PHOTOS)]
    readings = ev.get("readings")
    if readings is not None:
        component = readings["component"]
        chart: Any = (dcc.Graph(id=ids.DESK_READINGS, figure=readings_figure(readings, lang, tz),
                                config={"displaylogo": False, "displayModeBar": False})
                      if readings.get("points") else
                      html.Div(t("desk.no_readings", lang), className="og-muted",
                               id=ids.DESK_READINGS))
        parts.append(html.Section([
            html.H3(t("desk.readings", lang), className="og-h3"),
            html.Div(f"{t('desk.component', lang)} {component['code']} · "
                     f"{pick(component.get('type_name'), lang)} · {component.get('name') or ''}",
                     className="og-line og-muted"),
            chart], className="og-card"))
    point = case_point(ev)
    similar = ev.get("similar") or []
    map_part: Any = (dcc.Graph(id=ids.DESK_MAP, config=MAP_CONFIG, className="og-desk-map",
                               figure=case_map_figure(place.get("grid"), point, lang=lang,
                                                      others=similar, tile_url=tile_url,
                                                      height=260))
                     if place.get("grid") or point else
                     html.Div(t("case.no_location", lang), className="og-muted"))
    parts.append(html.Div([
        html.Section([html.H3(t("desk.map", lang), className="og-h3"), map_part],
                     className="og-card"),
        html.Section([html.H3(t("desk.similar", lang), className="og-h3"),
                      similar_list(similar, lang, tz)], className="og-card"),
    ], className="og-desk-pair"))
    return html.Div(parts, **{"data-case-id": str(ev["id"])})


def department_options(departments: Sequence[Mapping[str, str]], suggested: str | None,
                       lang: str) -> list[dict[str, str]]:
    """The department picker: every department, the routing table's suggestion marked."""
    out = []
    for d in departments:
        label = f"{d['code']} {pick(d, lang)}"
        if d["code"] == suggested:
            label += t("desk.suggested", lang)
        out.append({"label": label, "value": d["code"]})
    return out


def merge_options(similar: Sequence[Mapping[str, Any]], lang: str) -> list[dict[str, Any]]:
    return [{"label": f"{s['code']} · {pick(s.get('status_label'), lang)}"
                      + (f" · {s['distance_m']:.0f} m" if s.get("distance_m") is not None
                         else ""),
             "value": str(s["id"])} for s in similar]


def reason_options(lang: str) -> list[dict[str, str]]:
    return [{"label": REASON_LABELS[r][1] if lang == "en" else REASON_LABELS[r][0], "value": r}
            for r in DECLINE_REASONS]


def result_message(ok: bool, text: str) -> dbc.Alert:
    return dbc.Alert(text, color="success" if ok else "danger", dismissable=True,
                     className=f"og-desk-alert mb-2 {'og-desk-ok' if ok else 'og-desk-refused'}")


# -- the page ----------------------------------------------------------------------------------
def _action_panel(lang: str) -> html.Fieldset:
    def button(action: str, button_id: str, colour: str) -> dbc.Button:
        return dbc.Button(t(f"desk.action.{action}"), id=button_id, color=colour,
                          n_clicks=0, disabled=True, className="og-desk-btn")

    buttons = {action: button(action, bid, colour) for action, bid, colour in ACTIONS}
    return html.Fieldset([
        html.Legend([t("desk.actions"), " ", html.Span(id=ids.DESK_CASE_LABEL,
                                                       className="og-case-code")],
                    className="og-h3"),
        dbc.Label(t("desk.note"), html_for=ids.DESK_NOTE, className="og-small-label"),
        dbc.Textarea(id=ids.DESK_NOTE, rows=2, maxLength=2000, className="mb-2"),
        html.Div(buttons["register"], className="og-desk-row"),
        html.Div([dbc.Label(t("desk.department"), html_for=ids.DESK_DEPARTMENT,
                            className="og-small-label"),
                  dbc.Select(id=ids.DESK_DEPARTMENT, options=[], className="mb-1"),
                  buttons["dispatch"]], className="og-desk-row"),
        html.Div([dbc.Label(t("desk.reason"), html_for=ids.DESK_DECLINE_REASON,
                            className="og-small-label"),
                  dbc.Select(id=ids.DESK_DECLINE_REASON, options=reason_options(lang),
                             placeholder=t("desk.reason.pick"), className="mb-1"),
                  buttons["decline"]], className="og-desk-row"),
        html.Div([dbc.Label(t("desk.merge_target"), html_for=ids.DESK_MERGE_TARGET,
                            className="og-small-label"),
                  dbc.Select(id=ids.DESK_MERGE_TARGET, options=[], className="mb-1",
                             placeholder=t("desk.merge_target.none")),
                  buttons["merge"]], className="og-desk-row"),
        html.Div(buttons["supervise"], className="og-desk-row"),
        html.Div(buttons["close"], className="og-desk-row"),
    ], id=ids.DESK_ACTIONS, hidden=True, className="og-desk-actions")


def layout(case: str | None = None, **_query: str) -> html.Div | dbc.Alert:
    """The desk for command staff (``?case=<id>`` opens one case); anyone else a notice."""
    who = current_principal()
    if who is None or who.role not in ROLES:
        return notice(t("forbidden.title"), t("forbidden.text"), "danger")
    lang = current_lang()
    return html.Div([
        dcc.Interval(id=ids.DESK_REFRESH, interval=REFRESH_MS),
        dcc.Store(id=ids.DESK_SELECTED, data=parse_case_id(case)),
        dcc.Store(id=ids.DESK_VERSION, data=0),
        dcc.Store(id=ids.DESK_SHOWN),
        html.Aside([
            html.H1(t("desk.title"), className="og-page-title"),
            dbc.RadioItems(id=ids.DESK_LIST_KIND, options=list_options({}, lang),
                           value="queue", className="btn-group og-desk-tabs",
                           inputClassName="btn-check",
                           labelClassName="btn btn-outline-primary",
                           labelCheckedClassName="active"),
            html.Div(id=ids.DESK_LIST, className="list-group og-desk-list",
                     **{"aria-live": "polite"}),
        ], className="og-desk-lists"),
        html.Section([
            html.Div(html.Div(t("desk.pick"), className="og-muted p-3"), id=ids.DESK_DETAIL),
        ], className="og-desk-main"),
        html.Aside([html.Div(id=ids.DESK_MESSAGE, **{"aria-live": "assertive"}),
                    _action_panel(lang)], className="og-desk-side"),
    ], className="og-desk")
