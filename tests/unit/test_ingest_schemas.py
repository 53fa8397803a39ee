"""Payload decoding and checking: every refusal reason, and good messages pass intact."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from gis.crs import wgs84_to_gcj02
from sensors.schemas import (
    MAX_PAYLOAD,
    Detection,
    DeviceInfo,
    Position,
    Reading,
    Registry,
    Rejected,
    Resolved,
    Status,
    decode,
    resolve,
)
from sensors.topics import parse_topic, shared_subscription

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
TS = "2026-11-23T11:59:00+08:00"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20 + b"\xff\xd9"
COVER = "4499020101000001"
LIGHT = "4499020122000001"

REGISTRY = Registry(
    by_component={
        COVER: DeviceInfo(1, "sensor", 10, "0101", 112.47, 23.05),
        LIGHT: DeviceInfo(2, "sensor", 11, "0122", 112.471, 23.05),
        "4499020125000001": DeviceInfo(3, "camera", 12, "0125", 112.472, 23.051),
    },
    by_device={
        "DEV-MHC-000001": DeviceInfo(1, "sensor", 10, "0101", 112.47, 23.05),
        "CAM-000001": DeviceInfo(3, "camera", 12, "0125", 112.472, 23.051),
    },
    trackers={"TRK-INS-01": 7},
    metrics={"0101": {"tilt_deg": ("number", 0, 90), "water_level_cm": ("number", 0, 500)},
             "0122": {"lamp_on": ("bool", None, None), "current_a": ("number", 0, 50)}},
    events={"street_vending": "0501", "umbrella": "0504"},
)


def msg(kind: str, code: str, **doc: object) -> tuple[str, bytes]:
    return f"onegrid/v1/{kind}/{code}", json.dumps(doc).encode()


def check(topic: str, payload: bytes) -> Resolved | Rejected:
    decoded = decode(topic, payload, NOW)
    return decoded if isinstance(decoded, Rejected) else resolve(decoded, REGISTRY)


def test_good_messages_of_every_kind() -> None:
    r = check(*msg("readings", COVER, msg_id="a1", ts=TS, metrics={"tilt_deg": 17.5},
                   battery=3.6))
    assert isinstance(r, Resolved) and isinstance(r.message, Reading)
    assert r.message.ts == datetime(2026, 11, 23, 3, 59, tzinfo=UTC)
    assert r.message.metrics == {"tilt_deg": 17.5} and r.device.component_id == 10
    d = check(*msg("detections", "CAM-000001", msg_id="d1", ts=TS, event="umbrella",
                   confidence=0.9, snapshot=base64.b64encode(JPEG).decode(),
                   bbox=[1, 2, 30, 40]))
    assert isinstance(d, Resolved) and isinstance(d.message, Detection)
    assert d.event_type == "0504" and d.message.snapshot == JPEG
    assert (d.lon, d.lat) == (112.472, 23.051)  # the camera's own place
    s = check(*msg("status", "CAM-000001", online=False, ts=TS))
    assert isinstance(s.message, Status) and s.message.online is False
    p = check(*msg("positions", "TRK-INS-01", ts=TS, lon=112.47, lat=23.05, speed_kmh=4))
    assert isinstance(p.message, Position) and p.tracker_id == 7


def test_a_camera_without_a_place_must_send_one() -> None:
    placeless = Registry(by_component={}, by_device={"CAM-9": DeviceInfo(9, "camera", None,
                                                                      None, None, None)},
                         trackers={}, metrics={}, events={"umbrella": "0504"})
    decoded = decode(*msg("detections", "CAM-9", msg_id="d", ts=TS, event="umbrella",
                          confidence=0.9), NOW)
    refused = resolve(decoded, placeless)
    assert isinstance(refused, Rejected) and refused.reason_code == "field_missing"
    decoded = decode(*msg("detections", "CAM-9", msg_id="d", ts=TS, event="umbrella",
                          confidence=0.9, lon=112.47, lat=23.05), NOW)
    assert isinstance(resolve(decoded, placeless), Resolved)


def test_gcj02_positions_are_converted_to_wgs84() -> None:
    glon, glat = wgs84_to_gcj02(112.47, 23.05)
    p = check(*msg("positions", "TRK-INS-01", ts=TS, lon=glon, lat=glat, crs="gcj02"))
    assert abs(p.lon - 112.47) < 1e-7 and abs(p.lat - 23.05) < 1e-7


BAD = [
    ("topic_invalid", "other/v1/readings/x", b"{}"),
    ("topic_invalid", f"onegrid/v1/readings/{COVER}/extra", b"{}"),
    ("topic_invalid", "onegrid/v1/alarms/x", b"{}"),
    ("topic_invalid", "onegrid/v1/readings/bad code!", b"{}"),
    ("payload_too_large", f"onegrid/v1/readings/{COVER}", b" " * (MAX_PAYLOAD + 1)),
    ("not_json", f"onegrid/v1/readings/{COVER}", b"{not json"),
    ("not_json", f"onegrid/v1/readings/{COVER}", b"\xff\xfe"),
    ("not_json", f"onegrid/v1/readings/{COVER}", b"[1, 2]"),
    ("field_missing", *msg("readings", COVER, ts=TS, metrics={"tilt_deg": 1})),
    ("field_missing", *msg("readings", COVER, msg_id="a", metrics={"tilt_deg": 1})),
    ("field_type", *msg("readings", COVER, msg_id="a", ts=TS, metrics={"tilt_deg": "1"})),
    ("field_type", *msg("readings", COVER, msg_id=5, ts=TS, metrics={"tilt_deg": 1})),
    ("field_type", *msg("readings", COVER, msg_id="a", ts=TS, metrics=[])),
    ("value_not_finite", f"onegrid/v1/readings/{COVER}",
     b'{"msg_id":"a","ts":"' + TS.encode() + b'","metrics":{"tilt_deg":NaN}}'),
    ("value_not_finite", f"onegrid/v1/readings/{COVER}",
     b'{"msg_id":"a","ts":"' + TS.encode() + b'","metrics":{"tilt_deg":Infinity}}'),
    ("ts_invalid", *msg("readings", COVER, msg_id="a", ts="yesterday",
                        metrics={"tilt_deg": 1})),
    ("ts_invalid", *msg("readings", COVER, msg_id="a", ts="2026-11-23T11:59:00",
                        metrics={"tilt_deg": 1})),
    ("ts_future", *msg("readings", COVER, msg_id="a",
                       ts=(NOW + timedelta(hours=1)).isoformat(), metrics={"tilt_deg": 1})),
    ("unknown_device", *msg("readings", "4499020101999999", msg_id="a", ts=TS,
                            metrics={"tilt_deg": 1})),
    ("wrong_device_kind", *msg("readings", "CAM-000001", msg_id="a", ts=TS,
                               metrics={"tilt_deg": 1})),
    ("unknown_metric", *msg("readings", COVER, msg_id="a", ts=TS, metrics={"temp_c": 20})),
    ("metric_out_of_range", *msg("readings", COVER, msg_id="a", ts=TS,
                                 metrics={"tilt_deg": 120})),
    ("field_type", *msg("readings", LIGHT, msg_id="a", ts=TS, metrics={"lamp_on": 1})),
    ("unknown_event", *msg("detections", "CAM-000001", msg_id="d", ts=TS, event="ufo",
                           confidence=0.9)),
    ("wrong_device_kind", *msg("detections", COVER, msg_id="d", ts=TS, event="umbrella",
                               confidence=0.9)),
    ("confidence_range", *msg("detections", "CAM-000001", msg_id="d", ts=TS,
                              event="umbrella", confidence=1.5)),
    ("snapshot_invalid", *msg("detections", "CAM-000001", msg_id="d", ts=TS,
                              event="umbrella", confidence=0.9, snapshot="***")),
    ("snapshot_invalid", *msg("detections", "CAM-000001", msg_id="d", ts=TS,
                              event="umbrella", confidence=0.9,
                              snapshot=base64.b64encode(b"GIF89a....").decode())),
    ("snapshot_too_large", *msg("detections", "CAM-000001", msg_id="d", ts=TS,
                                event="umbrella", confidence=0.9,
                                snapshot=base64.b64encode(JPEG * 85_000).decode())),
    ("outside_city", *msg("positions", "TRK-INS-01", ts=TS, lon=200, lat=23)),
    ("crs_unknown", *msg("positions", "TRK-INS-01", ts=TS, lon=112, lat=23, crs="utm")),
    ("unknown_device", *msg("positions", "TRK-NOPE", ts=TS, lon=112, lat=23)),
    ("field_missing", *msg("positions", "TRK-INS-01", ts=TS, lon=112)),
    ("field_type", *msg("status", "CAM-000001", online="yes", ts=TS)),
]


@pytest.mark.parametrize(("reason", "topic", "payload"), BAD,
                         ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_refusals_say_why(reason: str, topic: str, payload: bytes) -> None:
    result = check(topic, payload)
    assert isinstance(result, Rejected), result
    assert result.reason_code == reason, result.reason
    assert len(result.reason) > 10


def test_shared_subscription_and_topic_parsing() -> None:
    assert shared_subscription() == "$share/onegrid/onegrid/v1/+/+"
    assert parse_topic(f"onegrid/v1/readings/{COVER}").code == COVER
