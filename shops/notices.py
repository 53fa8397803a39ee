"""Notices to a shop (门前三包整改通知): what they say, what goes out, when to remind and retry.

A shop-front case (a case with a shop) tells its shop at each step that concerns it: the
problem found (with the deadline and how to rectify), a reminder before the deadline, the
deadline passed, rework (the inspector found it not fixed), verified, closed. Each notice has
a Chinese and an English text; the outbound hooks (a webhook, an MQTT topic) carry the JSON
:func:`payload`, which an SMS or WeChat gateway can turn into a message.

Pure Python: plain values in, texts and decisions out (no SQL, no network).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from shops.problems import PROBLEMS_BY_EVENT

KINDS = ("problem", "reminder", "overdue", "rework", "verified", "closed", "info")
#: Kinds that ask the shop to act: their outbound payload carries a "mark rectified" link.
ACTION_KINDS = frozenset({"problem", "reminder", "overdue", "rework"})
#: The case transition (action) that tells a shop something, and what.
KIND_OF_ACTION: dict[str, str] = {
    "dispatch": "problem",
    "verify_fail": "rework",
    "reopen": "rework",
    "verify_pass": "verified",
    "close": "closed",
    "mark_overdue": "overdue",
}
TOPIC_PREFIX = "onegrid/v1/notices/"

#: Delivery retries: 30 s, 1, 2, 4, … minutes, at most an hour apart; given up after this
#: many tries (about six hours).
MAX_ATTEMPTS = 12
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)

#: A reminder goes out when the time left is at most this, or this share of the limit,
#: whichever is less (so a one-hour limit is not reminded at once).
REMIND_BEFORE = timedelta(hours=2)
REMIND_FRACTION = 0.25

#: How to rectify each shop-front problem (key of ``shops.problems.SHOP_PROBLEMS``): zh, en.
HOW_TO_RECTIFY: dict[str, tuple[str, str]] = {
    "out_of_store": ("将摆放在店外的商品、桌椅等收回店内", "bring goods, tables and chairs back "
                     "inside the shop"),
    "pavement_stall": ("撤除占道摊位，保持人行道畅通", "remove the stall and keep the pavement "
                       "clear"),
    "piled_materials": ("清理门前堆放的物料、杂物", "clear the materials and objects piled in "
                        "front"),
    "garbage": ("清扫门前垃圾，垃圾投放到指定垃圾桶", "sweep up the rubbish in front and put it "
                "in the bins"),
    "dirty_front": ("清洁门前地面及设施", "clean the pavement and fittings in front"),
    "umbrella": ("收起违规搭设的遮阳伞、遮阳篷", "take down the umbrella or awning"),
    "bikes": ("将门前非机动车摆放整齐或移至停放区", "line up the bikes in front or move them to "
              "the parking area"),
    "other": ("按现场说明整改", "fix it as described"),
}


@dataclass(frozen=True)
class NoticeFacts:
    """What a notice says: plain values from the shop and its case."""

    kind: str
    shop_name: str
    case_code: str
    problem: str
    problem_en: str
    deadline: datetime | None = None
    #: The problem type key (``shops.problems``) when the case's event is one: how to rectify.
    problem_key: str | None = None
    #: What the inspector wrote, or why verification failed (rework).
    note: str | None = None
    hotline: str | None = None


def problem_of(event_code: str | None, title: str | None) -> tuple[str | None, str, str]:
    """(problem key, name zh, name en) of a case's event: a shop-front problem type when the
    event is one, else the case's title."""
    found = PROBLEMS_BY_EVENT.get(event_code or "")
    if found is not None:
        return found.key, found.name, found.name_en
    name = (title or "").strip() or "门前问题"
    return None, name, name if name != "门前问题" else "Shop-front problem"


def _when(at: datetime | None, tz: tzinfo | None) -> tuple[str, str]:
    if at is None:
        return "尽快", "as soon as possible"
    local = at.astimezone(tz) if tz is not None else at
    return f"{local:%Y年%m月%d日 %H:%M}", f"{local:%Y-%m-%d %H:%M}"


def notice_texts(f: NoticeFacts, tz: tzinfo | None = None) -> tuple[str, str]:
    """The notice's Chinese and English text."""
    if f.kind not in KINDS:
        raise ValueError(f"notice kind {f.kind!r} unknown: use one of {', '.join(KINDS)}")
    by_zh, by_en = _when(f.deadline, tz)
    head = f"{f.shop_name}：案件 {f.case_code}「{f.problem}」"
    head_en = f"{f.shop_name}: case {f.case_code} '{f.problem_en}'"
    note = (f.note or "").strip()
    photo = "整改后请拍照上传（点击通知中的链接，或登录商户账号）。"
    photo_en = ("send a photo of the result (follow the link in this notice or sign in to "
                "your shop account).")
    if f.kind == "problem":
        how, how_en = HOW_TO_RECTIFY.get(f.problem_key or "", HOW_TO_RECTIFY["other"])
        zh = (f"【门前三包整改通知】{f.shop_name}：在您店门前发现「{f.problem}」"
              f"（案件 {f.case_code}）。" + (f"情况说明：{note}。" if note else "")
              + f"整改要求：{how}。请于 {by_zh} 前整改完毕，{photo}")
        en = (f"[Shop-front notice] {f.shop_name}: '{f.problem_en}' was found in front of your "
              f"shop (case {f.case_code}). " + (f"Details: {note}. " if note else "")
              + f"To do: {how_en}. Fix it by {by_en} and {photo_en}")
    elif f.kind == "reminder":
        zh = f"【整改提醒】{head}的整改期限为 {by_zh}，请尽快整改，{photo}"
        en = f"[Reminder] {head_en} must be fixed by {by_en}: please fix it and {photo_en}"
    elif f.kind == "overdue":
        zh = (f"【整改超期】{head}已超过整改期限（{by_zh}），请立即整改，{photo}"
              "超期将计入本月门前三包评分。")
        en = (f"[Overdue] {head_en} was due by {by_en}: fix it now and {photo_en} "
              "Overdue rectification counts in this month's shop score.")
    elif f.kind == "rework":
        zh = (f"【整改未通过，请返工】{head}经核查未整改到位" + (f"（{note}）" if note else "")
              + f"。请于 {by_zh} 前重新整改，{photo}")
        en = (f"[Rework] {head_en} was checked and is not fixed"
              + (f" ({note})" if note else "") + f". Fix it again by {by_en} and {photo_en}")
    elif f.kind == "verified":
        zh = f"【整改核查通过】{head}经核查已整改到位，感谢您的配合。"
        en = f"[Verified] {head_en} was checked and is fixed. Thank you."
    elif f.kind == "closed":
        zh = f"【案件已结案】{head}已结案。"
        en = f"[Closed] {head_en} is closed."
    else:
        zh = f"【门前三包通知】{head}" + (f"：{note}" if note else "")
        en = f"[Shop-front notice] {head_en}" + (f": {note}" if note else "")
    if f.hotline and f.kind in ACTION_KINDS:
        zh += f"咨询电话 {f.hotline}。"
        en += f" Questions: call {f.hotline}."
    return zh, en


def topic(shop_code: str) -> str:
    """The MQTT topic of a shop's notices: ``onegrid/v1/notices/{shop_code}`` (characters
    that would make the code a wildcard or another level are replaced)."""
    return TOPIC_PREFIX + (re.sub(r"[^0-9A-Za-z_.\-]", "_", shop_code) or "_")


def payload(*, notice_id: int, shop_code: str, shop_name: str, kind: str, case_id: int | None,
            case_code: str | None, problem: str, deadline: datetime | None, text: str,
            text_en: str, url: str | None, created_at: datetime) -> dict[str, Any]:
    """The JSON sent out. ``notice_id`` lets a consumer drop a repeat (deliveries are at least
    once); ``url`` is the one-time "mark rectified" link for notices that ask the shop to act."""
    link_zh = f" 整改后上传照片：{url}" if url else ""
    link_en = f" Send the photo here: {url}" if url else ""
    return {
        "notice_id": notice_id,
        "shop_code": shop_code,
        "shop_name": shop_name,
        "kind": kind,
        "case_id": case_id,
        "case_code": case_code,
        "problem": problem,
        "deadline": deadline.isoformat() if deadline is not None else None,
        "text": text + link_zh,
        "text_en": text_en + link_en,
        "url": url,
        "created_at": created_at.isoformat(),
    }


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try: 30 s doubling, at most 1 h."""
    if attempts <= 1:
        return RETRY_BASE
    return min(RETRY_BASE * (2 ** min(attempts - 1, 20)), RETRY_CAP)


def gives_up(attempts: int) -> bool:
    """Whether a delivery that failed ``attempts`` times is given up (status failed)."""
    return attempts >= MAX_ATTEMPTS


def reminder_due(started: datetime | None, due: datetime | None, now: datetime) -> bool:
    """Whether a shop should be reminded now of a deadline ``due`` set at ``started``: the
    time left is positive and at most 2 hours or 25 % of the limit, whichever is less."""
    if due is None or started is None or now >= due:
        return False
    window = min(REMIND_BEFORE, (due - started) * REMIND_FRACTION)
    return due - now <= window
