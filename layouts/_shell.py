"""The app shell: a compact navbar (title, the pages this role may see, who is signed in,
language switch, sign out) above ``dash.page_container``. Built per request."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import dash
import flask
from dash import dcc, html

from api.auth import STAFF_ROLES, current_principal
from i18n import current_lang, t
from layouts import _ids as ids


def _current_path() -> str:
    """The page path the browser shows (the layout itself is fetched from /_dash-layout)."""
    referrer = urlsplit(flask.request.referrer or "")
    if referrer.netloc == flask.request.host and referrer.path.startswith("/"):
        return referrer.path
    return "/"


def _kiosk() -> bool:
    """``/?kiosk=1``: the big screen on a video wall, without the navbar (the page itself
    keeps a small way back)."""
    referrer = urlsplit(flask.request.referrer or "")
    if referrer.netloc != flask.request.host or (referrer.path or "/") != "/":
        return False
    return parse_qs(referrer.query).get("kiosk", [""])[-1] in ("1", "true", "yes")


def _nav_links(role: str, here: str) -> list[dcc.Link]:
    """Links to the registered pages whose ``roles`` include ``role`` and that name a nav key."""
    links = []
    for page in dash.page_registry.values():
        key = page.get("nav_key")
        if key and role in page.get("roles", STAFF_ROLES):
            active = " active" if page["path"] == here else ""
            links.append(dcc.Link(t(key), href=page["path"], className="nav-link" + active))
    return links


def shell() -> html.Div:
    """The top-level layout of every page (Dash calls it for each page load)."""
    who = current_principal()
    here = _current_path()
    if who is not None and _kiosk():
        return html.Div(html.Main(dash.page_container, className="og-main"),
                        className="og-app og-kiosk")
    other = "en" if current_lang() == "zh-CN" else "zh-CN"
    right: list = []
    links: list = []
    if who is not None:
        links = _nav_links(who.role, here)
        right = [
            html.Span([html.Span(who.display_name, className="og-user-name"),
                       html.Span(t(f"role.{who.role}"), className="badge og-role ms-2")],
                      id=ids.SHELL_USER, className="navbar-text me-3"),
        ]
    right += [
        html.A(t("lang.switch"), href=f"/lang/{other}?next={quote(here)}", id=ids.SHELL_LANG,
               className="nav-link", lang=other),
        html.A(t("nav.logout"), href="/logout", id=ids.SHELL_LOGOUT, className="nav-link"),
    ]
    navbar = html.Nav(
        html.Div([
            html.A(t("app.title"), href="/", className="navbar-brand og-brand"),
            html.Div(links, id=ids.SHELL_NAV, className="navbar-nav me-auto"),
            html.Div(right, className="navbar-nav align-items-center"),
        ], className="container-fluid"),
        className="navbar navbar-expand navbar-dark og-navbar",
    )
    return html.Div([navbar, html.Main(dash.page_container, className="og-main")],
                    className="og-app")
