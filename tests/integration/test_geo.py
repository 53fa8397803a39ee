"""The grids' outlines as a file the browser keeps (``GET /geo/grids.geojson``)."""

from __future__ import annotations

import json
import re

from shapely.geometry import shape
from sqlalchemy import func, select

from api.geo import grids_url
from data.models import UnitGrid


def _sign_in(client, username: str = "command01") -> None:
    client.get("/logout")
    form = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    reply = client.post("/login", data={"csrf": csrf, "username": username,
                                        "password": "onegrid-demo", "next": "/"})
    assert reply.status_code == 302


def test_every_grid_once_with_its_code_and_a_cacheable_etag(client, seeded_services) -> None:
    client.get("/logout")
    assert client.get("/geo/grids.geojson").status_code == 401
    _sign_in(client)
    reply = client.get("/geo/grids.geojson")
    assert reply.status_code == 200 and reply.mimetype == "application/geo+json"
    doc = json.loads(reply.data)
    codes = [f["id"] for f in doc["features"]]
    with seeded_services.session() as s:
        assert len(codes) == len(set(codes)) == s.scalar(
            select(func.count()).select_from(UnitGrid))
        one = s.scalar(select(UnitGrid).order_by(UnitGrid.code).limit(1))
    feature = next(f for f in doc["features"] if f["id"] == one.code)
    assert feature["properties"] == {"code": one.code}
    ring = feature["geometry"]["coordinates"][0]
    assert all(len(str(c).split(".")[-1]) <= 6 for point in ring for c in point)
    assert shape(feature["geometry"]).hausdorff_distance(one.geom) < 1e-6  # the same outline
    assert "max-age" in reply.headers["Cache-Control"]
    again = client.get("/geo/grids.geojson", headers={"If-None-Match": reply.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    assert grids_url(codes) != grids_url(codes[:-1])  # a new set of grids, a new URL
