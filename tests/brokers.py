"""Real MQTT brokers for tests, each on a free 127.0.0.1 port of its own.

* Mosquitto: Debian's ``/usr/sbin/mosquitto`` (or ``$ONEGRID_TEST_MOSQUITTO``) with the
  global settings of the shipped ``deploy/mosquitto/onegrid.conf`` (everything above its first
  ``listener`` line except file paths, ``user`` and authentication), persistence in the test's
  temporary directory, anonymous access. Never the machine's own Mosquitto on 1883.
* The embedded broker (:class:`sensors.broker.EmbeddedBroker`).

Both have the same interface (:class:`RunningBroker`): ``url``, ``host``, ``port``,
``stop()``, ``restart()`` (same port; Mosquitto keeps its persistence file, the embedded
broker loses everything), ``kill()`` (SIGKILL, as a crash).

Test modules import the fixtures they use explicitly::

    from tests.brokers import broker, mosquitto  # noqa: F401  (fixtures)

``broker`` runs a test once on each kind; ``mosquitto`` and ``embedded_broker`` on one.
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from sensors.broker import EmbeddedBroker, free_port

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CONF = ROOT / "deploy" / "mosquitto" / "onegrid.conf"
MOSQUITTO = os.environ.get("ONEGRID_TEST_MOSQUITTO", "/usr/sbin/mosquitto")
HOST = "127.0.0.1"

# Settings of the shipped file that belong to the installation, not to the behaviour.
_LOCAL_KEYS = {"persistence_location", "persistence_file", "log_dest", "pid_file", "user",
               "password_file", "acl_file", "allow_anonymous", "per_listener_settings",
               "include_dir", "psk_file", "auth_plugin", "plugin"}


def shipped_settings(conf: Path = SHIPPED_CONF) -> list[tuple[str, str]]:
    """The global ``(key, value)`` settings of a Mosquitto config, in order, minus local ones."""
    settings = []
    for raw in conf.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        if key == "listener":
            break
        if key not in _LOCAL_KEYS:
            settings.append((key, value.strip()))
    return settings


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0,
             interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def wait_until_listening(port: int, timeout: float, alive=lambda: True) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the test process dies (Linux), so a killed
    test run leaves no broker behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class RunningBroker:
    """What tests need of a broker; see the module docstring."""

    kind = "broker"
    host = HOST
    port: int
    #: True if sessions and queued messages survive ``restart()``.
    keeps_sessions: bool = False

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def ingest_url(self) -> str:
        """The URL an ingest worker is given for this broker (as app.py gives it)."""
        return self.url

    def stop(self) -> None:
        raise NotImplementedError

    def restart(self) -> None:
        raise NotImplementedError

    def kill(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> RunningBroker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{self.kind} {self.url}>"


class MosquittoBroker(RunningBroker):
    """A Mosquitto process of the test's own, configured from the shipped settings."""

    kind = "mosquitto"
    keeps_sessions = True

    def __init__(self, workdir: Path, *, port: int | None = None,
                 config_overrides: Mapping[str, str | None] | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port(HOST)
        self.conf = self.workdir / "mosquitto.conf"
        self.log = self.workdir / "mosquitto.log"
        self.persistence_file = self.workdir / "onegrid.db"
        settings = shipped_settings()
        # run as whoever runs the tests (as root, Mosquitto would switch to user "mosquitto",
        # which cannot write to the test's directory)
        local = [("user", pwd.getpwuid(os.getuid()).pw_name),
                 ("persistence_location", f"{self.workdir}/"),
                 ("persistence_file", self.persistence_file.name),
                 ("log_dest", f"file {self.log}"),
                 ("allow_anonymous", "true")]
        settings += local
        for key, value in (config_overrides or {}).items():
            settings = [(k, v) for k, v in settings if k != key]
            if value is not None:
                settings.append((key, value))
        lines = [f"{k} {v}" for k, v in settings]
        lines.append(f"listener {self.port} {HOST}")
        self.conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> MosquittoBroker:
        if not Path(MOSQUITTO).exists():
            pytest.fail(f"Mosquitto is not installed at {MOSQUITTO} (apt-get install mosquitto, "
                        "or set ONEGRID_TEST_MOSQUITTO to its path)")
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        preexec_fn=_die_with_parent)
        process = self.process
        if not wait_until_listening(self.port, timeout, alive=lambda: process.poll() is None):
            self.kill()
            raise RuntimeError(f"Mosquitto did not start on {HOST}:{self.port}: "
                               f"{self._stderr()}{self.log_tail()}")
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM: Mosquitto writes its persistence file and exits."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        if process.stderr is not None:
            process.stderr.close()

    def kill(self) -> None:
        """SIGKILL: no save; what came since the last autosave is lost, as in a crash."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
            process.wait(10)
        if process.stderr is not None:
            process.stderr.close()

    def restart(self, timeout: float = 10.0) -> None:
        """Stop cleanly and start again on the same port with the same persistence file."""
        self.stop()
        self.start(timeout)

    def save(self) -> None:
        """Ask Mosquitto to write its persistence file now (SIGUSR1)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGUSR1)

    def log_tail(self, lines: int = 20) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def _stderr(self) -> str:
        process = self.process
        if process is None or process.stderr is None or process.poll() is None:
            return ""
        return process.stderr.read().decode(errors="replace")


class EmbeddedRunningBroker(RunningBroker):
    """The embedded broker behind the same interface."""

    kind = "embedded"
    keeps_sessions = False  # rumqttd keeps sessions in memory only

    def __init__(self, *, port: int | None = None, **options: int) -> None:
        self.broker = EmbeddedBroker(port, **options)

    @property
    def port(self) -> int:  # type: ignore[override]
        return self.broker.port

    @property
    def ingest_url(self) -> str:
        return self.broker.url

    def start(self, timeout: float = 10.0) -> EmbeddedRunningBroker:
        self.broker.start(timeout)
        return self

    def stop(self) -> None:
        self.broker.stop()

    def kill(self) -> None:
        self.broker.kill()

    def restart(self, timeout: float = 10.0) -> None:
        """Stop and start on the same port. Sessions and queued messages are gone."""
        self.broker.stop()
        self.broker.start(timeout)


def start_mosquitto(tmp_path: Path, *, port: int | None = None,
                    config_overrides: Mapping[str, str | None] | None = None
                    ) -> MosquittoBroker:
    """Run Mosquitto with the shipped settings, persistence in ``tmp_path``; wait until ready.

    ``config_overrides`` replaces settings by key (``None`` removes one), e.g.
    ``{"max_queued_messages": "1000"}`` for Mosquitto's default.
    """
    return MosquittoBroker(tmp_path, port=port, config_overrides=config_overrides).start()


def start_embedded(tmp_path: Path | None = None, *, port: int | None = None,
                   **options: int) -> EmbeddedRunningBroker:
    """Run the embedded broker on a free port (``options`` go to ``EmbeddedBroker``)."""
    return EmbeddedRunningBroker(port=port, **options).start()


# -- fixtures (import them explicitly in the test module) ------------------------------------
@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A Mosquitto of the test's own with the shipped settings."""
    running = start_mosquitto(tmp_path / "mosquitto")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def embedded_broker() -> Iterator[EmbeddedRunningBroker]:
    """The embedded broker on a free port."""
    running = start_embedded()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(params=["mosquitto", "embedded"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningBroker]:
    """Each broker kind in turn: the test runs once on Mosquitto and once embedded."""
    if request.param == "mosquitto":
        running: RunningBroker = start_mosquitto(tmp_path / "mosquitto")
    else:
        running = start_embedded()
    try:
        yield running
    finally:
        running.stop()
