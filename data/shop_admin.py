"""Read models and actions of the administrators' shop registry page (商户台账, ``/shops``).

- :func:`list_shops`: one page of the registry, searched by code, name, licence, address,
  owner or phone and filtered by street, with each shop's street and community names.
- :func:`street_counts`: every street with its number of active shops (the plaques buttons).
- :func:`import_upload`: an uploaded CSV or XLSX file through :func:`import_shop_file` (the one
  import path the command line uses too). The caller commits.
- :func:`reissue_token`: revoke a shop's QR token and issue a new one (:func:`revoke_token`).
"""

from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from data.models import Region, Shop
from data.shop_registry import ImportReport, import_shop_file, revoke_token, shop_by_code

__all__ = ["ShopLine", "ShopListPage", "StreetCount", "import_upload", "list_shops",
           "reissue_token", "street_counts"]

MAX_QUERY = 100
MAX_PER_PAGE = 200
_STREET_RE = re.compile(r"\d{9}")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ShopLine:
    """One row of the registry table (names of street and community, when known)."""

    id: int
    code: str
    name: str
    licence_no: str | None
    address: str | None
    owner_name: str | None
    owner_phone: str | None
    grid_code: str | None
    street_code: str | None
    street_name: str | None
    community_code: str | None
    community_name: str | None
    qr_issued_at: datetime | None
    active: bool


@dataclass(frozen=True)
class ShopListPage:
    lines: list[ShopLine]
    total: int
    page: int
    pages: int
    per_page: int


@dataclass(frozen=True)
class StreetCount:
    code: str
    name: str
    name_en: str | None
    shops: int


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def clean_street(street: object) -> str | None:
    """A street code (9 digits) or None for anything else (all streets)."""
    return street if isinstance(street, str) and _STREET_RE.fullmatch(street) else None


def list_shops(session: Session, *, query: str | None = None, street: str | None = None,
               page: int = 1, per_page: int = 20) -> ShopListPage:
    """Page ``page`` (from 1, clamped to the last) of the shops matching ``query`` in
    ``street`` (a 9-digit code; anything else means every street), ordered by code."""
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    where = []
    text = (query or "").strip()[:MAX_QUERY]
    if text:
        pattern = _like(text)
        where.append(or_(*[column.ilike(pattern, escape="\\") for column in (
            Shop.code, Shop.name, Shop.licence_no, Shop.address, Shop.owner_name,
            Shop.owner_phone)]))
    street = clean_street(street)
    if street:
        where.append(Shop.grid_code.like(f"{street}%"))
    total = session.scalar(select(func.count()).select_from(Shop).where(*where)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = max(1, min(int(page), pages))
    shops = session.scalars(select(Shop).where(*where).order_by(Shop.code)
                            .offset((page - 1) * per_page).limit(per_page)).all()
    codes = {s.grid_code[:n] for s in shops if s.grid_code for n in (9, 12)}
    names = dict(session.execute(select(Region.code, Region.name)
                                 .where(Region.code.in_(sorted(codes) or [""]))).all())
    lines = []
    for s in shops:
        grid = s.grid_code
        street_code = grid[:9] if grid else None
        community_code = grid[:12] if grid else None
        lines.append(ShopLine(
            id=s.id, code=s.code, name=s.name, licence_no=s.licence_no, address=s.address,
            owner_name=s.owner_name, owner_phone=s.owner_phone, grid_code=grid,
            street_code=street_code, street_name=names.get(street_code or ""),
            community_code=community_code, community_name=names.get(community_code or ""),
            qr_issued_at=s.qr_issued_at, active=bool(s.active)))
    return ShopListPage(lines=lines, total=total, page=page, pages=pages, per_page=per_page)


def street_counts(session: Session) -> list[StreetCount]:
    """Every street by code with its number of active shops (0 included)."""
    prefix = func.substr(Shop.grid_code, 1, 9)
    counts = dict(session.execute(
        select(prefix, func.count()).where(Shop.active.is_(True), Shop.grid_code.is_not(None))
        .group_by(prefix)).all())
    streets = session.execute(select(Region.code, Region.name, Region.name_en)
                              .where(Region.level == "street").order_by(Region.code)).all()
    return [StreetCount(code, name, name_en, int(counts.get(code, 0)))
            for code, name, name_en in streets]


def import_upload(session: Session, data: bytes, filename: str, *,
                  dry_run: bool = False) -> ImportReport:
    """Import an uploaded registry file (raises ``shops.registry.RegistryFileError`` for a
    file that cannot be read at all). The bytes go to a private temporary file that keeps
    the upload's ending (``.csv`` / ``.xlsx``), so the command line's import path is used."""
    suffix = Path(filename or "").suffix.lower()
    stem = _SAFE_NAME.sub("_", Path(filename or "upload").stem)[:60] or "upload"
    with tempfile.TemporaryDirectory(prefix="onegrid-shops-") as tmp:
        path = Path(tmp) / f"{stem}{suffix}"
        path.write_bytes(data)
        return import_shop_file(session, path, dry_run=dry_run)


def reissue_token(session: Session, code: str, by_user: int | None, *,
                  now: datetime | None = None) -> tuple[Shop, str] | None:
    """Revoke shop ``code``'s QR token and issue a new one: ``(shop, new token)``, or None
    when there is no such shop."""
    shop = shop_by_code(session, code) if isinstance(code, str) and code else None
    if shop is None:
        return None
    return shop, revoke_token(session, shop, by_user, now=now)
