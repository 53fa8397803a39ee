"""Read models of a shop's public QR page (门前三包, ``/s/<token>``).

What a citizen sees when scanning a shop's plaque — the shop, its zone, its open problems and
how earlier ones were fixed, its last published score — and what an inspector sees on top of it
(every case about the shop). Reads only: the tokens are written by ``data.shop_registry``, the
ratings by ``data.shop_ratings``, the scores by the monthly freeze.

Citizens see a case once the command center has registered it: a bare report (``reported``)
may be a mistake or a prank and stays off the public page until someone looked at it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session

from cases.workflow import OPEN
from data.models import (
    Attachment,
    Case,
    CaseEvent,
    Region,
    Shop,
    ShopRating,
    ShopScore,
    ShopToken,
    UnitGrid,
)

#: What a QR token may look like (``secrets.token_urlsafe``): anything else is not looked up.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
#: Open cases a citizen sees: registered onwards (see the module docstring).
PUBLIC_OPEN = tuple(sorted(OPEN - {"reported"}))
FIXED_DAYS = 90
FIXED_LIMIT = 5
OPEN_LIMIT = 10
HISTORY_LIMIT = 30
RATING_DAYS = 90
COMMENTS_LIMIT = 5


# -- the token -------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenLookup:
    """What a scanned token leads to: ``status`` is ``ok``, ``revoked`` (an old code of a
    shop that was given a new one), ``inactive`` (the shop is closed) or ``unknown``."""

    status: str
    shop_id: int | None = None
    shop_name: str | None = None


def find_shop(session: Session, token: str) -> TokenLookup:
    """The shop a QR token names, current or revoked (two indexed lookups at most)."""
    if not TOKEN_PATTERN.match(token or ""):
        return TokenLookup("unknown")
    row = session.execute(select(Shop.id, Shop.name, Shop.active)
                          .where(Shop.qr_token == token)).first()
    revoked = False
    if row is None:
        old = session.execute(select(ShopToken.shop_id).where(ShopToken.token == token)).first()
        if old is None:
            return TokenLookup("unknown")
        row = session.execute(select(Shop.id, Shop.name, Shop.active)
                              .where(Shop.id == old.shop_id)).first()
        if row is None:
            return TokenLookup("unknown")
        revoked = True
    if revoked:
        return TokenLookup("revoked", row.id, row.name)
    return TokenLookup("ok" if row.active else "inactive", row.id, row.name)


# -- the page ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Photo:
    sha256: str
    mime: str | None


@dataclass(frozen=True)
class CaseLine:
    """A case about the shop as the page lists it."""

    id: int
    code: str
    title: str
    category_code: str
    status: str
    source: str
    reported_at: datetime
    deadline_at: datetime | None
    closed_at: datetime | None
    description: str | None = None
    #: Photos of the report (before) and of the last feedback (after), and the feedback note.
    before: tuple[Photo, ...] = ()
    after: tuple[Photo, ...] = ()
    fix_note: str | None = None


@dataclass(frozen=True)
class Score:
    month: str
    score: float
    grade: str
    stars: int
    listed: str | None
    rank_in_street: int | None


@dataclass(frozen=True)
class Ratings:
    count: int
    mean: float | None
    comments: tuple[tuple[int, str, datetime], ...] = ()  # (stars, comment, created_at)


@dataclass(frozen=True)
class ShopPage:
    """Everything ``/s/<token>`` shows about one shop."""

    id: int
    code: str
    name: str
    category: str | None
    address: str | None
    point: tuple[float, float]
    zone: Any  # shapely Polygon or None
    grid_name: str | None
    community: str | None
    community_en: str | None
    street: str | None
    street_en: str | None
    open_cases: tuple[CaseLine, ...]
    fixed: tuple[CaseLine, ...]
    score: Score | None
    ratings: Ratings
    #: Every case about the shop, newest first (staff only; empty for citizens).
    history: tuple[CaseLine, ...] = field(default_factory=tuple)


def _photos(attachments: Any) -> tuple[Photo, ...]:
    files = (attachments or {}).get("files") or [] if isinstance(attachments, dict) else []
    out = []
    for f in files:
        sha = f.get("sha256") if isinstance(f, dict) else f if isinstance(f, str) else None
        if isinstance(sha, str) and len(sha) == 64:
            out.append(Photo(sha, f.get("mime") if isinstance(f, dict) else None))
    return tuple(out)


_CASE_COLUMNS = (Case.id, Case.code, Case.title, Case.category_code, Case.status, Case.source,
                 Case.reported_at, Case.deadline_at, Case.closed_at, Case.description)


def _lines(session: Session, rows: Sequence[Any], *, with_photos: bool) -> tuple[CaseLine, ...]:
    if not rows:
        return ()
    before: dict[int, tuple[Photo, ...]] = {}
    after: dict[int, tuple[Photo, ...]] = {}
    notes: dict[int, str | None] = {}
    if with_photos:
        events = session.execute(
            select(CaseEvent.case_id, CaseEvent.action, CaseEvent.note, CaseEvent.attachments)
            .where(CaseEvent.case_id.in_([r.id for r in rows]),
                   CaseEvent.action.in_(("report", "feedback")))
            .order_by(CaseEvent.case_id, CaseEvent.seq)).all()
        for e in events:
            if e.action == "report":
                before[e.case_id] = _photos(e.attachments)
            else:  # the last feedback wins (after rework, the fix that was accepted)
                after[e.case_id] = _photos(e.attachments)
                notes[e.case_id] = e.note
    return tuple(CaseLine(r.id, r.code, r.title, r.category_code, r.status, r.source,
                          r.reported_at, r.deadline_at, r.closed_at, r.description,
                          before.get(r.id, ()), after.get(r.id, ()), notes.get(r.id))
                 for r in rows)


def _places(session: Session, grid_code: str | None) -> tuple[str | None, ...]:
    if grid_code is None:
        return (None,) * 5
    grid = session.execute(select(UnitGrid.name, UnitGrid.community_code)
                           .where(UnitGrid.code == grid_code)).first()
    if grid is None:
        return (None,) * 5
    community = session.execute(select(Region.name, Region.name_en, Region.parent_code)
                                .where(Region.code == grid.community_code)).first()
    if community is None:
        return grid.name, None, None, None, None
    street = session.execute(select(Region.name, Region.name_en)
                             .where(Region.code == community.parent_code)).first()
    return (grid.name, community.name, community.name_en,
            street.name if street else None, street.name_en if street else None)


def latest_score(session: Session, shop_id: int) -> Score | None:
    """The shop's most recent published (frozen) monthly score, or None."""
    row = session.execute(select(ShopScore.month, ShopScore.score, ShopScore.grade,
                                 ShopScore.stars, ShopScore.listed, ShopScore.rank_in_street)
                          .where(ShopScore.shop_id == shop_id)
                          .order_by(desc(ShopScore.month)).limit(1)).first()
    return Score(*row) if row is not None else None


def ratings_of(session: Session, shop_id: int, now: datetime) -> Ratings:
    """Visible ratings of the last :data:`RATING_DAYS` days: count, mean, latest comments."""
    since = now - timedelta(days=RATING_DAYS)
    visible = (ShopRating.shop_id == shop_id, ShopRating.hidden.is_(False),
               ShopRating.created_at >= since)
    count, mean = session.execute(select(func.count(), func.avg(ShopRating.stars))
                                  .where(*visible)).one()
    comments = session.execute(
        select(ShopRating.stars, ShopRating.comment, ShopRating.created_at)
        .where(*visible, ShopRating.comment.is_not(None), ShopRating.comment != "")
        .order_by(desc(ShopRating.created_at)).limit(COMMENTS_LIMIT)).all()
    return Ratings(int(count or 0), float(mean) if mean is not None else None,
                   tuple((r.stars, r.comment, r.created_at) for r in comments))


def shop_page(session: Session, shop_id: int, *, now: datetime,
              staff: bool = False) -> ShopPage:
    """The public page's model of a shop; ``staff`` adds the full case history."""
    shop = session.execute(select(Shop.id, Shop.code, Shop.name, Shop.category, Shop.address,
                                  Shop.geom, Shop.zone, Shop.grid_code)
                           .where(Shop.id == shop_id)).one()
    open_rows = session.execute(
        select(*_CASE_COLUMNS).where(Case.shop_id == shop_id, Case.status.in_(PUBLIC_OPEN))
        .order_by(desc(Case.reported_at)).limit(OPEN_LIMIT)).all()
    fixed_rows = session.execute(
        select(*_CASE_COLUMNS).where(Case.shop_id == shop_id, Case.status == "closed",
                                     Case.closed_at >= now - timedelta(days=FIXED_DAYS))
        .order_by(desc(Case.closed_at)).limit(FIXED_LIMIT)).all()
    history: tuple[CaseLine, ...] = ()
    if staff:
        history = _lines(session, session.execute(
            select(*_CASE_COLUMNS).where(Case.shop_id == shop_id)
            .order_by(desc(Case.reported_at)).limit(HISTORY_LIMIT)).all(), with_photos=False)
    point = shop.geom
    return ShopPage(
        shop.id, shop.code, shop.name, shop.category, shop.address, (point.x, point.y),
        shop.zone, *_places(session, shop.grid_code),
        open_cases=_lines(session, open_rows, with_photos=True),
        fixed=_lines(session, fixed_rows, with_photos=True),
        score=latest_score(session, shop_id), ratings=ratings_of(session, shop_id, now),
        history=history)


def photo_of_shop(session: Session, shop_id: int, sha256: str) -> str | None:
    """The MIME type of a stored photo if it belongs to a case about the shop that the public
    page may show (registered onwards or closed), else None."""
    visible = (*PUBLIC_OPEN, "closed")
    rows = session.execute(
        select(CaseEvent.attachments).join(Case, Case.id == CaseEvent.case_id)
        .where(Case.shop_id == shop_id, Case.status.in_(visible),
               CaseEvent.action.in_(("report", "feedback")),
               CaseEvent.attachments.is_not(None))).all()
    for row in rows:
        for photo in _photos(row.attachments):
            if photo.sha256 == sha256:
                return session.scalar(select(Attachment.mime)
                                      .where(Attachment.sha256 == sha256))
    return None



THUMB_SIDE = 320


def thumbnail(media_dir: Path, source: Path, sha256: str) -> Path | None:
    """A small JPEG of a stored photo for the phone page (at most :data:`THUMB_SIDE` px a
    side), made once and kept under ``media_dir/thumbs``; None when it cannot be made."""
    target = media_dir / "thumbs" / sha256[:2] / f"{sha256}-{THUMB_SIDE}.jpg"
    if target.is_file():
        return target
    try:
        from PIL import Image

        with Image.open(source) as image:
            image.draft("RGB", (THUMB_SIDE, THUMB_SIDE))
            small = image.convert("RGB")
            small.thumbnail((THUMB_SIDE, THUMB_SIDE))
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            small.save(tmp, "JPEG", quality=70, optimize=True)
            os.replace(tmp, target)
    except (OSError, ValueError):
        return None
    return target
