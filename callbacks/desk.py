"""Callbacks of the registration and dispatch desk (受理派遣台): the work lists, one case's
evidence, and the one-click actions (each one case event through ``data.desk.take_action``)."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, html, no_update

from api.auth import current_principal, require_roles
from cases.workflow import ACTION_LABELS
from data.cases import CaseError, actor_for
from data.desk import (
    IN_PROGRESS,
    LISTS,
    case_evidence,
    departments,
    list_counts,
    take_action,
    work_list,
)
from data.models import User
from data.types import utcnow
from i18n import current_lang, t
from layouts import _ids as ids
from layouts import desk as page
from layouts.case import parse_case_id
from services import get_services

BUTTONS = {button_id: action for action, button_id, _ in page.ACTIONS}
MAX_NOTE = 2000


def _actor(session: Any) -> Any:
    who = current_principal()
    user = session.get(User, who.user_id) if who is not None else None
    return actor_for(session, user) if user is not None else None


@dash.callback(Output(ids.DESK_LIST, "children"), Output(ids.DESK_LIST_KIND, "options"),
               Input(ids.DESK_REFRESH, "n_intervals"), Input(ids.DESK_VERSION, "data"),
               Input(ids.DESK_LIST_KIND, "value"), Input(ids.DESK_SELECTED, "data"))
@require_roles(*page.ROLES)
def show_list(_tick: Any, _version: Any, kind: Any, selected: Any) -> tuple[Any, Any]:
    """The chosen work list (refreshed every few seconds and after each action)."""
    kind = kind if kind in LISTS else "queue"
    services, lang, now = get_services(), current_lang(), utcnow()
    with services.session() as session:
        found = work_list(session, services.cases, kind, now=now)
        counts = list_counts(session, now)
    return (page.list_items(found.items, found.total, parse_case_id(selected), lang,
                            services.cases.calendar.tz, now), page.list_options(counts, lang))


@dash.callback(Output(ids.DESK_SELECTED, "data"),
               Input({"type": ids.DESK_ITEM, "id": ALL}, "n_clicks"), prevent_initial_call=True)
@require_roles(*page.ROLES)
def select_case(clicks: list[Any]) -> Any:
    """Select the clicked case (a list redrawn without a click selects nothing)."""
    trigger = ctx.triggered_id
    clicked = ctx.triggered[0].get("value") if ctx.triggered else None
    if not isinstance(trigger, dict) or not clicked:
        return no_update
    return parse_case_id(trigger.get("id")) or no_update


@dash.callback(
    Output(ids.DESK_DETAIL, "children"), Output(ids.DESK_ACTIONS, "hidden"),
    Output(ids.DESK_CASE_LABEL, "children"), Output(ids.DESK_SHOWN, "data"),
    Output(ids.DESK_DEPARTMENT, "options"), Output(ids.DESK_DEPARTMENT, "value"),
    Output(ids.DESK_MERGE_TARGET, "options"), Output(ids.DESK_MERGE_TARGET, "value"),
    Output(ids.DESK_DECLINE_REASON, "value"), Output(ids.DESK_NOTE, "value"),
    *[Output(button_id, "disabled") for _, button_id, _ in page.ACTIONS],
    Input(ids.DESK_SELECTED, "data"), Input(ids.DESK_VERSION, "data"))
@require_roles(*page.ROLES)
def show_case(selected: Any, _version: Any) -> tuple[Any, ...]:
    """The selected case's evidence, and the action panel set up for it."""
    case_id, lang = parse_case_id(selected), current_lang()
    services = get_services()
    ev = None
    if case_id is not None:
        with services.session() as session:
            actor = _actor(session)
            ev = case_evidence(session, services.cases, case_id, actor) if actor else None
            depts = departments(session)
    if ev is None:
        text = t("desk.pick") if case_id is None else t("desk.case_gone")
        return (html.Div(text, className="og-muted p-3"), True, "", None, [], None, [],
                None, None, "", *([True] * len(page.ACTIONS)))
    allowed = set(ev["allowed_actions"])
    similar = [s for s in ev["similar"] if s["status"] != "declined"]
    merge = page.merge_options(similar, lang)
    return (page.evidence_panel(ev, lang, services.cases.calendar.tz, services.settings.tile_url),
            False, ev["code"], {"id": ev["id"], "seq": ev["last_seq"]},
            page.department_options(depts, ev["suggested_department"], lang),
            ev["suggested_department"], merge, merge[0]["value"] if merge else None, None, "",
            *[action not in allowed or (action == "merge" and not merge)
              or (action == "supervise" and ev["status"] not in IN_PROGRESS)
              for action, _, _ in page.ACTIONS])


@dash.callback(
    Output(ids.DESK_MESSAGE, "children"), Output(ids.DESK_VERSION, "data"),
    *[Input(button_id, "n_clicks") for _, button_id, _ in page.ACTIONS],
    State(ids.DESK_SHOWN, "data"), State(ids.DESK_NOTE, "value"),
    State(ids.DESK_DECLINE_REASON, "value"), State(ids.DESK_MERGE_TARGET, "value"),
    State(ids.DESK_DEPARTMENT, "value"), State(ids.DESK_VERSION, "data"),
    running=[(Output(ids.DESK_ACTIONS, "disabled"), True, False)],
    prevent_initial_call=True)
@require_roles(*page.ROLES)
def act(*args: Any) -> tuple[Any, Any]:
    """Take the clicked action on the case shown; say what happened (or why not)."""
    shown, note, reason, target, department, version = args[len(page.ACTIONS):]
    action = BUTTONS.get(ctx.triggered_id) if isinstance(ctx.triggered_id, str) else None
    case_id = parse_case_id(shown.get("id")) if isinstance(shown, dict) else None
    seq = shown.get("seq") if isinstance(shown, dict) else None
    lang = current_lang()
    if action is None or case_id is None or not isinstance(seq, int | None):
        return page.result_message(False, t("desk.bad_input")), no_update
    services = get_services()
    next_version = version + 1 if isinstance(version, int) else 1
    try:
        with services.transaction() as session:
            actor = _actor(session)
            if actor is None:
                return page.result_message(False, t("desk.bad_input")), no_update
            case = take_action(
                session, services.cases, case_id, action, actor, seen_seq=seq,
                note=note.strip()[:MAX_NOTE] or None if isinstance(note, str) else None,
                reason=reason if isinstance(reason, str) and reason else None,
                target_case_id=parse_case_id(target),
                department_code=department if isinstance(department, str) else None)
            code = case.code
    except CaseError as exc:
        text = exc.message if lang == "en" else exc.message_zh
        return page.result_message(False, t("desk.refused") + text), next_version
    label = ACTION_LABELS[action][1 if lang == "en" else 0]
    return page.result_message(True, t("desk.done").format(action=label, code=code)), next_version
