"""``/healthz``: is the web process up, can it reach its database, is the schema current."""

from __future__ import annotations

from typing import Any

import flask
from sqlalchemy import text

from data.ingest import worker_states
from data.migrate import current_revision, head_revision
from data.types import utcnow
from services import get_services

bp = flask.Blueprint("health", __name__)
STALE_S = 30.0


@bp.route("/healthz")
def healthz() -> Any:
    services = get_services()
    body: dict[str, Any] = {"status": "ok", "database": "ok"}
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = current_revision(services.engine)
        body["schema"] = revision
        if revision != head_revision():
            body["status"] = "degraded"
            body["database"] = (f"schema {revision} is behind {head_revision()}: "
                                "run 'python app.py seed --schema-only'")
        body["ingest"] = _ingest(services)
    except Exception as exc:  # the health check reports, it never raises
        body.update(status="error", database=f"unreachable: {type(exc).__name__}")
        return flask.jsonify(body), 503
    if body["ingest"] and not any(w["connected"] and not w["stale"] for w in body["ingest"]):
        body["status"] = "degraded"
    return flask.jsonify(body)


def _ingest(services: Any) -> list[dict[str, Any]]:
    """Each ingest worker's last heartbeat: connected to its broker, and counts."""
    now = utcnow()
    with services.session() as session:
        workers = worker_states(session)
    return [dict(name=w.name, broker=w.broker, connected=w.connected, state=w.state,
                 heartbeat_age_s=round((now - w.heartbeat_at).total_seconds(), 1),
                 stale=(now - w.heartbeat_at).total_seconds() > STALE_S,
                 received=w.received, stored=w.stored, duplicates=w.duplicates,
                 dead_letters=w.dead_letters, reconnects=w.reconnects) for w in workers]
