"""The running system's services, built once by ``app.py`` and reachable from any request.

Callbacks and routes never import ``app``: they call :func:`get_services`, which reads the
services that the composition root put into the Flask app's extensions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from data.config import Catalogue, load_catalogue
from data.db import make_engine, make_session_factory
from data.migrate import current_revision, head_revision, upgrade
from data.seed import SeedReport, database_is_empty, seed_demo
from settings import Settings

log = logging.getLogger("onegrid")
EXTENSION_KEY = "onegrid"


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    catalogue: Catalogue
    #: The case engine's validated configuration (calendar, limits, categories, routing,
    #: rules): ``data.cases.CaseConfig``.
    cases: Any = None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session (rolled back at the end)."""
        with self.sessions() as session:
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self.sessions() as session, session.begin():
            yield session


def build_services(settings: Settings) -> Services:
    """Engine, session factory and validated configuration — nothing migrated yet."""
    from data.cases import load_case_config

    engine = make_engine(settings.db_url)
    services = Services(settings, engine, make_session_factory(engine), load_catalogue(),
                        load_case_config())
    # A session knows its services (``data.notices.settings_of``: the notice channels).
    services.sessions.configure(info={"onegrid_services": services})
    return services


def prepare_database(services: Services, *, seed: bool | None = None,
                     history: bool | None = None) -> SeedReport | None:
    """Upgrade the schema to the newest migration; seed the demo city when asked, and its
    case history (``data/demo_history.py``) when asked.

    ``seed=None`` follows the setting ``ONEGRID_SEED_DEMO``: ``auto`` seeds an empty database.
    ``history=None`` follows ``ONEGRID_DEMO_HISTORY`` only for a city seeded that way (the
    first ``python app.py``): ``auto`` gives it its history; an explicit ``seed=True`` (the
    tests' fixtures) seeds the city alone. ``history=True`` adds the history to a seeded city
    (once: a second time does nothing); ``history=False`` never does.
    """
    before = current_revision(services.engine)
    if before != head_revision():
        log.info("database schema %s -> %s", before or "empty", head_revision())
        upgrade(services.engine)
    automatic = seed is None
    if seed is None:
        with services.session() as session:
            seed = services.settings.seed_demo == "auto" and database_is_empty(session)
    if history is None:
        history = automatic and bool(seed) and services.settings.demo_history == "auto"
    report = None
    if seed:
        with services.transaction() as session:
            report = seed_demo(session, services.catalogue)
        log.info("%s", report.summary())
    if history:
        try:
            seed_demo_history(services)
        except Exception:  # a demo nicety: the city serves without it (nothing was written)
            log.exception("demo history could not be written; serving the city without it")
    return report


def seed_demo_history(services: Services, *, now: datetime | None = None) -> Any:
    """Two months of demo case history up to ``now`` (default: the present), in one
    transaction; nothing when the database has it already or holds no demo city."""
    from data.demo_history import has_history, seed_history
    from data.types import utcnow

    with services.transaction() as session:
        if database_is_empty(session):
            log.warning("demo history: no demo city in the database; seed it first")
            return None
        if has_history(session):
            log.info("demo history: already there")
            return None
        report = seed_history(session, services.cases, now=now or utcnow(),
                              media_dir=services.settings.media_dir)
        # ...and last month's shop scores published, as the bureau does each month
        from data.shop_scores import freeze_month, last_month, month_scores

        tz = services.cases.calendar.tz
        month = last_month(now or utcnow(), tz=tz)
        if month_scores(session, month) is None:
            freeze_month(session, month, tz=tz, now=now)
    log.info("%s", report.summary())
    return report


def get_services() -> Services:
    """The services of the app handling the current request."""
    import flask  # imported here: ingest workers load this module without the web stack

    return flask.current_app.extensions[EXTENSION_KEY]
