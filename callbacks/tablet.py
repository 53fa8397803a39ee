"""Callbacks of the inspector tablet: the task list, the chosen task's detail. (Actions are
not callbacks: ``assets/tablet.js`` keeps them in the outbox and sends them to /api/v1.)"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, no_update

from api.auth import current_principal, require_roles
from data.cases import actor_for
from data.models import User
from data.tasks import inspector_tasks, task_detail
from i18n import current_lang
from layouts import _ids as ids
from layouts.tablet import ROLES, detail_panel, task_list
from services import get_services


def _actor(session: Any) -> Any:
    who = current_principal()
    user = session.get(User, who.user_id) if who is not None else None
    return actor_for(session, user) if user is not None else None


@dash.callback(Output(ids.TABLET_TASKS, "children"), Input(ids.TABLET_REFRESH, "n_clicks"),
               Input(ids.TABLET_INTERVAL, "n_intervals"), State(ids.TABLET_SELECTED, "data"))
@require_roles(*ROLES)
def show_tasks(_clicks: int | None, _ticks: int | None, selected: Any) -> list[Any]:
    """My tasks, soonest deadline first."""
    services = get_services()
    with services.session() as session:
        actor = _actor(session)
        items = inspector_tasks(session, services.cases, actor) if actor else []
    chosen = selected if isinstance(selected, int) else None
    return task_list(items, chosen, current_lang(), services.cases.calendar.tz)


@dash.callback(Output(ids.TABLET_SELECTED, "data"),
               Input({"type": ids.TABLET_TASK, "index": ALL}, "n_clicks"),
               prevent_initial_call=True)
@require_roles(*ROLES)
def choose_task(clicks: list[int | None]) -> Any:
    """The task tapped (new buttons arriving with the list are not a tap)."""
    picked = ctx.triggered_id
    if not isinstance(picked, dict) or not any(clicks or []) or not ctx.triggered[0]["value"]:
        return no_update
    index = picked.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) else no_update


@dash.callback(Output(ids.TABLET_DETAIL, "children"), Input(ids.TABLET_SELECTED, "data"),
               Input(ids.TABLET_REFRESH, "n_clicks"), prevent_initial_call=True)
@require_roles(*ROLES)
def show_detail(selected: Any, _clicks: int | None) -> Any:
    """The chosen case: facts, map, photos, history, and the verification form."""
    if not isinstance(selected, int) or isinstance(selected, bool):
        return no_update
    services = get_services()
    with services.session() as session:
        actor = _actor(session)
        detail = task_detail(session, services.cases, selected, actor) if actor else None
    return detail_panel(detail, current_lang(), services.cases.calendar.tz,
                        services.settings.tile_url)
