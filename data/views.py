"""Read models the dashboard queries. SQL lives here; callbacks call these and nothing else.

Administrative codes nest by prefix (district 6 → street 9 → community 12 → grid 15), so
"everything inside area X" is ``code LIKE 'X%'`` on any table that carries a grid code.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.models import Component, Department, Device, Region, Shop, UnitGrid, User

LEVELS = ("district", "street", "community", "grid")
_AREA_CODE = re.compile(r"^\d{6}(\d{3}){0,3}$")


class ViewError(ValueError):
    """A read-model request with a bad argument (unknown level, malformed area code).

    ``key`` names the interface text for it (see ``i18n.py``) and ``value`` what was sent,
    so a page can say it in the user's language.
    """

    def __init__(self, message: str, key: str, value: object) -> None:
        super().__init__(message)
        self.key = key
        self.value = value


@dataclass(frozen=True)
class RegionItem:
    code: str
    level: str
    name: str
    name_en: str | None
    parent_code: str | None


@dataclass(frozen=True)
class AreaCounts:
    """Counts inside one area (or the whole city): what the overview page shows."""

    districts: int
    streets: int
    communities: int
    grids: int
    components: int
    devices: int
    shops: int
    inspectors: int
    departments: int
    area_km2: float


def check_area(area: str | None) -> str | None:
    """Validate an area code (city/district 6, street 9, community 12, grid 15 digits)."""
    if area in (None, ""):
        return None
    if not isinstance(area, str) or not _AREA_CODE.match(area):
        raise ViewError(f"area code {area!r} must be 6, 9, 12 or 15 digits",
                        "error.bad_area", area)
    return area


def _prefix(area: str | None) -> str | None:
    """The code prefix that selects an area; a city code (ending 00) selects everything."""
    area = check_area(area)
    if area is None or (len(area) == 6 and area.endswith("00")):
        return None
    return area


def region_tree(session: Session) -> list[RegionItem]:
    """Every region, city first, ordered by level then code (for cascading pickers)."""
    order = {"city": 0, "district": 1, "street": 2, "community": 3}
    rows = session.execute(
        select(Region.code, Region.level, Region.name, Region.name_en, Region.parent_code)
    ).all()
    items = [RegionItem(*r) for r in rows]
    return sorted(items, key=lambda r: (order.get(r.level, 9), r.code))


def area_counts(session: Session, area: str | None = None) -> AreaCounts:
    prefix = _prefix(area)

    def count(column: Any, *where: Any) -> int:
        stmt = select(func.count()).select_from(column.class_)
        if prefix is not None:
            stmt = stmt.where(column.like(prefix + "%"))
        for w in where:
            stmt = stmt.where(w)
        return int(session.scalar(stmt) or 0)

    def regions(level: str) -> int:
        return count(Region.code, Region.level == level)

    grid_area = select(func.coalesce(func.sum(UnitGrid.area_m2), 0.0))
    if prefix is not None:
        grid_area = grid_area.where(UnitGrid.code.like(prefix + "%"))
    devices = select(func.count()).select_from(Device).join(Component)
    inspectors = select(func.count(func.distinct(UnitGrid.inspector_id)))
    if prefix is not None:
        devices = devices.where(Component.grid_code.like(prefix + "%"))
        inspectors = inspectors.where(UnitGrid.code.like(prefix + "%"))
    else:
        inspectors = select(func.count()).select_from(User).where(User.role == "inspector")
    return AreaCounts(
        districts=regions("district"),
        streets=regions("street"),
        communities=regions("community"),
        grids=count(UnitGrid.code),
        components=count(Component.grid_code),
        devices=int(session.scalar(devices) or 0),
        shops=count(Shop.grid_code),
        inspectors=int(session.scalar(inspectors) or 0),
        departments=int(session.scalar(select(func.count()).select_from(Department)) or 0),
        area_km2=round(float(session.scalar(grid_area) or 0.0) / 1e6, 2),
    )


def area_features(session: Session, level: str, area: str | None = None,
                  *, precision: int = 6) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the areas at ``level`` inside ``area``.

    Properties: ``code``, ``name``, ``name_en``, ``parent_code``, ``area_m2`` and, for
    grids, ``inspector`` (display name) and ``components`` (count).
    """
    if level not in LEVELS:
        raise ViewError(f"level {level!r} unknown: use one of {', '.join(LEVELS)}",
                        "error.bad_level", level)
    prefix = _prefix(area)
    if level == "grid":
        comp_counts = select(Component.grid_code, func.count().label("n")).group_by(
            Component.grid_code).subquery()
        stmt = (
            select(UnitGrid.code, UnitGrid.name, UnitGrid.community_code, UnitGrid.area_m2,
                   UnitGrid.geom, User.display_name, func.coalesce(comp_counts.c.n, 0))
            .outerjoin(User, User.id == UnitGrid.inspector_id)
            .outerjoin(comp_counts, comp_counts.c.grid_code == UnitGrid.code)
            .order_by(UnitGrid.code)
        )
        if prefix is not None:
            stmt = stmt.where(UnitGrid.code.like(prefix + "%"))
        rows = [
            dict(code=c, name=n, name_en=None, parent_code=p, area_m2=a, geom=g,
                 inspector=i, components=k)
            for c, n, p, a, g, i, k in session.execute(stmt)
        ]
    else:
        stmt = (
            select(Region.code, Region.name, Region.name_en, Region.parent_code,
                   Region.area_m2, Region.geom)
            .where(Region.level == level)
            .order_by(Region.code)
        )
        if prefix is not None:
            stmt = stmt.where(Region.code.like(prefix + "%"))
        rows = [dict(code=c, name=n, name_en=e, parent_code=p, area_m2=a, geom=g)
                for c, n, e, p, a, g in session.execute(stmt)]
    features = []
    for row in rows:
        geom = row.pop("geom")
        if geom is None:
            continue
        features.append({
            "type": "Feature",
            "id": row["code"],
            "properties": row,
            "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 10 ** -precision)),
        })
    return {"type": "FeatureCollection", "features": features}


def area_bounds(session: Session, area: str | None = None) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of an area's grids — for fitting the map."""
    prefix = _prefix(area)
    stmt = select(UnitGrid.geom)
    if prefix is not None:
        stmt = stmt.where(UnitGrid.code.like(prefix + "%"))
    geoms = list(session.scalars(stmt))
    if not geoms:
        raise ViewError(f"no unit grids inside area {area!r}", "error.empty_area", area)
    return tuple(float(v) for v in shapely.total_bounds(geoms))  # type: ignore[return-value]


FEATURES_TTL_S = 60.0
_features: dict[tuple[str, str, str | None], tuple[float, dict[str, Any]]] = {}


_bounds: dict[tuple[str, str | None], tuple[float, tuple[float, float, float, float]]] = {}


def cached_area_bounds(session: Session,
                       area: str | None = None) -> tuple[float, float, float, float]:
    """:func:`area_bounds`, kept a minute per (database, area) like the features (at 10,000
    grids the city's bounds read every outline: ~50 ms)."""
    key = (str(session.get_bind().url), area)
    now = time.monotonic()
    hit = _bounds.get(key)
    if hit is None or now - hit[0] > FEATURES_TTL_S:
        if len(_bounds) >= 256:
            _bounds.clear()
        hit = _bounds[key] = (now, area_bounds(session, area))
    return hit[1]


def cached_area_features(session: Session, level: str, area: str | None = None) -> dict[str, Any]:
    """:func:`area_features`, kept a minute per (database, level, area): areas rarely move."""
    key = (str(session.get_bind().url), level, area)
    now = time.monotonic()
    hit = _features.get(key)
    if hit is None or now - hit[0] > FEATURES_TTL_S:
        if len(_features) >= 64:
            _features.clear()
        hit = _features[key] = (now, area_features(session, level, area))
    return hit[1]
