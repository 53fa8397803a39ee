"""The MQTT client of an ingest worker (paho-mqtt 2.x).

* QoS 1, a persistent session (fixed client id, no clean start): what arrives while the
  worker is away is queued by the broker.
* Manual acknowledgements: a message is acknowledged only when the pipeline has committed it.
  An acknowledgement from before a reconnect is dropped (its packet id belongs to the old
  connection; the broker redelivers the message and the database stores it once).
* Subscriptions are restored in ``on_connect``; reconnects back off from 1 s to 60 s.
* Handlers never raise into paho's network loop.
"""

from __future__ import annotations

import logging
import ssl
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from sensors.pipeline import Inbound
from sensors.schemas import now_utc

log = logging.getLogger("onegrid.mqtt")
PUBACK = 0x40
_PUBACK = struct.Struct("!BBH")


@dataclass
class ConnectionState:
    connected: bool = False
    state: str = "starting"
    reconnects: int = 0
    generation: int = 0


class IngestClient:
    """Subscribe to ``subscription`` and hand every message to ``sink``."""

    def __init__(self, target: Any, client_id: str, subscription: str,
                 sink: Callable[[Inbound], None], *, keepalive: int = 30) -> None:
        self.target = target
        self.subscription = subscription
        self.sink = sink
        self.keepalive = keepalive
        self.status = ConnectionState()
        self._lock = threading.Lock()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             clean_session=False, protocol=mqtt.MQTTv311, manual_ack=True)
        client.reconnect_delay_set(min_delay=1, max_delay=60)
        client.max_queued_messages_set(0)
        if getattr(target, "username", None):
            client.username_pw_set(target.username, getattr(target, "password", None))
        if getattr(target, "tls", False):
            context = ssl.create_default_context(cafile=getattr(target, "ca_file", None))
            if getattr(target, "insecure", False):
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            client.tls_set_context(context)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self.client = client

    @property
    def broker(self) -> str:
        return f"{self.target.host}:{self.target.port}"

    def start(self) -> None:
        log.info("connecting to MQTT broker %s as %s", self.broker,
                 self.client._client_id.decode())
        self.client.connect_async(self.target.host, self.target.port, keepalive=self.keepalive)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        with self._lock:
            self.status.connected = False
            self.status.state = "stopped"

    # -- paho callbacks: never raise -----------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _userdata: Any, flags: Any, reason: Any,
                    _properties: Any) -> None:
        try:
            if reason.is_failure:
                with self._lock:
                    self.status.state = f"connection refused: {reason}"
                log.error("MQTT broker %s refused the connection: %s", self.broker, reason)
                return
            with self._lock:
                self.status.generation += 1
                self.status.connected = True
                self.status.state = "connected"
            # By default subscribe on every connect, even when the broker says it kept our
            # session: Mosquitto 2.0.11 restores a persistent session after its own restart
            # without its $share/ subscription (tests/integration/test_ingest_mqtt.py).
            # rumqttd (the embedded broker) skips what it queued beyond its 100-message window
            # when a resumed session subscribes again: its URL says resubscribe=if-new.
            present = bool(getattr(flags, "session_present", False))
            if present and getattr(self.target, "resubscribe", "always") == "if-new":
                log.info("connected to MQTT broker %s (session present: True); keeping the "
                         "session's subscription %s", self.broker, self.subscription)
                return
            client.subscribe(self.subscription, qos=1)
            log.info("connected to MQTT broker %s (session present: %s); subscribing to %s",
                     self.broker, present, self.subscription)
        except Exception:  # pragma: no cover - defensive: never break the network loop
            log.exception("error in on_connect")

    def _on_subscribe(self, _client: mqtt.Client, _userdata: Any, _mid: int,
                      reasons: Any, _properties: Any) -> None:
        try:
            failed = [r for r in reasons if getattr(r, "is_failure", False)]
            if failed:
                log.error("broker refused subscription %s: %s", self.subscription, failed)
                with self._lock:
                    self.status.state = f"subscription refused: {failed[0]}"
        except Exception:  # pragma: no cover
            log.exception("error in on_subscribe")

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any,
                       _properties: Any) -> None:
        try:
            with self._lock:
                was = self.status.connected
                self.status.connected = False
                if self.status.state != "stopped":
                    self.status.state = f"disconnected ({reason}); reconnecting"
                    if was:
                        self.status.reconnects += 1
            if was:
                log.warning("lost MQTT broker %s (%s); reconnecting with backoff (1-60 s)",
                            self.broker, reason)
        except Exception:  # pragma: no cover
            log.exception("error in on_disconnect")

    def _on_message(self, _client: mqtt.Client, _userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        try:
            topic = message._topic.decode("utf-8", errors="replace")
            token = (self.status.generation, message.mid, message.qos) if message.qos else None
            self.sink(Inbound(topic, bytes(message.payload), now_utc(), token))
        except Exception:
            log.exception("could not hand over a message; the broker will redeliver it")

    def ack_many(self, tokens: list[Any]) -> None:
        """Acknowledge committed messages, in arrival order, in one socket write.

        paho acknowledges one message per call, each a wake-up of its network thread and a
        send of 4 bytes; at thousands of messages a second that costs more than storing them.
        The PUBACKs of a batch are therefore queued as one packet through paho's packet queue
        (paho-mqtt is pinned; ``tests/integration/test_ingest_mqtt.py`` checks that nothing
        acknowledged this way is redelivered). QoS 2 goes through ``Client.ack``.
        An acknowledgement from before a reconnect is dropped: its packet id belongs to the
        old connection; the broker redelivers the message and the database stores it once.
        """
        generation = self.status.generation
        mids = []
        try:
            for token in tokens:
                gen, mid, qos = token
                if gen != generation:
                    continue
                if qos == 1:
                    mids.append(mid)
                else:
                    self.client.ack(mid, qos)
            if mids:
                packet = b"".join(_PUBACK.pack(PUBACK, 2, mid) for mid in mids)
                self.client._packet_queue(PUBACK, packet, 0, 1)
        except Exception:  # pragma: no cover - the broker redelivers what was not acked
            log.exception("could not acknowledge %d messages", len(tokens))
