"""Callbacks of the handler desk: my department's tasks, one case, photo uploads, and the
actions (accept, feedback, request an extension, return) through ``data.cases.transition``."""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, no_update

from api.auth import current_principal, require_roles
from data.cases import CaseError, actor_for, transition
from data.models import User
from data.tasks import handler_tasks, task_detail
from data.uploads import UploadError, known_attachments, store_upload
from i18n import current_lang, t
from layouts import _ids as ids
from layouts.handler import ACTIONS, ROLES, detail_panel, message, photo_list, task_list
from services import get_services

MAX_PHOTOS = 10
BUTTON_ACTIONS = {button_id: action for action, button_id, _ in ACTIONS}


def _actor(session: Any) -> Any:
    who = current_principal()
    user = session.get(User, who.user_id) if who is not None else None
    return actor_for(session, user) if user is not None else None


def _case_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dash.callback(Output(ids.HANDLER_TASKS, "children"), Input(ids.HANDLER_REFRESH, "n_clicks"),
               Input(ids.HANDLER_INTERVAL, "n_intervals"), Input(ids.HANDLER_CHANGED, "data"),
               State(ids.HANDLER_SELECTED, "data"))
@require_roles(*ROLES)
def show_tasks(_clicks: Any, _ticks: Any, _changed: Any, selected: Any) -> list[Any]:
    """The cases dispatched to my department that wait for us, soonest deadline first."""
    services = get_services()
    with services.session() as session:
        actor = _actor(session)
        items = handler_tasks(session, services.cases, actor) if actor else []
    return task_list(items, _case_id(selected), current_lang(), services.cases.calendar.tz)


@dash.callback(Output(ids.HANDLER_SELECTED, "data"),
               Input({"type": ids.HANDLER_TASK, "index": ALL}, "n_clicks"),
               prevent_initial_call=True)
@require_roles(*ROLES)
def choose_task(clicks: list[int | None]) -> Any:
    picked = ctx.triggered_id
    if not isinstance(picked, dict) or not any(clicks or []) or not ctx.triggered[0]["value"]:
        return no_update
    return _case_id(picked.get("index")) or no_update


@dash.callback(Output(ids.HANDLER_DETAIL, "children"),
               *[Output(button_id, "disabled") for _, button_id, _ in ACTIONS],
               Input(ids.HANDLER_SELECTED, "data"), Input(ids.HANDLER_CHANGED, "data"),
               prevent_initial_call=True)
@require_roles(*ROLES)
def show_detail(selected: Any, _changed: Any) -> tuple[Any, ...]:
    """The chosen case, and only the buttons of the actions I may take on it now."""
    case_id = _case_id(selected)
    if case_id is None:
        return (no_update,) * (1 + len(ACTIONS))
    services = get_services()
    with services.session() as session:
        actor = _actor(session)
        detail = task_detail(session, services.cases, case_id, actor) if actor else None
    allowed = set(detail["allowed_actions"]) if detail else set()
    panel = detail_panel(detail, current_lang(), services.cases.calendar.tz,
                         services.settings.tile_url)
    return (panel, *[action not in allowed for action, _, _ in ACTIONS])


def _decode(content: Any) -> bytes:
    if not isinstance(content, str) or "," not in content:
        raise UploadError("unsupported_type", "the upload is not a file", "上传内容不是文件")
    try:
        return base64.b64decode(content.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        raise UploadError("corrupt_image", "the upload could not be decoded; choose the "
                          "photo again", "上传内容无法解码，请重新选择照片") from None


@dash.callback(Output(ids.HANDLER_PHOTOS, "data", allow_duplicate=True),
               Output(ids.HANDLER_UPLOAD_MESSAGE, "children"),
               Output(ids.HANDLER_UPLOAD, "contents"),
               Input(ids.HANDLER_UPLOAD, "contents"), State(ids.HANDLER_UPLOAD, "filename"),
               State(ids.HANDLER_PHOTOS, "data"), prevent_initial_call=True)
@require_roles(*ROLES)
def upload_photos(contents: Any, names: Any, photos: Any) -> tuple[Any, ...]:
    """Store each chosen photo now (type and size checked on the server); say which were
    refused and why."""
    if not contents:
        return no_update, no_update, no_update
    contents = contents if isinstance(contents, list) else [contents]
    names = names if isinstance(names, list) else [names] * len(contents)
    kept = [p for p in (photos if isinstance(photos, list) else []) if isinstance(p, dict)]
    problems = []
    services = get_services()
    who = current_principal()
    for content, name in zip(contents, names, strict=False):
        label = str(name or "")[:100]
        if len(kept) >= MAX_PHOTOS:
            problems.append(f"{label}: {t('handler.too_many')}")
            continue
        try:
            data = _decode(content)
            with services.transaction() as session:
                stored = store_upload(session, services.settings.media_dir, data,
                                      uploaded_by=who.user_id if who else None,
                                      original_name=label)
        except UploadError as exc:
            text = exc.message if current_lang() == "en" else exc.message_zh
            problems.append(f"{t('handler.photo_refused')} {label}: {text}")
            continue
        if all(p.get("sha256") != stored.sha256 for p in kept):
            kept.append({"sha256": stored.sha256, "mime": stored.mime, "url": stored.url,
                         "name": label})
    note = message("danger", " ".join(problems)) if problems else None
    return kept, note, None


@dash.callback(Output(ids.HANDLER_PHOTO_LIST, "children"), Input(ids.HANDLER_PHOTOS, "data"))
@require_roles(*ROLES)
def show_photos(photos: Any) -> list[Any]:
    kept = [p for p in (photos if isinstance(photos, list) else [])
            if isinstance(p, dict) and isinstance(p.get("url"), str)
            and p["url"].startswith("/media/")]
    return photo_list(kept)


def _hours(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        hours = float(value)
    except ValueError:
        return None
    return hours if math.isfinite(hours) and 1 <= hours <= 720 else None


@dash.callback(Output(ids.HANDLER_MESSAGE, "children"), Output(ids.HANDLER_CHANGED, "data"),
               Output(ids.HANDLER_PHOTOS, "data", allow_duplicate=True),
               Output(ids.HANDLER_NOTE, "value"), Output(ids.HANDLER_REASON, "value"),
               *[Input(button_id, "n_clicks") for _, button_id, _ in ACTIONS],
               State(ids.HANDLER_SELECTED, "data"), State(ids.HANDLER_NOTE, "value"),
               State(ids.HANDLER_REASON, "value"), State(ids.HANDLER_HOURS, "value"),
               State(ids.HANDLER_PHOTOS, "data"), State(ids.HANDLER_CHANGED, "data"),
               prevent_initial_call=True)
@require_roles(*ROLES)
def act(*args: Any) -> tuple[Any, ...]:
    """Take the pressed action on the chosen case; a refusal shows the workflow's message
    and changes nothing."""
    selected, note, reason, hours, photos, changed = args[len(ACTIONS):]
    action = BUTTON_ACTIONS.get(ctx.triggered_id)  # type: ignore[arg-type]
    case_id = _case_id(selected)
    unchanged = (no_update,) * 4
    if action is None or not ctx.triggered[0]["value"]:
        return (no_update, *unchanged)
    if case_id is None:
        return (message("warning", t("handler.pick_first")), *unchanged)
    data: dict[str, Any] = {}
    if action == "request_extension":
        data["hours"] = _hours(hours)
        if data["hours"] is None:
            return (message("warning", t("handler.bad_hours")), *unchanged)
    services = get_services()
    sha256s = [p.get("sha256") for p in (photos if isinstance(photos, list) else [])
               if isinstance(p, dict)]
    try:
        with services.transaction() as session:
            actor = _actor(session)
            if actor is None:
                raise CaseError("role_not_allowed", "sign in again", "请重新登录")
            files = known_attachments(session, sha256s) if action == "feedback" else []
            transition(session, services.cases, case_id, action, actor,
                       reason=reason if isinstance(reason, str) else None,
                       note=note if isinstance(note, str) else None, attachments=files,
                       data=data, origin="handler-desk")
    except CaseError as exc:
        text = exc.message if current_lang() == "en" else exc.message_zh
        return (message("danger", t("handler.refused") + text), *unchanged)
    bump = (changed if isinstance(changed, int) else 0) + 1
    done = message("success", t(f"handler.done_{action}"))
    if action == "feedback":
        return done, bump, [], "", no_update
    return done, bump, no_update, no_update, "" if action in ("return",
                                                            "request_extension") else no_update
