"""The demo city seeded into both databases, and the read models the overview page uses."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from data.models import Component, Device, Region, Shop, UnitGrid, User
from data.seed import DEMO_DIR, seed_demo
from data.views import ViewError, area_bounds, area_counts, area_features, region_tree
from services import prepare_database


def _count_features(name: str) -> int:
    return len(json.loads((DEMO_DIR / name).read_text(encoding="utf-8"))["features"])


@pytest.fixture
def seeded(services):
    report = prepare_database(services, seed=True)
    assert report is not None and report.inserted["unit_grids"] == _count_features(
        "grids.geojson")
    return services


def test_seed_loads_every_file_and_locates_components(seeded) -> None:
    with seeded.session() as session:
        assert session.scalar(select(func.count()).select_from(UnitGrid)) == _count_features(
            "grids.geojson")
        assert session.scalar(select(func.count()).select_from(Component)) == _count_features(
            "components.geojson")
        assert session.scalar(select(func.count()).select_from(Shop)) == _count_features(
            "shops.geojson")
        # Every component and shop was located to a grid on the way in, and the grid's
        # polygon really covers it.
        assert session.scalar(select(func.count()).select_from(Component).where(
            Component.grid_code.is_(None))) == 0
        sample = session.execute(select(Component.geom, UnitGrid.geom).join(
            UnitGrid, UnitGrid.code == Component.grid_code).limit(200)).all()
        assert all(grid.covers(point) for point, grid in sample)
        tokens = session.scalars(select(Shop.qr_token)).all()
        assert len(set(tokens)) == len(tokens) and min(map(len, tokens)) >= 22  # ≥ 128 bits
        inspectors = session.scalar(select(func.count()).select_from(User).where(
            User.role == "inspector"))
        assert inspectors >= 40
        assert session.scalar(select(func.count()).select_from(UnitGrid).where(
            UnitGrid.inspector_id.is_(None))) == 0


def test_seed_twice_changes_nothing(seeded) -> None:
    with seeded.transaction() as session:
        again = seed_demo(session, seeded.catalogue)
    assert not again.changed, again.summary()


def test_counts_add_up_across_levels(seeded) -> None:
    with seeded.session() as session:
        city = area_counts(session)
        districts = [r for r in region_tree(session) if r.level == "district"]
        parts = [area_counts(session, d.code) for d in districts]
        grids = session.scalar(select(func.count()).select_from(UnitGrid))
        components = session.scalar(select(func.count()).select_from(Component))
        devices = session.scalar(select(func.count()).select_from(Device))
        streets = session.scalar(select(func.count()).select_from(Region).where(
            Region.level == "street"))
    assert (city.grids, city.components, city.devices, city.streets) == (
        grids, components, devices, streets)
    assert len(districts) == 3 and city.districts == 3
    assert sum(p.grids for p in parts) == city.grids
    assert sum(p.components for p in parts) == city.components
    assert sum(p.shops for p in parts) == city.shops
    assert all(p.districts == 1 for p in parts)
    assert 15 < city.area_km2 < 30


def test_area_features_by_level(seeded) -> None:
    with seeded.session() as session:
        tree = region_tree(session)
        community = next(r for r in tree if r.level == "community")
        grids = area_features(session, "grid", community.code)
        streets = area_features(session, "street")
        bounds = area_bounds(session, community.code)
        with pytest.raises(ViewError):
            area_features(session, "planet")
        with pytest.raises(ViewError):
            area_counts(session, "12ab")
    assert grids["features"] and all(
        f["properties"]["code"].startswith(community.code) for f in grids["features"])
    assert all(f["properties"]["inspector"] for f in grids["features"])
    assert len(streets["features"]) == sum(r.level == "street" for r in tree)
    minx, miny, maxx, maxy = bounds
    assert 112 < minx < maxx < 113 and 22.5 < miny < maxy < 23.5
