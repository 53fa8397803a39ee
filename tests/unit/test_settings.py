"""Settings from the environment: defaults, resolution of relative paths, clear errors."""

from __future__ import annotations

import pytest

from settings import ROOT, Settings, SettingsError, resolve_db_url


def test_defaults_are_the_embedded_ones() -> None:
    s = Settings.from_env({})
    assert s.db_url == f"sqlite:///{ROOT / 'var' / 'onegrid.db'}"
    assert s.mqtt_url is None
    assert s.tile_url is None
    assert s.media_dir == ROOT / "var" / "media"
    assert (s.host, s.port, s.lang) == ("127.0.0.1", 8050, "zh-CN")
    assert s.is_sqlite


def test_variables_are_read() -> None:
    s = Settings.from_env({
        "ONEGRID_DB_URL": "postgresql+psycopg://og@db/onegrid",
        "ONEGRID_MQTT_URL": "mqtt://broker:1883",
        "ONEGRID_SECRET_KEY": "k" * 32,
        "ONEGRID_TILE_URL": "http://tiles.local/{z}/{x}/{y}.png",
        "ONEGRID_MEDIA_DIR": "/srv/media",
        "ONEGRID_PORT": "9000",
        "ONEGRID_LANG": "en",
        "ONEGRID_MAP_GRID_LIMIT": "800",
    })
    assert s.db_url == "postgresql+psycopg://og@db/onegrid" and not s.is_sqlite
    assert s.mqtt_url == "mqtt://broker:1883"
    assert s.resolved_secret_key() == "k" * 32
    assert s.tile_url.endswith("{y}.png")
    assert str(s.media_dir) == "/srv/media"
    assert (s.port, s.lang, s.map_grid_limit) == (9000, "en", 800)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("ONEGRID_PORT", "eighty", "ONEGRID_PORT"),
    ("ONEGRID_PORT", "70000", "ONEGRID_PORT"),
    ("ONEGRID_LANG", "fr", "ONEGRID_LANG"),
    ("ONEGRID_DB_URL", "mysql://x/y", "ONEGRID_DB_URL"),
    ("ONEGRID_SEED_DEMO", "sometimes", "ONEGRID_SEED_DEMO"),
    ("ONEGRID_MAP_GRID_LIMIT", "0", "ONEGRID_MAP_GRID_LIMIT"),
    ("ONEGRID_MAP_GRID_LIMIT", "lots", "ONEGRID_MAP_GRID_LIMIT"),
])
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({name: value})


def test_relative_sqlite_paths_resolve_against_the_project() -> None:
    assert resolve_db_url("sqlite:///var/x.db") == f"sqlite:///{ROOT / 'var' / 'x.db'}"
    assert resolve_db_url("sqlite:////abs/x.db") == "sqlite:////abs/x.db"
    assert resolve_db_url("sqlite://") == "sqlite://"


def test_generated_secret_key_is_kept(tmp_path) -> None:
    s = Settings(var_dir=tmp_path)
    first = s.resolved_secret_key()
    assert len(first) == 64
    assert Settings(var_dir=tmp_path).resolved_secret_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
