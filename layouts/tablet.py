"""The inspector tablet (网格员平板, ``/tablet``): my tasks by deadline with the traffic light,
one case with its map, photos and history, verify pass / fail, and a new problem reported at
my position — on a 1024×768 touch screen (every target ≥ 44 px, nothing hover-only).

Every action the inspector takes is written to an outbox in the browser (IndexedDB) before it
is sent, and sent again until the server answers (``assets/tablet.js``): Dash callbacks need
the server, so the buttons here only carry ``data-og-*`` attributes that the script reads.
Dash refreshes the lists when the connection is there.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import dash
import plotly.graph_objects as go
from dash import dcc, html

from api.auth import current_principal
from data.cases import actor_for
from data.models import User
from data.tasks import inspector_grids
from i18n import add_messages, current_lang, t
from layouts import _ids as ids
from layouts._components import FONT_STACK, fit_view, notice
from services import get_services

ROLES = ("inspector",)
LIGHTS = ("green", "yellow", "red")

add_messages({
    "nav.tablet": {"zh-CN": "网格员平板", "en": "Inspector tablet"},
    "tablet.title": {"zh-CN": "我的任务", "en": "My tasks"},
    "tablet.tab_tasks": {"zh-CN": "我的任务", "en": "My tasks"},
    "tablet.tab_report": {"zh-CN": "上报问题", "en": "Report a problem"},
    "tablet.refresh": {"zh-CN": "刷新", "en": "Refresh"},
    "tablet.outbox": {"zh-CN": "待发送", "en": "To send"},
    "tablet.online": {"zh-CN": "在线", "en": "Online"},
    "tablet.offline": {"zh-CN": "离线", "en": "Offline"},
    "tablet.no_tasks": {"zh-CN": "暂无任务。有待核实的案件或您上报的问题时会显示在这里。",
                        "en": "No tasks. Cases waiting for your verification and problems "
                              "you reported appear here."},
    "tablet.pick_task": {"zh-CN": "请在左侧选择一个任务。", "en": "Pick a task on the left."},
    "tablet.not_found": {"zh-CN": "该案件不存在或不在您的网格内。",
                         "en": "This case does not exist or is not in your grids."},
    "tablet.task_verify": {"zh-CN": "待核实", "en": "To verify"},
    "tablet.task_report": {"zh-CN": "我的上报", "en": "My report"},
    "tablet.deadline": {"zh-CN": "截止", "en": "Due"},
    "tablet.no_deadline": {"zh-CN": "不计时", "en": "No clock"},
    "tablet.light_green": {"zh-CN": "绿灯 · 正常", "en": "Green · on time"},
    "tablet.light_yellow": {"zh-CN": "黄灯 · 临期", "en": "Yellow · due soon"},
    "tablet.light_red": {"zh-CN": "红灯 · 超期", "en": "Red · overdue"},
    "tablet.light_none": {"zh-CN": "未计时", "en": "Not on the clock"},
    "tablet.status": {"zh-CN": "状态", "en": "Status"},
    "tablet.grid": {"zh-CN": "网格", "en": "Grid"},
    "tablet.department": {"zh-CN": "处置部门", "en": "Department"},
    "tablet.description": {"zh-CN": "问题描述", "en": "Description"},
    "tablet.photos": {"zh-CN": "现场照片", "en": "Photos"},
    "tablet.no_photos": {"zh-CN": "暂无照片。", "en": "No photos yet."},
    "tablet.history": {"zh-CN": "办理过程", "en": "History"},
    "tablet.full_case": {"zh-CN": "查看案件全程", "en": "Whole case"},
    "tablet.verify": {"zh-CN": "现场核实", "en": "Verify on site"},
    "tablet.verify_reason": {"zh-CN": "不通过原因（核实不通过时必填）",
                             "en": "Why it is not fixed (needed to fail it)"},
    "tablet.verify_pass": {"zh-CN": "核实通过", "en": "Fixed: pass"},
    "tablet.verify_fail": {"zh-CN": "核实不通过（返工）", "en": "Not fixed: rework"},
    "tablet.take_photo": {"zh-CN": "拍照或选择照片", "en": "Take or choose a photo"},
    "tablet.report_title": {"zh-CN": "上报新问题", "en": "Report a new problem"},
    "tablet.category": {"zh-CN": "问题类别", "en": "Category"},
    "tablet.pick_category": {"zh-CN": "请选择类别…", "en": "Choose a category…"},
    "tablet.events": {"zh-CN": "事件", "en": "Events"},
    "tablet.components": {"zh-CN": "部件", "en": "Components"},
    "tablet.note": {"zh-CN": "情况说明", "en": "Note"},
    "tablet.location": {"zh-CN": "问题位置", "en": "Location"},
    "tablet.locate": {"zh-CN": "使用我的位置", "en": "Use my position"},
    "tablet.pick_grid": {"zh-CN": "或选择网格中心…", "en": "or a grid's centre…"},
    "tablet.map_hint": {"zh-CN": "也可以在地图上点选位置。", "en": "Or tap the place on the map."},
    "tablet.no_point": {"zh-CN": "尚未确定位置", "en": "No location yet"},
    "tablet.submit_report": {"zh-CN": "上报", "en": "Report"},
    "tablet.my_grids": {"zh-CN": "我的网格", "en": "My grids"},
    "tablet.chosen": {"zh-CN": "所选位置", "en": "Chosen place"},
    "tablet.case": {"zh-CN": "案件", "en": "Case"},
    # texts the outbox script shows (assets/tablet.js reads them from the page)
    "tablet.js.queued": {"zh-CN": "已保存，等待发送", "en": "Saved, waiting to be sent"},
    "tablet.js.sent": {"zh-CN": "已发送", "en": "Sent"},
    "tablet.js.refused": {"zh-CN": "服务器拒绝了该操作", "en": "The server refused this action"},
    "tablet.js.dismiss": {"zh-CN": "知道了", "en": "Dismiss"},
    "tablet.js.reason_needed": {"zh-CN": "核实不通过须填写原因。",
                                "en": "Write why it is not fixed."},
    "tablet.js.category_needed": {"zh-CN": "请选择问题类别。", "en": "Choose a category."},
    "tablet.js.point_needed": {"zh-CN": "请先确定问题位置：使用我的位置、选择网格或在地图上点选。",
                               "en": "Set the location first: your position, a grid or a "
                                     "place on the map."},
    "tablet.js.photo_checking": {"zh-CN": "检查中…", "en": "Checking…"},
    "tablet.js.photo_ok": {"zh-CN": "已上传", "en": "Uploaded"},
    "tablet.js.photo_waiting": {"zh-CN": "离线，稍后上传", "en": "Offline: uploads later"},
    "tablet.js.photo_bad": {"zh-CN": "照片被拒绝", "en": "Photo refused"},
    "tablet.js.remove": {"zh-CN": "移除", "en": "Remove"},
    "tablet.js.gps": {"zh-CN": "我的位置", "en": "My position"},
    "tablet.js.grid": {"zh-CN": "网格中心", "en": "Grid centre"},
    "tablet.js.map": {"zh-CN": "地图点选", "en": "Picked on the map"},
    "tablet.js.gps_failed": {"zh-CN": "无法获取定位，请选择网格或在地图上点选。",
                             "en": "No position available: pick a grid or tap the map."},
    "tablet.js.signed_out": {"zh-CN": "登录已过期：请重新登录，待发送的操作会在登录后发送。",
                             "en": "Your sign-in expired: sign in again and the waiting "
                                   "actions will be sent."},
    "tablet.js.pending_here": {"zh-CN": "此案件有操作等待发送", "en": "An action on this case "
                                                                   "waits to be sent"},
    "tablet.js.other_user": {"zh-CN": "其他用户的待发送操作", "en": "waiting actions of another "
                                                               "user"},
    "tablet.js.verify_pass": {"zh-CN": "核实通过", "en": "Verify: fixed"},
    "tablet.js.verify_fail": {"zh-CN": "核实不通过", "en": "Verify: not fixed"},
    "tablet.js.report": {"zh-CN": "上报问题", "en": "Report"},
    "tablet.js.reported": {"zh-CN": "问题已保存，等待发送。", "en": "Problem saved; it will be "
                                                                 "sent."},
    "tablet.js.attempts": {"zh-CN": "已尝试", "en": "tries"},
})

dash.register_page(
    __name__,
    path="/tablet",
    name="tablet",
    roles=ROLES,
    nav_key="nav.tablet",
    title=lambda **_: f"{t('nav.tablet')} · {t('app.short')}",
)

MAP_CONFIG = {"displayModeBar": False, "scrollZoom": False, "doubleClick": False}


# -- builders (pure: plain values in, components out; the handler desk uses them too) -------
def local_time(iso: str | None, tz: Any) -> str:
    """``11-30 16:05`` in city time ('—' for none)."""
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%m-%d %H:%M")


def light_chip(light: str | None, prefix: str) -> html.Span:
    """The traffic light with its meaning in words (never colour alone)."""
    key = light if light in LIGHTS else "none"
    return html.Span([html.Span(className=f"{prefix}-dot"), t(f"tablet.light_{key}")],
                     className=f"{prefix}-light {prefix}-light-{key}",
                     **{"data-light": key})


def label(labels: dict[str, str] | None, lang: str) -> str:
    if not labels:
        return ""
    return labels.get("en" if lang == "en" else "zh") or ""


def task_card(item: dict[str, Any], *, page: str, task_type: str, selected: bool, lang: str,
              tz: Any, badge: str | None = None) -> html.Button:
    """One task in a list: a big button (light, title, code, state, deadline)."""
    deadline = (f"{t('tablet.deadline')} {local_time(item['deadline_at'], tz)}"
                if item.get("deadline_at") else t("tablet.no_deadline"))
    top = [light_chip(item.get("light"), page),
           html.Span(label(item.get("status_label"), lang), className=f"{page}-state")]
    if badge:
        top.insert(1, html.Span(badge, className=f"{page}-kind"))
    return html.Button([
        html.Div(top, className=f"{page}-card-top"),
        html.Div(item["title"], className=f"{page}-card-title"),
        html.Div([html.Span(item["code"]), html.Span(deadline)], className=f"{page}-card-meta"),
    ], id={"type": task_type, "index": item["id"]}, n_clicks=0, type="button",
        className=f"{page}-card" + (" is-selected" if selected else ""),
        **{"data-og-case": str(item["id"]), "data-light": item.get("light") or "none"})


def photo_strip(photos: list[dict[str, Any]], page: str, lang: str) -> html.Div:
    if not photos:
        return html.P(t("tablet.no_photos"), className=f"{page}-muted")
    return html.Div([
        html.A(html.Img(src=p["url"], alt=label(p.get("action_label"), lang)),
               href=p["url"], target="_blank", className=f"{page}-photo",
               title=label(p.get("action_label"), lang))
        for p in photos], className=f"{page}-photos")


def history(events: list[dict[str, Any]], page: str, lang: str, tz: Any) -> html.Ol:
    rows = []
    for event in reversed(events):
        extra = [x for x in (event.get("note"), (event.get("data") or {}).get("reason"))
                 if isinstance(x, str) and x]
        rows.append(html.Li([
            html.Div([html.Span(local_time(event["at"], tz), className=f"{page}-when"),
                      html.Strong(label(event.get("action_label"), lang)),
                      html.Span(event.get("actor_name") or "", className=f"{page}-who")],
                     className=f"{page}-event-head"),
            *[html.Div(x, className=f"{page}-event-note") for x in dict.fromkeys(extra)],
        ]))
    return html.Ol(rows, className=f"{page}-history")


def case_map(detail: dict[str, Any], tile_url: str | None, map_id: str) -> dcc.Graph:
    """A small offline map: the case's grid outlined, the case's point."""
    lon, lat, grid = detail.get("lon"), detail.get("lat"), detail.get("grid")
    fig = go.Figure(go.Scattermap(lon=[lon] if lon is not None else [],
                                  lat=[lat] if lat is not None else [], mode="markers",
                                  marker=dict(size=16, color="#d1495b"), hoverinfo="skip"))
    layers = []
    if tile_url:
        layers.append(dict(below="traces", sourcetype="raster", source=[tile_url]))
    bounds = None
    if grid is not None:
        import shapely.geometry

        shape = shapely.geometry.shape(grid)
        bounds = shape.bounds
        layers.append(dict(sourcetype="geojson", source={"type": "Feature", "properties": {},
                                                         "geometry": grid},
                           type="fill", color="rgba(29, 122, 120, 0.18)"))
        layers.append(dict(sourcetype="geojson", source={"type": "Feature", "properties": {},
                                                         "geometry": grid},
                           type="line", color="#1d7a78", line=dict(width=3)))
    if bounds is None and lon is not None:
        bounds = (lon - 0.002, lat - 0.002, lon + 0.002, lat + 0.002)
    centre, zoom = fit_view(bounds or (0, 0, 0, 0), 460, 240, 0.7)
    fig.update_layout(map=dict(style="white-bg", center=centre, zoom=min(zoom, 18),
                               layers=layers),
                      margin=dict(l=0, r=0, t=0, b=0), paper_bgcolor="rgba(0,0,0,0)",
                      font=dict(family=FONT_STACK), showlegend=False, template="none")
    return dcc.Graph(id=map_id, figure=fig, config=MAP_CONFIG, className="og-case-map")


# -- the page ---------------------------------------------------------------------------------
def _js_texts() -> str:
    from i18n import MESSAGES

    return json.dumps({k.removeprefix("tablet.js."): t(k) for k in MESSAGES
                       if k.startswith("tablet.js.")}, ensure_ascii=False)


def _categories(lang: str) -> html.Select:
    catalogue = get_services().cases.catalogue
    groups = []
    for kind, key in (("event", "tablet.events"), ("component", "tablet.components")):
        options = [html.Option(f"{c.code} {c.name_en if lang == 'en' else c.name}",
                               value=c.key) for c in catalogue.of_kind(kind)]
        groups.append(html.Optgroup(options, label=t(key)))
    return html.Select([html.Option(t("tablet.pick_category"), value=""), *groups],
                       id=ids.TABLET_REPORT_CATEGORY, className="form-select")


def _report_map(grids: list[dict[str, Any]], tile_url: str | None) -> dcc.Graph:
    features = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": g["code"], "properties": {"code": g["code"]},
         "geometry": g["geometry"]} for g in grids]}
    fig = go.Figure()
    fig.add_trace(go.Choroplethmap(geojson=features, featureidkey="properties.code",
                                   locations=[g["code"] for g in grids], z=[1] * len(grids),
                                   colorscale=[[0, "#cdebe3"], [1, "#cdebe3"]],
                                   showscale=False, marker=dict(opacity=0.55, line=dict(
                                       color="#1d7a78", width=1.2)),
                                   customdata=[[g["lon"], g["lat"], g["name"]] for g in grids],
                                   hovertemplate="%{customdata[2]}<extra></extra>"))
    fig.add_trace(go.Scattermap(lon=[], lat=[], mode="markers", hoverinfo="skip",
                                marker=dict(size=18, color="#d1495b"), name=t("tablet.chosen")))
    layers = [dict(below="traces", sourcetype="raster", source=[tile_url])] if tile_url else []
    if grids:
        b = [min(g["bounds"][0] for g in grids), min(g["bounds"][1] for g in grids),
             max(g["bounds"][2] for g in grids), max(g["bounds"][3] for g in grids)]
        centre, zoom = fit_view(b, 560, 260, 0.75)
    else:
        centre, zoom = {"lon": 0, "lat": 0}, 1
    fig.update_layout(map=dict(style="white-bg", center=centre, zoom=zoom, layers=layers),
                      margin=dict(l=0, r=0, t=0, b=0), paper_bgcolor="rgba(0,0,0,0)",
                      showlegend=False, template="none", font=dict(family=FONT_STACK),
                      clickmode="event")
    return dcc.Graph(id=ids.TABLET_REPORT_MAP, figure=fig, className="tablet-report-map",
                     config={"displayModeBar": False, "scrollZoom": True})


def photo_picker(form: str) -> html.Div:
    """Where ``assets/tablet.js`` puts the camera input (``capture="environment"``) and the
    chosen photos of one form."""
    return html.Div([html.Div(t("tablet.photos"), className="tablet-label")],
                    id=f"{ids.TABLET_PHOTOS}-{form}", className="tablet-photo-picker",
                    **{"data-og-photos": form, "data-og-label": t("tablet.take_photo")})


def _report_pane(grids: list[dict[str, Any]], lang: str, tile_url: str | None) -> html.Section:
    grid_options = [html.Option(t("tablet.pick_grid"), value="")] + [
        html.Option(f"{g['name']} ({g['code']})", value=f"{g['lon']},{g['lat']}")
        for g in grids]
    return html.Section([
        html.H2(t("tablet.report_title"), className="tablet-h2"),
        html.Div([
            html.Div([
                html.Label(t("tablet.category"), htmlFor=ids.TABLET_REPORT_CATEGORY,
                           className="tablet-label"),
                _categories(lang),
                html.Label(t("tablet.note"), htmlFor=ids.TABLET_REPORT_NOTE,
                           className="tablet-label"),
                html.Textarea(id=ids.TABLET_REPORT_NOTE, rows=3, maxLength=4000,
                              className="form-control"),
                photo_picker("report"),
            ], className="tablet-report-form"),
            html.Div([
                html.Div(t("tablet.location"), className="tablet-label"),
                html.Div([
                    html.Button(t("tablet.locate"), id=ids.TABLET_REPORT_LOCATE, type="button",
                                className="btn btn-outline-primary tablet-btn"),
                    html.Select(grid_options, id=ids.TABLET_REPORT_GRID,
                                className="form-select", **{"aria-label": t("tablet.pick_grid")}),
                ], className="tablet-locate-row"),
                html.Div(t("tablet.no_point"), id=ids.TABLET_REPORT_POINT,
                         className="tablet-point", **{"aria-live": "polite"}),
                _report_map(grids, tile_url),
                html.Div(t("tablet.map_hint"), className="tablet-muted"),
            ], className="tablet-report-where"),
        ], className="tablet-report-grid"),
        html.Div(id=f"{ids.TABLET_REPORT}-message", className="tablet-form-message",
                 **{"aria-live": "polite"}),
        html.Button(t("tablet.submit_report"), id=ids.TABLET_REPORT_SUBMIT, type="button",
                    className="btn btn-primary btn-lg tablet-btn tablet-submit",
                    **{"data-og-report": "1"}),
    ], id=ids.TABLET_REPORT, className="tablet-pane tablet-pane-report", hidden=True,
        **{"data-og-pane": "report"})


def layout(**_query: str) -> html.Div:
    """The tablet for inspectors; anyone else gets a notice."""
    who = current_principal()
    if who is None or who.role not in ROLES:
        return notice(t("forbidden.title"), t("forbidden.text"), "danger")
    services = get_services()
    lang = current_lang()
    with services.session() as session:
        user = session.get(User, who.user_id)
        grids = inspector_grids(session, actor_for(session, user)) if user else []
    bar = html.Div([
        html.Div([
            html.Button(t("tablet.tab_tasks"), id=ids.TABLET_TAB_TASKS, type="button",
                        className="tablet-tab is-active", **{"data-og-tab": "tasks"}),
            html.Button(t("tablet.tab_report"), id=ids.TABLET_TAB_REPORT, type="button",
                        className="tablet-tab", **{"data-og-tab": "report"}),
        ], className="tablet-tabs", role="tablist"),
        html.Span(t("tablet.online"), id=ids.TABLET_NETWORK, className="tablet-network",
                  **{"data-online": t("tablet.online"), "data-offline": t("tablet.offline"),
                     "aria-live": "polite"}),
        html.Button([t("tablet.outbox"), " ",
                     html.Span("0", id=ids.TABLET_OUTBOX_BADGE,
                               className="badge rounded-pill tablet-badge")],
                    id=ids.TABLET_OUTBOX, type="button", className="tablet-outbox-btn",
                    **{"aria-expanded": "false"}),
        html.Button(t("tablet.refresh"), id=ids.TABLET_REFRESH, n_clicks=0, type="button",
                    className="btn btn-outline-light tablet-btn"),
    ], className="tablet-bar")
    tasks = html.Section([
        html.Div(id=ids.TABLET_TASKS, className="tablet-list", **{"aria-live": "polite"}),
        html.Div(html.P(t("tablet.pick_task"), className="tablet-muted"), id=ids.TABLET_DETAIL,
                 className="tablet-detail"),
    ], className="tablet-pane tablet-pane-tasks", **{"data-og-pane": "tasks"})
    report = _report_pane(grids, lang, services.settings.tile_url)
    return html.Div([
        bar,
        html.Div(id=ids.TABLET_REFUSED, className="tablet-refused", **{"aria-live": "polite"}),
        html.Div(id=f"{ids.TABLET_OUTBOX}-list", className="tablet-outbox-list", hidden=True),
        tasks, report,
        dcc.Store(id=ids.TABLET_SELECTED),
        dcc.Interval(id=ids.TABLET_INTERVAL, interval=60_000),
    ], id=ids.TABLET_ROOT, className="og-tablet", lang=lang,
        **{"data-og-user": str(who.user_id), "data-og-lang": lang,
           "data-og-i18n": _js_texts()})


def detail_panel(detail: dict[str, Any] | None, lang: str, tz: Any,
                 tile_url: str | None) -> list[Any]:
    """The right-hand side: one case, and the verification form when it waits for me."""
    if detail is None:
        return [html.P(t("tablet.not_found"), className="tablet-muted")]
    case_id = detail["id"]
    facts = html.Dl([
        html.Dt(t("tablet.status")), html.Dd(label(detail.get("status_label"), lang)),
        html.Dt(t("tablet.grid")), html.Dd(detail.get("grid_name") or detail.get("grid_code")
                                            or "—"),
        html.Dt(t("tablet.department")), html.Dd(detail.get("department") or "—"),
        html.Dt(t("tablet.deadline")), html.Dd(local_time(detail.get("deadline_at"), tz)),
    ], className="tablet-facts")
    parts: list[Any] = [
        html.Div([light_chip(detail.get("light"), "tablet"),
                  html.Span(detail["code"], className="tablet-code")],
                 className="tablet-detail-top"),
        html.H2(detail["title"], className="tablet-h2"),
        html.Div([facts, case_map(detail, tile_url, ids.TABLET_MAP)],
                 className="tablet-detail-grid"),
    ]
    if detail.get("description"):
        parts += [html.H3(t("tablet.description"), className="tablet-h3"),
                  html.P(detail["description"], className="tablet-text")]
    if "verify_pass" in detail.get("allowed_actions", []):
        parts.append(html.Section([
            html.H3(t("tablet.verify"), className="tablet-h3"),
            html.Label(t("tablet.verify_reason"), htmlFor=ids.TABLET_VERIFY_REASON,
                       className="tablet-label"),
            html.Textarea(id=ids.TABLET_VERIFY_REASON, rows=2, maxLength=200,
                          className="form-control"),
            photo_picker("verify"),
            html.Div(id=f"{ids.TABLET_VERIFY_REASON}-message", className="tablet-form-message",
                     **{"aria-live": "polite"}),
            html.Div([
                html.Button(t("tablet.verify_pass"), id=ids.TABLET_VERIFY_PASS, type="button",
                            className="btn btn-success btn-lg tablet-btn",
                            **{"data-og-action": "verify_pass", "data-og-case": str(case_id),
                               "data-og-title": detail["title"]}),
                html.Button(t("tablet.verify_fail"), id=ids.TABLET_VERIFY_FAIL, type="button",
                            className="btn btn-outline-danger btn-lg tablet-btn",
                            **{"data-og-action": "verify_fail", "data-og-case": str(case_id),
                               "data-og-title": detail["title"]}),
            ], className="tablet-actions"),
        ], className="tablet-verify", **{"data-og-form": "verify"}))
    parts += [
        html.H3(t("tablet.photos"), className="tablet-h3"),
        photo_strip(detail.get("photos", []), "tablet", lang),
        html.H3(t("tablet.history"), className="tablet-h3"),
        history(detail.get("events", []), "tablet", lang, tz),
        html.A(t("tablet.full_case"), href=f"/cases/{case_id}",
               className="btn btn-outline-secondary tablet-btn tablet-case-link"),
    ]
    return parts


def task_list(items: list[dict[str, Any]], selected: int | None, lang: str,
              tz: Any) -> list[Any]:
    if not items:
        return [html.P(t("tablet.no_tasks"), className="tablet-muted tablet-empty")]
    return [task_card(item, page="tablet", task_type=ids.TABLET_TASK,
                      selected=item["id"] == selected, lang=lang, tz=tz,
                      badge=t(f"tablet.task_{item['task']}")) for item in items]
