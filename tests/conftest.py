"""Shared fixtures: real databases (SQLite in a temp dir, the machine's PostgreSQL/PostGIS).

PostgreSQL: ``ONEGRID_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
Each test gets its own schema (``search_path=<schema>,public``; PostGIS lives in ``public``),
dropped afterwards. If PostgreSQL cannot be reached the PostgreSQL tests fail — they are part
of the suite, not optional — unless ``ONEGRID_TEST_PG=skip`` is set, and then they say so.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services import Services, build_services  # noqa: E402
from settings import Settings  # noqa: E402

PG_URL = os.environ.get("ONEGRID_TEST_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options={quote(f'-csearch_path={schema},public')}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty schema on the machine's PostgreSQL with PostGIS available."""
    if os.environ.get("ONEGRID_TEST_PG") == "skip":
        pytest.skip("ONEGRID_TEST_PG=skip: PostgreSQL tests switched off by the environment")
    schema = "og_" + secrets.token_hex(6)
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # pragma: no cover - environment problem, reported plainly
        admin.dispose()
        pytest.fail(f"PostgreSQL/PostGIS at {PG_URL} is not usable ({exc}); run the README's "
                    "test command, which installs PostGIS and starts PostgreSQL")
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'onegrid.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Run the test once on SQLite and once on PostgreSQL/PostGIS."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


def make_settings(db_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        db_url=db_url, var_dir=tmp_path / "var", media_dir=tmp_path / "media",
        secret_key="test-secret-key", seed_demo="never",
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _services(url: str, tmp_path: Path) -> Iterator[Services]:
    svc = build_services(make_settings(url, tmp_path))
    try:
        yield svc
    finally:
        svc.engine.dispose()


@pytest.fixture
def services(db_url: str, tmp_path: Path) -> Iterator[Services]:
    """Services on an empty (un-migrated) database, SQLite and PostgreSQL in turn."""
    yield from _services(db_url, tmp_path)


@pytest.fixture
def sqlite_services(sqlite_url: str, tmp_path: Path) -> Iterator[Services]:
    yield from _services(sqlite_url, tmp_path)


@pytest.fixture
def pg_services(pg_url: str, tmp_path: Path) -> Iterator[Services]:
    yield from _services(pg_url, tmp_path)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded_services(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The demo city migrated and seeded once per test module, on SQLite and on PostgreSQL in
    turn. Tests share it: each works on the cases it creates itself."""
    from services import prepare_database

    tmp = tmp_path_factory.mktemp("seeded")
    admin = schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'onegrid.db'}"
    else:
        if os.environ.get("ONEGRID_TEST_PG") == "skip":
            pytest.skip("ONEGRID_TEST_PG=skip: PostgreSQL tests switched off by the environment")
        schema = "og_" + secrets.token_hex(6)
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = _pg_schema_url(schema)
    svc = build_services(make_settings(url, tmp))
    try:
        prepare_database(svc, seed=True)
        yield svc
    finally:
        svc.engine.dispose()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


_APP_SERVER: dict[str, object] = {}


@pytest.fixture(scope="module")
def client(seeded_services: Services) -> Iterator[object]:
    """A Flask test client of the whole app on ``seeded_services``. One app per process
    (create_app registers Dash callbacks globally); each database a module runs on is swapped
    in as the app's services."""
    from app import create_app
    from services import EXTENSION_KEY

    if "server" not in _APP_SERVER:
        _APP_SERVER["server"] = create_app(seeded_services).server
    server = _APP_SERVER["server"]
    server.extensions[EXTENSION_KEY] = seeded_services  # type: ignore[attr-defined]
    yield server.test_client()  # type: ignore[attr-defined]
