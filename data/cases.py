"""Cases in the database: open, move through the closed loop, add evidence, run the clock.

The decisions are the domain's (``cases.workflow.decide``, ``cases.clock``, ``cases.dedup``);
this module loads what they need, records what they decide — one appended ``case_events`` row
per transition, the case row's state and facts updated in the same transaction — and claims
scheduler work atomically so that a warning or an overdue mark is recorded exactly once per
deadline, however many processes run the clock.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shapely.geometry import Point
from sqlalchemy import and_, bindparam, func, or_, select, text, update
from sqlalchemy.orm import Session

from cases.catalogue import CaseCatalogue, Category
from cases.clock import TimeLimit, WorkCalendar, deadline, used
from cases.workflow import (
    Actor,
    CaseFacts,
    Refusal,
    Transition,
    decide,
    is_open,
)
from data.config import CONFIG_DIR
from data.models import Case, CaseEvent, Component, Department, Shop, UnitGrid, User
from data.spatial import GridLocator
from data.types import utcnow

log = logging.getLogger("onegrid.cases")
SYSTEM = Actor("system")
COUNTER_COLUMNS = {"rework": "rework_count", "extension": "extension_count",
                   "seen": "seen_count", "overdue": "overdue_count"}
_LOCATOR = GridLocator()
#: Department code → id per database (ids never change; departments are not deleted).
_DEPARTMENT_IDS: dict[tuple[str, str], int] = {}
_KNOWN_DEPARTMENTS: set[tuple[str, int]] = set()


# -- configuration -----------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseConfig:
    """Everything the engine reads from ``data/config``, validated together at start."""

    catalogue: CaseCatalogue
    calendar: WorkCalendar
    limits: Mapping[str, Mapping[str, Mapping[str, TimeLimit]]]
    rules: Any = None

    def category(self, kind: str, code: str) -> Category:
        category = self.catalogue.get(kind, code)
        if category is None:
            raise CaseError("unknown_category", f"no case category {kind}:{code} in the "
                            "catalogue", f"案件类别 {kind}:{code} 不存在")
        return category

    def limit(self, category: Category, urgency: str, step: str) -> TimeLimit:
        return self.limits[category.limits][urgency][step]


def load_case_config(config_dir: Path = CONFIG_DIR, *, with_rules: bool = True) -> CaseConfig:
    """Load and cross-check the calendar, time limits, categories, routing and rules."""
    from data.config.calendar import load_calendar, load_time_limits
    from data.config.cases import load_case_catalogue

    calendar = load_calendar(config_dir / "calendar.yaml")
    limits = load_time_limits(config_dir / "time_limits.yaml")
    catalogue = load_case_catalogue(config_dir, profiles=limits.keys())
    rules = None
    if with_rules:
        from data.config.rules import load_rules

        rules = load_rules(config_dir / "rules.yaml")
    return CaseConfig(catalogue, calendar, limits, rules)


# -- errors ------------------------------------------------------------------------------------
class CaseError(Exception):
    """An action that was refused or could not be carried out; nothing was changed.

    ``code`` is machine-readable (the workflow's refusal codes, plus ``not_found``,
    ``unknown_category``, ``unknown_department``); ``message`` / ``message_zh`` say what to do.
    """

    def __init__(self, code: str, message: str, message_zh: str | None = None,
                 refusal: Refusal | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_zh = message_zh or message
        self.refusal = refusal

    @classmethod
    def from_refusal(cls, refusal: Refusal) -> CaseError:
        return cls(refusal.code, refusal.message, refusal.message_zh, refusal)

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "message_zh": self.message_zh}


# -- actors ------------------------------------------------------------------------------------
def actor_for(session: Session, user: User) -> Actor:
    """The workflow's view of a logged-in user: role plus the scope that limits it."""
    grids: frozenset[str] = frozenset()
    if user.role == "inspector":
        grids = frozenset(session.scalars(
            select(UnitGrid.code).where(UnitGrid.inspector_id == user.id)))
    shops: frozenset[int] = frozenset()
    if user.role == "shop_owner":
        shops = frozenset(session.scalars(select(Shop.id).where(Shop.owner_user_id == user.id)))
    return Actor(user.role, user.id, user.department_id, grids, shops)


def _department_exists(session: Session, dept_id: int) -> bool:
    if (str(session.get_bind().url), dept_id) in _KNOWN_DEPARTMENTS:
        return True  # looked up by code a moment ago; departments are never deleted
    with session.no_autoflush:
        return session.get(Department, dept_id) is not None


def department_id(session: Session, code: str | None) -> int | None:
    if code is None:
        return None
    key = (str(session.get_bind().url), code)
    if key not in _DEPARTMENT_IDS:
        found = session.scalar(select(Department.id).where(Department.code == code))
        if found is None:
            return None  # not cached: a department created later is found then
        _DEPARTMENT_IDS[key] = found
        _KNOWN_DEPARTMENTS.add((key[0], found))
    return _DEPARTMENT_IDS[key]


# -- opening and moving cases ------------------------------------------------------------------
def _now(now: datetime | None) -> datetime:
    return now if now is not None else utcnow()


def _facts(case: Case) -> CaseFacts:
    return CaseFacts(case.status, case.department_id, case.grid_code,
                     case.state_before_suspension, bool(case.supervised), case.shop_id)


def _next_seq(session: Session, case_id: int) -> int:
    """The next event number of a case; remembered for the rest of the transaction (the case
    row is locked or freshly made by it), so a burst of events costs one query per case."""
    seqs: dict[int, int] = session.info.setdefault("onegrid_case_seq", {})
    last = seqs.get(case_id)
    if last is None:
        with session.no_autoflush:
            last = session.scalar(select(func.max(CaseEvent.seq))
                                  .where(CaseEvent.case_id == case_id)) or 0
    seqs[case_id] = last + 1
    return last + 1


def _append(session: Session, case: Case, decision: Transition, actor: Actor, now: datetime, *,
            note: str | None, attachments: Sequence[Any], data: Mapping[str, Any] | None,
            origin: str | None, geom: Any) -> CaseEvent:
    event = CaseEvent(case_id=case.id, seq=_next_seq(session, case.id), action=decision.action,
                      from_state=decision.from_state, to_state=decision.to_state,
                      actor_id=actor.user_id, actor_role=actor.role, at=now, origin=origin,
                      geom=geom, note=note,
                      attachments={"files": [_attachment(a) for a in attachments]}
                      if attachments else None,
                      data={**(dict(data) if data else {}),
                            **({"reason": decision.reason} if decision.reason else {})} or None)
    session.add(event)
    return event


def _attachment(item: Any) -> dict[str, Any]:
    if isinstance(item, str):
        return {"sha256": item}
    return dict(item)


def report_case(session: Session, cfg: CaseConfig, *, kind: str, code: str, actor: Actor,
                source: str, lon: float | None = None, lat: float | None = None,
                grid_code: str | None = None, component_id: int | None = None,
                shop_id: int | None = None, title: str | None = None,
                description: str | None = None, address: str | None = None,
                urgency: str | None = None, rule_key: str | None = None,
                reporter_contact: str | None = None, external_id: str | None = None,
                attachments: Sequence[Any] = (), data: Mapping[str, Any] | None = None,
                origin: str | None = None, now: datetime | None = None,
                auto: bool = False) -> Case:
    """Open a case in ``reported`` (上报) and start its registration clock. With ``auto`` the
    system registers and dispatches it at once (routing table → department)."""
    now = _now(now)
    category = cfg.category(kind, code)
    urgency = urgency or category.urgency
    if urgency not in cfg.limits[category.limits]:
        raise CaseError("bad_urgency", f"urgency {urgency!r} is not one of "
                        + ", ".join(cfg.limits[category.limits]), f"紧急程度 {urgency} 无效")
    decision = decide(CaseFacts(None), "report", actor, note=description,
                      attachments=attachments, data=data)
    if isinstance(decision, Refusal):
        raise CaseError.from_refusal(decision)
    geom = Point(lon, lat) if lon is not None and lat is not None else None
    with session.no_autoflush:  # lookups only: what is pending is flushed with the new case
        if grid_code is None and component_id is not None:
            grid_code = session.scalar(select(Component.grid_code)
                                       .where(Component.id == component_id))
        if grid_code is None and geom is not None:
            grid_code = _LOCATOR.locate(session, lon, lat)  # type: ignore[arg-type]
        inspector_id = None
        if grid_code is not None:
            inspector_id = session.scalar(select(UnitGrid.inspector_id)
                                          .where(UnitGrid.code == grid_code))
    case = Case(code="pending", source=source, category_kind=kind, category_code=code,
                status=decision.to_state, urgency=urgency,
                title=(title or category.name)[:200], description=description, address=address,
                geom=geom, grid_code=grid_code, component_id=component_id, shop_id=shop_id,
                reporter_id=actor.user_id, reporter_contact=reporter_contact,
                external_id=external_id, rule_key=rule_key, inspector_id=inspector_id,
                seen_count=1, rework_count=0, extension_count=0, overdue_count=0,
                escalation_level=0, supervised=False, auto=auto, reported_at=now,
                last_seen_at=now, updated_at=now)
    session.add(case)
    session.flush()
    session.info.setdefault("onegrid_case_seq", {})[case.id] = 0
    case.code = f"{now.astimezone(cfg.calendar.tz):%Y%m%d}{case.id:06d}"
    _start_step(case, cfg, decision.step_started or "register", now)
    _append(session, case, decision, actor, now, note=description, attachments=attachments,
            data=data, origin=origin, geom=geom)
    if auto:
        transition(session, cfg, case, "register", SYSTEM, now=now, note="自动立案 (auto)")
        dept = department_id(session, cfg.catalogue.department_for(category, grid_code))
        if dept is not None:
            transition(session, cfg, case, "dispatch", SYSTEM, now=now,
                       data={"department_id": dept}, note="自动派遣 (auto)")
        else:
            log.warning("case %s: no department routes %s in grid %s; left for the command "
                        "center to dispatch", case.code, category.key, grid_code)
    return case


def load_case(session: Session, case_id: int, *, lock: bool = False) -> Case:
    stmt = select(Case).where(Case.id == case_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    case = session.scalar(stmt)
    if case is None:
        raise CaseError("not_found", f"case {case_id} does not exist", f"案件 {case_id} 不存在")
    return case


def transition(session: Session, cfg: CaseConfig, case: Case | int, action: str, actor: Actor,
               *, reason: str | None = None, note: str | None = None,
               attachments: Sequence[Any] = (), data: Mapping[str, Any] | None = None,
               origin: str | None = None, lon: float | None = None, lat: float | None = None,
               now: datetime | None = None) -> CaseEvent:
    """Take ``action`` on a case as ``actor``: raise :class:`CaseError` (changing nothing)
    when the workflow refuses it, else update the case and append one event."""
    now = _now(now)
    if isinstance(case, int):
        case = load_case(session, case, lock=True)
    data = dict(data or {})
    decision = decide(_facts(case), action, actor, reason=reason, note=note,
                      attachments=attachments, data=data)
    if isinstance(decision, Refusal):
        raise CaseError.from_refusal(decision)
    if decision.department_id is not None and not _department_exists(session,
                                                                      decision.department_id):
        raise CaseError("unknown_department", f"department {decision.department_id} does "
                        "not exist", f"部门 {decision.department_id} 不存在")
    target = _merge_target(session, case, data) if action == "merge" else None
    _apply(session, cfg, case, decision, actor, now, data)
    geom = Point(lon, lat) if lon is not None and lat is not None else None
    event = _append(session, case, decision, actor, now, note=note, attachments=attachments,
                    data=data, origin=origin, geom=geom)
    if case.shop_id is not None:  # a shop-front case: tell the shop what concerns it
        from data.notices import on_case_transition

        on_case_transition(session, case, action, now, tz=cfg.calendar.tz,
                           reason=decision.reason, note=note)
    if target is not None:
        # The merged report is evidence for the case it duplicates (seen once more).
        transition(session, cfg, target, "add_evidence", SYSTEM, now=now,
                   data={"merged_case_id": case.id, "merged_case_code": case.code},
                   note=note)
    return event


def _merge_target(session: Session, case: Case, data: dict[str, Any]) -> Case:
    raw = data.get("target_case_id")
    try:
        target_id = int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CaseError("target_required", f"merge needs the number of the case to merge "
                        f"into, not {raw!r}", "合并需要填写目标案件编号") from None
    target = session.get(Case, target_id)
    if target is None or target.id == case.id or not is_open(target.status):
        raise CaseError("target_required", f"case {target_id} is not another open case to "
                        "merge into", f"案件 {target_id} 不是可合并的在办案件")
    data["target_case_id"] = target.id
    return target


def _apply(session: Session, cfg: CaseConfig, case: Case, d: Transition, actor: Actor,
           now: datetime, data: Mapping[str, Any]) -> None:
    for counter, n in d.counters.items():
        column = COUNTER_COLUMNS.get(counter)
        if column:
            setattr(case, column, (getattr(case, column) or 0) + n)
    if d.supervised is not None:
        case.supervised = d.supervised
    case.status = d.to_state
    case.updated_at = now
    action = d.action
    if action == "register":
        case.registered_at = now
    elif action == "dispatch":
        case.dispatched_at = now
        case.department_id = d.department_id
    elif action == "accept":
        case.handler_id = actor.user_id
    elif action == "feedback":
        case.handled_at = now
    elif action == "verify_pass":
        case.verified_at = now
    elif action == "close":
        case.closed_at = now
        case.closed_on_time = case.close_deadline_at is None or now <= case.close_deadline_at
    elif action in ("decline", "merge"):
        case.decline_reason = d.reason
        if action == "merge":
            case.merged_into_id = int(data["target_case_id"])
    elif action == "reopen":
        case.closed_at = None
        case.closed_on_time = None
    elif action == "escalate":
        case.escalation_level = (case.escalation_level or 0) + 1
    elif action == "add_evidence":
        case.last_seen_at = now
    elif action == "grant_extension":
        _extend(case, cfg, float(data.get("hours") or 0))
    elif action == "suspend":
        case.suspended_at = now
        case.state_before_suspension = d.state_before_suspension
    elif action == "resume":
        _resume(case, cfg, now)

    if d.step_finished == "dispatch":
        case.dispatched_on_time = case.deadline_at is None or now <= case.deadline_at
    elif d.step_finished == "handle" and action == "feedback":
        case.handled_on_time = (case.handle_deadline_at is None
                                or now <= case.handle_deadline_at)
    if d.step_started:
        _start_step(case, cfg, d.step_started, now)
    elif d.step_finished or not is_open(d.to_state) or d.to_state == "verified":
        case.step = None
        case.step_started_at = None
        case.deadline_at = None
        case.pauses = None


def _start_step(case: Case, cfg: CaseConfig, step: str, now: datetime) -> None:
    category = cfg.category(case.category_kind, case.category_code)
    limit = cfg.limit(category, case.urgency, step)
    case.step, case.step_started_at, case.pauses = step, now, None
    case.deadline_at = deadline(now, limit, cfg.calendar)
    if step == "dispatch":
        case.dispatch_deadline_at = case.deadline_at
        # The whole case is due when dispatch, handling and verification each take their limit
        # back to back (按期结案 is judged against this).
        due = case.deadline_at
        for later in ("handle", "verify"):
            due = deadline(due, cfg.limit(category, case.urgency, later), cfg.calendar)
        case.close_deadline_at = due
    elif step == "handle":
        case.handle_deadline_at = case.deadline_at
        if case.close_deadline_at is None or case.close_deadline_at < case.deadline_at:
            case.close_deadline_at = deadline(case.deadline_at,
                                              cfg.limit(category, case.urgency, "verify"),
                                              cfg.calendar)


def _shift(case: Case, delta: timedelta) -> None:
    for column in ("deadline_at", "handle_deadline_at", "close_deadline_at"):
        value = getattr(case, column)
        if value is not None and (column != "handle_deadline_at" or case.step == "handle"):
            setattr(case, column, value + delta)


def _extend(case: Case, cfg: CaseConfig, hours: float) -> None:
    """An extension granted (延期): the current step's deadline, and the case's, move later by
    ``hours`` working hours."""
    if case.deadline_at is None or hours <= 0:
        return
    later = cfg.calendar.add_working(case.deadline_at, hours * 3600)
    _shift(case, later - case.deadline_at)


def _resume(case: Case, cfg: CaseConfig, now: datetime) -> None:
    """Suspension (挂账) ended: the paused time does not count, deadlines move later by it."""
    began = case.suspended_at
    case.suspended_at = None
    case.state_before_suspension = None
    if began is None or case.step is None or case.step_started_at is None:
        return
    pauses = [*(case.pauses or []), [began.isoformat(), now.isoformat()]]
    case.pauses = pauses
    category = cfg.category(case.category_kind, case.category_code)
    limit = cfg.limit(category, case.urgency, case.step)
    spans = [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in pauses]
    moved = deadline(case.step_started_at, limit, cfg.calendar, spans)
    if moved is not None and case.deadline_at is not None:
        _shift(case, moved - case.deadline_at)


# -- the clock (掐表计时) ------------------------------------------------------------------------
@dataclass
class ClockReport:
    warned: list[int] = field(default_factory=list)
    overdue: list[int] = field(default_factory=list)


def _pauses_of(case: Case, now: datetime) -> list[tuple[datetime, datetime | None]]:
    spans: list[tuple[datetime, datetime | None]] = [
        (datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in (case.pauses or [])]
    if case.suspended_at is not None:
        spans.append((case.suspended_at, None))
    return spans


def time_used(case: Case, cfg: CaseConfig, now: datetime | None = None) -> float | None:
    """Fraction of the current step's limit used (None when nothing is on the clock)."""
    if case.step is None or case.step_started_at is None:
        return None
    now = _now(now)
    category = cfg.category(case.category_kind, case.category_code)
    return used(case.step_started_at, now, cfg.limit(category, case.urgency, case.step),
                cfg.calendar, _pauses_of(case, now))


def run_clock(session: Session, cfg: CaseConfig, now: datetime | None = None,
              *, limit: int = 500) -> ClockReport:
    """One scheduler pass: warn at 80 % of a step's limit, mark overdue (and escalate) past
    it — each exactly once per deadline. A case is claimed by a conditional UPDATE, so two
    schedulers (or a restarted one) never record the same warning or mark twice."""
    now = _now(now)
    report = ClockReport()
    open_steps = and_(Case.deadline_at.is_not(None), Case.suspended_at.is_(None),
                      Case.status != "suspended")
    overdue_ids = session.scalars(
        select(Case.id).where(open_steps, Case.deadline_at < now,
                              or_(Case.overdue_for.is_(None), Case.overdue_for != Case.deadline_at))
        .order_by(Case.deadline_at).limit(limit)).all()
    for case_id in overdue_ids:
        claimed = session.execute(
            update(Case).where(Case.id == case_id, Case.deadline_at < now,
                               or_(Case.overdue_for.is_(None),
                                   Case.overdue_for != Case.deadline_at))
            .values(overdue_for=Case.deadline_at).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        case = load_case(session, case_id)
        session.refresh(case)
        step = case.step
        transition(session, cfg, case, "mark_overdue", SYSTEM, now=now,
                   data={"step": step, "deadline": case.deadline_at.isoformat()})
        transition(session, cfg, case, "escalate", SYSTEM, now=now,
                   data={"step": step, "level": (case.escalation_level or 0) + 1})
        report.overdue.append(case_id)
    candidates = session.scalars(
        select(Case).where(open_steps, Case.deadline_at >= now,
                           or_(Case.warned_for.is_(None), Case.warned_for != Case.deadline_at))
        .order_by(Case.deadline_at).limit(limit * 4)).all()
    for case in candidates:
        fraction = time_used(case, cfg, now)
        if fraction is None or fraction < 0.8:
            continue
        claimed = session.execute(
            update(Case).where(Case.id == case.id,
                               or_(Case.warned_for.is_(None),
                                   Case.warned_for != Case.deadline_at))
            .values(warned_for=Case.deadline_at).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        session.refresh(case)
        transition(session, cfg, case, "warn", SYSTEM, now=now,
                   data={"step": case.step, "used": round(fraction, 3),
                         "deadline": case.deadline_at.isoformat()})
        report.warned.append(case.id)
    return report


# -- reading cases -----------------------------------------------------------------------------
def events_of(session: Session, case_id: int) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                .order_by(CaseEvent.seq)))


# -- rule outcomes from the ingest (sensor and camera cases) ----------------------------------
#: A repeat sighting always counts (seen_count, the detection linked to the case); it is also
#: written to the case's timeline when the case was last seen longer ago than this.
EVIDENCE_EVENT_GAP = timedelta(minutes=15)
_CLOSED_FOR_GOOD = ("closed", "declined", "void")


@dataclass(frozen=True)
class Evidence:
    """Where a rule outcome came from: the message (device + msg_id), its snapshot and the
    unit grid it was located to."""

    device_id: int | None = None
    msg_id: str | None = None
    snapshot_sha256: str | None = None
    confidence: float | None = None
    grid_code: str | None = None


@dataclass
class IntakeReport:
    opened: list[int] = field(default_factory=list)
    evidence: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    normal: list[int] = field(default_factory=list)
    #: (device id, msg_id) → case id of each detection that is evidence for a case.
    links: dict[tuple[int, str], int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.opened) + len(self.evidence) + len(self.reopened) + len(self.normal)


def _case_point(case: Case) -> tuple[float | None, float | None]:
    return (case.geom.x, case.geom.y) if case.geom is not None else (None, None)


@dataclass
class _Known:
    """What dedup needs of a case, read with Core (no ORM object per candidate)."""

    id: int
    kind: str
    code: str
    component_id: int | None
    rule_key: str | None
    lon: float | None
    lat: float | None
    reported_at: datetime
    status: str
    closed_at: datetime | None
    last_seen_at: datetime | None

    def as_open(self) -> Any:
        from cases.dedup import OpenCase

        return OpenCase(self.id, self.kind, self.code, self.component_id, self.rule_key,
                        self.lon, self.lat, self.reported_at)

    def as_closed(self) -> Any:
        from cases.dedup import ClosedCase

        return ClosedCase(self.id, self.kind, self.code, self.component_id, self.rule_key,
                          self.lon, self.lat, self.reported_at, self.closed_at)

    @classmethod
    def of(cls, case: Case) -> _Known:
        return cls(case.id, case.category_kind, case.category_code, case.component_id,
                   case.rule_key, *_case_point(case), case.reported_at, case.status,
                   case.closed_at, case.last_seen_at)


_KNOWN_COLUMNS = (Case.id, Case.category_kind, Case.category_code, Case.component_id,
                  Case.rule_key, Case.geom, Case.reported_at, Case.status, Case.closed_at,
                  Case.last_seen_at)


class _CameraIndex:
    """Open camera cases (no component) by category and by band of latitude, so that dedup
    weighs only the cases that could lie within its radius rather than the whole city's."""

    BAND_DEG = 0.001  # about 111 m of latitude

    def __init__(self) -> None:
        self.rows: dict[int, _Known] = {}
        self.bands: dict[tuple[str, str], dict[int | None, dict[int, Any]]] = {}

    @classmethod
    def _band(cls, lat: float | None) -> int | None:
        return None if lat is None else math.floor(lat / cls.BAND_DEG)

    def clear(self) -> None:
        self.rows.clear()
        self.bands.clear()

    def add(self, known: _Known) -> None:
        self.discard(known.id)
        self.rows[known.id] = known
        self.bands.setdefault((known.kind, known.code), {}).setdefault(
            self._band(known.lat), {})[known.id] = known.as_open()

    def discard(self, case_id: int) -> None:
        old = self.rows.pop(case_id, None)
        if old is not None:
            self.bands.get((old.kind, old.code), {}).get(self._band(old.lat), {}).pop(
                case_id, None)

    def near(self, kind: str, code: str, lat: float | None, radius_m: float) -> list[Any]:
        """The open cases of one category in the bands a point ``radius_m`` away can reach
        (none for a point without coordinates: dedup by distance needs them)."""
        bands = self.bands.get((kind, code))
        band = self._band(lat)
        if not bands or band is None:
            return []
        reach = math.ceil(radius_m / 110_500.0 / self.BAND_DEG)
        return [case for b in range(band - reach, band + reach + 1)
                for case in bands.get(b, {}).values()]


class OpenCameraCases:
    """The open camera cases (no component) an ingest worker dedups against, kept between
    batches: read whole every :attr:`FULL_S` seconds, otherwise at most every
    :attr:`REFRESH_S` the cases changed since the last read (``updated_at``, with a margin for
    transactions that commit late); the worker's own new cases join at once. A case another
    worker opens or closes is seen within seconds; at worst, within a full read. The owner
    calls :meth:`invalidate` when a batch does not commit, so nothing it added outlives a
    rollback.
    """

    FULL_S = 60.0
    REFRESH_S = 1.0
    MARGIN = timedelta(seconds=2)

    def __init__(self, flush_s: float = 0.0) -> None:
        self.index = _CameraIndex()
        self.read_at: datetime | None = None
        self.full_at = self.refreshed_at = 0.0
        #: Repeat sightings are summed here and written every ``flush_s`` seconds (0: with
        #: each batch). ``staged``: this batch's, until it commits; ``pending``: committed
        #: batches', not yet written; ``flushing``: being written by the current batch.
        self.flush_s = flush_s
        self.staged: dict[int, list[Any]] = {}
        self.pending: dict[int, list[Any]] = {}
        self.flushing: dict[int, list[Any]] | None = None
        self.flushed_at = 0.0

    @property
    def rows(self) -> dict[int, _Known]:
        return self.index.rows

    def invalidate(self) -> None:
        self.index.clear()
        self.read_at = None

    @staticmethod
    def _merge(into: dict[int, list[Any]], rows: Iterable[tuple[int, int, datetime]]) -> None:
        for cid, n, at in rows:
            slot = into.setdefault(cid, [0, at])
            slot[0] += n
            slot[1] = max(slot[1], at)

    def stage(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self._merge(self.staged, ((r["cid"], r["n"], r["at"]) for r in rows))

    def take_due(self, force: bool = False) -> list[dict[str, Any]]:
        """The sightings to write in the current batch's transaction (empty when not due)."""
        import time

        if not self.pending or (not force and time.monotonic() - self.flushed_at < self.flush_s):
            return []
        self.flushing, self.pending = self.pending, {}
        return [{"cid": cid, "n": n, "at": at} for cid, (n, at) in self.flushing.items()]

    def committed(self) -> None:
        """The batch's transaction committed: its sightings join the pending ones."""
        import time

        self._merge(self.pending, ((c, n, at) for c, (n, at) in self.staged.items()))
        self.staged = {}
        if self.flushing is not None:
            self.flushing = None
            self.flushed_at = time.monotonic()

    def rolled_back(self) -> None:
        """The batch's transaction did not commit: drop its sightings, keep what was being
        written for the next try, and forget the cases it may have added."""
        self.staged = {}
        if self.flushing is not None:
            self._merge(self.pending, ((c, n, at) for c, (n, at) in self.flushing.items()))
            self.flushing = None
        self.invalidate()

    def refresh(self, session: Session, oldest: datetime) -> None:
        import time

        started, ticks = utcnow(), time.monotonic()
        where = [Case.component_id.is_(None)]
        if self.read_at is None or ticks - self.full_at > self.FULL_S:
            self.invalidate()
            where += [Case.status.not_in(_CLOSED_FOR_GOOD), Case.reported_at >= oldest]
            self.full_at = ticks
        elif ticks - self.refreshed_at < self.REFRESH_S:
            return
        else:
            where.append(Case.updated_at >= self.read_at - self.MARGIN)
        for row in session.execute(select(*_KNOWN_COLUMNS).where(*where)).all():
            known = _known(row)
            if known.status in _CLOSED_FOR_GOOD:
                self.index.discard(known.id)
            else:
                self.index.add(known)
        self.read_at, self.refreshed_at = started, ticks


def add_sightings(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add repeat sightings to cases: ``rows`` of ``{"cid": case id, "n": count, "at": when
    last seen}``. A sighting is not a change of the case: ``updated_at`` stays."""
    if not rows:
        return
    session.flush()
    table = Case.__table__
    session.connection().execute(
        update(table).where(table.c.id == bindparam("cid"))
        .values(seen_count=table.c.seen_count + bindparam("n"),
                last_seen_at=bindparam("at", type_=table.c.last_seen_at.type),
                updated_at=table.c.updated_at), list(rows))


def _known(r: Any) -> _Known:
    geom = r[5]
    return _Known(r[0], r[1], r[2], r[3], r[4], geom.x if geom is not None else None,
                  geom.y if geom is not None else None, r[6], r[7], r[8], r[9])


class _Candidates:
    """The open and recently closed cases a batch's outcomes may match, read in at most two
    queries for the whole batch (camera cases from ``cache`` when given) and kept current as
    the batch opens and reopens cases."""

    def __init__(self, session: Session, cfg: CaseConfig, outcomes: Sequence[Any],
                 cache: OpenCameraCases | None = None) -> None:
        from cases.dedup import DedupPolicy

        self.dedup = cfg.rules.dedup if cfg.rules is not None else None
        self.default = DedupPolicy()
        self.cache = cache
        components = {o.component_id for o, _ in outcomes if o.component_id is not None}
        camera = [o for o, _ in outcomes
                  if o.component_id is None and hasattr(o, "category_code")]
        self.by_id: dict[int, _Known] = {}
        self.open_component: dict[tuple[Any, str | None], _Known] = {}
        self.closed_component: dict[tuple[Any, str | None], list[_Known]] = {}
        #: Camera cases: the worker's cache's index (the batch's new cases join it), or
        #: one of the batch's own.
        self.camera = cache.index if cache is not None else _CameraIndex()
        found: list[_Known] = []
        if components:
            reopen = max((self.policy(o).reopen_days for o, _ in outcomes
                          if hasattr(o, "category_code")), default=self.default.reopen_days)
            oldest = min(o.ts for o, _ in outcomes) - timedelta(days=reopen)
            found += [_known(r) for r in session.execute(select(*_KNOWN_COLUMNS).where(
                Case.component_id.in_(components),
                or_(Case.status.not_in(_CLOSED_FOR_GOOD),
                    and_(Case.status == "closed", Case.closed_at >= oldest)))).all()]
        if camera:
            kinds = {(o.category_kind, o.category_code) for o in camera}
            if cache is not None:
                hours = max([p.hours for p in self._policies()])
                cache.refresh(session, min(o.ts for o in camera) - timedelta(hours=hours))
            else:
                hours = max(self.policy(o).hours for o in camera)
                oldest = min(o.ts for o in camera) - timedelta(hours=hours)
                found += [k for k in map(_known, session.execute(select(*_KNOWN_COLUMNS).where(
                    Case.component_id.is_(None), Case.status.not_in(_CLOSED_FOR_GOOD),
                    Case.category_code.in_({c for _, c in kinds}),
                    Case.reported_at >= oldest)).all()) if (k.kind, k.code) in kinds]
        for known in found:
            self.add(known)

    def _policies(self) -> list[Any]:
        if self.dedup is None:
            return [self.default]
        return [self.dedup.default, *self.dedup.by_category.values()]

    def policy(self, trigger: Any) -> Any:
        if self.dedup is None:
            return self.default
        return self.dedup.for_category(trigger.category_kind, trigger.category_code)

    def add(self, known: _Known) -> None:
        self.by_id[known.id] = known
        if known.component_id is not None:
            key = (known.component_id, known.rule_key)
            if known.status == "closed":
                self.closed_component.setdefault(key, []).append(known)
            elif key not in self.open_component or known.id < self.open_component[key].id:
                self.open_component[key] = known
        else:
            self.camera.add(known)
    def reopened(self, known: _Known) -> None:
        key = (known.component_id, known.rule_key)
        self.closed_component[key] = [c for c in self.closed_component.get(key, [])
                                      if c.id != known.id]
        known.status, known.closed_at = "accepted", None
        self.open_component[key] = known

    def decide(self, trigger: Any) -> Any:
        from cases.dedup import decide_dedup

        if trigger.component_id is not None:
            key = (trigger.component_id, trigger.rule_key)
            found = self.open_component.get(key)
            opened = [found.as_open()] if found is not None else []
            closed = [c.as_closed() for c in self.closed_component.get(key, [])
                      if c.closed_at is not None]
        else:
            policy = self.policy(trigger)
            return decide_dedup(trigger, self.camera.near(trigger.category_kind,
                                                          trigger.category_code, trigger.lat,
                                                          policy.radius_m), [], policy)
        return decide_dedup(trigger, opened, closed, self.policy(trigger))


@dataclass
class _Sightings:
    count: int = 0
    last_ts: datetime | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    #: The latest sighting: (trigger, evidence, dedup decision); its data is built only if a
    #: timeline entry is written.
    last: tuple[Any, Evidence, Any] | None = None


def _trigger_data(trigger: Any, evidence: Evidence) -> dict[str, Any]:
    data = {"rule": trigger.rule_key, "ts": trigger.ts.isoformat(),
            "values": dict(trigger.values), "reason": trigger.reason_zh,
            "reason_en": trigger.reason_en}
    if evidence.snapshot_sha256:
        data["snapshot"] = evidence.snapshot_sha256
    if evidence.confidence is not None:
        data["confidence"] = evidence.confidence
    return data


def _snapshot_files(evidence: Evidence) -> list[dict[str, Any]]:
    return ([{"sha256": evidence.snapshot_sha256, "mime": "image/jpeg"}]
            if evidence.snapshot_sha256 else [])


def apply_rule_outcomes(session: Session, cfg: CaseConfig,
                        outcomes: Sequence[tuple[Any, Evidence]],
                        now: datetime | None = None,
                        cache: OpenCameraCases | None = None,
                        link: bool = True) -> IntakeReport:
    """Turn the rule engine's Triggers and Normals into cases, in the caller's transaction.

    A trigger opens a case (sensor cases, and camera cases at or above the event's
    auto-register confidence, register and dispatch themselves; the rest wait in the
    registration queue), or — as dedup decides — adds evidence to the open case for the same
    component and rule or the same event nearby, or reopens a recently closed case as rework.
    A Normal (the reading is back to normal) is recorded as evidence on the open case.

    Built for the ingest's batches: candidates are loaded once per batch; repeat sightings of
    one case are summed into its ``seen_count`` with one timeline event per
    :data:`EVIDENCE_EVENT_GAP`, and detections are linked to their case in one statement.
    """
    from cases.dedup import AddEvidence, Reopen
    from cases.rules import Normal
    from data.shop_cases import attribute_case, shop_for_trigger

    now = _now(now)
    report = IntakeReport()
    if not outcomes:
        return report
    candidates = _Candidates(session, cfg, outcomes, cache)
    sightings: dict[int, _Sightings] = {}
    for outcome, evidence in outcomes:
        if isinstance(outcome, Normal):
            known = candidates.open_component.get((outcome.component_id, outcome.rule_key))
            if known is not None and outcome.component_id is not None:
                case = load_case(session, known.id, lock=True)
                transition(session, cfg, case, "back_to_normal", SYSTEM, now=now,
                           data={"rule": outcome.rule_key, "ts": outcome.ts.isoformat(),
                                 "values": dict(outcome.values)})
                report.normal.append(case.id)
            continue
        trigger = outcome
        decision = candidates.decide(trigger)
        if isinstance(decision, AddEvidence):
            case_id = decision.case_id
            seen = sightings.get(case_id)
            if seen is None:
                seen = sightings[case_id] = _Sightings()
            seen.count += 1
            seen.last_ts = max(seen.last_ts or trigger.ts, trigger.ts)
            if evidence.snapshot_sha256:
                seen.files = (seen.files + _snapshot_files(evidence))[-3:]
            seen.last = (trigger, evidence, decision)
            report.evidence.append(case_id)
        elif isinstance(decision, Reopen):
            case = load_case(session, decision.case_id, lock=True)
            transition(session, cfg, case, "reopen", SYSTEM, now=now,
                       data=_trigger_data(trigger, evidence), note=trigger.reason_zh,
                       attachments=_snapshot_files(evidence))
            known = candidates.by_id.get(case.id) or _Known.of(case)
            candidates.reopened(known)
            case_id = case.id
            report.reopened.append(case_id)
        else:
            sensor = trigger.component_id is not None
            case = report_case(
                session, cfg, kind=trigger.category_kind, code=trigger.category_code,
                actor=SYSTEM, source="sensor" if sensor else "camera",
                lon=trigger.lon, lat=trigger.lat, grid_code=evidence.grid_code,
                component_id=trigger.component_id, urgency=trigger.urgency,
                rule_key=trigger.rule_key,
                shop_id=None if sensor else shop_for_trigger(session, trigger),
                description=f"{trigger.reason_zh} / {trigger.reason_en}",
                attachments=_snapshot_files(evidence), data=_trigger_data(trigger, evidence),
                now=now, auto=sensor or bool(trigger.auto_register))
            known = _Known.of(case)
            candidates.add(known)  # and to the worker's cache, which the candidates share
            case_id = case.id
            report.opened.append(case_id)
        if evidence.device_id is not None and evidence.msg_id is not None:
            report.links[(evidence.device_id, evidence.msg_id)] = case_id
    counted: list[dict[str, Any]] = []
    for case_id, seen in sightings.items():
        known = candidates.by_id.get(case_id) or (cache.rows.get(case_id) if cache else None)
        quiet = (known is None or known.last_seen_at is None
                 or now - known.last_seen_at >= EVIDENCE_EVENT_GAP)
        case = (load_case(session, case_id, lock=True)
                if quiet and (known is None or is_open(known.status)) else None)
        if case is not None and is_open(case.status):  # (closed elsewhere a moment ago: no)
            # The timeline entry (add_evidence counts one sighting itself).
            trigger, evidence, decision = seen.last  # type: ignore[misc]
            data = {**_trigger_data(trigger, evidence), "matched_by": decision.matched_by,
                    "distance_m": decision.distance_m, "sightings": seen.count}
            transition(session, cfg, case, "add_evidence", SYSTEM, now=now, data=data,
                       attachments=seen.files)
            case.seen_count = (case.seen_count or 1) + seen.count - 1
            case.last_seen_at = now
            attribute_case(session, case, trigger, now)  # seen inside a shop's zone
        else:
            counted.append({"n": seen.count, "at": now, "cid": case_id})
        if known is not None:
            known.last_seen_at = now
    if counted:
        if cache is not None and cache.flush_s > 0:
            cache.stage(counted)  # summed in memory, written every few seconds
        else:
            add_sightings(session, counted)
    if link and report.links:  # the ingest instead writes case_id with the detection
        session.execute(text("UPDATE detections SET case_id = :c "
                             "WHERE device_id = :d AND msg_id = :m"),
                        [{"c": c, "d": d, "m": m} for (d, m), c in report.links.items()])
    return report
