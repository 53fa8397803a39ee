"""The shop registry in the database (商户台账, 一户一码): import, QR tokens, plaques' data.

- :func:`import_shops` writes the rows :mod:`shops.registry` checked. A shop is matched by its
  licence number (营业执照号), else by its code, so a second run of the same file updates
  rather than duplicates (a row with neither is matched by name within
  :data:`SAME_PLACE_M`). Every row is located to its unit grid with the database's own means
  (:class:`data.spatial.GridLocator`); a row outside every grid fails, as does a row whose
  licence and code name two different shops. The report lists created, updated, unchanged
  and failed rows (line and reason in Chinese and English); the good rows are written even
  when others failed. The caller commits.
- A shop given no polygon gets the default zone (:func:`shops.registry.default_zone`) facing
  the nearest road centreline (within :data:`ROAD_SEARCH_M`; due south without one). A row
  without a polygon keeps a shop's drawn zone unless it moves the shop or gives a frontage
  depth.
- New shops get the next free code (``S`` and 8 digits), a QR token and its ``ShopToken`` row.
  :func:`revoke_token` retires the current token (kept, marked revoked) and issues a new one;
  :func:`find_by_token` finds the shop of a current or a revoked token.
- :func:`plaques_for_street` gathers what the responsibility plaques of a street print.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.ops import nearest_points
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models import Region, Road, Shop, ShopToken, UnitGrid, User
from data.spatial import GridLocator
from data.types import utcnow
from gis.crs import WGS84_EPSG, project, utm_epsg_for
from reports.plaques import Plaque, PlaqueSheet
from shops.geocode import Anchor, Geocoder, parse_address
from shops.registry import (
    ParseResult,
    RowError,
    ShopRow,
    default_zone,
    parse_file,
)
from shops.tokens import is_token_format, new_token

__all__ = [
    "ImportReport",
    "StreetNotFoundError",
    "TokenMatch",
    "find_by_token",
    "import_shop_file",
    "import_shops",
    "plaques_for_street",
    "revoke_token",
    "shop_by_code",
]

ROAD_SEARCH_M = 100.0
"""A default zone faces the nearest road centreline within this distance."""

SAME_PLACE_M = 15.0
"""A row with neither licence nor code updates the shop of the same name this close."""

MOVED_M = 1.0
"""A re-imported location further than this from the stored one moves the shop."""

CODE_PREFIX = "S"
CODE_DIGITS = 8
_CODE_RE = re.compile(rf"{CODE_PREFIX}(\d{{{CODE_DIGITS}}})")

_LOCATOR = GridLocator()

FIELDS = ("name", "category", "licence_no", "address", "owner_name", "owner_phone")


@dataclass(frozen=True)
class ImportedRow:
    line: int
    code: str
    name: str


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    created: list[ImportedRow] = field(default_factory=list)
    updated: list[ImportedRow] = field(default_factory=list)
    unchanged: list[ImportedRow] = field(default_factory=list)
    failed: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False
    approximate: list[RowError] = field(default_factory=list)  # placed by address: check them

    @property
    def failed_lines(self) -> list[int]:
        return sorted({e.line for e in self.failed})

    def summary(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        head = (f"{verb}: {len(self.created)} created, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged, {len(self.failed_lines)} rows failed")
        zh = (f"{'试导入' if self.dry_run else '导入'}：新增 {len(self.created)}，更新 "
              f"{len(self.updated)}，未变 {len(self.unchanged)}，失败 {len(self.failed_lines)} 行")
        lines = [zh, head]
        if self.ignored_columns:
            lines.append("ignored columns / 未识别的列: " + ", ".join(self.ignored_columns))
        lines += [f"  {e}" for e in sorted(self.failed, key=lambda e: e.line)]
        lines += [f"  {e}" for e in sorted(self.approximate, key=lambda e: e.line)]
        return "\n".join(lines)


class TokenMatch(NamedTuple):
    shop: Shop
    status: Literal["current", "revoked"]


class StreetNotFoundError(LookupError):
    def __init__(self, code: str) -> None:
        super().__init__(f"no street {code!r}: give a street (街道) code, e.g. 449902001")
        self.code = code
        self.zh = f"没有编码为 {code} 的街道"


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


def _fail(row: ShopRow, column: str, zh: str, en: str) -> RowError:
    return RowError(row.line, column, zh, en)


def _metric_distance(a: Point, b: Point) -> float:
    epsg = utm_epsg_for(a.x, a.y)
    pa, pb = project([a, b], WGS84_EPSG, epsg)
    return float(pa.distance(pb))


class _Roads:
    """Road centrelines in one metric CRS, loaded when a default zone is first needed."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._loaded = False
        self._epsg = 0
        self._geoms: Any = None
        self._tree: shapely.STRtree | None = None

    def toward(self, lon: float, lat: float) -> tuple[float, float] | None:
        if not self._loaded:
            self._loaded = True
            geoms = [g for g in self._session.scalars(select(Road.geom)) if g is not None]
            if geoms:
                self._epsg = utm_epsg_for(lon, lat)
                self._geoms = project(np.asarray(geoms, dtype=object), WGS84_EPSG,
                                      self._epsg)
                self._tree = shapely.STRtree(self._geoms)
        if self._tree is None:
            return None
        door = project(Point(lon, lat), WGS84_EPSG, self._epsg)
        hits = self._tree.query_nearest(door, max_distance=ROAD_SEARCH_M)
        if len(hits) == 0:
            return None
        _, on_road = nearest_points(door, self._geoms[int(hits[0])])
        back = project(on_road, self._epsg, WGS84_EPSG)
        return float(back.x), float(back.y)


class _AddressGeocoder:
    """Addresses → positions (:class:`shops.geocode.Geocoder`) on the ``roads`` table,
    anchored on the registered shops' addresses; loaded when a row first needs it."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._geocoder: Geocoder | None = None

    def __call__(self, address: str) -> tuple[float, float] | tuple[str, str]:
        if self._geocoder is None:
            roads = [(name, geom, width) for name, geom, width in self._session.execute(
                select(Road.name, Road.geom, Road.width_m)) if geom is not None]
            names = [name for name, _, _ in roads]
            anchors = []
            for text, geom in self._session.execute(
                    select(Shop.address, Shop.geom).where(Shop.address.is_not(None))):
                parsed = parse_address(text, names) if geom is not None else None
                if parsed is not None:
                    anchors.append(Anchor(parsed[0], parsed[1], float(geom.x), float(geom.y)))
            self._geocoder = Geocoder(roads, anchors)
        placed = self._geocoder.geocode(address)
        if placed.lon is None or placed.lat is None:
            return placed.zh, placed.en
        return placed.lon, placed.lat


def _next_codes(session: Session) -> Any:
    top = 0
    for code in session.scalars(select(Shop.code).where(Shop.code.like(f"{CODE_PREFIX}%"))):
        m = _CODE_RE.fullmatch(code)
        if m:
            top = max(top, int(m.group(1)))
    taken: set[str] = set()

    def next_code() -> str:
        nonlocal top
        while True:
            top += 1
            code = f"{CODE_PREFIX}{top:0{CODE_DIGITS}d}"
            if code not in taken:
                return code

    return next_code, taken


def _chunks(values: list[str], size: int = 500) -> list[list[str]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def import_shops(session: Session, rows: Sequence[ShopRow], *,
                 errors: Sequence[RowError] = (), dry_run: bool = False,
                 now: datetime | None = None) -> ImportReport:
    """Create or update the shops of ``rows`` (checked by :mod:`shops.registry`).

    ``errors`` are the parse errors of the same file, carried into the report. With
    ``dry_run`` nothing is written (every check still runs, the grid location included).
    """
    now = now or utcnow()
    report = ImportReport(failed=list(errors), dry_run=dry_run)
    if not rows:
        return report
    licences = sorted({r.licence_no for r in rows if r.licence_no})
    codes = sorted({r.code for r in rows if r.code})
    by_licence: dict[str, Shop] = {}
    by_code: dict[str, Shop] = {}
    for chunk in _chunks(licences):
        for shop in session.scalars(select(Shop).where(Shop.licence_no.in_(chunk))):
            by_licence.setdefault(shop.licence_no or "", shop)
    for chunk in _chunks(codes):
        for shop in session.scalars(select(Shop).where(Shop.code.in_(chunk))):
            by_code[shop.code] = shop
    by_name: dict[str, list[Shop]] = {}
    names = sorted({r.name for r in rows if not r.licence_no and not r.code})
    for chunk in _chunks(names):
        for shop in session.scalars(select(Shop).where(Shop.name.in_(chunk))):
            by_name.setdefault(shop.name, []).append(shop)

    grids = _LOCATOR.locate_many(session, [r.lon for r in rows], [r.lat for r in rows])
    roads = _Roads(session)
    next_code, taken = _next_codes(session)
    claimed: dict[int, int] = {}  # shop id → the line that matched it
    new_shops: list[tuple[Shop, ShopRow]] = []

    for row, grid in zip(rows, grids, strict=True):
        shop = by_licence.get(row.licence_no or "")
        if shop is not None and row.code and row.code != shop.code:
            report.failed.append(_fail(
                row, "code", f"营业执照号 {row.licence_no} 已属于商户 {shop.code}，与编号 "
                             f"{row.code} 不符", f"licence {row.licence_no} belongs to shop "
                             f"{shop.code}, not to code {row.code}"))
            continue
        if shop is None and row.code:
            shop = by_code.get(row.code)
            if (shop is not None and shop.licence_no and row.licence_no
                    and shop.licence_no != row.licence_no):
                report.failed.append(_fail(
                    row, "licence_no", f"编号 {row.code} 的商户营业执照号是 {shop.licence_no}",
                    f"shop {row.code} has licence {shop.licence_no}, not {row.licence_no}"))
                continue
        if shop is None and not row.licence_no and not row.code:
            shop = _same_place(by_name.get(row.name, ()), row)
        if grid is None:
            report.failed.append(_fail(
                row, "lon", f"位置（{row.lon:.6f}, {row.lat:.6f}）不在任何单元网格内，请核对经纬度",
                f"the location ({row.lon:.6f}, {row.lat:.6f}) is outside every unit grid: "
                "check the coordinates"))
            continue
        if shop is not None:
            if shop.id in claimed:
                report.failed.append(_fail(
                    row, "", f"与第 {claimed[shop.id]} 行是同一商户 {shop.code}",
                    f"the same shop {shop.code} as line {claimed[shop.id]}"))
                continue
            claimed[shop.id] = row.line
            done = ImportedRow(row.line, shop.code, row.name)
            changed = _update(shop, row, grid, roads, now, write=not dry_run)
            (report.updated if changed else report.unchanged).append(done)
            continue
        if row.code and row.code in taken:
            report.failed.append(_fail(row, "code", f"编号 {row.code} 在本文件中已用于新商户",
                                       f"code {row.code} is already used by a new shop"))
            continue
        code = row.code or next_code()
        taken.add(code)
        zone = row.zone or default_zone(row.lon, row.lat, row.frontage_m, row.width_m,
                                        toward=roads.toward(row.lon, row.lat))
        token = new_token()
        shop = Shop(code=code, name=row.name, category=row.category, licence_no=row.licence_no,
                    address=row.address, owner_name=row.owner_name,
                    owner_phone=row.owner_phone, geom=Point(row.lon, row.lat), zone=zone,
                    grid_code=grid, qr_token=token, qr_issued_at=now, active=True,
                    created_at=now, updated_at=now,
                    frontage_m=None if row.zone is not None else
                    (row.frontage_m or None))
        new_shops.append((shop, row))
        report.created.append(ImportedRow(row.line, code, row.name))

    report.approximate = [
        _fail(row, "address", f"按地址估算位置，请在地图上核对（{row.address}）",
              f"placed by its address, approximately: check it on the map ({row.address})")
        for row in rows if row.geocoded and any(
            done.line == row.line for done in (*report.created, *report.updated,
                                               *report.unchanged))]

    if not dry_run and new_shops:
        session.add_all([shop for shop, _ in new_shops])
        session.flush()
        session.add_all([ShopToken(token=shop.qr_token, shop_id=shop.id, issued_at=now)
                         for shop, _ in new_shops])
    if not dry_run:
        session.flush()
    for bucket in (report.created, report.updated, report.unchanged):
        bucket.sort(key=lambda r: r.line)
    return report


def _same_place(shops: Sequence[Shop], row: ShopRow) -> Shop | None:
    """The shop of that name within :data:`SAME_PLACE_M` of the row (a row with neither a
    licence nor a code is matched so, or a re-run would duplicate it)."""
    here = Point(row.lon, row.lat)
    near = [(d, s) for s in shops if s.geom is not None
            and (d := _metric_distance(s.geom, here)) <= SAME_PLACE_M]
    return min(near, key=lambda pair: pair[0])[1] if near else None


def _update(shop: Shop, row: ShopRow, grid: str, roads: _Roads, now: datetime, *,
            write: bool) -> bool:
    """Apply ``row`` to ``shop``; True when anything changed. Empty cells keep what is there."""
    changes: dict[str, Any] = {}
    for name in FIELDS:
        value = getattr(row, name)
        if value is not None and value != getattr(shop, name):
            changes[name] = value
    old = shop.geom
    moved = old is None or (row.location_given and _metric_distance(
        old, Point(row.lon, row.lat)) > MOVED_M)
    if moved and (row.location_given or row.zone is not None):
        changes["geom"] = Point(row.lon, row.lat)
    if grid != shop.grid_code and not row.geocoded:  # an estimate never moves a shop
        changes["grid_code"] = grid
    if row.zone is not None:
        if shop.zone is None or not shop.zone.equals_exact(row.zone, 1e-9):
            changes["zone"] = row.zone
        if shop.frontage_m is not None:
            changes["frontage_m"] = None
    elif moved or (row.frontage_m and row.frontage_m != shop.frontage_m) or shop.zone is None:
        depth = row.frontage_m or shop.frontage_m
        changes["zone"] = default_zone(row.lon, row.lat, depth, row.width_m,
                                       toward=roads.toward(row.lon, row.lat))
        if row.frontage_m and row.frontage_m != shop.frontage_m:
            changes["frontage_m"] = row.frontage_m
    if not changes:
        return False
    if write:
        for name, value in changes.items():
            setattr(shop, name, value)
        shop.updated_at = now
    return True


def import_shop_file(session: Session, path: Path, *, dry_run: bool = False,
                     now: datetime | None = None) -> ImportReport:
    """Read, check and import a CSV or XLSX file (raises ``RegistryFileError`` for a file that
    cannot be read at all; row problems are in the report)."""
    parsed: ParseResult = parse_file(path.read_bytes(), path.name,
                                     geocode=_AddressGeocoder(session))
    report = import_shops(session, parsed.rows, errors=parsed.errors, dry_run=dry_run, now=now)
    report.ignored_columns = parsed.ignored_columns
    return report


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------


def shop_by_code(session: Session, code: str) -> Shop | None:
    return session.scalar(select(Shop).where(Shop.code == code))


def _user_id(by_user: User | int | None) -> int | None:
    if by_user is None or isinstance(by_user, int):
        return by_user
    return by_user.id


def revoke_token(session: Session, shop: Shop, by_user: User | int | None = None, *,
                 now: datetime | None = None) -> str:
    """Retire ``shop``'s current QR token (kept, marked revoked by ``by_user``) and issue a new
    current one, returned. A printed plaque with the old code then leads to a "this code was
    replaced" page; the new plaque must be printed."""
    now = now or utcnow()
    old = shop.qr_token
    record = session.get(ShopToken, old) if old else None
    if old and record is None:  # a token issued before tokens were kept: keep it now
        record = ShopToken(token=old, shop_id=shop.id, issued_at=shop.qr_issued_at or now)
        session.add(record)
    if record is not None and record.revoked_at is None:
        record.revoked_at = now
        record.revoked_by = _user_id(by_user)
    token = new_token()
    session.add(ShopToken(token=token, shop_id=shop.id, issued_at=now))
    shop.qr_token = token
    shop.qr_issued_at = now
    shop.updated_at = now
    session.flush()
    return token


def find_by_token(session: Session, token: str) -> TokenMatch | None:
    """The shop a scanned token names: ``current`` for its current token, ``revoked`` for a
    replaced one; ``None`` for a malformed or unknown token (no lookup for junk)."""
    if not is_token_format(token):
        return None
    shop = session.scalar(select(Shop).where(Shop.qr_token == token))
    if shop is not None:
        record = session.get(ShopToken, token)
        if record is None or record.revoked_at is None:
            return TokenMatch(shop, "current")
        return TokenMatch(shop, "revoked")
    record = session.get(ShopToken, token)
    if record is None:
        return None
    shop = session.get(Shop, record.shop_id)
    return TokenMatch(shop, "revoked") if shop is not None else None


# --------------------------------------------------------------------------------------------
# Plaques
# --------------------------------------------------------------------------------------------


def plaques_for_street(session: Session, street_code: str) -> PlaqueSheet:
    """The plaques of a street's active shops, by code (raises :class:`StreetNotFoundError`)."""
    street = session.get(Region, street_code)
    if street is None or street.level != "street":
        raise StreetNotFoundError(street_code)
    city = session.scalar(select(Region.name).where(Region.level == "city").limit(1))
    communities = dict(session.execute(
        select(Region.code, Region.name).where(Region.parent_code == street_code)).all())
    rows = session.execute(
        select(Shop, UnitGrid.community_code)
        .join(UnitGrid, UnitGrid.code == Shop.grid_code)
        .where(UnitGrid.community_code.in_(list(communities) or [""]), Shop.active.is_(True))
        .order_by(Shop.code)).all()
    plaques = []
    for shop, community in rows:
        geom = shop.geom
        plaques.append(Plaque(
            code=shop.code, name=shop.name, address=shop.address, token=shop.qr_token,
            lon=float(geom.x) if geom is not None else math.nan,
            lat=float(geom.y) if geom is not None else math.nan,
            zone=shop.zone if isinstance(shop.zone, Polygon) else None,
            grid_code=shop.grid_code, community=communities.get(community),
            frontage_m=shop.frontage_m))
    return PlaqueSheet(city=city or "", street_code=street_code, street_name=street.name,
                       plaques=plaques)
