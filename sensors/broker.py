"""Where the MQTT broker is: the broker URL, and the embedded broker used when there is none.

``parse_mqtt_url`` reads ``ONEGRID_MQTT_URL`` (``mqtt://`` or ``mqtts://``, user and password,
TLS options in the query string) into a :class:`MqttTarget`.

:class:`EmbeddedBroker` is the broker ``python app.py`` starts when ``ONEGRID_MQTT_URL`` is
unset: rumqttd 0.20 (compiled into the ``iotcore`` 0.4.0 wheel) in a child process, listening
on 127.0.0.1 only, on a free port of its own. Measured with paho-mqtt 2.2 and MQTT 3.1.1
(``tests/integration/test_brokers.py``), it keeps the ingest's guarantees — QoS 1 messages
queued for an offline persistent session, unacknowledged messages redelivered after a
reconnect, ``$share/`` subscriptions splitting the stream, 3 MB payloads — with these limits,
which the ingest must respect:

* **MQTT 3.1.1 only** on its port (a v5 CONNECT gets no CONNACK). Use ``MQTTv311`` with
  ``clean_session=False``; that works on Mosquitto too.
* **At most 100 unacknowledged messages in flight per connection**, fixed in rumqttd 0.20
  (``max_inflight_count`` does not change it). An ingest that acknowledges every 50 ms gets at
  most 100 / 0.05 s = 2,000 msg/s; acknowledge at least every ~50 messages (or run several
  shared-subscription connections) to reach 10,000 msg/s.
* **Acknowledge in delivery order.** An out-of-order PUBACK makes rumqttd drop the connection
  and forget the message at the head of its window: that message is never redelivered.
* **Do not re-subscribe a resumed session to a** ``$share/`` **filter.** When the CONNACK says
  ``session_present``, the broker still has the subscription; subscribing again makes rumqttd
  skip what was queued beyond the first 100 messages (measured: 100 of 500 delivered).
  Subscribe only when ``session_present`` is false; that works on Mosquitto too.
* Sessions and queued messages live **in memory only**: stopping the broker loses them. For
  production use Mosquitto with ``deploy/mosquitto/onegrid.conf``.
* Messages are kept in an in-memory log of ``segment_count`` x ``segment_size`` bytes per topic
  filter (512 MiB here); older ones are gone, also for a session that has not read them yet.
* Redelivered messages do not carry the DUP flag.
* While one member of a shared subscription is connected, rumqttd gives it everything; Mosquitto
  keeps handing an offline member its round-robin share, which waits for that member.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

log = logging.getLogger("onegrid.broker")

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
TLS_OPTIONS = ("ca", "cert", "key", "insecure")
RESUBSCRIBE = ("always", "if-new")
OPTIONS = (*TLS_OPTIONS, "resubscribe", "shared")
_TRUE = {"", "1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

#: The device contract allows 3 MB per detection message. Up to this size a message still
#: reaches the ingest, which dead-letters it as ``payload_too_large``; beyond it the broker
#: drops the publisher's connection. Same bound as ``max_packet_size`` in onegrid.conf.
MAX_PAYLOAD_BYTES = 8 * 1024 * 1024


# -- the broker URL ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MqttTarget:
    """A broker to connect to, as read from an ``mqtt://`` / ``mqtts://`` URL."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False
    resubscribe: str = "always"
    shared: bool = True

    @property
    def url(self) -> str:
        """The URL with the password masked: safe for logs and the health page."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = ""
        if self.username is not None:
            user = self.username + (":***" if self.password is not None else "") + "@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{user}{host}:{self.port}"


def parse_mqtt_url(url: str) -> MqttTarget:
    """Read a broker URL such as ``mqtts://user:pw@host:8883?ca=/path/ca.pem``.

    Scheme ``mqtt`` (default port 1883) or ``mqtts`` (TLS, default port 8883). User name and
    password may be percent-encoded. Query options, for ``mqtts`` only: ``ca`` (CA bundle
    file), ``cert`` and ``key`` (client certificate), ``insecure`` (``1``/``true``: do not
    verify the broker's certificate and host name). For any scheme, ``resubscribe``:
    ``always`` (default: subscribe on every connect, which Mosquitto needs after its own
    restart) or ``if-new`` (subscribe only when the broker kept no session; rumqttd, the
    embedded broker, skips what it queued for a resumed session that subscribes again);
    ``shared`` (``1`` default: workers join the ``$share/onegrid/`` group; ``0``: a plain
    subscription for a single consumer, which rumqttd needs). Raises ``ValueError`` saying
    what is wrong; the password never appears in the message.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError("MQTT URL is empty: write it as mqtt://host:1883 or "
                         "mqtts://user:password@host:8883")
    url = url.strip()
    shown = _mask(url)
    if "://" not in url:
        raise ValueError(f"MQTT URL {shown!r} has no scheme: write it as mqtt://{shown} "
                         "(or mqtts:// for TLS)")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"MQTT URL {shown!r}: the scheme must be mqtt:// or mqtts://, "
                         f"not {scheme}://")
    if not parts.hostname:
        raise ValueError(f"MQTT URL {shown!r} has no host: e.g. {scheme}://127.0.0.1")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"MQTT URL {shown!r}: the port must be a number from 1 to 65535")
    if port == 0:
        raise ValueError(f"MQTT URL {shown!r}: the port must be a number from 1 to 65535")
    if parts.path not in ("", "/"):
        raise ValueError(f"MQTT URL {shown!r}: unexpected path {parts.path!r}; a broker URL "
                         "is scheme://[user[:password]@]host[:port][?options]")
    if parts.fragment:
        raise ValueError(f"MQTT URL {shown!r}: unexpected fragment #{parts.fragment}")
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise ValueError(f"MQTT URL {shown!r}: a password needs a user name (user:password@)")

    options: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in OPTIONS:
            raise ValueError(f"MQTT URL {shown!r}: unknown option {key!r}; the options are "
                             + ", ".join(OPTIONS))
        if key in options:
            raise ValueError(f"MQTT URL {shown!r}: option {key!r} given twice")
        options[key] = value
    tls = scheme == "mqtts"
    resubscribe = options.pop("resubscribe", "always")
    if resubscribe not in RESUBSCRIBE:
        raise ValueError(f"MQTT URL {shown!r}: resubscribe={resubscribe} should be "
                         + " or ".join(RESUBSCRIBE))
    shared = True
    if "shared" in options:
        flag = options.pop("shared").lower()
        if flag not in _TRUE | _FALSE:
            raise ValueError(f"MQTT URL {shown!r}: shared={flag} should be 1/true or 0/false")
        shared = flag in _TRUE
    if options and not tls:
        raise ValueError(f"MQTT URL {shown!r}: {', '.join(options)} only apply to TLS; "
                         "use mqtts://")
    files = {}
    for key in ("ca", "cert", "key"):
        if key in options:
            path = options[key]
            if not path:
                raise ValueError(f"MQTT URL {shown!r}: option {key}= needs a file path")
            if not os.path.isfile(path):
                raise ValueError(f"MQTT URL {shown!r}: {key} file {path} does not exist")
            files[key] = path
    if "key" in files and "cert" not in files:
        raise ValueError(f"MQTT URL {shown!r}: key= needs cert= (the client certificate)")
    insecure = False
    if "insecure" in options:
        flag = options["insecure"].lower()
        if flag not in _TRUE | _FALSE:
            raise ValueError(f"MQTT URL {shown!r}: insecure={options['insecure']} should be "
                             "1/true or 0/false")
        insecure = flag in _TRUE
    return MqttTarget(host=parts.hostname, port=port or DEFAULT_PORTS[scheme],
                      username=username, password=password, tls=tls,
                      ca_file=files.get("ca"), cert_file=files.get("cert"),
                      key_file=files.get("key"), insecure=insecure, resubscribe=resubscribe,
                      shared=shared)


def _mask(url: str) -> str:
    """``url`` with the password (between ``user:`` and ``@``) replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    netloc_end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0),
                     default=len(rest))
    netloc, tail = rest[:netloc_end], rest[netloc_end:]
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{hostport}"
    return f"{scheme}{sep}{netloc}{tail}"


# -- the embedded broker -----------------------------------------------------------------------
def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS's choice, never a fixed one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


_TOML = """\
# Written by OneGrid's sensors/broker.py for the embedded broker (rumqttd 0.20).
id = 0

[router]
id = 0
max_connections = {max_connections}
max_outgoing_packet_count = 200
max_segment_size = {segment_size}
max_segment_count = {segment_count}

[v4.1]
name = "onegrid-v4"
listen = "127.0.0.1:{port}"
next_connection_delay_ms = 1

[v4.1.connections]
connection_timeout_ms = {connection_timeout_ms}
max_payload_size = {max_payload_size}
max_inflight_count = 100
dynamic_filters = true
"""


class EmbeddedBroker:
    """The embedded MQTT broker: rumqttd (via ``iotcore.Broker``) in a child process.

    Listens on 127.0.0.1 only, on ``port`` or else on a free port it picks. ::

        with EmbeddedBroker() as broker:
            print(broker.url)        # mqtt://127.0.0.1:40123

    ``stop()`` ends the child process, and with it every session and queued message.
    """

    host = "127.0.0.1"

    def __init__(self, port: int | None = None, *, max_payload_size: int = MAX_PAYLOAD_BYTES,
                 segment_size: int = 64 * 1024 * 1024, segment_count: int = 8,
                 max_connections: int = 10_000, connection_timeout_ms: int = 60_000) -> None:
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"embedded broker port {port}: must be 1-65535, or None for a "
                             "free port")
        if segment_size < max_payload_size:
            raise ValueError("segment_size must hold at least one message of "
                             f"max_payload_size ({max_payload_size} bytes)")
        self._requested_port = port
        self._port: int | None = port
        self._settings = dict(max_payload_size=max_payload_size, segment_size=segment_size,
                              segment_count=segment_count, max_connections=max_connections,
                              connection_timeout_ms=connection_timeout_ms)
        self._broker = None
        self._config_dir: str | None = None

    @property
    def port(self) -> int:
        """The port it listens (or last listened) on; picked by ``start()`` if not given."""
        if self._port is None:
            raise RuntimeError("the embedded broker has no port yet: call start() first")
        return self._port

    @property
    def url(self) -> str:
        """Its URL for the ingest worker. rumqttd 0.20 has two quirks, both pinned down in
        tests/integration/test_brokers.py: it skips what it queued for a resumed session that
        subscribes again (``resubscribe=if-new``), and its router thread panics when a
        persistent session holding a ``$share/`` subscription drops abruptly, after which it
        delivers nothing (``shared=0``: the one in-process worker subscribes plainly)."""
        return f"mqtt://{self.host}:{self.port}?resubscribe=if-new&shared=0"

    @property
    def is_running(self) -> bool:
        return self._broker is not None and self._broker.is_running

    @property
    def pid(self) -> int | None:
        """Process id of the broker's child process, or None when it is not running."""
        process = getattr(self._broker, "_process", None)  # iotcore 0.4.0 keeps its Popen here
        return process.pid if process is not None and process.poll() is None else None

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        """Start the broker and wait until it accepts connections; returns ``self``.

        Without a port, a free one is picked (and another one if it was taken meanwhile).
        Raises ``OSError`` if a given port is in use, ``RuntimeError`` if the broker does
        not come up within ``timeout`` seconds.
        """
        if self.is_running:
            return self
        from iotcore import Broker  # imported here: nothing starts or loads at import time

        attempts = 1 if self._requested_port is not None else 5
        for attempt in range(attempts):
            port = self._requested_port or self._port or free_port(self.host)
            config = self._write_config(port)
            try:
                broker = Broker(config_path=config)
                broker.start(timeout=timeout)
            except OSError as exc:
                if self._requested_port is not None:
                    raise OSError(f"embedded MQTT broker: port {port} on {self.host} is in "
                                  "use; choose another port or leave it unset for a free "
                                  f"one ({exc})") from exc
                log.debug("port %d was taken before the broker bound it (%s); retrying",
                          port, exc)
                self._port = None
                if attempt == attempts - 1:
                    raise
                continue
            self._broker = broker
            self._port = port
            log.info("embedded MQTT broker listening on %s:%d", self.host, port)
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop the broker process and release its port. Safe to call twice."""
        broker, self._broker = self._broker, None
        if broker is not None:
            broker.stop()
            log.info("embedded MQTT broker on %s:%d stopped", self.host, self._port)
        if self._config_dir is not None:
            shutil.rmtree(self._config_dir, ignore_errors=True)
            self._config_dir = None

    def kill(self) -> None:
        """Kill the broker process without warning (SIGKILL), as a crash would; for tests."""
        process = getattr(self._broker, "_process", None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)
        self.stop()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        where = f"{self.host}:{self._port}" if self._port else self.host
        return f"<EmbeddedBroker {where} {state}>"

    def _write_config(self, port: int) -> str:
        if self._config_dir is None:
            self._config_dir = tempfile.mkdtemp(prefix="onegrid-broker-")
        path = Path(self._config_dir) / "rumqttd.toml"
        path.write_text(_TOML.format(port=port, **self._settings), encoding="utf-8")
        return str(path)
