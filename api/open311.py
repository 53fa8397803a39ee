"""Open311 GeoReport v2 (市民上报接口) at ``/open311/v2/``: thin routes over
``api.open311_format`` (the format) and ``data.case_views`` / ``data.cases`` (the cases).

GETs are public, as GeoReport v2 intends (``/open311/`` is in ``api.auth.PUBLIC_PREFIXES``).
``POST requests`` is authenticated by its ``api_key`` alone — an API token issued with
``python app.py token create`` — never by a session cookie, so it needs no CSRF token and a
browser's session cannot be borrowed for it. A request becomes a case with source
``open311``, reported by a citizen (or by the token's user when that user may report).
Every answer, errors included, is in the format the path asks for (``.json`` or ``.xml``).
"""

from __future__ import annotations

import logging
from typing import Any

import flask
from werkzeug.exceptions import HTTPException

from api.open311_format import (
    DEFAULT_LANG,
    Error,
    NewRequest,
    Service,
    discovery,
    http_status,
    parse_post_request,
    parse_request_filters,
    parse_service_code,
    post_response,
    render,
    request_to_open311,
    services_from_catalogue,
)
from cases.workflow import Actor
from data.accounts import user_for_token
from data.case_views import public_requests
from data.cases import CaseError, actor_for, report_case
from data.types import utcnow
from services import get_services

log = logging.getLogger("onegrid.open311")
PREFIX = "/open311/v2"
bp = flask.Blueprint("open311", __name__, url_prefix=PREFIX)
FMT = "<any(json,xml):fmt>"
#: Roles whose own actor reports an Open311 request; any other key reports as a citizen.
REPORTING_ROLES = ("inspector", "command")
CHANGESET = "2026-01-01T00:00:00Z"
_TEXT = {
    "bad_key": ("api_key is not valid (unknown, revoked or expired): ask the city for a key.",
                "api_key 无效（不存在、已吊销或已过期），请向城市管理部门申请。"),
    "not_found": ("service_request_id {value!r} was not found.",
                  "找不到编号为 {value!r} 的上报。"),
    "service": ("service_code {value!r} was not found: pick one from GET services.",
                "找不到 service_code {value!r}，请从 GET services 中选择。"),
    "refused": ("The request could not be recorded: {value}", "上报未能受理：{value}"),
    "failed": ("The server failed to answer; the error was logged. Try again later.",
               "服务器处理失败，已记录日志，请稍后重试。"),
    "contact": ("Contact: the city management command center (城市管理指挥中心).",
                "联系：城市管理指挥中心。"),
    "key_service": ("API keys are issued by the administrator "
                    "('python app.py token create --user <account>').",
                    "API key 由系统管理员发放（python app.py token create --user <账号>）。"),
}


def _lang() -> str:
    asked = (flask.request.args.get("locale") or flask.request.args.get("lang") or "").lower()
    if asked:
        return "en" if asked.startswith("en") else DEFAULT_LANG
    best = flask.request.accept_languages.best_match(["zh-CN", "zh", "en"])
    return "en" if best == "en" else DEFAULT_LANG


def _text(key: str, lang: str, **kw: Any) -> str:
    return _TEXT[key][0 if lang == "en" else 1].format(**kw)


def _fmt() -> str:
    return "xml" if flask.request.path.endswith(".xml") else "json"


def _send(payload: Any, fmt: str, root: str, status: int = 200) -> flask.Response:
    body, content_type = render(payload, fmt, root)
    return flask.Response(body, status, content_type=content_type)


def _errors(errors: list[Error], fmt: str | None = None) -> flask.Response:
    codes = {e.code for e in errors}
    status = http_status(errors) if codes <= {400, 403, 404} else max(codes)
    return _send(errors, fmt or _fmt(), "errors", status)


def _services(lang: str) -> list[Service]:
    """The services citizens can report, limited to the categories the case engine knows."""
    svc = get_services()
    known = svc.cases.catalogue
    return [s for s in services_from_catalogue(svc.catalogue.event_types,
                                               svc.catalogue.component_types, lang)
            if (pair := parse_service_code(s.service_code)) and known.get(*pair) is not None]


# -- errors in the client's format --------------------------------------------------------------
def _http_error(exc: HTTPException) -> flask.Response:
    return _errors([Error(exc.code or 500, exc.description or exc.name)])


@bp.errorhandler(HTTPException)
def _bp_http_error(exc: HTTPException) -> flask.Response:
    return _http_error(exc)


@bp.errorhandler(Exception)
def _crash(exc: Exception) -> flask.Response:
    log.exception("%s %s failed", flask.request.method, flask.request.path)
    return _errors([Error(500, _text("failed", _lang()))])


def _install_routing_errors(state: flask.blueprints.BlueprintSetupState) -> None:
    """404/405 raised while routing under ``/open311/`` are Open311 errors too; other paths go
    to whatever handler was there before."""
    app = state.app
    previous = app.error_handler_spec[None][None].get(HTTPException)

    def handle(exc: HTTPException) -> Any:
        if flask.request.path.startswith("/open311/"):
            return _http_error(exc)
        return previous(exc) if previous is not None else exc

    app.register_error_handler(HTTPException, handle)


bp.record_once(_install_routing_errors)


# -- routes --------------------------------------------------------------------------------------
@bp.get(f"/discovery.{FMT}")
def discovery_doc(fmt: str) -> flask.Response:
    lang = _lang()
    url = flask.request.url_root.rstrip("/") + PREFIX
    return _send(discovery(url, changeset=CHANGESET, contact=_text("contact", lang),
                           key_service=_text("key_service", lang)), fmt, "discovery")


@bp.get(f"/services.{FMT}")
def services_list(fmt: str) -> flask.Response:
    return _send(_services(_lang()), fmt, "services")


@bp.get(f"/services/<service_code>.{FMT}")
def service_definition(service_code: str, fmt: str) -> flask.Response:
    lang = _lang()
    found = next((s for s in _services(lang) if s.service_code == service_code), None)
    if found is None:
        return _errors([Error(404, _text("service", lang, value=service_code))], fmt)
    return _send(found.definition_to_open311(), fmt, "service_definition")


@bp.get(f"/requests.{FMT}")
def requests_list(fmt: str) -> flask.Response:
    svc = get_services()
    lang = _lang()
    filters = parse_request_filters(flask.request.args, utcnow(), lang=lang)
    if isinstance(filters, list):
        return _errors(filters, fmt)
    pairs = [p for c in filters.service_codes if (p := parse_service_code(c)) is not None]
    if filters.service_codes and not pairs:
        return _send([], fmt, "service_requests")
    with svc.session() as session:
        found = public_requests(session, svc.cases, codes=filters.service_request_ids,
                                categories=pairs, statuses=filters.statuses,
                                start=filters.start, end=filters.end, limit=filters.limit,
                                lang=lang)
    tz = svc.cases.calendar.tz
    return _send([request_to_open311(c, lang=lang, tz=tz) for c in found], fmt,
                 "service_requests")


@bp.get(f"/requests/<request_id>.{FMT}")
def request_one(request_id: str, fmt: str) -> flask.Response:
    svc = get_services()
    lang = _lang()
    with svc.session() as session:
        found = public_requests(session, svc.cases, codes=[request_id], include_hidden=True,
                                limit=1, lang=lang)
    if not found:
        return _errors([Error(404, _text("not_found", lang, value=request_id))], fmt)
    return _send([request_to_open311(found[0], lang=lang, tz=svc.cases.calendar.tz)], fmt,
                 "service_requests")


@bp.get("/<path:rest>")
def unknown(rest: str) -> flask.Response:
    """Any other GET under /open311/v2 (the pages' catch-all route would answer it in HTML)."""
    return _errors([Error(404, f"{PREFIX}/{rest} does not exist: see discovery.json")])


def _contact(req: NewRequest) -> str | None:
    name = " ".join(p for p in (req.first_name, req.last_name) if p)
    parts = [p for p in (name, req.email, req.phone) if p]
    return "; ".join(parts)[:100] or None


@bp.post(f"/requests.{FMT}")
def requests_create(fmt: str) -> flask.Response:
    svc = get_services()
    lang = _lang()
    form = flask.request.values
    key = (form.get("api_key") or "").strip()
    with svc.transaction() as session:
        user = user_for_token(session, key) if key else None
        if key and user is None:
            return _errors([Error(403, _text("bad_key", lang))], fmt)
        parsed = parse_post_request(form, _services(lang), lang=lang)
        if isinstance(parsed, list):
            return _errors(parsed, fmt)
        assert user is not None  # parse_post_request refuses a missing key (403)
        pair = parse_service_code(parsed.service_code)
        assert pair is not None  # it is one of _services()
        actor = actor_for(session, user) if user.role in REPORTING_ROLES else Actor("citizen")
        details = {k: v for k, v in {
            "service_code": parsed.service_code, "jurisdiction_id": parsed.jurisdiction_id,
            "address_id": parsed.address_id, "device_id": parsed.device_id,
            "account_id": parsed.account_id,
            "attributes": {k: list(v) for k, v in parsed.attributes.items()} or None,
            "api_user": user.username}.items() if v is not None}
        data: dict[str, Any] = {"open311": details}
        if parsed.media_url:
            data["media_url"] = parsed.media_url
        try:  # a CaseError is raised before anything is written
            case = report_case(
                session, svc.cases, kind=pair[0], code=pair[1], actor=actor, source="open311",
                lon=parsed.lon, lat=parsed.lat, description=parsed.description,
                address=parsed.address_string, reporter_contact=_contact(parsed),
                external_id=(parsed.account_id or parsed.device_id), data=data,
                origin="open311")
        except CaseError as exc:
            message = exc.message if lang == "en" else exc.message_zh
            return _errors([Error(400, _text("refused", lang, value=message))], fmt)
        code = case.code
    return _send(post_response(code, account_id=parsed.account_id), fmt, "service_requests")
