"""Read models of cases (案件查询) for the JSON API and Open311: lists, one case with its
history, the registration queue, public requests. SQL lives here; ``api/`` calls these.

Who sees what is a :class:`Visibility` built from the caller's actor: the command center,
leaders and administrators see every case; a handler the cases of their department; an
inspector the cases in their grids and the ones they reported. Declined and void cases
(hidden states) are left out of lists unless a status filter names them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely.geometry
from sqlalchemy import Select, and_, false, func, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cases.catalogue import URGENCY_LABELS
from cases.clock import deadline, light
from cases.workflow import (
    ACTION_LABELS,
    HIDDEN,
    OPEN,
    ROLE_LABELS,
    STATE_LABELS,
    Actor,
    CaseFacts,
    allowed_actions,
    is_closed,
    is_hidden,
)
from data.cases import CaseConfig, time_used
from data.models import Attachment, Case, CaseEvent, Department, Detection, Region, UnitGrid, User
from data.types import utcnow

SEE_ALL_ROLES = ("command", "leader", "admin")
MAX_PER_PAGE = 200


# -- who sees what -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Visibility:
    """The cases a caller may see: everything, or the union of a department's cases, the cases
    in some grids and the cases one user reported. The default sees nothing."""

    everything: bool = False
    department_id: int | None = None
    grid_codes: frozenset[str] = frozenset()
    reporter_id: int | None = None

    def clause(self) -> ColumnElement[bool]:
        if self.everything:
            return true()
        parts: list[ColumnElement[bool]] = []
        if self.department_id is not None:
            parts.append(Case.department_id == self.department_id)
        if self.grid_codes:
            parts.append(Case.grid_code.in_(sorted(self.grid_codes)))
        if self.reporter_id is not None:
            parts.append(Case.reporter_id == self.reporter_id)
        return or_(*parts) if parts else false()


def visibility_for(actor: Actor) -> Visibility:
    """What ``actor`` may see (see the module docstring); roles not named see nothing."""
    if actor.role in SEE_ALL_ROLES:
        return Visibility(everything=True)
    if actor.role == "handler":
        return Visibility(department_id=actor.department_id)
    if actor.role == "inspector":
        return Visibility(grid_codes=actor.grid_codes, reporter_id=actor.user_id)
    return Visibility()


# -- filters -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseFilters:
    """A validated case query. Empty values filter nothing.

    ``area_prefixes``: administrative code prefixes the grid code must start with (district 6,
    street 9, community 12, grid 15 digits). ``reported_from`` is inclusive, ``reported_to``
    exclusive. ``q`` matches a substring of the case code or title.
    """

    statuses: tuple[str, ...] = ()
    category: tuple[str, str] | None = None
    area_prefixes: tuple[str, ...] = ()
    department_code: str | None = None
    source: str | None = None
    supervised: bool | None = None
    overdue: bool | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    q: str | None = None


def _where(filters: CaseFilters, now: datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.statuses:
        where.append(Case.status.in_(filters.statuses))
    else:
        where.append(Case.status.not_in(sorted(HIDDEN)))
    if filters.category is not None:
        kind, code = filters.category
        where += [Case.category_kind == kind, Case.category_code == code]
    for prefix in filters.area_prefixes:
        where.append(Case.grid_code.startswith(prefix, autoescape=True))
    if filters.department_code is not None:
        where.append(Case.department_id.in_(
            select(Department.id).where(Department.code == filters.department_code)))
    if filters.source is not None:
        where.append(Case.source == filters.source)
    if filters.supervised is not None:
        where.append(Case.supervised.is_(True) if filters.supervised
                     else or_(Case.supervised.is_(False), Case.supervised.is_(None)))
    if filters.overdue is True:
        where.append(and_(Case.deadline_at.is_not(None), Case.deadline_at < now))
    elif filters.overdue is False:
        where.append(or_(Case.deadline_at.is_(None), Case.deadline_at >= now))
    if filters.reported_from is not None:
        where.append(Case.reported_at >= filters.reported_from)
    if filters.reported_to is not None:
        where.append(Case.reported_at < filters.reported_to)
    if filters.q:
        where.append(or_(Case.code.contains(filters.q, autoescape=True),
                         Case.title.contains(filters.q, autoescape=True)))
    return where


# -- shapes ------------------------------------------------------------------------------------
def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _labels(table: Mapping[str, tuple[str, str]], key: str | None) -> dict[str, str] | None:
    if key is None:
        return None
    zh, en = table.get(key, (key, key))
    return {"zh": zh, "en": en}


def _lonlat(geom: Any) -> tuple[float | None, float | None]:
    if geom is None or geom.is_empty:
        return None, None
    return float(geom.x), float(geom.y)


def _light(case: Case, cfg: CaseConfig, now: datetime) -> str | None:
    fraction = time_used(case, cfg, now)
    return light(fraction) if fraction is not None else None


def summary(case: Case, department_code: str | None, cfg: CaseConfig,
            now: datetime) -> dict[str, Any]:
    """One case as a list item (JSON-ready)."""
    category = cfg.catalogue.get(case.category_kind, case.category_code)
    lon, lat = _lonlat(case.geom)
    return {
        "id": case.id, "code": case.code, "status": case.status,
        "status_label": _labels(STATE_LABELS, case.status),
        "category": f"{case.category_kind}:{case.category_code}",
        "category_name": {"zh": category.name, "en": category.name_en} if category else None,
        "urgency": case.urgency, "urgency_label": _labels(URGENCY_LABELS, case.urgency),
        "title": case.title, "source": case.source, "grid_code": case.grid_code,
        "department": department_code, "lon": lon, "lat": lat,
        "reported_at": iso(case.reported_at), "deadline_at": iso(case.deadline_at),
        "light": _light(case, cfg, now), "seen_count": case.seen_count or 0,
        "rework_count": case.rework_count or 0, "supervised": bool(case.supervised),
    }


def _select() -> Select[tuple[Case, str | None]]:
    return select(Case, Department.code).outerjoin(Department,
                                                   Department.id == Case.department_id)


# -- queries -----------------------------------------------------------------------------------
def list_cases(session: Session, cfg: CaseConfig, filters: CaseFilters, visibility: Visibility,
               *, page: int = 1, per_page: int = 50, oldest_first: bool = False,
               now: datetime | None = None) -> tuple[list[dict[str, Any]], int]:
    """One page of the cases ``visibility`` allows that match ``filters`` (newest first unless
    ``oldest_first``), and how many match in all."""
    now = now or utcnow()
    page, per_page = max(1, page), min(max(1, per_page), MAX_PER_PAGE)
    where = [visibility.clause(), *_where(filters, now)]
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    order = (Case.reported_at.asc(), Case.id.asc()) if oldest_first \
        else (Case.reported_at.desc(), Case.id.desc())
    rows = session.execute(_select().where(*where).order_by(*order)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return [summary(case, dept, cfg, now) for case, dept in rows], total


def registration_queue(session: Session, cfg: CaseConfig, *, page: int = 1, per_page: int = 50,
                       now: datetime | None = None) -> tuple[list[dict[str, Any]], int]:
    """The cases waiting to be registered (上报待立案), oldest first."""
    return list_cases(session, cfg, CaseFilters(statuses=("reported",)),
                      Visibility(everything=True), page=page, per_page=per_page,
                      oldest_first=True, now=now)


def is_visible(session: Session, case_id: int, visibility: Visibility) -> bool:
    """Whether the case exists and ``visibility`` allows it."""
    return session.scalar(select(Case.id).where(Case.id == case_id,
                                                visibility.clause())) is not None


def _facts(case: Case) -> CaseFacts:
    return CaseFacts(case.status, case.department_id, case.grid_code,
                     case.state_before_suspension, bool(case.supervised), case.shop_id)


def _event(event: CaseEvent, name: str | None) -> dict[str, Any]:
    lon, lat = _lonlat(event.geom)
    role = ROLE_LABELS.get(event.actor_role)
    return {
        "seq": event.seq, "action": event.action,
        "action_label": _labels(ACTION_LABELS, event.action),
        "from_state": event.from_state, "to_state": event.to_state,
        "actor_role": event.actor_role, "actor_id": event.actor_id,
        "actor_name": name or (role[0] if role else event.actor_role),
        "at": iso(event.at), "origin": event.origin, "note": event.note,
        "attachments": (event.attachments or {}).get("files", []),
        "data": event.data or {}, "lon": lon, "lat": lat,
    }


def event_dict(session: Session, event: CaseEvent) -> dict[str, Any]:
    """One case event (JSON-ready), its actor's display name looked up."""
    name = session.scalar(select(User.display_name).where(User.id == event.actor_id)) \
        if event.actor_id is not None else None
    return _event(event, name)


def case_detail(session: Session, cfg: CaseConfig, case_id: int, visibility: Visibility,
                actor: Actor, *, now: datetime | None = None) -> dict[str, Any] | None:
    """The case with its events and the actions ``actor`` may take now; None when it does not
    exist or ``visibility`` does not allow it."""
    now = now or utcnow()
    row = session.execute(_select().where(Case.id == case_id, visibility.clause())).first()
    if row is None:
        return None
    case, dept = row
    out = summary(case, dept, cfg, now)
    out.update(
        description=case.description, address=case.address, component_id=case.component_id,
        shop_id=case.shop_id, external_id=case.external_id, step=case.step,
        escalation_level=case.escalation_level or 0, extension_count=case.extension_count or 0,
        overdue_count=case.overdue_count or 0, decline_reason=case.decline_reason,
        registered_at=iso(case.registered_at), dispatched_at=iso(case.dispatched_at),
        handled_at=iso(case.handled_at), closed_at=iso(case.closed_at),
        close_deadline_at=iso(case.close_deadline_at), updated_at=iso(case.updated_at),
    )
    events = session.execute(
        select(CaseEvent, User.display_name).outerjoin(User, User.id == CaseEvent.actor_id)
        .where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)).all()
    out["events"] = [_event(event, name) for event, name in events]
    out["allowed_actions"] = allowed_actions(_facts(case), actor)
    return out


# -- Open311 (市民上报查询) ----------------------------------------------------------------------
def _public_note(event: CaseEvent) -> str | None:
    """The note a citizen may read as the request's status notes: from an event that moved the
    case, except the report itself (its note is the description) and the system's own
    bookkeeping notes (automatic registration and dispatch)."""
    if (event.action == "report" or event.from_state == event.to_state
            or event.actor_role == "system"):
        return None
    return (event.note or "").strip() or None


def _state_category(state: str) -> str:
    if is_hidden(state):
        return "hidden"
    return "closed" if is_closed(state) else "open"


def public_requests(session: Session, cfg: CaseConfig, *, codes: Iterable[str] = (),
                    categories: Iterable[tuple[str, str]] = (),
                    statuses: Iterable[str] = ("open", "closed"),
                    start: datetime | None = None, end: datetime | None = None,
                    limit: int = 1000, include_hidden: bool = False,
                    lang: str = "zh-CN") -> list[dict[str, Any]]:
    """Cases as Open311 requests (the mapping ``request_to_open311`` reads), newest first.

    ``statuses`` are Open311's (open, closed); hidden cases (declined, void) are left out
    unless ``include_hidden`` (one request asked for by its code). ``status_notes`` is the
    note of the last event that moved the case, when it has one.
    """
    wanted = set(statuses)
    states: list[str] = []
    if "open" in wanted:
        states += sorted(OPEN)
    if "closed" in wanted:
        states.append("closed")
    if include_hidden:
        states += sorted(HIDDEN)
    where: list[ColumnElement[bool]] = [Case.status.in_(states)]
    codes = list(codes)
    if codes:
        where.append(Case.code.in_(codes))
    pairs = list(categories)
    if pairs:
        where.append(or_(*(and_(Case.category_kind == k, Case.category_code == c)
                           for k, c in pairs)))
    if start is not None:
        where.append(Case.reported_at >= start)
    if end is not None:
        where.append(Case.reported_at <= end)
    rows = session.execute(
        select(Case, Department.name, Department.name_en)
        .outerjoin(Department, Department.id == Case.department_id).where(*where)
        .order_by(Case.reported_at.desc(), Case.id.desc()).limit(limit)).all()
    notes: dict[int, str] = {}
    media: dict[int, str] = {}
    ids = [case.id for case, _, _ in rows]
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(chunk))
                                     .order_by(CaseEvent.case_id, CaseEvent.seq)):
            note = _public_note(event)
            if note is not None:
                notes[event.case_id] = note
            if event.action == "report" and (event.data or {}).get("media_url"):
                media[event.case_id] = event.data["media_url"]
    en = lang == "en"
    out = []
    for case, dept_name, dept_name_en in rows:
        category = cfg.catalogue.get(case.category_kind, case.category_code)
        lon, lat = _lonlat(case.geom)
        out.append({
            "id": case.id, "code": case.code, "state": case.status,
            "state_category": _state_category(case.status),
            "category_kind": case.category_kind, "category_code": case.category_code,
            "service_name": (category.name_en if en else category.name) if category
            else case.title,
            "description": (case.description or "")[:4000] or None, "address": case.address,
            "lon": lon, "lat": lat,
            "reported_at": case.reported_at, "updated_at": case.updated_at,
            "expected_at": case.close_deadline_at if case.status in OPEN else None,
            "department_name": (dept_name_en or dept_name) if en else dept_name,
            "status_notes": notes.get(case.id), "media_url": media.get(case.id),
        })
    return out


# -- the case page (案件详情) --------------------------------------------------------------------
#: Photos of the problem (before) and of the fix (after), by the event that brought them.
BEFORE_ACTIONS = frozenset({"report", "add_evidence", "reopen"})
AFTER_ACTIONS = frozenset({"feedback", "verify_pass", "verify_fail", "close"})
MAX_PHOTOS = 24
#: The clock steps of a case's life, in order, with the case columns that time them.
STEP_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("dispatch", "dispatch_deadline_at", "dispatched_at"),
    ("handle", "handle_deadline_at", "handled_at"),
)


def step_outcome(done_at: datetime | None, due_at: datetime | None, now: datetime, *,
                 running: bool) -> str | None:
    """How a step went against its deadline: ``met`` / ``missed`` once done, ``pending`` /
    ``overdue`` while it runs; None when it has no deadline or stopped undone (declined,
    voided, suspended)."""
    if due_at is None:
        return None
    if done_at is not None and not running:
        return "met" if done_at <= due_at else "missed"
    if running:
        return "overdue" if now > due_at else "pending"
    return None


def step_deadlines(case: Case, cfg: CaseConfig, now: datetime) -> list[dict[str, Any]]:
    """The register, dispatch, handle and close deadlines of a case against when each step
    was done (JSON-ready): ``step``, ``due_at``, ``done_at``, ``outcome``."""
    running_open = case.status in OPEN and case.status != "suspended"
    rows: list[dict[str, Any]] = []
    register_due = case.deadline_at if case.step == "register" else None
    if register_due is None and case.reported_at is not None:
        category = cfg.catalogue.get(case.category_kind, case.category_code)
        if category is not None and case.urgency in cfg.limits.get(category.limits, {}):
            register_due = deadline(case.reported_at,
                                    cfg.limit(category, case.urgency, "register"), cfg.calendar)
    register_running = case.step == "register" and running_open
    rows.append({"step": "register", "due_at": register_due, "done_at": case.registered_at,
                 "outcome": step_outcome(case.registered_at, register_due, now,
                                         running=register_running)})
    for step, due_column, done_column in STEP_COLUMNS:
        running = case.step == step and running_open
        due, done = getattr(case, due_column), getattr(case, done_column)
        rows.append({"step": step, "due_at": due, "done_at": None if running else done,
                     "outcome": step_outcome(done, due, now, running=running)})
    rows.append({"step": "close", "due_at": case.close_deadline_at, "done_at": case.closed_at,
                 "outcome": step_outcome(case.closed_at, case.close_deadline_at, now,
                                         running=running_open)})
    for row in rows:
        row["due_at"], row["done_at"] = iso(row["due_at"]), iso(row["done_at"])
    return rows


def stored_files(session: Session, shas: Iterable[str]) -> set[str]:
    """The hashes among ``shas`` that have a stored file (an ``attachments`` row)."""
    wanted = sorted({s for s in shas if isinstance(s, str) and s})
    found: set[str] = set()
    for chunk in (wanted[i:i + 500] for i in range(0, len(wanted), 500)):
        found.update(session.scalars(select(Attachment.sha256)
                                     .where(Attachment.sha256.in_(chunk))))
    return found


def _sha(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping) and isinstance(item.get("sha256"), str):
        return item["sha256"]
    return None


def case_photos(session: Session, case_id: int, events: list[dict[str, Any]],
                limit: int = MAX_PHOTOS) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Photos of the problem (the report's and later sightings' attachments, and snapshots of
    the detections linked to the case) and of the fix (feedback and verification), each
    ``{"sha256", "at", "action"}``, only files that are stored, each hash once. Marks every
    event's stored attachments in its ``photos`` list too."""
    snapshots = session.execute(
        select(Detection.snapshot_sha256, Detection.ts)
        .where(Detection.case_id == case_id, Detection.snapshot_sha256.is_not(None))
        .order_by(Detection.ts.desc()).limit(limit)).all()
    shas = {_sha(f) for e in events for f in e["attachments"]} | {s for s, _ in snapshots}
    stored = stored_files(session, [s for s in shas if s])
    before: list[dict[str, Any]] = []
    after: list[dict[str, Any]] = []
    seen: set[str] = set()

    def put(target: list[dict[str, Any]], sha: str | None, at: str | None, action: str) -> None:
        if sha in stored and sha not in seen and len(target) < limit:
            seen.add(sha)  # type: ignore[arg-type]
            target.append({"sha256": sha, "at": at, "action": action})

    for event in events:
        event["photos"] = [s for s in map(_sha, event["attachments"]) if s in stored]
        fix = event["action"] in AFTER_ACTIONS or event["actor_role"] in ("handler", "shop_owner")
        for sha in event["photos"]:
            put(after if fix else before, sha, event["at"], event["action"])
    for sha, ts in snapshots:
        put(before, sha, iso(ts), "detection")
    return before, after


def grid_place(session: Session, grid_code: str | None) -> dict[str, Any]:
    """A grid's name, inspector and outline (GeoJSON geometry) with the names of its community,
    street and district: ``{"grid": {...} | None, "community"|"street"|"district": {...}}``."""
    out: dict[str, Any] = {"grid": None, "community": None, "street": None, "district": None}
    if not grid_code:
        return out
    row = session.execute(
        select(UnitGrid.name, UnitGrid.geom, User.display_name)
        .outerjoin(User, User.id == UnitGrid.inspector_id)
        .where(UnitGrid.code == grid_code)).first()
    if row is not None:
        name, geom, inspector = row
        out["grid"] = {"code": grid_code, "name": name, "inspector": inspector,
                       "geometry": shapely.geometry.mapping(geom) if geom is not None
                       else None}
    codes = [grid_code[:n] for n in (6, 9, 12) if len(grid_code) >= n]
    for code, level, name, name_en in session.execute(
            select(Region.code, Region.level, Region.name, Region.name_en)
            .where(Region.code.in_(codes))):
        if level in out:
            out[level] = {"code": code, "zh": name, "en": name_en or name}
    return out


def departments_by_id(session: Session) -> dict[int, dict[str, str]]:
    """Every department: id → ``{"code", "zh", "en"}`` (a few dozen rows)."""
    return {i: {"code": c, "zh": n, "en": e or n} for i, c, n, e in session.execute(
        select(Department.id, Department.code, Department.name, Department.name_en))}


def case_page(session: Session, cfg: CaseConfig, case_id: int, visibility: Visibility,
              actor: Actor, *, now: datetime | None = None) -> dict[str, Any] | None:
    """Everything the case page shows (JSON-ready): :func:`case_detail` plus the category's
    conditions, the place's names and grid outline, department, inspector, handler and
    reporter names, photos before and after, the step deadlines and the time used of the
    step on the clock. None when the case does not exist or ``visibility`` hides it."""
    now = now or utcnow()
    out = case_detail(session, cfg, case_id, visibility, actor, now=now)
    if out is None:
        return None
    case = session.get(Case, case_id)
    assert case is not None  # case_detail found it in this session
    category = cfg.catalogue.get(case.category_kind, case.category_code)
    if category is not None:
        out["conditions"] = {"register": {"zh": category.register_condition,
                                          "en": category.register_condition_en},
                             "close": {"zh": category.close_condition,
                                       "en": category.close_condition_en}}
    depts = departments_by_id(session)
    out["department_name"] = depts.get(case.department_id) if case.department_id else None
    people = {case.inspector_id, case.handler_id, case.reporter_id} - {None}
    names = {i: n for i, n in session.execute(
        select(User.id, User.display_name).where(User.id.in_(sorted(people))))} if people else {}
    out["inspector_name"] = names.get(case.inspector_id)
    out["handler_name"] = names.get(case.handler_id)
    out["reporter_name"] = names.get(case.reporter_id)
    out["place"] = grid_place(session, case.grid_code)
    out["merged_into"] = None
    if case.merged_into_id is not None:
        out["merged_into"] = {"id": case.merged_into_id, "code": session.scalar(
            select(Case.code).where(Case.id == case.merged_into_id))}
    for event in out["events"]:
        dept = (event["data"] or {}).get("department_id")
        if isinstance(dept, int) and dept in depts:
            event["department"] = depts[dept]
        role = ROLE_LABELS.get(event["actor_role"])
        event["role_label"] = {"zh": role[0], "en": role[1]} if role else None
    out["photos_before"], out["photos_after"] = case_photos(session, case_id, out["events"])
    out["deadlines"] = step_deadlines(case, cfg, now)
    out["time_used"] = time_used(case, cfg, now)
    out["suspended"] = case.status == "suspended"
    return out
