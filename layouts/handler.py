"""The handler desk (处置工作台, ``/handler``): the tasks dispatched to my department by
deadline with the traffic light; accept (受理), report back with photos and a note (处置反馈),
request an extension (申请延期) or return the case with a reason (回退). Desktop-sized."""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from api.auth import current_principal
from i18n import add_messages, t
from layouts import _ids as ids
from layouts._components import notice
from layouts.tablet import case_map, history, label, light_chip, local_time, photo_strip, task_card

ROLES = ("handler",)
#: Buttons of the action bar: (workflow action, id, Bootstrap colour).
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("accept", ids.HANDLER_ACCEPT, "primary"),
    ("feedback", ids.HANDLER_FEEDBACK, "success"),
    ("request_extension", ids.HANDLER_EXTEND, "warning"),
    ("return", ids.HANDLER_RETURN, "outline-danger"),
)

add_messages({
    "nav.handler": {"zh-CN": "处置工作台", "en": "Handler desk"},
    "handler.title": {"zh-CN": "本部门待办", "en": "My department's tasks"},
    "handler.refresh": {"zh-CN": "刷新", "en": "Refresh"},
    "handler.no_tasks": {"zh-CN": "暂无派遣到本部门的待办案件。",
                         "en": "No cases wait for your department."},
    "handler.pick_task": {"zh-CN": "请在左侧选择一个案件。", "en": "Pick a case on the left."},
    "handler.not_found": {"zh-CN": "该案件不存在或未派遣至本部门。",
                          "en": "This case does not exist or is not your department's."},
    "handler.no_department": {"zh-CN": "您的账号未关联处置部门，请联系管理员。",
                              "en": "Your account has no department; ask an administrator."},
    "handler.act": {"zh-CN": "办理", "en": "Act"},
    "handler.note": {"zh-CN": "处置说明（处置反馈时必填）",
                     "en": "What was done (needed to report back)"},
    "handler.photos": {"zh-CN": "处置后照片（处置反馈时至少一张）",
                       "en": "Photos after the fix (at least one to report back)"},
    "handler.drop": {"zh-CN": "拖入照片或点击选择（JPEG/PNG/WebP，≤10 MB）",
                     "en": "Drop photos here or click to choose (JPEG/PNG/WebP, ≤ 10 MB)"},
    "handler.reason": {"zh-CN": "原因（申请延期、回退时必填）",
                       "en": "Reason (needed to request an extension or return)"},
    "handler.hours": {"zh-CN": "延期小时数", "en": "Extension (hours)"},
    "handler.accept": {"zh-CN": "受理", "en": "Accept"},
    "handler.feedback": {"zh-CN": "处置反馈", "en": "Report back"},
    "handler.request_extension": {"zh-CN": "申请延期", "en": "Request extension"},
    "handler.return": {"zh-CN": "回退", "en": "Return"},
    "handler.done_accept": {"zh-CN": "已受理。", "en": "Accepted."},
    "handler.done_feedback": {"zh-CN": "处置反馈已提交，等待网格员核实。",
                              "en": "Reported back; the inspector will verify it."},
    "handler.done_request_extension": {"zh-CN": "延期申请已提交，等待指挥中心审批。",
                                       "en": "Extension requested; the command center "
                                             "decides."},
    "handler.done_return": {"zh-CN": "案件已回退。", "en": "The case was returned."},
    "handler.refused": {"zh-CN": "操作未执行：", "en": "Not done: "},
    "handler.bad_hours": {"zh-CN": "延期小时数须为 1 到 720 之间的数字。",
                          "en": "The extension must be a number of hours from 1 to 720."},
    "handler.pick_first": {"zh-CN": "请先在左侧选择案件。", "en": "Pick a case first."},
    "handler.photo_refused": {"zh-CN": "照片未接受", "en": "Photo refused"},
    "handler.too_many": {"zh-CN": "照片最多 10 张。", "en": "At most 10 photos."},
    "handler.remove_photos": {"zh-CN": "清除照片", "en": "Clear photos"},
})

dash.register_page(
    __name__,
    path="/handler",
    name="handler",
    roles=ROLES,
    nav_key="nav.handler",
    title=lambda **_: f"{t('nav.handler')} · {t('app.short')}",
)


def layout(**_query: str) -> html.Div:
    """The desk for handlers; anyone else gets a notice."""
    who = current_principal()
    if who is None or who.role not in ROLES:
        return notice(t("forbidden.title"), t("forbidden.text"), "danger")
    if who.department_id is None:
        return notice(t("nav.handler"), t("handler.no_department"), "warning")
    actions = html.Section([
        html.H2(t("handler.act"), className="handler-h2"),
        html.Div([
            html.Div([
                html.Label(t("handler.note"), htmlFor=ids.HANDLER_NOTE, className="form-label"),
                dcc.Textarea(id=ids.HANDLER_NOTE, className="form-control", maxLength=4000,
                             style={"height": "5.5rem"}),
                html.Div(t("handler.photos"), className="form-label mt-2"),
                dcc.Upload(html.Div(t("handler.drop")), id=ids.HANDLER_UPLOAD, multiple=True,
                           accept="image/jpeg,image/png,image/webp",
                           className="handler-upload"),
                html.Div(id=ids.HANDLER_UPLOAD_MESSAGE, **{"aria-live": "polite"}),
                html.Div(id=ids.HANDLER_PHOTO_LIST, className="handler-photo-list"),
            ], className="handler-form-col"),
            html.Div([
                html.Label(t("handler.reason"), htmlFor=ids.HANDLER_REASON,
                           className="form-label"),
                dcc.Textarea(id=ids.HANDLER_REASON, className="form-control", maxLength=200,
                             style={"height": "5.5rem"}),
                html.Label(t("handler.hours"), htmlFor=ids.HANDLER_HOURS,
                           className="form-label mt-2"),
                dcc.Input(id=ids.HANDLER_HOURS, type="number", min=1, max=720, step=1,
                          className="form-control handler-hours"),
            ], className="handler-form-col"),
        ], className="handler-form"),
        html.Div([html.Button(t(f"handler.{action}"), id=button_id, n_clicks=0, type="button",
                              disabled=True, className=f"btn btn-{colour} btn-lg")
                  for action, button_id, colour in ACTIONS], className="handler-buttons"),
        html.Div(id=ids.HANDLER_MESSAGE, **{"aria-live": "polite"}),
    ], className="handler-actions")
    return html.Div([
        html.Aside([
            html.Div([html.H1(t("handler.title"), className="handler-h1"),
                      html.Button(t("handler.refresh"), id=ids.HANDLER_REFRESH, n_clicks=0,
                                  type="button", className="btn btn-outline-primary")],
                     className="handler-list-head"),
            html.Div(id=ids.HANDLER_TASKS, className="handler-list", **{"aria-live": "polite"}),
        ], className="handler-side"),
        html.Section([
            html.Div(html.P(t("handler.pick_task"), className="handler-muted"),
                     id=ids.HANDLER_DETAIL),
            actions,
        ], className="handler-main"),
        dcc.Store(id=ids.HANDLER_SELECTED),
        dcc.Store(id=ids.HANDLER_CHANGED, data=0),
        dcc.Store(id=ids.HANDLER_PHOTOS, data=[]),
        dcc.Interval(id=ids.HANDLER_INTERVAL, interval=60_000),
    ], id=ids.HANDLER_ROOT, className="og-handler")


def task_list(items: list[dict[str, Any]], selected: int | None, lang: str,
              tz: Any) -> list[Any]:
    if not items:
        return [html.P(t("handler.no_tasks"), className="handler-muted")]
    return [task_card(item, page="handler", task_type=ids.HANDLER_TASK,
                      selected=item["id"] == selected, lang=lang, tz=tz) for item in items]


def detail_panel(detail: dict[str, Any] | None, lang: str, tz: Any,
                 tile_url: str | None) -> list[Any]:
    if detail is None:
        return [html.P(t("handler.not_found"), className="handler-muted")]
    facts = html.Dl([
        html.Dt(t("tablet.status")), html.Dd(label(detail.get("status_label"), lang)),
        html.Dt(t("tablet.grid")), html.Dd(detail.get("grid_name") or detail.get("grid_code")
                                            or "—"),
        html.Dt(t("tablet.deadline")), html.Dd(local_time(detail.get("deadline_at"), tz)),
        html.Dt(t("tablet.description")), html.Dd(detail.get("description") or "—"),
    ], className="handler-facts")
    return [
        html.Div([light_chip(detail.get("light"), "handler"),
                  html.Span(detail["code"], className="handler-code")],
                 className="handler-detail-top"),
        html.H2(detail["title"], className="handler-h2"),
        html.Div([facts, case_map(detail, tile_url, ids.HANDLER_MAP)],
                 className="handler-detail-grid"),
        html.Div([
            html.Div([html.H3(t("tablet.photos"), className="handler-h3"),
                      photo_strip(detail.get("photos", []), "handler", lang)]),
            html.Div([html.H3(t("tablet.history"), className="handler-h3"),
                      history(detail.get("events", []), "handler", lang, tz)]),
        ], className="handler-detail-grid"),
    ]


def photo_list(photos: list[dict[str, Any]]) -> list[Any]:
    return [html.Img(src=p["url"], alt=p.get("name") or "", title=p.get("name") or "",
                     className="handler-thumb") for p in photos]


def message(kind: str, text: str) -> html.Div:
    return html.Div(text, className=f"alert alert-{kind} handler-alert", role="alert")
