"""A throw-away PostgreSQL schema for one benchmark run, in the database the tests use
(``ONEGRID_TEST_PG_URL``; PostGIS enabled), dropped afterwards whatever happens."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from sqlalchemy import create_engine, text

PG_URL = os.environ.get("ONEGRID_TEST_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def temporary_schema(pg_url: str = PG_URL) -> Iterator[str]:
    """Yield a URL whose connections work in a new schema ``og_bench_…`` (then ``public``)."""
    schema = "og_bench_" + secrets.token_hex(4)
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"
    try:
        yield pg_url + sep + "options=" + quote(f"-csearch_path={schema},public")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
