"""Sending shop notices out (the scheduler's notice pass): reminders, then the outbox.

* Webhook: an HTTP POST of the JSON payload (``application/json; charset=utf-8``) with a
  short timeout; any 2xx is sent, anything else (or no answer) is retried with backoff.
* MQTT: published at QoS 1 to ``onegrid/v1/notices/{shop_code}`` on the broker the process
  uses (``ONEGRID_MQTT_URL``, or the web process's embedded broker); sent when the broker
  acknowledged it (PUBACK).

One pass: claim (one short transaction), send (no transaction open), record the results
(another short transaction). A process that dies in between leaves leased deliveries that
another pass takes up once the lease has run out.
"""

from __future__ import annotations

import json
import logging
import secrets
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from data.notices import Outgoing, claim_deliveries, mark_failed, mark_sent, send_reminders
from data.types import utcnow

log = logging.getLogger("onegrid.notices")
TIMEOUT_S = 5.0


@dataclass
class NoticeReport:
    reminded: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    given_up: list[int] = field(default_factory=list)


def post_webhook(url: str, body: dict[str, Any], timeout: float = TIMEOUT_S) -> None:
    """POST ``body`` as JSON; raise ``OSError`` (with the reason) unless the answer is 2xx."""
    data = json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "OneGrid-notices/1"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise OSError(f"HTTP {exc.code} from the webhook") from None
    if not 200 <= status < 300:
        raise OSError(f"HTTP {status} from the webhook")


class MqttPublisher:
    """One short MQTT connection for a pass's publications (QoS 1, MQTT 3.1.1, clean
    session), to a broker URL as ``sensors.broker.parse_mqtt_url`` reads it."""

    def __init__(self, url: str, timeout: float = TIMEOUT_S) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        from sensors.broker import parse_mqtt_url

        self.target = parse_mqtt_url(url)
        self.timeout = timeout
        client = mqtt.Client(CallbackAPIVersion.VERSION2,
                             client_id=f"onegrid-notices-{secrets.token_hex(4)}",
                             clean_session=True, protocol=mqtt.MQTTv311)
        if self.target.username:
            client.username_pw_set(self.target.username, self.target.password)
        if self.target.tls:
            context = ssl.create_default_context(cafile=self.target.ca_file)
            if self.target.cert_file:
                context.load_cert_chain(self.target.cert_file, self.target.key_file)
            if self.target.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            client.tls_set_context(context)
        self.client = client
        self.connected = False

    def connect(self) -> None:
        import threading

        ready = threading.Event()
        result: list[Any] = []

        def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
            result.append(reason)
            ready.set()

        self.client.on_connect = on_connect
        self.client.connect(self.target.host, self.target.port, keepalive=30)
        self.client.loop_start()
        if not ready.wait(self.timeout) or (result and result[0].is_failure):
            self.close()
            raise OSError(f"MQTT broker {self.target.url} did not accept the connection"
                          + (f": {result[0]}" if result else ""))
        self.connected = True

    def publish(self, topic: str, body: dict[str, Any]) -> None:
        info = self.client.publish(topic, json.dumps(body, ensure_ascii=False), qos=1)
        info.wait_for_publish(self.timeout)
        if not info.is_published():
            raise OSError(f"MQTT broker did not acknowledge the notice on {topic}")

    def close(self) -> None:
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()


def _send(batch: list[Outgoing], mqtt_url: str | None) -> dict[int, str | None]:
    """Send a claimed batch: delivery id → None (sent) or the error."""
    results: dict[int, str | None] = {}
    publisher: MqttPublisher | None = None
    publisher_error: str | None = None
    down: dict[str, str] = {}  # a webhook that failed is not tried again in this pass
    try:
        for item in batch:
            try:
                if item.channel == "webhook":
                    if item.target in down:
                        raise OSError(down[item.target])
                    try:
                        post_webhook(item.target, item.payload)
                    except OSError as exc:
                        down[item.target] = str(exc) or type(exc).__name__
                        raise
                else:
                    if publisher_error is not None:
                        raise OSError(publisher_error)
                    if publisher is None:
                        if mqtt_url is None:
                            raise OSError("no MQTT broker configured")
                        candidate = MqttPublisher(mqtt_url)
                        try:
                            candidate.connect()
                        except (OSError, ValueError) as exc:
                            publisher_error = str(exc) or type(exc).__name__
                            raise
                        publisher = candidate
                    publisher.publish(item.target, item.payload)
                results[item.delivery_id] = None
            except Exception as exc:  # one failing delivery never stops the others
                results[item.delivery_id] = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        if publisher is not None:
            publisher.close()
    return results


def run_notices(services: Any, now: datetime | None = None, *, mqtt_url: str | None = None,
                limit: int = 100) -> NoticeReport:
    """One notice pass: remind shops whose deadline is near, then send what is due (MQTT
    deliveries only when this process knows a broker: ``mqtt_url``)."""
    now = now or utcnow()
    settings = services.settings
    report = NoticeReport()
    channels = ("webhook", "mqtt") if mqtt_url else ("webhook",)
    with services.transaction() as session:
        report.reminded = send_reminders(session, now, tz=services.cases.calendar.tz)
        batch = claim_deliveries(session, now, limit, channels=channels,
                                 secret=settings.resolved_secret_key(),
                                 public_url=settings.public_url)
    if not batch:
        return report
    results = _send(batch, mqtt_url)
    done = now
    with services.transaction() as session:
        for delivery_id, error in results.items():
            if error is None:
                mark_sent(session, delivery_id, done)
                report.sent.append(delivery_id)
            elif mark_failed(session, delivery_id, error, done) == "failed":
                report.given_up.append(delivery_id)
            else:
                report.retrying.append(delivery_id)
    if report.retrying or report.given_up:
        log.warning("notices: %d sent, %d to retry, %d given up", len(report.sent),
                    len(report.retrying), len(report.given_up))
    return report
