"""A demo case history (演示案件历史) for the demo city: two months of cases up to now.

``seed_history`` gives the seeded demo city a past, so that the big screen, the desks and the
scorecards show a living city on first start. Nothing is written by hand: every case is
reported and moved by the case engine itself — :func:`data.cases.report_case`,
:func:`data.cases.transition`, the rule engine (``cases.rules``) with dedup and
:func:`data.cases.apply_rule_outcomes` for sensor readings, silent devices and camera
detections, and :func:`data.cases.run_clock` at the moments the scheduler would have run it
(warnings at 80 %, overdue marks and escalations) — with back-dated ``now=`` values, in time
order. Detections, their snapshots and live positions are stored by the ingest's own
``data.ingest.write_batch``. The result is deterministic for a given ``now`` and ``seed``.

What it makes (default size: about 20 cases a day, 1,300 over the two months):

* every source: sensors (faults on real components → cases that register and dispatch
  themselves; recurrences reopen the closed case as rework; silent devices → device-fault
  cases), cameras (detections with snapshots; repeat sightings merged by dedup; low-confidence
  ones wait for the desk), inspectors' patrol reports with photos, citizens (source
  ``citizen``, Open311-like) and the 12345 hotline (source ``hotline``), with a weekday and
  hour-of-day shape and a few busy (rainy) days;
* every path: registered or declined (each reason), merged duplicates, voided false alarms,
  dispatch by the routing table (and the odd wrong dispatch returned by the handler), accept,
  feedback with photos, verification and closure; rework, extension requests (granted or
  refused), suspension (挂账) and resume, supervision (督办); some steps late, so on-time
  rates are realistic and some cases are marked overdue and escalated;
* today: open cases in every state with green, yellow and red lights, a registration queue
  for the desk, cases waiting for inspectors' verification (inspector01's grids included) and
  for departments' handlers (handler_d01's included);
* live positions of every tracker over the last half hour, and components in alarm or fault
  for their open sensor cases.

It runs once: :func:`has_history` finds an earlier run (its hotline tickets, ``DEMO-12345-…``)
and a second call changes nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import io
import itertools
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session

from cases.clock import TimeLimit, deadline
from cases.workflow import Actor, is_open
from data.cases import (
    SYSTEM,
    CaseConfig,
    Evidence,
    apply_rule_outcomes,
    department_id,
    report_case,
    run_clock,
    time_used,
    transition,
)
from data.ingest import Batch, save_snapshot, write_batch
from data.models import (
    Attachment,
    Case,
    CaseEvent,
    Component,
    Device,
    Road,
    Shop,
    ShopRating,
    Tracker,
    UnitGrid,
    User,
)
from sensors.schemas import Detection as DetectionMsg
from sensors.schemas import DeviceInfo, Resolved, Status
from sensors.schemas import Position as PositionMsg
from shops.problems import PROBLEMS_BY_EVENT

TZ = ZoneInfo("Asia/Shanghai")
#: Hotline tickets of the history carry this prefix in ``cases.external_id``: the mark by
#: which a second run sees that the history is there.
MARK = "DEMO-12345-"
#: The scheduler runs the clock every 15 s. A pass here is run when a case crosses 80 % or
#: 100 % of its step's limit, at most this share of the limit later (within these bounds),
#: so that passes due close together are one (a warning still comes before the deadline).
CLOCK_SLACK_SHARE = 0.15
CLOCK_SLACK_MIN = timedelta(minutes=1)
CLOCK_SLACK_MAX = timedelta(hours=3)
#: Cases a targeted clock pass looks at (``run_clock``'s ``limit``; the scheduler's is 500).
CLOCK_LIMIT = 5
#: Positions of every tracker over this span up to ``now``.
POSITIONS_SPAN = timedelta(minutes=30)

# -- volumes (cases a day before ``scale``) ----------------------------------------------------
#: Mean cases a day per source on a weekday, and the factor for Saturday and Sunday.
DAILY = {"sensor": 4.0, "camera": 4.5, "inspector": 6.0, "citizen": 2.5, "hotline": 2.5}
WEEKEND = {"sensor": 1.0, "camera": 1.3, "inspector": 0.35, "citizen": 1.2, "hotline": 0.8}
DEVICE_FAULTS_PER_WEEK = 3.0
#: Hour-of-day shape (local time) of people's reports and of street activity.
HOURS_PEOPLE = (0.1, 0.05, 0.05, 0.05, 0.1, 0.2, 0.5, 1.0, 1.6, 2.0, 2.0, 1.7,
                1.1, 1.2, 1.8, 1.9, 1.8, 1.5, 1.2, 1.0, 0.8, 0.6, 0.4, 0.2)
HOURS_STREET = (0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.2, 1.4, 1.4, 1.5, 1.9,
                1.8, 1.3, 1.2, 1.3, 1.6, 1.9, 2.0, 1.9, 1.6, 1.2, 0.6, 0.3)
HOURS_FLAT = (1.0,) * 24

# -- what each source reports: (kind, code, weight) --------------------------------------------
INSPECTOR_TOPICS = (
    ("event", "0102", 14), ("event", "0104", 10), ("event", "0105", 8), ("event", "0106", 5),
    ("event", "0202", 8), ("event", "0201", 3), ("event", "0101", 3), ("event", "0302", 4),
    ("event", "0501", 7), ("event", "0502", 7), ("event", "0503", 6), ("event", "0505", 5),
    ("event", "0506", 5), ("component", "0101", 3), ("component", "0102", 3),
    ("component", "0103", 3), ("component", "0105", 1), ("component", "0107", 1),
    ("component", "0404", 2),
)
CITIZEN_TOPICS = (
    ("event", "0102", 10), ("event", "0104", 6), ("event", "0301", 8), ("event", "0501", 7),
    ("event", "0502", 6), ("event", "0505", 8), ("event", "0401", 2), ("event", "0106", 3),
    ("event", "0601", 3), ("component", "0122", 5), ("event", "0302", 3),
)
HOTLINE_TOPICS = (
    ("event", "0301", 10), ("event", "0102", 6), ("event", "0501", 5), ("event", "0505", 7),
    ("event", "0104", 4), ("event", "0401", 2), ("event", "0402", 1), ("event", "0601", 4),
    ("component", "0122", 4), ("event", "0506", 3),
)
#: Sensor faults: (component type, rule key, weight).
SENSOR_FAULTS = (
    ("0122", "overcurrent", 6), ("0122", "dark_at_night", 10), ("0122", "no_current", 3),
    ("0101", "tilt", 3), ("0102", "tilt", 3), ("0103", "water_level", 4),
    ("0102", "displacement", 2), ("0105", "tilt", 1), ("0107", "tilt", 1),
    ("0111", "displacement", 1), ("0117", "tilt", 1), ("0117", "low_pressure", 1),
    ("0305", "tilt", 3), ("0305", "gale", 1), ("0308", "full", 8),
)
#: Camera detections: (detection code, weight).
CAMERA_EVENTS = (("street_vending", 6), ("out_of_store", 5), ("non_motor_parking", 7),
                 ("umbrella", 3), ("garbage_overflow", 4), ("garbage_exposed", 4),
                 ("piled_materials", 2))

# -- words ---------------------------------------------------------------------------------------
DECLINE_NOTES = {
    "duplicate": "与已立案案件重复 / duplicate of an open case",
    "not_our_duty": "属物业管理范围，已告知反映人 / property management's duty, reporter told",
    "invalid": "现场核查无此问题 / nothing found on site",
}
RETURN_NOTE = "非本部门职责，请改派 / not our department, please re-dispatch"
VERIFY_FAIL_NOTES = ("现场仍有残留，未处置到位 / not fully fixed, remains on site",
                     "问题反弹，需再次处置 / the problem is back, handle again")
EXTENSION_NOTES = ("需协调产权单位，申请延期 / waiting for the owner, extension requested",
                   "需专业队伍和材料 / needs a specialist team and parts")
SUSPEND_NOTES = ("等待配件到货，暂缓处置 / waiting for spare parts",
                 "涉及施工许可，待审批后处置 / waiting for a construction permit")
FEEDBACK_NOTES = ("已现场处置完毕，附照片 / fixed on site, photos attached",
                  "已清理并恢复原状 / cleared and restored",
                  "已更换损坏部件 / damaged part replaced",
                  "已劝离并教育当事人 / the people involved were moved on and warned")
SUPERVISE_NOTE = "请加快处置进度 / please speed up"
VOID_NOTE = "误报，现场无此问题 / false alarm, nothing on site"


# -- report ----------------------------------------------------------------------------------------
@dataclass
class HistoryReport:
    """What :func:`seed_history` wrote (or that it found a history and wrote nothing)."""

    skipped: bool = False
    seconds: float = 0.0
    cases: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    events: int = 0
    detections: int = 0
    positions: int = 0
    photos: int = 0
    clock_passes: int = 0

    def summary(self) -> str:
        if self.skipped:
            return "demo history: already there, nothing to do"
        states = ", ".join(f"{n} {s}" for s, n in sorted(self.cases.items()))
        return (f"demo history: {sum(self.cases.values())} cases ({states}), {self.events} "
                f"case events, {self.detections} detections, {self.positions} positions, "
                f"{self.photos} photos in {self.seconds:.1f} s")


def has_history(session: Session) -> bool:
    """Whether a demo history was seeded into this database already."""
    return session.scalar(select(Case.id).where(Case.external_id.startswith(MARK)).limit(1)) \
        is not None


# -- photos ----------------------------------------------------------------------------------------
_FAMILY = {
    "component:0101": "cover", "component:0102": "cover", "component:0103": "cover",
    "component:0105": "cover", "component:0107": "cover", "component:0111": "cover",
    "component:0117": "hydrant", "component:0122": "light", "component:0305": "sign",
    "component:0308": "bin", "event:0102": "garbage", "event:0103": "bin",
    "event:0104": "garbage", "event:0105": "pile", "event:0106": "garbage",
    "event:0101": "shed", "event:0201": "sign", "event:0202": "posters", "event:0301": "works",
    "event:0302": "pile", "event:0401": "water", "event:0402": "hole", "event:0501": "stall",
    "event:0502": "stall", "event:0503": "bikes", "event:0504": "umbrella", "event:0505": "car",
    "event:0506": "stall", "event:0601": "generic", "event:0602": "device",
}


class Photos:
    """Small generated JPEGs (a drawn street scene with the problem, before or after), stored
    by content hash like the ingest stores snapshots, a few variants per category."""

    SIZE = (320, 240)
    VARIANTS = 3

    def __init__(self, media_dir: Path, seed: int) -> None:
        self.media_dir = media_dir
        self.seed = seed
        self.cache: dict[tuple[str, str, str, int], tuple[str, bytes]] = {}
        self.saved: dict[str, int] = {}  # sha256 -> size, written to the media folder

    def jpeg(self, key: str, label: str, stage: str, variant: int) -> tuple[str, bytes]:
        """``(sha256, bytes)`` of one picture; ``stage`` is before, after or camera."""
        slot = (key, label, stage, variant % self.VARIANTS)
        found = self.cache.get(slot)
        if found is None:
            data = _draw(_FAMILY.get(key, "generic"), label, stage, variant % self.VARIANTS,
                         self.seed, self.SIZE)
            found = self.cache[slot] = (hashlib.sha256(data).hexdigest(), data)
        return found

    def photo(self, key: str, label: str, stage: str, variant: int) -> dict[str, str]:
        """A stored photo as a case-event attachment."""
        sha, data = self.jpeg(key, label, stage, variant)
        if sha not in self.saved:
            save_snapshot(self.media_dir, data, sha)
            self.saved[sha] = len(data)
        return {"sha256": sha, "mime": "image/jpeg"}

    def rows(self, session: Session) -> list[dict[str, Any]]:
        """Attachment rows for the photos not yet in the table."""
        if not self.saved:
            return []
        have = set(session.scalars(select(Attachment.sha256)
                                   .where(Attachment.sha256.in_(list(self.saved)))))
        w, h = self.SIZE
        return [dict(sha256=sha, mime="image/jpeg", size=size, width=w, height=h,
                     original_name=f"{sha[:12]}.jpg")
                for sha, size in sorted(self.saved.items()) if sha not in have]


def _draw(family: str, label: str, stage: str, variant: int, seed: int,
          size: tuple[int, int]) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(f"{seed}:{family}:{label}:{stage}:{variant}")
    w, h = size
    img = Image.new("RGB", size, (190, 205, 220))
    d = ImageDraw.Draw(img)
    horizon = int(h * rng.uniform(0.42, 0.52))
    for x in range(-20, w, rng.randint(45, 70)):  # buildings
        top = rng.randint(20, horizon - 20)
        shade = rng.randint(120, 200)
        d.rectangle([x, top, x + rng.randint(35, 60), horizon],
                    fill=(shade, shade - rng.randint(0, 30), shade - rng.randint(0, 50)))
        for wy in range(top + 8, horizon - 8, 14):
            for wx in range(x + 5, x + 30, 12):
                d.rectangle([wx, wy, wx + 5, wy + 7], fill=(230, 230, 190))
    d.rectangle([0, horizon, w, h], fill=(105, 108, 112))  # road
    d.rectangle([0, horizon, w, horizon + 18], fill=(170, 165, 155))  # pavement
    for x in range(0, w, 40):
        d.rectangle([x, int(h * 0.8), x + 20, int(h * 0.8) + 4], fill=(235, 235, 235))
    fixed = stage == "after"
    cx, cy = int(w * rng.uniform(0.35, 0.65)), int(h * rng.uniform(0.7, 0.82))
    _glyph(d, family, fixed, cx, cy, rng)
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=11)
    d.rectangle([0, 0, w, 22], fill=(20, 24, 30))
    d.text((6, 4), label[:40], fill=(255, 255, 255), font=font)
    tag = {"before": "REPORT", "after": "FIXED", "camera": "CAMERA AI"}.get(stage, stage)
    color = (60, 170, 90) if fixed else (220, 70, 60) if stage == "before" else (240, 180, 40)
    d.rectangle([w - 88, h - 22, w - 4, h - 4], fill=color)
    d.text((w - 82, h - 20), tag, fill=(255, 255, 255), font=small)
    if fixed:
        d.line([(w - 60, 40), (w - 48, 54), (w - 24, 28)], fill=(60, 170, 90), width=6)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70, optimize=True)
    return out.getvalue()


def _glyph(d: Any, family: str, fixed: bool, cx: int, cy: int, rng: random.Random) -> None:
    """The problem drawn with shapes (no text to render)."""
    if family == "cover":
        tilt = 0 if fixed else rng.randint(10, 22)
        d.ellipse([cx - 30, cy - 10 - tilt, cx + 30, cy + 10], fill=(40, 40, 45),
                  outline=(200, 200, 200), width=2)
        if not fixed:
            d.polygon([(cx - 40, cy + 14), (cx, cy - 28), (cx + 40, cy + 14)],
                      outline=(240, 200, 0), width=3)
    elif family in ("light", "device"):
        d.rectangle([cx - 3, cy - 110, cx + 3, cy], fill=(70, 70, 80))
        d.ellipse([cx - 14, cy - 122, cx + 14, cy - 104],
                  fill=(250, 230, 120) if fixed else (60, 60, 60))
    elif family == "hydrant":
        d.rectangle([cx - 10, cy - 40, cx + 10, cy], fill=(200, 30, 30))
        if not fixed:
            d.ellipse([cx - 40, cy - 4, cx + 40, cy + 10], fill=(90, 140, 200))
    elif family == "sign":
        skew = 0 if fixed else rng.randint(12, 25)
        d.polygon([(cx - 50, cy - 90), (cx + 50, cy - 90 + skew), (cx + 50, cy - 50 + skew),
                   (cx - 50, cy - 50)], fill=(40, 90, 170), outline=(255, 255, 255))
    elif family == "bin":
        d.rectangle([cx - 16, cy - 40, cx + 16, cy], fill=(30, 120, 60))
        if not fixed:
            for _ in range(8):
                x, y = cx + rng.randint(-40, 40), cy + rng.randint(-50, 5)
                d.ellipse([x - 8, y - 6, x + 8, y + 6], fill=(120, 90, 50))
    elif family in ("garbage", "pile", "shed", "works", "hole"):
        if fixed:
            return
        palette = {"garbage": (120, 90, 50), "pile": (180, 150, 100), "shed": (150, 150, 160),
                   "works": (240, 140, 20), "hole": (30, 30, 30)}[family]
        for _ in range(10 if family != "hole" else 1):
            x, y = cx + rng.randint(-60, 60), cy + rng.randint(-20, 10)
            r = rng.randint(6, 16) if family != "hole" else 30
            d.rectangle([x - r, y - r, x + r, y + r // 2], fill=palette)
    elif family in ("stall", "umbrella"):
        if fixed:
            return
        for i in range(rng.randint(1, 3)):
            x = cx - 60 + i * 55
            d.rectangle([x, cy - 30, x + 40, cy], fill=(200, 120, 60))
            d.polygon([(x - 8, cy - 30), (x + 20, cy - 60), (x + 48, cy - 30)],
                      fill=(220, 50, 50) if family == "umbrella" else (50, 120, 200))
    elif family == "bikes":
        for i in range(rng.randint(3, 6)):
            x = cx - 80 + i * (30 if fixed else rng.randint(18, 40))
            y = cy - (0 if fixed else rng.randint(-15, 15))
            d.ellipse([x, y, x + 14, y + 14], outline=(20, 20, 20), width=2)
            d.ellipse([x + 18, y, x + 32, y + 14], outline=(20, 20, 20), width=2)
    elif family == "car":
        if not fixed:
            d.rectangle([cx - 45, cy - 40, cx + 45, cy - 5], fill=(200, 200, 210))
            d.ellipse([cx - 35, cy - 12, cx - 15, cy + 8], fill=(20, 20, 20))
            d.ellipse([cx + 15, cy - 12, cx + 35, cy + 8], fill=(20, 20, 20))
    elif family == "water":
        if not fixed:
            d.ellipse([cx - 90, cy - 20, cx + 90, cy + 25], fill=(80, 120, 170))
    elif family == "posters":
        if not fixed:
            for _ in range(6):
                x, y = cx + rng.randint(-80, 60), cy - rng.randint(60, 110)
                d.rectangle([x, y, x + 18, y + 24], fill=(245, 245, 245))
    elif not fixed:
        d.polygon([(cx - 30, cy), (cx, cy - 50), (cx + 30, cy)], fill=(240, 200, 0))


# -- the city as the history needs it --------------------------------------------------------------
@dataclass(frozen=True)
class _Grid:
    code: str
    name: str
    inspector_id: int | None
    polygon: Any


@dataclass(frozen=True)
class _Thing:
    """A component with (or without) a device."""

    component_id: int
    type_code: str
    grid_code: str | None
    lon: float
    lat: float
    device_id: int | None = None
    device_code: str | None = None
    period_s: float | None = None


class _City:
    """Ids, actors, places and devices of the seeded demo city."""

    def __init__(self, session: Session, cfg: CaseConfig, rng: random.Random) -> None:
        users = session.execute(select(User.id, User.username, User.role,
                                       User.department_id)).all()
        by_name = {u.username: u for u in users}
        self.command = [Actor("command", u.id) for u in users if u.role == "command"]
        self.leader = [Actor("leader", u.id) for u in users if u.role == "leader"]
        self.handlers: dict[int, Actor] = {}
        for u in sorted(users, key=lambda u: u.username):
            if u.role == "handler" and u.department_id is not None:
                self.handlers.setdefault(u.department_id, Actor("handler", u.id,
                                                                  u.department_id))
        rows = session.execute(select(UnitGrid.code, UnitGrid.name, UnitGrid.inspector_id,
                                      UnitGrid.geom).order_by(UnitGrid.code)).all()
        self.grids = [_Grid(r[0], r[1], r[2], r[3]) for r in rows]
        self.grid_by_code = {g.code: g for g in self.grids}
        own: dict[int, set[str]] = {}
        for g in self.grids:
            if g.inspector_id is not None:
                own.setdefault(g.inspector_id, set()).add(g.code)
        self.inspector_of_grid = {g.code: Actor("inspector", g.inspector_id,
                                                grid_codes=frozenset(own[g.inspector_id]))
                                  for g in self.grids if g.inspector_id is not None}
        first = by_name.get("inspector01")
        self.inspector01_grids = sorted(own.get(first.id, ())) if first else []
        self.hot_weights = [3.0 if rng.random() < 0.25 else 1.0 for _ in self.grids]
        comps = session.execute(
            select(Component.id, Component.type_code, Component.grid_code, Component.geom,
                   Device.id, Device.code, Device.kind, Device.period_s)
            .outerjoin(Device, Device.component_id == Component.id)
            .order_by(Component.id)).all()
        self.sensors: dict[str, list[_Thing]] = {}
        self.plain: dict[str, list[_Thing]] = {}
        self.cameras: list[_Thing] = []
        for cid, type_code, grid, geom, dev_id, dev_code, kind, period in comps:
            thing = _Thing(cid, type_code, grid, geom.x, geom.y, dev_id, dev_code, period)
            if kind == "camera":
                self.cameras.append(thing)
            elif kind == "sensor":
                self.sensors.setdefault(type_code, []).append(thing)
            else:
                self.plain.setdefault(type_code, []).append(thing)
        self.shops_by_grid: dict[str, list[tuple[int, float, float]]] = {}
        for sid, grid, geom in session.execute(
                select(Shop.id, Shop.grid_code, Shop.geom)
                .where(Shop.active.is_(True), Shop.grid_code.is_not(None)).order_by(Shop.id)):
            self.shops_by_grid.setdefault(grid, []).append((sid, geom.x, geom.y))
        self.departments: dict[str, int] = {}
        for code in sorted({f"D{i:02d}" for i in range(1, 11)}):
            dept = department_id(session, code)
            if dept is not None:
                self.departments[code] = dept
        self.trackers = session.execute(select(Tracker.id, Tracker.code, Tracker.kind,
                                               Tracker.user_id).order_by(Tracker.code)).all()
        self.roads = [r[0] for r in session.execute(select(Road.geom).order_by(Road.code))]
        self.cfg = cfg

    def grid(self, rng: random.Random) -> _Grid:
        return rng.choices(self.grids, weights=self.hot_weights)[0]

    def point_in(self, grid: _Grid, rng: random.Random) -> tuple[float, float]:
        minx, miny, maxx, maxy = grid.polygon.bounds
        for _ in range(30):
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if shapely.contains_xy(grid.polygon, x, y):
                return x, y
        c = grid.polygon.representative_point()
        return c.x, c.y

    def department_for(self, kind: str, code: str, grid_code: str | None) -> int | None:
        category = self.cfg.category(kind, code)
        dept = self.cfg.catalogue.department_for(category, grid_code)
        return self.departments.get(dept) if dept else None


# -- plans -----------------------------------------------------------------------------------------
@dataclass
class _Plan:
    """How one case's life goes (drawn up front from the case's own random stream)."""

    rng: random.Random
    outcome: str = "close"  # close | decline | merge | void
    decline_reason: str = "invalid"
    void_in: str = "reported"
    late: dict[str, float] = field(default_factory=dict)
    misdispatch: bool = False
    extension: bool = False
    extension_granted: bool = True
    suspend: bool = False
    supervise: bool = False
    reworks: int = 0
    recur_days: float | None = None
    stop_at: str | None = None  # planted cases stop in this state


def _draw_plan(rng: random.Random, source: str) -> _Plan:
    plan = _Plan(rng)
    human = source in ("inspector", "citizen", "hotline")
    roll = rng.random()
    if source == "citizen" or source == "hotline":
        if roll < 0.07:
            plan.outcome = "decline"
            plan.decline_reason = rng.choice(("not_our_duty", "not_our_duty", "invalid",
                                              "duplicate"))
        elif roll < 0.11:
            plan.outcome = "merge"
        elif roll < 0.13:
            plan.outcome, plan.void_in = "void", "registered"
    elif source == "inspector":
        if roll < 0.03:
            plan.outcome, plan.decline_reason = "decline", rng.choice(("duplicate", "invalid"))
        elif roll < 0.05:
            plan.outcome = "merge"
    elif source == "camera":
        if roll < 0.04:
            plan.outcome, plan.void_in = "void", "dispatched"
    elif source == "camera_queue":
        if roll < 0.22:
            plan.outcome, plan.decline_reason = "decline", "invalid"
        elif roll < 0.27:
            plan.outcome, plan.void_in = "void", "registered"
    for step, p in (("register", 0.03), ("dispatch", 0.03), ("handle", 0.09),
                    ("verify", 0.05)):
        late = rng.random() < p
        plan.late[step] = (rng.uniform(1.05, 1.8) if rng.random() < 0.8
                           else rng.uniform(2.0, 5.0)) if late else \
            (rng.uniform(0.8, 0.98) if rng.random() < 0.06 else rng.uniform(0.08, 0.75))
    plan.misdispatch = human and rng.random() < 0.03
    plan.extension = rng.random() < 0.05
    plan.extension_granted = rng.random() < 0.8
    plan.suspend = rng.random() < 0.02
    plan.supervise = rng.random() < 0.05
    plan.reworks = 1 if rng.random() < 0.06 else 0
    if source == "sensor" and rng.random() < 0.06:
        plan.recur_days = rng.uniform(1.0, 12.0)
    return plan


# -- the run ---------------------------------------------------------------------------------------
_Step = tuple[datetime, Callable[[], None]]


class _History:
    def __init__(self, session: Session, cfg: CaseConfig, *, now: datetime, start: datetime,
                 seed: int, media_dir: Path, scale: float) -> None:
        self.session, self.cfg, self.now, self.start = session, cfg, now, start
        self.seed, self.scale = seed, scale
        self.media_dir = media_dir
        self.cal = cfg.calendar
        self.rng = random.Random(f"onegrid-history:{seed}")
        self.city = _City(session, cfg, self.rng)
        self.photos = Photos(media_dir, seed)
        self.engine = cfg.rules.engine()
        self.heap: list[tuple[datetime, int, str, Any]] = []
        self.order = itertools.count()
        self.report = HistoryReport()
        self.ticks: set[datetime] = set()
        self.clock_due: datetime | None = None
        self.clock_cases: set[int] = set()
        self.lives: dict[int, Iterator[_Step]] = {}
        self.silent: dict[int, tuple[datetime, float]] = {}
        self.detections: list[tuple[Resolved, str | None]] = []
        self.links: dict[tuple[int, str], int] = {}
        self.seen_cameras: set[int] = set()
        self.msg = itertools.count(1)
        self.tickets = itertools.count(1)
        self.n_case = itertools.count(1)
        self.device_of_component = {t.component_id: t for things in self.city.sensors.values()
                                    for t in things}
        #: case id → time of its latest event, from every event the engine adds (the case
        #: row's ``updated_at`` is not it: a flush without a transition stamps the clock time)
        self.last_event: dict[int, datetime] = {}
        #: The time of the item being processed (nothing is scheduled before it).
        self.current = start

    # -- scheduling -------------------------------------------------------------------------------
    def push(self, t: datetime, kind: str, payload: Any) -> None:
        heapq.heappush(self.heap, (t, next(self.order), kind, payload))

    def run(self) -> None:
        while self.heap:
            t, _, kind, payload = heapq.heappop(self.heap)
            if t > self.now:
                break
            self.current = t
            if kind == "tick":
                case_id, slack = payload
                if self.clock_due is not None and t >= self.clock_due:
                    self.clock(self.clock_due)
                due = t + slack
                self.clock_due = due if self.clock_due is None else min(self.clock_due, due)
                self.clock_cases.add(case_id)
                continue
            if self.clock_due is not None and (t >= self.clock_due or (
                    kind == "step" and payload[0] in self.clock_cases)):
                self.clock(min(t, self.clock_due))
            if kind == "step":
                case_id, fn = payload
                fn()
                self.advance(case_id)
            else:
                getattr(self, "on_" + kind)(t, payload)
        if self.clock_due is not None:
            self.clock(min(self.now, self.clock_due))

    def clock(self, at: datetime) -> None:
        """A scheduler pass at ``at``. Passes are due for known cases (the ones whose 80 % or
        deadline moment came): a pass over the nearest deadlines serves them, and a full
        pass follows if it did not (the outcome is the scheduler's either way)."""
        report = run_clock(self.session, self.cfg, at, limit=CLOCK_LIMIT)
        self.report.clock_passes += 1
        if len(report.overdue) >= CLOCK_LIMIT or any(
                self.clock_missed(case_id, at) for case_id in sorted(self.clock_cases)):
            run_clock(self.session, self.cfg, at)
            self.report.clock_passes += 1
        self.clock_due = None
        self.clock_cases.clear()

    def clock_missed(self, case_id: int, at: datetime) -> bool:
        case = self.session.get(Case, case_id)
        if case is None or case.step is None or case.deadline_at is None \
                or case.status == "suspended" or not is_open(case.status):
            return False
        if case.deadline_at < at:
            return case.overdue_for != case.deadline_at
        if case.warned_for == case.deadline_at:
            return False
        used = time_used(case, self.cfg, at)
        return used is not None and used >= 0.8

    def start_life(self, case: Case, plan: _Plan) -> None:
        self.lives[case.id] = self.life(case, plan)
        self.advance(case.id)

    def advance(self, case_id: int) -> None:
        life = self.lives.get(case_id)
        step = next(life, None) if life is not None else None
        case = self.session.get(Case, case_id)
        until = step[0] if step is not None else self.now
        if step is None:
            self.lives.pop(case_id, None)
        elif step[0] <= self.now:
            self.push(step[0], "step", (case_id, step[1]))
        if case is not None:
            self.schedule_clock(case, min(until, self.now))

    def schedule_clock(self, case: Case, until: datetime) -> None:
        """Clock passes at the moments this case crosses 80 % and 100 % of its step's limit
        before it next moves (the scheduler would see it then)."""
        if case.step is None or case.deadline_at is None or case.status == "suspended":
            return
        moments = []
        limit = self.limit(case)
        duration = limit.duration(self.cal)
        # Counted time never runs faster than the clock on the wall: a step that ends before
        # 80 % of its limit has elapsed cannot have reached the warning.
        if case.warned_for != case.deadline_at and case.step_started_at is not None \
                and until > case.step_started_at + duration * 0.8:
            warn = self.moment(case, 0.8)
            if warn is not None:
                moments.append(warn)
        if case.overdue_for != case.deadline_at:
            moments.append(case.deadline_at + timedelta(seconds=1))
        # The pass may come a little later (see CLOCK_SLACK_SHARE) so that passes due close
        # together are one.
        slack = min(CLOCK_SLACK_MAX, max(CLOCK_SLACK_MIN, duration * CLOCK_SLACK_SHARE))
        for m in moments:
            m = max(_ceil15(m), self.current)  # a moment passed already: the next pass
            if m < until and m <= self.now:
                self.push(m, "tick", (case.id, min(slack, until - m)))

    # -- time --------------------------------------------------------------------------------------
    def limit(self, case: Case) -> TimeLimit:
        category = self.cfg.category(case.category_kind, case.category_code)
        return self.cfg.limit(category, case.urgency, case.step)

    def moment(self, case: Case, fraction: float) -> datetime | None:
        """When ``fraction`` of the current step's limit is used (pauses not counted)."""
        if case.step is None or case.step_started_at is None:
            return None
        limit = self.limit(case)
        spans = [(datetime.fromisoformat(a), datetime.fromisoformat(b))
                 for a, b in (case.pauses or [])]
        at = deadline(case.step_started_at, TimeLimit(limit.amount * fraction, limit.unit),
                      self.cal, spans)
        return at.astimezone(UTC) if at is not None else None

    def after(self, case: Case, fraction: float, last: datetime, rng: random.Random,
              *, desk: bool = False) -> datetime:
        """The time of the next action: at ``fraction`` of the step's limit, never before
        ``last`` plus a minute or two. The desk (staffed 08:00–22:00 every day) acts within
        minutes when it is on time, whatever the working calendar says."""
        at = self.moment(case, fraction) or last
        if desk and fraction < 1.0:
            quick = _staffed(last + timedelta(minutes=rng.uniform(3, 45)), rng)
            at = min(at, quick)
        return max(at, last + timedelta(seconds=rng.uniform(60, 240)))

    # -- the life of a case -----------------------------------------------------------------------
    def command(self, rng: random.Random) -> Actor:
        return rng.choice(self.city.command)

    def last_at(self, case: Case) -> datetime:
        """When the case's latest event happened (events are appended in time order)."""
        return self.last_event.get(case.id, case.reported_at)

    def _added(self, session: Session, obj: Any) -> None:
        if isinstance(obj, CaseEvent) and obj.case_id is not None and obj.at is not None:
            last = self.last_event.get(obj.case_id)
            if last is None or obj.at > last:
                self.last_event[obj.case_id] = obj.at

    def life(self, case: Case, plan: _Plan) -> Iterator[_Step]:
        """The case's next actions, decided from its state as the engine left it."""
        rng = plan.rng
        done: set[str] = set()
        reworks = plan.reworks
        key = f"{case.category_kind}:{case.category_code}"
        label = self.cfg.category(case.category_kind, case.category_code).name_en or key
        session, cfg = self.session, self.cfg

        def act(action: str, actor: Actor, at: datetime, **kw: Any) -> Callable[[], None]:
            def run() -> None:
                if case.status in ("closed", "declined", "void") and action != "reopen":
                    return
                transition(session, cfg, case, action, actor, now=at, **kw)
            return run

        while True:
            status = case.status
            last = self.last_at(case)
            if plan.stop_at == status:
                return
            if status == "reported":
                t = self.after(case, plan.late["register"], last, rng, desk=True)
                if plan.outcome == "decline":
                    yield t, act("decline", self.command(rng), t, reason=plan.decline_reason,
                                 note=DECLINE_NOTES[plan.decline_reason])
                elif plan.outcome == "merge" and "merge" not in done:
                    done.add("merge")
                    target = self.merge_target(case)
                    if target is None:
                        yield t, act("decline", self.command(rng), t, reason="duplicate",
                                     note=DECLINE_NOTES["duplicate"])
                    else:
                        yield t, act("merge", self.command(rng), t,
                                     data={"target_case_id": target},
                                     note="同一问题已有在办案件，合并 / merged into the open case")
                elif plan.outcome == "void" and plan.void_in == "reported":
                    yield t, act("void", self.command(rng), t, reason=VOID_NOTE)
                else:
                    yield t, act("register", self.command(rng), t)
            elif status == "registered":
                t = self.after(case, plan.late["dispatch"], last, rng, desk=True)
                if plan.outcome == "void" and plan.void_in == "registered":
                    yield t, act("void", self.command(rng), t, reason=VOID_NOTE)
                    continue
                right = self.city.department_for(case.category_kind, case.category_code,
                                                 case.grid_code)
                dept = right
                if plan.misdispatch and "misdispatch" not in done:
                    done.add("misdispatch")
                    others = [d for c, d in sorted(self.city.departments.items())
                              if d != right and c in ("D03", "D05", "D10", "D01")]
                    dept = rng.choice(others) if others else right
                if dept is None:
                    dept = self.city.departments.get("D10")
                yield t, act("dispatch", self.command(rng), t, data={"department_id": dept})
            elif status == "dispatched":
                handler = self.city.handlers.get(case.department_id or -1)
                if handler is None:
                    return
                right = self.city.department_for(case.category_kind, case.category_code,
                                                 case.grid_code)
                if plan.outcome == "void" and plan.void_in == "dispatched":
                    t = self.after(case, rng.uniform(0.1, 0.5), last, rng)
                    yield t, act("void", self.command(rng), t, reason=VOID_NOTE)
                    continue
                if right is not None and case.department_id != right \
                        and "returned" not in done:
                    done.add("returned")
                    t = self.after(case, rng.uniform(0.05, 0.2), last, rng)
                    yield t, act("return", handler, t, reason=RETURN_NOTE, origin="desk")
                    continue
                t = self.after(case, rng.uniform(0.02, min(0.2, plan.late["handle"] * 0.3)),
                               last, rng)
                yield t, act("accept", handler, t, origin="desk")
            elif status == "accepted":
                handler = self.city.handlers.get(case.department_id or -1)
                if handler is None:
                    return
                fix = plan.late["handle"]
                if plan.extension and "extension" not in done and fix > 0.5:
                    done.add("extension")
                    hours = float(rng.choice((4, 8, 16)))
                    t = self.after(case, min(0.6, fix * 0.5), last, rng)
                    yield t, act("request_extension", handler, t, reason=rng.choice(
                        EXTENSION_NOTES), data={"hours": hours}, origin="desk")
                    t2 = t + timedelta(minutes=rng.uniform(10, 90))
                    if plan.extension_granted:
                        yield t2, act("grant_extension", self.command(rng), t2,
                                      data={"hours": hours})
                        fix = min(fix, rng.uniform(0.9, 1.3))
                    else:
                        yield t2, act("refuse_extension", self.command(rng), t2,
                                      note="请按原时限完成 / finish within the original limit")
                    continue
                if plan.supervise and "supervise" not in done:
                    done.add("supervise")
                    t = self.after(case, min(0.7, fix * 0.6), last, rng)
                    who = rng.choice(self.city.leader or self.city.command)
                    yield t, act("supervise", who, t, note=SUPERVISE_NOTE)
                    continue
                if plan.suspend and "suspend" not in done:
                    done.add("suspend")
                    t = self.after(case, min(0.5, fix * 0.4), last, rng)
                    yield t, act("suspend", self.command(rng), t, reason=rng.choice(
                        SUSPEND_NOTES))
                    t2 = t + timedelta(days=rng.uniform(0.5, 3.0))
                    yield t2, act("resume", self.command(rng), t2,
                                  note="条件具备，恢复处置 / resumed")
                    continue
                t = self.after(case, fix, last, rng)
                if case.component_id is not None and case.source == "sensor" \
                        and "normal" not in done:
                    done.add("normal")
                    fixed_at = t - timedelta(minutes=rng.uniform(2, 15))
                    yield max(fixed_at, last + timedelta(seconds=30)), \
                        self.sensor_normal(case, max(fixed_at, last + timedelta(seconds=30)))
                photos = [self.photos.photo(key, label, "after", rng.randrange(64))
                          for _ in range(rng.choice((1, 1, 2)))]
                yield t, act("feedback", handler, t, note=rng.choice(FEEDBACK_NOTES),
                             attachments=photos, origin="desk")
            elif status == "handled":
                verifier = self.city.inspector_of_grid.get(case.grid_code or "") \
                    or self.command(rng)
                t = self.after(case, plan.late["verify"], last, rng)
                if reworks > 0:
                    reworks -= 1
                    plan.late["handle"] = rng.uniform(0.1, 0.9)
                    yield t, act("verify_fail", verifier, t, reason=rng.choice(
                        VERIFY_FAIL_NOTES), origin="tablet")
                    continue
                photos = ([self.photos.photo(key, label, "after", rng.randrange(64))]
                          if rng.random() < 0.5 else [])
                yield t, act("verify_pass", verifier, t, attachments=photos, origin="tablet",
                             note="现场核实已处置 / checked on site: fixed")
            elif status == "verified":
                t = _staffed(last + timedelta(minutes=rng.uniform(2, 50)), rng)
                closer = SYSTEM if case.source == "sensor" and rng.random() < 0.5 \
                    else self.command(rng)
                yield t, act("close", closer, t, note="核实通过，结案 / verified, closed")
                if plan.recur_days is not None and case.component_id is not None:
                    again = t + timedelta(days=plan.recur_days)
                    plan.recur_days = None
                    if again < self.now:
                        self.push(again, "recur", (case.id, plan))
                return
            elif status == "suspended":
                return  # resumed by the step that suspended it
            else:
                return

    def merge_target(self, case: Case) -> int | None:
        """An open case of the same category nearby (same street) reported earlier."""
        if not case.grid_code:
            return None
        return self.session.scalar(
            select(Case.id).where(
                Case.category_kind == case.category_kind,
                Case.category_code == case.category_code,
                Case.grid_code.startswith(case.grid_code[:9]),
                Case.id != case.id, Case.status.in_(("registered", "dispatched", "accepted",
                                                     "handled")))
            .order_by(Case.reported_at.desc()).limit(1))

    # -- sources -----------------------------------------------------------------------------------
    def on_report(self, t: datetime, item: dict[str, Any]) -> Case:
        """A person reports: an inspector on patrol, a citizen, or a 12345 hotline call."""
        source, kind, code, rng = item["source"], item["kind"], item["code"], item["rng"]
        city = self.city
        thing = None
        if kind == "component":
            pool = city.plain.get(code) or city.sensors.get(code) or []
            if item.get("grid") is not None:
                pool = [p for p in pool if p.grid_code == item["grid"].code] or pool
            thing = rng.choice(pool) if pool else None
        if thing is not None and thing.grid_code in city.grid_by_code:
            grid = city.grid_by_code[thing.grid_code]
            lon, lat = thing.lon, thing.lat
        else:
            grid = item.get("grid") or city.grid(rng)
            lon, lat = city.point_in(grid, rng)
        shop_id = None
        shops = city.shops_by_grid.get(grid.code)
        if (kind == "event" and code in PROBLEMS_BY_EVENT and source != "hotline" and shops
                and rng.random() < SHOP_SHARE):
            shop_id, x, y = rng.choice(shops)  # in front of a shop (门前三包)
            lon, lat = x + rng.uniform(-2e-5, 2e-5), y + rng.uniform(-2e-5, 2e-5)
        category = self.cfg.category(kind, code)
        label = category.name_en or code
        attachments: list[dict[str, str]] = []
        contact = external = None
        if source == "inspector":
            actor = city.inspector_of_grid.get(grid.code) or self.command(rng)
            attachments = [self.photos.photo(f"{kind}:{code}", label, "before",
                                             rng.randrange(64))]
            description = f"巡查发现{category.name}，位于{grid.name} / patrol: {label}"
            origin = "tablet"
        elif source == "citizen":
            actor = Actor("citizen")
            if rng.random() < 0.6:
                attachments = [self.photos.photo(f"{kind}:{code}", label, "before",
                                                 rng.randrange(64))]
            description = f"市民反映：{grid.name}附近{category.name} / citizen: {label}"
            contact = f"市民 1{rng.randint(30, 99)}****{rng.randint(1000, 9999)}"
            origin = "open311"
        else:
            actor = self.command(rng)
            description = f"12345热线来电反映{category.name}，{grid.name} / hotline: {label}"
            contact = f"来电 1{rng.randint(30, 99)}****{rng.randint(1000, 9999)}"
            local = t.astimezone(TZ)
            external = f"{MARK}{local:%Y%m%d}-{next(self.tickets):05d}"
            origin = "12345"
        case = report_case(
            self.session, self.cfg, kind=kind, code=code, actor=actor, source=source,
            lon=lon, lat=lat, grid_code=grid.code,
            component_id=thing.component_id if thing else None, description=description,
            address=grid.name, reporter_contact=contact, external_id=external,
            attachments=attachments, origin=origin, now=t, shop_id=shop_id)
        self.start_life(case, item["plan"])
        return case

    def on_reading(self, t: datetime, item: dict[str, Any]) -> None:
        """A sensor reading through the rule engine (faults open or reopen cases)."""
        thing: _Thing = item["thing"]
        fired = self.engine.on_reading(thing.component_id, thing.type_code, t, item["metrics"],
                                       thing.lon, thing.lat)
        if not fired:
            if item.get("more"):
                nxt = item["more"].pop(0)
                self.push(t + timedelta(seconds=nxt[0]), "reading",
                          {**item, "metrics": nxt[1]})
            return
        evidence = Evidence(thing.device_id, None, grid_code=thing.grid_code)
        result = apply_rule_outcomes(self.session, self.cfg, [(f, evidence) for f in fired],
                                     now=t, link=False)
        for case_id in [*result.opened, *result.reopened]:
            case = self.session.get(Case, case_id)
            if case is not None:
                plan = item["plan"] if case_id in result.opened else _draw_plan(
                    random.Random(f"{self.seed}:reopen:{case_id}"), "reopened")
                self.start_life(case, plan)

    def on_recur(self, t: datetime, payload: tuple[int, _Plan]) -> None:
        """The same fault comes back after closure: the engine reopens the case (rework)."""
        case_id, _ = payload
        case = self.session.get(Case, case_id)
        if case is None or case.status != "closed" or not case.rule_key:
            return
        thing = self.device_of_component.get(case.component_id or -1)
        rule = self.rule(case)
        if thing is None or rule is None or rule.when.__class__.__name__ != "Threshold":
            return
        plan = _draw_plan(random.Random(f"{self.seed}:recur:{case_id}"), "sensor")
        plan.recur_days = None
        self.on_reading(t, {"thing": thing, "metrics": {rule.condition.metric: _bad(
            rule.condition, self.range_of(thing.type_code, rule.condition.metric))},
            "plan": plan})

    def rule(self, case: Case) -> Any:
        """The reading rule that opened a sensor case (by its key, ``0101.tilt``)."""
        type_code = (case.rule_key or "").partition(".")[0]
        return next((r for r in self.cfg.rules.rules_by_type.get(type_code, ())
                     if r.key == case.rule_key), None)

    def range_of(self, type_code: str, metric: str) -> tuple[float | None, float | None]:
        ctype = next((t for t in self.cfg_catalogue_types() if t.code == type_code), None)
        if ctype is None:
            return None, None
        for m in ctype.metrics:
            if m.name == metric:
                return m.min, m.max
        return None, None

    def cfg_catalogue_types(self) -> Sequence[Any]:
        if not hasattr(self, "_types"):
            from data.config import load_catalogue

            self._types = load_catalogue().component_types
        return self._types

    def sensor_normal(self, case: Case, at: datetime) -> Callable[[], None]:
        """The fixed component reports normal values again: evidence for closure."""
        def run() -> None:
            if case.rule_key == self.cfg.rules.no_data.key:
                thing = self.device_of_component.get(case.component_id or -1)
                if thing is None or thing.device_id not in self.silent:
                    return
                period = self.silent[thing.device_id][1]
                self.silent[thing.device_id] = (at, period)
                out = self.engine.silent(dict(self.silent), at + timedelta(seconds=1))
                self.silent.pop(thing.device_id, None)
                outcomes = [(dataclasses.replace(o, component_id=thing.component_id),
                             Evidence(thing.device_id)) for o in out
                            if getattr(o, "device_id", None) == thing.device_id]
                if outcomes:
                    apply_rule_outcomes(self.session, self.cfg, outcomes, now=at, link=False)
                return
            rule = self.rule(case)
            thing = self.device_of_component.get(case.component_id or -1)
            if rule is None or thing is None:
                return
            metric = rule.normal_condition.metric
            value = _good(rule.normal_condition, self.range_of(thing.type_code, metric))
            fired = self.engine.on_reading(thing.component_id, thing.type_code, at,
                                           {metric: value}, thing.lon, thing.lat)
            if fired:
                apply_rule_outcomes(self.session, self.cfg,
                                    [(f, Evidence(thing.device_id)) for f in fired], now=at,
                                    link=False)
        return run

    def on_silent(self, t: datetime, item: dict[str, Any]) -> None:
        """A device stops reporting: the no-data rule opens a device-fault case."""
        thing: _Thing = item["thing"]
        period = float(thing.period_s or self.cfg.rules.report_periods.get(thing.type_code)
                       or 3600)
        if thing.device_id in self.silent:
            return
        self.silent[thing.device_id] = (t - timedelta(seconds=period * 3.2), period)
        out = self.engine.silent(dict(self.silent), t)
        outcomes = [(dataclasses.replace(o, component_id=thing.component_id, lon=thing.lon,
                                         lat=thing.lat), Evidence(thing.device_id))
                    for o in out if getattr(o, "device_id", None) == thing.device_id
                    and hasattr(o, "lon")]
        if not outcomes:
            return
        result = apply_rule_outcomes(self.session, self.cfg, outcomes, now=t, link=False)
        for case_id in result.opened:
            case = self.session.get(Case, case_id)
            if case is not None:
                self.start_life(case, item["plan"])

    def on_detect(self, t: datetime, item: dict[str, Any]) -> None:
        """A camera detection: stored like the ingest stores it, and through the rules and
        dedup (a repeat sighting is evidence on the open case)."""
        cam: _Thing = item["camera"]
        event, confidence, rng = item["event"], item["confidence"], item["rng"]
        lon, lat = item["lon"], item["lat"]
        rule = self.cfg.rules.events.get(event)
        event_type = rule.category.code if rule is not None else None
        key = f"event:{event_type}"
        label = self.event_label(event)
        sha, data = self.photos.jpeg(key, label, "camera", item["variant"])
        msg_id = f"hist-{next(self.msg):07d}"
        message = DetectionMsg(cam.device_code or str(cam.component_id), msg_id, t, event,
                               confidence, lon, lat,
                               (round(rng.uniform(0.1, 0.5), 3), round(rng.uniform(0.2, 0.6), 3),
                                round(rng.uniform(0.1, 0.3), 3), round(rng.uniform(0.1, 0.3), 3)),
                               data)
        device = DeviceInfo(cam.device_id, "camera", cam.component_id, "0125", cam.lon, cam.lat)
        grid = item["grid"]
        self.detections.append((Resolved(message, device, event_type=event_type, lon=lon,
                                         lat=lat), grid))
        self.seen_cameras.add(cam.device_id)
        trigger = self.engine.on_detection(event, confidence, t, device_id=cam.device_id,
                                           component_id=None, lon=lon, lat=lat)
        if trigger is None:
            return
        evidence = Evidence(cam.device_id, msg_id, sha, confidence, grid)
        result = apply_rule_outcomes(self.session, self.cfg, [(trigger, evidence)], now=t,
                                     link=False)
        self.links.update(result.links)
        for case_id in result.opened:
            case = self.session.get(Case, case_id)
            if case is not None:
                source = "camera" if case.status != "reported" else "camera_queue"
                plan = _draw_plan(random.Random(f"{self.seed}:cam:{msg_id}"), source)
                self.start_life(case, plan)

    def event_label(self, event: str) -> str:
        rule = self.cfg.rules.events.get(event)
        if rule is None:
            return event
        category = self.cfg.catalogue.get(rule.category.kind, rule.category.code)
        return category.name_en if category is not None and category.name_en else event


def _ceil15(t: datetime) -> datetime:
    """The scheduler's next pass (every 15 s) at or after ``t``."""
    stamp = math.ceil(t.timestamp() / 15.0) * 15.0
    return datetime.fromtimestamp(stamp, UTC)


def _staffed(t: datetime, rng: random.Random) -> datetime:
    """``t`` if the command center's desk is staffed then (08:00–22:00), else the next
    morning a little after eight."""
    local = t.astimezone(TZ)
    if 8 <= local.hour < 22:
        return t
    day = local.date() if local.hour < 8 else local.date() + timedelta(days=1)
    morning = datetime(day.year, day.month, day.day, 8, 0, tzinfo=TZ)
    return (morning + timedelta(minutes=rng.uniform(2, 50))).astimezone(UTC)


def _bad(cond: Any, span: tuple[float | None, float | None]) -> float | bool:
    """A value that meets ``cond`` (a trigger condition), inside the metric's range."""
    v, op = cond.value, cond.op
    if isinstance(v, bool):
        return v if op == "==" else not v
    low, high = span
    if op in (">", ">="):
        out = v * 1.35 + 1 if v >= 0 else v / 2
        if high is not None:
            out = min(out, v + (high - v) * 0.6)
        return round(out, 2)
    out = v * 0.5
    if low is not None:
        out = max(out, low + (v - low) * 0.4)
    return round(out, 3)


def _good(cond: Any, span: tuple[float | None, float | None]) -> float | bool:
    """A value that meets a normal condition (``tilt < 5`` → 2.0)."""
    v, op = cond.value, cond.op
    if isinstance(v, bool):
        return v if op == "==" else not v
    low, high = span
    if op in ("<", "<="):
        out = v * 0.4
        if low is not None:
            out = max(out, low)
        return round(out, 3)
    out = v * 1.3 + 0.05
    if high is not None:
        out = min(out, high)
    return round(out, 3)


# -- what happens when -----------------------------------------------------------------------------
def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _at(day: Any, hours: Sequence[float], rng: random.Random) -> datetime:
    hour = rng.choices(range(24), weights=hours)[0]
    local = datetime(day.year, day.month, day.day, hour, tzinfo=TZ) + timedelta(
        seconds=rng.uniform(0, 3600))
    return local.astimezone(UTC)


class _Planner:
    """Draws every incident of the history up front (deterministic for the seed) and puts it
    on the run's timeline."""

    def __init__(self, h: _History) -> None:
        self.h = h
        rng = random.Random(f"{h.seed}:cameras")
        cams = sorted(h.city.cameras, key=lambda c: c.component_id)
        self.hot = rng.sample(cams, k=min(40, len(cams))) if cams else []
        events = [e for e, _ in CAMERA_EVENTS if e in h.cfg.rules.events]
        weights = [w for e, w in CAMERA_EVENTS if e in h.cfg.rules.events]
        self.events, self.event_weights = events, weights
        self.likes = {c.component_id: rng.choices(events, weights=weights, k=2) for c in cams}

    def plan(self) -> None:
        h = self.h
        first = h.start.astimezone(TZ).date()
        last = h.now.astimezone(TZ).date()
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        rng = random.Random(f"{h.seed}:days")
        busy = set(rng.sample(days, k=max(1, len(days) // 15)))
        for day in days:
            weekend = day.weekday() >= 5
            factor = 1.6 if day in busy else 1.0
            for source, rate in DAILY.items():
                lam = rate * (WEEKEND[source] if weekend else 1.0) * factor * h.scale
                day_rng = random.Random(f"{h.seed}:{day}:{source}")
                for i in range(_poisson(day_rng, lam)):
                    self.incident(source, day, random.Random(f"{h.seed}:{day}:{source}:{i}"),
                                  rainy=day in busy)
            day_rng = random.Random(f"{h.seed}:{day}:silent")
            for i in range(_poisson(day_rng, DEVICE_FAULTS_PER_WEEK / 7 * h.scale)):
                self.device_fault(day, random.Random(f"{h.seed}:{day}:silent:{i}"))
            if day in busy:  # a rainstorm: flooded roads and water under covers
                day_rng = random.Random(f"{h.seed}:{day}:rain")
                for i in range(_poisson(day_rng, 6 * h.scale)):
                    r = random.Random(f"{h.seed}:{day}:rain:{i}")
                    if r.random() < 0.5:
                        self.sensor(day, r, ("0103", "water_level"))
                    else:
                        self.report("citizen", day, r, ("event", "0401"))

    def inside(self, t: datetime) -> bool:
        return self.h.start <= t <= self.h.now

    def incident(self, source: str, day: Any, rng: random.Random, rainy: bool) -> None:
        if source == "sensor":
            self.sensor(day, rng)
        elif source == "camera":
            self.camera(day, rng)
        else:
            topics = {"inspector": INSPECTOR_TOPICS, "citizen": CITIZEN_TOPICS,
                      "hotline": HOTLINE_TOPICS}[source]
            kind, code, _ = rng.choices(topics, weights=[w for *_, w in topics])[0]
            self.report(source, day, rng, (kind, code))

    def report(self, source: str, day: Any, rng: random.Random,
               topic: tuple[str, str]) -> None:
        hours = HOURS_FLAT if source == "inspector" else HOURS_PEOPLE
        t = _at(day, hours, rng)
        if source == "inspector":  # patrols are in working hours
            local = t.astimezone(TZ)
            t = datetime(local.year, local.month, local.day, tzinfo=TZ).astimezone(UTC) \
                + timedelta(hours=rng.uniform(8.6, 17.3))
        if not self.inside(t):
            return
        self.h.push(t, "report", {"source": source, "kind": topic[0], "code": topic[1],
                                  "rng": rng, "plan": _draw_plan(rng, source)})

    def sensor(self, day: Any, rng: random.Random, fault: tuple[str, str] | None = None) -> None:
        h = self.h
        if fault is None:
            type_code, key, _ = rng.choices(SENSOR_FAULTS, weights=[w for *_, w in
                                                                    SENSOR_FAULTS])[0]
        else:
            type_code, key = fault
        things = h.city.sensors.get(type_code)
        rule = next((r for r in h.cfg.rules.rules_by_type.get(type_code, ())
                     if r.key in (key, f"{type_code}.{key}")), None)
        if not things or rule is None:
            return
        thing = rng.choice(things)
        when = rule.when
        t = _at(day, HOURS_FLAT, rng)
        window = getattr(when, "window", None)
        if window is not None:
            local = datetime(day.year, day.month, day.day, tzinfo=TZ)
            t = (local + timedelta(hours=rng.choice((19.3, 20.0, 21.0, 22.5, 24.5, 26.0))
                                   + rng.uniform(0, 0.5))).astimezone(UTC)
        if not self.inside(t):
            return
        metric = rule.condition.metric
        value = _bad(rule.condition, h.range_of(type_code, metric))
        more: list[tuple[float, dict[str, Any]]] = []
        seconds = getattr(when, "seconds", None)
        times = getattr(when, "times", None)
        if seconds:
            more = [(300.0, {metric: value})] * (int(seconds // 300) + 3)
        elif times:
            more = [(600.0, {metric: value})] * (times + 1)
        h.push(t, "reading", {"thing": thing, "metrics": {metric: value}, "more": list(more),
                              "plan": _draw_plan(rng, "sensor")})

    def device_fault(self, day: Any, rng: random.Random) -> None:
        h = self.h
        pool = h.city.sensors.get(rng.choice(("0122", "0122", "0101", "0102", "0308")))
        if not pool:
            return
        t = _at(day, HOURS_FLAT, rng)
        if self.inside(t):
            h.push(t, "silent", {"thing": rng.choice(pool), "plan": _draw_plan(rng, "sensor")})

    def camera(self, day: Any, rng: random.Random) -> None:
        h = self.h
        if not self.hot:
            return
        cam = rng.choice(self.hot) if rng.random() < 0.8 else rng.choice(h.city.cameras)
        event = rng.choice(self.likes[cam.component_id])
        t = _at(day, HOURS_STREET, rng)
        roll = rng.random()
        rule = h.cfg.rules.events[event]
        floor = rule.when.min_confidence
        auto = rule.auto_register_confidence or 0.9
        confidence = (rng.uniform(auto, 0.99) if roll < 0.6 else
                      rng.uniform(floor, auto - 0.005) if roll < 0.92 else
                      rng.uniform(max(0.3, floor - 0.15), floor - 0.01))
        lon = cam.lon + rng.uniform(-4e-5, 4e-5)
        lat = cam.lat + rng.uniform(-4e-5, 4e-5)
        variant = rng.randrange(64)
        for k in range(1 + rng.choice((0, 0, 0, 1, 1, 2, 4))):
            if k:
                t += timedelta(minutes=rng.uniform(4, 45))
                confidence = min(0.99, max(0.3, confidence + rng.uniform(-0.04, 0.04)))
            if not self.inside(t):
                return
            h.push(t, "detect", {"camera": cam, "event": event,
                                 "confidence": round(confidence, 3), "lon": lon, "lat": lat,
                                 "grid": cam.grid_code, "variant": variant, "rng": rng})


# -- today -----------------------------------------------------------------------------------------
def _open_cases(h: _History) -> list[Case]:
    return list(h.session.scalars(select(Case).where(Case.status.in_(
        ("reported", "registered", "dispatched", "accepted", "handled", "verified",
         "suspended")))))


def _light(h: _History, case: Case) -> str | None:
    from cases.clock import light
    from data.cases import time_used

    used = time_used(case, h.cfg, h.now)
    return light(used) if used is not None else None


#: The path a planted case walks to reach a state, with each step's share of the time.
_PATH = (("register", 0.05), ("dispatch", 0.12), ("accept", 0.3), ("feedback", 0.85),
         ("verify_pass", 0.95))
_STOPS = {"reported": 0, "registered": 1, "dispatched": 2, "accepted": 3, "handled": 4,
          "verified": 5, "suspended": 3}


def _today(h: _History) -> None:
    """Make sure today's screens have something to show: a registration queue for the desk,
    open cases in every state and with every traffic light, cases to verify in inspector01's
    grids and tasks for handler_d01. What is missing is reported now, like any report, and
    moved by the engine to where it is needed."""
    rng = random.Random(f"{h.seed}:today")
    now, city, session, cfg = h.now, h.city, h.session, h.cfg

    def plant(state: str, source: str, kind: str, code: str, at: datetime, *,
              grid: _Grid | None = None) -> Case:
        r = random.Random(f"{h.seed}:plant:{state}:{source}:{code}:{at.isoformat()}")
        plan = _draw_plan(r, source)
        plan.stop_at = "reported"
        known = set(h.lives)
        case = h.on_report(at, {"source": source, "kind": kind, "code": code, "rng": r,
                                "plan": plan, "grid": grid})
        h.lives = {k: v for k, v in h.lives.items() if k in known}
        span = now - at
        for action, share in _PATH[:_STOPS[state]]:
            t = max(at + span * share, h.last_at(case) + timedelta(seconds=30))
            extra: dict[str, Any] = {}
            actor = h.command(r)
            if action == "dispatch":
                extra["data"] = {"department_id": city.department_for(kind, code,
                                                                      case.grid_code)}
            elif action in ("accept", "feedback"):
                actor = city.handlers[case.department_id]
                extra["origin"] = "desk"
                if action == "feedback":
                    extra.update(note=FEEDBACK_NOTES[0], attachments=[h.photos.photo(
                        f"{kind}:{code}", cfg.category(kind, code).name_en or code, "after",
                        r.randrange(64))])
            elif action == "verify_pass":
                actor = city.inspector_of_grid.get(case.grid_code or "") or actor
            transition(session, cfg, case, action, actor, now=t, **extra)
        if state == "suspended":
            t = max(at + span * 0.6, h.last_at(case) + timedelta(seconds=30))
            transition(session, cfg, case, "suspend", h.command(r), now=t,
                       reason=SUSPEND_NOTES[0])
        return case

    # The desk's registration queue: 6-12 reports waiting.
    queue = sorted((c for c in _open_cases(h) if c.status == "reported"),
                   key=lambda c: c.reported_at)
    target = rng.randint(6, 12)
    if len(queue) > 15:
        for case in queue[:len(queue) - target]:
            t = min(now, max(h.last_at(case) + timedelta(minutes=1),
                             now - timedelta(minutes=rng.uniform(1, 20))))
            transition(session, cfg, case, "register", h.command(rng), now=t)
    sources = ("citizen", "inspector", "hotline", "citizen", "inspector")
    for i in range(max(0, target - len(queue))):
        source = sources[i % len(sources)]
        topics = {"inspector": INSPECTOR_TOPICS, "citizen": CITIZEN_TOPICS,
                  "hotline": HOTLINE_TOPICS}[source]
        kind, code, _ = rng.choices(topics, weights=[w for *_, w in topics])[0]
        plant("reported", source, kind, code, now - timedelta(minutes=rng.uniform(3, 40)))

    # Cases waiting for inspector01's verification on the tablet.
    mine = set(city.inspector01_grids)
    waiting = [c for c in _open_cases(h) if c.status == "handled" and c.grid_code in mine]
    for i, code in enumerate(city.inspector01_grids[:2] if len(waiting) < 2 else []):
        plant("handled", "inspector", "event", ("0102", "0105")[i],
              now - timedelta(hours=5 + i), grid=city.grid_by_code[code])

    # Tasks for handler_d01 (D01 市政设施管理处): one dispatched (overdue: red), one accepted.
    d01 = city.departments.get("D01")
    tasks = {c.status for c in _open_cases(h) if c.department_id == d01}
    if d01 is not None and "dispatched" not in tasks:
        plant("dispatched", "inspector", "event", "0402", now - timedelta(hours=3, minutes=10))
    if d01 is not None and "accepted" not in tasks:
        plant("accepted", "hotline", "event", "0401", now - timedelta(minutes=70))

    # Components on the map: one in alarm (a reading out of range) and one in fault (its
    # device silent), each with its open case, whatever the history left open.
    open_sensor = [c for c in _open_cases(h) if c.source == "sensor"]
    no_data = cfg.rules.no_data.key
    if not any(c.rule_key == no_data for c in open_sensor) and city.sensors.get("0122"):
        plan = _draw_plan(random.Random(f"{h.seed}:plant:silent"), "sensor")
        plan.stop_at = "dispatched"
        h.on_silent(now - timedelta(minutes=rng.uniform(30, 90)),
                    {"thing": rng.choice(city.sensors["0122"]), "plan": plan})
    if not any(c.rule_key != no_data for c in open_sensor) and city.sensors.get("0308"):
        plan = _draw_plan(random.Random(f"{h.seed}:plant:full"), "sensor")
        plan.stop_at = "dispatched"
        thing = rng.choice(city.sensors["0308"])
        h.on_reading(now - timedelta(minutes=rng.uniform(10, 40)),
                     {"thing": thing, "metrics": {"fill_pct": 97.0}, "plan": plan})

    # Every open state, and every traffic light on the big screen.
    states = {c.status for c in _open_cases(h)}
    for state, (kind, code) in (("registered", ("event", "0104")),
                                ("dispatched", ("event", "0501")),
                                ("accepted", ("event", "0102")),
                                ("handled", ("event", "0105")),
                                ("verified", ("event", "0502")),
                                ("suspended", ("event", "0201"))):
        if state not in states:
            plant(state, "inspector", kind, code, now - timedelta(hours=rng.uniform(1, 3)))
    lights = Counter(_light(h, c) for c in _open_cases(h))
    if not lights.get("yellow"):  # an urgent report at 90 % of its half-hour limit
        plant("reported", "inspector", "event", "0402", now - timedelta(minutes=27))
    if not lights.get("red"):
        plant("dispatched", "citizen", "event", "0402", now - timedelta(hours=4))
    if not lights.get("green"):
        plant("reported", "citizen", "event", "0102", now - timedelta(minutes=2))
    if not has_history(session):  # the mark of the history: at least one hotline ticket
        plant("reported", "hotline", "event", "0301", now - timedelta(minutes=6))


# -- live positions --------------------------------------------------------------------------------
class _Frame:
    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0, self.lat0 = lon0, lat0
        self.kx = 111320.0 * math.cos(math.radians(lat0))
        self.ky = 110574.0

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        return self.lon0 + x / self.kx, self.lat0 + y / self.ky


def _track(points: Sequence[tuple[float, float]], speeds: Sequence[float],
           waits: Sequence[float], t0: float, t1: float, fix_s: float,
           ) -> list[tuple[float, float, float, float, float]]:
    """Fixes ``(t, x, y, speed m/s, heading °)`` every ``fix_s`` along a path of legs."""
    legs: list[tuple[float, float, tuple[float, float], tuple[float, float], float]] = []
    t = t0
    for i in range(1, len(points)):
        a, b = points[i - 1], points[i]
        dist = math.hypot(b[0] - a[0], b[1] - a[1])
        span = dist / max(speeds[i - 1], 0.1)
        legs.append((t, t + span, a, b, speeds[i - 1]))
        t += span
        if waits[i - 1] > 0:
            legs.append((t, t + waits[i - 1], b, b, 0.0))
            t += waits[i - 1]
        if t > t1:
            break
    out = []
    k = 0
    s = t0
    while s <= t1 and legs:
        while k < len(legs) - 1 and legs[k][1] < s:
            k += 1
        ta, tb, a, b, v = legs[k]
        f = 0.0 if tb <= ta else min(1.0, max(0.0, (s - ta) / (tb - ta)))
        x, y = a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
        heading = math.degrees(math.atan2(b[0] - a[0], b[1] - a[1])) % 360.0
        out.append((s, x, y, v if a != b else 0.0, heading))
        s += fix_s
    return out


def _positions(h: _History) -> list[tuple[Resolved, str | None]]:
    """Every tracker over the last half hour: inspectors walking in their grids, vehicles
    driving along the roads."""
    city = h.city
    if not city.grids:
        return []
    center = city.grids[len(city.grids) // 2].polygon.centroid
    frame = _Frame(center.x, center.y)
    t1 = h.now.timestamp()
    t0 = (h.now - POSITIONS_SPAN).timestamp()
    grids_of: dict[int, list[_Grid]] = {}
    for g in city.grids:
        if g.inspector_id is not None:
            grids_of.setdefault(g.inspector_id, []).append(g)
    roads = [r for r in city.roads if r.length > 0.004]
    fixes: list[tuple[Any, float, float, float, float, float]] = []
    for tracker_id, code, kind, user_id in city.trackers:
        rng = random.Random(f"{h.seed}:track:{code}")
        fix_s = rng.choice((10.0, 15.0, 20.0, 30.0) if kind == "inspector" else (10.0, 15.0))
        points: list[tuple[float, float]] = []
        speeds: list[float] = []
        waits: list[float] = []
        if kind == "inspector" or not roads:
            own = grids_of.get(user_id or -1) or [city.grid(rng)]
            grid = rng.choice(own)
            for _ in range(40):
                if rng.random() < 0.25:
                    grid = rng.choice(own)
                points.append(frame.xy(*city.point_in(grid, rng)))
                speeds.append(rng.uniform(3.0, 5.0) / 3.6)
                waits.append(rng.uniform(30, 240) if rng.random() < 0.3 else 0.0)
        else:
            road = rng.choice(roads)
            coords = [frame.xy(x, y) for x, y in road.coords]
            start = rng.randrange(len(coords))
            forward = rng.random() < 0.5
            i = start
            for _ in range(80):
                points.append(coords[i])
                speeds.append(rng.uniform(20.0, 40.0) / 3.6)
                waits.append(rng.uniform(60, 300) if rng.random() < 0.04 else 0.0)
                j = i + (1 if forward else -1)
                if not 0 <= j < len(coords):
                    forward = not forward
                    j = i + (1 if forward else -1)
                    if not 0 <= j < len(coords):
                        break
                i = j
        for s, x, y, v, heading in _track(points, speeds, waits, t0, t1, fix_s):
            lon, lat = frame.lonlat(x, y)
            fixes.append((tracker_id, s, lon, lat, v, heading))
    grids = _locate(city, [f[2] for f in fixes], [f[3] for f in fixes])
    out = []
    codes = {row[0]: row[1] for row in city.trackers}
    for (tracker_id, s, lon, lat, v, heading), grid in zip(fixes, grids, strict=True):
        if grid is None:
            continue  # the ingest refuses fixes outside the city
        msg = PositionMsg(codes[tracker_id], datetime.fromtimestamp(s, UTC), lon, lat,
                          round(v * 3.6, 1), round(heading, 1))
        out.append((Resolved(msg, tracker_id=tracker_id, lon=lon, lat=lat), grid))
    return out


def _locate(city: _City, lons: Sequence[float], lats: Sequence[float]) -> list[str | None]:
    """Point → unit grid for many points at once (on a shared edge, the lowest code wins, as
    in :mod:`gis.locate`)."""
    tree = shapely.STRtree([g.polygon for g in city.grids])
    points = shapely.points(lons, lats)
    hits = tree.query(points, predicate="covered_by")
    out: list[str | None] = [None] * len(lons)
    for point_index, grid_index in zip(*hits, strict=True):
        code = city.grids[int(grid_index)].code
        current = out[int(point_index)]
        if current is None or code < current:
            out[int(point_index)] = code
    return out


# -- the rest --------------------------------------------------------------------------------------
def _finish(h: _History) -> None:
    """Components in alarm or fault for their open sensor cases; the photos' attachment rows;
    detections, camera heartbeats and positions through the ingest's writer."""
    session = h.session
    session.flush()
    rows = session.execute(select(Case.component_id, Case.rule_key).where(
        Case.source == "sensor", Case.component_id.is_not(None),
        Case.status.in_(("registered", "dispatched", "accepted", "handled", "verified",
                         "suspended", "reported")))).all()
    no_data = h.cfg.rules.no_data.key
    fault = sorted({cid for cid, key in rows if key == no_data})
    alarm = sorted({cid for cid, key in rows if key != no_data} - set(fault))
    for ids, status in ((alarm, "alarm"), (fault, "fault")):
        if ids:
            session.execute(update(Component).where(Component.id.in_(ids))
                            .values(status=status))
    photo_rows = h.photos.rows(session)
    if photo_rows:
        session.execute(insert(Attachment), photo_rows)
    h.report.photos = len(h.photos.saved)
    cams = {thing.device_id: thing for thing in h.city.cameras}
    statuses = [(Resolved(Status(cams[d].device_code or "", True, h.now),
                          DeviceInfo(d, "camera", cams[d].component_id, "0125", cams[d].lon,
                                     cams[d].lat)), None)
                for d in sorted(h.seen_cameras) if d in cams]
    positions = _positions(h)
    result = write_batch(session, Batch(resolved=[*h.detections, *statuses, *positions]),
                         h.media_dir, h.links)
    h.report.detections = len(h.detections)
    h.report.positions = len(positions)
    del result
    session.flush()


SHOP_SHARE = 0.6
"""Of the shop-front problem types reported by inspectors and citizens: the share found in
front of a shop of the grid (the case is the shop's, 门前三包)."""


def _ratings(session: Session, rng: random.Random, *, now: datetime, days: int) -> int:
    """Citizens' ratings from the shops' QR pages: about a third of the shops get a few,
    mostly good, now and then a bad one (device and address as random keyed-hash stand-ins)."""
    rows = []
    for (shop_id,) in session.execute(select(Shop.id).where(Shop.active.is_(True))
                                      .order_by(Shop.id)):
        if rng.random() > 0.35:
            continue
        mood = rng.choice((5, 5, 4, 4, 3, 2))
        for _ in range(rng.randint(1, 7)):
            at = now - timedelta(days=rng.uniform(0, days))
            stars = max(1, min(5, round(rng.gauss(mood, 0.8))))
            rows.append(dict(shop_id=shop_id, stars=stars, comment=None,
                             device=f"{rng.getrandbits(128):032x}",
                             client=f"{rng.getrandbits(128):032x}",
                             day=at.astimezone(TZ).date().isoformat(), created_at=at,
                             hidden=False))
    if rows:
        session.execute(insert(ShopRating), rows)
    return len(rows)


def seed_history(session: Session, cfg: CaseConfig, *, now: datetime, media_dir: Path,
                 days: int = 62, seed: int = 7, scale: float = 1.0) -> HistoryReport:
    """Write ``days`` of case history up to ``now`` into a seeded demo city (caller commits).

    Deterministic for ``(now, seed, days, scale)``; ``scale`` multiplies the daily volumes.
    Does nothing when :func:`has_history` finds an earlier run. Raises ``ValueError`` when the
    database holds no demo city (seed it first) or ``now`` is naive.
    """
    began = time.perf_counter()
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime (UTC)")
    if has_history(session):
        return HistoryReport(skipped=True)
    if cfg.rules is None:
        raise ValueError("the demo history needs the case rules (data/config/rules.yaml)")
    if session.scalar(select(func.count()).select_from(UnitGrid)) == 0 or \
            session.scalar(select(User.id).where(User.role == "command").limit(1)) is None:
        raise ValueError("no demo city in this database: seed it first (python app.py seed)")
    now = now.astimezone(UTC)
    history = _History(session, cfg, now=now, start=now - timedelta(days=days), seed=seed,
                       media_dir=media_dir, scale=scale)
    event.listen(session, "transient_to_pending", history._added)
    try:
        _Planner(history).plan()
        history.run()
        _today(history)
        _ratings(session, random.Random(seed + 1), now=now, days=days)
        run_clock(session, cfg, now)
        history.report.clock_passes += 1
        _finish(history)
    finally:
        event.remove(session, "transient_to_pending", history._added)
    report = history.report
    report.cases = Counter(dict(session.execute(
        select(Case.status, func.count()).group_by(Case.status)).all()))
    report.sources = Counter(dict(session.execute(
        select(Case.source, func.count()).group_by(Case.source)).all()))
    report.events = session.scalar(select(func.count()).select_from(CaseEvent)) or 0
    report.seconds = time.perf_counter() - began
    return report
