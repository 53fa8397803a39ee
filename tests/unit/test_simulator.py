"""The device simulator's traffic model (sensors/simulator.py): pure, no broker.

One simulated evening hour (19:00–20:00 China time, at night, the default fault plan) is
generated once and checked from every side; a few smaller fleets cover what needs longer
stretches of time.
"""

from __future__ import annotations

import base64
import json
import math
import re
import shutil
import subprocess
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from itertools import pairwise

import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point
from shapely.ops import unary_union

from data.config import load_catalogue
from gis.crs import gcj02_to_wgs84
from sensors.simulator import (
    CST,
    DemoFleet,
    Fault,
    FaultPlan,
    SimMessage,
    TrafficModel,
    _parse_url,
    block_jpeg,
    build_parser,
)
from sensors.topics import parse_topic

EVENING = datetime(2026, 11, 23, 19, 0, tzinfo=CST)
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=CST)
HOUR = timedelta(hours=1)
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00$")
GEOD = Geod(ellps="WGS84")


@cache
def fleet() -> DemoFleet:
    return DemoFleet.load()


@cache
def evening() -> tuple[TrafficModel, tuple[SimMessage, ...]]:
    model = TrafficModel(fleet(), seed=7, start=EVENING)
    return model, tuple(model.messages_between(EVENING, EVENING + HOUR))


@cache
def docs() -> tuple[tuple[SimMessage, dict], ...]:
    return tuple((m, json.loads(m.payload)) for m in evening()[1])


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def faults_of(model: TrafficModel, kind: str) -> list:
    return [w for w in model.fault_windows(EVENING + HOUR) if w.kind == kind]


def readings_of(component: str) -> list[tuple[datetime, dict]]:
    return [(m.at, d) for m, d in docs()
            if m.kind == "readings" and m.topic.endswith("/" + component)]


# --- determinism ----------------------------------------------------------------------------

def test_same_seed_same_messages_whatever_the_windows() -> None:
    a = TrafficModel(fleet(), seed=3, start=EVENING)
    b = TrafficModel(fleet(), seed=3, start=EVENING)
    mid, end = EVENING + timedelta(minutes=4), EVENING + timedelta(minutes=10)
    whole = list(a.messages_between(EVENING, end))
    parts = list(b.messages_between(EVENING, mid)) + list(b.messages_between(mid, end))
    assert len(whole) > 5000
    assert whole == parts
    assert whole == list(TrafficModel(fleet(), seed=3, start=EVENING)
                         .messages_between(EVENING, end))
    other = list(TrafficModel(fleet(), seed=4, start=EVENING).messages_between(EVENING, end))
    assert [m.payload for m in other[:200]] != [m.payload for m in whole[:200]]


def test_messages_are_in_time_order_inside_the_window() -> None:
    times = [m.at for m in evening()[1]]
    assert times == sorted(times)
    assert times[0] >= EVENING and times[-1] < EVENING + HOUR
    assert all(m.qos == 1 for m in evening()[1])


# --- the README contract --------------------------------------------------------------------

def test_every_payload_matches_the_device_contract() -> None:
    catalogue = load_catalogue()
    specs = {t.code: {m.name: m for m in t.metrics} for t in catalogue.component_types}
    type_of = {s.component_code: s.type_code for s in fleet().sensors}
    cameras = {c.device_code for c in fleet().cameras}
    trackers = {t.code for t in fleet().trackers}
    events = {t.detection for t in catalogue.event_types if t.detection}
    ids: set[str] = set()
    kinds: Counter[str] = Counter()
    for msg, doc in docs():
        topic = parse_topic(msg.topic)
        assert not isinstance(topic, str), topic
        kinds[topic.kind] += 1
        assert isinstance(doc, dict)
        assert TS.match(doc["ts"]), doc["ts"]
        assert datetime.fromisoformat(doc["ts"]) == msg.at.replace(
            microsecond=msg.at.microsecond // 1000 * 1000)
        assert isinstance(doc["msg_id"], str) and doc["msg_id"] not in ids
        ids.add(doc["msg_id"])
        limit = 3 * 1024 * 1024 if topic.kind == "detections" else 16 * 1024
        assert len(msg.payload) <= limit
        if topic.kind == "readings":
            allowed = specs[type_of[topic.code]]
            assert doc["metrics"] and set(doc["metrics"]) <= set(allowed)
            for name, value in doc["metrics"].items():
                spec = allowed[name]
                if spec.type == "bool":
                    assert isinstance(value, bool)
                else:
                    assert isinstance(value, int | float) and not isinstance(value, bool)
                    assert math.isfinite(value) and spec.min <= value <= spec.max, (name, value)
            if "battery" in doc:
                assert 3.0 <= doc["battery"] <= 3.7
        elif topic.kind == "detections":
            assert topic.code in cameras
            assert doc["event"] in events
            assert 0.55 <= doc["confidence"] <= 0.99
            assert all(isinstance(doc[k], float) for k in ("lon", "lat"))
            assert len(doc["bbox"]) == 4 and all(isinstance(v, int) for v in doc["bbox"])
            jpeg = base64.b64decode(doc["snapshot"], validate=True)
            assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
            assert len(jpeg) <= 2 * 1024 * 1024
        elif topic.kind == "status":
            assert topic.code in cameras and isinstance(doc["online"], bool)
        else:
            assert topic.code in trackers
            assert all(isinstance(doc[k], float) for k in ("lon", "lat"))
            assert 0 <= doc["speed_kmh"] <= 45 and 0 <= doc["heading"] < 360
            assert doc.get("crs", "wgs84") in ("wgs84", "gcj02")
    assert set(kinds) == {"readings", "detections", "status", "positions"}


def test_the_ingest_decoder_accepts_every_message() -> None:
    schemas = pytest.importorskip("sensors.schemas", reason="sensors/schemas.py not there yet")
    now = (EVENING + HOUR).astimezone(CST)
    refused = Counter()
    for msg in evening()[1][::7]:
        out = schemas.decode(msg.topic, msg.payload, now)
        if isinstance(out, schemas.Rejected):
            refused[(out.reason_code, out.reason)] += 1
    assert not refused


def _jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    assert data[:2] == b"\xff\xd8"
    out, i = [], 2
    while True:
        assert data[i] == 0xFF
        marker = data[i + 1]
        length = int.from_bytes(data[i + 2:i + 4], "big")
        out.append((marker, data[i + 4:i + 2 + length]))
        i += 2 + length
        if marker == 0xDA:
            break
    body = data[i:-2]
    assert data[-2:] == b"\xff\xd9"
    assert all(body[k + 1] == 0 for k in range(len(body) - 1) if body[k] == 0xFF)  # stuffed
    return out


def test_block_jpeg_is_a_valid_baseline_jpeg() -> None:
    colours = [[(255, 0, 0), (0, 255, 0), (0, 0, 255)], [(0, 0, 0), (255, 255, 255), (9, 99, 199)]]
    data = block_jpeg(colours)
    segments = dict(_jpeg_segments(data))
    assert segments[0xE0].startswith(b"JFIF\x00")
    sof = segments[0xC0]
    assert int.from_bytes(sof[1:3], "big") == 16 and int.from_bytes(sof[3:5], "big") == 24
    djpeg = shutil.which("djpeg")
    if djpeg is None:
        pytest.skip("djpeg (libjpeg-turbo-progs) not installed: decoded only structurally")
    out = subprocess.run([djpeg, "-pnm"], input=data, capture_output=True, check=True).stdout
    header, pixels = out.split(b"\n", 3)[:3], out.split(b"\n", 3)[3]
    assert header[1] == b"24 16"
    for (by, bx), rgb in {(0, 0): (255, 0, 0), (0, 2): (0, 0, 255), (1, 1): (255, 255, 255),
                          (1, 2): (9, 99, 199)}.items():
        k = ((by * 8 + 4) * 24 + bx * 8 + 4) * 3
        assert all(abs(a - b) <= 3 for a, b in zip(pixels[k:k + 3], rgb, strict=True)), rgb


def test_detection_snapshots_are_decodable_jpegs_with_the_bbox_inside() -> None:
    snaps = [d for m, d in docs() if m.kind == "detections"][:20]
    assert snaps
    for doc in snaps:
        data = base64.b64decode(doc["snapshot"])
        sof = dict(_jpeg_segments(data))[0xC0]
        height, width = int.from_bytes(sof[1:3], "big"), int.from_bytes(sof[3:5], "big")
        x, y, w, h = doc["bbox"]
        assert x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= width + 2 and y + h <= height
    djpeg = shutil.which("djpeg")
    if djpeg is None:
        pytest.skip("djpeg (libjpeg-turbo-progs) not installed: decoded only structurally")
    for doc in snaps:
        subprocess.run([djpeg, "-pnm"], input=base64.b64decode(doc["snapshot"]),
                       capture_output=True, check=True)


# --- readings -------------------------------------------------------------------------------

def test_readings_follow_the_report_periods() -> None:
    model, _ = evening()
    faulty = {w.component for w in model.fault_windows(EVENING + HOUR)}
    counts = Counter(m.topic.rsplit("/", 1)[1] for m in evening()[1] if m.kind == "readings")
    for sensor in fleet().sensors:
        if sensor.component_code in faulty:
            continue
        expected = 3600 / sensor.period_s
        assert abs(counts[sensor.component_code] - expected) <= 1, sensor
    heartbeats = Counter(m.topic.rsplit("/", 1)[1] for m in evening()[1] if m.kind == "status")
    offline = {w.device for w in faults_of(model, "camera_offline")}
    assert all(heartbeats[c.device_code] == 12 for c in fleet().cameras
               if c.device_code not in offline)


def test_street_lights_are_on_at_night_and_off_by_day() -> None:
    model, _ = evening()
    dark = {w.component for w in faults_of(model, "light_dark")}
    lights = [d["metrics"] for m, d in docs() if m.kind == "readings"
              and m.topic.split("/")[-1][6:10] == "0122" and m.topic.split("/")[-1] not in dark]
    assert len(lights) > 30000
    assert all(x["lamp_on"] and 0.35 <= x["current_a"] <= 1.0 for x in lights)
    assert all(205 <= x["voltage_v"] <= 235 for x in lights)
    few = replace(fleet(), sensors=tuple(s for s in fleet().sensors if s.type_code == "0122")[:300],
                  cameras=(), trackers=())
    noon = TrafficModel(few, seed=7, start=NOON, faults=FaultPlan.quiet())
    day = [json.loads(m.payload)["metrics"] for m in noon.messages_between(NOON, NOON + HOUR)]
    assert len(day) == 1800
    assert all(not x["lamp_on"] and x["current_a"] < 0.05 for x in day)


def test_covers_signboards_hydrants_bins_look_plausible() -> None:
    model, _ = evening()
    tilted = {w.component for w in faults_of(model, "cover_tilt")}
    by_family: dict[str, list[dict]] = defaultdict(list)
    family = {s.component_code: s.family for s in fleet().sensors}
    for msg, doc in docs():
        code = msg.topic.split("/")[-1]
        if msg.kind == "readings" and code not in tilted:
            by_family[family[code]].append(doc)
    covers = [d["metrics"] for d in by_family["cover"]]
    assert all(x["tilt_deg"] <= 2 and x["displacement_mm"] <= 3 for x in covers)
    signs = [d["metrics"] for d in by_family["signboard"]]
    assert all(x["tilt_deg"] <= 3 and 0 <= x["wind_ms"] <= 8 for x in signs)
    hydrants = [d["metrics"]["pressure_mpa"] for d in by_family["hydrant"]]
    assert all(0.2 <= p <= 0.4 for p in hydrants)
    assert all("battery" in d for f in ("cover", "signboard", "hydrant", "bin")
               for d in by_family[f])
    assert not any("battery" in d for d in by_family["light"])


def test_water_rises_under_covers_after_rain() -> None:
    covers = tuple(s for s in fleet().sensors if s.type_code == "0103")[:60]
    small = replace(fleet(), sensors=covers, cameras=(), trackers=())
    dry = TrafficModel(small, seed=2, start=EVENING, faults=FaultPlan.quiet())
    wet = TrafficModel(small, seed=2, start=EVENING,
                       faults=FaultPlan(faults=(), rain=((0.0, 2 * 3600.0),)))
    window = (EVENING + timedelta(hours=2), EVENING + timedelta(hours=3))

    def levels(model: TrafficModel) -> list[float]:
        return [json.loads(m.payload)["metrics"]["water_level_cm"]
                for m in model.messages_between(*window)]

    before, after = levels(dry), levels(wet)
    assert max(before) <= 10
    assert sum(after) / len(after) > sum(before) / len(before) + 10


def test_bins_fill_through_the_day_and_are_emptied() -> None:
    bins = tuple(s for s in fleet().sensors if s.type_code == "0308")[:40]
    small = replace(fleet(), sensors=bins, cameras=(), trackers=())
    day0 = datetime(2026, 11, 24, 0, 0, tzinfo=CST)
    model = TrafficModel(small, seed=5, start=day0, faults=FaultPlan.quiet())
    series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for msg in model.messages_between(day0, day0 + timedelta(days=1)):
        series[msg.topic].append((msg.at, json.loads(msg.payload)["metrics"]["fill_pct"]))
    for points in series.values():
        assert len(points) == 48
        fills = [f for _, f in points]
        assert max(fills) <= 90 and min(fills) >= 0
        drops = [b for a, b in pairwise(points) if b[1] < a[1] - 8]
        assert len(drops) == 3  # the sanitation rounds at ~06:00, ~13:00, ~20:00
        noon = next(f for t, f in points if t.hour == 12)
        early = next(f for t, f in points if t.hour == 7)
        assert noon > early


def test_battery_drains_slowly() -> None:
    covers = tuple(s for s in fleet().sensors if s.family == "cover")[:30]
    small = replace(fleet(), sensors=covers, cameras=(), trackers=())
    model = TrafficModel(small, seed=5, start=EVENING, faults=FaultPlan.quiet())
    first = {m.topic: json.loads(m.payload)["battery"]
             for m in model.messages_between(EVENING, EVENING + HOUR)}
    later = EVENING + timedelta(days=20)
    last = {m.topic: json.loads(m.payload)["battery"]
            for m in model.messages_between(later, later + HOUR)}
    drops = [first[t] - last[t] for t in first]
    assert all(0.02 < d < 0.3 for d in drops)


# --- faults ---------------------------------------------------------------------------------

def test_the_default_faults_all_happen_in_the_first_hour() -> None:
    model, messages = evening()
    windows = model.fault_windows(EVENING + HOUR)
    assert {w.kind for w in windows} == {"cover_tilt", "light_dark", "camera_offline",
                                          "bin_overflow", "device_silent"}
    assert all(w.begin < EVENING + timedelta(minutes=6) for w in windows)

    (cover,) = faults_of(model, "cover_tilt")
    tilted = [d["metrics"] for _, d in readings_of(cover.component)
              if d["metrics"]["tilt_deg"] > 15]
    assert tilted and all(20 <= x["tilt_deg"] <= 36 and x["displacement_mm"] > 20
                          for x in tilted)
    assert readings_of(cover.component)[-1][1]["metrics"]["tilt_deg"] <= 2  # back on its seat

    (light,) = faults_of(model, "light_dark")
    dark = [t for t, d in readings_of(light.component)
            if not d["metrics"]["lamp_on"] and d["metrics"]["current_a"] == 0.0
            and (t.hour >= 19 or t.hour < 6)]
    assert len(dark) >= 2 and dark[-1] - dark[0] > timedelta(minutes=10)

    (camera,) = faults_of(model, "camera_offline")
    mine = [(m.at, m.kind, json.loads(m.payload)) for m in messages
            if m.topic.endswith("/" + camera.device)]
    offline = [t for t, k, d in mine if k == "status" and d["online"] is False]
    online_again = [t for t, k, d in mine if k == "status" and d["online"] is True
                    and offline and t >= camera.end]
    assert offline == [camera.begin] and online_again[0] == camera.end
    assert not [t for t, _, _ in mine if camera.begin < t < camera.end]

    (bin_,) = faults_of(model, "bin_overflow")
    fills = [(t, d["metrics"]["fill_pct"]) for t, d in readings_of(bin_.component)]
    assert any(f >= 95 for _, f in fills)
    assert next(f for t, f in fills if t >= bin_.end) < 10  # emptied

    (silent,) = faults_of(model, "device_silent")
    heard = [t for t, _ in readings_of(silent.component)]
    assert not [t for t in heard if silent.begin <= t < silent.end]
    assert silent.end - silent.begin >= timedelta(minutes=30)


def test_a_dark_lamp_waits_for_the_night() -> None:
    model = TrafficModel(fleet(), seed=1, start=NOON)
    dark = [w for w in model.fault_windows(NOON + timedelta(hours=8)) if w.kind == "light_dark"]
    assert len(dark) == 4  # the repetitions of 12:00, 14:00, 16:00 and 18:00 wait for 19:00
    for window in dark:
        begin = window.begin.astimezone(CST)
        assert begin.hour == 19 and begin.minute <= 20 and window.end - window.begin > timedelta(
            minutes=10)


def test_faults_repeat_on_other_devices_and_can_be_switched_off() -> None:
    model = TrafficModel(fleet(), seed=1, start=EVENING)
    tilts = [w for w in model.fault_windows(EVENING + timedelta(hours=7)) if w.kind == "cover_tilt"]
    assert len(tilts) == 4 and len({w.device for w in tilts}) == 4
    quiet = TrafficModel(fleet(), seed=1, start=EVENING, faults=FaultPlan.quiet())
    assert quiet.fault_windows(EVENING + timedelta(days=1)) == []
    with pytest.raises(ValueError, match="unknown"):
        Fault("meltdown", 0, 60)
    with pytest.raises(ValueError, match="not in the simulated fleet"):
        TrafficModel(fleet(), seed=1, start=EVENING,
                     faults=FaultPlan(faults=(Fault("cover_tilt", 0, 60, "DEV-NOPE"),)))
    chosen = TrafficModel(fleet(), seed=1, start=EVENING, faults=FaultPlan(
        faults=(Fault("cover_tilt", 30, 600, "4499020101000001"),), rain=(), repeat_every_s=None))
    (window,) = chosen.fault_windows(EVENING + HOUR)
    assert window.device == "DEV-MHC-000001" and window.component == "4499020101000001"


# --- detections -----------------------------------------------------------------------------

def test_detections_cluster_at_hot_spots_in_view_of_their_camera() -> None:
    model, _ = evening()
    assert 20 <= len(model.hot_spots) <= 80
    cameras = {c.device_code: (c.lon, c.lat) for c in fleet().cameras}
    spots = [(s.lon, s.lat) for s in model.hot_spots]
    dets = [(m.topic.split("/")[-1], d) for m, d in docs() if m.kind == "detections"]
    assert len(dets) > 100
    near = 0
    for cam, doc in dets:
        here = (doc["lon"], doc["lat"])
        assert metres(here, cameras[cam]) <= 60
        near += min(metres(here, s) for s in spots) <= 60
    assert near / len(dets) >= 0.7
    # the same violation is seen again minutes later, a few metres away
    seen: dict[tuple[str, str], list[tuple[datetime, tuple[float, float]]]] = defaultdict(list)
    for msg, doc in docs():
        if msg.kind == "detections":
            seen[(msg.topic, doc["event"])].append((msg.at, (doc["lon"], doc["lat"])))
    repeats = sum(1 for runs in seen.values() for a, b in pairwise(runs)
                  if timedelta(minutes=1) <= b[0] - a[0] <= timedelta(minutes=8)
                  and metres(a[1], b[1]) <= 12)
    assert repeats >= 50


def test_detections_follow_the_time_of_day() -> None:
    eyes = replace(fleet(), sensors=(), trackers=())

    def events(hour: int) -> Counter[str]:
        t0 = datetime(2026, 11, 23, hour, 0, tzinfo=CST)
        model = TrafficModel(eyes, seed=9, start=t0, faults=FaultPlan.quiet())
        return Counter(json.loads(m.payload)["event"]
                       for m in model.messages_between(t0, t0 + 2 * HOUR)
                       if m.kind == "detections")

    night, morning, evening_ = events(2), events(7), events(19)
    assert evening_["street_vending"] > 3 * max(1, night["street_vending"])
    assert morning["non_motor_parking"] > 3 * max(1, night["non_motor_parking"])
    assert sum(night.values()) < sum(evening_.values()) / 3


# --- trackers -------------------------------------------------------------------------------

def _fixes() -> dict[str, list[tuple[datetime, dict]]]:
    out: dict[str, list[tuple[datetime, dict]]] = defaultdict(list)
    for msg, doc in docs():
        if msg.kind == "positions":
            out[msg.topic.split("/")[-1]].append((msg.at, doc))
    return out


def _wgs84(doc: dict) -> tuple[float, float]:
    if doc.get("crs") == "gcj02":
        return gcj02_to_wgs84(doc["lon"], doc["lat"])
    return doc["lon"], doc["lat"]


def test_inspectors_walk_inside_their_own_grids() -> None:
    fixes = _fixes()
    inspectors = [t for t in fleet().trackers if t.kind == "inspector"]
    assert len(inspectors) == 47
    for tracker in inspectors:
        own = unary_union([fleet().grids[g] for g in tracker.grids])
        points = fixes[tracker.code]
        assert 3600 / 30 - 1 <= len(points) <= 3600 / 10 + 1
        walked = 0.0
        for (t0, a), (t1, b) in pairwise(points):
            pa, pb = _wgs84(a), _wgs84(b)
            kmh = metres(pa, pb) / (t1 - t0).total_seconds() * 3.6
            assert kmh <= 5.05, (tracker.code, kmh)
            assert 0 <= b["speed_kmh"] <= 5.8
            walked += metres(pa, pb)
        for _, doc in points:
            assert own.distance(Point(_wgs84(doc))) < 1e-5, tracker.code  # ~1 m
        assert 1000 < walked < 5000  # an hour on foot with stops


def test_some_phones_send_gcj02_that_converts_back_inside_the_city() -> None:
    fixes = _fixes()
    city = fleet().city
    gcj = [doc for points in fixes.values() for _, doc in points if doc.get("crs") == "gcj02"]
    plain = [doc for points in fixes.values() for _, doc in points if "crs" not in doc]
    assert len(gcj) > 500 and len(plain) > 500
    for doc in gcj:
        back = gcj02_to_wgs84(doc["lon"], doc["lat"])
        assert city.contains(Point(back))
        assert 200 < metres(back, (doc["lon"], doc["lat"])) < 1000  # the GCJ-02 offset
    assert all(city.contains(Point(d["lon"], d["lat"])) for d in plain)


def test_vehicles_drive_the_roads() -> None:
    fixes = _fixes()
    roads = unary_union([LineString(r.coords) for r in fleet().roads])
    vehicles = [t.code for t in fleet().trackers if t.kind == "vehicle"]
    assert len(vehicles) == 12
    for code in vehicles:
        points = fixes[code]
        assert len(points) >= 3600 / 15 - 1
        driven = 0.0
        for (t0, a), (t1, b) in pairwise(points):
            d = metres((a["lon"], a["lat"]), (b["lon"], b["lat"]))
            assert d / (t1 - t0).total_seconds() * 3.6 <= 40.5
            driven += d
        assert all(roads.distance(Point(d["lon"], d["lat"])) < 1e-5 for _, d in points)
        assert driven > 3000


# --- rate -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("rate", "minutes"), [(50.0, 10), (4.0, 30), (200.0, 3)])
def test_rate_is_honoured(rate: float, minutes: int) -> None:
    model = TrafficModel(fleet(), seed=11, start=EVENING, rate=rate)
    n = sum(1 for _ in model.messages_between(EVENING, EVENING + timedelta(minutes=minutes)))
    assert abs(n / (minutes * 60) - rate) <= 0.2 * rate, n / (minutes * 60)


def test_real_schedules_without_a_rate() -> None:
    model, messages = evening()
    assert 10 <= model.natural_rate <= 30
    assert abs(len(messages) / 3600 - model.natural_rate) <= 0.1 * model.natural_rate


def test_a_thinned_city_still_has_every_kind_of_device_and_its_faults() -> None:
    model = TrafficModel(fleet(), seed=11, start=EVENING, rate=2.0)
    assert {s.family for s in model.sensors} == {s.family for s in fleet().sensors}
    assert model.cameras and {t.kind for t in model.trackers} == {"inspector", "vehicle"}
    simulated = {s.device_code for s in model.sensors} | {c.device_code for c in model.cameras}
    windows = model.fault_windows(EVENING + HOUR)
    assert len(windows) == 5 and all(w.device in simulated for w in windows)


# --- shell helpers --------------------------------------------------------------------------

def test_broker_urls_are_read() -> None:
    plain = _parse_url("mqtt://127.0.0.1:1999")
    assert (plain.host, plain.port, plain.username, plain.tls) == ("127.0.0.1", 1999, None, False)
    secure = _parse_url("mqtts://sim%40x:p%3Ass@broker.example")
    assert (secure.port, secure.username, secure.password, secure.tls) == (
        8883, "sim@x", "p:ss", True)
    with pytest.raises(ValueError):
        _parse_url("http://127.0.0.1:1883")


def test_command_line_options() -> None:
    args = build_parser().parse_args(["--url", "mqtt://127.0.0.1:2", "--rate", "50",
                                      "--duration", "60", "--seed", "1", "--speedup", "2"])
    assert (args.rate, args.duration, args.seed, args.speedup) == (50.0, 60.0, 1, 2.0)
