"""The big screen (指挥大屏): the whole city's situation for the command center's wall."""

from __future__ import annotations

import dash
from dash import html

from api.auth import current_principal
from i18n import add_messages, t
from layouts._components import notice

ROLES = ("command", "leader", "admin")

add_messages({
    "nav.bigscreen": {"zh-CN": "指挥大屏", "en": "Big screen"},
    "bigscreen.title": {"zh-CN": "城市运行指挥大屏", "en": "City operations big screen"},
})

dash.register_page(
    __name__,
    path="/",
    name="bigscreen",
    roles=ROLES,
    nav_key="nav.bigscreen",
    title=lambda **_: f"{t('bigscreen.title')} · {t('app.short')}",
)


def layout(**_query: str) -> html.Div:
    who = current_principal()
    if who is None or who.role not in ROLES:
        return notice(t("forbidden.title"), t("forbidden.text"), "danger")
    return html.Div(html.H1(t("bigscreen.title"), className="og-page-title"),
                    id="bigscreen-root")
