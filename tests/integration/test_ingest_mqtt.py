"""Ingest through real brokers (Mosquitto and the embedded one), in real processes.

Counts are checked exactly: every valid message stored once, every bad one dead-lettered.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import create_engine, func, select, text

from data.models import DeadLetter, IngestWorker, Reading
from services import build_services, prepare_database
from tests.brokers import broker, embedded_broker, mosquitto, wait_for  # noqa: F401  (fixtures)
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
COVERS = None


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory) -> Path:
    """A seeded SQLite file, copied per test (seeding once keeps the module fast)."""
    tmp = tmp_path_factory.mktemp("ingestdb")
    svc = build_services(make_settings(f"sqlite:///{tmp / 'seed.db'}", tmp))
    prepare_database(svc, seed=True)
    svc.engine.dispose()
    return tmp / "seed.db"


@pytest.fixture
def db(seeded_db: Path, tmp_path: Path) -> str:
    target = tmp_path / "og.db"
    target.write_bytes(seeded_db.read_bytes())
    return f"sqlite:///{target}"


def cover_codes(db_url: str, n: int) -> list[str]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.code FROM components c JOIN devices d ON d.component_id = c.id "
            "WHERE c.type_code = '0101' ORDER BY c.code LIMIT :n"), {"n": n}).scalars().all()
    engine.dispose()
    return list(rows)


def count(db_url: str, model, *where) -> int:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        stmt = select(func.count()).select_from(model)
        for w in where:
            stmt = stmt.where(w)
        value = conn.scalar(stmt)
    engine.dispose()
    return value


def start_ingest(db_url: str, broker_url: str, tmp_path: Path, *extra: str,
                 name: str = "test-ingest") -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEGRID_")}
    env.update(ONEGRID_DB_URL=db_url, ONEGRID_VAR_DIR=str(tmp_path / "var"),
               ONEGRID_SEED_DEMO="never", ONEGRID_LOG_LEVEL="INFO")
    log = open(tmp_path / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, str(ROOT / "app.py"), "ingest", "--url",
                             broker_url, "--name", name, *extra],
                            env=env, stdout=log, stderr=subprocess.STDOUT)


class Publisher:
    """A QoS-1 publisher that waits for every PUBACK."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("mqtt://").rsplit(":", 1)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-publisher")
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        self.client.connect(host, int(port))
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes | str) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos=1)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def reading(code: str, i: int) -> tuple[str, str]:
    ts = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    return (f"onegrid/v1/readings/{code}",
            json.dumps({"msg_id": f"m-{i}", "ts": ts, "metrics": {"tilt_deg": i % 30}}))


def batch_for(running) -> list[str]:
    """The embedded broker lets 100 messages wait unacknowledged: commit every 50."""
    return ["--batch-size", "50"] if running.kind == "embedded" else []


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_valid_stored_bad_dead_lettered(broker, db, tmp_path) -> None:  # noqa: F811
    codes = cover_codes(db, 20)
    proc = start_ingest(db, broker.ingest_url, tmp_path, *batch_for(broker))
    pub = Publisher(broker.url)
    try:
        assert wait_for(lambda: count(db, IngestWorker, IngestWorker.connected) == 1, 30)
        infos = [pub.publish(*reading(codes[i % 20], i)) for i in range(400)]
        bad = [("onegrid/v1/readings/" + codes[0], b"{not json"),
               ("onegrid/v1/readings/" + codes[0], b'{"msg_id":"x","ts":"2026-01-01T00:00:00'
                                                   b'+08:00","metrics":{"tilt_deg":NaN}}'),
               ("onegrid/v1/nonsense/x", b"{}"),
               ("onegrid/v1/readings/4499029999999999",
                json.dumps({"msg_id": "u", "ts": datetime.now(UTC).isoformat(),
                            "metrics": {"tilt_deg": 1}}))]
        infos += [pub.publish(t, p) for t, p in bad]
        for info in infos:
            info.wait_for_publish(30)
        assert wait_for(lambda: count(db, Reading) == 400
                        and count(db, DeadLetter) == len(bad)), (
            count(db, Reading), count(db, DeadLetter))
        reasons = sorted(create_engine(db).connect().scalars(select(DeadLetter.reason_code)))
        assert reasons == ["not_json", "topic_invalid", "unknown_device", "value_not_finite"]
        assert wait_for(lambda: count(db, IngestWorker, IngestWorker.stored >= 400), 15)
    finally:
        pub.close()
        stop(proc)


def test_sigkill_mid_stream_loses_nothing_and_stores_nothing_twice(broker, db,  # noqa: F811
                                                                   tmp_path) -> None:
    codes = cover_codes(db, 50)
    total = 6000
    proc = start_ingest(db, broker.ingest_url, tmp_path, *batch_for(broker), name="killme")
    pub = Publisher(broker.url)
    done = threading.Event()

    def publish_all() -> None:
        for i in range(total):
            pub.publish(*reading(codes[i % 50], i)).wait_for_publish(30)
        done.set()

    thread = threading.Thread(target=publish_all, daemon=True)
    try:
        # Subscribe first: the persistent session must exist before the stream starts.
        assert wait_for(lambda: count(db, IngestWorker) >= 1, 30)
        thread.start()
        assert wait_for(lambda: count(db, Reading) >= 1000, 60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        killed_at = count(db, Reading)
        assert killed_at < total, "the stream ended before the kill: make it longer"
        assert done.wait(120)
        proc = start_ingest(db, broker.ingest_url, tmp_path, *batch_for(broker),
                            name="killme")
        assert wait_for(lambda: count(db, Reading) >= total, 120), count(db, Reading)
        time.sleep(2)  # anything redelivered twice would show up now
        assert count(db, Reading) == total
        engine = create_engine(db)
        with engine.connect() as conn:
            ids = conn.scalars(select(Reading.msg_id)).all()
        assert len(set(ids)) == total
    finally:
        pub.close()
        stop(proc)


def test_two_workers_share_the_stream(mosquitto, db, tmp_path) -> None:  # noqa: F811
    """Process level, on Mosquitto. The embedded broker splits a $share/ stream too
    (test_brokers.py), but it is single-node by design: see the next test."""
    codes = cover_codes(db, 50)
    proc = start_ingest(db, mosquitto.ingest_url, tmp_path, "--workers", "2", name="pair")
    pub = Publisher(mosquitto.url)
    try:
        assert wait_for(lambda: count(db, IngestWorker) >= 2, 60)
        infos = [pub.publish(*reading(codes[i % 50], i)) for i in range(3000)]
        for info in infos:
            info.wait_for_publish(30)
        assert wait_for(lambda: count(db, Reading) == 3000, 90), count(db, Reading)
        assert wait_for(lambda: count(db, IngestWorker, IngestWorker.stored > 0) == 2, 20)
        engine = create_engine(db)
        with engine.connect() as conn:
            split = conn.execute(select(IngestWorker.name, IngestWorker.stored)).all()
        assert sum(n for _, n in split) == 3000, split
    finally:
        pub.close()
        stop(proc)


def test_several_workers_on_a_plain_subscription_are_refused(embedded_broker, db,  # noqa: F811
                                                             tmp_path) -> None:
    proc = start_ingest(db, embedded_broker.ingest_url, tmp_path, "--workers", "2",
                        name="plain")
    assert proc.wait(60) != 0
    out = (tmp_path / "plain.log").read_text()
    assert "--workers 2 needs a shared subscription: remove shared=0" in out
    assert count(db, IngestWorker) == 0


def test_reconnects_after_the_broker_restarts(broker, db, tmp_path) -> None:  # noqa: F811
    codes = cover_codes(db, 10)
    proc = start_ingest(db, broker.ingest_url, tmp_path, *batch_for(broker), name="phoenix")
    log = tmp_path / "phoenix.log"
    try:
        assert wait_for(lambda: count(db, IngestWorker, IngestWorker.connected) == 1, 30)
        broker.restart()
        # Mosquitto 2.0.11 forgets a session's $share/ subscription across its own restart
        # until the client subscribes again; the embedded broker forgets the whole session.
        # Either way the worker subscribes again on reconnecting: publish once it has.
        assert wait_for(lambda: log.read_text().count("subscribing to") >= 2, 90), (
            log.read_text()[-2000:])
        time.sleep(1)
        pub = Publisher(broker.url)
        infos = [pub.publish(*reading(codes[i % 10], i)) for i in range(200)]
        for info in infos:
            info.wait_for_publish(30)
        pub.close()
        assert wait_for(lambda: count(db, Reading) == 200, 90), count(db, Reading)
        assert wait_for(lambda: count(db, IngestWorker, IngestWorker.reconnects >= 1), 20)
        text_ = log.read_text()
        assert "lost MQTT broker" in text_ and "reconnecting" in text_
    finally:
        stop(proc)


def test_acknowledged_messages_are_not_redelivered(broker, db, tmp_path) -> None:  # noqa: F811
    """The batched PUBACKs really reach the broker: a restarted worker gets nothing again."""
    codes = cover_codes(db, 20)
    proc = start_ingest(db, broker.ingest_url, tmp_path, *batch_for(broker), name="acker")
    pub = Publisher(broker.url)
    try:
        assert wait_for(lambda: count(db, IngestWorker, IngestWorker.connected) == 1, 30)
        infos = [pub.publish(*reading(codes[i % 20], i)) for i in range(1000)]
        for info in infos:
            info.wait_for_publish(30)
        assert wait_for(lambda: count(db, Reading) == 1000, 60), count(db, Reading)
        time.sleep(1)
        stop(proc)
        proc = start_ingest(db, broker.ingest_url, tmp_path, *batch_for(broker), name="acker")
        assert wait_for(lambda: "connected to MQTT broker" in (tmp_path / "acker.log")
                        .read_text().split("ingest acker stopping")[-1], 30)
        time.sleep(6)  # a heartbeat of the new process, after any redelivery would be in
        engine = create_engine(db)
        with engine.connect() as conn:
            received = conn.scalar(select(IngestWorker.received).where(
                IngestWorker.name == "acker"))
        assert received == 0
        assert count(db, Reading) == 1000
    finally:
        pub.close()
        stop(proc)
