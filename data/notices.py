"""Notices to shops in the database: record them, fan them out to the outbound channels, claim
the outbox for sending, retry with backoff, remind before the deadline.

A :class:`~data.models.ShopNotice` is the fact ("this shop was told this about this case"; the
shop's page shows it). Each configured channel gets one :class:`~data.models.NoticeDelivery`
row — an outbox row with its own lifecycle (pending → sent, or failed after
:data:`shops.notices.MAX_ATTEMPTS` tries) separate from the case's. A delivery is claimed by a
conditional UPDATE that also leases it for :data:`LEASE` (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL), sent outside the transaction, then marked sent or failed: a scheduler that dies
mid-send leaves a lease that runs out, and the delivery is tried again (at least once; the
payload's ``notice_id`` lets a consumer drop a repeat).

The channels come from the settings of the services that made the session (see
``services.build_services``): a webhook when ``notice_webhook`` is set, MQTT when
``notice_mqtt`` is on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from data.models import Case, NoticeDelivery, Shop, ShopNotice
from data.types import utcnow
from shops.notices import (
    ACTION_KINDS,
    KIND_OF_ACTION,
    REMIND_BEFORE,
    NoticeFacts,
    gives_up,
    notice_texts,
    payload,
    problem_of,
    reminder_due,
    retry_delay,
    topic,
)

log = logging.getLogger("onegrid.notices")
#: How long a claimed delivery is the claimer's before another scheduler may try it.
LEASE = timedelta(minutes=2)
#: A notice about a moment longer ago than this (history replayed, a backfill) is recorded
#: for the shop's page but not sent out.
STALE = timedelta(days=1)
SERVICES_KEY = "onegrid_services"
_DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
_SHOP_STATES = ("dispatched", "accepted")


def settings_of(session: Session) -> Any:
    """The settings of the services whose session factory made ``session`` (None if another
    factory made it: then MQTT only, no webhook, default hotline)."""
    services = session.info.get(SERVICES_KEY)
    return getattr(services, "settings", None)


def _aware(at: datetime | None) -> datetime | None:
    """In UTC (a deadline just computed is in the calendar's zone; one read back is UTC)."""
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _deadline(case: Case) -> datetime | None:
    return _aware(case.deadline_at if case.step == "handle" else case.handle_deadline_at)


def notify_shop(session: Session, shop: Shop, case: Case | None, kind: str,
                now: datetime | None = None, *, note: str | None = None,
                tz: tzinfo | None = None) -> ShopNotice | None:
    """Record a notice to ``shop`` about ``case`` and one delivery per configured channel.

    A reminder is recorded once per deadline of a case (None when there is one already).
    """
    now = now or utcnow()
    settings = settings_of(session)
    deadline = _deadline(case) if case is not None else None
    if kind == "reminder" and case is not None and _reminded(session, case.id, deadline):
        return None
    key, name, name_en = (problem_of(case.category_code, case.title) if case is not None
                          else (None, "", ""))
    facts = NoticeFacts(kind=kind, shop_name=shop.name, case_code=case.code if case else "",
                        problem=name, problem_en=name_en, deadline=deadline, problem_key=key,
                        note=note, hotline=getattr(settings, "hotline", None))
    text, text_en = notice_texts(facts, tz or _DEFAULT_TZ)
    notice = ShopNotice(shop_id=shop.id, case_id=case.id if case else None, kind=kind,
                        text=text, text_en=text_en, created_at=now,
                        data={"deadline": deadline.isoformat() if deadline else None,
                              "problem": name, "problem_en": name_en,
                              "case_code": case.code if case else None})
    session.add(notice)
    if now < utcnow() - STALE:
        return notice
    session.flush()  # the notice's id, for its deliveries
    targets: list[tuple[str, str]] = []
    webhook = getattr(settings, "notice_webhook", None)
    if webhook:
        targets.append(("webhook", webhook))
    if getattr(settings, "notice_mqtt", True):
        targets.append(("mqtt", topic(shop.code)))
    for channel, target in targets:
        session.add(NoticeDelivery(notice_id=notice.id, channel=channel, target=target[:300],
                                   status="pending", attempts=0, next_at=now))
    return notice


def _reminded(session: Session, case_id: int, deadline: datetime | None) -> bool:
    wanted = deadline.isoformat() if deadline else None
    with session.no_autoflush:
        rows = session.scalars(select(ShopNotice.data).where(
            ShopNotice.case_id == case_id, ShopNotice.kind == "reminder")).all()
    return any((data or {}).get("deadline") == wanted for data in rows)


def on_case_transition(session: Session, case: Case, action: str, now: datetime, *,
                       tz: tzinfo | None = None, reason: str | None = None,
                       note: str | None = None) -> ShopNotice | None:
    """The hook ``data.cases.transition`` calls for a case with a shop: tell the shop what
    concerns it (dispatched → problem, verify_fail/reopen → rework, verified, closed, the
    rectification deadline passed → overdue)."""
    kind = KIND_OF_ACTION.get(action)
    if kind is None or case.shop_id is None:
        return None
    if kind == "overdue" and case.step != "handle":
        return None  # late registration or verification is not the shop's doing
    with session.no_autoflush:
        shop = session.get(Shop, case.shop_id)
    if shop is None or not shop.active:
        return None
    if kind == "problem":  # what the inspector wrote (a camera's reason is no news to a shop)
        note = case.description if case.source not in ("camera", "sensor") else None
    elif kind == "rework":
        note = " ".join(x for x in (reason, note) if x) or None
    else:
        note = None
    return notify_shop(session, shop, case, kind, now, note=note, tz=tz)


def send_reminders(session: Session, now: datetime | None = None, *,
                   tz: tzinfo | None = None, limit: int = 200) -> list[int]:
    """Remind each shop whose case's rectification deadline is near (once per deadline);
    the ids of the cases reminded."""
    now = now or utcnow()
    stmt = (select(Case).where(Case.shop_id.is_not(None), Case.status.in_(_SHOP_STATES),
                               Case.step == "handle", Case.suspended_at.is_(None),
                               Case.deadline_at > now, Case.deadline_at <= now + REMIND_BEFORE)
            .order_by(Case.deadline_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    reminded = []
    for case in session.scalars(stmt).all():
        if not reminder_due(_aware(case.step_started_at), _aware(case.deadline_at), now):
            continue
        shop = session.get(Shop, case.shop_id)
        if shop is None or not shop.active:
            continue
        if notify_shop(session, shop, case, "reminder", now, tz=tz) is not None:
            reminded.append(case.id)
    return reminded


# -- the outbox ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery, ready to send."""

    delivery_id: int
    channel: str
    target: str
    attempts: int
    payload: dict[str, Any]


def claim_deliveries(session: Session, now: datetime | None = None, limit: int = 100, *,
                     channels: Sequence[str] = ("webhook", "mqtt"),
                     secret: str | None = None, public_url: str | None = None,
                     ) -> list[Outgoing]:
    """Claim up to ``limit`` due deliveries on ``channels`` (attempts + 1, leased for
    :data:`LEASE`) and build their payloads; ``secret`` and ``public_url`` make the one-time
    "mark rectified" link of notices that ask the shop to act."""
    now = now or utcnow()
    if not channels:
        return []
    table = NoticeDelivery
    due = (table.status == "pending", table.next_at <= now, table.channel.in_(list(channels)))
    stmt = select(table.id).where(*due).order_by(table.next_at, table.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = session.scalars(stmt).all()
    if not ids:
        return []
    claimed = session.execute(
        update(table).where(table.id.in_(ids), *due)
        .values(attempts=table.attempts + 1, next_at=now + LEASE)
        .returning(table.id, table.channel, table.target, table.attempts)
        .execution_options(synchronize_session=False)).all()
    out = []
    links: dict[int, str | None] = {}
    for delivery_id, channel, target, attempts in sorted(claimed):
        row = session.execute(
            select(ShopNotice, Shop).join(Shop, Shop.id == ShopNotice.shop_id)
            .join(NoticeDelivery, NoticeDelivery.notice_id == ShopNotice.id)
            .where(NoticeDelivery.id == delivery_id)).one()
        notice, shop = row
        if notice.id not in links:
            links[notice.id] = _link_for(session, notice, shop, now, secret, public_url)
        data = notice.data or {}
        deadline = data.get("deadline")
        out.append(Outgoing(delivery_id, channel, target, attempts, payload(
            notice_id=notice.id, shop_code=shop.code, shop_name=shop.name, kind=notice.kind,
            case_id=notice.case_id, case_code=data.get("case_code"),
            problem=data.get("problem") or "",
            deadline=datetime.fromisoformat(deadline) if deadline else None,
            text=notice.text, text_en=notice.text_en or "", url=links[notice.id],
            created_at=_aware(notice.created_at) or now)))
    return out


def _link_for(session: Session, notice: ShopNotice, shop: Shop, now: datetime,
              secret: str | None, public_url: str | None) -> str | None:
    """The notice's "mark rectified" link (issued once per notice, the same on every channel
    and retry), or None when the case no longer waits for the shop."""
    if notice.kind not in ACTION_KINDS or notice.case_id is None or not secret \
            or not public_url:
        return None
    from data.models import ShopLink
    from data.shop_cases import issue_link, link_url

    case = session.get(Case, notice.case_id)
    if case is None or case.status not in _SHOP_STATES:
        return None
    data = dict(notice.data or {})
    link = session.get(ShopLink, data["link_id"]) if data.get("link_id") else None
    if link is None or link.used_at is not None or _aware(link.expires_at) <= now:
        url, link = issue_link(session, shop, case, secret=secret, public_url=public_url,
                               now=now)
        data["link_id"] = link.id
        notice.data = data
        return url
    return link_url(link, secret, public_url)


def mark_sent(session: Session, delivery_id: int, now: datetime | None = None) -> None:
    session.execute(update(NoticeDelivery).where(NoticeDelivery.id == delivery_id)
                    .values(status="sent", sent_at=now or utcnow(), last_error=None)
                    .execution_options(synchronize_session=False))


def mark_failed(session: Session, delivery_id: int, error: str,
                now: datetime | None = None) -> str:
    """Record a failed try: back to pending after :func:`shops.notices.retry_delay`, or
    ``failed`` (given up) after the last attempt. Returns the new status."""
    now = now or utcnow()
    attempts = session.scalar(select(NoticeDelivery.attempts)
                              .where(NoticeDelivery.id == delivery_id)) or 0
    status = "failed" if gives_up(attempts) else "pending"
    session.execute(update(NoticeDelivery).where(NoticeDelivery.id == delivery_id)
                    .values(status=status, last_error=error[:300],
                            next_at=now + retry_delay(attempts))
                    .execution_options(synchronize_session=False))
    if status == "failed":
        log.warning("notice delivery %s given up after %d attempts: %s", delivery_id,
                    attempts, error[:200])
    return status


def notices_of(session: Session, shop_id: int, limit: int = 20) -> list[ShopNotice]:
    """A shop's latest notices, newest first (for its page)."""
    return list(session.scalars(select(ShopNotice).where(ShopNotice.shop_id == shop_id)
                                .order_by(ShopNotice.created_at.desc(), ShopNotice.id.desc())
                                .limit(limit)))
