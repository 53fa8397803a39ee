"""A city scaled up for the dashboard benchmarks: the demo city plus a synthetic district.

    from scaled_city import scale_up
    scale_up(services, grids=10_000, components=100_000, cases=200_000, readings=1_000_000)

On a database where the demo city is seeded (``prepare_database(seed=True)``), adds district
``449990`` (大江新区 / Dajiang New District, fictional): a lattice of ``grids`` unit grids of
about 100 m (streets and communities of 15 × 15 grids, their outlines the unions of their
grids), ``components`` components placed at random in those grids (1 % in fault, 1 % in
alarm, a sensor device on every tenth), ``readings`` readings of those sensors over the last
day, ``cases`` cases over the last quarter up to now (``bench/metrics.py``'s life model,
shifted to end now: the newest are still open, with their step deadlines, some overdue) and
``detections`` camera detections in the last hour. Everything is written with Core
``executemany``; the demo city's own rows stay as they were.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Point
from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from metrics import Q_END, fit_events, make_cases  # noqa: E402

from data.models import (  # noqa: E402
    Case,
    CaseEvent,
    Component,
    Department,
    Detection,
    Device,
    Reading,
    Region,
    UnitGrid,
    User,
)
from gis.synthetic import lattice_grids  # noqa: E402

DISTRICT = "449990"
CITY = "449900"
BATCH = 20_000
OPEN_STEP = {"registered": ("dispatch", "dispatch_deadline_at"),
             "dispatched": ("handle", "handle_deadline_at"),
             "accepted": ("handle", "handle_deadline_at"),
             "handled": ("verify", "close_deadline_at"),
             "reported": ("register", None)}


def _chunks(rows: list[dict[str, Any]]) -> Any:
    for i in range(0, len(rows), BATCH):
        yield rows[i:i + BATCH]


def _multi(geom: shapely.Geometry) -> MultiPolygon:
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])


def _regions(codes: list[str], polys: list[Any]) -> list[dict[str, Any]]:
    """District, streets and communities over the lattice, outlines from their grids."""
    groups: dict[str, list[Any]] = {}
    for code, poly in zip(codes, polys, strict=True):
        for n in (6, 9, 12):
            groups.setdefault(code[:n], []).append(poly)
    rows = []
    for code in sorted(groups, key=lambda c: (len(c), c)):
        level = {6: "district", 9: "street", 12: "community"}[len(code)]
        geom = _multi(shapely.coverage_union_all(groups[code]))
        parent = CITY if level == "district" else code[:len(code) - 3]
        suffix = code[len(code) - 3:] if level != "district" else ""
        name = {"district": ("大江新区", "Dajiang New District"),
                "street": (f"新区第{suffix}街道", f"New District Street {suffix}"),
                "community": (f"新区社区{code[-6:]}", f"New District Community {code[-6:]}")}
        rows.append(dict(code=code, level=level, name=name[level][0], name_en=name[level][1],
                         parent_code=parent, geom=geom, area_m2=None))
    return rows


def scale_up(services: Any, *, grids: int = 10_000, components: int = 100_000,
             cases: int = 200_000, events: int | None = None, readings: int = 1_000_000,
             detections: int = 2_000, now: datetime | None = None, seed: int = 5) -> dict:
    """Add the synthetic district; returns what was added (counts and seconds)."""
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    started = time.perf_counter()
    side = max(1, round(grids ** 0.5))
    origin = (112.62, 23.02)  # east of the demo city
    codes, polys = lattice_grids(side, max(1, grids // side), origin=origin, cell_m=100.0,
                                 district=DISTRICT)
    with services.engine.begin() as conn:
        inspectors = list(conn.scalars(select(User.id).where(User.role == "inspector")))
        departments = list(conn.scalars(select(Department.id).order_by(Department.id)))
        types = list(conn.scalars(text("SELECT code FROM component_types ORDER BY code")))
        events_types = list(conn.execute(text(
            "SELECT code, detection_code FROM event_types WHERE detection_code IS NOT NULL")))
        first_id = (conn.scalar(select(func.max(Case.id))) or 0) + 1
        for chunk in _chunks(_regions(codes, polys)):
            conn.execute(insert(Region.__table__), chunk)
        grid_rows = [dict(code=c, community_code=c[:12], name=f"网格 {c[-6:]}", geom=p,
                          area_m2=10_000.0, inspector_id=inspectors[i % len(inspectors)])
                     for i, (c, p) in enumerate(zip(codes, polys, strict=True))]
        for chunk in _chunks(grid_rows):
            conn.execute(insert(UnitGrid.__table__), chunk)
        boxes = [p.bounds for p in polys]

        def point_in(k: int) -> Point:
            x0, y0, x1, y1 = boxes[k]
            return Point(x0 + rng.uniform(0.1, 0.9) * (x1 - x0),
                         y0 + rng.uniform(0.1, 0.9) * (y1 - y0))

        comp_rows = []
        for i in range(components):
            k = rng.randrange(len(codes))
            roll = rng.random()
            comp_rows.append(dict(
                code=f"9{i:015d}", type_code=rng.choice(types), name="bench component",
                geom=point_in(k), grid_code=codes[k],
                department_id=rng.choice(departments),
                status="fault" if roll < 0.01 else "alarm" if roll < 0.02 else "normal"))
        for chunk in _chunks(comp_rows):
            conn.execute(insert(Component.__table__), chunk)
        comp_ids = list(conn.scalars(select(Component.id).where(Component.code.like("9%"))
                                     .order_by(Component.id)))
        sensors = comp_ids[::10]
        conn.execute(insert(Device.__table__), [
            dict(code=f"BENCH-S-{cid}", kind="sensor", component_id=cid, period_s=300,
                 online=True) for cid in sensors])
        cams = [dict(code=f"BENCH-C-{k}", kind="camera", component_id=None, online=True)
                for k in range(200)]
        conn.execute(insert(Device.__table__), cams)
        dev_of = dict(conn.execute(select(Device.component_id, Device.id)
                                   .where(Device.code.like("BENCH-S-%"))).all())
        cam_ids = list(conn.scalars(select(Device.id).where(Device.code.like("BENCH-C-%"))))
        day = 86_400.0
        reading_rows = []
        for i in range(readings):
            cid = sensors[i % len(sensors)]
            ts = now - timedelta(seconds=rng.random() * day)
            reading_rows.append(dict(device_id=dev_of[cid], component_id=cid, msg_id=f"b{i}",
                                     ts=ts, received_at=ts, metrics={"v": round(rng.random(), 3)},
                                     battery=None))
            if len(reading_rows) == BATCH:
                conn.execute(insert(Reading.__table__), reading_rows)
                reading_rows = []
        if reading_rows:
            conn.execute(insert(Reading.__table__), reading_rows)
        det_rows = []
        for i in range(detections):
            k = rng.randrange(len(codes))
            code, det = rng.choice(events_types)
            ts = now - timedelta(seconds=rng.random() * 3600)
            det_rows.append(dict(device_id=rng.choice(cam_ids), msg_id=f"bd{i}", ts=ts,
                                 received_at=ts, event_code=det, event_type_code=code,
                                 confidence=round(rng.uniform(0.6, 0.99), 2),
                                 geom=point_in(k), grid_code=codes[k], bbox=None,
                                 snapshot_sha256=None, snapshot_url=None, case_id=None))
        conn.execute(insert(Detection.__table__), det_rows)

        # Cases: bench/metrics.py's quarter, shifted so that it ends now.
        grid_list = [(g["code"], g["inspector_id"]) for g in grid_rows]
        case_rows, case_events = make_cases(cases, grid_list, departments, seed=seed)
        shift = now - Q_END
        index = {c: k for k, c in enumerate(codes)}
        for row in case_rows:
            row["id"] += first_id - 1
            row["code"] = f"S{row['id']:09d}"
            for key, value in row.items():
                if isinstance(value, datetime):
                    row[key] = value + shift
            row["geom"] = point_in(index[row["grid_code"]])
            step, deadline = OPEN_STEP.get(row["status"], (None, None))
            row["step"] = step
            row["deadline_at"] = row.get(deadline) if deadline else (
                row["reported_at"] + timedelta(hours=2) if step else None)
        for evs in case_events:
            for ev in evs:
                ev["case_id"] += first_id - 1
                ev["at"] += shift
        event_rows = fit_events(case_events, events or 5 * cases)
        for chunk in _chunks(case_rows):
            conn.execute(insert(Case.__table__), chunk)
        for chunk in _chunks(event_rows):
            conn.execute(insert(CaseEvent.__table__), chunk)
    with services.engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # ids were given: move the sequence past them
            conn.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), "
                              "(SELECT max(id) FROM cases))"))
        conn.execute(text("ANALYZE"))
    return {"grids": len(codes), "components": components, "readings": readings,
            "cases": len(case_rows), "events": len(event_rows), "detections": detections,
            "seconds": round(time.perf_counter() - started, 1)}
