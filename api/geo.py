"""Geometry for the maps, served as files the browser keeps: ``GET /geo/grids.geojson``
(every unit grid, or with ``?area=CODE`` those inside one district, street or community) and
``GET /geo/communities.geojson``.

Outlines with nothing but each feature's code: the big screen's base layer. Plotly fetches it
by URL (a ``choroplethmap`` trace's ``geojson`` may be one), so a page's figure carries the
features' codes and values but not their 10,000 outlines, and a reload takes the file from the
browser's cache (ETag; the URL changes with the set of features). Signed-in staff only (the
guard in ``api.auth``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import flask
import orjson

from data.views import ViewError, cached_area_bounds, cached_area_features, check_area
from services import get_services

bp = flask.Blueprint("geo", __name__)
log = logging.getLogger("onegrid.geo")

GRIDS_PATH = "/geo/grids.geojson"
COMMUNITIES_PATH = "/geo/communities.geojson"
TTL_S = 300.0
_cache: dict[tuple[str, str, str | None], tuple[float, bytes, str]] = {}
_lock = threading.Lock()


def _round(coords: Any) -> Any:
    """Coordinates to 6 decimals (about 0.1 m): a third of the bytes, the same outlines."""
    if coords and isinstance(coords[0], float | int):
        return [round(float(c), 6) for c in coords]
    return [_round(c) for c in coords]


def slim_grids(features: dict[str, Any]) -> dict[str, Any]:
    """The areas as a FeatureCollection with nothing but each one's code (as id and as
    ``properties.code``, the figure's ``featureidkey``) and its rounded outline."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f["properties"]["code"],
         "properties": {"code": f["properties"]["code"]},
         "geometry": {"type": f["geometry"]["type"],
                      "coordinates": _round(f["geometry"]["coordinates"])}}
        for f in features["features"]]}


def codes_version(codes: list[str]) -> str:
    return hashlib.sha1("\n".join(codes).encode()).hexdigest()[:16]


def grids_url(codes: Sequence[str], area: str | None = None) -> str:
    """The URL of the grids' file for this set of grids (a new set, a new URL), all of them or
    those inside ``area``."""
    where = f"area={area}&" if area else ""
    return f"{GRIDS_PATH}?{where}v={codes_version(list(codes))}"


def view_url(level: str, codes: Sequence[str], area: str | None = None) -> str:
    """The file of a big-screen map view's features (``level`` grid or community)."""
    if level == "community":
        return f"{COMMUNITIES_PATH}?v={codes_version(list(codes))}"
    return grids_url(codes, area)


def grids_file(services: Any, level: str = "grid", area: str | None = None) -> tuple[bytes, str]:
    """The features' file (bytes, ETag), built at most once a :data:`TTL_S` per database,
    level and area."""
    key = (str(services.engine.url), level, area)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] <= TTL_S:
        return hit[1], hit[2]
    with services.session() as session:
        features = cached_area_features(session, level, area)
    body = orjson.dumps(slim_grids(features))
    etag = hashlib.sha1(body).hexdigest()
    with _lock:
        if len(_cache) >= 64:
            _cache.clear()
        _cache[key] = (now, body, etag)
    return body, etag


def warm(services: Any) -> None:
    """Build the grids' file ahead of the first page (the web process does at start), so the
    first visitor of a big city does not wait for it."""
    try:
        grids_file(services)
        grids_file(services, "community")  # a city drawn by community at first
        with services.session() as session:
            cached_area_bounds(session)  # the big screen's first view
    except Exception:  # a warm-up only: the first request builds it otherwise
        log.exception("could not prepare the grids' file")


@bp.route(GRIDS_PATH)
def grids() -> flask.Response:
    try:
        area = check_area(flask.request.args.get("area") or None)
    except ViewError as exc:
        return flask.Response(orjson.dumps({"error": {"code": exc.key, "message": str(exc)}}),
                              400, mimetype="application/json")
    return _send(*grids_file(get_services(), "grid", area))


@bp.route(COMMUNITIES_PATH)
def communities() -> flask.Response:
    return _send(*grids_file(get_services(), "community"))


def _send(body: bytes, etag: str) -> flask.Response:
    if etag in flask.request.if_none_match:
        response = flask.Response(status=304)
    else:
        response = flask.Response(body, mimetype="application/geo+json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
