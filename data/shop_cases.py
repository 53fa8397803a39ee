"""Shop-front cases (门前三包) in the database: the shop marks a problem rectified, the signed
one-time link a shop without a login does it with, and camera detections attributed to the
shop whose responsibility zone they fall in.

* :func:`mark_rectified` — the shop accepts its case (when still ``dispatched``) and reports
  back with a photo (``feedback`` → ``handled``); the inspector then verifies it as any case.
* :func:`issue_link` — a one-time link ``{public_url}/s/r/<token>``: the token is an HMAC of
  the link's id under the server's secret (256 bits), so every channel and every retry of one
  notice carry the same link while the database keeps only the token's SHA-256.
* :class:`ShopZones` — the active shops' zones in an STRtree, read once and rebuilt every few
  minutes or when the shops change, so attributing a detection costs one tree query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shapely import STRtree
from shapely.geometry import Point, box
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cases.workflow import Actor
from data.cases import CaseConfig, CaseError, transition
from data.models import Case, CaseEvent, Shop, ShopLink
from data.types import utcnow
from data.uploads import known_attachments
from shops.problems import DETECTION_PROBLEMS

LINK_TTL = timedelta(days=7)
RECTIFY = "rectify"
DEFAULT_NOTE = "商户已整改 (rectified by the shop)"


# -- marking rectified -------------------------------------------------------------------------
def shop_actor(shop_id: int, user_id: int | None = None) -> Actor:
    """The workflow's view of a shop acting on its own cases (a link or an owner login)."""
    return Actor("shop_owner", user_id, shop_ids=frozenset({shop_id}))


def mark_rectified(session: Session, cfg: CaseConfig, case: Case, actor: Actor,
                   photo_sha256s: Sequence[str], note: str | None = None, *,
                   now: datetime | None = None, origin: str | None = None) -> CaseEvent:
    """The shop says "rectified" with a photo: accept the case if it is still ``dispatched``,
    then report back (``feedback`` → ``handled``). Raises :class:`CaseError` (nothing
    changed) when the workflow refuses — not the shop's case, not waiting for the shop, no
    photo among the uploads."""
    now = now or utcnow()
    photos = known_attachments(session, list(photo_sha256s))
    if not photos:
        raise CaseError("attachment_required", "send at least one photo of the result",
                        "请至少上传一张整改后的现场照片")
    note = (note or "").strip()[:2000] or DEFAULT_NOTE
    with session.begin_nested():
        if case.status == "dispatched":
            transition(session, cfg, case, "accept", actor, now=now, origin=origin,
                       note="商户受理 (accepted by the shop)")
        return transition(session, cfg, case, "feedback", actor, now=now, note=note,
                          attachments=photos, origin=origin)


# -- one-time links ---------------------------------------------------------------------------
def link_token(link_id: int, secret: str) -> str:
    """The token of link ``link_id``: HMAC-SHA256 under the server's secret, 43 characters."""
    mac = hmac.new(secret.encode(), f"onegrid-shop-link:{link_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_url(link: ShopLink, secret: str, public_url: str) -> str:
    return f"{public_url.rstrip('/')}/s/r/{link_token(link.id, secret)}"


def issue_link(session: Session, shop: Shop, case: Case | None, *, secret: str,
               public_url: str, purpose: str = RECTIFY, ttl: timedelta = LINK_TTL,
               now: datetime | None = None) -> tuple[str, ShopLink]:
    """A new one-time link for ``shop`` (and ``case``): its URL and row. Only the SHA-256 of
    the token is stored."""
    now = now or utcnow()
    link = ShopLink(token_hash=secrets.token_hex(32), shop_id=shop.id,
                    case_id=case.id if case is not None else None, purpose=purpose,
                    created_at=now, expires_at=now + ttl)
    session.add(link)
    session.flush()  # the id the token is made from
    link.token_hash = token_hash(link_token(link.id, secret))
    session.flush()
    return link_url(link, secret, public_url), link


@dataclass(frozen=True)
class LinkCheck:
    """What a link token leads to: ``state`` is ok, unknown, used, expired or done (the case
    no longer waits for the shop)."""

    state: str
    link: ShopLink | None = None
    shop: Shop | None = None
    case: Case | None = None


def check_link(session: Session, token: str, now: datetime | None = None, *,
               lock: bool = False) -> LinkCheck:
    now = now or utcnow()
    if not token or len(token) > 100:
        return LinkCheck("unknown")
    stmt = select(ShopLink).where(ShopLink.token_hash == token_hash(token))
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    link = session.scalar(stmt)
    if link is None:
        return LinkCheck("unknown")
    shop = session.get(Shop, link.shop_id)
    case = session.get(Case, link.case_id) if link.case_id is not None else None
    if link.used_at is not None:
        return LinkCheck("used", link, shop, case)
    if link.expires_at <= now or shop is None or not shop.active:
        return LinkCheck("expired", link, shop, case)
    if case is None or case.shop_id != link.shop_id \
            or case.status not in ("dispatched", "accepted"):
        return LinkCheck("done", link, shop, case)
    return LinkCheck("ok", link, shop, case)


def use_link(session: Session, link: ShopLink, now: datetime | None = None) -> bool:
    """Use the link up (and the shop's other links for the same case): True when this call
    did it, False when another request got there first."""
    now = now or utcnow()
    done = session.execute(update(ShopLink).where(ShopLink.id == link.id,
                                                  ShopLink.used_at.is_(None))
                           .values(used_at=now).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return False
    if link.case_id is not None:
        session.execute(update(ShopLink).where(ShopLink.case_id == link.case_id,
                                               ShopLink.purpose == link.purpose,
                                               ShopLink.used_at.is_(None))
                        .values(used_at=now).execution_options(synchronize_session=False))
    session.refresh(link)
    return True


# -- detections inside a shop's zone ---------------------------------------------------------
#: A shop without a zone polygon answers for this many metres around its point.
POINT_RADIUS_M = 5.0


class ShopZones:
    """The active shops' responsibility zones in an STRtree, per database; rebuilt every
    :attr:`MAX_AGE_S` seconds, or sooner when the shops changed (count or latest change,
    checked at most every :attr:`CHECK_S` seconds)."""

    MAX_AGE_S = 300.0
    CHECK_S = 30.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_db: dict[str, dict[str, Any]] = {}

    @staticmethod
    def _version(session: Session) -> tuple[Any, ...]:
        count, changed, made = session.execute(select(
            func.count(Shop.id), func.max(Shop.updated_at), func.max(Shop.created_at))).one()
        return count, changed, made

    def _build(self, session: Session) -> dict[str, Any]:
        ids: list[int] = []
        zones: list[Any] = []
        points: list[Any] = []
        for shop_id, geom, zone in session.execute(
                select(Shop.id, Shop.geom, Shop.zone).where(Shop.active.is_(True))).all():
            if geom is None and zone is None:
                continue
            if zone is None:
                dlat = POINT_RADIUS_M / 111_320.0
                dlon = dlat / max(math.cos(math.radians(geom.y)), 0.01)
                zone = box(geom.x - dlon, geom.y - dlat, geom.x + dlon, geom.y + dlat)
            ids.append(shop_id)
            zones.append(zone)
            points.append(geom if geom is not None else zone.centroid)
        return {"tree": STRtree(zones) if zones else None, "ids": ids, "zones": zones,
                "points": points}

    def index(self, session: Session) -> dict[str, Any]:
        key = str(session.get_bind().url)
        ticks = time.monotonic()
        with self._lock:
            entry = self._by_db.get(key)
            if entry is not None and ticks - entry["checked"] < self.CHECK_S \
                    and ticks - entry["built"] < self.MAX_AGE_S:
                return entry
        version = self._version(session)
        if entry is None or entry["version"] != version or ticks - entry["built"] >= \
                self.MAX_AGE_S:
            entry = {**self._build(session), "version": version, "built": ticks}
        entry["checked"] = ticks
        with self._lock:
            self._by_db[key] = entry
        return entry

    def invalidate(self) -> None:
        with self._lock:
            self._by_db.clear()

    def shop_at(self, session: Session, lon: float, lat: float) -> int | None:
        """The active shop whose zone holds the point (the nearest shop when zones overlap)."""
        entry = self.index(session)
        tree = entry["tree"]
        if tree is None:
            return None
        point = Point(lon, lat)
        hits = [int(i) for i in tree.query(point, predicate="intersects")]
        if not hits:
            return None
        best = min(hits, key=lambda i: entry["points"][i].distance(point))
        return entry["ids"][best]


ZONES = ShopZones()


def detection_problem(rule_key: str | None) -> str | None:
    """The shop-front problem a camera rule (``<event code>.<detection>``) is, if any."""
    if not rule_key or "." not in rule_key:
        return None
    return DETECTION_PROBLEMS.get(rule_key.split(".", 1)[1])


def shop_for_trigger(session: Session, trigger: Any) -> int | None:
    """The shop a camera detection's trigger is the business of: a shop-front detection type
    inside an active shop's zone (None otherwise, and for sensor triggers)."""
    if getattr(trigger, "component_id", None) is not None:
        return None
    lon, lat = getattr(trigger, "lon", None), getattr(trigger, "lat", None)
    if lon is None or lat is None or detection_problem(getattr(trigger, "rule_key", None)) \
            is None:
        return None
    return ZONES.shop_at(session, lon, lat)


def attribute_case(session: Session, case: Case, trigger: Any,
                   now: datetime | None = None) -> int | None:
    """A camera case seen again inside a shop's zone that has no shop yet gets it; the shop is
    told when the case already waits for it. The shop's id, or None."""
    if case.shop_id is not None or case.component_id is not None:
        return case.shop_id
    shop_id = shop_for_trigger(session, trigger)
    if shop_id is None:
        return None
    case.shop_id = shop_id
    if case.status in ("dispatched", "accepted"):
        from data.notices import on_case_transition

        on_case_transition(session, case, "dispatch", now or utcnow())
    return shop_id
