"""Settings: one way to configure OneGrid — environment variables with documented defaults.

Every variable is listed in README's configuration table. Nothing here connects to anything;
``Settings.from_env()`` only reads the environment and resolves paths.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
"""The project root: relative paths in settings are resolved against it."""

DEFAULT_DB_URL = "sqlite:///var/onegrid.db"
LANGUAGES = ("zh-CN", "en")


class SettingsError(ValueError):
    """A setting has a value OneGrid cannot use; the message names the variable."""


def _resolve(path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else ROOT / p


def resolve_db_url(url: str) -> str:
    """Make a relative SQLite path absolute (relative to the project root).

    ``sqlite:///var/onegrid.db`` therefore always means ``<project>/var/onegrid.db``,
    whatever the working directory.
    """
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://":
        rest = url[len(prefix):]
        if rest and not rest.startswith(":memory:"):
            return prefix + str(_resolve(rest))
    return url


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Build it with :meth:`from_env`; tests build it directly."""

    db_url: str = field(default_factory=lambda: resolve_db_url(DEFAULT_DB_URL))
    mqtt_url: str | None = None
    secret_key: str = ""
    tile_url: str | None = None
    media_dir: Path = field(default_factory=lambda: ROOT / "var" / "media")
    var_dir: Path = field(default_factory=lambda: ROOT / "var")
    host: str = "127.0.0.1"
    port: int = 8050
    lang: str = "zh-CN"
    seed_demo: str = "auto"
    #: ``auto``: a demo city seeded automatically gets two months of case history with it
    #: (``data/demo_history.py``); ``never``: the city alone.
    demo_history: str = "auto"
    log_level: str = "INFO"
    session_hours: int = 12
    #: The big-screen map draws every unit grid while the city (or the picked area) has at
    #: most this many; a bigger city is drawn by community until an area is picked.
    map_grid_limit: int = 5000
    #: The address citizens reach the system at: QR codes on shop plaques encode
    #: ``{public_url}/s/<token>``.
    public_url: str = "http://127.0.0.1:8050"
    #: The bureau's hotline, printed on plaques and public pages.
    hotline: str = "12319"
    #: Outbound shop notices (门前三包): POSTed as JSON to this URL when set …
    notice_webhook: str | None = None
    #: … and published to ``onegrid/v1/notices/{shop_code}`` on the MQTT broker when on.
    notice_mqtt: bool = True
    simulate: str = "auto"
    sim_rate: float | None = None
    ingest_name: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read ``ONEGRID_*`` variables; raise :class:`SettingsError` naming a bad one."""
        env = dict(os.environ if env is None else env)

        def get(name: str, default: str | None = None) -> str | None:
            value = env.get(name)
            return value if value not in (None, "") else default

        var_dir = _resolve(get("ONEGRID_VAR_DIR", "var"))
        port_text = get("ONEGRID_PORT", "8050")
        try:
            port = int(port_text)
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            raise SettingsError(f"ONEGRID_PORT={port_text!r} is not a TCP port (1-65535)")
        lang = get("ONEGRID_LANG", "zh-CN")
        if lang not in LANGUAGES:
            raise SettingsError(f"ONEGRID_LANG={lang!r}: use one of {', '.join(LANGUAGES)}")
        seed_demo = get("ONEGRID_SEED_DEMO", "auto").lower()
        if seed_demo not in ("auto", "never"):
            raise SettingsError(f"ONEGRID_SEED_DEMO={seed_demo!r}: use 'auto' or 'never'")
        demo_history = get("ONEGRID_DEMO_HISTORY", "auto").lower()
        if demo_history not in ("auto", "never"):
            raise SettingsError(f"ONEGRID_DEMO_HISTORY={demo_history!r}: use 'auto' or 'never'")
        db_url = resolve_db_url(get("ONEGRID_DB_URL", DEFAULT_DB_URL))
        if not db_url.startswith(("sqlite", "postgresql")):
            raise SettingsError(
                f"ONEGRID_DB_URL={db_url!r}: OneGrid runs on sqlite:///… or "
                "postgresql+psycopg://user@host/db"
            )
        hours_text = get("ONEGRID_SESSION_HOURS", "12")
        try:
            session_hours = int(hours_text)
        except ValueError:
            raise SettingsError(f"ONEGRID_SESSION_HOURS={hours_text!r} is not a whole number")
        limit_text = get("ONEGRID_MAP_GRID_LIMIT", "5000")
        try:
            map_grid_limit = int(limit_text)
            if map_grid_limit < 1:
                raise ValueError
        except ValueError:
            raise SettingsError(f"ONEGRID_MAP_GRID_LIMIT={limit_text!r}: a whole number of grids, "
                                "1 or more")
        public_url = (get("ONEGRID_PUBLIC_URL") or "").rstrip("/") or None
        if public_url is not None and not public_url.startswith(("http://", "https://")):
            raise SettingsError(f"ONEGRID_PUBLIC_URL={public_url!r}: an http:// or https:// "
                                "address, e.g. https://onegrid.example.gov.cn")
        webhook = get("ONEGRID_NOTICE_WEBHOOK")
        if webhook is not None and not webhook.startswith(("http://", "https://")):
            raise SettingsError(f"ONEGRID_NOTICE_WEBHOOK={webhook!r}: an http:// or https:// "
                                "URL")
        notice_mqtt = get("ONEGRID_NOTICE_MQTT", "on").lower()
        if notice_mqtt not in ("on", "off"):
            raise SettingsError(f"ONEGRID_NOTICE_MQTT={notice_mqtt!r}: use 'on' or 'off'")
        simulate = get("ONEGRID_SIMULATE", "auto").lower()
        if simulate not in ("auto", "always", "never"):
            raise SettingsError(f"ONEGRID_SIMULATE={simulate!r}: use auto, always or never")
        rate_text = get("ONEGRID_SIM_RATE")
        try:
            sim_rate = float(rate_text) if rate_text is not None else None
            if sim_rate is not None and not 0 < sim_rate <= 100_000:
                raise ValueError
        except ValueError:
            raise SettingsError(f"ONEGRID_SIM_RATE={rate_text!r}: messages per second, "
                                "a number above 0")
        return cls(
            simulate=simulate,
            sim_rate=sim_rate,
            ingest_name=get("ONEGRID_INGEST_NAME"),
            db_url=db_url,
            mqtt_url=get("ONEGRID_MQTT_URL"),
            secret_key=get("ONEGRID_SECRET_KEY", ""),
            tile_url=get("ONEGRID_TILE_URL"),
            media_dir=_resolve(get("ONEGRID_MEDIA_DIR", str(var_dir / "media"))),
            var_dir=var_dir,
            host=get("ONEGRID_HOST", "127.0.0.1"),
            port=port,
            lang=lang,
            seed_demo=seed_demo,
            demo_history=demo_history,
            log_level=get("ONEGRID_LOG_LEVEL", "INFO").upper(),
            session_hours=session_hours,
            map_grid_limit=map_grid_limit,
            public_url=public_url or f"http://{get('ONEGRID_HOST', '127.0.0.1')}:{port}",
            hotline=get("ONEGRID_HOTLINE", "12319") or "12319",
            notice_webhook=webhook,
            notice_mqtt=notice_mqtt == "on",
        )

    def resolved_secret_key(self) -> str:
        """The session-signing key: ``ONEGRID_SECRET_KEY``, or one kept in ``var/secret_key``.

        The generated key is written once (mode 0600) so that logins survive a restart.
        """
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        path.write_text(key)
        path.chmod(0o600)
        return key
