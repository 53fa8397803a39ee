"""Read models of the big screen (指挥大屏): the whole city's situation, refreshed every few
seconds. SQL lives here; the page's callbacks call :func:`live_state` and :func:`area_drill`
and hand the plain results to the figure builders in ``layouts/_bigscreen.py``.

Everything is aggregated in the database (``GROUP BY``, ``count``) over indexed filters —
open cases by ``status`` (``ix_cases_status_deadline``), today's steps by ``case_events.at``,
abnormal components by ``components.status``, the latest fix of each tracker through the
unique ``(tracker_id, ts)`` index, the newest detections by primary key — so one refresh costs
the same whether the city holds a thousand cases or a million. Nothing loads every case.

"Today" is the calendar day in the city's time zone (``cfg.calendar.tz``).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, distinct, func, literal_column, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cases.clock import GREEN, RED, YELLOW, light
from cases.workflow import OPEN, STATE_LABELS
from data.cases import CaseConfig, time_used
from data.models import (
    Case,
    CaseEvent,
    Component,
    ComponentType,
    Detection,
    Device,
    EventType,
    Position,
    Region,
    Shop,
    ShopScore,
    ShopScoreMonth,
    Tracker,
    UnitGrid,
    User,
)
from data.views import check_area

#: Open states whose clock runs (a suspended case, 挂账, has its clock stopped).
RUNNING = tuple(sorted(OPEN - {"suspended"}))
OPEN_STATES = tuple(sorted(OPEN))
#: Component statuses that count as a fault on the map, most severe first.
FAULT_STATUSES = ("fault", "alarm", "offline")
SILENT = "silent"
"""A component whose device has been silent longer than the no-data rule allows."""
SEVERITY = {"fault": 0, "alarm": 1, "offline": 2, SILENT: 3}
LAYERS = ("open", "overdue", "faults", "shops")
POSITION_WINDOW = timedelta(minutes=15)
MAX_MARKERS = 5000
"""At most this many abnormal components are drawn (the most severe first); the per-grid
fault counts always count all of them."""
DRILL_CASES = 40


# -- results -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kpis:
    """Today's figures (city time zone) and the situation now."""

    reports_today: int
    registered_today: int
    dispatched_today: int
    closed_today: int
    closed_on_time_today: int
    overdue_now: int
    open_now: int

    @property
    def on_time_rate(self) -> float | None:
        """Share of the cases closed today that were closed on time (None: none closed)."""
        if not self.closed_today:
            return None
        return self.closed_on_time_today / self.closed_today


@dataclass(frozen=True)
class ComponentPoint:
    code: str
    name: str
    grid_code: str | None
    status: str  # fault / alarm / offline / silent
    lon: float
    lat: float


@dataclass(frozen=True)
class TrackerPoint:
    code: str
    kind: str  # inspector / vehicle
    name: str
    plate: str | None
    lon: float
    lat: float
    ts: datetime
    speed_kmh: float | None


@dataclass(frozen=True)
class DetectionItem:
    id: int
    ts: datetime
    event_code: str
    name: str
    name_en: str
    confidence: float
    camera: str
    place: str | None
    grid_code: str | None
    grid_name: str | None
    snapshot_sha256: str | None
    case_id: int | None


@dataclass(frozen=True)
class CountItem:
    """One bar: a category or a district with its count of open cases."""

    key: str
    name: str
    name_en: str
    count: int


@dataclass(frozen=True)
class LiveState:
    """Everything one refresh of the big screen shows."""

    now: datetime
    kpis: Kpis
    layers: dict[str, dict[str, int]]  # layer → grid code → count (grids with 0 left out)
    components: list[ComponentPoint]
    component_total: int  # abnormal components in the city (markers may be fewer)
    trackers: list[TrackerPoint]
    detections: list[DetectionItem]
    by_category: list[CountItem]
    by_district: list[CountItem]
    lights: dict[str, int]  # green / yellow / red: open cases on the clock
    shops: list[ShopPoint] = field(default_factory=list)  # only when the shop layer is on


@dataclass(frozen=True)
class ShopPoint:
    """A shop on the map with its last published monthly score (门前三包; None: unscored)."""

    code: str
    name: str
    lon: float
    lat: float
    score: float | None
    stars: int | None
    listed: str | None
    month: str | None


@dataclass(frozen=True)
class DrillCase:
    id: int
    code: str
    title: str
    category: str
    category_en: str
    status: str
    status_label: str
    status_label_en: str
    light: str | None
    deadline_at: datetime | None
    grid_code: str | None


@dataclass(frozen=True)
class AreaDrill:
    """One area (district, street, community or grid): its open cases and components."""

    code: str
    level: str
    name: str
    name_en: str | None
    inspector: str | None
    open_cases: int
    overdue: int
    cases: list[DrillCase]
    components: dict[str, int]  # status → count
    faults: int = 0
    lights: dict[str, int] = field(default_factory=dict)


# -- time --------------------------------------------------------------------------------------
def day_start(cfg: CaseConfig, now: datetime) -> datetime:
    """Midnight of ``now``'s day in the city's time zone (aware)."""
    local = now.astimezone(cfg.calendar.tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


# -- filters ----------------------------------------------------------------------------------
def _rare(session: Session, clause: ColumnElement[bool]) -> ColumnElement[bool]:
    """Tell SQLite's planner that ``clause`` picks few rows (open cases among a quarter's
    closed ones): without statistics of the value distribution it would rather scan the
    table through the GROUP BY column's index. PostgreSQL has its statistics: unchanged."""
    if session.get_bind().dialect.name == "sqlite":
        return func.likelihood(clause, literal_column("0.05"))  # type: ignore[return-value]
    return clause


def _open(session: Session) -> ColumnElement[bool]:
    return _rare(session, Case.status.in_(OPEN_STATES))


def _on_clock(session: Session) -> list[ColumnElement[bool]]:
    return [_rare(session, Case.status.in_(RUNNING)), Case.suspended_at.is_(None),
            Case.step.is_not(None), Case.deadline_at.is_not(None)]


# -- KPIs --------------------------------------------------------------------------------------


def _steps_today(session: Session, since: datetime) -> dict[str, int]:
    rows = session.execute(
        select(CaseEvent.action, func.count(distinct(CaseEvent.case_id)))
        .where(CaseEvent.at >= since, CaseEvent.action.in_(("register", "dispatch", "close")))
        .group_by(CaseEvent.action)).all()
    return {action: int(n) for action, n in rows}


def kpis(session: Session, cfg: CaseConfig, now: datetime) -> Kpis:
    """Today's reports, registrations, dispatches and closures (each case once per step, from
    the case events), the on-time share of today's closures, overdue and open cases now."""
    since = day_start(cfg, now)
    steps = _steps_today(session, since)
    # Today's closures first (the events' time index), then their cases by id: a join would
    # let SQLite's planner scan every case.
    closed_today = (select(CaseEvent.case_id)
                    .where(CaseEvent.at >= since, CaseEvent.action == "close"))
    on_time = session.scalar(select(func.count()).select_from(Case).where(
        Case.id.in_(closed_today.scalar_subquery()), Case.closed_on_time.is_(True)))
    reports = session.scalar(select(func.count()).select_from(Case)
                             .where(Case.reported_at >= since))
    overdue = session.scalar(select(func.count()).select_from(Case)
                             .where(*_on_clock(session), Case.deadline_at < now))
    open_now = session.scalar(select(func.count()).select_from(Case).where(_open(session)))
    return Kpis(reports_today=int(reports or 0), registered_today=steps.get("register", 0),
                dispatched_today=steps.get("dispatch", 0), closed_today=steps.get("close", 0),
                closed_on_time_today=int(on_time or 0), overdue_now=int(overdue or 0),
                open_now=int(open_now or 0))


# -- traffic lights (红黄绿灯) ---------------------------------------------------------------------
def _yellow_from(cfg: CaseConfig, kind: str, code: str, urgency: str, step: str,
                 now: datetime) -> datetime | None:
    """The latest deadline at which a case of this kind is yellow now: the light turns yellow
    once 80 % of the step's limit is used, i.e. when at most 20 % of it remains before the
    deadline (counted as the limit counts: working time or elapsed time)."""
    category = cfg.catalogue.get(kind, code)
    if category is None:
        return None
    try:
        limit = cfg.limit(category, urgency, step)
    except KeyError:
        return None
    rest = limit.duration(cfg.calendar) * 0.2
    if limit.counts_working_time:
        return cfg.calendar.add_working_time(now, rest)
    return now + rest


def traffic_lights(session: Session, cfg: CaseConfig, now: datetime,
                   *where: ColumnElement[bool]) -> dict[str, int]:
    """Open cases on the clock by traffic light, the same light as ``cases.clock.light`` of
    ``data.cases.time_used``: red past the deadline, yellow from 80 % of the step's limit,
    green before. Counted in SQL: the 80 % moment of each (category, urgency, step) present is
    turned into a deadline bound, so no case is loaded."""
    base = [*_on_clock(session), *where]
    red = session.scalar(select(func.count()).select_from(Case)
                         .where(*base, Case.deadline_at < now)) or 0
    groups = session.execute(
        select(Case.category_kind, Case.category_code, Case.urgency, Case.step, func.count())
        .where(*base, Case.deadline_at >= now)
        .group_by(Case.category_kind, Case.category_code, Case.urgency, Case.step)).all()
    waiting = sum(int(n) for *_, n in groups)
    terms = []
    for kind, code, urgency, step, _n in groups:
        bound = _yellow_from(cfg, kind, code, urgency, step, now)
        if bound is not None:
            terms.append(and_(Case.category_kind == kind, Case.category_code == code,
                              Case.urgency == urgency, Case.step == step,
                              Case.deadline_at <= bound))
    yellow = 0
    for chunk in (terms[i:i + 200] for i in range(0, len(terms), 200)):
        yellow += session.scalar(select(func.count()).select_from(Case)
                                 .where(*base, Case.deadline_at >= now, or_(*chunk))) or 0
    return {GREEN: waiting - yellow, YELLOW: int(yellow), RED: int(red)}


# -- grid layers -------------------------------------------------------------------------------
def _per_grid(session: Session, *where: ColumnElement[bool]) -> dict[str, int]:
    rows = session.execute(select(Case.grid_code, func.count()).where(*where)
                           .group_by(Case.grid_code)).all()
    return {code: int(n) for code, n in rows if code is not None}


_PERIODS: dict[str, tuple[float, tuple[int | None, ...]]] = {}
PERIODS_TTL_S = 300.0


def _device_periods(session: Session) -> tuple[int | None, ...]:
    """The distinct report periods devices declare (a handful; kept five minutes)."""
    key = str(session.get_bind().url)
    hit = _PERIODS.get(key)
    if hit is None or time.monotonic() - hit[0] > PERIODS_TTL_S:
        periods = tuple(session.scalars(select(Device.period_s).distinct()))
        hit = _PERIODS[key] = (time.monotonic(), periods)
    return hit[1]


def _silent_clause(session: Session, cfg: CaseConfig, now: datetime) -> ColumnElement[bool] | None:
    """Devices heard once but silent for longer than the no-data rule's factor × period."""
    rule = getattr(cfg.rules, "no_data", None) if cfg.rules is not None else None
    if rule is None:
        return None
    factor, default = float(rule.when.factor), rule.when.period_s
    terms: list[ColumnElement[bool]] = []
    for period in _device_periods(session):
        if period:
            terms.append(and_(Device.period_s == period,
                              Device.last_seen_at < now - timedelta(seconds=factor * period)))
    type_periods = session.scalars(select(ComponentType.report_period_s).distinct()).all()
    for period in type_periods:
        if period:
            terms.append(and_(Device.period_s.is_(None), ComponentType.report_period_s == period,
                              Device.last_seen_at < now - timedelta(seconds=factor * period)))
    if default:
        terms.append(and_(Device.period_s.is_(None), ComponentType.report_period_s.is_(None),
                          Device.last_seen_at < now - timedelta(seconds=factor * default)))
    return and_(Device.last_seen_at.is_not(None), or_(*terms)) if terms else None


def abnormal_components(session: Session, cfg: CaseConfig, now: datetime,
                        area: str | None = None) -> list[ComponentPoint]:
    """Components in fault, alarm or offline, and those whose device went silent — each once,
    with its most severe status, most severe first."""
    found: dict[str, ComponentPoint] = {}
    cols = (Component.code, Component.name, Component.grid_code, Component.status,
            Component.geom)
    prefix = [Component.grid_code.startswith(area)] if area else []
    rows = list(session.execute(select(*cols).where(Component.status.in_(FAULT_STATUSES),
                                                    *prefix)))
    silent = _silent_clause(session, cfg, now)
    if silent is not None:
        rows += [(*r[:3], SILENT, r[4]) for r in session.execute(
            select(*cols).join(Device, Device.component_id == Component.id)
            .join(ComponentType, ComponentType.code == Component.type_code)
            .where(silent, Component.status != "removed", *prefix))]
    for code, name, grid, status, geom in rows:
        if geom is None:
            continue
        known = found.get(code)
        if known is None or SEVERITY[status] < SEVERITY[known.status]:
            found[code] = ComponentPoint(code, name, grid, status, float(geom.x), float(geom.y))
    return sorted(found.values(), key=lambda p: (SEVERITY[p.status], p.code))


def grid_layers(session: Session, now: datetime,
                components: Iterable[ComponentPoint]) -> dict[str, dict[str, int]]:
    """Per grid: open cases, overdue cases, abnormal components (grids with 0 left out)."""
    faults = Counter(p.grid_code for p in components if p.grid_code)
    return {
        "open": _per_grid(session, _open(session)),
        "overdue": _per_grid(session, *_on_clock(session), Case.deadline_at < now),
        "faults": dict(faults),
        "shops": _per_grid(session, _open(session), Case.shop_id.is_not(None)),
    }


SHOPS_TTL_S = 60.0
_shops: dict[str, tuple[float, list[ShopPoint]]] = {}


def shop_points(session: Session) -> list[ShopPoint]:
    """Every active shop with its score of the last frozen month (门前三包), kept a minute per
    database: shops and published months change rarely, and 20,000 of them take ~50 ms."""
    key = str(session.get_bind().url)
    now = time.monotonic()
    hit = _shops.get(key)
    if hit is not None and now - hit[0] <= SHOPS_TTL_S:
        return hit[1]
    month = session.scalar(select(func.max(ShopScoreMonth.month)))
    rows = session.execute(
        select(Shop.code, Shop.name, Shop.geom, ShopScore.score, ShopScore.stars,
               ShopScore.listed)
        .outerjoin(ShopScore, and_(ShopScore.shop_id == Shop.id, ShopScore.month == month))
        .where(Shop.active.is_(True)).order_by(Shop.code)).all()
    points = [ShopPoint(code, name, float(g.x), float(g.y),
                        None if score is None else float(score), stars, listed,
                        month if score is not None else None)
              for code, name, g, score, stars, listed in rows if g is not None]
    _shops[key] = (now, points)
    return points


# -- people and vehicles on the move -----------------------------------------------------------
def live_positions(session: Session, now: datetime,
                   window: timedelta = POSITION_WINDOW) -> list[TrackerPoint]:
    """The latest fix of every tracker heard in the last ``window`` (one index probe per
    tracker through the unique (tracker_id, ts) index; trackers are few)."""
    newest = (select(func.max(Position.ts)).where(Position.tracker_id == Tracker.id)
              .correlate(Tracker).scalar_subquery())
    # Driven from the trackers (a derived table of one row each), so both SQLite and
    # PostgreSQL probe the index per tracker instead of scanning every position.
    latest = select(Tracker.id.label("tracker_id"), newest.label("ts")).subquery()
    rows = session.execute(
        select(Tracker.code, Tracker.kind, Tracker.name, Tracker.plate, Position.geom,
               Position.ts, Position.speed_kmh)
        .select_from(latest)
        .join(Position, and_(Position.tracker_id == latest.c.tracker_id,
                             Position.ts == latest.c.ts))
        .join(Tracker, Tracker.id == latest.c.tracker_id)
        .where(latest.c.ts >= now - window, latest.c.ts <= now + timedelta(minutes=5))
        .order_by(Tracker.code)).all()
    return [TrackerPoint(code, kind, name, plate, float(g.x), float(g.y), ts, speed)
            for code, kind, name, plate, g, ts, speed in rows if g is not None]


# -- camera detections -------------------------------------------------------------------------
def latest_detections(session: Session, limit: int = 8) -> list[DetectionItem]:
    """The newest detections received (by id: arrival order), with event, camera and place."""
    camera = Component.__table__.alias("camera")
    rows = session.execute(
        select(Detection.id, Detection.ts, Detection.event_code, EventType.name,
               EventType.name_en, Detection.confidence, Device.code, camera.c.name,
               camera.c.address, Detection.grid_code, UnitGrid.name, Detection.snapshot_sha256,
               Detection.case_id)
        .join(Device, Device.id == Detection.device_id)
        .outerjoin(camera, camera.c.id == Device.component_id)
        .outerjoin(EventType, EventType.code == Detection.event_type_code)
        .outerjoin(UnitGrid, UnitGrid.code == Detection.grid_code)
        .order_by(Detection.id.desc()).limit(limit)).all()
    return [DetectionItem(id=i, ts=ts, event_code=ev, name=name or ev, name_en=name_en or ev,
                          confidence=float(conf), camera=cam, place=address or cam_name,
                          grid_code=grid, grid_name=grid_name, snapshot_sha256=sha,
                          case_id=case_id)
            for i, ts, ev, name, name_en, conf, cam, cam_name, address, grid, grid_name, sha,
            case_id in rows]


# -- charts ------------------------------------------------------------------------------------
def cases_by_category(session: Session, cfg: CaseConfig, top: int = 8) -> list[CountItem]:
    """Open cases per category, the ``top`` largest."""
    n = func.count().label("n")
    rows = session.execute(
        select(Case.category_kind, Case.category_code, n).where(_open(session))
        .group_by(Case.category_kind, Case.category_code)
        .order_by(n.desc(), Case.category_kind, Case.category_code).limit(top)).all()
    out = []
    for kind, code, count in rows:
        category = cfg.catalogue.get(kind, code)
        out.append(CountItem(f"{kind}:{code}", category.name if category else code,
                             category.name_en if category else code, int(count)))
    return out


def cases_by_district(session: Session) -> list[CountItem]:
    """Open cases per district (every district, zeros included), by district code."""
    district = func.substr(Case.grid_code, 1, 6).label("district")
    counts = dict(session.execute(
        select(district, func.count()).where(_open(session)).group_by(district)).all())
    rows = session.execute(select(Region.code, Region.name, Region.name_en)
                           .where(Region.level == "district").order_by(Region.code)).all()
    return [CountItem(code, name, name_en or name, int(counts.get(code, 0)))
            for code, name, name_en in rows]


# -- everything for one refresh ----------------------------------------------------------------
def live_state(session: Session, cfg: CaseConfig, now: datetime, *, detections: int = 7,
               top: int = 8, max_markers: int = MAX_MARKERS, shops: bool = False) -> LiveState:
    """All the big screen shows, read in one session (the shops only when asked: their layer
    is on)."""
    components = abnormal_components(session, cfg, now)
    return LiveState(
        now=now,
        kpis=kpis(session, cfg, now),
        layers=grid_layers(session, now, components),
        components=components[:max_markers],
        component_total=len(components),
        trackers=live_positions(session, now),
        detections=latest_detections(session, detections),
        by_category=cases_by_category(session, cfg, top),
        by_district=cases_by_district(session),
        lights=traffic_lights(session, cfg, now),
        shops=shop_points(session) if shops else [],
    )


# -- drill-down --------------------------------------------------------------------------------
LEVEL_BY_LENGTH = {6: "district", 9: "street", 12: "community", 15: "grid"}


def area_drill(session: Session, cfg: CaseConfig, now: datetime, area: str,
               *, limit: int = DRILL_CASES) -> AreaDrill | None:
    """One area's open cases (most urgent deadline first, at most ``limit``) with their
    traffic light, and its components by status. None when no such area exists.
    Raises ``data.views.ViewError`` for a malformed code."""
    area = check_area(area) or ""
    level = LEVEL_BY_LENGTH[len(area)]
    inspector = None
    if level == "grid":
        row = session.execute(select(UnitGrid.name, User.display_name)
                              .outerjoin(User, User.id == UnitGrid.inspector_id)
                              .where(UnitGrid.code == area)).first()
        if row is None:
            return None
        name, name_en, inspector = row[0], None, row[1]
    else:
        row = session.execute(select(Region.name, Region.name_en)
                              .where(Region.code == area, Region.level == level)).first()
        if row is None:
            return None
        name, name_en = row
    inside = Case.grid_code.startswith(area) if level != "grid" else Case.grid_code == area
    open_cases = session.scalar(select(func.count()).select_from(Case)
                                .where(_open(session), inside)) or 0
    lights = traffic_lights(session, cfg, now, inside)
    rows = session.scalars(
        select(Case).where(_open(session), inside)
        .order_by(case((Case.deadline_at.is_(None), 1), else_=0), Case.deadline_at, Case.id)
        .limit(limit)).all()
    listed = []
    for c in rows:
        category = cfg.catalogue.get(c.category_kind, c.category_code)
        fraction = time_used(c, cfg, now) if c.status != "suspended" else None
        zh, en = STATE_LABELS.get(c.status, (c.status, c.status))
        listed.append(DrillCase(
            id=c.id, code=c.code, title=c.title,
            category=category.name if category else c.category_code,
            category_en=category.name_en if category else c.category_code,
            status=c.status, status_label=zh, status_label_en=en,
            light=light(fraction) if fraction is not None else None,
            deadline_at=c.deadline_at, grid_code=c.grid_code))
    comp_inside = (Component.grid_code.startswith(area) if level != "grid"
                   else Component.grid_code == area)
    by_status = dict(session.execute(select(Component.status, func.count())
                                     .where(comp_inside).group_by(Component.status)).all())
    faults = len(abnormal_components(session, cfg, now, area))
    return AreaDrill(code=area, level=level, name=name, name_en=name_en, inspector=inspector,
                     open_cases=int(open_cases), overdue=lights[RED], cases=listed,
                     components={k: int(v) for k, v in by_status.items()}, faults=faults,
                     lights=lights)


def grid_codes(session: Session) -> list[str]:
    """Every unit grid's code in code order: the order of the map's grid features."""
    return list(session.scalars(select(UnitGrid.code).order_by(UnitGrid.code)))


GRID = "grid"
COMMUNITY = "community"
COMMUNITY_CODE = 12
"""A unit grid's code begins with its community's 12 digits (GB/T 30428.1)."""


@dataclass(frozen=True)
class MapView:
    """What the big-screen map draws: grids (all of them, or those under ``prefix``) or, in a
    city with more grids than a browser draws quickly, its communities."""

    level: str
    prefix: str | None
    codes: tuple[str, ...]


def map_view(codes: Sequence[str], area: str | None, limit: int) -> MapView:
    """The features of the map for a picked ``area`` (None: the whole city).

    Every grid while the city has at most ``limit`` of them. Otherwise the grids of the largest
    area enclosing the pick (its district, else street, else community) that has at most
    ``limit``, so that a picked street shows its grids and their neighbours; with nothing
    picked, or nothing small enough, the communities. ``codes`` are the grid codes in order.
    """
    if len(codes) <= limit:
        return MapView(GRID, None, tuple(codes))
    for size in (6, 9, COMMUNITY_CODE):
        if not area or len(area) < size:
            break
        prefix = area[:size]
        lo = bisect_left(codes, prefix)
        hi = bisect_left(codes, prefix + "\uffff", lo)
        if 0 < hi - lo <= limit:
            return MapView(GRID, prefix, tuple(codes[lo:hi]))
    return MapView(COMMUNITY, None, tuple(sorted({c[:COMMUNITY_CODE] for c in codes})))


def view_counts(view: MapView, counts: dict[str, int]) -> dict[str, int]:
    """A layer's per-grid counts as the view's features count them (summed by community)."""
    if view.level == GRID:
        return counts
    out: Counter[str] = Counter()
    for code, n in counts.items():
        out[code[:COMMUNITY_CODE]] += n
    return dict(out)


def as_dict(value: Any) -> Any:
    """Plain JSON-ready values of the dataclasses above (datetimes as ISO strings)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "__dataclass_fields__"):
        return {k: as_dict(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {k: as_dict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_dict(v) for v in value]
    return value


def area_outline(session: Session, area: str) -> dict[str, Any] | None:
    """The boundary of one area (a grid or a region) as a GeoJSON FeatureCollection, to
    outline it on the map (None when there is no such area). Raises ``ViewError`` for a
    malformed code."""
    import shapely

    area = check_area(area) or ""
    if len(area) == 15:
        geom = session.scalar(select(UnitGrid.geom).where(UnitGrid.code == area))
    else:
        geom = session.scalar(select(Region.geom).where(Region.code == area))
    if geom is None:
        return None
    geom = shapely.set_precision(geom.boundary, 1e-6)
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(geom)}]}
