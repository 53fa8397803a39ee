"""Payload schemas: raw MQTT bytes become frozen dataclasses at the edge, or a rejection.

Two pure steps, both total (they return, never raise, whatever the bytes):

* :func:`decode` checks what the message itself says: topic, size, JSON, fields, types,
  finite numbers, timestamps, snapshot encoding, coordinate system.
* :func:`resolve` checks it against what OneGrid knows — the :class:`Registry` of devices,
  metric names and ranges, detection events — and returns a :class:`Resolved` message.

A :class:`Rejected` carries a reason code (counted, indexed) and a sentence a vendor can act on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from gis.crs import to_wgs84
from sensors.topics import Topic, parse_topic

MAX_PAYLOAD = 16 * 1024
MAX_DETECTION_PAYLOAD = 3 * 1024 * 1024
MAX_SNAPSHOT = 2 * 1024 * 1024
MAX_FUTURE = timedelta(minutes=5)
MAX_MSG_ID = 64
DEAD_LETTER_KEEP = 4096  # bytes of a refused payload that are kept


@dataclass(frozen=True)
class Rejected:
    reason_code: str
    reason: str


@dataclass(frozen=True)
class Reading:
    """A component's sensor reading (读数)."""

    code: str
    msg_id: str
    ts: datetime
    metrics: Mapping[str, float | bool]
    battery: float | None = None


@dataclass(frozen=True)
class Detection:
    """A camera's AI detection (视频识别)."""

    code: str
    msg_id: str
    ts: datetime
    event: str
    confidence: float
    lon: float | None = None
    lat: float | None = None
    bbox: tuple[float, ...] | None = None
    snapshot: bytes | None = field(default=None, repr=False)
    snapshot_url: str | None = None

    @property
    def snapshot_sha256(self) -> str | None:
        return hashlib.sha256(self.snapshot).hexdigest() if self.snapshot else None


@dataclass(frozen=True)
class Status:
    """A device going on- or offline (the device's last will)."""

    code: str
    online: bool
    ts: datetime


@dataclass(frozen=True)
class Position:
    """A GPS fix, already converted to WGS84."""

    code: str
    ts: datetime
    lon: float
    lat: float
    speed_kmh: float | None = None
    heading: float | None = None


Message = Reading | Detection | Status | Position


def _reject(code: str, reason: str) -> Rejected:
    return Rejected(code, reason)


class _Bad(Exception):  # noqa: N818 (internal signal, never escapes decode)
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.rejected = Rejected(code, reason)


def _no_constants(token: str) -> Any:
    raise _Bad("value_not_finite", f"{token} is not a number: send finite numbers only")


def _require(doc: Mapping[str, Any], name: str) -> Any:
    if name not in doc or doc[name] is None:
        raise _Bad("field_missing", f"field '{name}' is required")
    return doc[name]


def _number(doc: Mapping[str, Any], name: str, *, required: bool = True) -> float | None:
    value = _require(doc, name) if required else doc.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad("field_type", f"field '{name}' must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise _Bad("value_not_finite", f"field '{name}' must be finite")
    return float(value)


def _string(doc: Mapping[str, Any], name: str, *, limit: int, required: bool = True) -> str | None:
    value = _require(doc, name) if required else doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _Bad("field_type", f"field '{name}' must be a non-empty string")
    if len(value) > limit:
        raise _Bad("field_type", f"field '{name}' is longer than {limit} characters")
    if not value.isprintable():
        raise _Bad("field_type", f"field '{name}' contains control characters")
    return value


def _timestamp(doc: Mapping[str, Any], now: datetime) -> datetime:
    text = _string(doc, "ts", limit=40)
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise _Bad("ts_invalid", f"ts {text!r} is not ISO-8601 (e.g. 2026-11-23T08:15:00+08:00)")
    if ts.tzinfo is None:
        raise _Bad("ts_invalid", f"ts {text!r} has no UTC offset: add one, e.g. +08:00")
    ts = ts.astimezone(UTC)
    if ts - now > MAX_FUTURE:
        raise _Bad("ts_future", f"ts {text} is more than 5 minutes ahead of the server clock "
                                f"({now.isoformat(timespec='seconds')}): check the device clock")
    return ts


def _lon_lat(doc: Mapping[str, Any], *, required: bool) -> tuple[float | None, float | None]:
    lon = _number(doc, "lon", required=required)
    lat = _number(doc, "lat", required=required)
    if (lon is None) != (lat is None):
        raise _Bad("field_missing", "send both 'lon' and 'lat', or neither")
    if lon is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise _Bad("outside_city", f"({lon}, {lat}) is not a longitude/latitude")
    return lon, lat


def _reading(topic: Topic, doc: Mapping[str, Any], now: datetime) -> Reading:
    msg_id = _string(doc, "msg_id", limit=MAX_MSG_ID)
    ts = _timestamp(doc, now)
    metrics = _require(doc, "metrics")
    if not isinstance(metrics, dict) or not metrics:
        raise _Bad("field_type", "field 'metrics' must be a non-empty object {name: value}")
    clean: dict[str, float | bool] = {}
    for name, value in metrics.items():
        if not name.isprintable() or len(name) > 40:
            raise _Bad("field_type", "metric names must be printable, at most 40 characters")
        if isinstance(value, bool):
            clean[name] = value
        elif isinstance(value, int | float):
            if not math.isfinite(value):
                raise _Bad("value_not_finite", f"metric '{name[:40]}' must be finite")
            clean[name] = float(value)
        else:
            raise _Bad("field_type", f"metric '{name[:40]}' must be a number or a boolean")
    return Reading(topic.code, msg_id, ts, clean, _number(doc, "battery", required=False))


def _detection(topic: Topic, doc: Mapping[str, Any], now: datetime) -> Detection:
    msg_id = _string(doc, "msg_id", limit=MAX_MSG_ID)
    ts = _timestamp(doc, now)
    event = _string(doc, "event", limit=40)
    confidence = _number(doc, "confidence")
    if not 0.0 <= confidence <= 1.0:
        raise _Bad("confidence_range", f"confidence {confidence} must be between 0 and 1")
    lon, lat = _lon_lat(doc, required=False)
    bbox = doc.get("bbox")
    if bbox is not None:
        if (not isinstance(bbox, list) or len(bbox) != 4
                or not all(isinstance(v, int | float) and not isinstance(v, bool)
                           and math.isfinite(v) for v in bbox)):
            raise _Bad("field_type", "field 'bbox' must be [x, y, width, height] numbers")
        bbox = tuple(float(v) for v in bbox)
    snapshot = None
    if doc.get("snapshot") is not None:
        text = doc["snapshot"]
        if not isinstance(text, str):
            raise _Bad("snapshot_invalid", "field 'snapshot' must be a base64 string")
        if len(text) > (MAX_SNAPSHOT * 4) // 3 + 4:
            raise _Bad("snapshot_too_large", "snapshot is larger than 2 MB: send a smaller "
                                             "JPEG, or store it and send 'snapshot_url'")
        try:
            snapshot = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise _Bad("snapshot_invalid", "snapshot is not valid base64")
        if len(snapshot) > MAX_SNAPSHOT:
            raise _Bad("snapshot_too_large", "snapshot is larger than 2 MB")
        if not snapshot.startswith(b"\xff\xd8\xff"):
            raise _Bad("snapshot_invalid", "snapshot is not a JPEG (must start with FF D8 FF)")
    url = _string(doc, "snapshot_url", limit=500, required=False)
    if url is not None and not url.startswith(("http://", "https://")):
        raise _Bad("field_type", "snapshot_url must be an http(s) URL")
    return Detection(topic.code, msg_id, ts, event, confidence, lon, lat, bbox, snapshot, url)


def _status(topic: Topic, doc: Mapping[str, Any], now: datetime) -> Status:
    online = _require(doc, "online")
    if not isinstance(online, bool):
        raise _Bad("field_type", "field 'online' must be true or false")
    return Status(topic.code, online, _timestamp(doc, now))


def _position(topic: Topic, doc: Mapping[str, Any], now: datetime) -> Position:
    ts = _timestamp(doc, now)
    lon, lat = _lon_lat(doc, required=True)
    crs = doc.get("crs", "wgs84")
    if not isinstance(crs, str):
        raise _Bad("crs_unknown", "field 'crs' must be one of wgs84, gcj02, bd09")
    try:
        lon, lat = to_wgs84(lon, lat, crs)
    except ValueError:
        raise _Bad("crs_unknown", f"crs {crs[:20]!r} unknown: use wgs84, gcj02 or bd09")
    speed = _number(doc, "speed_kmh", required=False)
    heading = _number(doc, "heading", required=False)
    return Position(topic.code, ts, float(lon), float(lat), speed, heading)


_DECODERS = {"readings": _reading, "detections": _detection, "status": _status,
             "positions": _position}


def decode(topic: str, payload: bytes, now: datetime) -> Message | Rejected:
    """What the message itself says, checked. Never raises."""
    parsed = parse_topic(topic)
    if isinstance(parsed, str):
        return _reject("topic_invalid", parsed)
    limit = MAX_DETECTION_PAYLOAD if parsed.kind == "detections" else MAX_PAYLOAD
    if len(payload) > limit:
        return _reject("payload_too_large",
                       f"{len(payload):,} bytes is over the {limit:,}-byte limit for "
                       f"{parsed.kind}")
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        # orjson is strict; the standard parser says precisely what is wrong (NaN, …).
        try:
            doc = json.loads(payload, parse_constant=_no_constants)
        except _Bad as bad:
            return bad.rejected
        except (ValueError, RecursionError):
            return _reject("not_json", "payload is not UTF-8 JSON")
    if not isinstance(doc, dict):
        return _reject("not_json", "payload must be a JSON object {...}")
    try:
        return _DECODERS[parsed.kind](parsed, doc, now)
    except _Bad as bad:
        return bad.rejected


# --- resolving against what OneGrid knows --------------------------------------------------

@dataclass(frozen=True)
class DeviceInfo:
    device_id: int
    kind: str  # sensor | camera
    component_id: int | None
    type_code: str | None
    lon: float | None
    lat: float | None
    #: The unit grid of the device's component (None: no component, or not located).
    grid_code: str | None = None


@dataclass(frozen=True)
class Registry:
    """Devices and vocabularies the ingest checks against (loaded by ``data.ingest``)."""

    by_component: Mapping[str, DeviceInfo]
    by_device: Mapping[str, DeviceInfo]
    trackers: Mapping[str, int]
    metrics: Mapping[str, Mapping[str, tuple[str, float | None, float | None]]]
    events: Mapping[str, str]  # detection code -> event type code


@dataclass(frozen=True)
class Resolved:
    """A message that passed every check, with its device and the point to locate."""

    message: Message
    device: DeviceInfo | None = None
    tracker_id: int | None = None
    event_type: str | None = None
    lon: float | None = None
    lat: float | None = None


def resolve(message: Message, registry: Registry) -> Resolved | Rejected:
    """Check ``message`` against the registry. Never raises."""
    if isinstance(message, Reading):
        device = registry.by_component.get(message.code) or registry.by_device.get(message.code)
        if device is None:
            return _reject("unknown_device", f"component {message.code!r} has no registered "
                                             "device: register it before it reports")
        if device.kind != "sensor":
            return _reject("wrong_device_kind", f"{message.code} is a {device.kind}; "
                                                "readings come from sensors")
        specs = registry.metrics.get(device.type_code or "", {})
        for name, value in message.metrics.items():
            spec = specs.get(name)
            if spec is None:
                known = ", ".join(sorted(specs)) or "none"
                return _reject("unknown_metric", f"metric {name[:40]!r} is not defined for "
                                                 f"component type {device.type_code} "
                                                 f"(known: {known})")
            kind, low, high = spec
            if (kind == "bool") != isinstance(value, bool):
                return _reject("field_type", f"metric {name!r} must be "
                                             f"{'a boolean' if kind == 'bool' else 'a number'}")
            if kind == "number" and ((low is not None and value < low)
                                     or (high is not None and value > high)):
                return _reject("metric_out_of_range",
                               f"metric {name!r} = {value} is outside {low}..{high}")
        return Resolved(message, device, lon=device.lon, lat=device.lat)
    if isinstance(message, Detection):
        device = registry.by_device.get(message.code) or registry.by_component.get(message.code)
        if device is None:
            return _reject("unknown_device", f"camera {message.code!r} is not registered")
        if device.kind != "camera":
            return _reject("wrong_device_kind", f"{message.code} is a {device.kind}, not a "
                                                "camera")
        event_type = registry.events.get(message.event)
        if event_type is None:
            known = ", ".join(sorted(registry.events))
            return _reject("unknown_event", f"event {message.event[:40]!r} unknown; use one "
                                            f"of {known}")
        lon = message.lon if message.lon is not None else device.lon
        lat = message.lat if message.lat is not None else device.lat
        if lon is None or lat is None:
            return _reject("field_missing", f"camera {message.code} has no registered place: "
                                            "send 'lon' and 'lat' with each detection")
        return Resolved(message, device, event_type=event_type, lon=lon, lat=lat)
    if isinstance(message, Status):
        device = registry.by_device.get(message.code) or registry.by_component.get(message.code)
        if device is None:
            return _reject("unknown_device", f"device {message.code!r} is not registered")
        return Resolved(message, device)
    tracker = registry.trackers.get(message.code)
    if tracker is None:
        return _reject("unknown_device", f"tracker {message.code!r} is not registered")
    return Resolved(message, tracker_id=tracker, lon=message.lon, lat=message.lat)


def now_utc() -> datetime:
    return datetime.now(UTC)
