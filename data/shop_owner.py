"""What a signed-in shop owner (商户) sees of its own shop on ``/s/<token>``: its notices and
the cases waiting for it to rectify; and which shop is an owner's home.

Reads, plus two writes: opening the page marks the shop's notices read; :func:`rectify` marks
one of its waiting cases rectified with checked photos (``data.shop_cases.mark_rectified``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from data.cases import CaseConfig, CaseError, actor_for
from data.models import Case, Shop, ShopNotice, User
from data.notices import notices_of
from data.shop_cases import mark_rectified
from data.shop_reports import Upload, store_photos

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


def rectify(session: Session, cfg: CaseConfig, media_dir: Path, *, shop_id: int, user_id: int,
            case_ref: str, uploads: Sequence[Upload], note: str | None) -> int:
    """The owner ``user_id`` marks its shop's case ``case_ref`` (the form's value) rectified
    with ``uploads`` (checked already: ``data.shop_reports.check_photos``); the case's id.
    Raises CaseError ``not_yours`` (no such case of this shop) or ``not_waiting``."""
    case = session.get(Case, int(case_ref)) if case_ref.isdigit() else None
    if case is None or case.shop_id != shop_id:
        raise CaseError("not_yours", "This is not your shop: only its owner reports fixes.",
                        "这不是您的店铺：只有本店商户可以提交整改。")
    if case.status not in WAITING:
        raise CaseError("not_waiting", "This case is not waiting for your fix (reported or "
                        "closed already).", "该案件目前不在待整改状态（可能已提交或已结案）。")
    user = session.get(User, user_id)
    shas = [f["sha256"] for f in store_photos(session, media_dir, uploads, user_id)]
    mark_rectified(session, cfg, case, actor_for(session, user), shas, note,
                   origin="owner-page")
    return case.id
