"""Callbacks of the case page (案件详情): read one case as the signed-in user may see it."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output

from api.auth import STAFF_ROLES, current_principal, require_roles
from data.case_views import case_page, visibility_for
from data.cases import actor_for
from data.models import User
from i18n import current_lang, t
from layouts import _ids as ids
from layouts import case as page
from layouts._components import notice
from services import get_services


@dash.callback(Output(ids.CASE_BODY, "children"), Input(ids.CASE_ID, "data"))
@require_roles(*STAFF_ROLES)
def show_case(raw_id: Any) -> Any:
    """The whole case, or one notice for a case that is missing or not the user's to see."""
    case_id = page.parse_case_id(raw_id)
    if case_id is None:
        return notice(t("case.bad_id.title"), t("case.bad_id.text") + str(raw_id)[:40])
    services = get_services()
    who = current_principal()
    with services.session() as session:
        user = session.get(User, who.user_id) if who is not None else None
        found = None
        if user is not None:
            actor = actor_for(session, user)
            found = case_page(session, services.cases, case_id, visibility_for(actor), actor)
    if found is None:
        return page.not_found()
    return page.case_view(found, current_lang(), services.cases.calendar.tz,
                          services.settings.tile_url)
