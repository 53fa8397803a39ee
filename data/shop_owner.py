"""What a signed-in shop owner (商户) sees of its own shop on ``/s/<token>``: its notices and
the cases waiting for it to rectify; and which shop is an owner's home.

Reads, plus one write: opening the page marks the shop's notices read. Marking a case
rectified is ``data.shop_cases.mark_rectified``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from data.models import Case, Shop, ShopNotice
from data.notices import notices_of

#: Cases that wait for the shop (the same states ``data.shop_cases.check_link`` accepts).
WAITING = ("dispatched", "accepted")
WAITING_LIMIT = 20


@dataclass(frozen=True)
class OwnerNotice:
    id: int
    kind: str
    text: str
    text_en: str | None
    created_at: datetime
    unread: bool


@dataclass(frozen=True)
class WaitingCase:
    """A case of the shop that waits for its "rectified"."""

    id: int
    code: str
    title: str
    category_code: str
    status: str
    description: str | None
    source: str
    deadline_at: datetime | None


@dataclass(frozen=True)
class OwnerView:
    notices: tuple[OwnerNotice, ...]
    waiting: tuple[WaitingCase, ...]


def owns(session: Session, shop_id: int, user_id: int) -> bool:
    """Whether ``user_id`` is the owner (``Shop.owner_user_id``) of shop ``shop_id``."""
    return session.scalar(select(Shop.id).where(Shop.id == shop_id,
                                                Shop.owner_user_id == user_id)) is not None


def home_token(session: Session, user_id: int) -> str | None:
    """The QR token of the owner's first active shop (by code): its home page is that shop's
    page. None when the user owns no active shop."""
    return session.scalar(select(Shop.qr_token).where(Shop.owner_user_id == user_id,
                                                      Shop.active.is_(True))
                          .order_by(Shop.code).limit(1))


def waiting_cases(session: Session, shop_id: int) -> tuple[WaitingCase, ...]:
    """The shop's cases waiting for it (dispatched or accepted), the nearest deadline first."""
    rows = session.execute(
        select(Case.id, Case.code, Case.title, Case.category_code, Case.status,
               Case.description, Case.source, Case.deadline_at)
        .where(Case.shop_id == shop_id, Case.status.in_(WAITING))
        .order_by(Case.deadline_at, Case.id).limit(WAITING_LIMIT)).all()
    return tuple(WaitingCase(*row) for row in rows)


def owner_view(session: Session, shop_id: int, limit: int = 20) -> OwnerView:
    """The shop's latest notices (newest first; unread as they were before this read) and the
    cases waiting for it."""
    notices = tuple(OwnerNotice(n.id, n.kind, n.text, n.text_en, n.created_at,
                                n.read_at is None)
                    for n in notices_of(session, shop_id, limit))
    return OwnerView(notices, waiting_cases(session, shop_id))


def mark_read(session: Session, shop_id: int, now: datetime) -> int:
    """Mark the shop's unread notices read; how many were."""
    done = session.execute(update(ShopNotice)
                           .where(ShopNotice.shop_id == shop_id, ShopNotice.read_at.is_(None))
                           .values(read_at=now).execution_options(synchronize_session=False))
    return int(done.rowcount or 0)
