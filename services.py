"""The running system's services, built once by ``app.py`` and reachable from any request.

Callbacks and routes never import ``app``: they call :func:`get_services`, which reads the
services that the composition root put into the Flask app's extensions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    return Services(settings, engine, make_session_factory(engine), load_catalogue(),
                    load_case_config())


def prepare_database(services: Services, *, seed: bool | None = None) -> SeedReport | None:
    """Upgrade the schema to the newest migration; seed the demo city when asked.

    ``seed=None`` follows the setting ``ONEGRID_SEED_DEMO``: ``auto`` seeds an empty database.
    """
    before = current_revision(services.engine)
    if before != head_revision():
        log.info("database schema %s -> %s", before or "empty", head_revision())
        upgrade(services.engine)
    if seed is None:
        with services.session() as session:
            seed = services.settings.seed_demo == "auto" and database_is_empty(session)
    if not seed:
        return None
    with services.transaction() as session:
        report = seed_demo(session, services.catalogue)
    log.info("%s", report.summary())
    return report


def get_services() -> Services:
    """The services of the app handling the current request."""
    import flask  # imported here: ingest workers load this module without the web stack

    return flask.current_app.extensions[EXTENSION_KEY]
