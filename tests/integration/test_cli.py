"""The command line as a user runs it: real processes, a real SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from data.models import ApiToken, User

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], tmp_path: Path, stdin: str = "",
        **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ONEGRID_")}
    environ.update(ONEGRID_DB_URL=f"sqlite:///{tmp_path / 'cli.db'}",
                   ONEGRID_VAR_DIR=str(tmp_path / "var"), ONEGRID_SEED_DEMO="never", **env)
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], input=stdin,
                          capture_output=True, text=True, env=environ, timeout=300)


def test_help_lists_the_subcommands(tmp_path) -> None:
    out = run(["--help"], tmp_path)
    assert out.returncode == 0
    for sub in ("web", "seed", "import-regions", "user", "token"):
        assert sub in out.stdout
    web = run(["web", "--help"], tmp_path)
    assert "--host" in web.stdout and "--port" in web.stdout


def test_user_and_token_create(tmp_path) -> None:
    made = run(["user", "create", "hotline", "--role", "command",
                "--display-name", "12345热线"], tmp_path, stdin="s3cret-passw0rd\n")
    assert made.returncode == 0, made.stderr
    assert "created user hotline" in made.stdout
    again = run(["user", "create", "hotline", "--role", "command"], tmp_path,
                stdin="s3cret-passw0rd\n")
    assert again.returncode == 2 and "exists already" in again.stderr
    short = run(["user", "create", "li", "--role", "leader"], tmp_path, stdin="short\n")
    assert short.returncode == 2 and "too short" in short.stderr
    token = run(["token", "create", "--user", "hotline"], tmp_path)
    assert token.returncode == 0, token.stderr
    plain = token.stdout.strip()
    assert plain.startswith("og_") and len(plain) > 40
    missing = run(["token", "create", "--user", "ghost"], tmp_path)
    assert missing.returncode == 2 and "ghost" in missing.stderr
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(User)) == 1
        hashes = conn.scalars(select(ApiToken.token_hash)).all()
    assert len(hashes) == 1 and plain not in hashes[0]


def test_bad_setting_is_reported_not_a_traceback(tmp_path) -> None:
    out = run(["seed", "--schema-only"], tmp_path, ONEGRID_PORT="eighty")
    assert out.returncode != 0
    assert "ONEGRID_PORT" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_seed_twice_changes_nothing(tmp_path) -> None:
    first = run(["seed"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "seeded" in first.stdout
    db = tmp_path / "cli.db"
    engine = create_engine(f"sqlite:///{db}")

    def snapshot() -> list:
        with engine.connect() as conn:
            tables = ("regions", "unit_grids", "components", "devices", "shops", "users",
                      "departments", "roads", "trackers", "component_types", "event_types")
            return [conn.exec_driver_sql(f"SELECT * FROM {t} ORDER BY 1").all() for t in tables]

    before = snapshot()
    second = run(["seed"], tmp_path)
    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stdout
    assert snapshot() == before
