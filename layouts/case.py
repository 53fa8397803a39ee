"""The case page (案件详情, ``/cases/<case_id>``): the whole life of one case — header, timeline
of every event with who, when and from where, photos before and after, a small map of its
point and grid, and the step deadlines met or missed.

Every staff role opens it; what a role may see is ``data.case_views.visibility_for`` (a handler
its department's cases, an inspector its grids'). The page is a shell that holds the case id;
the callback in ``callbacks/case.py`` checks the visibility and builds the content with the
builders below (pure functions of the read model, also used by the desk).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
import shapely.geometry
from dash import dcc, html

from api.auth import STAFF_ROLES, current_principal
from api.media import media_url
from cases.workflow import REASON_LABELS, STATE_LABELS
from i18n import add_messages, current_lang, t
from layouts import _ids as ids
from layouts._components import FONT_STACK, fit_view, notice

add_messages({
    "case.title": {"zh-CN": "案件详情", "en": "Case"},
    "case.loading": {"zh-CN": "正在加载案件…", "en": "Loading the case…"},
    "case.bad_id.title": {"zh-CN": "案件编号无效", "en": "Invalid case number"},
    "case.bad_id.text": {"zh-CN": "案件编号应为数字，收到：",
                         "en": "A case number is a whole number; got: "},
    "case.not_found.title": {"zh-CN": "无法查看该案件", "en": "Case not available"},
    "case.not_found.text": {
        "zh-CN": "该案件不存在，或不在您的查看范围内（处置人员只能查看派遣至本部门的案件，"
                 "网格员只能查看所负责网格的案件）。",
        "en": "This case does not exist or is outside what you may see (handlers see the cases "
              "dispatched to their department, inspectors the cases in their grids)."},
    "case.category": {"zh-CN": "案件类别", "en": "Category"},
    "case.status": {"zh-CN": "状态", "en": "Status"},
    "case.urgency": {"zh-CN": "紧急程度", "en": "Urgency"},
    "case.source": {"zh-CN": "来源", "en": "Source"},
    "case.place": {"zh-CN": "位置", "en": "Place"},
    "case.grid": {"zh-CN": "单元网格", "en": "Unit grid"},
    "case.address": {"zh-CN": "地址", "en": "Address"},
    "case.department": {"zh-CN": "处置部门", "en": "Department"},
    "case.inspector": {"zh-CN": "网格员", "en": "Inspector"},
    "case.handler": {"zh-CN": "处置人员", "en": "Handler"},
    "case.reporter": {"zh-CN": "上报人", "en": "Reported by"},
    "case.reported_at": {"zh-CN": "上报时间", "en": "Reported"},
    "case.seen_count": {"zh-CN": "发现次数", "en": "Times seen"},
    "case.rework_count": {"zh-CN": "返工次数", "en": "Rework"},
    "case.escalation": {"zh-CN": "升级", "en": "Escalation"},
    "case.supervised": {"zh-CN": "已督办", "en": "Supervised"},
    "case.description": {"zh-CN": "问题描述", "en": "Description"},
    "case.merged_into": {"zh-CN": "已合并至", "en": "Merged into"},
    "case.decline_reason": {"zh-CN": "不予立案原因", "en": "Declined as"},
    "case.timeline": {"zh-CN": "办理过程", "en": "Timeline"},
    "case.map": {"zh-CN": "位置与网格", "en": "Location and grid"},
    "case.no_location": {"zh-CN": "该案件没有定位。", "en": "This case has no location."},
    "case.photos_before": {"zh-CN": "处置前照片", "en": "Photos before"},
    "case.photos_after": {"zh-CN": "处置后照片", "en": "Photos after"},
    "case.no_photos": {"zh-CN": "暂无照片", "en": "No photos"},
    "case.deadlines": {"zh-CN": "办理时限", "en": "Deadlines"},
    "case.step": {"zh-CN": "环节", "en": "Step"},
    "case.due": {"zh-CN": "时限", "en": "Due"},
    "case.done": {"zh-CN": "完成时间", "en": "Done"},
    "case.outcome": {"zh-CN": "结果", "en": "Result"},
    "case.clock": {"zh-CN": "当前环节计时", "en": "Current step on the clock"},
    "case.clock_none": {"zh-CN": "当前没有计时的环节", "en": "No step is on the clock"},
    "case.clock_paused": {"zh-CN": "已挂账，计时暂停", "en": "Suspended: the clock is stopped"},
    "case.used": {"zh-CN": "已用时限", "en": "Time used"},
    "case.step.register": {"zh-CN": "立案", "en": "Register"},
    "case.step.dispatch": {"zh-CN": "派遣", "en": "Dispatch"},
    "case.step.handle": {"zh-CN": "处置", "en": "Handle"},
    "case.step.verify": {"zh-CN": "核实", "en": "Verify"},
    "case.step.close": {"zh-CN": "结案", "en": "Close"},
    "case.outcome.met": {"zh-CN": "按期", "en": "Met"},
    "case.outcome.missed": {"zh-CN": "超期", "en": "Missed"},
    "case.outcome.pending": {"zh-CN": "进行中", "en": "Running"},
    "case.outcome.overdue": {"zh-CN": "已超期", "en": "Overdue"},
    "case.light.green": {"zh-CN": "绿灯", "en": "Green"},
    "case.light.yellow": {"zh-CN": "黄灯", "en": "Yellow"},
    "case.light.red": {"zh-CN": "红灯", "en": "Red"},
    "case.origin": {"zh-CN": "来自", "en": "from"},
    "case.reason": {"zh-CN": "原因", "en": "Reason"},
    "case.to_department": {"zh-CN": "派遣至", "en": "To"},
    "case.merge_target": {"zh-CN": "合并至案件", "en": "Into case"},
    "case.merged_from": {"zh-CN": "并入案件", "en": "Merged case"},
    "case.hours": {"zh-CN": "小时", "en": "hours"},
    "case.sightings": {"zh-CN": "次发现", "en": "sightings"},
    "case.detection": {"zh-CN": "视频识别抓拍", "en": "Camera snapshot"},
    "case.source.sensor": {"zh-CN": "物联感知", "en": "IoT sensor"},
    "case.source.camera": {"zh-CN": "视频识别", "en": "Camera AI"},
    "case.source.inspector": {"zh-CN": "网格员上报", "en": "Inspector"},
    "case.source.citizen": {"zh-CN": "市民上报", "en": "Citizen"},
    "case.source.hotline": {"zh-CN": "12345热线", "en": "12345 hotline"},
    "case.source.open311": {"zh-CN": "市民上报 (Open311)", "en": "Citizen (Open311)"},
    "case.source.command": {"zh-CN": "指挥中心", "en": "Command center"},
    "case.source.shop": {"zh-CN": "门前三包", "en": "Shop front"},
    "case.origin.desk": {"zh-CN": "受理派遣台", "en": "dispatch desk"},
    "case.origin.tablet": {"zh-CN": "网格员平板", "en": "inspector tablet"},
    "case.origin.handler": {"zh-CN": "处置工作台", "en": "handler desk"},
    "case.origin.api": {"zh-CN": "接口", "en": "API"},
    "case.origin.open311": {"zh-CN": "市民上报接口", "en": "Open311"},
})

dash.register_page(
    __name__,
    path_template="/cases/<case_id>",
    name="case",
    roles=STAFF_ROLES,
    title=lambda case_id=None, **_: f"{t('case.title')} {case_id or ''} · {t('app.short')}",
)

MAP_CONFIG = {"displaylogo": False, "scrollZoom": True,
              "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
LIGHT_COLOURS = {"green": "success", "yellow": "warning", "red": "danger"}
OUTCOME_COLOURS = {"met": "success", "missed": "danger", "pending": "secondary",
                   "overdue": "danger"}
STATUS_COLOURS = {"reported": "info", "registered": "primary", "dispatched": "primary",
                  "accepted": "primary", "handled": "warning", "verified": "success",
                  "suspended": "secondary", "closed": "success", "declined": "dark",
                  "void": "dark"}
MAX_ID = 2 ** 63 - 1


# -- small builders shared with the desk -------------------------------------------------------
def pick(labels: Mapping[str, str] | None, lang: str) -> str:
    """The ``zh``/``en`` text of a read model's label pair ("—" for none)."""
    if not labels:
        return "—"
    return labels.get("en" if lang == "en" else "zh") or labels.get("zh") or "—"


def local_time(value: str | datetime | None, tz: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO time (UTC) in the city's time zone ("—" for none)."""
    if value is None:
        return "—"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(tz).strftime(fmt)


def parse_case_id(raw: Any) -> int | None:
    """A case id from a URL or a callback payload: a positive whole number, else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 < raw <= MAX_ID else None
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        value = int(raw.strip())
        return value if 0 < value <= MAX_ID else None
    return None


def source_label(source: str | None, lang: str) -> str:
    key = f"case.source.{source}"
    text = t(key, lang)
    return source or "—" if text == key else text


def badge(text: str, colour: str, class_name: str = "", **data: str) -> html.Span:
    """A Bootstrap badge (``text-bg-<colour>``); ``data`` become ``data-*`` attributes."""
    return html.Span(text, className=f"badge text-bg-{colour} {class_name}".strip(),
                     **{f"data-{k}": v for k, v in data.items()})


def light_badge(light: str | None, lang: str, used: float | None = None,
                class_name: str = "") -> html.Span | None:
    """The traffic light (红黄绿灯) of the step on the clock, with the share of time used."""
    if light not in LIGHT_COLOURS:
        return None
    text = t(f"case.light.{light}", lang)
    if used is not None:
        text += f" {used * 100:.0f}%"
    return badge(text, LIGHT_COLOURS[light], f"og-light {class_name}", light=light)


def status_badge(case: Mapping[str, Any], lang: str) -> html.Span:
    return badge(pick(case.get("status_label"), lang),
                 STATUS_COLOURS.get(case.get("status", ""), "secondary"), "og-status",
                 status=case.get("status", ""))


def category_label(case: Mapping[str, Any], lang: str) -> str:
    return pick(case.get("category_name"), lang) if case.get("category_name") \
        else case.get("category", "—")


def place_label(place: Mapping[str, Any], lang: str, grid_code: str | None) -> str:
    """"端州区 · 城东街道 · 某社区 · 网格 449902001001001"."""
    parts = [pick(place.get(level), lang) for level in ("district", "street", "community")
             if place.get(level)]
    grid = place.get("grid")
    if grid_code:
        parts.append(f"{grid['name']} ({grid_code})" if grid and grid.get("name") else grid_code)
    return " · ".join(parts) or "—"


def thumbnails(photos: Iterable[Mapping[str, Any] | str], tz: tzinfo, lang: str,
               class_name: str = "og-thumbs") -> html.Div:
    """Photos as thumbnails, each a link to the full image (``/media/<sha256>``)."""
    items = []
    for photo in photos:
        sha = photo if isinstance(photo, str) else photo["sha256"]
        caption = None if isinstance(photo, str) else local_time(photo.get("at"), tz,
                                                                 "%m-%d %H:%M")
        url = media_url(sha)
        items.append(html.A([html.Img(src=url, alt=sha[:12]),
                             html.Span(caption, className="og-thumb-caption") if caption
                             else None],
                            href=url, target="_blank", rel="noopener", className="og-thumb",
                            title=sha))
    if not items:
        return html.Div(t("case.no_photos", lang), className="og-muted")
    return html.Div(items, className=class_name)


def case_map_figure(grid: Mapping[str, Any] | None, point: tuple[float, float] | None, *,
                    lang: str, others: Sequence[Mapping[str, Any]] = (),
                    tile_url: str | None = None, height: int = 320) -> dict[str, Any]:
    """A small offline map: the case's unit grid outlined, its point, and ``others`` (similar
    cases: summaries with ``lon``/``lat``/``code``) as smaller markers. MapLibre's blank
    ``white-bg`` style; the bureau's raster tiles underneath when configured."""
    traces: list[Any] = []
    bounds = None
    if grid and grid.get("geometry"):
        shape = shapely.geometry.shape(grid["geometry"])
        bounds = shape.bounds
        feature = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": grid["code"], "properties": {"code": grid["code"]},
             "geometry": grid["geometry"]}]}
        traces.append(go.Choroplethmap(
            geojson=feature, featureidkey="properties.code", locations=[grid["code"]], z=[1],
            colorscale=[[0, "#8fd1c2"], [1, "#8fd1c2"]], showscale=False,
            marker=dict(opacity=0.45, line=dict(color="#0b4f5c", width=2)),
            hovertemplate=f"{t('case.grid', lang)} {grid['code']}<br>{grid.get('name') or ''}"
                          "<extra></extra>"))
    located = [o for o in others if o.get("lon") is not None and o.get("lat") is not None]
    if located:
        traces.append(go.Scattermap(
            lon=[o["lon"] for o in located], lat=[o["lat"] for o in located], mode="markers",
            marker=dict(size=11, color="#f59f00"), customdata=[o["code"] for o in located],
            hovertemplate="%{customdata}<extra></extra>", name="similar"))
    if point is not None:
        traces.append(go.Scattermap(
            lon=[point[0]], lat=[point[1]], mode="markers",
            marker=dict(size=16, color="#d6336c"), hoverinfo="skip", name="case"))
    if bounds is None and point is not None:
        d = 0.002
        bounds = (point[0] - d, point[1] - d, point[0] + d, point[1] + d)
    fig = go.Figure(traces)
    layers = [dict(below="traces", sourcetype="raster", source=[tile_url])] if tile_url else []
    map_view: dict[str, Any] = dict(style="white-bg", layers=layers)
    if bounds is not None:
        map_view["center"], map_view["zoom"] = fit_view(bounds, width=480, height=height,
                                                        padding=0.7)
    fig.update_layout(map=map_view, margin=dict(l=0, r=0, t=0, b=0), height=height,
                      paper_bgcolor="rgba(0,0,0,0)", showlegend=False,
                      font=dict(family=FONT_STACK), template="none",
                      hoverlabel=dict(font=dict(family=FONT_STACK)))
    return fig.to_plotly_json()


def case_point(case: Mapping[str, Any]) -> tuple[float, float] | None:
    if case.get("lon") is None or case.get("lat") is None:
        return None
    return float(case["lon"]), float(case["lat"])


# -- the page's own builders -------------------------------------------------------------------
def _fact(label: str, value: Any) -> html.Div:
    return html.Div([html.Dt(label), html.Dd(value if value not in (None, "") else "—")],
                    className="og-fact")


def header(case: Mapping[str, Any], lang: str, tz: tzinfo) -> html.Section:
    """Code, title, badges and the case's facts."""
    place = case.get("place") or {}
    badges = [status_badge(case, lang),
              badge(pick(case.get("urgency_label"), lang),
                    "danger" if case.get("urgency") == "urgent" else "light"),
              light_badge(case.get("light"), lang, case.get("time_used"))]
    if case.get("supervised"):
        badges.append(badge(t("case.supervised", lang), "danger", "rounded-pill",
                            supervised="1"))
    if case.get("escalation_level"):
        badges.append(badge(f"{t('case.escalation', lang)} {case['escalation_level']}",
                            "warning", "rounded-pill"))
    inspector = case.get("inspector_name") or (place.get("grid") or {}).get("inspector")
    facts = [
        _fact(t("case.category", lang), category_label(case, lang)),
        _fact(t("case.source", lang), source_label(case.get("source"), lang)),
        _fact(t("case.reported_at", lang), local_time(case.get("reported_at"), tz)),
        _fact(t("case.place", lang), place_label(place, lang, case.get("grid_code"))),
        _fact(t("case.address", lang), case.get("address")),
        _fact(t("case.department", lang), pick(case.get("department_name"), lang)
              if case.get("department_name") else None),
        _fact(t("case.inspector", lang), inspector),
        _fact(t("case.handler", lang), case.get("handler_name")),
        _fact(t("case.reporter", lang), case.get("reporter_name")),
        _fact(t("case.seen_count", lang), str(case.get("seen_count", 0))),
        _fact(t("case.rework_count", lang), str(case.get("rework_count", 0))),
    ]
    if case.get("merged_into"):
        target = case["merged_into"]
        facts.append(_fact(t("case.merged_into", lang),
                           dcc.Link(target["code"] or str(target["id"]),
                                    href=f"/cases/{target['id']}")))
    if case.get("decline_reason"):
        facts.append(_fact(t("case.decline_reason", lang),
                           reason_label(case["decline_reason"], lang)))
    return html.Section([
        html.Div([html.H1([html.Span(case["code"], id=ids.CASE_CODE, className="og-case-code"),
                           html.Span(case.get("title") or "", className="og-case-title")],
                          className="og-page-title"),
                  html.Div([b for b in badges if b is not None], className="og-badges",
                           id=ids.CASE_BADGES)], className="og-case-head"),
        html.Dl(facts, className="og-facts", id=ids.CASE_FACTS),
        html.P(case.get("description"), className="og-case-description")
        if case.get("description") else None,
    ], className="og-card")


def state_label(state: str, lang: str) -> str:
    pair = STATE_LABELS.get(state)
    return state if pair is None else pair[1] if lang == "en" else pair[0]


def reason_label(reason: str | None, lang: str) -> str:
    if not reason:
        return "—"
    pair = REASON_LABELS.get(reason)
    if pair is None:
        return reason
    return pair[1] if lang == "en" else pair[0]


def _event_details(event: Mapping[str, Any], lang: str) -> list[Any]:
    data = event.get("data") or {}
    out: list[Any] = []
    if data.get("reason") and event["action"] in ("decline", "merge", "return", "void",
                                                  "suspend", "verify_fail",
                                                  "request_extension"):
        out.append(html.Div([html.Span(f"{t('case.reason', lang)}：", className="og-k"),
                             reason_label(str(data["reason"]), lang)]))
    elif data.get("reason") or data.get("reason_en"):
        text = data.get("reason_en") if lang == "en" and data.get("reason_en") \
            else data.get("reason")
        out.append(html.Div(str(text)))
    if event.get("department"):
        out.append(html.Div([html.Span(f"{t('case.to_department', lang)}：", className="og-k"),
                             pick(event["department"], lang)]))
    if data.get("target_case_id"):
        out.append(html.Div([html.Span(f"{t('case.merge_target', lang)}：", className="og-k"),
                             dcc.Link(str(data["target_case_id"]),
                                      href=f"/cases/{data['target_case_id']}")]))
    if data.get("merged_case_id"):
        out.append(html.Div([html.Span(f"{t('case.merged_from', lang)}：", className="og-k"),
                             dcc.Link(str(data.get("merged_case_code") or data["merged_case_id"]),
                                      href=f"/cases/{data['merged_case_id']}")]))
    if data.get("hours"):
        out.append(html.Div(f"{data['hours']} {t('case.hours', lang)}"))
    if data.get("sightings"):
        out.append(html.Div(f"{data['sightings']} {t('case.sightings', lang)}"))
    return out


def timeline(events: Sequence[Mapping[str, Any]], lang: str, tz: tzinfo) -> html.Ol:
    """Every event in order: when, what (from → to), who (name and role), from where, note,
    reason and attachments as thumbnails."""
    items = []
    for event in events:
        moved = event.get("from_state") != event.get("to_state")
        who = [html.Span(event.get("actor_name") or "—", className="og-event-actor")]
        if event.get("role_label"):
            who.append(html.Span(pick(event["role_label"], lang), className="og-event-role"))
        if event.get("origin"):
            key = f"case.origin.{event['origin']}"
            origin = t(key, lang) if t(key, lang) != key else event["origin"]
            who.append(html.Span(f"{t('case.origin', lang)} {origin}",
                                 className="og-event-origin",
                                 **{"data-origin": event["origin"]}))
        items.append(html.Li([
            html.Div([
                html.Time(local_time(event.get("at"), tz, "%Y-%m-%d %H:%M:%S"),
                          dateTime=event.get("at"), className="og-event-time"),
                html.Span(pick(event.get("action_label"), lang), className="og-event-action"),
                html.Span(f"→ {state_label(event['to_state'], lang)}",
                          className="og-event-state", **{"data-state": event["to_state"]})
                if moved else None,
            ], className="og-event-head"),
            html.Div(who, className="og-event-who"),
            html.Div(event["note"], className="og-event-note") if event.get("note") else None,
            *_event_details(event, lang),
            thumbnails(event.get("photos") or [], tz, lang, "og-thumbs og-thumbs-small")
            if event.get("photos") else None,
        ], className="og-event", **{"data-action": event["action"],
                                   "data-seq": str(event["seq"])}))
    return html.Ol(items, className="og-timeline", id=ids.CASE_TIMELINE)


def deadlines_table(case: Mapping[str, Any], lang: str, tz: tzinfo) -> html.Div:
    """The step deadlines against when each step was done, and the clock of the current step."""
    rows = []
    for row in case.get("deadlines") or []:
        outcome = row.get("outcome")
        rows.append(html.Tr([
            html.Td(t(f"case.step.{row['step']}", lang)),
            html.Td(local_time(row.get("due_at"), tz)),
            html.Td(local_time(row.get("done_at"), tz)),
            html.Td(badge(t(f"case.outcome.{outcome}", lang), OUTCOME_COLOURS[outcome])
                    if outcome else "—",
                    **{"data-outcome": outcome or ""}),
        ], **{"data-step": row["step"]}))
    table = dbc.Table([html.Thead(html.Tr([html.Th(t(k, lang)) for k in
                                           ("case.step", "case.due", "case.done",
                                            "case.outcome")])),
                       html.Tbody(rows)], size="sm", className="og-deadlines mb-2",
                      id=ids.CASE_DEADLINES)
    if case.get("suspended"):
        clock: Any = t("case.clock_paused", lang)
    elif case.get("step") and case.get("time_used") is not None:
        clock = [t(f"case.step.{case['step']}", lang), " · ",
                 f"{t('case.used', lang)} {case['time_used'] * 100:.0f}% ",
                 light_badge(case.get("light"), lang), " · ", t("case.due", lang), " ",
                 local_time(case.get("deadline_at"), tz)]
    else:
        clock = t("case.clock_none", lang)
    return html.Div([table, html.Div([html.Span(f"{t('case.clock', lang)}：", className="og-k"),
                                      html.Span(clock)], className="og-clock")])


def section(title: str, *children: Any, class_name: str = "") -> html.Section:
    return html.Section([html.H2(title, className="og-section-title"), *children],
                        className=f"og-card {class_name}".strip())


def case_view(case: Mapping[str, Any], lang: str, tz: tzinfo,
              tile_url: str | None = None) -> html.Div:
    """The whole page for one case (the read model of ``data.case_views.case_page``)."""
    place = case.get("place") or {}
    point = case_point(case)
    if place.get("grid") or point:
        map_part: Any = dcc.Graph(
            id=ids.CASE_MAP, config=MAP_CONFIG, className="og-case-map",
            figure=case_map_figure(place.get("grid"), point, lang=lang, tile_url=tile_url))
    else:
        map_part = html.Div(t("case.no_location", lang), className="og-muted")
    return html.Div([
        header(case, lang, tz),
        html.Div([
            section(t("case.timeline", lang), timeline(case.get("events") or [], lang, tz),
                    class_name="og-case-timeline"),
            html.Div([
                section(t("case.map", lang), map_part),
                section(t("case.photos_before", lang),
                        thumbnails(case.get("photos_before") or [], tz, lang),
                        class_name="og-photos-before"),
                section(t("case.photos_after", lang),
                        thumbnails(case.get("photos_after") or [], tz, lang),
                        class_name="og-photos-after"),
                section(t("case.deadlines", lang), deadlines_table(case, lang, tz)),
            ], className="og-case-side"),
        ], className="og-case-body"),
    ])


def not_found() -> dbc.Alert:
    """The same notice for a missing case and a case the user may not see (nothing leaks)."""
    return notice(t("case.not_found.title"), t("case.not_found.text"), "warning")


def layout(case_id: str | None = None, **_query: str) -> html.Div | dbc.Alert:
    """The page shell for staff roles; anyone else, or a case number that is not a number,
    gets a notice. The case itself is read by the callback (``callbacks/case.py``)."""
    who = current_principal()
    if who is None or who.role not in STAFF_ROLES:
        return notice(t("forbidden.title"), t("forbidden.text"), "danger")
    number = parse_case_id(case_id)
    if number is None:
        return notice(t("case.bad_id.title"), t("case.bad_id.text") + str(case_id)[:40],
                      "warning")
    return html.Div([
        dcc.Store(id=ids.CASE_ID, data=number),
        html.Div(html.Div(t("case.loading"), className="og-muted"), id=ids.CASE_BODY,
                 **{"aria-live": "polite", "data-lang": current_lang()}),
    ], className="og-case")
