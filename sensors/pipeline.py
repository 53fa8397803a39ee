"""The ingest pipeline: messages in, short transactions out, acknowledgements after commit.

Threads: the MQTT client's network thread only enqueues (:meth:`Pipeline.submit`); one
writer thread (:meth:`Pipeline.run`) takes what is queued — up to ``batch_size`` messages or
``batch_ms`` after the first one, whichever comes first — decodes, checks, locates and writes
them in one transaction, and only then acknowledges them, in the order they arrived.

Failure handling, so that nothing is lost and nothing a device sends stops the stream:

* a message that fails a check goes to the dead-letter table with its reason;
* if a batch cannot be written, it is written again message by message, and a message that
  still fails is dead-lettered with the error (a poison message cannot block the others);
* if the database itself is unreachable, the batch is retried with backoff and nothing is
  acknowledged meanwhile — the broker keeps every unacknowledged message.

Rules (``cases.rules``) run on every reading and detection in memory; what they fire (a
trigger, or a reading back to normal) becomes a case or evidence in the same transaction as
the batch (``data.cases.apply_rule_outcomes``), under a savepoint: a fault in the case logic
is logged and counted, and never costs the readings themselves.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import OperationalError

from data.cases import Evidence, OpenCameraCases, add_sightings, apply_rule_outcomes
from data.ingest import Batch, WriteResult, dead_letter, load_registry, write_batch
from data.spatial import GridLocator
from sensors.schemas import (
    Detection,
    Position,
    Reading,
    Registry,
    Rejected,
    Resolved,
    decode,
    now_utc,
)
from sensors.schemas import resolve as resolve_message
from sensors.topics import is_outbound
from services import Services

log = logging.getLogger("onegrid.ingest")

REGISTRY_MAX_AGE_S = 60.0
REGISTRY_MIN_RELOAD_S = 5.0


@dataclass(frozen=True)
class Inbound:
    """A message as it came off the wire, with the way to acknowledge it."""

    topic: str
    payload: bytes
    received_at: datetime
    #: How to acknowledge it: a callable, or a token for the pipeline's ``acker``.
    ack: Any = field(default=None, compare=False, repr=False)


@dataclass
class PipelineStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    batches: int = 0
    retries: int = 0
    dead_by_reason: dict[str, int] = field(default_factory=dict)
    cases_opened: int = 0
    case_evidence: int = 0
    rule_errors: int = 0


class Pipeline:
    def __init__(self, services: Services, *, batch_size: int = 1000, batch_ms: float = 50.0,
                 queue_size: int = 20000, clock: Callable[[], datetime] = now_utc,
                 rules: bool = True, sightings_flush_s: float = 0.0) -> None:
        self.services = services
        config = getattr(services, "cases", None)
        #: The rule engine (None: rules off); its state lives in this process's memory.
        self.rules = (config.rules.engine() if rules and config is not None
                      and config.rules is not None else None)
        self._outcomes: tuple[list[Inbound], list[tuple[Any, Evidence]]] | None = None
        self.camera_cases = OpenCameraCases(sightings_flush_s)
        self.batch_size = batch_size
        self.batch_s = batch_ms / 1000.0
        self.clock = clock
        #: Acknowledges a batch's tokens at once (the MQTT client's ``ack_many``).
        self.acker: Callable[[list[Any]], None] | None = None
        self.queue: queue.Queue[Inbound] = queue.Queue(maxsize=queue_size)
        self.stats = PipelineStats()
        self.locator = GridLocator()
        self._registry: Registry | None = None
        self._registry_at = 0.0
        self._lock = threading.Lock()

    # -- called from the MQTT network thread ------------------------------------------------
    def submit(self, inbound: Inbound) -> None:
        """Enqueue; blocks when the writer is behind (back-pressure to the broker)."""
        self.queue.put(inbound)
        with self._lock:
            self.stats.received += 1

    # -- the writer thread --------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Batch, write and acknowledge until ``stop`` is set and the queue is drained."""
        while not (stop.is_set() and self.queue.empty()):
            batch = self._collect(stop)
            if batch:
                self.process(batch, stop)

    def _collect(self, stop: threading.Event) -> list[Inbound]:
        try:
            first = self.queue.get(timeout=0.2)
        except queue.Empty:
            return []
        items = [first]
        deadline = time.monotonic() + self.batch_s
        while len(items) < self.batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                items.append(self.queue.get(timeout=remaining))
            except queue.Empty:
                break
        return items

    def registry(self, *, refresh: bool = False) -> Registry:
        age = time.monotonic() - self._registry_at
        if (self._registry is None or age > REGISTRY_MAX_AGE_S
                or (refresh and age > REGISTRY_MIN_RELOAD_S)):
            with self.services.session() as session:
                self._registry = load_registry(session, self.services.catalogue)
            self._registry_at = time.monotonic()
        return self._registry

    def prepare(self, items: list[Inbound]) -> Batch:
        """Decode, check and locate a batch (reads only)."""
        now = self.clock()
        batch = Batch()
        checked: list[tuple[Inbound, Resolved | Rejected]] = []
        registry = self.registry()
        for item in items:
            if is_outbound(item.topic):
                continue  # our own shop notices on the same broker: not a device's message
            decoded = decode(item.topic, item.payload, now)
            if isinstance(decoded, Rejected):
                checked.append((item, decoded))
                continue
            result = resolve_message(decoded, registry)
            if isinstance(result, Rejected) and result.reason_code == "unknown_device":
                registry = self.registry(refresh=True)  # a device registered a moment ago
                result = resolve_message(decoded, registry)
            checked.append((item, result))
        to_locate = [(i, r) for i, (_, r) in enumerate(checked) if isinstance(r, Resolved)
                     and isinstance(r.message, Detection | Position) and r.lon is not None]
        grids: dict[int, str | None] = {}
        if to_locate:
            with self.services.session() as session:
                codes = self.locator.locate_many(session, [r.lon for _, r in to_locate],
                                                 [r.lat for _, r in to_locate])
            grids = {i: code for (i, _), code in zip(to_locate, codes, strict=True)}
        for i, (item, result) in enumerate(checked):
            if isinstance(result, Rejected):
                batch.dead.append(dead_letter(item.topic, item.payload, result.reason_code,
                                              result.reason, item.received_at))
                continue
            grid = grids.get(i)
            if i in grids and grid is None:
                batch.dead.append(dead_letter(
                    item.topic, item.payload, "outside_city",
                    f"({result.lon:.6f}, {result.lat:.6f}) lies in no unit grid of the city: "
                    "check the coordinates and their system (WGS84, or say 'crs')",
                    item.received_at))
                continue
            batch.resolved.append((result, grid))
        return batch

    def process(self, items: list[Inbound], stop: threading.Event | None = None) -> None:
        """Write one batch and acknowledge it; see the module docstring for failures."""
        delay = 0.5
        while True:
            try:
                result = self._write(items)
                break
            except OperationalError as exc:
                self.stats.retries += 1
                log.warning("database unavailable (%s); retrying %d messages in %.1f s",
                            type(exc.orig).__name__ if exc.orig else exc, len(items), delay)
            except Exception:
                if len(items) == 1:
                    result = self._dead_letter_poison(items[0])
                    break
                log.exception("batch of %d failed; writing its messages one by one",
                              len(items))
                for item in items:
                    self.process([item], stop)
                return
            if stop is not None and stop.wait(delay):
                return  # shutting down: unacknowledged messages stay with the broker
            if stop is None:
                time.sleep(delay)
            delay = min(delay * 2, 30.0)
        if self.acker is not None:
            self.acker([item.ack for item in items if item.ack is not None])
        else:
            for item in items:
                if item.ack is not None:
                    item.ack()
        with self._lock:
            self.stats.batches += 1
            self.stats.stored += result.stored
            self.stats.duplicates += result.duplicates
            self.stats.dead_letters += result.dead_letters

    def _write(self, items: list[Inbound]) -> WriteResult:
        batch = self.prepare(items)
        outcomes = self._evaluate(items, batch)
        opened = evidence = errors = 0
        try:
            with self.services.transaction() as session:
                links: dict[tuple[int, str], int] = {}
                if outcomes:
                    try:
                        with session.begin_nested():
                            report = apply_rule_outcomes(session, self.services.cases,
                                                         outcomes, cache=self.camera_cases,
                                                         link=False)
                        opened, evidence = len(report.opened), report.total - len(report.opened)
                        links = report.links
                    except OperationalError:
                        raise
                    except Exception:
                        self.camera_cases.staged = {}
                        self.camera_cases.invalidate()
                        errors = len(outcomes)
                        log.exception("rules: %d outcome(s) could not become cases; the "
                                      "messages are stored", len(outcomes))
                result = write_batch(session, batch, self.services.settings.media_dir, links)
                add_sightings(session, self.camera_cases.take_due())
        except Exception:
            self.camera_cases.rolled_back()  # what this batch added to it was rolled back
            raise
        self.camera_cases.committed()
        self._outcomes = None
        self._count_reasons(batch.dead)
        with self._lock:
            self.stats.cases_opened += opened
            self.stats.case_evidence += evidence
            self.stats.rule_errors += errors
        return result

    def flush_sightings(self) -> None:
        """Write the repeat sightings still summed in memory (on stop)."""
        rows = self.camera_cases.take_due(force=True)
        if not rows:
            return
        try:
            with self.services.transaction() as session:
                add_sightings(session, rows)
        except Exception:
            self.camera_cases.rolled_back()
            log.exception("could not write %d cases' repeat sightings", len(rows))
            return
        self.camera_cases.committed()

    def _evaluate(self, items: list[Inbound], batch: Batch) -> list[tuple[Any, Evidence]]:
        """Run the rules over a batch once: a retried batch reuses what they fired (their
        state has moved on), so a database hiccup cannot swallow a trigger."""
        if self.rules is None:
            return []
        if self._outcomes is not None and self._outcomes[0] is items:
            return self._outcomes[1]
        on_reading, on_detection = self.rules.on_reading, self.rules.on_detection
        out: list[tuple[Any, Evidence]] = []
        for resolved, grid in batch.resolved:
            msg, device = resolved.message, resolved.device
            if device is None:
                continue
            if type(msg) is Reading:
                if device.component_id is None:
                    continue
                fired = on_reading(device.component_id, device.type_code, msg.ts,
                                   msg.metrics, device.lon, device.lat)
                if fired:
                    ev = Evidence(device.device_id, msg.msg_id, grid_code=device.grid_code)
                    out.extend((f, ev) for f in fired)
            elif type(msg) is Detection:
                trigger = on_detection(msg.event, msg.confidence, msg.ts,
                                       device_id=device.device_id, component_id=None,
                                       lon=resolved.lon, lat=resolved.lat)
                if trigger is not None:
                    out.append((trigger, Evidence(device.device_id, msg.msg_id,
                                                  msg.snapshot_sha256, msg.confidence, grid)))
        self._outcomes = (items, out)
        return out

    def _dead_letter_poison(self, item: Inbound) -> WriteResult:
        log.exception("message on %s could not be stored; dead-lettered", item.topic[:120])
        row = dead_letter(item.topic, item.payload, "store_failed",
                          "the message passed every check but could not be stored; "
                          "report this to the OneGrid operators", item.received_at)
        with self.services.transaction() as session:
            write_batch(session, Batch(dead=[row]), self.services.settings.media_dir)
        self._count_reasons([row])
        return WriteResult(dead_letters=1)

    def _count_reasons(self, rows: list[dict[str, Any]]) -> None:
        with self._lock:
            for row in rows:
                code = row["reason_code"]
                self.stats.dead_by_reason[code] = self.stats.dead_by_reason.get(code, 0) + 1
