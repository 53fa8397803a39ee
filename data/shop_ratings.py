"""Citizens' ratings of shops (门前三包 public page) and the abuse limits around them.

* One rating per device per shop per day: the device is a random id in an HttpOnly cookie,
  stored only as a keyed hash (HMAC-SHA256 with the app's secret); the database's unique
  constraint ``(shop_id, device, day)`` holds it even against two requests at once.
* Rate limits per client address (a keyed hash of the IP, never the IP) counted in
  ``rate_hits`` so that every web process shares them: :data:`ACTIONS_PER_HOUR` ratings and
  problem reports together, :data:`VIEWS_PER_MINUTE` page views.
* Comments are length-limited here and escaped by the page that shows them; a rating can be
  hidden by moderation (``hidden``) and then counts nowhere.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data.models import RateHit, ShopRating

#: Ratings and problem reports (together) one client address may send per hour.
ACTIONS_PER_HOUR = 10
#: Public page views one client address may make per minute.
VIEWS_PER_MINUTE = 60
#: Longest comment kept (characters).
COMMENT_MAX = 300
#: Rate-limit windows older than this are deleted now and then (by whoever counts a hit).
RATE_HITS_KEEP = timedelta(days=1)
PRUNE_CHANCE = 0.01


class RatingError(ValueError):
    """A rating that is refused: ``code`` for machines, messages a user can act on."""

    def __init__(self, code: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.code, self.message, self.message_zh = code, message, message_zh


def keyed_hash(secret: str, kind: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under the app's secret, separated by ``kind`` (64 hex)."""
    return hmac.new(secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


# -- rate limits -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Limit:
    name: str
    limit: int
    window: timedelta


VIEWS = Limit("view", VIEWS_PER_MINUTE, timedelta(minutes=1))
ACTIONS = Limit("act", ACTIONS_PER_HOUR, timedelta(hours=1))


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def hit(session: Session, limit: Limit, client: str, now: datetime) -> bool:
    """Count one request of ``client`` (a keyed hash) against ``limit``; True while it is
    within the limit. One atomic upsert: processes counting at once never lose a hit."""
    key = f"{limit.name}:{client}"[:120]
    start = _window_start(now, limit.window)
    table = RateHit.__table__
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(key=key, window_start=start, count=1)
    stmt = stmt.on_conflict_do_update(index_elements=["key", "window_start"],
                                      set_={"count": table.c.count + 1}).returning(table.c.count)
    count = session.connection().execute(stmt).scalar_one()
    if random.random() < PRUNE_CHANCE:  # housekeeping, not security
        session.execute(delete(RateHit).where(RateHit.window_start < now - RATE_HITS_KEEP))
    return count <= limit.limit


def too_many(limit: Limit) -> RatingError:
    if limit is VIEWS:
        return RatingError("too_many_views", "too many page views from your network; wait a "
                           "minute and try again", "访问过于频繁，请一分钟后再试")
    return RatingError("too_many_actions", f"at most {limit.limit} ratings and reports an hour "
                       "may come from one network; try again later",
                       f"同一网络每小时最多提交 {limit.limit} 次评价或问题反映，请稍后再试")


# -- ratings ---------------------------------------------------------------------------------
def clean_comment(comment: str | None) -> str | None:
    """The comment as kept: trimmed, control characters dropped; :class:`RatingError` when
    longer than :data:`COMMENT_MAX`."""
    text = "".join(c for c in (comment or "") if c in "\n\t" or c.isprintable()).strip()
    if len(text) > COMMENT_MAX:
        raise RatingError("comment_too_long", f"the comment has {len(text)} characters; at "
                          f"most {COMMENT_MAX} are kept — shorten it",
                          f"评价内容 {len(text)} 字，最多 {COMMENT_MAX} 字，请删减后再提交")
    return text or None


def parse_stars(value: object) -> int:
    try:
        stars = int(str(value))
    except (TypeError, ValueError):
        stars = 0
    if not 1 <= stars <= 5:
        raise RatingError("bad_stars", "choose 1 to 5 stars", "请选择 1 到 5 颗星")
    return stars


def already_rated(session: Session, shop_id: int, device: str, day: str) -> bool:
    return session.scalar(select(ShopRating.id).where(
        ShopRating.shop_id == shop_id, ShopRating.device == device,
        ShopRating.day == day)) is not None


def _already() -> RatingError:
    return RatingError("already_rated", "you rated this shop today already; one rating per "
                       "day — come back tomorrow",
                       "您今天已评价过该店铺，每天只能评价一次，请明天再来")


def rate_shop(session: Session, shop_id: int, *, stars: object, comment: str | None,
              device: str, client: str, day: str, now: datetime) -> ShopRating:
    """Record a rating (``device`` and ``client`` are keyed hashes, ``day`` the local date
    'YYYY-MM-DD'); :class:`RatingError` when refused — nothing is written then."""
    value = parse_stars(stars)
    text = clean_comment(comment)
    if already_rated(session, shop_id, device, day):
        raise _already()
    rating = ShopRating(shop_id=shop_id, stars=value, comment=text, device=device,
                        client=client, day=day, created_at=now, hidden=False)
    try:
        with session.begin_nested():  # a twin request may have won the race
            session.add(rating)
            session.flush()
    except IntegrityError:
        raise _already() from None
    return rating


def set_hidden(session: Session, rating_id: int, hidden: bool = True) -> bool:
    """Hide (or show again) a rating after moderation; False when there is no such rating."""
    result = session.execute(update(ShopRating).where(ShopRating.id == rating_id)
                             .values(hidden=hidden))
    return bool(result.rowcount)  # type: ignore[attr-defined]
