"""Device simulator (设备模拟器): realistic MQTT traffic for the demo city, from the first minute.

Two parts, kept apart so the traffic can be tested without a broker:

* a pure, deterministic **traffic generator** — :class:`DemoFleet` reads the demo city's devices
  from ``data/demo/`` (plain file reading, no database), and :class:`TrafficModel` turns it into
  a time-ordered stream of :class:`SimMessage` (topic, payload, time). Same fleet, seed and start
  → the same bytes, whichever windows the stream is asked for in;
* a thin **publisher** — :func:`run_simulator` sends each message at its time over paho 2.x at
  QoS 1; :func:`main` is the command line (``python -m sensors.simulator``, also
  ``python app.py simulate``).

What the city sends (README, "Device contract (MQTT)"):

* readings on each component type's ``report_period_s`` (``data/config/component_types.yaml``)
  with a per-device phase: street lights (路灯) on from ~18:30 to ~06:30 China time, manhole
  covers (井盖) with water rising after rain, garbage bins (垃圾箱) filling through the day and
  emptied at collection times, signboards (招牌) in the wind, hydrants (消防栓) under pressure;
  battery devices drain slowly;
* camera heartbeats (``status`` online every 300 s, the camera type's report period) and AI
  detections (视频识别) clustered at hot spots in front of shops near camera junctions, with
  time-of-day patterns, re-detected minutes apart while a violation lasts, each with a small
  valid JPEG snapshot;
* GPS fixes of grid inspectors (网格员) walking their own grids and of enforcement vehicles
  (执法车) driving the roads; some phones send GCJ-02 (``"crs": "gcj02"``);
* injected faults (:class:`FaultPlan`): a tilted manhole cover, a street light dark at night, a
  camera offline, a bin overflowing, a device falling silent — repeated every two hours on other
  devices by default.

Every message carries a deterministic ``msg_id`` (a UUID drawn from the seeded generator) and a
``ts`` in ISO-8601 with the +08:00 offset.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import hashlib
import heapq
import itertools
import json
import logging
import math
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from operator import itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from shapely.geometry import Point, Polygon, shape
from shapely.ops import unary_union

from data.config import CONFIG_DIR, MetricSpec, load_catalogue
from gis.crs import wgs84_to_gcj02
from sensors.topics import topic_for

__all__ = [
    "CST",
    "DEFAULT_FAULTS",
    "DEMO_DIR",
    "Camera",
    "DemoFleet",
    "Fault",
    "FaultPlan",
    "FaultWindow",
    "HotSpot",
    "Sensor",
    "SimMessage",
    "SimStats",
    "Tracker",
    "TrafficModel",
    "block_jpeg",
    "find_hot_spots",
    "main",
    "run_simulator",
]

log = logging.getLogger("onegrid.simulator")

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "data" / "demo"
CST = timezone(timedelta(hours=8), "CST")  # China Standard Time, the city's clock
_CST_S = 8 * 3600

# Component type → how its device behaves. Types with metrics not listed here get quiet values
# near the bottom of their configured range.
_FAMILY = {"0101": "cover", "0102": "cover", "0103": "cover", "0105": "cover", "0107": "cover",
           "0111": "cover", "0117": "hydrant", "0122": "light", "0305": "signboard",
           "0308": "bin", "0603": "waterlog"}
_BATTERY = {"cover", "hydrant", "signboard", "bin", "waterlog"}
CAMERA_TYPE = "0125"
CAMERA_HEARTBEAT_S = 300.0  # used when the catalogue gives the camera type no report period


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimMessage:
    """One MQTT message to publish at simulated time ``at`` (aware, +08:00)."""

    topic: str
    payload: bytes
    at: datetime
    qos: int = 1

    @property
    def kind(self) -> str:
        """``readings``, ``detections``, ``status`` or ``positions``."""
        return self.topic.split("/")[2]


def _ts(t: float) -> str:
    return datetime.fromtimestamp(t, CST).isoformat(timespec="milliseconds")


def _message(kind: str, code: str, t: float, payload: dict[str, Any]) -> SimMessage:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return SimMessage(topic_for(kind, code), body, datetime.fromtimestamp(t, CST))


def _msg_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# --------------------------------------------------------------------------------------------
# The fleet (pure file reading)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sensor:
    """An IoT device on a managed component (部件) that sends readings."""

    component_code: str
    device_code: str
    type_code: str
    lon: float
    lat: float
    period_s: float
    metrics: tuple[MetricSpec, ...]

    @property
    def family(self) -> str:
        return _FAMILY.get(self.type_code, "generic")


@dataclass(frozen=True)
class Camera:
    """A surveillance camera (监控电子眼) running AI detection."""

    component_code: str
    device_code: str
    lon: float
    lat: float
    period_s: float


@dataclass(frozen=True)
class Tracker:
    """A GPS tracker: a grid inspector's phone (网格员) or an enforcement vehicle (执法车)."""

    code: str
    kind: str  # inspector | vehicle
    username: str | None
    grids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Shop:
    code: str
    category: str
    lon: float
    lat: float


@dataclass(frozen=True)
class Road:
    code: str
    road_class: str  # main | secondary | branch
    coords: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class DemoFleet:
    """The demo city's devices and the geometry the simulator needs, read from ``data/demo/``."""

    sensors: tuple[Sensor, ...]
    cameras: tuple[Camera, ...]
    trackers: tuple[Tracker, ...]
    grids: Mapping[str, Polygon] = field(repr=False)
    roads: tuple[Road, ...] = field(repr=False)
    shops: tuple[Shop, ...] = field(repr=False)
    city: Polygon = field(repr=False)
    center: tuple[float, float] = (0.0, 0.0)
    detection_events: tuple[str, ...] = ()

    @classmethod
    def load(cls, demo_dir: Path | str = DEMO_DIR, config_dir: Path | str = CONFIG_DIR,
             ) -> DemoFleet:
        """Read components, trackers, grids, roads, shops and the city outline; no database."""
        demo = Path(demo_dir)
        catalogue = load_catalogue(Path(config_dir))

        def features(name: str) -> list[dict[str, Any]]:
            path = demo / name
            try:
                return json.loads(path.read_text(encoding="utf-8"))["features"]
            except FileNotFoundError:
                raise FileNotFoundError(f"{path}: demo file missing; run data/demo/generate.py")

        sensors: list[Sensor] = []
        cameras: list[Camera] = []
        for feat in features("components.geojson"):
            props = feat["properties"]
            device = props.get("device_code")
            ctype = catalogue.component_type(props["type_code"])
            if not device or ctype is None:
                continue
            lon, lat = (float(v) for v in feat["geometry"]["coordinates"][:2])
            if ctype.code == CAMERA_TYPE:
                cameras.append(Camera(props["code"], device, lon, lat,
                                      float(ctype.report_period_s or CAMERA_HEARTBEAT_S)))
            elif ctype.metrics and ctype.report_period_s:
                sensors.append(Sensor(props["code"], device, ctype.code, lon, lat,
                                      float(ctype.report_period_s), ctype.metrics))
        grids: dict[str, Polygon] = {}
        by_inspector: dict[str, list[str]] = defaultdict(list)
        for feat in features("grids.geojson"):
            props = feat["properties"]
            grids[props["code"]] = shape(feat["geometry"])
            if props.get("inspector"):
                by_inspector[props["inspector"]].append(props["code"])
        trackers = []
        raw = json.loads((demo / "trackers.json").read_text(encoding="utf-8"))
        for item in raw:
            own = tuple(sorted(by_inspector.get(item.get("username") or "", ())))
            if item["kind"] == "inspector" and not own:
                continue  # an inspector without grids has nowhere to walk
            trackers.append(Tracker(item["code"], item["kind"], item.get("username"), own))
        roads = tuple(
            Road(f["properties"]["code"], f["properties"].get("class", "branch"),
                 tuple((float(x), float(y)) for x, y in f["geometry"]["coordinates"]))
            for f in features("roads.geojson") if f["geometry"]["type"] == "LineString")
        shops = tuple(Shop(f["properties"]["code"], f["properties"].get("category", ""),
                           *(float(v) for v in f["geometry"]["coordinates"][:2]))
                      for f in features("shops.geojson"))
        districts = [shape(f["geometry"]) for f in features("regions.geojson")
                     if f["properties"].get("level") == "district"]
        city = unary_union(districts) if districts else unary_union(list(grids.values()))
        info = json.loads((demo / "city.json").read_text(encoding="utf-8"))
        center = tuple(info.get("center") or (city.centroid.x, city.centroid.y))
        events = tuple(t.detection for t in catalogue.event_types if t.detection)
        return cls(tuple(sensors), tuple(cameras), tuple(trackers), grids, roads, shops, city,
                   (float(center[0]), float(center[1])), events)


# --------------------------------------------------------------------------------------------
# Small helpers: local metric frame, seeded draws, China time
# --------------------------------------------------------------------------------------------


class _Frame:
    """A local equirectangular frame in metres around the city centre (error ≪ 0.1 % here)."""

    def __init__(self, lon0: float, lat0: float) -> None:
        phi = math.radians(lat0)
        self.lon0, self.lat0 = lon0, lat0
        self.ky = 111132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
        self.kx = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi) + 0.118 * math.cos(5 * phi)

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        return self.lon0 + x / self.kx, self.lat0 + y / self.ky

    def offset(self, lon: float, lat: float, dx: float, dy: float) -> tuple[float, float]:
        return lon + dx / self.kx, lat + dy / self.ky

    def distance(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        return math.hypot((a[0] - b[0]) * self.kx, (a[1] - b[1]) * self.ky)


def _local_hour(t: float) -> float:
    return ((t + _CST_S) % 86400.0) / 3600.0


def _local_midnight(t: float) -> float:
    return t - ((t + _CST_S) % 86400.0)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def _rank(seed: int, code: str) -> bytes:
    return hashlib.blake2b(f"{seed}|{code}".encode(), digest_size=8).digest()


def _hash_seed(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _ticks(t0: float, t1: float | None, origin: float, period: float,
           ) -> Iterator[tuple[int, float]]:
    """``(k, origin + k·period)`` for every tick in [t0, t1), k ≥ 0."""
    k = max(0, math.ceil((t0 - origin) / period))
    while origin + k * period < t0:
        k += 1
    while True:
        t = origin + k * period
        if t1 is not None and t >= t1:
            return
        yield k, t
        k += 1


# --------------------------------------------------------------------------------------------
# Snapshots: a hand-built baseline JPEG of 8×8 colour blocks (no imaging library needed)
# --------------------------------------------------------------------------------------------

_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)  # the standard luminance DC table
_DC_VALS = tuple(range(12))
_AC_BITS = (0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)  # flat blocks: only EOB is used
_AC_VALS = (0x00, 0x01)
_DC_Q = 8  # DC quantiser: a flat block of level v has DC = 8·(v − 128), so it codes as v − 128


def _huffman_codes(bits: Sequence[int], vals: Sequence[int]) -> dict[int, tuple[int, int]]:
    codes: dict[int, tuple[int, int]] = {}
    code = k = 0
    for length, count in enumerate(bits, start=1):
        for _ in range(count):
            codes[vals[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


_DC_CODES = _huffman_codes(_DC_BITS, _DC_VALS)
_EOB = _huffman_codes(_AC_BITS, _AC_VALS)[0x00]


class _BitWriter:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def write(self, value: int, length: int) -> None:
        self.acc = (self.acc << length) | (value & ((1 << length) - 1))
        self.n += length
        while self.n >= 8:
            self.n -= 8
            byte = (self.acc >> self.n) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0x00)  # byte stuffing
        self.acc &= (1 << self.n) - 1

    def flush(self) -> bytes:
        if self.n:
            self.write((1 << (8 - self.n)) - 1, 8 - self.n)  # pad with 1-bits
        return bytes(self.out)


def _segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body


def block_jpeg(blocks: Sequence[Sequence[tuple[int, int, int]]]) -> bytes:
    """A baseline JFIF JPEG whose every 8×8 block is one RGB colour (rows of blocks).

    Each block carries only its DC coefficient, so the file is a few hundred bytes and any
    decoder reads it (4:4:4 YCbCr, standard DC Huffman table, a two-code AC table for EOB).
    """
    rows, cols = len(blocks), len(blocks[0])
    if not rows or not cols or any(len(r) != cols for r in blocks):
        raise ValueError("block_jpeg: need a non-empty rectangle of colours")
    width, height = cols * 8, rows * 8
    quant = bytes([_DC_Q] + [16] * 63)
    head = b"\xff\xd8"
    head += _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    head += _segment(0xDB, b"\x00" + quant)
    head += _segment(0xC0, bytes([8]) + height.to_bytes(2, "big") + width.to_bytes(2, "big")
                     + bytes([3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]))
    head += _segment(0xC4, bytes([0x00, *_DC_BITS, *_DC_VALS, 0x10, *_AC_BITS, *_AC_VALS]))
    head += _segment(0xDA, bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]))
    bits = _BitWriter()
    pred = [0, 0, 0]
    for row in blocks:
        for r, g, b in row:
            ycc = (0.299 * r + 0.587 * g + 0.114 * b,
                   128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
                   128 + 0.5 * r - 0.418688 * g - 0.081312 * b)
            for c, level in enumerate(ycc):
                dc = round(_clamp(level, 0, 255)) - 128
                diff, pred[c] = dc - pred[c], dc
                size = abs(diff).bit_length()
                bits.write(*_DC_CODES[size])
                if size:
                    bits.write(diff if diff > 0 else diff - 1, size)
                bits.write(*_EOB)
    return head + bits.flush() + b"\xff\xd9"


SNAPSHOT_COLS, SNAPSHOT_ROWS = 20, 15  # 160 × 120 pixels
_OBJECTS: dict[str, tuple[int, int, tuple[tuple[int, int, int], ...]]] = {
    # event: (width, height in blocks, palette)
    "non_motor_parking": (6, 2, ((30, 80, 200), (240, 200, 40), (30, 30, 30), (200, 40, 40))),
    "street_vending": (3, 2, ((140, 90, 40), (240, 120, 30), (60, 170, 60), (230, 60, 60))),
    "umbrella": (4, 3, ((210, 40, 40), (240, 240, 240), (40, 40, 40))),
    "out_of_store": (5, 2, ((245, 245, 245), (200, 40, 40), (60, 60, 200))),
    "garbage_overflow": (3, 2, ((40, 130, 60), (120, 80, 40), (60, 60, 60))),
    "garbage_exposed": (3, 1, ((120, 80, 40), (40, 40, 40), (200, 200, 180))),
    "piled_materials": (4, 2, ((150, 150, 150), (170, 120, 70), (200, 180, 140))),
}


def _snapshot(rng: random.Random, event: str, scene: int, column: int) -> tuple[bytes, list[int]]:
    """A small street scene with the violation drawn at ``column``; returns JPEG and bbox."""
    look = random.Random(scene)
    facade = (look.randrange(150, 230), look.randrange(140, 210), look.randrange(120, 200))
    sign = look.choice(((200, 30, 30), (230, 180, 20), (30, 90, 180), (20, 140, 80)))
    width, height, palette = _OBJECTS.get(event, (3, 2, ((120, 120, 120),)))
    top = 9 - height if event != "umbrella" else 6
    blocks: list[list[tuple[int, int, int]]] = []
    for by in range(SNAPSHOT_ROWS):
        row = []
        for bx in range(SNAPSHOT_COLS):
            if by < 5:
                colour = (90, 110, 140) if (by % 2 and bx % 3 == 1) else facade
            elif by == 5:
                colour = sign
            elif by < 10:
                colour = (175, 170, 160)
            elif by == 12 and bx % 4 < 2:
                colour = (235, 235, 235)
            else:
                colour = (85, 85, 90)
            noise = rng.randint(-5, 5)
            row.append(tuple(int(_clamp(v + noise, 0, 255)) for v in colour))
        blocks.append(row)
    left = min(column, SNAPSHOT_COLS - width)
    for by in range(top, top + height):
        for bx in range(left, left + width):
            if event == "umbrella" and by > top:  # a striped canopy on a pole
                if bx == left + width // 2:
                    blocks[by][bx] = palette[-1]
            elif event == "umbrella":
                blocks[by][bx] = palette[(bx - left) % 2]
            else:
                blocks[by][bx] = rng.choice(palette)
    return block_jpeg(blocks), [left * 8, top * 8, width * 8, height * 8]


# --------------------------------------------------------------------------------------------
# Detection hot spots and time-of-day patterns
# --------------------------------------------------------------------------------------------

# Relative frequency by local hour 0..23 (1.0 = the event's busiest hour).
_PROFILE: dict[str, tuple[float, ...]] = {
    "street_vending": (0.1, 0.05, 0.02, 0.02, 0.02, 0.05, 0.4, 0.5, 0.4, 0.2, 0.2, 0.4,
                       0.4, 0.3, 0.2, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 0.9, 0.6, 0.3),
    "umbrella": (0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0,
                 1.0, 1.0, 0.9, 0.8, 0.7, 0.7, 0.6, 0.5, 0.4, 0.2, 0.1, 0.05),
    "non_motor_parking": (0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.4, 1.0, 1.0, 0.6, 0.4, 0.4,
                          0.6, 0.5, 0.4, 0.4, 0.5, 0.9, 1.0, 0.8, 0.5, 0.3, 0.2, 0.1),
    "out_of_store": (0.2, 0.1, 0.05, 0.05, 0.05, 0.05, 0.2, 0.3, 0.3, 0.4, 0.6, 0.8,
                     0.8, 0.6, 0.4, 0.4, 0.5, 0.8, 1.0, 1.0, 1.0, 0.9, 0.7, 0.4),
    "garbage_overflow": (0.5, 0.4, 0.3, 0.3, 0.3, 0.4, 0.4, 0.4, 0.4, 0.3, 0.3, 0.4,
                         0.6, 0.6, 0.5, 0.3, 0.3, 0.4, 0.6, 0.8, 1.0, 1.0, 0.9, 0.7),
    "garbage_exposed": (0.4, 0.3, 0.3, 0.3, 0.3, 0.4, 0.5, 0.5, 0.4, 0.3, 0.3, 0.4,
                        0.5, 0.5, 0.4, 0.3, 0.3, 0.4, 0.6, 0.8, 1.0, 0.9, 0.7, 0.5),
    "piled_materials": (0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.1, 0.4, 0.8, 1.0, 1.0, 0.9,
                        0.7, 0.9, 1.0, 1.0, 0.9, 0.6, 0.3, 0.1, 0.05, 0.05, 0.05, 0.05),
}
# What tends to happen in front of a shop of each category (门前三包 problems).
_SPOT_EVENTS: dict[str, tuple[tuple[str, float], ...]] = {
    "餐饮": (("out_of_store", 0.5), ("umbrella", 0.2), ("garbage_overflow", 0.2),
           ("garbage_exposed", 0.1)),
    "零售": (("out_of_store", 0.4), ("street_vending", 0.4), ("umbrella", 0.2)),
    "服务": (("non_motor_parking", 0.6), ("out_of_store", 0.2), ("street_vending", 0.2)),
    "医药": (("non_motor_parking", 0.8), ("street_vending", 0.2)),
    "汽修": (("out_of_store", 0.5), ("piled_materials", 0.5)),
    "建材": (("piled_materials", 0.7), ("out_of_store", 0.3)),
    "住宿": (("non_motor_parking", 0.6), ("garbage_overflow", 0.4)),
}
_JUNCTION_EVENTS = (("non_motor_parking", 0.7), ("street_vending", 0.3))
_BACKGROUND_EVENTS = (("non_motor_parking", 0.3), ("street_vending", 0.15), ("umbrella", 0.1),
                      ("out_of_store", 0.15), ("garbage_overflow", 0.1),
                      ("garbage_exposed", 0.1), ("piled_materials", 0.1))
HOT_CAMERAS = 30  # cameras with the most shop fronts in view get hot spots
HOT_RADIUS_M = 50.0  # a hot spot is a shop front at most this far from its camera
SPOT_PEAK_PER_H = 0.8  # violation episodes per hour at a hot spot in its busiest hour
BACKGROUND_PER_H = 0.12  # episodes per hour anywhere else in a camera's view
_SLOT_S = 600.0  # detection episodes are drawn per 10-minute slot
_EPISODE_S = (8 * 60.0, 45 * 60.0)  # how long a violation stays (hot spot)
_BACKGROUND_EPISODE_S = (3 * 60.0, 15 * 60.0)
_REDETECT_S = (120.0, 360.0)  # a camera re-detects a standing violation this often
_MISS = 0.15  # chance a re-detection is missed


@dataclass(frozen=True)
class HotSpot:
    """A place where violations keep happening: a shop front near a camera junction."""

    camera: str  # camera device code
    lon: float
    lat: float
    events: tuple[tuple[str, float], ...]  # (event, weight)
    shop_code: str | None = None


def find_hot_spots(fleet: DemoFleet, *, cameras: int = HOT_CAMERAS,
                   radius_m: float = HOT_RADIUS_M) -> tuple[HotSpot, ...]:
    """The few dozen hot spots: the two nearest shop fronts of the cameras that see most shops.

    Data-driven and seed-independent, so the same market corner is hot in every run.
    """
    frame = _Frame(*fleet.center)
    cell = radius_m
    buckets: dict[tuple[int, int], list[Shop]] = defaultdict(list)
    for shop in fleet.shops:
        x, y = frame.xy(shop.lon, shop.lat)
        buckets[(int(x // cell), int(y // cell))].append(shop)
    near: list[tuple[int, str, Camera, list[tuple[float, Shop]]]] = []
    for cam in fleet.cameras:
        x, y = frame.xy(cam.lon, cam.lat)
        cx, cy = int(x // cell), int(y // cell)
        found = []
        for i in (-1, 0, 1):
            for j in (-1, 0, 1):
                for shop in buckets.get((cx + i, cy + j), ()):
                    d = frame.distance((cam.lon, cam.lat), (shop.lon, shop.lat))
                    if 5.0 < d <= radius_m:
                        found.append((d, shop))
        if found:
            found.sort(key=lambda item: (item[0], item[1].code))
            near.append((-len(found), cam.device_code, cam, found))
    near.sort(key=itemgetter(0, 1))
    spots: list[HotSpot] = []
    for _, _, cam, found in near[:cameras]:
        for d, shop in found[:2]:
            # the pavement in front of the door, 3 m towards the junction
            lon = shop.lon + (cam.lon - shop.lon) * 3.0 / d
            lat = shop.lat + (cam.lat - shop.lat) * 3.0 / d
            events = _SPOT_EVENTS.get(shop.category, _JUNCTION_EVENTS)
            spots.append(HotSpot(cam.device_code, lon, lat, events, shop.code))
    return tuple(spots)


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------

FAULT_KINDS = ("cover_tilt", "light_dark", "camera_offline", "bin_overflow", "device_silent")
_NIGHT_FROM_H = 19.0  # a "dark at night" fault is moved into 19:00–06:00 China time
_NIGHT_LENGTH_S = 11 * 3600.0


@dataclass(frozen=True)
class Fault:
    """One injected fault ``after_s`` seconds after the simulation starts, for ``duration_s``.

    ``device`` is a device or component code; ``None`` lets the model pick one (seeded).
    A ``light_dark`` fault that would start by day starts at the next 19:00 China time.
    """

    kind: str
    after_s: float
    duration_s: float
    device: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {self.kind!r} unknown: use one of "
                             f"{', '.join(FAULT_KINDS)}")
        if self.after_s < 0 or self.duration_s <= 0:
            raise ValueError(f"fault {self.kind}: after_s must be ≥ 0 and duration_s > 0")


DEFAULT_FAULTS = (
    Fault("cover_tilt", 60.0, 25 * 60.0),
    Fault("camera_offline", 120.0, 15 * 60.0),
    Fault("bin_overflow", 180.0, 40 * 60.0),
    Fault("light_dark", 240.0, 30 * 60.0),
    Fault("device_silent", 300.0, 60 * 60.0),  # a street light: six 10-minute periods
)


@dataclass(frozen=True)
class FaultPlan:
    """What goes wrong, and when (offsets from the simulation start).

    ``rain``: showers as ``(after_s, duration_s)``; water rises under manhole covers and the
    wind picks up. ``repeat_every_s``: the faults happen again every so often on other devices
    (``None``: once).
    """

    faults: tuple[Fault, ...] = DEFAULT_FAULTS
    rain: tuple[tuple[float, float], ...] = ((600.0, 90 * 60.0),)
    repeat_every_s: float | None = 2 * 3600.0

    def __post_init__(self) -> None:
        if self.repeat_every_s is not None and self.repeat_every_s <= 0:
            raise ValueError("repeat_every_s must be positive (or None for once)")

    @classmethod
    def quiet(cls) -> FaultPlan:
        """No faults and no rain: a healthy city."""
        return cls(faults=(), rain=(), repeat_every_s=None)


@dataclass(frozen=True)
class FaultWindow:
    """A fault as it happens: which device, from when until when."""

    kind: str
    device: str  # device code
    component: str | None  # the component the device sits on
    begin: datetime
    end: datetime


@dataclass(frozen=True)
class _Occurrence:
    kind: str
    device: str
    begin: float
    end: float
    repetition: int
    key: str  # seeds this occurrence's values
    level: float  # the fault's own value (tilt, fill) drawn once per occurrence


class _FaultSchedule:
    """Materialises fault occurrences lazily, one repetition at a time, in a seeded way."""

    def __init__(self, plan: FaultPlan, t_start: float, seed: int,
                 pools: Mapping[str, Sequence[str]], resolve: Callable[[str], str | None],
                 ) -> None:
        self.plan, self.t_start, self.seed = plan, t_start, seed
        self.pools, self.resolve = pools, resolve
        self.by_device: dict[str, list[_Occurrence]] = defaultdict(list)
        self.occurrences: list[_Occurrence] = []
        self.repetitions = 0
        self._lock = threading.Lock()
        for fault in plan.faults:
            if fault.device is not None and resolve(fault.device) is None:
                raise ValueError(f"fault {fault.kind}: device {fault.device!r} is not in the "
                                 "simulated fleet")

    def _base(self, r: int) -> float:
        return self.t_start + r * (self.plan.repeat_every_s or 0.0)

    def _more(self) -> bool:
        return self.plan.repeat_every_s is not None or self.repetitions == 0

    def ensure(self, t: float) -> None:
        """Every occurrence whose nominal start is ≤ t is known (actual starts are ≥ nominal)."""
        if not self.plan.faults:
            return
        with self._lock:
            while self._more() and self._base(self.repetitions) <= t:
                self._materialise(self.repetitions)
                self.repetitions += 1

    def _materialise(self, r: int) -> None:
        rng = random.Random(f"{self.seed}|faults|{r}")
        taken: set[str] = set()
        for i, fault in enumerate(self.plan.faults):
            pool = self.pools.get(fault.kind, ())
            if fault.device is not None:
                device = self.resolve(fault.device)
            elif pool:
                device = rng.choice(pool)
                while device in taken and len(taken) < len(pool):
                    device = rng.choice(pool)
            else:
                continue
            assert device is not None
            taken.add(device)
            begin = self._base(r) + fault.after_s
            if fault.kind == "light_dark":
                begin = _next_night(begin, fault.duration_s, rng)
            level = rng.uniform(20.0, 35.0) if fault.kind == "cover_tilt" else rng.random()
            occ = _Occurrence(fault.kind, device, begin, begin + fault.duration_s, r,
                              f"{self.seed}|fault|{r}|{i}", level)
            self.occurrences.append(occ)
            self.by_device[device].append(occ)

    def active(self, device: str, t: float) -> _Occurrence | None:
        self.ensure(t)
        for occ in self.by_device.get(device, ()):
            if occ.begin <= t < occ.end:
                return occ
        return None

    def last_end(self, device: str, kind: str, t: float) -> float | None:
        self.ensure(t)
        ends = [o.end for o in self.by_device.get(device, ()) if o.kind == kind and o.end <= t]
        return max(ends) if ends else None

    def repetition_base(self, r: int) -> float | None:
        if not self.plan.faults or (self.plan.repeat_every_s is None and r > 0):
            return None
        return self._base(r)


def _next_night(t: float, duration: float, rng: random.Random) -> float:
    """``t`` if a lamp dark from ``t`` for ``duration`` is dark only at night (19:00–06:00 China
    time), else a moment in the next 19:00–19:20."""
    into_night = (_local_hour(t) - _NIGHT_FROM_H) % 24.0
    if into_night * 3600.0 + duration <= _NIGHT_LENGTH_S:
        return t
    evening = _local_midnight(t) + _NIGHT_FROM_H * 3600.0
    if evening < t:
        evening += 86400.0
    return evening + rng.uniform(0.0, 20 * 60.0)


# --------------------------------------------------------------------------------------------
# Movement: inspectors on foot inside their grids, vehicles along the roads
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Leg:
    t0: float
    t1: float
    x0: float
    y0: float
    x1: float
    y1: float
    heading: float


class _Walker:
    """Position as a function of time along legs drawn lazily from a seeded planner.

    The planner yields ``("go", x, y, metres_per_second)`` or ``("wait", seconds)`` after a first
    ``("at", x, y)``. Old legs are dropped; asking for an earlier time replays the plan.
    """

    def __init__(self, plan: Callable[[], Iterator[tuple]], t_start: float) -> None:
        self._plan, self._t_start = plan, t_start
        self._reset()

    def _reset(self) -> None:
        self._steps = self._plan()
        first = next(self._steps)
        self._x, self._y = first[1], first[2]
        self._t = self._t_start
        self._heading = 0.0
        self._legs: list[_Leg] = []
        self._starts: list[float] = []

    def _extend(self) -> None:
        step = next(self._steps)
        if step[0] == "wait":
            leg = _Leg(self._t, self._t + step[1], self._x, self._y, self._x, self._y,
                       self._heading)
        else:
            _, x, y, speed = step
            dist = math.hypot(x - self._x, y - self._y)
            if dist < 1e-6:
                return
            heading = math.degrees(math.atan2(x - self._x, y - self._y)) % 360.0
            leg = _Leg(self._t, self._t + dist / speed, self._x, self._y, x, y, heading)
            self._x, self._y, self._heading = x, y, heading
        self._t = leg.t1
        self._legs.append(leg)
        self._starts.append(leg.t0)

    def at(self, t: float) -> tuple[float, float, float, float]:
        """``(x, y, speed m/s, heading °)`` at time ``t``."""
        if t < self._t_start:
            t = self._t_start
        if self._legs and t < self._legs[0].t0:
            self._reset()
        while not self._legs or self._legs[-1].t1 <= t:
            self._extend()
        if len(self._legs) > 4000:  # keep memory flat on long runs
            cut = bisect.bisect_right(self._starts, t - 3600.0)
            if cut > 0:
                del self._legs[:cut]
                del self._starts[:cut]
        leg = self._legs[bisect.bisect_right(self._starts, t) - 1]
        span = leg.t1 - leg.t0
        f = (t - leg.t0) / span if span > 0 else 0.0
        moving = leg.x0 != leg.x1 or leg.y0 != leg.y1
        speed = math.hypot(leg.x1 - leg.x0, leg.y1 - leg.y0) / span if moving else 0.0
        return leg.x0 + (leg.x1 - leg.x0) * f, leg.y0 + (leg.y1 - leg.y0) * f, speed, leg.heading


def _point_in_convex(rng: random.Random, ring: Sequence[tuple[float, float]],
                     ) -> tuple[float, float]:
    """A uniform random point in a convex polygon (fan triangulation), kept off the edges."""
    pts = list(ring[:-1]) if ring[0] == ring[-1] else list(ring)
    tris = [(pts[0], pts[i], pts[i + 1]) for i in range(1, len(pts) - 1)]
    areas = [abs((b[0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (b[1] - a[1])) / 2
             for a, b, c in tris]
    a, b, c = rng.choices(tris, weights=areas)[0]
    u, v = rng.random(), rng.random()
    if u + v > 1:
        u, v = 1 - u, 1 - v
    x = a[0] + u * (b[0] - a[0]) + v * (c[0] - a[0])
    y = a[1] + u * (b[1] - a[1]) + v * (c[1] - a[1])
    cx = sum(p[0] for p in pts) / len(pts)
    cy = sum(p[1] for p in pts) / len(pts)
    return cx + (x - cx) * 0.9, cy + (y - cy) * 0.9  # convex: shrinking towards the centre stays in


def _inspector_plan(rng: random.Random, rings: Mapping[str, list[tuple[float, float]]],
                    neighbours: Mapping[str, list[tuple[str, tuple[float, float],
                                                        tuple[float, float]]]],
                    ) -> Callable[[], Iterator[tuple]]:
    codes = sorted(rings)
    seed = rng.getrandbits(64)

    def plan() -> Iterator[tuple]:
        walk = random.Random(seed)
        grid = walk.choice(codes)
        yield ("at", *_point_in_convex(walk, rings[grid]))
        while True:
            speed = walk.uniform(3.0, 5.0) / 3.6
            roll = walk.random()
            if roll < 0.2:
                yield ("wait", walk.uniform(60.0, 300.0))  # checking something, a word with a shop
            elif roll < 0.45 or not neighbours.get(grid):
                yield ("go", *_point_in_convex(walk, rings[grid]), speed)
            else:
                nxt, a, b = walk.choice(neighbours[grid])
                f = walk.uniform(0.2, 0.8)  # cross the shared edge, not at a corner
                yield ("go", a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, speed)
                grid = nxt
                yield ("go", *_point_in_convex(walk, rings[grid]), speed)

    return plan


_VEHICLE_KMH = {"main": (25.0, 40.0), "secondary": (20.0, 35.0), "branch": (15.0, 25.0)}


def _vehicle_plan(rng: random.Random, nodes: Sequence[tuple[float, float]],
                  edges: Mapping[int, list[tuple[int, str, str]]],
                  ) -> Callable[[], Iterator[tuple]]:
    starts = sorted(edges)
    seed = rng.getrandbits(64)

    def plan() -> Iterator[tuple]:
        drive = random.Random(seed)
        here = drive.choice(starts)
        yield ("at", *nodes[here])
        came_from, road = -1, ""
        while True:
            options = [e for e in edges[here] if e[0] != came_from] or edges[here]
            ahead = [e for e in options if e[1] == road]
            nxt, road, road_class = (drive.choice(ahead) if ahead and drive.random() < 0.7
                                     else drive.choice(options))
            low, high = _VEHICLE_KMH.get(road_class, _VEHICLE_KMH["branch"])
            yield ("go", *nodes[nxt], drive.uniform(low, high) / 3.6)
            came_from, here = here, nxt
            if drive.random() < 0.03:
                yield ("wait", drive.uniform(120.0, 600.0))  # officers out of the car

    return plan


def _road_graph(fleet: DemoFleet, frame: _Frame,
                ) -> tuple[list[tuple[float, float]], dict[int, list[tuple[int, str, str]]]]:
    """Road vertices as nodes, segments as edges; segments on the city's edge are left out."""
    boundary = fleet.city.exterior
    index: dict[tuple[float, float], int] = {}
    nodes: list[tuple[float, float]] = []
    near_edge: dict[tuple[float, float], bool] = {}
    edges: dict[int, list[tuple[int, str, str]]] = defaultdict(list)

    def node(p: tuple[float, float]) -> int:
        if p not in index:
            index[p] = len(nodes)
            nodes.append(frame.xy(*p))
            lon, lat = p
            near_edge[p] = (not fleet.city.contains(Point(lon, lat))
                            or boundary.distance(Point(lon, lat)) * frame.ky < 10.0)
        return index[p]

    for road in fleet.roads:
        for a, b in itertools.pairwise(road.coords):
            i, j = node(a), node(b)
            if i == j or near_edge[a] or near_edge[b]:
                continue
            edges[i].append((j, road.code, road.road_class))
            edges[j].append((i, road.code, road.road_class))
    # keep the largest connected part so no vehicle is stranded
    seen: set[int] = set()
    best: set[int] = set()
    for start in sorted(edges):
        if start in seen:
            continue
        part, stack = {start}, [start]
        while stack:
            for nxt, _, _ in edges[stack.pop()]:
                if nxt not in part:
                    part.add(nxt)
                    stack.append(nxt)
        seen |= part
        if len(part) > len(best):
            best = part
    return nodes, {i: e for i, e in edges.items() if i in best}


# --------------------------------------------------------------------------------------------
# The traffic model
# --------------------------------------------------------------------------------------------

_INSPECTOR_FIX_S = (10.0, 15.0, 20.0, 30.0)
_VEHICLE_FIX_S = (10.0, 15.0)
_BIN_COLLECT_H = (6.0, 13.0, 20.0)  # sanitation rounds (plus up to 50 min per bin)
_BIN_USE = (0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.5, 1.2, 1.2, 0.9, 0.9, 1.4,
            1.4, 1.4, 0.8, 0.8, 0.8, 1.3, 1.3, 1.3, 1.3, 0.7, 0.7, 0.3)  # litter by hour
_RAIN_TAU_S = 2 * 3600.0


class TrafficModel:
    """The demo city's MQTT traffic as a deterministic, time-ordered stream.

    ``rate`` (messages per second, optional) scales the traffic: above the city's natural rate
    every schedule is compressed (devices report, trackers fix and violations appear that much
    more often); below it a seeded subset of every kind of device is simulated on its real
    schedule (faults are injected on simulated devices only). Timestamps always follow the
    simulated clock, which starts at ``start``; nothing is produced before it.
    """

    def __init__(self, fleet: DemoFleet, *, rate: float | None = None, seed: int = 1,
                 start: datetime, faults: FaultPlan | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("start must carry a UTC offset, e.g. datetime.now(CST)")
        if rate is not None and not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive number of messages per second, not {rate}")
        self.fleet, self.seed, self.start = fleet, seed, start
        self.plan = faults if faults is not None else FaultPlan()
        self._t0 = start.timestamp()
        self._frame = _Frame(*fleet.center)
        self.hot_spots = find_hot_spots(fleet)
        self._spots_by_camera: dict[str, list[HotSpot]] = defaultdict(list)
        for spot in self.hot_spots:
            self._spots_by_camera[spot.camera].append(spot)
        self._events = set(fleet.detection_events)
        self._inspector_walks = self._inspector_geometry()
        self._road_nodes, self._road_edges = _road_graph(fleet, self._frame)

        self.natural_rate = self._rate_of(fleet.sensors, fleet.cameras, fleet.trackers, 1.0)
        self.scale = 1.0 if rate is None else rate / self.natural_rate
        self.time_scale = max(1.0, self.scale)
        if self.scale < 1.0:
            self.sensors = self._thin(fleet.sensors, lambda s: s.family, lambda s: s.device_code)
            hot = set(self._spots_by_camera)
            self.cameras = self._thin(fleet.cameras, lambda c: "camera", lambda c: c.device_code,
                                      first=lambda c: c.device_code not in hot)
            self.trackers = self._thin(fleet.trackers, lambda t: t.kind, lambda t: t.code)
        else:
            self.sensors, self.cameras, self.trackers = (fleet.sensors, fleet.cameras,
                                                         fleet.trackers)
        self.expected_rate = self._rate_of(self.sensors, self.cameras, self.trackers,
                                           self.time_scale)
        self._walkers: dict[str, _Walker] = {}

        by_code: dict[str, str] = {}
        for s in fleet.sensors:
            by_code[s.device_code] = by_code[s.component_code] = s.device_code
        for c in fleet.cameras:
            by_code[c.device_code] = by_code[c.component_code] = c.device_code
        self._component_of = {s.device_code: s.component_code for s in fleet.sensors}
        self._component_of.update({c.device_code: c.component_code for c in fleet.cameras})
        fam = defaultdict(list)
        for s in self.sensors:
            fam[s.family].append(s.device_code)
        pools = {"cover_tilt": fam["cover"], "light_dark": fam["light"],
                 "bin_overflow": fam["bin"], "device_silent": fam["light"],
                 "camera_offline": [c.device_code for c in self.cameras]}
        self._faults = _FaultSchedule(self.plan, self._t0, seed, pools, by_code.get)
        self._rain = tuple((self._t0 + a, self._t0 + a + d) for a, d in self.plan.rain)

    # -- composition ---------------------------------------------------------------------------

    def _thin(self, items: Sequence[Any], group: Callable[[Any], str], code: Callable[[Any], str],
              first: Callable[[Any], bool] | None = None) -> tuple[Any, ...]:
        groups: dict[str, list[Any]] = defaultdict(list)
        for item in items:
            groups[group(item)].append(item)
        keep: set[str] = set()
        for members in groups.values():
            members = sorted(members, key=lambda m: ((first(m) if first else False),
                                                     _rank(self.seed, code(m))))
            keep.update(code(m) for m in members[:max(1, round(self.scale * len(members)))])
        return tuple(item for item in items if code(item) in keep)

    def _rate_of(self, sensors: Sequence[Sensor], cameras: Sequence[Camera],
                 trackers: Sequence[Tracker], time_scale: float) -> float:
        per_s = sum(1.0 / s.period_s for s in sensors) + sum(1.0 / c.period_s for c in cameras)
        for tr in trackers:
            fixes = _INSPECTOR_FIX_S if tr.kind == "inspector" else _VEHICLE_FIX_S
            per_s += sum(1.0 / f for f in fixes) / len(fixes)
        per_s += self._detection_rate(cameras)
        return per_s * time_scale

    def _detection_rate(self, cameras: Sequence[Camera]) -> float:
        """Expected detections per second averaged over a day (an estimate for rate scaling)."""
        looks = 1.0 + sum(_EPISODE_S) / 2 * math.log(_REDETECT_S[1] / _REDETECT_S[0]) / (
            _REDETECT_S[1] - _REDETECT_S[0]) * (1 - _MISS)
        looks_bg = 1.0 + sum(_BACKGROUND_EPISODE_S) / 2 * math.log(
            _REDETECT_S[1] / _REDETECT_S[0]) / (_REDETECT_S[1] - _REDETECT_S[0]) * (1 - _MISS)
        mean = {e: sum(p) / 24 for e, p in _PROFILE.items()}
        per_h = 0.0
        for cam in cameras:
            for spot in self._spots_by_camera.get(cam.device_code, ()):
                per_h += sum(SPOT_PEAK_PER_H * w * mean.get(e, 0.0) for e, w in spot.events
                             if e in self._events) * looks
            per_h += sum(BACKGROUND_PER_H * w * mean.get(e, 0.0) for e, w in _BACKGROUND_EVENTS
                         if e in self._events) * looks_bg
        return per_h / 3600.0

    def _inspector_geometry(self) -> dict[str, tuple[dict, dict]]:
        out: dict[str, tuple[dict, dict]] = {}
        for tr in self.fleet.trackers:
            if tr.kind != "inspector":
                continue
            rings = {g: [self._frame.xy(x, y) for x, y in self.fleet.grids[g].exterior.coords]
                     for g in tr.grids if g in self.fleet.grids}
            edges: dict[tuple, list[str]] = defaultdict(list)
            for g in rings:
                coords = list(self.fleet.grids[g].exterior.coords)
                for a, b in itertools.pairwise(coords):
                    edges[tuple(sorted((a, b)))].append(g)
            neighbours: dict[str, list] = defaultdict(list)
            for (a, b), owners in sorted(edges.items()):
                if len(owners) == 2:
                    p, q = self._frame.xy(*a), self._frame.xy(*b)
                    neighbours[owners[0]].append((owners[1], p, q))
                    neighbours[owners[1]].append((owners[0], p, q))
            out[tr.code] = (rings, dict(neighbours))
        return out

    def describe(self) -> str:
        kinds = Counter(s.family for s in self.sensors)
        devices = ", ".join(f"{n:,} {k}" for k, n in sorted(kinds.items()))
        return (f"{len(self.sensors):,} sensors ({devices}), {len(self.cameras)} cameras with "
                f"{len(self.hot_spots)} hot spots, {len(self.trackers)} trackers; about "
                f"{self.expected_rate:.1f} msg/s (the city's natural rate is "
                f"{self.natural_rate:.1f} msg/s)")

    def fault_windows(self, until: datetime) -> list[FaultWindow]:
        """The faults that begin before ``until``, in order of their start."""
        t = until.timestamp()
        self._faults.ensure(t)
        return [FaultWindow(o.kind, o.device, self._component_of.get(o.device),
                            datetime.fromtimestamp(o.begin, CST),
                            datetime.fromtimestamp(o.end, CST))
                for o in sorted(self._faults.occurrences, key=lambda o: (o.begin, o.device))
                if o.begin < t]

    def messages(self) -> Iterator[SimMessage]:
        """Every message from ``start`` on, forever."""
        return self.messages_between(self.start, None)

    def messages_between(self, t0: datetime, t1: datetime | None) -> Iterator[SimMessage]:
        """Messages with ``t0 ≤ at < t1`` (``t1=None``: without end), in time order."""
        a = max(t0.timestamp(), self._t0)
        b = None if t1 is None else t1.timestamp()
        if b is not None and b <= a:
            return
        streams: list[Iterator[tuple[float, SimMessage]]] = [self._fault_events(a, b)]
        streams += [self._readings(s, a, b) for s in self.sensors]
        streams += [self._heartbeats(c, a, b) for c in self.cameras]
        streams += [self._detections(c, a, b) for c in self.cameras]
        streams += [self._positions(tr, a, b) for tr in self.trackers]
        for _, msg in heapq.merge(*streams, key=itemgetter(0)):
            yield msg

    # -- readings ------------------------------------------------------------------------------

    def _phase(self, code: str, period: float) -> float:
        return random.Random(f"{self.seed}|phase|{code}").uniform(0.0, period)

    def _readings(self, s: Sensor, a: float, b: float | None,
                  ) -> Iterator[tuple[float, SimMessage]]:
        period = s.period_s / self.time_scale
        for k, t in _ticks(a, b, self._t0 + self._phase(s.device_code, period), period):
            occ = self._faults.active(s.device_code, t)
            if occ is not None and occ.kind == "device_silent":
                continue
            yield t, self._reading(s, t, random.Random(f"{self.seed}|r|{s.device_code}|{k}"),
                                   occ)

    def _reading(self, s: Sensor, t: float, rng: random.Random, occ: _Occurrence | None,
                 ) -> SimMessage:
        """One reading; ``traits`` draws the device's own constants in a fixed order."""
        traits = random.Random(f"{self.seed}|traits|{s.device_code}")
        family = s.family
        if family == "light":
            metrics = self._light(t, rng, traits, occ)
        elif family == "cover":
            metrics = self._cover(s, t, rng, traits, occ)
        elif family == "bin":
            metrics = self._bin(s, t, rng, traits, occ)
        elif family == "signboard":
            metrics = self._signboard(t, rng, traits)
        elif family == "hydrant":
            metrics = self._hydrant(t, rng, traits)
        elif family == "waterlog":
            metrics = {"water_level_cm": self._water(t, rng, traits, storm=True)}
        else:
            metrics = {}
        specs = {m.name: m for m in s.metrics}
        clean: dict[str, float | bool] = {}
        for name, spec in specs.items():
            value = metrics.get(name)
            if spec.type == "bool":
                clean[name] = bool(value) if value is not None else False
                continue
            if value is None:
                low = spec.min if spec.min is not None else 0.0
                span = (spec.max - low) if spec.max is not None else 1.0
                value = low + rng.uniform(0.0, 0.05) * span
            low = spec.min if spec.min is not None else -math.inf
            high = spec.max if spec.max is not None else math.inf
            clean[name] = round(_clamp(float(value), low, high), 3)
        payload: dict[str, Any] = {"msg_id": _msg_id(rng), "ts": _ts(t), "metrics": clean}
        if family in _BATTERY:
            days = (t - self._t0) / 86400.0
            volts = traits.uniform(3.45, 3.65) - traits.uniform(0.003, 0.012) * days
            payload["battery"] = round(_clamp(volts + rng.gauss(0.0, 0.004), 3.0, 3.7), 3)
        return _message("readings", s.component_code, t, payload)

    def _light(self, t: float, rng: random.Random, traits: random.Random,
               occ: _Occurrence | None) -> dict[str, float | bool]:
        on_h = 18.5 + traits.uniform(-0.2, 0.2)
        off_h = 6.5 + traits.uniform(-0.2, 0.2)
        amps = traits.uniform(0.4, 0.9)
        hour = _local_hour(t)
        night = hour >= on_h or hour < off_h
        if occ is not None and occ.kind == "light_dark":
            return {"lamp_on": False, "current_a": 0.0,
                    "voltage_v": round(rng.gauss(221.0, 2.0), 1)}
        if night:
            return {"lamp_on": True, "current_a": round(amps * (1 + rng.gauss(0.0, 0.02)), 2),
                    "voltage_v": round(rng.gauss(218.0, 2.5), 1)}
        return {"lamp_on": False, "current_a": round(rng.uniform(0.0, 0.02), 2),
                "voltage_v": round(rng.gauss(225.0, 2.0), 1)}

    def _water(self, t: float, rng: random.Random, traits: random.Random, *, storm: bool,
               ) -> float:
        base = traits.uniform(0.0, 5.0)
        peak = traits.uniform(15.0, 45.0) if storm else traits.uniform(3.0, 10.0)
        rise = 0.0
        for begin, end in self._rain:
            if t < begin:
                continue
            if t < end:
                rise += peak * (t - begin) / (end - begin)
            else:
                rise += peak * math.exp(-(t - end) / _RAIN_TAU_S)
        return round(max(0.0, base + rise + rng.gauss(0.0, 0.4)), 1)

    def _cover(self, s: Sensor, t: float, rng: random.Random, traits: random.Random,
               occ: _Occurrence | None) -> dict[str, float | bool]:
        tilt = traits.uniform(0.2, 1.5)
        shift = traits.uniform(0.2, 2.0)
        water = self._water(t, rng, traits, storm=s.type_code == "0103")
        if occ is not None and occ.kind == "cover_tilt":
            return {"tilt_deg": round(occ.level + rng.gauss(0.0, 0.5), 1),
                    "displacement_mm": round(25.0 + occ.level * 1.2 + rng.uniform(0.0, 3.0), 1),
                    "water_level_cm": water}
        return {"tilt_deg": round(_clamp(tilt + rng.gauss(0.0, 0.15), 0.0, 2.0), 1),
                "displacement_mm": round(_clamp(shift + rng.gauss(0.0, 0.2), 0.0, 3.0), 1),
                "water_level_cm": water}

    def _bin(self, s: Sensor, t: float, rng: random.Random, traits: random.Random,
             occ: _Occurrence | None) -> dict[str, float | bool]:
        if occ is not None and occ.kind == "bin_overflow":
            grown = (t - occ.begin) / (occ.end - occ.begin)
            return {"fill_pct": round(_clamp(95.5 + 4.0 * grown + rng.uniform(0, 0.5), 95, 100),
                                      1)}
        offsets = [traits.uniform(0.0, 50 / 60) for _ in _BIN_COLLECT_H]
        speed = traits.uniform(4.0, 10.0)  # % per hour of average use
        after = traits.uniform(1.0, 5.0)
        midnight = _local_midnight(t)
        last = max(midnight + d * 86400 + (h + o) * 3600
                   for d in (-1, 0) for h, o in zip(_BIN_COLLECT_H, offsets, strict=True)
                   if midnight + d * 86400 + (h + o) * 3600 <= t)
        emptied = self._faults.last_end(s.device_code, "bin_overflow", t)
        if emptied is not None and emptied > last:
            last = emptied
        used, u = 0.0, last
        while u < t:
            step = min(t, math.floor(u / 3600.0 + 1e-9) * 3600.0 + 3600.0) - u
            used += _BIN_USE[int(_local_hour(u)) % 24] * step / 3600.0
            u += step
        fill = after + speed * used + rng.gauss(0.0, 1.0)
        return {"fill_pct": round(_clamp(fill, 0.0, 90.0), 1)}

    def _wind(self, t: float) -> float:
        slot = math.floor(t / 600.0)
        gust = random.Random(f"{self.seed}|wind|{slot}").uniform(0.0, 2.0)
        hour = _local_hour(t)
        wind = 2.0 + 1.5 * math.sin(math.pi * (hour - 8.0) / 12.0) + gust
        if any(begin <= t < end for begin, end in self._rain):
            wind += 2.5
        return max(0.0, wind)

    def _signboard(self, t: float, rng: random.Random, traits: random.Random,
                   ) -> dict[str, float | bool]:
        tilt = traits.uniform(0.3, 2.5)
        exposure = traits.uniform(0.6, 1.3)
        wind = _clamp(self._wind(t) * exposure + rng.gauss(0.0, 0.3), 0.0, 8.0)
        return {"tilt_deg": round(max(0.0, tilt + 0.04 * wind + rng.gauss(0.0, 0.05)), 1),
                "wind_ms": round(wind, 1)}

    def _hydrant(self, t: float, rng: random.Random, traits: random.Random,
                 ) -> dict[str, float | bool]:
        pressure = traits.uniform(0.29, 0.34)
        tilt = traits.uniform(0.0, 0.8)
        hour = _local_hour(t)
        demand = math.exp(-((hour - 7.5) ** 2) / 2) + math.exp(-((hour - 19.0) ** 2) / 2)
        return {"pressure_mpa": round(pressure - 0.03 * demand + rng.gauss(0.0, 0.004), 3),
                "tilt_deg": round(max(0.0, tilt + rng.gauss(0.0, 0.05)), 1)}

    # -- cameras -------------------------------------------------------------------------------

    def _offline(self, cam: str, t: float) -> bool:
        occ = self._faults.active(cam, t)
        return occ is not None and occ.kind == "camera_offline"

    def _heartbeats(self, c: Camera, a: float, b: float | None,
                    ) -> Iterator[tuple[float, SimMessage]]:
        period = c.period_s / self.time_scale
        for k, t in _ticks(a, b, self._t0 + self._phase(c.device_code, period), period):
            if self._offline(c.device_code, t):
                continue
            rng = random.Random(f"{self.seed}|h|{c.device_code}|{k}")
            yield t, _message("status", c.device_code, t,
                              {"msg_id": _msg_id(rng), "online": True, "ts": _ts(t)})

    def _episodes(self, c: Camera, j: int) -> list[tuple[float, str, list[float], dict]]:
        """Violations that appear in view of camera ``c`` during slot ``j``."""
        slot0 = self._t0 + j * _SLOT_S
        rng = random.Random(f"{self.seed}|ep|{c.device_code}|{j}")
        hour = int(_local_hour(slot0 + _SLOT_S / 2)) % 24
        boost = self.time_scale * _SLOT_S / 3600.0
        out = []
        places: list[tuple[int, HotSpot | None, tuple[tuple[str, float], ...], float]] = [
            (i, spot, spot.events, SPOT_PEAK_PER_H)
            for i, spot in enumerate(self._spots_by_camera.get(c.device_code, ()))]
        places.append((-1, None, _BACKGROUND_EVENTS, BACKGROUND_PER_H))
        for i, spot, events, peak in places:
            for event, weight in events:
                if event not in self._events:
                    continue
                lam = peak * weight * _PROFILE.get(event, (0.3,) * 24)[hour] * boost
                for n in range(_poisson(rng, lam)):
                    begin = slot0 + rng.uniform(0.0, _SLOT_S)
                    span = rng.uniform(*(_EPISODE_S if spot else _BACKGROUND_EPISODE_S))
                    every = rng.uniform(*_REDETECT_S) / self.time_scale
                    times = [begin]
                    u = begin + every * rng.uniform(0.9, 1.1)
                    while u < begin + span / self.time_scale:
                        if rng.random() >= _MISS:
                            times.append(u)
                        u += every * rng.uniform(0.9, 1.1)
                    if spot is not None:
                        lon, lat = spot.lon, spot.lat
                        radius = 4.0
                    else:
                        ang, dist = rng.uniform(0, 2 * math.pi), rng.uniform(15.0, 50.0)
                        lon, lat = self._frame.offset(c.lon, c.lat, dist * math.sin(ang),
                                                      dist * math.cos(ang))
                        radius = 2.0
                    ang, dist = rng.uniform(0, 2 * math.pi), radius * math.sqrt(rng.random())
                    lon, lat = self._frame.offset(lon, lat, dist * math.sin(ang),
                                                  dist * math.cos(ang))
                    info = {"event": event, "lon": lon, "lat": lat,
                            "confidence": rng.uniform(0.62, 0.95),
                            "column": rng.randrange(0, SNAPSHOT_COLS - 2),
                            "scene": f"{self.seed}|scene|{c.device_code}|{i}",
                            "key": f"{self.seed}|d|{c.device_code}|{j}|{i}|{event}|{n}"}
                    out.append((begin, event, times, info))
        return out

    def _detections(self, c: Camera, a: float, b: float | None,
                    ) -> Iterator[tuple[float, SimMessage]]:
        longest = max(_EPISODE_S[1], _BACKGROUND_EPISODE_S[1]) / self.time_scale
        j = max(0, math.floor((a - self._t0 - longest) / _SLOT_S))
        pending: list[tuple[float, str, int, dict]] = []
        while True:
            slot0 = self._t0 + j * _SLOT_S
            while pending and pending[0][0] < slot0:
                t, _, n, info = heapq.heappop(pending)
                if b is not None and t >= b:
                    return
                if t >= a and not self._offline(c.device_code, t):
                    yield t, self._detection(c, t, n, info)
            if b is not None and slot0 >= b:
                return
            for _, _, times, info in self._episodes(c, j):
                for n, t in enumerate(times):
                    heapq.heappush(pending, (t, info["key"], n, info))
            j += 1

    def _detection(self, c: Camera, t: float, n: int, info: dict) -> SimMessage:
        rng = random.Random(f"{info['key']}|{n}")
        lon, lat = self._frame.offset(info["lon"], info["lat"], rng.gauss(0.0, 0.8),
                                      rng.gauss(0.0, 0.8))
        jpeg, bbox = _snapshot(rng, info["event"], _hash_seed(info["scene"]), info["column"])
        bbox = [bbox[0] + rng.randint(-2, 2), bbox[1] + rng.randint(-2, 2), bbox[2], bbox[3]]
        bbox = [max(0, bbox[0]), max(0, bbox[1]), bbox[2], bbox[3]]
        payload = {"msg_id": _msg_id(rng), "ts": _ts(t), "event": info["event"],
                   "confidence": round(_clamp(info["confidence"] + rng.gauss(0.0, 0.03),
                                              0.55, 0.99), 2),
                   "lon": round(lon, 7), "lat": round(lat, 7), "bbox": bbox,
                   "snapshot": base64.b64encode(jpeg).decode("ascii")}
        return _message("detections", c.device_code, t, payload)

    # -- trackers ------------------------------------------------------------------------------

    def _walker(self, tr: Tracker) -> _Walker:
        walker = self._walkers.get(tr.code)
        if walker is None:
            rng = random.Random(f"{self.seed}|walk|{tr.code}")
            if tr.kind == "inspector" and tr.code in self._inspector_walks:
                rings, neighbours = self._inspector_walks[tr.code]
                plan = _inspector_plan(rng, rings, neighbours)
            else:
                plan = _vehicle_plan(rng, self._road_nodes, self._road_edges)
            walker = self._walkers[tr.code] = _Walker(plan, self._t0)
        return walker

    @staticmethod
    def uses_gcj02(tracker: Tracker) -> bool:
        """Every third inspector's phone reports GCJ-02 (TRK-INS-03, -06, …), as Chinese map
        SDKs do; vehicle terminals send WGS84."""
        digits = "".join(ch for ch in tracker.code if ch.isdigit())
        return tracker.kind == "inspector" and bool(digits) and int(digits) % 3 == 0

    def _positions(self, tr: Tracker, a: float, b: float | None,
                   ) -> Iterator[tuple[float, SimMessage]]:
        if tr.kind == "inspector" and tr.code not in self._inspector_walks:
            return
        if tr.kind != "inspector" and not self._road_edges:
            return
        fixes = _INSPECTOR_FIX_S if tr.kind == "inspector" else _VEHICLE_FIX_S
        every = random.Random(f"{self.seed}|fix|{tr.code}").choice(fixes) / self.time_scale
        walker = self._walker(tr)
        gcj = self.uses_gcj02(tr)
        for k, t in _ticks(a, b, self._t0 + self._phase(tr.code, every), every):
            rng = random.Random(f"{self.seed}|p|{tr.code}|{k}")
            x, y, speed, heading = walker.at(t)
            lon, lat = self._frame.lonlat(x, y)
            payload: dict[str, Any] = {"msg_id": _msg_id(rng), "ts": _ts(t)}
            if gcj:
                lon, lat = wgs84_to_gcj02(lon, lat)
            kmh = speed * 3.6
            payload.update(lon=round(float(lon), 7), lat=round(float(lat), 7),
                           speed_kmh=round(max(0.0, kmh + rng.gauss(0, 0.2)) if kmh else 0.0, 1),
                           heading=round(heading, 1))
            if gcj:
                payload["crs"] = "gcj02"
            yield t, _message("positions", tr.code, t, payload)

    # -- fault onsets and recoveries -----------------------------------------------------------

    def _fault_events(self, a: float, b: float | None) -> Iterator[tuple[float, SimMessage]]:
        sensors = {s.device_code: s for s in self.sensors}
        pending: list[tuple[float, int, SimMessage]] = []
        seq = 0
        r = 0
        while True:
            base = self._faults.repetition_base(r)
            horizon = math.inf if base is None else base
            while pending and pending[0][0] < horizon:
                t, _, msg = heapq.heappop(pending)
                if b is not None and t >= b:
                    return
                if t >= a:
                    yield t, msg
            if base is None or (b is not None and base >= b):
                return
            self._faults.ensure(base)
            for occ in [o for o in self._faults.occurrences if o.repetition == r]:
                for when, label in ((occ.begin, "on"), (occ.end, "off")):
                    msg = self._fault_message(occ, when, label, sensors)
                    if msg is not None:
                        heapq.heappush(pending, (when, seq, msg))
                        seq += 1
            r += 1

    def _fault_message(self, occ: _Occurrence, t: float, label: str,
                       sensors: Mapping[str, Sensor]) -> SimMessage | None:
        rng = random.Random(f"{occ.key}|{label}")
        if occ.kind == "camera_offline":
            return _message("status", occ.device, t,
                            {"msg_id": _msg_id(rng), "online": label == "off", "ts": _ts(t)})
        sensor = sensors.get(occ.device)
        if sensor is None or occ.kind == "device_silent":
            return None  # a silent device just stops; it comes back on its own schedule
        # an alarm reading at the onset, and one when it is over (lid back, lamp fixed, emptied)
        return self._reading(sensor, t, rng, occ if label == "on" else None)


# --------------------------------------------------------------------------------------------
# The publisher
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimStats:
    """What a simulator run did: messages by kind, acknowledgements and errors by reason."""

    published: Mapping[str, int]
    acked: int
    errors: Mapping[str, int]
    elapsed_s: float

    @property
    def total(self) -> int:
        return sum(self.published.values())


@dataclass(frozen=True)
class _Broker:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool


def _parse_url(url: str) -> _Broker:
    try:
        from sensors.broker import parse_mqtt_url  # type: ignore[attr-defined]
    except ImportError:
        parse_mqtt_url = None
    if parse_mqtt_url is not None:
        try:
            parsed = parse_mqtt_url(url)
            return _Broker(parsed.host, int(parsed.port), getattr(parsed, "username", None),
                           getattr(parsed, "password", None), bool(getattr(parsed, "tls", False)))
        except AttributeError:
            pass  # a different shape than expected: fall back to our own reading
    parts = urlsplit(url)
    scheme = (parts.scheme or "mqtt").lower()
    if scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"MQTT URL {url!r}: scheme must be mqtt:// or mqtts://")
    tls = scheme in ("mqtts", "ssl")
    if not parts.hostname:
        raise ValueError(f"MQTT URL {url!r}: no host (e.g. mqtt://127.0.0.1:1883)")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ValueError(f"MQTT URL {url!r}: the port is not a number")
    return _Broker(parts.hostname, port, unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None, tls)


class _Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.published: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.acked = 0
        self.connected = threading.Event()
        self.closing = threading.Event()


MAX_INFLIGHT = 1000
MAX_QUEUED = 20_000  # below paho's 65,535 message ids; beyond it a publish counts as an error


def run_simulator(url: str, *, rate: float | None = None, seed: int = 1,
                  duration_s: float | None = None, speedup: float = 1.0,
                  stop_event: threading.Event | None = None, client_id: str | None = None,
                  demo_dir: Path | str = DEMO_DIR, faults: FaultPlan | None = None,
                  start: datetime | None = None, max_messages: int | None = None,
                  log_every_s: float = 10.0, connect_timeout_s: float = 30.0) -> SimStats:
    """Publish the demo city's traffic to the broker at ``url`` until ``duration_s`` wall-clock
    seconds have passed, ``max_messages`` were sent or ``stop_event`` is set. Broker trouble
    never raises: the client reconnects with backoff and what could not be sent is counted.

    Each message goes out at its simulated time: simulated time runs ``speedup`` times as fast
    as the wall clock. Without ``start`` the simulation starts at now − duration·(speedup − 1),
    so timestamps never run ahead of the clock when a duration is given. ``max_messages``
    stops after that many messages (tests, benchmarks).
    """
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    if speedup <= 0:
        raise ValueError("speedup must be positive")
    broker = _parse_url(url)
    stop = stop_event or threading.Event()
    now = datetime.now(CST)
    if start is None:
        back = (duration_s or 0.0) * (speedup - 1.0) if speedup > 1 else 0.0
        start = now - timedelta(seconds=back)
        if speedup > 1 and duration_s is None:
            log.warning("simulator: speedup %.1f without a duration: timestamps will run ahead "
                        "of the clock and the ingest refuses them after 5 minutes", speedup)
    fleet = DemoFleet.load(demo_dir)
    model = TrafficModel(fleet, rate=rate, seed=seed, start=start, faults=faults)
    log.info("simulator: %s", model.describe())
    for window in model.fault_windows(start + timedelta(hours=2)):
        log.info("simulator: fault %s on %s (component %s) %s–%s China time", window.kind,
                 window.device, window.component, window.begin.astimezone(CST).strftime("%H:%M"),
                 window.end.astimezone(CST).strftime("%H:%M"))
    for after, length in model.plan.rain:
        log.info("simulator: rain from %s for %.0f min",
                 (start + timedelta(seconds=after)).astimezone(CST).strftime("%H:%M"),
                 length / 60)

    counters = _Counters()
    client = mqtt.Client(CallbackAPIVersion.VERSION2,
                         client_id=client_id or f"onegrid-sim-{os.getpid()}", clean_session=True)
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set()
    client.max_inflight_messages_set(MAX_INFLIGHT)
    client.max_queued_messages_set(MAX_QUEUED)
    client.reconnect_delay_set(min_delay=1, max_delay=30)

    def on_connect(_c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        try:
            if getattr(reason, "is_failure", False):
                log.warning("simulator: broker refused the connection: %s", reason)
                return
            log.info("simulator: connected to %s:%s", broker.host, broker.port)
            counters.connected.set()
        except Exception:  # never into the network loop
            log.exception("simulator: on_connect failed")

    def on_disconnect(_c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        try:
            counters.connected.clear()
            if not counters.closing.is_set():
                log.warning("simulator: disconnected (%s); reconnecting with backoff", reason)
        except Exception:
            log.exception("simulator: on_disconnect failed")

    def on_publish(_c: Any, _u: Any, _mid: int, _reason: Any, _props: Any) -> None:
        try:
            with counters.lock:
                counters.acked += 1
        except Exception:
            log.exception("simulator: on_publish failed")

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_publish = on_publish
    client.connect_async(broker.host, broker.port, keepalive=30)
    client.loop_start()
    wall0 = time.monotonic()
    try:
        deadline = wall0 + connect_timeout_s
        while not counters.connected.is_set() and not stop.is_set():
            if time.monotonic() > deadline:
                log.warning("simulator: no broker at %s:%s after %.0f s; queueing and retrying",
                            broker.host, broker.port, connect_timeout_s)
                break
            counters.connected.wait(0.2)
        wall0 = time.monotonic()
        end = None if duration_s is None else start + timedelta(seconds=duration_s * speedup)
        t_start = start.timestamp()
        next_log = wall0 + log_every_s
        last_total = 0
        stream = model.messages_between(start, end)
        for msg in itertools.islice(stream, max_messages) if max_messages else stream:
            due = wall0 + (msg.at.timestamp() - t_start) / speedup
            while True:
                now_m = time.monotonic()
                if now_m >= next_log:
                    last_total = _log_progress(counters, now_m - wall0, last_total)
                    next_log += log_every_s
                wait = min(due, next_log) - now_m
                if wait <= 0.002 or stop.is_set():
                    break
                stop.wait(wait)
            if stop.is_set():
                break
            _publish(client, msg, counters)
        _flush(counters, stop, 10.0)
        _log_progress(counters, time.monotonic() - wall0, last_total)
    finally:
        counters.closing.set()
        try:
            client.disconnect()
        finally:
            client.loop_stop()
    with counters.lock:
        sent = sum(counters.published.values())
        errors = Counter(counters.errors)
        if counters.acked < sent:
            errors["unacked"] += sent - counters.acked
        return SimStats(dict(counters.published), counters.acked, dict(errors),
                        time.monotonic() - wall0)


def _publish(client: Any, msg: SimMessage, counters: _Counters) -> None:
    import paho.mqtt.client as mqtt

    try:
        info = client.publish(msg.topic, msg.payload, qos=msg.qos)
    except (ValueError, OSError, RuntimeError) as exc:
        log.warning("simulator: could not publish to %s: %s", msg.topic, exc)
        with counters.lock:
            counters.errors["publish_failed"] += 1
        return
    with counters.lock:
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            counters.errors["queue_full"] += 1
        elif info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            counters.published[msg.kind] += 1  # NO_CONN at QoS 1: queued, sent on reconnect
        else:
            counters.errors[f"rc_{int(info.rc)}"] += 1


def _flush(counters: _Counters, stop: threading.Event, timeout_s: float) -> None:
    """Wait (a little) for the broker to acknowledge what was sent."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and counters.connected.is_set():
        with counters.lock:
            if counters.acked >= sum(counters.published.values()):
                return
        time.sleep(0.05)


def _log_progress(counters: _Counters, elapsed: float, last_total: int) -> int:
    with counters.lock:
        total = sum(counters.published.values())
        kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(counters.published.items()))
        errors = sum(counters.errors.values())
        acked = counters.acked
    state = "connected" if counters.connected.is_set() else "NOT connected"
    log.info("simulator: %.0f s, %s sent (+%s; %s), %s acked, %s errors, %s", elapsed,
             f"{total:,}", f"{total - last_total:,}", kinds or "none", f"{acked:,}",
             f"{errors:,}", state)
    return total


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The simulator's options (``app.py simulate`` can pass its own sub-parser in)."""
    parser = parser or argparse.ArgumentParser(
        prog="python -m sensors.simulator",
        description="Publish realistic MQTT traffic for the demo city's devices.")
    parser.add_argument("--url", default=os.environ.get("ONEGRID_MQTT_URL")
                        or "mqtt://127.0.0.1:1883",
                        help="broker URL, mqtt://[user:password@]host:port or mqtts://… "
                             "(default: $ONEGRID_MQTT_URL or mqtt://127.0.0.1:1883)")
    parser.add_argument("--rate", type=float, default=None,
                        help="messages per second on average (default: real schedules, "
                             "about 16 msg/s for the demo city)")
    parser.add_argument("--duration", type=float, default=None,
                        help="stop after this many seconds (default: run until Ctrl-C)")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same traffic")
    parser.add_argument("--speedup", type=float, default=1.0,
                        help="simulated time runs this many times as fast as the clock")
    parser.add_argument("--client-id", default=None, help="MQTT client id")
    parser.add_argument("--no-faults", action="store_true",
                        help="a healthy city: no injected faults, no rain")
    parser.add_argument("--demo-dir", default=str(DEMO_DIR), help=argparse.SUPPRESS)
    return parser


def run_from_args(args: argparse.Namespace, stop_event: threading.Event | None = None,
                  ) -> SimStats:
    return run_simulator(args.url, rate=args.rate, seed=args.seed, duration_s=args.duration,
                         speedup=args.speedup, stop_event=stop_event, client_id=args.client_id,
                         demo_dir=args.demo_dir,
                         faults=FaultPlan.quiet() if args.no_faults else None)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sensors.simulator --url mqtt://127.0.0.1:1883 --rate 50 --duration 60``."""
    args = build_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    try:
        stats = run_from_args(args, stop)
    except (ValueError, FileNotFoundError) as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(stats.published.items())) or "nothing"
    print(f"simulate: sent {stats.total:,} messages ({kinds}) in {stats.elapsed_s:.0f} s; "
          f"{stats.acked:,} acknowledged; errors: {dict(stats.errors) or 'none'}")
    return 1 if stats.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
