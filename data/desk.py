"""Read models of the registration and dispatch desk (受理派遣台): its three work lists and the
evidence of one case (photos, the component's readings around the trigger, the place, similar
open cases nearby, the department the routing table suggests). SQL lives here; the desk's
callbacks call these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.dedup import DedupPolicy, distance_m
from cases.workflow import OPEN, Actor
from data.case_views import (
    Visibility,
    _select,
    case_detail,
    case_photos,
    grid_place,
    iso,
    registration_queue,
    summary,
)
from data.cases import CaseConfig, CaseError, department_id, load_case, transition
from data.models import Case, CaseEvent, Component, ComponentType, Department, Reading
from data.types import utcnow

#: The desk's work lists: waiting for registration, registered but not dispatched (an auto
#: case no route matched, or one registered by hand), overdue cases in progress to supervise,
#: and cases the inspector verified, waiting to be closed (核实结案).
LISTS = ("queue", "dispatch", "supervise", "close")
IN_PROGRESS = ("registered", "dispatched", "accepted", "handled")
LIST_LIMIT = 100
#: How many same-category open cases are read to find the near ones (newest first).
SIMILAR_SCAN = 5000
SIMILAR_LIMIT = 12
READINGS_BEFORE = timedelta(hours=12)
READINGS_AFTER = timedelta(hours=3)
READINGS_LIMIT = 1500


@dataclass(frozen=True)
class WorkList:
    """One of the desk's lists: its items (summaries) and how many there are in all."""

    kind: str
    items: list[dict[str, Any]]
    total: int


def work_list(session: Session, cfg: CaseConfig, kind: str, *, limit: int = LIST_LIMIT,
              now: datetime | None = None) -> WorkList:
    """``queue``: reported cases, oldest first; ``dispatch``: registered cases, oldest first;
    ``supervise``: cases in progress past their step's deadline, most overdue first;
    ``close``: verified cases, the longest waiting first."""
    now = now or utcnow()
    if kind == "queue":
        items, total = registration_queue(session, cfg, per_page=limit, now=now)
        return WorkList(kind, items, total)
    if kind == "dispatch":
        where = [Case.status == "registered"]
        order = (Case.registered_at.asc(), Case.id.asc())
    elif kind == "supervise":
        where = [Case.status.in_(IN_PROGRESS), Case.deadline_at.is_not(None),
                 Case.deadline_at < now]
        order = (Case.deadline_at.asc(), Case.id.asc())
    elif kind == "close":
        where = [Case.status == "verified"]
        order = (Case.verified_at.asc(), Case.id.asc())
    else:
        raise ValueError(f"unknown desk list {kind!r}: one of {', '.join(LISTS)}")
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    rows = session.execute(_select().where(*where).order_by(*order).limit(limit)).all()
    return WorkList(kind, [summary(case, dept, cfg, now) for case, dept in rows], total)


def list_counts(session: Session, now: datetime | None = None) -> dict[str, int]:
    """How many cases each list holds (for the tabs' badges), in one query each."""
    now = now or utcnow()
    count = select(func.count()).select_from(Case)
    return {
        "queue": session.scalar(count.where(Case.status == "reported")) or 0,
        "dispatch": session.scalar(count.where(Case.status == "registered")) or 0,
        "supervise": session.scalar(count.where(
            Case.status.in_(IN_PROGRESS), Case.deadline_at.is_not(None),
            Case.deadline_at < now)) or 0,
        "close": session.scalar(count.where(Case.status == "verified")) or 0,
    }


def departments(session: Session) -> list[dict[str, str]]:
    """Active departments, by code: ``{"code", "zh", "en"}``."""
    return [{"code": c, "zh": n, "en": e or n} for c, n, e in session.execute(
        select(Department.code, Department.name, Department.name_en)
        .where(Department.active.is_not(False)).order_by(Department.code))]


def dedup_radius(cfg: CaseConfig, kind: str, code: str) -> float:
    """How near (metres) a sighting of this category merges into an open case."""
    if cfg.rules is not None and getattr(cfg.rules, "dedup", None) is not None:
        return float(cfg.rules.dedup.for_category(kind, code).radius_m)
    return DedupPolicy().radius_m


def similar_cases(session: Session, cfg: CaseConfig, case: Case, *,
                  limit: int = SIMILAR_LIMIT, now: datetime | None = None) -> list[dict[str, Any]]:
    """Other open cases that may be the same problem: the same component's, and the same
    category's within the dedup radius (nearest first), each a summary with ``matched_by``
    (``component`` / ``distance``) and ``distance_m``."""
    now = now or utcnow()
    found: dict[int, dict[str, Any]] = {}
    lon = lat = None
    if case.geom is not None and not case.geom.is_empty:
        lon, lat = float(case.geom.x), float(case.geom.y)
    if case.component_id is not None:
        for other, dept in session.execute(_select().where(
                Case.component_id == case.component_id, Case.id != case.id,
                Case.status.in_(sorted(OPEN))).order_by(Case.reported_at.desc()).limit(limit)):
            item = summary(other, dept, cfg, now)
            item["matched_by"] = "component"
            item["distance_m"] = _distance(lon, lat, item)
            found[other.id] = item
    if lon is not None and lat is not None:
        radius = dedup_radius(cfg, case.category_kind, case.category_code)
        near: list[tuple[float, int]] = []
        for other_id, geom in session.execute(
                select(Case.id, Case.geom).where(
                    Case.category_kind == case.category_kind,
                    Case.category_code == case.category_code, Case.id != case.id,
                    Case.status.in_(sorted(OPEN)), Case.geom.is_not(None))
                .order_by(Case.reported_at.desc()).limit(SIMILAR_SCAN)):
            if other_id in found or geom is None or geom.is_empty:
                continue
            d = distance_m(lon, lat, float(geom.x), float(geom.y))
            if d <= radius:
                near.append((d, other_id))
        near.sort()
        ids = [i for _, i in near[:limit]]
        if ids:
            rows = {c.id: (c, dept) for c, dept in session.execute(
                _select().where(Case.id.in_(ids)))}
            for d, other_id in near[:limit]:
                other, dept = rows[other_id]
                item = summary(other, dept, cfg, now)
                item["matched_by"], item["distance_m"] = "distance", round(d, 1)
                found[other_id] = item
    items = sorted(found.values(), key=lambda i: (i["matched_by"] != "component",
                                                  i["distance_m"] if i["distance_m"] is not None
                                                  else 0.0, i["id"]))
    return items[:limit]


def _distance(lon: float | None, lat: float | None, item: dict[str, Any]) -> float | None:
    if None in (lon, lat, item.get("lon"), item.get("lat")):
        return None
    return round(distance_m(lon, lat, item["lon"], item["lat"]), 1)  # type: ignore[arg-type]


def trigger_time(events: list[dict[str, Any]], reported_at: datetime) -> datetime:
    """When the problem was seen: the ``ts`` the report's rule recorded, else the report."""
    for event in events:
        if event["action"] == "report":
            raw = (event["data"] or {}).get("ts")
            if isinstance(raw, str):
                try:
                    ts = datetime.fromisoformat(raw)
                except ValueError:
                    break
                if ts.tzinfo is not None:
                    return ts
            break
    return reported_at


def component_readings(session: Session, component_id: int, around: datetime, *,
                       before: timedelta = READINGS_BEFORE, after: timedelta = READINGS_AFTER,
                       limit: int = READINGS_LIMIT) -> dict[str, Any] | None:
    """The component and its readings from ``before`` the trigger to ``after`` it (the latest
    ``limit``, in time order): ``{"component": {...}, "metrics": {name: {unit, type}},
    "trigger": iso, "points": [{"ts": iso, "metrics": {...}}]}``; None if no such component."""
    row = session.execute(
        select(Component.code, Component.name, Component.type_code, Component.address,
               Component.status, ComponentType.name, ComponentType.name_en,
               ComponentType.metrics)
        .join(ComponentType, ComponentType.code == Component.type_code)
        .where(Component.id == component_id)).first()
    if row is None:
        return None
    code, name, type_code, address, status, type_name, type_name_en, metrics = row
    rows = session.execute(
        select(Reading.ts, Reading.metrics)
        .where(Reading.component_id == component_id, Reading.ts >= around - before,
               Reading.ts <= around + after)
        .order_by(Reading.ts.desc()).limit(limit)).all()
    return {
        "component": {"id": component_id, "code": code, "name": name, "type_code": type_code,
                      "type_name": {"zh": type_name, "en": type_name_en or type_name},
                      "address": address, "status": status},
        "metrics": dict(metrics or {}),
        "trigger": iso(around),
        "points": [{"ts": iso(ts), "metrics": dict(m or {})} for ts, m in reversed(rows)],
    }


def case_evidence(session: Session, cfg: CaseConfig, case_id: int, actor: Actor, *,
                  now: datetime | None = None) -> dict[str, Any] | None:
    """One case as the desk shows it (JSON-ready): the case with its events and the actions
    ``actor`` may take (:func:`data.case_views.case_detail`), plus ``photos``, ``readings``
    (sensor cases), ``place`` (names and grid outline), ``similar`` open cases and the
    ``suggested_department`` code of the routing table. None when there is no such case."""
    now = now or utcnow()
    out = case_detail(session, cfg, case_id, Visibility(everything=True), actor, now=now)
    if out is None:
        return None
    case = session.get(Case, case_id)
    assert case is not None
    category = cfg.catalogue.get(case.category_kind, case.category_code)
    out["register_condition"] = ({"zh": category.register_condition,
                                  "en": category.register_condition_en}
                                 if category is not None else None)
    before, after = case_photos(session, case_id, out["events"])
    out["photos"] = before + after
    out["readings"] = (component_readings(session, case.component_id,
                                          trigger_time(out["events"], case.reported_at))
                       if case.component_id is not None else None)
    out["place"] = grid_place(session, case.grid_code)
    out["similar"] = similar_cases(session, cfg, case, now=now)
    out["suggested_department"] = (cfg.catalogue.department_for(category, case.grid_code)
                                   if category is not None else None)
    out["last_seq"] = max((e["seq"] for e in out["events"]), default=None)
    return out


# -- actions -----------------------------------------------------------------------------------
DESK_ACTIONS = ("register", "decline", "merge", "dispatch", "supervise", "close")


def last_seq(session: Session, case_id: int) -> int | None:
    """The number of the case's latest event (None: no such case): what the desk showed."""
    return session.scalar(select(func.max(CaseEvent.seq)).where(CaseEvent.case_id == case_id))


def take_action(session: Session, cfg: CaseConfig, case_id: int, action: str, actor: Actor, *,
                seen_seq: int | None = None, note: str | None = None,
                reason: str | None = None, target_case_id: int | None = None,
                department_code: str | None = None, now: datetime | None = None) -> Case:
    """One desk action on a case as ``actor`` (origin ``desk``), through
    :func:`data.cases.transition`; returns the case. Raises :class:`CaseError` when the
    workflow refuses it, the department is unknown, or the case changed since the desk showed
    it (``seen_seq``, its latest event then: ``stale``) — nothing is changed then."""
    if action not in DESK_ACTIONS:
        raise CaseError("unknown_action", f"the desk does not {action!r}",
                        f"受理派遣台不支持操作「{action}」")
    case = load_case(session, case_id, lock=True)
    if seen_seq is not None and last_seq(session, case_id) != seen_seq:
        raise CaseError("stale", f"case {case.code} has changed since it was shown; check it "
                        "and try again", f"案件 {case.code} 刚刚有了新的变化，请核对后再操作")
    data: dict[str, Any] = {}
    if action == "dispatch":
        if not department_code:
            raise CaseError("department_required", "choose the department to dispatch to",
                            "请选择派遣部门")
        dept = department_id(session, department_code)
        if dept is None:
            raise CaseError("unknown_department", f"no department {department_code!r}",
                            f"派遣部门 {department_code} 不存在")
        data["department_id"] = dept
    elif action == "merge":
        data["target_case_id"] = target_case_id
    transition(session, cfg, case, action, actor, reason=reason, note=note, data=data,
               origin="desk", now=now)
    return case
