"""Ingest workers: a client, a pipeline and a heartbeat, in a thread or in N processes.

``python app.py ingest --workers N`` runs N processes with client ids ``<name>-1`` … and a
shared subscription (``$share/onegrid/onegrid/v1/+/+``), so the broker splits the stream
between them; separate ``ingest`` processes on other machines join the same group with their
own ``--name``.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
from dataclasses import dataclass

from data.ingest import heartbeat
from sensors.client import IngestClient
from sensors.pipeline import Pipeline
from sensors.topics import SUBSCRIPTION, shared_subscription
from services import Services

log = logging.getLogger("onegrid.ingest")
HEARTBEAT_S = 5.0
#: Repeat camera sightings are summed in memory and added to their cases this often.
SIGHTINGS_FLUSH_S = 5.0


def default_name() -> str:
    return f"onegrid-ingest-{socket.gethostname()}"


@dataclass
class IngestWorker:
    """One worker: start() returns at once; stop() drains, acknowledges and disconnects."""

    services: Services
    target: object
    name: str
    batch_ms: float = 50.0
    batch_size: int = 500
    rules: bool = True

    def __post_init__(self) -> None:
        self.pipeline = Pipeline(self.services, batch_ms=self.batch_ms,
                                 batch_size=self.batch_size, rules=self.rules,
                                 sightings_flush_s=SIGHTINGS_FLUSH_S)
        subscription = (shared_subscription() if getattr(self.target, "shared", True)
                        else SUBSCRIPTION)
        self.client = IngestClient(self.target, self.name, subscription, self.pipeline.submit)
        self.pipeline.acker = self.client.ack_many
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> IngestWorker:
        writer = threading.Thread(target=self.pipeline.run, args=(self.stop_event,),
                                  name=f"{self.name}-writer", daemon=True)
        beat = threading.Thread(target=self._heartbeat, name=f"{self.name}-heartbeat",
                                daemon=True)
        self._threads = [writer, beat]
        writer.start()
        beat.start()
        self.client.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Drain what is queued (written and acknowledged), then disconnect. Messages that
        arrive during the drain stay unacknowledged and the broker redelivers them."""
        self.stop_event.set()
        for thread in self._threads:
            thread.join(timeout)
        self.pipeline.flush_sightings()
        self._beat()
        self.client.stop()

    def _beat(self) -> None:
        s, c = self.pipeline.stats, self.client.status
        try:
            with self.services.transaction() as session:
                heartbeat(session, self.name, broker=self.client.broker, connected=c.connected,
                          state=c.state, received=s.received, stored=s.stored,
                          duplicates=s.duplicates, dead_letters=s.dead_letters,
                          reconnects=c.reconnects)
        except Exception as exc:  # the heartbeat reports; it never stops the worker
            log.warning("heartbeat not recorded: %s", exc)

    def _heartbeat(self) -> None:
        while not self.stop_event.wait(HEARTBEAT_S):
            self._beat()
            s = self.pipeline.stats
            log.info("ingest %s: %s; received %d, stored %d, duplicates %d, dead letters %d%s",
                     self.name, self.client.status.state, s.received, s.stored, s.duplicates,
                     s.dead_letters,
                     f" {dict(sorted(s.dead_by_reason.items()))}" if s.dead_by_reason else "")


def run_forever(services: Services, target: object, name: str, batch_size: int = 500,
                rules: bool = True) -> None:
    """Run one worker in this process until SIGTERM/SIGINT."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker = IngestWorker(services, target, name, batch_size=batch_size, rules=rules).start()
    try:
        stop.wait()
    finally:
        log.info("ingest %s stopping: draining and acknowledging what is queued", name)
        worker.stop()


def _child(settings: object, target: object, name: str, batch_size: int, rules: bool) -> None:
    from services import build_services

    logging.basicConfig(level=getattr(settings, "log_level", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_forever(build_services(settings), target, name, batch_size,  # type: ignore[arg-type]
                rules)


def run_workers(services: Services, target: object, name: str, workers: int,
                batch_size: int = 500, rules: bool = True) -> int:
    """``workers`` processes sharing the stream; returns when all have stopped."""
    if workers <= 1:
        run_forever(services, target, name, batch_size, rules)
        return 0
    if not getattr(target, "shared", True):
        raise ValueError(f"--workers {workers} needs a shared subscription: remove shared=0 "
                         "from the broker URL (several workers on a plain subscription would "
                         "each store every message)")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_child,
                         args=(services.settings, target, f"{name}-{i}", batch_size, rules),
                         name=f"{name}-{i}") for i in range(1, workers + 1)]
    for proc in procs:
        proc.start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        if all(not p.is_alive() for p in procs):
            break
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(30)
    return max((p.exitcode or 0) for p in procs)
