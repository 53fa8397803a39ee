"""The big screen's read models on real databases (SQLite and PostgreSQL/PostGIS), against a
hand-built morning: every count below is worked out by hand in the comments of ``world``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from cases.clock import light
from data.bigscreen import (
    area_drill,
    area_outline,
    day_start,
    kpis,
    live_state,
    traffic_lights,
)
from data.cases import actor_for, report_case, time_used, transition
from data.models import (
    Attachment,
    Case,
    Component,
    Department,
    Detection,
    Device,
    Position,
    Tracker,
    UnitGrid,
    User,
)
from data.views import ViewError

# Tuesday 17 November 2026, 10:00 in Asia/Shanghai (02:00 UTC), a working day.
T = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)
PHOTO = {"sha256": "a" * 64, "mime": "image/jpeg"}
SNAP = "b" * 64


def _user(s: Any, name: str) -> User:
    return s.scalar(select(User).where(User.username == name))


def _point(s: Any, grid: str) -> tuple[float, float]:
    p = s.scalar(select(UnitGrid.geom).where(UnitGrid.code == grid)).representative_point()
    return p.x, p.y


@pytest.fixture(scope="module")
def world(seeded_services: Any) -> dict[str, Any]:
    """Cases, faults, positions and detections of one morning in three grids.

    Cases (sanitation ``event:0102``: register 1, dispatch 1, handle 2, verify 2 working hours;
    street vending ``event:0501``: register 0.5 working hours; the day's work starts 08:30):

    ====  =====  =========================================================  ===============
    case  grid   life (times CST, today = Tue 17 Nov)                       now (10:00)
    ====  =====  =========================================================  ===============
    A     g1     reported Mon 10:00, registered Mon, dispatched today 09:00  open, handle due
                                                                            11:00: green
    B     g3     reported 08:00, registered, dispatched, … closed 09:30      closed on time
    H     g3     reported Sun, dispatched Sun, closed today 09:40            closed late
    C     g1     0501 reported 07:00, never registered (due 09:00)          open, red
    D     g2     reported 09:40 (due 10:40, 33 % used)                      open, green
    E     g2     reported 09:10 (due 10:10, 83 % used)                      open, yellow
    F     g2     reported 09:45, declined                                   hidden
    S     g1     reported 09:20, registered, suspended 09:30                open, no clock
    ====  =====  =========================================================  ===============

    So today: reports B C D E F S = 6; registered B S = 2; dispatched A B = 2; closed B H = 2,
    one on time; overdue C = 1; open A C D E S = 5; lights green A D, yellow E, red C.
    Components: X (g1) fault; W (g1) alarm and silent; Y (g2) silent 40 min (3 × 10 min
    allowed); Z (g2) heard 5 min ago → faults g1 = 2, g2 = 1.
    """
    svc = seeded_services
    cfg = svc.cases
    out: dict[str, Any] = {}
    with svc.transaction() as s:
        rows = s.execute(
            select(Component.grid_code, func.count())
            .join(Device, Device.component_id == Component.id)
            .where(Device.kind == "sensor", Device.period_s == 600,
                   Component.grid_code.like("449902%"))
            .group_by(Component.grid_code).having(func.count() >= 2)
            .order_by(Component.grid_code).limit(2)).all()
        g1, g2 = rows[0][0], rows[1][0]
        g3 = s.scalar(select(UnitGrid.code).where(UnitGrid.code.like("449903%"))
                      .order_by(UnitGrid.code).limit(1))
        out.update(g1=g1, g2=g2, g3=g3)
        command = actor_for(s, _user(s, "command01"))
        handler = actor_for(s, _user(s, "handler_d03"))
        d03 = s.scalar(select(Department.id).where(Department.code == "D03"))

        def report(grid: str, at: datetime, code: str = "0102") -> Case:
            lon, lat = _point(s, grid)
            return report_case(s, cfg, kind="event", code=code, actor=command,
                               source="inspector", lon=lon, lat=lat, grid_code=grid, now=at)

        def step(c: Case, action: str, at: datetime, **kw: Any) -> None:
            transition(s, cfg, c, action, kw.pop("actor", command), now=at, **kw)

        def close_loop(c: Case, start: datetime, feedback: datetime, closed: datetime) -> None:
            step(c, "register", start + timedelta(minutes=5))
            step(c, "dispatch", start + timedelta(minutes=10), data={"department_id": d03})
            step(c, "accept", start + timedelta(minutes=15), actor=handler)
            step(c, "feedback", feedback, actor=handler, note="已清理", attachments=[PHOTO])
            step(c, "verify_pass", closed - timedelta(minutes=5))
            step(c, "close", closed)

        a = report(g1, T - timedelta(days=1))
        step(a, "register", T - timedelta(days=1) + timedelta(minutes=5))
        step(a, "dispatch", T - timedelta(hours=1), data={"department_id": d03})
        b = report(g3, T - timedelta(hours=2))
        close_loop(b, T - timedelta(hours=2), T - timedelta(minutes=50),
                   T - timedelta(minutes=30))
        h = report(g3, T - timedelta(days=2))
        close_loop(h, T - timedelta(days=2), T - timedelta(hours=1), T - timedelta(minutes=20))
        c = report(g1, T - timedelta(hours=3), code="0501")
        d = report(g2, T - timedelta(minutes=20))
        e = report(g2, T - timedelta(minutes=50))
        f = report(g2, T - timedelta(minutes=15))
        step(f, "decline", T - timedelta(minutes=14), reason="invalid")
        sus = report(g1, T - timedelta(minutes=40))
        step(sus, "register", T - timedelta(minutes=35))
        step(sus, "suspend", T - timedelta(minutes=30), reason="等待施工")
        s.flush()
        out.update({k: v.id for k, v in dict(A=a, B=b, H=h, C=c, D=d, E=e, F=f, S=sus).items()})
        out["b_on_time"], out["h_on_time"] = b.closed_on_time, h.closed_on_time

        def sensors(grid: str) -> list[tuple[int, int, str]]:
            return s.execute(select(Component.id, Device.id, Component.code)
                             .join(Device, Device.component_id == Component.id)
                             .where(Component.grid_code == grid, Device.kind == "sensor",
                                    Device.period_s == 600)
                             .order_by(Component.code).limit(2)).all()

        (x_id, _, x_code), (w_id, w_dev, _) = sensors(g1)
        (_, y_dev, y_code), (_, z_dev, _) = sensors(g2)
        s.execute(update(Component).where(Component.id == x_id).values(status="fault"))
        s.execute(update(Component).where(Component.id == w_id).values(status="alarm"))
        for dev, ago in ((w_dev, 60), (y_dev, 40), (z_dev, 5)):
            s.execute(update(Device).where(Device.id == dev)
                      .values(last_seen_at=T - timedelta(minutes=ago)))
        out.update(x_code=x_code, y_code=y_code)

        inspectors = s.scalars(select(Tracker).where(Tracker.kind == "inspector")
                               .order_by(Tracker.code).limit(2)).all()
        vehicle = s.scalar(select(Tracker).where(Tracker.kind == "vehicle").limit(1))
        from shapely.geometry import Point

        lon, lat = _point(s, g1)
        for tracker, ago, dx in ((inspectors[0], 20, 0.0), (inspectors[0], 5, 0.001),
                                 (inspectors[1], 20, 0.0), (vehicle, 1, 0.002)):
            s.add(Position(tracker_id=tracker.id, ts=T - timedelta(minutes=ago),
                           geom=Point(lon + dx, lat), grid_code=g1, speed_kmh=5.0))
        out.update(inspector=inspectors[0].code, vehicle=vehicle.code, lon=lon + 0.001)

        camera = s.execute(select(Device.id, Device.code).where(Device.kind == "camera")
                           .order_by(Device.code).limit(1)).one()
        s.add(Attachment(sha256=SNAP, mime="image/jpeg", size=10))
        s.flush()
        for i, (event_code, type_code, sha) in enumerate((("umbrella", "0504", SNAP),
                                                          ("street_vending", "0501", None))):
            s.add(Detection(device_id=camera.id, msg_id=f"bs-{i}", ts=T - timedelta(minutes=2 - i),
                            event_code=event_code, event_type_code=type_code, confidence=0.9,
                            geom=Point(lon, lat), grid_code=g1, snapshot_sha256=sha))
            s.flush()
        out["camera"] = camera.code
    return out


def test_today_is_the_city_day(seeded_services: Any) -> None:
    start = day_start(seeded_services.cases, T)
    assert start.isoformat() == "2026-11-17T00:00:00+08:00"
    assert day_start(seeded_services.cases, datetime(2026, 11, 17, 16, 30, tzinfo=UTC)).day == 18


def test_kpis_count_what_happened_today(seeded_services: Any, world: dict[str, Any]) -> None:
    assert world["b_on_time"] is True and world["h_on_time"] is False
    with seeded_services.session() as s:
        k = kpis(s, seeded_services.cases, T)
    assert (k.reports_today, k.registered_today, k.dispatched_today, k.closed_today) == (6, 2, 2, 2)
    assert k.closed_on_time_today == 1 and k.on_time_rate == 0.5
    assert (k.overdue_now, k.open_now) == (1, 5)
    with seeded_services.session() as s:  # the next morning: nothing happened yet
        k = kpis(s, seeded_services.cases, T + timedelta(days=1))
    assert (k.reports_today, k.closed_today, k.on_time_rate) == (0, 0, None)


def test_traffic_lights_match_the_clock_of_every_case(seeded_services: Any,
                                                      world: dict[str, Any]) -> None:
    cfg = seeded_services.cases
    for now in (T, T + timedelta(minutes=25), T + timedelta(hours=3), T + timedelta(days=3)):
        with seeded_services.session() as s:
            counted = traffic_lights(s, cfg, now)
            expected = {"green": 0, "yellow": 0, "red": 0}
            for c in s.scalars(select(Case).where(Case.status.in_(
                    ("reported", "registered", "dispatched", "accepted", "handled",
                     "verified")))):
                fraction = time_used(c, cfg, now)
                if fraction is not None:
                    expected[light(fraction)] += 1
        assert counted == expected, now
    with seeded_services.session() as s:
        assert traffic_lights(s, cfg, T) == {"green": 2, "yellow": 1, "red": 1}


def test_grid_layers_components_and_positions(seeded_services: Any,
                                              world: dict[str, Any]) -> None:
    g1, g2 = world["g1"], world["g2"]
    with seeded_services.session() as s:
        st = live_state(s, seeded_services.cases, T)
    assert st.layers["open"] == {g1: 3, g2: 2}
    assert st.layers["overdue"] == {g1: 1}
    assert st.layers["faults"] == {g1: 2, g2: 1}
    assert next((p.code, p.status) for p in st.components) == (world["x_code"], "fault")
    assert {p.status for p in st.components} == {"fault", "alarm", "silent"}
    assert st.component_total == 3
    assert [p.code for p in st.components if p.status == "silent"] == [world["y_code"]]
    moving = {p.code: p for p in st.trackers}
    assert set(moving) == {world["inspector"], world["vehicle"]}  # the other fix is too old
    assert moving[world["inspector"]].lon == pytest.approx(world["lon"])
    assert moving[world["vehicle"]].kind == "vehicle"
    assert [c.key for c in st.by_category] == ["event:0102", "event:0501"]
    assert [c.count for c in st.by_category] == [4, 1]
    assert {d.key: d.count for d in st.by_district} == {"449902": 5, "449903": 0, "449904": 0}


def test_ticker_lists_newest_detections_first(seeded_services: Any,
                                              world: dict[str, Any]) -> None:
    with seeded_services.session() as s:
        st = live_state(s, seeded_services.cases, T)
    newest, older = st.detections[:2]
    assert (newest.event_code, newest.name, newest.snapshot_sha256) == ("street_vending",
                                                                        "占道经营", None)
    assert (older.name, older.snapshot_sha256, older.camera) == ("违规撑伞", SNAP, world["camera"])
    assert older.grid_code == world["g1"] and older.grid_name and older.place


def test_drill_down_into_a_grid_and_a_district(seeded_services: Any,
                                               world: dict[str, Any]) -> None:
    cfg = seeded_services.cases
    with seeded_services.session() as s:
        grid = area_drill(s, cfg, T, world["g1"])
        district = area_drill(s, cfg, T, "449902")
        in_grid = dict(s.execute(select(Component.status, func.count())
                                 .where(Component.grid_code == world["g1"])
                                 .group_by(Component.status)).all())
        outline = area_outline(s, world["g1"])
        assert area_drill(s, cfg, T, "449902999999999") is None
        with pytest.raises(ViewError):
            area_drill(s, cfg, T, "12ab")
    assert grid.level == "grid" and grid.inspector
    assert (grid.open_cases, grid.overdue, grid.faults) == (3, 1, 2)
    assert {c.id for c in grid.cases} == {world["A"], world["C"], world["S"]}
    assert grid.cases[0].id == world["C"] and grid.cases[0].light == "red"
    assert next(c for c in grid.cases if c.id == world["S"]).light is None  # suspended
    assert grid.components == in_grid and grid.components["fault"] == 1
    assert (district.level, district.open_cases, district.overdue) == ("district", 5, 1)
    assert district.lights == {"green": 2, "yellow": 1, "red": 1}
    assert outline["features"][0]["geometry"]["type"] in ("LineString", "MultiLineString")


def test_one_refresh_costs_the_same_number_of_queries_however_many_cases(
        seeded_services: Any, world: dict[str, Any]) -> None:
    """Everything is aggregated in SQL: more cases do not mean more statements."""
    def statements() -> int:
        seen = []

        def count(*_: Any) -> None:
            seen.append(1)

        event.listen(seeded_services.engine, "before_cursor_execute", count)
        try:
            with seeded_services.session() as s:
                live_state(s, seeded_services.cases, T)
        finally:
            event.remove(seeded_services.engine, "before_cursor_execute", count)
        return len(seen)

    before = statements()
    with seeded_services.transaction() as s:
        command = actor_for(s, _user(s, "command01"))
        grids = s.scalars(select(UnitGrid.code).where(UnitGrid.code.like("449904%"))
                          .order_by(UnitGrid.code).limit(30)).all()
        for i, grid in enumerate(grids):
            lon, lat = _point(s, grid)
            report_case(s, seeded_services.cases, kind="event", code="0102" if i % 2 else "0105",
                        actor=command, source="inspector", lon=lon, lat=lat, grid_code=grid,
                        now=T + timedelta(hours=1, minutes=i))
    after = statements()
    assert before == after and before <= 20
