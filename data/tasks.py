"""Read models of "my tasks" (我的任务): the inspector tablet's and the handler desk's lists,
one task's detail (case, photos, grid outline), and the lookups that make the tablet's
retries idempotent (a client ``request_id`` already applied).

Tasks are sorted by the deadline of the step on the clock (earliest first, none last) and
carry the traffic light (红黄绿灯) of ``cases.clock.light``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import shapely
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from cases.workflow import OPEN, Actor
from data.case_views import case_detail, summary, visibility_for
from data.cases import CaseConfig
from data.models import Case, CaseEvent, Department, UnitGrid
from data.types import utcnow

#: States a handler acts on (受理, 处置反馈, 申请延期, 回退).
HANDLER_STATES = ("dispatched", "accepted")
MAX_TASKS = 200


def _select() -> Any:
    return select(Case, Department.code).outerjoin(Department,
                                                   Department.id == Case.department_id)


def _deadline_order() -> tuple[Any, ...]:
    return (Case.deadline_at.is_(None), Case.deadline_at.asc(), Case.reported_at.asc(),
            Case.id.asc())


def inspector_tasks(session: Session, cfg: CaseConfig, actor: Actor, *,
                    now: datetime | None = None, limit: int = MAX_TASKS) -> list[dict[str, Any]]:
    """An inspector's tasks: cases waiting for their verification (``handled`` in their
    grids, or assigned to them) — ``task = "verify"`` — and their own reports still open —
    ``task = "report"``; soonest deadline first."""
    now = now or utcnow()
    mine = [Case.inspector_id == actor.user_id]
    if actor.grid_codes:
        mine.append(Case.grid_code.in_(sorted(actor.grid_codes)))
    verify = and_(Case.status == "handled", or_(*mine))
    reports = and_(Case.reporter_id == actor.user_id, Case.status.in_(sorted(OPEN)))
    rows = session.execute(_select().where(or_(verify, reports)).order_by(*_deadline_order())
                           .limit(limit)).all()
    out = []
    for case, dept in rows:
        item = summary(case, dept, cfg, now)
        waiting = case.status == "handled" and (case.inspector_id == actor.user_id
                                                or case.grid_code in actor.grid_codes)
        item["task"] = "verify" if waiting else "report"
        out.append(item)
    return out


def handler_tasks(session: Session, cfg: CaseConfig, actor: Actor, *,
                  now: datetime | None = None, limit: int = MAX_TASKS) -> list[dict[str, Any]]:
    """The cases dispatched to the handler's department that wait for it (dispatched: to
    accept; accepted: to handle); soonest deadline first. None without a department."""
    if actor.department_id is None:
        return []
    now = now or utcnow()
    rows = session.execute(_select().where(Case.department_id == actor.department_id,
                                           Case.status.in_(HANDLER_STATES))
                           .order_by(*_deadline_order()).limit(limit)).all()
    return [summary(case, dept, cfg, now) for case, dept in rows]


def _photos(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every photo attached to the case's events, oldest first, each once."""
    seen: set[str] = set()
    photos = []
    for event in events:
        for file in event.get("attachments") or []:
            sha = file.get("sha256") if isinstance(file, dict) else None
            mime = file.get("mime") if isinstance(file, dict) else None
            if not sha or sha in seen or (mime and not str(mime).startswith("image/")):
                continue
            seen.add(sha)
            photos.append({"sha256": sha, "url": f"/media/{sha}", "action": event["action"],
                           "action_label": event["action_label"], "at": event["at"]})
    return photos


def task_detail(session: Session, cfg: CaseConfig, case_id: int, actor: Actor, *,
                now: datetime | None = None) -> dict[str, Any] | None:
    """One case as ``data.case_views.case_detail`` gives it (events, allowed actions), plus
    its ``photos`` and its grid's outline (``grid``: a GeoJSON geometry); None when it does
    not exist or the actor may not see it."""
    found = case_detail(session, cfg, case_id, visibility_for(actor), actor, now=now)
    if found is None:
        return None
    found["photos"] = _photos(found["events"])
    found["grid"] = found["grid_name"] = None
    if found.get("grid_code"):
        row = session.execute(select(UnitGrid.geom, UnitGrid.name)
                              .where(UnitGrid.code == found["grid_code"])).first()
        if row is not None and row[0] is not None:
            found["grid"] = shapely.geometry.mapping(shapely.set_precision(row[0], 1e-6))
            found["grid_name"] = row[1]
    return found


def inspector_grids(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The inspector's grids: code, name, a point inside (the fallback position of a new
    report), bounds and outline (GeoJSON geometry)."""
    if not actor.grid_codes:
        return []
    rows = session.execute(select(UnitGrid.code, UnitGrid.name, UnitGrid.geom)
                           .where(UnitGrid.code.in_(sorted(actor.grid_codes)))
                           .order_by(UnitGrid.code)).all()
    out = []
    for code, name, geom in rows:
        point = geom.representative_point()
        out.append({"code": code, "name": name, "lon": round(point.x, 6),
                    "lat": round(point.y, 6), "bounds": [float(v) for v in geom.bounds],
                    "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-6))})
    return out


# -- idempotent retries (a client's request_id) ------------------------------------------------
def event_for_request(session: Session, case_id: int, actor_id: int | None,
                      request_id: str) -> CaseEvent | None:
    """The event this user already recorded on this case for ``request_id`` (stored in the
    event's ``data``), if any. Read in Python: one user's events on one case are few, and
    JSON lookups differ between SQLite and PostgreSQL."""
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                     CaseEvent.actor_id == actor_id)
                             .order_by(CaseEvent.seq))
    for event in events:
        if (event.data or {}).get("request_id") == request_id:
            return event
    return None


def case_for_request(session: Session, reporter_id: int | None,
                     request_id: str) -> Case | None:
    """The case this user already reported for ``request_id`` (kept as its external id)."""
    return session.scalar(select(Case).where(Case.external_id == request_id,
                                             Case.reporter_id == reporter_id)
                          .order_by(Case.id).limit(1))


def lock_for_request(session: Session, request_id: str) -> None:
    """On PostgreSQL, hold a transaction lock on ``request_id`` so that two copies of one
    request sent at once are applied one after the other (the second finds the first).
    SQLite serialises writers by itself."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import func

        session.execute(select(func.pg_advisory_xact_lock(
            func.hashtextextended(request_id, 0))))
