"""The JSON API (``/api/v1``): cases, their transitions, the registration queue, indicators.

Authentication is the guard's (``api.auth``): a session, or ``Authorization: Bearer og_…``.
Every route here also names the roles that may call it. Errors are always JSON:
``{"error": {"code", "message", "message_zh"}}`` with 400 (bad input), 401, 403 (role),
404 (missing or not visible), 405, 409 (the workflow refused: ``CaseError``) or 500.

Routes are thin: they parse, call ``data.case_views`` / ``data.cases``, and shape the answer.

``POST /cases`` and ``POST /cases/<id>/transitions`` take a client ``request_id`` (or an
``Idempotency-Key`` header): a retry of a request already applied answers its first result
with 200 and changes nothing (the tablet's outbox relies on it). ``POST /uploads`` stores a
photo checked by its content (``data.uploads``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from functools import wraps
from typing import Any, TypeVar

import flask
from werkzeug.exceptions import HTTPException

from api.auth import current_principal
from cases.workflow import STATE_LABELS, STATES, Actor
from data.case_views import (
    MAX_PER_PAGE,
    CaseFilters,
    case_detail,
    event_dict,
    is_visible,
    list_cases,
    registration_queue,
    summary,
    visibility_for,
)
from data.cases import CaseError, actor_for, department_id, load_case, report_case, transition
from data.models import Case, Department, User
from data.tasks import case_for_request, event_for_request, lock_for_request
from data.types import utcnow
from data.uploads import MAX_BYTES, UploadError, store_upload, too_large
from services import get_services

log = logging.getLogger("onegrid.api")
bp = flask.Blueprint("api_v1", __name__, url_prefix="/api/v1")
PREFIX = "/api/v1"

READ_ROLES = ("command", "leader", "admin", "handler", "inspector")
ACT_ROLES = READ_ROLES
REPORT_ROLES = ("inspector", "command")
QUEUE_ROLES = ("command", "admin")
METRICS_ROLES = ("leader", "command", "admin")
METRIC_GROUPS = ("district", "street", "community", "grid", "department", "inspector", "city")
#: Area filters: query parameter → code length (administrative codes nest by prefix).
AREA_LEVELS = {"district": 6, "street": 9, "community": 12, "grid": 15}
#: CaseError codes that mean the input was wrong (400) or the case is missing (404); every
#: other code is a refusal by the workflow (409).
CASE_ERROR_STATUS = {"not_found": 404, "unknown_category": 400, "bad_urgency": 400,
                     "unknown_department": 400}
MAX_ATTACHMENTS = 20
UPLOAD_ROLES = ACT_ROLES
#: A client's request id (idempotency key): what a retry sends again to be recognised.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{7,63}$")
UPLOAD_STATUS = {"too_large": 413, "unsupported_type": 415}
_DEPT_CODE = re.compile(r"^[A-Za-z0-9_\-]{1,20}$")
F = TypeVar("F", bound=Callable[..., Any])


# -- errors ------------------------------------------------------------------------------------
class ApiError(Exception):
    """An answer other than success: HTTP status, machine code, messages in both languages."""

    def __init__(self, status: int, code: str, message: str, message_zh: str | None = None):
        super().__init__(message)
        self.status, self.code = status, code
        self.message, self.message_zh = message, message_zh or message


def _bad(code: str, message: str, message_zh: str) -> ApiError:
    return ApiError(400, code, message, message_zh)


def error_response(status: int, code: str, message: str,
                   message_zh: str | None = None) -> flask.Response:
    response = flask.jsonify({"error": {"code": code, "message": message,
                                        "message_zh": message_zh or message}})
    response.status_code = status
    return response


_HTTP_ZH = {400: "请求有误", 401: "请先登录或提供 API 令牌", 403: "无权执行此操作",
            404: "地址不存在", 405: "不支持此请求方法", 413: "请求内容过大",
            500: "服务器内部错误"}


def _http_error(exc: HTTPException) -> flask.Response:
    status = exc.code or 500
    message = exc.description or exc.name
    if status == 405 and isinstance(exc.valid_methods, list | tuple):
        message = f"method {flask.request.method} is not allowed here; use " + ", ".join(
            exc.valid_methods)
    code = (exc.name or "error").lower().replace(" ", "_")
    response = error_response(status, code, message,
                              _HTTP_ZH.get(status, exc.name))
    if status == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> flask.Response:
    return error_response(exc.status, exc.code, exc.message, exc.message_zh)


@bp.errorhandler(CaseError)
def _case_error(exc: CaseError) -> flask.Response:
    return error_response(CASE_ERROR_STATUS.get(exc.code, 409), exc.code, exc.message,
                          exc.message_zh)


@bp.errorhandler(HTTPException)
def _bp_http_error(exc: HTTPException) -> flask.Response:
    return _http_error(exc)


@bp.errorhandler(Exception)
def _crash(exc: Exception) -> flask.Response:
    log.exception("%s %s failed", flask.request.method, flask.request.path)
    return error_response(500, "internal_error", "the server failed to answer; the error was "
                          "logged — try again, and tell the administrator if it persists",
                          "服务器处理失败，已记录日志；请重试，如持续出现请联系管理员")


def _install_routing_errors(state: flask.blueprints.BlueprintSetupState) -> None:
    """404/405 raised while routing (before any blueprint is known) under ``/api/v1`` are
    answered in JSON too; other paths go to whatever handler was there before."""
    app = state.app
    previous = app.error_handler_spec[None][None].get(HTTPException)

    def handle(exc: HTTPException) -> Any:
        if flask.request.path == PREFIX or flask.request.path.startswith(PREFIX + "/"):
            return _http_error(exc)
        return previous(exc) if previous is not None else exc

    app.register_error_handler(HTTPException, handle)


bp.record_once(_install_routing_errors)


# -- who is calling ----------------------------------------------------------------------------
def roles(*allowed: str) -> Callable[[F], F]:
    """Refuse (403) unless the caller's role is one of ``allowed``."""

    def decorate(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            who = current_principal()
            if who is None:
                raise ApiError(401, "unauthorized", "sign in or send 'Authorization: Bearer "
                               "og_…' with an API token", "请先登录或提供 API 令牌")
            if who.role not in allowed:
                raise ApiError(403, "role_not_allowed",
                               f"role {who.role!r} may not do this; it needs one of "
                               + ", ".join(allowed),
                               f"角色 {who.role} 无权执行此操作")
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _caller(session: Any) -> tuple[User, Actor]:
    who = current_principal()
    assert who is not None  # roles() ran first
    user = session.get(User, who.user_id)
    if user is None or not user.active:
        raise ApiError(401, "unauthorized", "your account is no longer active",
                       "账号已停用")
    return user, actor_for(session, user)


# -- input -------------------------------------------------------------------------------------
def _int_arg(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise _bad("bad_" + name, f"{name} must be a whole number from {low} to {high}, "
                   f"not {raw!r}", f"{name} 须为 {low} 到 {high} 之间的整数，收到 {raw!r}")
    return value


def _paging(args: Mapping[str, str]) -> tuple[int, int]:
    return (_int_arg(args, "page", 1, 1, 10**6),
            _int_arg(args, "per_page", 50, 1, MAX_PER_PAGE))


def _bool_arg(args: Mapping[str, str], name: str) -> bool | None:
    raw = (args.get(name) or "").strip().lower()
    if raw == "":
        return None
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    raise _bad("bad_" + name, f"{name} must be true or false, not {raw!r}",
               f"{name} 须为 true 或 false，收到 {raw!r}")


def _day_start(text: str, name: str, tz: Any, *, after: bool = False) -> datetime:
    """An ISO date (or date-time) → an aware datetime; a date alone is its local midnight,
    or the next day's with ``after`` (so that ``to`` includes the whole day)."""
    try:
        if "T" in text or " " in text.strip():
            value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
            return value if value.tzinfo else value.replace(tzinfo=tz)
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise _bad("bad_" + name, f"{name} must be a date like 2026-11-17 (or an ISO date-time), "
                   f"not {text!r}", f"{name} 须为日期，如 2026-11-17，收到 {text!r}")
    if after:
        day += timedelta(days=1)
    return datetime.combine(day, time.min, tz)


def _filters(args: Mapping[str, str], tz: Any) -> CaseFilters:
    statuses = tuple(s.strip() for s in (args.get("status") or "").split(",") if s.strip())
    unknown = [s for s in statuses if s not in STATES]
    if unknown:
        raise _bad("bad_status", f"status {', '.join(unknown)} unknown: use "
                   + ", ".join(STATES), f"状态 {', '.join(unknown)} 无效")
    category = None
    if args.get("category"):
        kind, _, code = args["category"].partition(":")
        if get_services().cases.catalogue.get(kind, code) is None:
            raise _bad("bad_category", f"category {args['category']!r} unknown: use kind:code, "
                       "like event:0503", f"案件类别 {args['category']} 不存在")
        category = (kind, code)
    prefixes = []
    for level, length in AREA_LEVELS.items():
        code = (args.get(level) or "").strip()
        if code:
            if not (code.isdigit() and len(code) == length):
                raise _bad("bad_" + level, f"{level} must be a {length}-digit code, not {code!r}",
                           f"{level} 须为 {length} 位代码，收到 {code!r}")
            prefixes.append(code)
    department = (args.get("department") or "").strip() or None
    if department is not None and not _DEPT_CODE.match(department):
        raise _bad("bad_department", f"department {department!r} is not a department code",
                   f"部门代码 {department} 无效")
    reported_from = reported_to = None
    if args.get("reported_from"):
        reported_from = _day_start(args["reported_from"], "reported_from", tz)
    if args.get("reported_to"):
        reported_to = _day_start(args["reported_to"], "reported_to", tz, after=True)
    q = (args.get("q") or "").strip()[:100] or None
    return CaseFilters(statuses=statuses, category=category, area_prefixes=tuple(prefixes),
                       department_code=department, source=(args.get("source") or None),
                       supervised=_bool_arg(args, "supervised"),
                       overdue=_bool_arg(args, "overdue"), reported_from=reported_from,
                       reported_to=reported_to, q=q)


def _json_body() -> dict[str, Any]:
    body = flask.request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise _bad("bad_json", "the body must be a JSON object (Content-Type: "
                   "application/json), like {\"action\": \"register\"}",
                   "请求体须为 JSON 对象，如 {\"action\": \"register\"}")
    return body


def _text(body: Mapping[str, Any], name: str, limit: int = 4000) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise _bad("bad_" + name, f"{name} must be text of at most {limit} characters",
                   f"{name} 须为不超过 {limit} 个字符的文本")
    return value.strip() or None


def _coordinate(body: Mapping[str, Any], name: str, bound: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or not -bound <= value <= bound:
        raise _bad("bad_" + name, f"{name} must be a number from {-bound:g} to {bound:g} "
                   "(WGS84 degrees)", f"{name} 须为 {-bound:g} 到 {bound:g} 之间的数字（WGS84 度）")
    return float(value)


def _lonlat(body: Mapping[str, Any], *, required: bool) -> tuple[float | None, float | None]:
    lon, lat = _coordinate(body, "lon", 180.0), _coordinate(body, "lat", 90.0)
    if (lon is None) != (lat is None) or (required and lon is None):
        raise _bad("bad_location", "send lon and lat together (WGS84 degrees)",
                   "lon 和 lat 须同时提交（WGS84 度）")
    return lon, lat


def _attachments(body: Mapping[str, Any]) -> list[Any]:
    value = body.get("attachments") or []
    if not isinstance(value, list) or len(value) > MAX_ATTACHMENTS or not all(
            isinstance(a, str | dict) for a in value):
        raise _bad("bad_attachments", f"attachments must be a list of at most "
                   f"{MAX_ATTACHMENTS} file hashes or objects like {{\"sha256\": …}}",
                   f"attachments 须为不超过 {MAX_ATTACHMENTS} 个文件的列表")
    return value


def _data(body: Mapping[str, Any]) -> dict[str, Any]:
    value = body.get("data")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad("bad_data", "data must be a JSON object, like {\"department_id\": 3}",
                   "data 须为 JSON 对象")
    return dict(value)


def _request_id(body: Mapping[str, Any]) -> str | None:
    """The client's ``request_id`` (or the ``Idempotency-Key`` header): 8–64 letters, digits
    and ``_ . : -``. A retry of a request already applied returns its first result."""
    value = body.get("request_id")
    if value is None:
        value = flask.request.headers.get("Idempotency-Key")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _REQUEST_ID.match(value):
        raise _bad("bad_request_id", "request_id must be 8 to 64 letters, digits, '_', '.', "
                   "':' or '-' (a fresh random id per action, sent again with each retry)",
                   "request_id 须为 8 到 64 位字母、数字或 _ . : -"
                   "（每个操作一个随机编号，重试时不变）")
    return value


def _transition_answer(session: Any, case_id: int, event: Any) -> dict[str, Any]:
    return {"event": event_dict(session, event), "case": {
        "id": case_id, "status": event.to_state,
        "status_label": dict(zip(("zh", "en"), STATE_LABELS[event.to_state], strict=True))}}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Fraction):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


# -- routes ------------------------------------------------------------------------------------
@bp.get("/cases")
@roles(*READ_ROLES)
def cases_list() -> Any:
    services = get_services()
    args = flask.request.args
    filters = _filters(args, services.cases.calendar.tz)
    page, per_page = _paging(args)
    with services.transaction() as session:
        _, actor = _caller(session)
        items, total = list_cases(session, services.cases, filters, visibility_for(actor),
                                  page=page, per_page=per_page)
    return flask.jsonify({"items": items, "total": total, "page": page, "per_page": per_page})


@bp.get("/cases/<int:case_id>")
@roles(*READ_ROLES)
def case_get(case_id: int) -> Any:
    services = get_services()
    with services.transaction() as session:
        _, actor = _caller(session)
        found = case_detail(session, services.cases, case_id, visibility_for(actor), actor)
    if found is None:
        raise _not_found(case_id)
    return flask.jsonify(found)


def _not_found(case_id: int) -> ApiError:
    return ApiError(404, "not_found", f"case {case_id} does not exist or is not yours to see",
                    f"案件 {case_id} 不存在或无权查看")


@bp.post("/cases/<int:case_id>/transitions")
@roles(*ACT_ROLES)
def case_transition(case_id: int) -> Any:
    services = get_services()
    body = _json_body()
    action = body.get("action")
    if not isinstance(action, str) or not action:
        raise _bad("action_required", "action is required, like {\"action\": \"register\"}; "
                   "GET the case for its allowed_actions",
                   "缺少 action，请查看案件的 allowed_actions")
    reason, note = _text(body, "reason", 200), _text(body, "note")
    attachments, data = _attachments(body), _data(body)
    lon, lat = _lonlat(body, required=False)
    request_id = _request_id(body)
    if request_id is not None:
        data["request_id"] = request_id
    with services.transaction() as session:
        user, actor = _caller(session)
        if not is_visible(session, case_id, visibility_for(actor)):
            raise _not_found(case_id)
        if request_id is not None:
            load_case(session, case_id, lock=True)  # a concurrent copy waits for this one
            done = event_for_request(session, case_id, user.id, request_id)
            if done is not None:
                if done.action != action:
                    raise ApiError(409, "request_id_reused", f"request_id {request_id!r} was "
                                   f"used for '{done.action}' on this case; send a new id "
                                   "for a new action", f"request_id 已用于「{done.action}」操作，"
                                   "新的操作请使用新的编号")
                return flask.jsonify(_transition_answer(session, case_id, done)), 200
        if isinstance(body.get("department"), str) and "department_id" not in data:
            dept = department_id(session, body["department"])
            if dept is None:
                raise _bad("unknown_department", f"department {body['department']!r} does not "
                           "exist", f"部门 {body['department']} 不存在")
            data["department_id"] = dept
        event = transition(session, services.cases, case_id, action, actor, reason=reason,
                           note=note, attachments=attachments, data=data, lon=lon, lat=lat,
                           origin=_origin(body))
        session.flush()
        out = _transition_answer(session, case_id, event)
    return flask.jsonify(out), 201


def _origin(body: Mapping[str, Any]) -> str:
    """Where the action was taken: ``api``, or ``tablet`` when the tablet's outbox sent it."""
    return "tablet" if body.get("origin") == "tablet" else "api"


@bp.post("/cases")
@roles(*REPORT_ROLES)
def case_report() -> Any:
    services = get_services()
    cfg = services.cases
    body = _json_body()
    key = body.get("category")
    if not isinstance(key, str) or cfg.catalogue.by_key(key) is None:
        raise _bad("bad_category", f"category must be a known kind:code, like event:0503, not "
                   f"{key!r}", f"案件类别 {key} 不存在，格式如 event:0503")
    kind, _, code = key.partition(":")
    lon, lat = _lonlat(body, required=True)
    urgency = body.get("urgency")
    if urgency is not None and not isinstance(urgency, str):
        raise _bad("bad_urgency", "urgency must be urgent, normal or low", "紧急程度无效")
    description, title = _text(body, "description"), _text(body, "title", 200)
    attachments = _attachments(body)
    request_id = _request_id(body)
    status = 201
    with services.transaction() as session:
        user, actor = _caller(session)
        case: Case | None = None
        if request_id is not None:
            lock_for_request(session, request_id)
            case = case_for_request(session, user.id, request_id)
            status = 200 if case is not None else 201
        if case is None:
            case = report_case(session, cfg, kind=kind, code=code, actor=actor,
                               source=user.role, lon=lon, lat=lat, title=title,
                               description=description, urgency=urgency,
                               attachments=attachments, external_id=request_id,
                               origin=_origin(body))
        session.flush()
        dept = session.get(Department, case.department_id) if case.department_id else None
        out = summary(case, dept.code if dept else None, cfg, utcnow())
    response = flask.jsonify(out)
    response.status_code = status
    response.headers["Location"] = f"{PREFIX}/cases/{out['id']}"
    return response


@bp.post("/uploads")
@roles(*UPLOAD_ROLES)
def upload() -> Any:
    """Store a photo (multipart field ``file``): its real type is read from the content
    (JPEG, PNG or WebP), at most 10 MB. Answers ``{"sha256", "mime", "size", "url", "width",
    "height"}`` — 201 when stored now, 200 when the same content was stored before."""
    services = get_services()
    length = flask.request.content_length
    if length is not None and length > MAX_BYTES + 64 * 1024:  # the file plus form overhead
        raise _upload_error(too_large(length))
    if not (flask.request.mimetype or "").startswith("multipart/form-data"):
        raise _bad("multipart_required", "send the photo as multipart/form-data in the field "
                   "'file'", "请以 multipart/form-data 格式在 file 字段中上传照片")
    file = flask.request.files.get("file")
    if file is None:
        raise _bad("file_required", "no file: send the photo in the multipart field 'file'",
                   "未收到文件：请在 file 字段中上传照片")
    data = file.stream.read(MAX_BYTES + 1)
    who = current_principal()
    try:
        with services.transaction() as session:
            stored = store_upload(session, services.settings.media_dir, data,
                                  uploaded_by=who.user_id if who else None,
                                  original_name=file.filename)
    except UploadError as exc:
        raise _upload_error(exc) from None
    return flask.jsonify({"sha256": stored.sha256, "mime": stored.mime, "size": stored.size,
                          "url": stored.url, "width": stored.width,
                          "height": stored.height}), 201 if stored.created else 200


def _upload_error(exc: UploadError) -> ApiError:
    return ApiError(UPLOAD_STATUS.get(exc.code, 400), exc.code, exc.message, exc.message_zh)


@bp.get("/queue")
@roles(*QUEUE_ROLES)
def queue() -> Any:
    services = get_services()
    page, per_page = _paging(flask.request.args)
    with services.session() as session:
        items, total = registration_queue(session, services.cases, page=page,
                                          per_page=per_page)
    return flask.jsonify({"items": items, "total": total, "page": page, "per_page": per_page})


@bp.get("/<path:rest>")
def unknown(rest: str) -> Any:
    """Any other GET under /api/v1 (the pages' catch-all route would answer it in HTML)."""
    raise ApiError(404, "not_found", f"there is no {PREFIX}/{rest}: the API has /cases, "
                   "/queue, /metrics and (POST) /uploads", f"接口 {PREFIX}/{rest} 不存在")


@bp.get("/metrics")
@roles(*METRICS_ROLES)
def metrics() -> Any:
    """Evaluation indicators (评价考核) for ``from``..``to`` (whole days in city time, both
    included; default this month), grouped ``by`` area, department, inspector or the city.
    The answer's ``start``/``end`` are the half-open ``[start, end)`` the indicators cover."""
    services = get_services()
    args = flask.request.args
    tz = services.cases.calendar.tz
    by = args.get("by") or "district"
    if by not in METRIC_GROUPS:
        raise _bad("bad_by", f"by must be one of {', '.join(METRIC_GROUPS)}, not {by!r}",
                   f"by 须为 {', '.join(METRIC_GROUPS)} 之一")
    today = datetime.now(tz).date()
    start = _day_start(args.get("from") or today.replace(day=1).isoformat(), "from", tz)
    end = _day_start(args.get("to") or today.isoformat(), "to", tz, after=True)
    if start >= end:
        raise _bad("bad_range", "from must not be after to", "开始日期不能晚于结束日期")
    from cases.metrics import INDICATORS
    from data.metrics import indicators

    with services.session() as session:
        groups = indicators(session, services.cases, start=start, end=end, by=by)
    # The formulas travel with the figures, so that every screen can show how a number is made.
    formulas = [{"key": i.key, "name_zh": i.name_zh, "name_en": i.name_en, "kind": i.kind,
                 "formula_zh": i.formula_zh, "formula_en": i.formula_en} for i in INDICATORS]
    return flask.jsonify({"start": start.isoformat(), "end": end.isoformat(), "by": by,
                          "indicators": formulas, "groups": _jsonable(list(groups))})
