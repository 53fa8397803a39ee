"""Geometry for the maps, served as files the browser keeps: ``GET /geo/grids.geojson``.

Every unit grid's outline (code and id only), the big screen's base layer. Plotly fetches it
by URL (a ``choroplethmap`` trace's ``geojson`` may be one), so a page's figure carries the
grids' codes and values but not their 10,000 outlines, and a reload takes the file from the
browser's cache (ETag; the URL changes with the set of grids). Signed-in staff only (the guard
in ``api.auth``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any

import flask
import orjson

from data.views import cached_area_features
from services import get_services

bp = flask.Blueprint("geo", __name__)
log = logging.getLogger("onegrid.geo")

GRIDS_PATH = "/geo/grids.geojson"
TTL_S = 300.0
_cache: dict[str, tuple[float, bytes, str]] = {}
_lock = threading.Lock()


def _round(coords: Any) -> Any:
    """Coordinates to 6 decimals (about 0.1 m): a third of the bytes, the same outlines."""
    if coords and isinstance(coords[0], float | int):
        return [round(float(c), 6) for c in coords]
    return [_round(c) for c in coords]


def slim_grids(features: dict[str, Any]) -> dict[str, Any]:
    """The grids as a FeatureCollection with nothing but each grid's code (as id and as
    ``properties.code``, the figure's ``featureidkey``) and its rounded outline."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f["properties"]["code"],
         "properties": {"code": f["properties"]["code"]},
         "geometry": {"type": f["geometry"]["type"],
                      "coordinates": _round(f["geometry"]["coordinates"])}}
        for f in features["features"]]}


def codes_version(codes: list[str]) -> str:
    return hashlib.sha1("\n".join(codes).encode()).hexdigest()[:16]


def grids_url(codes: list[str]) -> str:
    """The URL of the grids' file for this set of grids (a new set, a new URL)."""
    return f"{GRIDS_PATH}?v={codes_version(codes)}"


def grids_file(services: Any) -> tuple[bytes, str]:
    """The grids' file (bytes, ETag), built at most once a :data:`TTL_S` per database."""
    key = str(services.engine.url)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] <= TTL_S:
        return hit[1], hit[2]
    with services.session() as session:
        features = cached_area_features(session, "grid", None)
    body = orjson.dumps(slim_grids(features))
    etag = hashlib.sha1(body).hexdigest()
    with _lock:
        _cache[key] = (now, body, etag)
    return body, etag


def warm(services: Any) -> None:
    """Build the grids' file ahead of the first page (the web process does at start), so the
    first visitor of a big city does not wait for it."""
    try:
        grids_file(services)
    except Exception:  # a warm-up only: the first request builds it otherwise
        log.exception("could not prepare the grids' file")


@bp.route(GRIDS_PATH)
def grids() -> flask.Response:
    body, etag = grids_file(get_services())
    if etag in flask.request.if_none_match:
        response = flask.Response(status=304)
    else:
        response = flask.Response(body, mimetype="application/geo+json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
