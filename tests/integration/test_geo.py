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


def test_an_areas_grids_and_the_communities(client, seeded_services) -> None:
    _sign_in(client)
    with seeded_services.session() as s:
        codes = list(s.scalars(select(UnitGrid.code).order_by(UnitGrid.code)))
    community = codes[0][:12]
    inside = [c for c in codes if c.startswith(community)]
    reply = client.get(f"/geo/grids.geojson?area={community}")
    assert reply.status_code == 200
    assert [f["id"] for f in json.loads(reply.data)["features"]] == inside
    assert grids_url(inside, community).startswith(f"/geo/grids.geojson?area={community}&v=")
    communities = json.loads(client.get("/geo/communities.geojson").data)["features"]
    ids = [f["id"] for f in communities]
    assert set(ids) == {c[:12] for c in codes} and len(ids) == len(set(ids))
    assert all(f["properties"] == {"code": f["id"]} for f in communities)
    bad = client.get("/geo/grids.geojson?area=12ab")
    assert bad.status_code == 400 and bad.json["error"]["code"] == "error.bad_area"
    client.get("/logout")
    assert client.get("/geo/communities.geojson").status_code == 401


REFRESH = ["bigscreen-map.figure", "bigscreen-kpis.children", "bigscreen-lights.children",
           "bigscreen-ticker.children", "bigscreen-categories.figure",
           "bigscreen-districts.figure", "bigscreen-note.children", "bigscreen-clock.children",
           "bigscreen-digests.data"]


def _refresh(client, digests, area=None, trigger="bigscreen-selected.data") -> dict:
    body = {"output": ".." + "...".join(REFRESH) + "..",
            "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in REFRESH],
            "inputs": [{"id": "bigscreen-interval", "property": "n_intervals", "value": 1},
                       {"id": "bigscreen-layer", "property": "value", "value": "open"},
                       {"id": "bigscreen-selected", "property": "data", "value": area}],
            "state": [{"id": "bigscreen-digests", "property": "data", "value": digests}],
            "changedPropIds": [trigger]}
    reply = client.post("/_dash-update-component", json=body)
    assert reply.status_code in (200, 204), reply.data[:300]
    return json.loads(reply.data)["response"] if reply.status_code == 200 else {}


def test_a_city_over_the_limit_is_drawn_by_community_and_a_pick_draws_its_grids(
        client, seeded_services, monkeypatch) -> None:
    from dataclasses import replace

    with seeded_services.session() as s:
        codes = list(s.scalars(select(UnitGrid.code).order_by(UnitGrid.code)))
    limit = len([c for c in codes if c.startswith(codes[0][:9])])  # the first street's grids
    assert len(codes) > limit
    monkeypatch.setattr(seeded_services, "settings",
                        replace(seeded_services.settings, map_grid_limit=limit))
    _sign_in(client)
    first = _refresh(client, {})
    trace = first["bigscreen-map"]["figure"]["data"][0]
    assert trace["locations"] == sorted({c[:12] for c in codes})
    assert trace["geojson"].startswith("/geo/communities.geojson?v=")
    assert "按社区" in trace["colorbar"]["title"]["text"]
    digests = first["bigscreen-digests"]["data"]
    tick = _refresh(client, digests, trigger="bigscreen-interval.n_intervals")
    assert "bigscreen-clock" in tick and "bigscreen-map" not in tick  # nothing new, no map
    assert _refresh(client, digests) == {}  # the store mounting with no pick: no work at all
    # a grid picked: the grids of the largest enclosing area within the limit, outlined
    grid = codes[0]
    view = next(p for p in (grid[:6], grid[:9], grid[:12])
                if len([c for c in codes if c.startswith(p)]) <= limit)
    picked = _refresh(client, digests, grid)
    figure = picked["bigscreen-map"]["figure"]
    assert figure["data"][0]["locations"] == [c for c in codes if c.startswith(view)]
    assert figure["data"][0]["geojson"].startswith(f"/geo/grids.geojson?area={view}&v=")
    outline = figure["layout"]["map"]["layers"][-1]
    assert outline["type"] == "line" and outline["source"]["features"]
    # another grid of the same area: the same grids, so only the outline and the view move
    second = next(c for c in codes if c.startswith(view) and c != grid)
    moved = _refresh(client, picked["bigscreen-digests"]["data"], second)
    patch = moved["bigscreen-map"]["figure"]
    assert patch["__dash_patch_update"] == "__dash_patch_update"
    assert {op["location"][-1] for op in patch["operations"]} >= {"layers", "center", "zoom"}
    assert not any(op["location"][:1] == ["data"] and op["location"][-1] == "locations"
                   for op in patch["operations"])
    # closed: back to the communities
    back = _refresh(client, moved["bigscreen-digests"]["data"], None)
    assert back["bigscreen-map"]["figure"]["data"][0]["locations"] == trace["locations"]
    # a hand-made area that is no code is taken as none
    junk = _refresh(client, back["bigscreen-digests"]["data"], {"x": 1})
    assert "bigscreen-map" not in junk
