"""The QoS-1 guarantees the ingest relies on, checked on Mosquitto (shipped settings) and on the
embedded broker, with paho-mqtt 2.2 clients set up as the ingest's: MQTT 3.1.1,
``clean_session=False``, fixed client id, ``manual_ack=True``.

(a) what is published while a persistent session is offline arrives when it reconnects;
(b) what was delivered but not acknowledged is redelivered after an abrupt disconnect;
(c) ``$share/onegrid/onegrid/v1/#`` splits the stream, every message to exactly one member;
(d) a 3 MB payload passes (and a message over the contract's 3 MB still reaches the ingest);
(e) a subscriber that acknowledges in batches is not held to 20 messages in flight;
plus a Mosquitto restart keeping a persistent session's queue, and ``parse_mqtt_url``.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sensors.broker import MAX_PAYLOAD_BYTES, EmbeddedBroker, MqttTarget, parse_mqtt_url
from tests.brokers import (  # noqa: F401  (fixtures)
    HOST,
    SHIPPED_CONF,
    MosquittoBroker,
    RunningBroker,
    broker,
    embedded_broker,
    mosquitto,
    start_mosquitto,
    wait_for,
)

TOPIC = "onegrid/v1/#"
SHARED = "$share/onegrid/onegrid/v1/#"
READINGS = "onegrid/v1/readings/4499020101000001"
#: Unacknowledged messages a broker sends one subscriber: Mosquitto with the shipped
#: max_inflight_messages, rumqttd 0.20's fixed window.
WINDOW = {"mosquitto": 1000, "embedded": 100}


# -- clients -----------------------------------------------------------------------------------
class Subscriber:
    """A subscriber set up like the ingest: MQTT 3.1.1, persistent session, manual acks.

    ``auto_ack`` acknowledges each message as it arrives (in order); otherwise nothing is
    acknowledged until the test calls :meth:`ack`. ``resubscribe``: subscribe on every
    connect (True) or only when the broker has no session for us (False).
    """

    def __init__(self, target: RunningBroker, client_id: str, topic: str = TOPIC, *,
                 auto_ack: bool = False, resubscribe: bool = True,
                 username: str | None = None, password: str | None = None) -> None:
        self.target, self.topic, self.auto_ack = target, topic, auto_ack
        self.resubscribe = resubscribe
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=False, protocol=mqtt.MQTTv311,
                                  manual_ack=True)
        if username:
            self.client.username_pw_set(username, password)
        self.messages: list[mqtt.MQTTMessage] = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.disconnected = threading.Event()
        self.session_present: bool | None = None
        self.refused = None
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    def _on_connect(self, client, _u, flags, reason, _p) -> None:
        if reason.is_failure:
            self.refused = reason
            return
        self.session_present = flags.session_present
        if self.resubscribe or not flags.session_present:
            client.subscribe(self.topic, qos=1)
        self.connected.set()

    def _on_subscribe(self, _c, _u, _mid, reasons, _p) -> None:
        self.subscribed.set()

    def _on_message(self, client, _u, message) -> None:
        with self.lock:
            self.messages.append(message)
        if self.auto_ack:
            client.ack(message.mid, message.qos)

    def _on_disconnect(self, *_args) -> None:
        self.disconnected.set()

    def connect(self, timeout: float = 10.0) -> Subscriber:
        self.client.connect(self.target.host, self.target.port, keepalive=30)
        self.client.loop_start()
        assert wait_for(lambda: self.connected.is_set() or self.refused is not None, timeout), \
            "no CONNACK"
        if self.refused is not None:
            return self
        # A resumed session is subscribed already. (The embedded broker holds back this
        # SUBACK while its in-flight window is full of unacknowledged messages.)
        if not self.session_present:
            assert self.subscribed.wait(timeout), "no SUBACK"
        return self

    @property
    def payloads(self) -> list[bytes]:
        with self.lock:
            return [bytes(m.payload) for m in self.messages]

    def ids(self) -> list[int]:
        return [int(p) for p in self.payloads]

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def settle(self, quiet: float = 0.6, timeout: float = 20.0) -> int:
        """Wait until nothing new has arrived for ``quiet`` seconds; return the count."""
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            now = self.count()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
            time.sleep(0.05)
        return self.count()

    def ack(self, messages: Iterable[mqtt.MQTTMessage]) -> None:
        for message in messages:
            self.client.ack(message.mid, message.qos)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until paho has written every queued packet (e.g. our PUBACKs) to the socket."""
        assert wait_for(lambda: not self.client.want_write(), timeout), "PUBACKs not sent"
        time.sleep(0.2)  # and give the broker a moment to process them

    def abort(self) -> None:
        """Drop the connection without DISCONNECT, as a killed process would."""
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        time.sleep(0.2)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish(target: RunningBroker, n: int, *, start: int = 0, topic: str = READINGS,
            payload: bytes | None = None, client_id: str = "test-publisher",
            timeout: float = 60.0) -> float:
    """Publish ``n`` QoS-1 messages (payload = the message's number) and wait for every
    PUBACK; return the seconds it took."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(target.host, target.port, keepalive=30)
    client.loop_start()
    try:
        began = time.monotonic()
        infos = [client.publish(topic, payload if payload is not None else str(i).encode(),
                                qos=1) for i in range(start, start + n)]
        deadline = began + timeout
        for info in infos:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
        assert all(info.is_published() for info in infos), "publisher got no PUBACK"
        return time.monotonic() - began
    finally:
        client.disconnect()
        client.loop_stop()


def subscribed(target: RunningBroker, client_id: str, **kwargs) -> Subscriber:
    return Subscriber(target, client_id, **kwargs).connect()


# -- (a) offline queue -------------------------------------------------------------------------
def test_offline_persistent_session_gets_everything_on_reconnect(broker) -> None:  # noqa: F811
    n = 5000  # more than Mosquitto's default queue of 1000
    first = subscribed(broker, "ingest-a")
    first.close()
    publish(broker, n)
    again = subscribed(broker, "ingest-a", auto_ack=True)
    try:
        assert again.session_present is True
        assert wait_for(lambda: again.count() >= n, 30)
        assert again.settle() == n
        assert sorted(again.ids()) == list(range(n))
    finally:
        again.close()


@pytest.mark.parametrize("resubscribe", [False, True], ids=["subscribe-if-new", "resubscribe"])
def test_offline_shared_session_gets_everything_on_reconnect(broker, resubscribe) -> None:  # noqa: F811
    """The ingest's own case: one worker on the shared subscription, away while 500 messages
    arrive. Subscribing only when the broker reports no session works on both brokers.
    Re-subscribing on a resumed session works on Mosquitto, but on the embedded broker
    (rumqttd 0.20) it skips everything queued past the first 100: that case is asserted
    as it is, so that a broker change shows up here."""
    n = 500
    first = subscribed(broker, "ingest-s", topic=SHARED, resubscribe=resubscribe)
    first.close()
    publish(broker, n)
    again = subscribed(broker, "ingest-s", topic=SHARED, auto_ack=True,
                       resubscribe=resubscribe)
    try:
        assert again.session_present is True
        if resubscribe and broker.kind == "embedded":
            assert again.settle(quiet=1.0) == 100  # 400 lost
            return
        assert wait_for(lambda: again.count() >= n, 30)
        assert again.settle() == n
        assert sorted(again.ids()) == list(range(n))
    finally:
        again.close()


# -- (b) redelivery of what was not acknowledged -----------------------------------------------
def test_unacknowledged_messages_are_redelivered_after_an_abrupt_disconnect(
        broker) -> None:  # noqa: F811
    n = 2 * WINDOW[broker.kind] + 100
    sub = subscribed(broker, "ingest-b")
    publish(broker, n)
    delivered = sub.settle()
    assert 0 < delivered < n  # held back by the in-flight window: nothing acknowledged yet
    first = list(sub.messages)
    acked = first[: len(first) // 3]  # a prefix, in order (the embedded broker needs that)
    sub.ack(acked)
    sub.flush()
    first = list(sub.messages)  # the window moved on by what was acknowledged
    sub.abort()

    acked_ids = {int(m.payload) for m in acked}
    unacked_ids = {int(m.payload) for m in first} - acked_ids
    again = subscribed(broker, "ingest-b", auto_ack=True)
    try:
        assert wait_for(lambda: again.count() >= n - len(acked_ids), 30)
        assert again.settle() == n - len(acked_ids)
        second = set(again.ids())
        assert second == set(range(n)) - acked_ids          # nothing lost, nothing acked again
        assert {i for i in second if i in {int(m.payload) for m in first}} == unacked_ids
    finally:
        again.close()


def test_mosquitto_takes_acknowledgements_in_any_order(mosquitto) -> None:  # noqa: F811
    n = 100
    sub = subscribed(mosquitto, "ingest-ooo")
    publish(mosquitto, n)
    sub.settle()
    first = list(sub.messages)
    acked = [m for m in first if int(m.payload) % 3 == 0]
    sub.ack(acked)
    sub.flush()
    sub.settle()
    seen = {int(m.payload) for m in sub.messages}
    sub.abort()
    again = subscribed(mosquitto, "ingest-ooo", auto_ack=True)
    try:
        again.settle()
        acked_ids = {int(m.payload) for m in acked}
        assert set(again.ids()) == set(range(n)) - acked_ids
        assert {m.dup for m in again.messages if int(m.payload) in seen} == {True}
    finally:
        again.close()


def test_plain_session_survives_an_abrupt_drop_on_the_embedded_broker(
        embedded_broker) -> None:  # noqa: F811
    """What the embedded broker's one ingest worker relies on (its URL says shared=0). With a
    $share/ subscription instead, rumqttd 0.20's router thread was seen to panic
    (routing.rs:512) when the session dropped abruptly with messages in flight — not on every
    run, so that is not pinned by a test; it is why the embedded URL says shared=0."""
    sub = subscribed(embedded_broker, "ingest-plain")
    publish(embedded_broker, 300)
    assert 0 < sub.settle() < 300
    sub.abort()
    again = subscribed(embedded_broker, "ingest-plain", auto_ack=True, resubscribe=False)
    try:
        assert again.session_present is True
        assert wait_for(lambda: again.count() >= 300, 30)
        assert sorted(set(again.ids())) == list(range(300))
    finally:
        again.close()


def test_embedded_broker_needs_acknowledgements_in_delivery_order(
        embedded_broker) -> None:  # noqa: F811
    """rumqttd 0.20 expects PUBACKs in delivery order. An out-of-order one makes it drop the
    connection and forget the message at the head of its window: never redelivered. The
    ingest acknowledges in arrival order for this reason; if this test starts failing, the
    broker has changed."""
    sub = subscribed(embedded_broker, "ingest-order")
    publish(embedded_broker, 10)
    assert sub.settle() == 10
    sub.ack([sub.messages[1]])  # skips message 0
    assert sub.disconnected.wait(5), "the embedded broker kept the connection"
    sub.client.loop_stop()
    again = subscribed(embedded_broker, "ingest-order", auto_ack=True)
    try:
        again.settle()
        assert sorted(again.ids()) == list(range(1, 10))  # 0 is gone
    finally:
        again.close()


# -- (c) shared subscriptions ------------------------------------------------------------------
def test_shared_subscription_splits_the_stream(broker) -> None:  # noqa: F811
    n = 3000
    one = subscribed(broker, "ingest-w1", topic=SHARED, auto_ack=True)
    two = subscribed(broker, "ingest-w2", topic=SHARED, auto_ack=True)
    try:
        publish(broker, n)
        assert wait_for(lambda: one.count() + two.count() >= n, 30)
        one.settle()
        two.settle()
        a, b = one.ids(), two.ids()
        assert len(a) + len(b) == n
        assert sorted(a + b) == list(range(n))  # each message exactly once
        assert len(a) > 0 and len(b) > 0
    finally:
        one.close()
        two.close()


# -- (d) payload size --------------------------------------------------------------------------
@pytest.mark.parametrize("size", [3 * 1024 * 1024, 3_500_000],
                         ids=["3MiB-snapshot", "over-contract-3.5MB"])
def test_large_payload_passes(broker, size: int) -> None:  # noqa: F811
    payload = os.urandom(size)
    sub = subscribed(broker, "ingest-big", auto_ack=True)
    try:
        publish(broker, 1, topic="onegrid/v1/detections/CAM-000001", payload=payload,
                timeout=20)
        assert wait_for(lambda: sub.count() == 1, 20)
        assert sub.messages[0].payload == payload
    finally:
        sub.close()


def test_payload_over_the_broker_limit_is_refused(broker) -> None:  # noqa: F811
    sub = subscribed(broker, "ingest-huge", auto_ack=True)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="huge-publisher")
    dropped = threading.Event()
    client.on_disconnect = lambda *_a: dropped.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish("onegrid/v1/detections/CAM-000001",
                       b"x" * (MAX_PAYLOAD_BYTES + 64 * 1024), qos=1)
        assert dropped.wait(10), "the broker accepted a payload over its limit"
        time.sleep(0.5)
        assert sub.count() == 0
    finally:
        client.loop_stop()
        client.disconnect()
        sub.close()


# -- (e) in-flight window and batch acknowledgements -------------------------------------------


def test_in_flight_window(broker) -> None:  # noqa: F811
    """Mosquitto: max_inflight_messages 1000 from the shipped config (its default is 20);
    embedded: rumqttd's fixed 100. A subscriber that never acknowledges gets exactly that."""
    sub = subscribed(broker, "ingest-window")
    try:
        publish(broker, 3 * WINDOW[broker.kind])
        assert sub.settle() == WINDOW[broker.kind]
    finally:
        sub.abort()


def test_batch_acknowledgements_keep_the_stream_flowing(broker, record_property) -> None:  # noqa: F811
    """Acknowledge everything received every 50 ms, in order, as the ingest does after each
    commit: every message arrives exactly once. The rate is printed (pytest -s) and recorded,
    not asserted, since it depends on the machine. With the publisher in this process,
    Mosquitto kept up with it (~6,700 msg/s here); the embedded broker is held by its
    window of 100 per acknowledgement round (~1,600-2,000 msg/s at 50 ms)."""
    n = 10_000
    sub = subscribed(broker, "ingest-rate")
    stop = threading.Event()

    def acker() -> None:
        done = 0
        while not stop.is_set():
            time.sleep(0.05)
            with sub.lock:
                batch = sub.messages[done:]
            sub.ack(batch)
            done += len(batch)

    thread = threading.Thread(target=acker, daemon=True)
    thread.start()
    began = time.monotonic()
    try:
        publish(broker, n, timeout=60)
        assert wait_for(lambda: sub.count() >= n, 60)
        elapsed = time.monotonic() - began
        assert sub.settle(quiet=0.3) == n
        assert sorted(sub.ids()) == list(range(n))
        rate = n / elapsed
        record_property("msg_per_s", round(rate))
        print(f"{broker.kind}: {n} messages in {elapsed:.2f} s = {rate:.0f} msg/s")
    finally:
        stop.set()
        thread.join(2)
        sub.close()


# -- restart -----------------------------------------------------------------------------------
def test_restart_keeps_a_persistent_session_on_mosquitto_only(broker) -> None:  # noqa: F811
    n = 2000
    sub = subscribed(broker, "ingest-restart")
    sub.close()
    publish(broker, n)
    broker.restart()
    again = subscribed(broker, "ingest-restart", auto_ack=True)
    try:
        if broker.keeps_sessions:  # Mosquitto: saved on SIGTERM, loaded on start
            assert again.session_present is True
            assert wait_for(lambda: again.count() >= n, 30)
            assert again.settle() == n
            assert sorted(again.ids()) == list(range(n))
        else:  # the embedded broker keeps sessions in memory only
            assert again.session_present is False
            assert again.settle(quiet=0.5) == 0
    finally:
        again.close()


def test_mosquitto_default_queue_limit_drops_silently(tmp_path) -> None:
    """Why the shipped config sets max_queued_messages 0: with Mosquitto's default (1000) a
    persistent session that is away loses everything past the 1000th message, and the
    publisher has its PUBACK for every one of them."""
    defaults = start_mosquitto(tmp_path, config_overrides={
        "max_queued_messages": "1000", "max_queued_bytes": None,
        "max_inflight_messages": "20", "sys_interval": "1"})
    try:
        sub = subscribed(defaults, "ingest-default")
        sub.close()
        publish(defaults, 3000)  # all acknowledged to the publisher
        again = subscribed(defaults, "ingest-default", auto_ack=True)
        watcher = subscribed(defaults, "watcher", topic="$SYS/broker/publish/messages/dropped",
                             auto_ack=True)
        try:
            assert again.settle() == 1000
            assert sorted(again.ids()) == list(range(1000))
            # the only traces of the loss: a counter and a log line
            assert wait_for(lambda: b"2000" in watcher.payloads, 5), watcher.payloads
            assert "Outgoing messages are being dropped for client ingest-default" in \
                defaults.log.read_text()
        finally:
            again.close()
            watcher.close()
    finally:
        defaults.stop()


# -- the shipped files as a whole: listeners, users, ACL ---------------------------------------
def _passwd(path: Path, users: dict[str, str]) -> None:
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.fail("mosquitto_passwd is missing (apt-get install mosquitto)")
    for i, (user, password) in enumerate(users.items()):
        flags = ["-c"] if i == 0 else []
        subprocess.run([tool, *flags, "-b", str(path), user, password], check=True,
                       capture_output=True)


def _connect_as(target: RunningBroker, user: str, password: str,
                client_id: str) -> tuple[mqtt.Client, threading.Event, list]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.username_pw_set(user, password)
    ok, result = threading.Event(), []
    client.on_connect = lambda _c, _u, _f, reason, _p: (result.append(reason), ok.set())
    client.connect(target.host, target.port)
    client.loop_start()
    assert ok.wait(10)
    return client, ok, result


def test_shipped_config_with_users_and_acl(tmp_path) -> None:
    """deploy/mosquitto/onegrid.conf as shipped (listener port and file paths rewritten to
    the test's) with acl.example: devices publish only under their own code, the ingest
    reads through the shared subscription, anonymous clients are refused."""
    acl = (SHIPPED_CONF.parent / "acl.example").read_text(encoding="utf-8")
    acl += "\nuser DEV-MHC-000001\ntopic write onegrid/v1/readings/4499020101000001\n"
    (tmp_path / "onegrid.acl").write_text(acl, encoding="utf-8")
    _passwd(tmp_path / "onegrid.passwd", {"onegrid-ingest": "ingest-pw",
                                          "CAM-000001": "cam1-pw", "CAM-000002": "cam2-pw",
                                          "DEV-MHC-000001": "mhc1-pw"})
    conf = SHIPPED_CONF.read_text(encoding="utf-8")
    assert "listener 1883\n" in conf
    running = MosquittoBroker(tmp_path)
    replacements = {
        "/var/lib/mosquitto/": f"{tmp_path}/",
        "/etc/mosquitto/onegrid.passwd": str(tmp_path / "onegrid.passwd"),
        "/etc/mosquitto/onegrid.acl": str(tmp_path / "onegrid.acl"),
        "/var/log/mosquitto/mosquitto.log": str(running.log),
        "/run/mosquitto/mosquitto.pid": str(tmp_path / "mosquitto.pid"),
        "listener 1883\n": f"listener {running.port} {HOST}\n",
    }
    for old, new in replacements.items():
        assert old in conf, old
        conf = conf.replace(old, new)
    conf = f"user {pwd.getpwuid(os.getuid()).pw_name}\n" + conf  # see tests/brokers.py
    running.conf.write_text(conf, encoding="utf-8")
    running.start()
    clients: list[mqtt.Client] = []
    try:
        ingest = Subscriber(running, "onegrid-ingest-1", SHARED, auto_ack=True,
                            username="onegrid-ingest", password="ingest-pw").connect()
        assert ingest.refused is None
        for user, password, topic in [
                ("CAM-000001", "cam1-pw", "onegrid/v1/detections/CAM-000001"),    # own: ok
                ("CAM-000001", "cam1-pw", "onegrid/v1/status/CAM-000001"),        # own: ok
                ("CAM-000001", "cam1-pw", "onegrid/v1/detections/CAM-000002"),    # not its own
                ("DEV-MHC-000001", "mhc1-pw", READINGS),                          # granted
                ("CAM-000002", "cam2-pw", READINGS)]:                             # not granted
            client, _ok, result = _connect_as(running, user, password, f"{user}-{len(clients)}")
            clients.append(client)
            assert not result[0].is_failure, result
            info = client.publish(topic, f"{user} {topic}".encode(), qos=1)
            info.wait_for_publish(10)
            assert info.is_published()  # PUBACK even where the ACL denies: dropped quietly
        ingest.settle()
        assert sorted(ingest.payloads) == sorted([
            b"CAM-000001 onegrid/v1/detections/CAM-000001",
            b"CAM-000001 onegrid/v1/status/CAM-000001",
            b"DEV-MHC-000001 " + READINGS.encode()])
        # a device cannot announce another one offline: its last will is checked like a
        # publish when the broker sends it, and dropped
        liar = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="CAM-000002-will")
        liar.username_pw_set("CAM-000002", "cam2-pw")
        liar.will_set("onegrid/v1/status/CAM-000001", b"CAM-000002 will", qos=1)
        liar.connect(running.host, running.port)
        liar.loop_start()
        honest = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="CAM-000001-will")
        honest.username_pw_set("CAM-000001", "cam1-pw")
        honest.will_set("onegrid/v1/status/CAM-000001", b"CAM-000001 will", qos=1)
        honest.connect(running.host, running.port)
        honest.loop_start()
        for client in (liar, honest):
            assert wait_for(client.is_connected, 10)
            client.loop_stop()
            client.socket().close()  # dies without DISCONNECT: the broker sends the will
        assert wait_for(lambda: b"CAM-000001 will" in ingest.payloads, 10)
        ingest.settle()
        assert b"CAM-000002 will" not in ingest.payloads
        anonymous = Subscriber(running, "nobody").connect()
        assert anonymous.refused is not None and anonymous.refused.is_failure
        wrong = Subscriber(running, "intruder", username="onegrid-ingest",
                           password="guess").connect()
        assert wrong.refused is not None and wrong.refused.is_failure
        for sub in (ingest, anonymous, wrong):
            sub.client.loop_stop()
    finally:
        for client in clients:
            client.loop_stop()
        running.stop()


# -- the embedded broker's own interface -------------------------------------------------------
def test_embedded_broker_binds_loopback_on_a_free_port_and_says_so(caplog) -> None:
    caplog.set_level(logging.INFO, logger="onegrid.broker")
    with EmbeddedBroker() as embedded:
        assert embedded.port != 1883
        assert embedded.url == (f"mqtt://127.0.0.1:{embedded.port}"
                                "?resubscribe=if-new&shared=0")
        assert embedded.is_running and embedded.pid
        assert (f"embedded MQTT broker listening on 127.0.0.1:{embedded.port}"
                in caplog.messages)
        lines = subprocess.run(["ss", "-Hltn", f"sport = :{embedded.port}"],
                               capture_output=True, text=True, check=True).stdout.split("\n")
        listening = [line.split()[3] for line in lines if line.strip()]
        assert listening == [f"127.0.0.1:{embedded.port}"]
        port = embedded.port
    assert not embedded.is_running
    with socket.socket() as probe:  # the port is free again
        probe.bind((HOST, port))


def test_embedded_broker_on_a_taken_port_says_what_to_do() -> None:
    with socket.socket() as holder:
        holder.bind((HOST, 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(OSError, match=f"port {port} .* in use"):
            EmbeddedBroker(port).start()


# -- parse_mqtt_url ----------------------------------------------------------------------------
@pytest.fixture
def ca_file(tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    return str(path)


def test_parse_plain_url_with_default_port() -> None:
    assert parse_mqtt_url("mqtt://broker.example") == MqttTarget("broker.example", 1883)
    assert parse_mqtt_url(" MQTT://127.0.0.1:1884/ ") == MqttTarget("127.0.0.1", 1884)


def test_parse_tls_url_with_user_and_options(ca_file: str) -> None:
    target = parse_mqtt_url(f"mqtts://ingest%40city:p%3Ass%2Fw@mq.city.gov.cn?ca={ca_file}")
    assert target == MqttTarget("mq.city.gov.cn", 8883, "ingest@city", "p:ss/w", tls=True,
                                ca_file=ca_file)
    assert "p:ss" not in repr(target)
    assert target.url == "mqtts://ingest@city:***@mq.city.gov.cn:8883"
    insecure = parse_mqtt_url("mqtts://[::1]:8884?insecure=1")
    assert (insecure.host, insecure.port, insecure.insecure, insecure.tls) == ("::1", 8884,
                                                                               True, True)
    assert insecure.url == "mqtts://[::1]:8884"
    assert parse_mqtt_url("mqtts://h?insecure=false").insecure is False
    with_cert = parse_mqtt_url(f"mqtts://h?cert={ca_file}&key={ca_file}")
    assert (with_cert.cert_file, with_cert.key_file) == (ca_file, ca_file)


def test_parse_user_without_password() -> None:
    target = parse_mqtt_url("mqtt://reader@h:1883")
    assert (target.username, target.password) == ("reader", None)


@pytest.mark.parametrize(("url", "message"), [
    ("", "empty"),
    ("localhost:1883", "no scheme"),
    ("http://h:1883", "must be mqtt:// or mqtts://"),
    ("ws://h", "must be mqtt:// or mqtts://"),
    ("mqtt://:1883", "no host"),
    ("mqtt://h:port", "port must be a number"),
    ("mqtt://h:70000", "port must be a number"),
    ("mqtt://h:0", "port must be a number"),
    ("mqtt://h/onegrid", "unexpected path"),
    ("mqtt://h#x", "unexpected fragment"),
    ("mqtt://:secret@h", "password needs a user name"),
    ("mqtt://h?ca=/x.pem", "only apply to TLS"),
    ("mqtts://h?cafile=/x.pem", "unknown option 'cafile'"),
    ("mqtts://h?insecure=maybe", "1/true or 0/false"),
    ("mqtts://h?insecure=1&insecure=0", "given twice"),
    ("mqtts://h?ca=/nonexistent/ca.pem", "ca file /nonexistent/ca.pem does not exist"),
    ("mqtts://h?ca=", "needs a file path"),
])
def test_parse_rejects_bad_urls_clearly(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_mqtt_url(url)


def test_parse_error_never_shows_the_password() -> None:
    with pytest.raises(ValueError) as caught:
        parse_mqtt_url("mqtt://user:hunter2@h:notaport")
    assert "hunter2" not in str(caught.value)
    assert "user:***@h" in str(caught.value)


def test_key_without_cert_is_refused(ca_file: str) -> None:
    with pytest.raises(ValueError, match="key= needs cert="):
        parse_mqtt_url(f"mqtts://h?key={ca_file}")


def test_parse_resubscribe_option() -> None:
    assert parse_mqtt_url("mqtt://127.0.0.1:1883").resubscribe == "always"
    assert parse_mqtt_url("mqtt://127.0.0.1:1883?resubscribe=if-new").resubscribe == "if-new"
    with pytest.raises(ValueError, match="resubscribe=sometimes should be always or if-new"):
        parse_mqtt_url("mqtt://127.0.0.1:1883?resubscribe=sometimes")
