"""Login, logout, the language switch and the server-side guard in front of every route.

* Every request except the public ones below needs a signed-in user (session cookie,
  HttpOnly, SameSite=Lax) or, on ``/api/``, a bearer API token.
* Unauthenticated page requests are sent to ``/login``; anything else gets 401.
* Pages declare the roles that may see them (``roles=`` on ``dash.register_page``); the guard
  refuses other roles with 403 before any layout is built, and :func:`require_roles` does the
  same inside callbacks, so a callback fired by hand is refused too.
* Form posts carry a CSRF token; Dash's JSON posts must come from our own origin.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable
from functools import wraps
from html import escape
from typing import Any, TypeVar
from urllib.parse import urlsplit

import dash
import flask
from werkzeug.exceptions import Forbidden, Unauthorized

from data.accounts import Principal, authenticate, principal, user_for_token
from data.models import User
from i18n import LANG_COOKIE, current_lang, t
from services import get_services

bp = flask.Blueprint("auth", __name__)

PUBLIC_PREFIXES = (
    "/login", "/logout", "/lang/", "/healthz", "/assets/", "/_dash-component-suites/",
    "/_favicon.ico", "/favicon.ico", "/open311/", "/s/", "/s/r/",
)
STAFF_ROLES = ("command", "inspector", "handler", "leader", "admin")
#: Where ``/`` (the big screen) sends a role that may not see it: its own home page.
HOME_PATHS = {"inspector": "/tablet", "handler": "/handler"}
F = TypeVar("F", bound=Callable[..., Any])


def _is_public(path: str) -> bool:
    return any(path == p.rstrip("/") or path.startswith(p) for p in PUBLIC_PREFIXES)


def current_principal() -> Principal | None:
    """The signed-in user of this request (loaded once per request, re-checked as active)."""
    if "principal" in flask.g:
        return flask.g.principal
    found: Principal | None = None
    services = get_services()
    header = flask.request.headers.get("Authorization", "")
    with services.transaction() as session:
        if header.startswith("Bearer ") and flask.request.path.startswith("/api/"):
            user = user_for_token(session, header[7:].strip())
            found = principal(user) if user is not None else None
        else:
            user_id = flask.session.get("user_id")
            if isinstance(user_id, int):
                user = session.get(User, user_id)
                if user is not None and user.active:
                    found = principal(user)
    flask.g.principal = found
    return found


def require_roles(*roles: str) -> Callable[[F], F]:
    """Decorate a Dash callback (or route): refuse with 403 unless the user has one of ``roles``."""

    def decorate(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            who = current_principal()
            if who is None:
                raise Unauthorized("sign in first")
            if who.role not in roles:
                raise Forbidden(f"role {who.role!r} may not do this")
            return fn(*args, **kwargs)

        wrapper.roles = roles  # type: ignore[attr-defined]  (read by tests/integration/test_roles.py)
        return wrapper  # type: ignore[return-value]

    return decorate


def page_roles(path: str) -> tuple[str, ...] | None:
    """The roles a Dash page allows, from its registration (None: not a page path)."""
    path = path.rstrip("/") or "/"
    for page in dash.page_registry.values():
        template = page.get("path_template")
        if page.get("path") == path or (template and _template_matches(template, path)):
            return tuple(page.get("roles", STAFF_ROLES))
    return None


def _template_matches(template: str, path: str) -> bool:
    """Whether ``path`` is an instance of a page's ``path_template`` (``/cases/<case_id>``)."""
    pattern = re.sub(r"<[^>/]+>", "[^/]+", re.escape(template).replace(r"\<", "<")
                     .replace(r"\>", ">"))
    return re.fullmatch(pattern, path) is not None


def _same_origin() -> bool:
    origin = flask.request.headers.get("Origin") or flask.request.headers.get("Referer")
    if not origin:
        return True
    return urlsplit(origin).netloc == flask.request.host


def guard() -> flask.Response | None:
    """``before_request``: authentication, page roles and origin checks for every route."""
    path = flask.request.path
    if _is_public(path):
        return None
    who = current_principal()
    if who is None:
        wants_html = flask.request.method == "GET" and "text/html" in flask.request.headers.get(
            "Accept", "")
        if wants_html and not path.startswith(("/api/", "/_dash")):
            return flask.redirect(flask.url_for("auth.login", next=path))
        return flask.Response('{"error": {"code": "unauthenticated", "message": "sign in first '
                              '(session) or send Authorization: Bearer <API token>", '
                              '"message_zh": "\\u8bf7\\u5148\\u767b\\u5f55"}}', 401,
                              mimetype="application/json")
    if flask.request.method == "POST" and path.startswith("/_dash") and not _same_origin():
        return flask.Response('{"error": "cross-origin request refused"}', 403,
                              mimetype="application/json")
    if who.role == "shop_owner" and path != "/":  # its pages: its shop's (/s/…), nothing else
        return forbidden_page()
    roles = page_roles(path) if flask.request.method == "GET" else None
    if roles is not None and who.role not in roles:
        home = HOME_PATHS.get(who.role)
        if path == "/" and who.role == "shop_owner":  # home: the owner's shop page
            from api.public_owner import owner_home

            home = owner_home(who.user_id)
        if path == "/" and home is not None:
            return flask.redirect(home)
        return forbidden_page()
    return None


def forbidden_page() -> flask.Response:
    body = (f"<h1>{escape(t('forbidden.title'))}</h1><p>{escape(t('forbidden.text'))}</p>"
            f'<p><a href="/logout">{escape(t("nav.logout"))}</a></p>')
    return flask.Response(_page(t("forbidden.title"), body), 403)


def _page(title: str, body: str) -> str:
    lang = current_lang()
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · {escape(t('app.short'))}</title>"
        '<link rel="stylesheet" href="/assets/bootstrap.min.css">'
        '<link rel="stylesheet" href="/assets/onegrid.css"></head>'
        f'<body class="og-plain">{body}</body></html>'
    )


def _csrf_token() -> str:
    token = flask.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        flask.session["csrf"] = token
    return token


def check_csrf() -> bool:
    sent = flask.request.form.get("csrf", "")
    expected = flask.session.get("csrf", "")
    return bool(expected) and hmac.compare_digest(sent, expected)


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _login_form(error: str = "", username: str = "", next_url: str = "/") -> str:
    other = "en" if current_lang() == "zh-CN" else "zh-CN"
    alert = f'<div class="alert alert-danger" role="alert">{escape(error)}</div>' if error else ""
    return _page(t("login.title"), f"""
<main class="og-login card shadow-sm">
  <div class="card-body">
    <h1 class="h4 mb-3">{escape(t("app.title"))}</h1>
    {alert}
    <form method="post" action="/login" autocomplete="on">
      <input type="hidden" name="csrf" value="{escape(_csrf_token())}">
      <input type="hidden" name="next" value="{escape(next_url)}">
      <label class="form-label" for="login-username">{escape(t("login.username"))}</label>
      <input class="form-control form-control-lg mb-3" id="login-username" name="username"
             value="{escape(username)}" autocomplete="username" required autofocus>
      <label class="form-label" for="login-password">{escape(t("login.password"))}</label>
      <input class="form-control form-control-lg mb-3" id="login-password" name="password"
             type="password" autocomplete="current-password" required>
      <button class="btn btn-primary btn-lg w-100" id="login-submit" type="submit">
        {escape(t("login.submit"))}</button>
    </form>
    <p class="mt-3 mb-0 text-end">
      <a href="/lang/{other}?next=/login">{escape(t("lang.switch"))}</a></p>
  </div>
</main>""")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_url = _safe_next(flask.request.values.get("next"))
    if flask.request.method == "GET":
        return _login_form(next_url=next_url)
    username = flask.request.form.get("username", "").strip()
    password = flask.request.form.get("password", "")
    if not check_csrf():
        return _login_form(t("login.csrf"), username, next_url), 400
    if not username or not password:
        return _login_form(t("login.missing"), username, next_url), 400
    with get_services().transaction() as session:
        user, reason = authenticate(session, username, password)
        who = principal(user) if user is not None else None
    if who is None:
        return _login_form(t(f"login.{reason}"), username, next_url), 401
    flask.session.clear()
    flask.session.permanent = True
    flask.session["user_id"] = who.user_id
    flask.session["csrf"] = secrets.token_urlsafe(32)
    return flask.redirect(next_url)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Any:
    flask.session.clear()
    return flask.redirect(flask.url_for("auth.login"))


@bp.route("/lang/<code>")
def switch_language(code: str) -> Any:
    if code not in ("zh-CN", "en"):
        flask.abort(404)
    response = flask.redirect(_safe_next(flask.request.args.get("next")))
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


def install(server: flask.Flask) -> None:
    """Register the blueprint and the guard on the Flask server."""
    server.register_blueprint(bp)
    server.before_request(guard)
