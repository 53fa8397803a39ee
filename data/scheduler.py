"""The case scheduler: runs the clock (warn at 80 %, mark overdue and escalate) and watches
for silent devices (no-data rule → device-fault cases).

Each pass is one short transaction. The clock's marks are claimed in the database (see
``data.cases.run_clock``), so any number of schedulers — one per web process, or
``python app.py scheduler`` on its own — record each warning and overdue mark exactly once,
and a restarted scheduler picks up where the last one stopped.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import select

from data.cases import Evidence, apply_rule_outcomes, run_clock
from data.models import Component, ComponentType, Device
from data.types import utcnow

log = logging.getLogger("onegrid.scheduler")
CLOCK_EVERY_S = 15.0
SILENCE_EVERY_S = 60.0


class Scheduler:
    def __init__(self, services: Any) -> None:
        self.services = services
        config = services.cases
        self.engine = config.rules.engine() if config.rules is not None else None
        self.stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        #: The broker shop notices are published to (the web process sets its embedded one).
        self.mqtt_url: str | None = services.settings.mqtt_url

    def clock_pass(self, now: datetime | None = None) -> tuple[int, int]:
        with self.services.transaction() as session:
            report = run_clock(session, self.services.cases, now)
        if report.warned or report.overdue:
            log.info("clock: %d warned, %d overdue", len(report.warned), len(report.overdue))
        return len(report.warned), len(report.overdue)

    def notice_pass(self, now: datetime | None = None) -> Any:
        """Shop notices (门前三包): reminders before the deadline, then the outbox (webhook,
        MQTT), retried with backoff; see ``data.notice_sender``."""
        from data.notice_sender import run_notices

        return run_notices(self.services, now, mqtt_url=self.mqtt_url)

    def silence_pass(self, now: datetime | None = None) -> int:
        """Devices silent longer than the no-data rule allows open device-fault cases (once per
        silence); a device heard again is evidence on its case."""
        if self.engine is None:
            return 0
        now = now or utcnow()
        with self.services.transaction() as session:
            rows = session.execute(
                select(Device.id, Device.last_seen_at, Device.period_s,
                       ComponentType.report_period_s, Device.component_id, Component.geom)
                .outerjoin(Component, Component.id == Device.component_id)
                .outerjoin(ComponentType, ComponentType.code == Component.type_code)
                .where(Device.last_seen_at.is_not(None))).all()
            last_seen = {r[0]: (r[1], r[2] or r[3]) for r in rows}
            where = {r[0]: (r[4], r[5]) for r in rows}
            outcomes = []
            for outcome in self.engine.silent(last_seen, now):
                component_id, geom = where.get(outcome.device_id, (None, None))
                changes: dict[str, Any] = {"component_id": component_id}
                if hasattr(outcome, "lon") and geom is not None:
                    changes.update(lon=geom.x, lat=geom.y)
                outcomes.append((dataclasses.replace(outcome, **changes),
                                 Evidence(outcome.device_id)))
            if outcomes:
                apply_rule_outcomes(session, self.services.cases, outcomes, now)
        return len(outcomes)

    def run(self) -> None:
        """Passes until stopped; a failing pass is logged and retried on the next tick."""
        last_silence = 0.0
        elapsed = 0.0
        while not self.stop_event.wait(0 if elapsed == 0 else CLOCK_EVERY_S):
            try:
                self.clock_pass()
                if elapsed - last_silence >= SILENCE_EVERY_S or elapsed == 0:
                    self.silence_pass()
                    last_silence = elapsed
                self.notice_pass()  # last: a broker or webhook that is down delays nothing else
            except Exception:
                log.exception("scheduler pass failed; trying again in %.0f s", CLOCK_EVERY_S)
            elapsed += CLOCK_EVERY_S

    def start(self) -> Scheduler:
        self._thread = threading.Thread(target=self.run, name="case-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(10)
