"""A shop's public QR page (门前三包, ``/s/<token>``): no login, phone-sized, no script.

* ``GET /s/<token>`` — the shop, its duties, zone, problems, score and ratings; for a signed-in
  inspector or command staff also the inspection form and the shop's case history.
* ``POST /s/<token>/rate`` — a citizen's rating; ``POST /s/<token>/report`` — a citizen's
  problem report with a photo (waits for the command desk); ``POST /s/<token>/inspect`` — an
  inspection (registered and dispatched at once; inspectors and command staff only).
* ``GET /s/<token>/photo/<sha256>`` — a photo of one of the shop's public cases
  (``?thumb=1``: a small JPEG, made once and kept beside the media).

Forms carry the session's CSRF token (the signed session cookie works for anonymous
visitors too). Abuse limits live in ``data.shop_ratings``. The routes stay thin: read models
in ``data.shop_views``, writes in ``data.shop_ratings`` / ``data.shop_reports``, HTML in
``api.public_html``.
"""

from __future__ import annotations

import secrets
from typing import Any

import flask
from werkzeug.exceptions import RequestEntityTooLarge

from api import public_html as html
from api import public_owner
from api.auth import _csrf_token, check_csrf, current_principal
from data import shop_ratings, shop_reports, shop_views
from data.cases import CaseError, actor_for
from data.models import Shop, User
from data.types import utcnow
from i18n import current_lang, t
from services import get_services

bp = flask.Blueprint("public", __name__)
bp.register_blueprint(public_owner.bp)  # the shop owner's part: POST /s/<token>/rectify

DEVICE_COOKIE = "onegrid_device"
DEVICE_MAX_AGE = 2 * 365 * 86400
#: Roles that see the inspection form on top of the public page.
INSPECT_ROLES = ("inspector", "command")


# -- the visitor ---------------------------------------------------------------------------------
def _secret() -> str:
    return str(flask.current_app.config["SECRET_KEY"])


def _client_hash() -> str:
    return shop_ratings.keyed_hash(_secret(), "ip", flask.request.remote_addr or "?")


def _device_id() -> str:
    """The device's random id from its cookie, or a new one (set on the response)."""
    found = flask.request.cookies.get(DEVICE_COOKIE, "")
    if 16 <= len(found) <= 64 and found.replace("-", "").replace("_", "").isalnum():
        return found
    if "new_device" not in flask.g:
        flask.g.new_device = secrets.token_urlsafe(24)
    return str(flask.g.new_device)


@bp.after_app_request
def _set_device_cookie(response: flask.Response) -> flask.Response:
    new = flask.g.get("new_device")
    if new:
        response.set_cookie(DEVICE_COOKIE, new, max_age=DEVICE_MAX_AGE, httponly=True,
                            samesite="Lax", path="/s/")
    return response


def _staff() -> Any:
    who = current_principal()
    return who if who is not None and who.role in INSPECT_ROLES else None


def _lookup(token: str) -> tuple[shop_views.TokenLookup, flask.Response | None]:
    """The token's shop, or the clear page to answer instead (bad, revoked, inactive)."""
    services = get_services()
    with services.session() as session:
        found = shop_views.find_shop(session, token)
    lang = current_lang()
    hotline = services.settings.hotline
    if found.status == "unknown":
        return found, _plain(t("shop_page.bad_token.title", lang),
                             t("shop_page.bad_token.text", lang), 404, hotline=hotline)
    if found.status == "revoked":
        return found, _plain(t("shop_page.revoked.title", lang),
                             t("shop_page.revoked.text", lang), 410, token=token,
                             hotline=hotline)
    if found.status == "inactive":
        return found, _plain(t("shop_page.inactive.title", lang),
                             t("shop_page.inactive.text", lang), 410, token=token,
                             hotline=hotline)
    return found, None


def _plain(title: str, text: str, status: int, **kw: Any) -> flask.Response:
    response = flask.Response(html.message_page(title, text, current_lang(), **kw), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _too_many(error: shop_ratings.RatingError) -> flask.Response:
    lang = current_lang()
    response = _plain(t("shop_page.too_many.title", lang),
                      error.message_zh if lang == "zh-CN" else error.message, 429)
    response.headers["Retry-After"] = "60" if error.code == "too_many_views" else "3600"
    return response


def _msg(error: Any) -> str:
    return error.message_zh if current_lang() == "zh-CN" else error.message


def _render(token: str, shop_id: int, *, status: int = 200, errors: dict[str, str] | None = None,
            values: dict[str, str] | None = None,
            notices: dict[str, str] | None = None) -> flask.Response:
    services = get_services()
    staff = _staff() is not None
    lang = current_lang()
    notices = dict(notices or {})
    args = flask.request.args
    with services.session() as session:
        page = shop_views.shop_page(session, shop_id, now=utcnow(), staff=staff)
        if args.get("done") == "rate":
            notices["rate"] = t("shop_page.rate_thanks", lang)
        elif args.get("done") == "report" and args.get("ref", "").isdigit():
            case = shop_reports.case_of_shop(session, shop_id, int(args["ref"]))
            if case is not None:
                notices["report"] = t("shop_page.report_thanks", lang).format(code=case.code)
        elif staff and args.get("case", "").isdigit():
            case = shop_reports.case_of_shop(session, shop_id, int(args["case"]))
            if case is not None:
                notices["inspect"] = t("shop_page.inspect_done", lang).format(
                    code=case.code, status=html._status(case.status, lang),
                    deadline=html._when(case.deadline_at, services.cases.calendar.tz)
                    if case.deadline_at else t("shop_page.no_deadline", lang))
    state = html.PageState(token=token, lang=lang, tz=services.cases.calendar.tz,
                           csrf=_csrf_token(), hotline=services.settings.hotline, staff=staff,
                           errors=errors or {}, values=values or {}, notices=notices,
                           owner=public_owner.owner_part(token, shop_id, errors, values))
    body = html.shop_page_html(page, state, comment_max=shop_ratings.COMMENT_MAX,
                               note_max=shop_reports.NOTE_MAX)
    response = flask.Response(body, status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    _device_id()  # give the device its cookie with the page, before it rates
    return response


def _count(limit: shop_ratings.Limit) -> flask.Response | None:
    """Count this request against ``limit``; the 429 page when over it."""
    with get_services().transaction() as session:
        within = shop_ratings.hit(session, limit, _client_hash(), utcnow())
    return None if within else _too_many(shop_ratings.too_many(limit))


# -- routes ---------------------------------------------------------------------------------
@bp.route("/s", defaults={"rest": ""})
@bp.route("/s/", defaults={"rest": ""})
@bp.route("/s/<path:rest>", methods=["GET", "POST"])
def no_such_code(rest: str) -> flask.Response:
    """Anything else under the public prefix: the bad-code page (never the Dash shell)."""
    lang = current_lang()
    return _plain(t("shop_page.bad_token.title", lang), t("shop_page.bad_token.text", lang),
                  404, hotline=get_services().settings.hotline)


@bp.route("/s/<token>")
def shop_page(token: str) -> flask.Response:
    found, refusal = _lookup(token)
    if refusal is not None:
        return refusal
    if _staff() is None and (over := _count(shop_ratings.VIEWS)) is not None:
        return over
    assert found.shop_id is not None
    return _render(token, found.shop_id)


def _form() -> dict[str, str] | None:
    """The posted fields (None when the upload was too large to read)."""
    try:
        return {k: v for k, v in flask.request.form.items() if k != "csrf"}
    except RequestEntityTooLarge:
        return None


def _posted(token: str, part: str) -> tuple[int, dict[str, str]] | flask.Response:
    """A form posted to a shop's page: (shop id, fields), or the page that refuses it (bad
    code, too large, no CSRF token), its message under ``part``."""
    found, refusal = _lookup(token)
    if refusal is not None:
        return refusal
    assert found.shop_id is not None
    values = _form()
    if values is None:
        return _render(token, found.shop_id, status=413, errors={
            part: t("shop_page.too_large")})
    if not check_csrf():
        return _render(token, found.shop_id, status=400, values=values,
                       errors={part: t("shop_page.csrf")})
    return found.shop_id, values


@bp.route("/s/<token>/rate", methods=["POST"])
def rate(token: str) -> flask.Response:
    posted = _posted(token, "rate")
    if isinstance(posted, flask.Response):
        return posted
    shop_id, values = posted
    if (over := _count(shop_ratings.ACTIONS)) is not None:
        return over
    services = get_services()
    now = utcnow()
    day = now.astimezone(services.cases.calendar.tz).strftime("%Y-%m-%d")
    try:
        with services.transaction() as session:
            shop_ratings.rate_shop(
                session, shop_id, stars=values.get("stars"), comment=values.get("comment"),
                device=shop_ratings.keyed_hash(_secret(), "device", _device_id()),
                client=_client_hash(), day=day, now=now)
    except shop_ratings.RatingError as exc:
        status = 409 if exc.code == "already_rated" else 400
        return _render(token, shop_id, status=status, values=values,
                       errors={"rate": _msg(exc)})
    return flask.redirect(f"/s/{token}?done=rate#rate", 303)


def _upload(storage: Any) -> shop_reports.Upload:
    return shop_reports.Upload(storage.read() if storage else b"",
                               storage.filename if storage else None)


@bp.route("/s/<token>/report", methods=["POST"])
def report(token: str) -> flask.Response:
    posted = _posted(token, "report")
    if isinstance(posted, flask.Response):
        return posted
    shop_id, values = posted
    if (over := _count(shop_ratings.ACTIONS)) is not None:
        return over
    services = get_services()
    try:
        with services.transaction() as session:
            shop = session.get(Shop, shop_id)
            case = shop_reports.report_by_citizen(
                session, services.cases, services.settings.media_dir, shop,
                problem_key=values.get("problem"), note=values.get("note"),
                photo=_upload(flask.request.files.get("photo")))
            case_id = case.id
    except (shop_reports.ReportError, CaseError) as exc:
        return _render(token, shop_id, status=400, values=values,
                       errors={"report": _msg(exc)})
    return flask.redirect(f"/s/{token}?done=report&ref={case_id}#report", 303)


@bp.route("/s/<token>/inspect", methods=["POST"])
def inspect(token: str) -> flask.Response:
    who = _staff()
    if who is None:
        _, refusal = _lookup(token)  # a bad code's own page first
        return refusal or _plain(t("forbidden.title"), t("shop_page.not_allowed"), 403,
                                 token=token)
    posted = _posted(token, "inspect")
    if isinstance(posted, flask.Response):
        return posted
    shop_id, values = posted
    services = get_services()
    photos = [_upload(f) for f in flask.request.files.getlist("photos") if f and f.filename]
    try:
        with services.transaction() as session:
            shop = session.get(Shop, shop_id)
            user = session.get(User, who.user_id)
            case = shop_reports.report_by_inspector(
                session, services.cases, services.settings.media_dir, shop,
                actor=actor_for(session, user), problem_key=values.get("problem"),
                note=values.get("note"), photos=photos)
            case_id = case.id
    except (shop_reports.ReportError, CaseError) as exc:
        return _render(token, shop_id, status=400, values=values,
                       errors={"inspect": _msg(exc)})
    return flask.redirect(f"/s/{token}?case={case_id}#shop-inspect", 303)


@bp.route("/s/<token>/photo/<sha256>")
def photo(token: str, sha256: str) -> flask.Response:
    from api.media import EXTENSIONS, SHA256

    if not SHA256.match(sha256):
        flask.abort(404)
    services = get_services()
    with services.session() as session:
        found = shop_views.find_shop(session, token)
        mime = (shop_views.photo_of_shop(session, found.shop_id, sha256)
                if found.status == "ok" and found.shop_id is not None else None)
    if mime is None:
        flask.abort(404)
    media = services.settings.media_dir
    path = media / sha256[:2] / sha256[2:4] / f"{sha256}.{EXTENSIONS.get(mime, 'bin')}"
    if not path.is_file():
        flask.abort(404)
    if flask.request.args.get("thumb"):
        small = shop_views.thumbnail(media, path, sha256)
        if small is not None:
            path, mime = small, "image/jpeg"
    response = flask.send_file(path, mimetype=mime, max_age=365 * 86400, conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
