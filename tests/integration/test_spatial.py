"""Locating in the database agrees with gis.GridIndex on both databases, edges included."""

from __future__ import annotations

import itertools
import math

import numpy as np
from sqlalchemy import insert

from data.migrate import upgrade
from data.models import Region, UnitGrid
from data.spatial import GridLocator
from gis import GridIndex
from gis.synthetic import lattice_grids


def _load_lattice(services) -> tuple[list[str], list]:
    codes, polys = lattice_grids(8, 8, jitter=0.2, seed=7)
    upgrade(services.engine)
    with services.transaction() as session:
        district, street = codes[0][:6], codes[0][:9]
        session.execute(insert(Region), [
            dict(code=district, level="district", name="区"),
            dict(code=street, level="street", name="街道", parent_code=district),
        ])
        session.execute(insert(Region), [
            dict(code=c, level="community", name="社区", parent_code=street)
            for c in sorted({c[:12] for c in codes})
        ])
        session.execute(insert(UnitGrid), [
            dict(code=c, community_code=c[:12], name=c, geom=p, area_m2=p.area)
            for c, p in zip(codes, polys, strict=True)
        ])
    return codes, polys


def test_database_locate_matches_grid_index(services) -> None:
    codes, polys = _load_lattice(services)
    index = GridIndex.from_polygons(codes, polys)
    minx, miny, maxx, maxy = index.bounds
    rng = np.random.default_rng(3)
    pad = 0.2 * (maxx - minx)
    lons = list(rng.uniform(minx - pad, maxx + pad, 400))
    lats = list(rng.uniform(miny - pad, maxy + pad, 400))
    # Shared vertices and edge midpoints: several grids cover each of these.
    for poly in polys[:20]:
        ring = list(poly.exterior.coords)
        for (x0, y0), (x1, y1) in itertools.pairwise(ring):
            lons += [x0, (x0 + x1) / 2]
            lats += [y0, (y0 + y1) / 2]
    expected = list(index.locate_many_codes(lons, lats))
    locator = GridLocator()
    with services.session() as session:
        got = locator.locate_many(session, lons, lats)
        single = [locator.locate(session, x, y) for x, y in zip(lons[-10:], lats[-10:],
                                                              strict=True)]
    assert got == expected
    assert single == expected[-10:]
    assert any(c is None for c in got) and sum(c is not None for c in got) > 200


def test_outside_and_nan_are_outside(services) -> None:
    _load_lattice(services)
    locator = GridLocator()
    with services.session() as session:
        assert locator.locate(session, 100.0, 10.0) is None
        assert locator.locate_many(session, [math.nan], [23.05]) == [None]
        assert locator.locate_many(session, [], []) == []
