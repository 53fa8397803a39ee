"""Seed: the configuration tables and the demo city (``data/demo/``) into the database.

Idempotent: every row is keyed by its natural code; a second run inserts nothing and changes
nothing (configuration rows are rewritten only when the YAML changed). The demo files are
committed; this module never regenerates them.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from data.accounts import hash_password
from data.config import Catalogue
from data.models import (
    Component,
    ComponentType,
    Department,
    Device,
    EventType,
    Region,
    Road,
    Shop,
    ShopToken,
    Tracker,
    UnitGrid,
    User,
)

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_PASSWORD = "onegrid-demo"
"""Password of every demo account (README lists them). Change it for anything but a demo."""

DEVICE_KIND_BY_TYPE = {"0125": "camera"}


@dataclass
class SeedReport:
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, n: int, *, updated: bool = False) -> None:
        target = self.updated if updated else self.inserted
        if n:
            target[table] = target.get(table, 0) + n

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)

    def summary(self) -> str:
        if not self.changed:
            return "nothing to do: the database already holds everything"
        parts = [f"{n} {t}" for t, n in sorted(self.inserted.items())]
        parts += [f"{n} {t} updated" for t, n in sorted(self.updated.items())]
        return "seeded " + ", ".join(parts)


def _features(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc["features"]


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _existing(session: Session, column: Any) -> set[Any]:
    return set(session.scalars(select(column)))


def _insert(session: Session, model: type, rows: list[dict[str, Any]]) -> int:
    if rows:
        for start in range(0, len(rows), 2000):
            session.execute(insert(model), rows[start:start + 2000])
    return len(rows)


def seed_catalogue(session: Session, catalogue: Catalogue, report: SeedReport) -> None:
    """Component and event types from ``data/config``: insert new, update changed."""
    for model, items in ((ComponentType, catalogue.component_types),
                         (EventType, catalogue.event_types)):
        current = {row.code: row for row in session.scalars(select(model))}
        for t in items:
            values: dict[str, Any] = dict(
                major_code=t.major_code, major_name=t.major_name, name=t.name,
                name_en=t.name_en, department_code=t.department,
            )
            if model is ComponentType:
                values.update(metrics=t.metrics_json(), report_period_s=t.report_period_s)
            else:
                values.update(detection_code=t.detection)
            row = current.get(t.code)
            if row is None:
                session.add(model(code=t.code, **values))
                report.add(model.__tablename__, 1)
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
                report.add(model.__tablename__, 1, updated=True)
    session.flush()


def _multipolygon(geom: shapely.Geometry) -> MultiPolygon:
    return MultiPolygon([geom]) if isinstance(geom, Polygon) else geom


def seed_demo(session: Session, catalogue: Catalogue, demo_dir: Path = DEMO_DIR,
              password: str = DEMO_PASSWORD) -> SeedReport:
    """Load the demo city into an upgraded, possibly partly seeded database (caller commits)."""
    from gis import GridIndex

    report = SeedReport()
    seed_catalogue(session, catalogue, report)

    # Departments
    have = _existing(session, Department.code)
    rows = [dict(code=d["code"], name=d["name"], name_en=d.get("name_en"), kind=d.get("kind"),
                 phone=d.get("phone"), active=True)
            for d in _json(demo_dir / "departments.json") if d["code"] not in have]
    report.add("departments", _insert(session, Department, rows))
    dept_ids = dict(session.execute(select(Department.code, Department.id)).all())

    # Regions: city, then districts, streets, communities (parents before children)
    city = _json(demo_dir / "city.json")
    have = _existing(session, Region.code)
    region_rows: list[dict[str, Any]] = []
    if city["code"] not in have:
        region_rows.append(dict(code=city["code"], level="city", name=city["name"],
                                name_en=city.get("name_en"), parent_code=None, geom=None,
                                area_m2=None))
    order = {"district": 0, "street": 1, "community": 2}
    regions = sorted(_features(demo_dir / "regions.geojson"),
                     key=lambda f: (order[f["properties"]["level"]], f["properties"]["code"]))
    for f in regions:
        p = f["properties"]
        if p["code"] in have:
            continue
        geom = _multipolygon(shape(f["geometry"]))
        region_rows.append(dict(code=p["code"], level=p["level"], name=p["name"],
                                name_en=p.get("name_en"), parent_code=p["parent_code"],
                                geom=geom, area_m2=p.get("area_m2")))
    report.add("regions", _insert(session, Region, region_rows))

    # Users. Demo accounts share the documented demo password, so one hash serves them all
    # (scrypt costs ~80 ms a hash; salting each copy would only slow every seed down).
    have = _existing(session, User.username)
    demo_hash = hash_password(password)
    rows = []
    for u in _json(demo_dir / "users.json"):
        if u["username"] in have:
            continue
        rows.append(dict(username=u["username"], display_name=u["display_name"], role=u["role"],
                         department_id=dept_ids.get(u.get("department") or ""),
                         phone=u.get("phone"), password_hash=demo_hash,
                         active=True, failed_logins=0))
    report.add("users", _insert(session, User, rows))
    user_ids = dict(session.execute(select(User.username, User.id)).all())

    # Unit grids
    grid_features = _features(demo_dir / "grids.geojson")
    have = _existing(session, UnitGrid.code)
    rows = [dict(code=f["properties"]["code"], community_code=f["properties"]["community_code"],
                 name=f["properties"]["name"], geom=shape(f["geometry"]),
                 area_m2=f["properties"]["area_m2"],
                 inspector_id=user_ids.get(f["properties"].get("inspector") or ""))
            for f in grid_features if f["properties"]["code"] not in have]
    report.add("unit_grids", _insert(session, UnitGrid, rows))
    index = GridIndex.from_polygons(
        [f["properties"]["code"] for f in grid_features],
        [shape(f["geometry"]) for f in grid_features],
    )

    # Roads
    have = _existing(session, Road.code)
    rows = [dict(code=f["properties"]["code"], name=f["properties"]["name"],
                 name_en=f["properties"].get("name_en"), road_class=f["properties"]["class"],
                 width_m=f["properties"].get("width_m"), geom=shape(f["geometry"]))
            for f in _features(demo_dir / "roads.geojson") if f["properties"]["code"] not in have]
    report.add("roads", _insert(session, Road, rows))

    # Components and their devices, each located to its grid on the way in
    features = [f for f in _features(demo_dir / "components.geojson")]
    have = _existing(session, Component.code)
    new = [f for f in features if f["properties"]["code"] not in have]
    points = [shape(f["geometry"]) for f in new]
    grids = index.locate_many_codes([p.x for p in points], [p.y for p in points])
    rows = [dict(code=f["properties"]["code"], type_code=f["properties"]["type_code"],
                 name=f["properties"]["name"], geom=pt, grid_code=grid,
                 department_id=dept_ids.get(f["properties"].get("department") or ""),
                 address=f["properties"].get("address"), status="normal")
            for f, pt, grid in zip(new, points, grids, strict=True)]
    report.add("components", _insert(session, Component, rows))
    component_ids = dict(session.execute(select(Component.code, Component.id)).all())
    periods = {t.code: t.report_period_s for t in catalogue.component_types}
    have = _existing(session, Device.code)
    rows = []
    for f in features:
        p = f["properties"]
        if p.get("device_code") and p["device_code"] not in have:
            rows.append(dict(code=p["device_code"], kind=DEVICE_KIND_BY_TYPE.get(
                p["type_code"], "sensor"), component_id=component_ids[p["code"]],
                period_s=periods.get(p["type_code"]), online=None))
    report.add("devices", _insert(session, Device, rows))

    # Shops with their 门前三包 zones and QR tokens (≥ 128 bits, unguessable)
    zones = {f["properties"]["shop_code"]: shape(f["geometry"])
             for f in _features(demo_dir / "shop_zones.geojson")}
    have = _existing(session, Shop.code)
    new = [f for f in _features(demo_dir / "shops.geojson") if f["properties"]["code"] not in have]
    points = [shape(f["geometry"]) for f in new]
    grids = index.locate_many_codes([p.x for p in points], [p.y for p in points])
    rows = []
    for f, pt, grid in zip(new, points, grids, strict=True):
        p = f["properties"]
        rows.append(dict(code=p["code"], name=p["name"], category=p.get("category"),
                         licence_no=p.get("licence_no"), address=p.get("address"),
                         owner_name=p.get("owner_name"), owner_phone=p.get("owner_phone"),
                         geom=pt, zone=zones.get(p["code"]), grid_code=grid,
                         qr_token=secrets.token_urlsafe(24), active=True))
    report.add("shops", _insert(session, Shop, rows))
    if rows:  # every issued token on record (a revoked one still names its shop)
        ids = dict(session.execute(select(Shop.qr_token, Shop.id).where(
            Shop.code.in_([r["code"] for r in rows]))).all())
        _insert(session, ShopToken, [dict(token=r["qr_token"], shop_id=ids[r["qr_token"]])
                                     for r in rows])
    _seed_shop_owners(session, demo_hash, report)

    # Trackers: inspectors' phones and enforcement vehicles
    have = _existing(session, Tracker.code)
    rows = [dict(code=t["code"], kind=t["kind"], name=t["name"],
                 user_id=user_ids.get(t.get("username") or ""), plate=t.get("plate"),
                 department_id=dept_ids.get(t.get("department") or ""))
            for t in _json(demo_dir / "trackers.json") if t["code"] not in have]
    report.add("trackers", _insert(session, Tracker, rows))
    session.flush()
    return report


#: Demo shop owners (商户): the first shops by code get an account ``shop_<code>``.
DEMO_SHOP_OWNERS = 5


def _seed_shop_owners(session: Session, password_hash: str, report: SeedReport) -> None:
    """Accounts for the owners of the first :data:`DEMO_SHOP_OWNERS` shops (display name: the
    shop's owner name; the demo password); a shop without an owner gets its account. A shop
    that has another owner already keeps it."""
    shops = session.scalars(select(Shop).order_by(Shop.code).limit(DEMO_SHOP_OWNERS)).all()
    have = dict(session.execute(select(User.username, User.id).where(
        User.username.in_([f"shop_{s.code}" for s in shops]))).all())
    rows = [dict(username=f"shop_{s.code}", display_name=(s.owner_name or s.name)[:100],
                 role="shop_owner", phone=s.owner_phone, password_hash=password_hash,
                 active=True, failed_logins=0)
            for s in shops if f"shop_{s.code}" not in have]
    report.add("users", _insert(session, User, rows))
    if rows:
        have = dict(session.execute(select(User.username, User.id).where(
            User.username.in_([r["username"] for r in rows]))).all())
    owned = 0
    for s in shops:
        user_id = have.get(f"shop_{s.code}")
        if s.owner_user_id is None and user_id is not None:
            s.owner_user_id = user_id
            owned += 1
    report.add("shops", owned, updated=True)


def database_is_empty(session: Session) -> bool:
    return session.scalar(select(Region.code).limit(1)) is None
