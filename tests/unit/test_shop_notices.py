"""Shop notices (门前三包整改通知): the texts of each kind, the outbound payload, retry backoff,
when a reminder is due."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shops.notices import (
    KIND_OF_ACTION,
    KINDS,
    MAX_ATTEMPTS,
    NoticeFacts,
    gives_up,
    notice_texts,
    payload,
    problem_of,
    reminder_due,
    retry_delay,
    topic,
)

SH = ZoneInfo("Asia/Shanghai")
DUE = datetime(2026, 5, 6, 8, 30, tzinfo=UTC)  # 16:30 in Shanghai


def facts(kind: str, **kw: object) -> NoticeFacts:
    base: dict[str, object] = dict(kind=kind, shop_name="旺角旅馆", case_code="20260506000042",
                                   problem="店外经营", problem_en="Trading outside the shop",
                                   deadline=DUE, problem_key="out_of_store")
    base.update(kw)
    return NoticeFacts(**base)  # type: ignore[arg-type]


def test_problem_notice_says_the_problem_the_deadline_and_how_to_rectify() -> None:
    zh, en = notice_texts(facts("problem", note="门口摆了三张桌子", hotline="12319"), SH)
    assert "门前三包整改通知" in zh and "旺角旅馆" in zh and "「店外经营」" in zh
    assert "20260506000042" in zh
    assert "2026年05月06日 16:30" in zh  # the deadline in local time
    assert "收回店内" in zh  # how to rectify an out-of-store problem
    assert "门口摆了三张桌子" in zh and "拍照上传" in zh and "12319" in zh
    assert "'Trading outside the shop'" in en and "2026-05-06 16:30" in en
    assert "bring goods" in en and "photo" in en and "12319" in en


def test_each_kind_has_its_own_text_in_both_languages() -> None:
    texts = {kind: notice_texts(facts(kind, note="仍有杂物"), SH) for kind in KINDS}
    heads = {"problem": "整改通知", "reminder": "整改提醒", "overdue": "整改超期",
             "rework": "请返工", "verified": "核查通过", "closed": "已结案", "info": "通知"}
    for kind, (zh, en) in texts.items():
        assert heads[kind] in zh, kind
        assert en and en != zh and "20260506000042" in en
    assert "仍有杂物" in texts["rework"][0] and "仍有杂物" in texts["rework"][1]
    assert "评分" in texts["overdue"][0]
    assert "Thank you" in texts["verified"][1]
    assert len({zh for zh, _ in texts.values()}) == len(KINDS)


def test_no_deadline_reads_as_soon_as_possible_and_unknown_kind_is_refused() -> None:
    zh, en = notice_texts(facts("reminder", deadline=None), SH)
    assert "尽快" in zh and "as soon as possible" in en
    with pytest.raises(ValueError, match="unknown"):
        notice_texts(facts("gossip"), SH)


def test_problem_of_a_case_event() -> None:
    assert problem_of("0502", "whatever") == ("out_of_store", "店外经营",
                                             "Trading outside the shop")
    assert problem_of("9999", "井盖破损") == (None, "井盖破损", "井盖破损")
    assert problem_of(None, None) == (None, "门前问题", "Shop-front problem")


def test_transitions_that_tell_the_shop() -> None:
    assert KIND_OF_ACTION["dispatch"] == "problem"
    assert KIND_OF_ACTION["verify_fail"] == "rework"
    assert KIND_OF_ACTION["verify_pass"] == "verified"
    assert KIND_OF_ACTION["close"] == "closed"
    assert KIND_OF_ACTION["mark_overdue"] == "overdue"
    assert "accept" not in KIND_OF_ACTION and "add_evidence" not in KIND_OF_ACTION


def test_payload_is_the_documented_json() -> None:
    made = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)
    body = payload(notice_id=7, shop_code="S00000001", shop_name="旺角旅馆", kind="problem",
                   case_id=42, case_code="20260506000042", problem="店外经营", deadline=DUE,
                   text="整改通知", text_en="Notice", url="https://x.example/s/r/abc",
                   created_at=made)
    assert {"shop_code", "shop_name", "kind", "case_id", "problem", "deadline", "text",
            "text_en", "url"} <= set(body)
    assert body["deadline"] == "2026-05-06T08:30:00+00:00"
    assert body["text"].endswith("https://x.example/s/r/abc")  # an SMS gateway sends text
    assert body["text_en"].endswith("https://x.example/s/r/abc")
    assert json.loads(json.dumps(body, ensure_ascii=False)) == body
    quiet = payload(notice_id=8, shop_code="S1", shop_name="s", kind="verified", case_id=None,
                    case_code=None, problem="", deadline=None, text="t", text_en="e", url=None,
                    created_at=made)
    assert quiet["url"] is None and quiet["deadline"] is None and quiet["text"] == "t"


def test_topic_per_shop_and_never_a_wildcard() -> None:
    assert topic("S00000001") == "onegrid/v1/notices/S00000001"
    assert topic("a/b+#") == "onegrid/v1/notices/a_b__"
    assert topic("") == "onegrid/v1/notices/_"


def test_retries_back_off_doubling_to_an_hour_and_give_up() -> None:
    delays = [retry_delay(n) for n in range(1, 10)]
    assert delays[:4] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2),
                          timedelta(minutes=4)]
    assert all(a <= b for a, b in itertools.pairwise(delays))
    assert retry_delay(50) == timedelta(hours=1)
    assert not gives_up(MAX_ATTEMPTS - 1) and gives_up(MAX_ATTEMPTS)


def test_reminder_is_due_in_the_last_two_hours_or_quarter_of_the_limit() -> None:
    start = datetime(2026, 5, 5, 8, 30, tzinfo=UTC)  # a 24-hour limit: remind 2 h before
    assert not reminder_due(start, DUE, DUE - timedelta(hours=3))
    assert reminder_due(start, DUE, DUE - timedelta(hours=2))
    assert reminder_due(start, DUE, DUE - timedelta(minutes=1))
    assert not reminder_due(start, DUE, DUE)  # past the deadline: overdue, not a reminder
    short = DUE - timedelta(hours=1)  # a one-hour limit: the last 15 minutes
    assert not reminder_due(short, DUE, DUE - timedelta(minutes=30))
    assert reminder_due(short, DUE, DUE - timedelta(minutes=15))
    assert not reminder_due(None, DUE, DUE - timedelta(minutes=1))
    assert not reminder_due(start, None, DUE)
