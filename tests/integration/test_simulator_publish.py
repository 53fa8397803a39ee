"""The simulator's publisher against a real Mosquitto started on a free 127.0.0.1 port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from itertools import islice
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sensors.simulator import CST, DemoFleet, TrafficModel, run_simulator

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 0\n")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    pytest.fail(f"mosquitto did not start on port {port}: {err}")
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _subscriber(port: int, got: list[tuple[str, bytes]]) -> mqtt.Client:
    ready = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sim-test-sub")
    sub.on_connect = lambda c, *_: c.subscribe("onegrid/v1/#", qos=1)
    sub.on_subscribe = lambda *_: ready.set()
    sub.on_message = lambda _c, _u, m: got.append((m.topic, m.payload))
    sub.connect("127.0.0.1", port)
    sub.loop_start()
    assert ready.wait(10), "subscriber did not subscribe"
    return sub


def test_publishes_500_messages_and_the_broker_delivers_them_all(broker: int) -> None:
    got: list[tuple[str, bytes]] = []
    sub = _subscriber(broker, got)
    start = datetime.now(CST)
    try:
        stats = run_simulator(f"mqtt://127.0.0.1:{broker}", rate=1000.0, seed=1,
                              duration_s=30, start=start, max_messages=500,
                              client_id="sim-test-pub")
        deadline = time.monotonic() + 15
        while len(got) < 500 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sub.disconnect()
        sub.loop_stop()
    assert stats.total == 500 and stats.acked == 500 and not stats.errors
    expected = list(islice(TrafficModel(DemoFleet.load(), rate=1000.0, seed=1, start=start)
                           .messages(), 500))
    assert sorted(got) == sorted((m.topic, m.payload) for m in expected)
    assert stats.published == {k: sum(1 for m in expected if m.kind == k)
                               for k in {m.kind for m in expected}}


def test_no_broker_is_counted_not_raised() -> None:
    port = _free_port()  # nothing listens here
    stop = threading.Event()
    stats = run_simulator(f"mqtt://127.0.0.1:{port}", rate=200.0, seed=1, duration_s=1.0,
                          stop_event=stop, connect_timeout_s=0.5)
    assert stats.total > 50 and stats.acked == 0
    assert stats.errors.get("unacked") == stats.total


def test_stop_event_ends_a_run_without_duration(broker: int) -> None:
    """Without a duration the run goes on until the stop event; it then ends promptly with
    every message sent acknowledged. The stop is set once traffic is seen at the broker, so
    a slow start (loading the demo fleet on a busy machine) cannot make the run empty."""
    got: list[tuple[str, bytes]] = []
    sub = _subscriber(broker, got)
    stop = threading.Event()
    stopped_at: list[float] = []

    def stop_after_traffic() -> None:
        deadline = time.monotonic() + 60
        while len(got) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        stopped_at.append(time.monotonic())
        stop.set()

    threading.Thread(target=stop_after_traffic, daemon=True).start()
    try:
        stats = run_simulator(f"mqtt://127.0.0.1:{broker}", rate=100.0, seed=2, stop_event=stop)
        ended = time.monotonic()
    finally:
        sub.disconnect()
        sub.loop_stop()
    assert stopped_at and ended - stopped_at[0] < 5
    assert stats.total >= 30 and stats.acked == stats.total
