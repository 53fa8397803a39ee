"""Shop notices (门前三包) on SQLite and PostgreSQL: a shop-front case tells its shop at once
(a notice, and deliveries to a webhook and the MQTT topic ``onegrid/v1/notices/<shop code>``
on a real Mosquitto), a failing webhook is retried with backoff and not lost, a reminder goes
out once before the deadline, the one-time link marks the case rectified with a photo (once),
verify_fail sends the shop a rework notice, and a camera detection inside a shop's zone puts
the shop on its case."""

from __future__ import annotations

import dataclasses
import io
import json
import queue
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image
from sqlalchemy import select

from data.cases import Evidence, actor_for, apply_rule_outcomes, report_case, transition
from data.models import Case, NoticeDelivery, Shop, ShopLink, ShopNotice, UnitGrid, User
from data.scheduler import Scheduler
from data.shop_cases import ZONES
from data.types import utcnow
from tests.brokers import mosquitto  # noqa: F401  (fixture)

# -- helpers ------------------------------------------------------------------------------------


class Webhook:
    """A tiny HTTP server on a free 127.0.0.1 port that records the JSON it is sent and
    answers with the next of ``statuses`` (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = hook.statuses.pop(0) if hook.statuses else 200
                if status == 200:
                    hook.bodies.append(json.loads(raw))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/notices"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(seeded_services) -> Iterator[Webhook]:
    """A webhook server, configured as the notice webhook while the test runs."""
    hook = Webhook()
    before = seeded_services.settings
    seeded_services.settings = dataclasses.replace(before, notice_webhook=hook.url)
    try:
        yield hook
    finally:
        seeded_services.settings = before
        hook.close()


def subscribe(broker: Any, topic: str) -> tuple[mqtt.Client, queue.Queue]:
    got: queue.Queue = queue.Queue()
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-sub-{id(got)}",
                         protocol=mqtt.MQTTv311)
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda _c, _u, msg: got.put((msg.topic, json.loads(msg.payload)))
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert subscribed.wait(10), "the test subscriber got no SUBACK"
    return client, got


def photo(colour: tuple[int, int, int] = (30, 160, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 36), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def shop_with_zone(services: Any, nth: int) -> tuple[int, str, float, float]:
    """A demo shop with a zone (its id, code and a point inside its zone): each test its own."""
    with services.session() as s:
        shop = s.scalars(select(Shop).where(Shop.active.is_(True), Shop.zone.is_not(None))
                         .order_by(Shop.id).offset(nth * 37).limit(1)).one()
        inside = shop.zone.representative_point()
        return shop.id, shop.code, inside.x, inside.y


def open_shop_case(services: Any, shop_id: int, lon: float, lat: float,
                   now: Any = None) -> int:
    """An inspector-style shop-front case: reported with the shop, registered and dispatched
    at once."""
    with services.transaction() as s:
        inspector = s.scalars(select(User).where(User.username == "inspector01")).one()
        case = report_case(s, services.cases, kind="event", code="0502",
                           actor=actor_for(s, inspector), source="inspector", lon=lon, lat=lat,
                           shop_id=shop_id, description="门口摆了三张桌子",
                           auto=True, now=now)
        assert case.status == "dispatched"
        return case.id


def notices(services: Any, case_id: int) -> list[tuple[ShopNotice, list[NoticeDelivery]]]:
    with services.session() as s:
        found = s.scalars(select(ShopNotice).where(ShopNotice.case_id == case_id)
                          .order_by(ShopNotice.id)).all()
        return [(n, list(s.scalars(select(NoticeDelivery).where(
            NoticeDelivery.notice_id == n.id).order_by(NoticeDelivery.channel))))
            for n in found]


def scheduler(services: Any, broker: Any = None) -> Scheduler:
    runner = Scheduler(services)
    runner.mqtt_url = broker.url if broker is not None else None
    return runner


# -- tests --------------------------------------------------------------------------------------


def test_a_shop_case_reaches_the_shop_over_mqtt_and_the_webhook(seeded_services, webhook,
                                                                mosquitto) -> None:  # noqa: F811
    shop_id, code, lon, lat = shop_with_zone(seeded_services, 1)
    case_id = open_shop_case(seeded_services, shop_id, lon, lat)
    [(notice, deliveries)] = notices(seeded_services, case_id)
    assert notice.kind == "problem" and notice.shop_id == shop_id
    assert "店外经营" in notice.text and "门口摆了三张桌子" in notice.text
    assert "Trading outside the shop" in notice.text_en
    assert [(d.channel, d.target, d.status) for d in deliveries] == [
        ("mqtt", f"onegrid/v1/notices/{code}", "pending"), ("webhook", webhook.url, "pending")]

    client, got = subscribe(mosquitto, f"onegrid/v1/notices/{code}")
    try:
        report = scheduler(seeded_services, mosquitto).notice_pass(utcnow())
        topic, body = got.get(timeout=10)
    finally:
        client.loop_stop()
        client.disconnect()
    assert {d.id for d in deliveries} <= set(report.sent)
    assert topic == f"onegrid/v1/notices/{code}"
    assert body["shop_code"] == code and body["kind"] == "problem"
    assert body["case_id"] == case_id and body["problem"] == "店外经营"
    with seeded_services.session() as s:
        case = s.get(Case, case_id)
        assert body["deadline"] == case.deadline_at.isoformat()
    assert body["url"].startswith(f"{seeded_services.settings.public_url}/s/r/")
    assert body["url"] in body["text"]
    [posted] = [b for b in webhook.bodies if b["case_id"] == case_id]
    assert posted == body  # the same notice, the same one-time link, on both channels
    assert all(d.status == "sent" and d.sent_at is not None and d.attempts == 1
               for _, ds in notices(seeded_services, case_id) for d in ds)
    with seeded_services.session() as s:  # only the token's hash is kept
        token = body["url"].rsplit("/", 1)[1]
        assert len(token) >= 22
        links = s.scalars(select(ShopLink).where(ShopLink.case_id == case_id)).all()
        assert len(links) == 1 and token not in links[0].token_hash


def test_a_failing_webhook_is_retried_with_backoff_and_not_lost(seeded_services,
                                                                webhook) -> None:
    seeded_services.settings = dataclasses.replace(seeded_services.settings, notice_mqtt=False)
    webhook.statuses = [500, 503]
    shop_id, _code, lon, lat = shop_with_zone(seeded_services, 2)
    now = utcnow()
    case_id = open_shop_case(seeded_services, shop_id, lon, lat, now)
    [(_notice, [delivery])] = notices(seeded_services, case_id)
    runner = scheduler(seeded_services)  # no broker: MQTT would wait, the webhook goes

    first = runner.notice_pass(now)
    assert delivery.id in first.retrying
    [(_n, [d])] = notices(seeded_services, case_id)
    assert (d.status, d.attempts) == ("pending", 1) and "500" in d.last_error
    assert d.next_at == now + timedelta(seconds=30)
    assert delivery.id not in runner.notice_pass(now + timedelta(seconds=10)).sent  # not yet
    second = runner.notice_pass(now + timedelta(seconds=31))
    assert delivery.id in second.retrying
    [(_n, [d])] = notices(seeded_services, case_id)
    assert d.attempts == 2 and d.next_at == now + timedelta(seconds=31 + 60)
    third = runner.notice_pass(now + timedelta(seconds=95))
    assert delivery.id in third.sent
    [(_n, [d])] = notices(seeded_services, case_id)
    assert (d.status, d.attempts, d.last_error) == ("sent", 3, None)
    assert [b["case_id"] for b in webhook.bodies].count(case_id) == 1


def test_a_reminder_goes_out_once_before_the_deadline(seeded_services) -> None:
    shop_id, _code, lon, lat = shop_with_zone(seeded_services, 3)
    case_id = open_shop_case(seeded_services, shop_id, lon, lat)
    with seeded_services.session() as s:
        case = s.get(Case, case_id)
        started, due = case.step_started_at, case.deadline_at
    assert case.step == "handle" and due > started
    runner = scheduler(seeded_services)
    early = started + (due - started) / 10
    assert case_id not in runner.notice_pass(early).reminded
    near = due - min(timedelta(hours=2), (due - started) / 4) / 2
    assert case_id in runner.notice_pass(near).reminded
    assert case_id not in runner.notice_pass(near + timedelta(minutes=1)).reminded
    kinds = [n.kind for n, _ in notices(seeded_services, case_id)]
    assert kinds == ["problem", "reminder"]
    reminder = notices(seeded_services, case_id)[1][0]
    assert "整改提醒" in reminder.text and reminder.data["deadline"] == due.isoformat()


def test_the_one_time_link_marks_the_case_rectified_once_and_rework_is_notified(
        seeded_services, client, webhook) -> None:
    seeded_services.settings = dataclasses.replace(seeded_services.settings, notice_mqtt=False)
    shop_id, _code, lon, lat = shop_with_zone(seeded_services, 4)
    case_id = open_shop_case(seeded_services, shop_id, lon, lat)
    scheduler(seeded_services).notice_pass(utcnow())
    [body] = [b for b in webhook.bodies if b["case_id"] == case_id]
    path = urlsplit(body["url"]).path
    client.get("/logout")  # a shop without a login

    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "店外经营" in html and 'type="file"' in html
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    # A file that is no photo is refused, and the link still works.
    bad = client.post(path, data={"csrf": csrf, "photo": (io.BytesIO(b"not an image"),
                                                          "fix.jpg")},
                      content_type="multipart/form-data")
    assert bad.status_code == 400 and "shop-link-error" in bad.get_data(as_text=True)
    no_csrf = client.post(path, data={"photo": (io.BytesIO(photo()), "fix.jpg")},
                          content_type="multipart/form-data")
    assert no_csrf.status_code == 400
    with seeded_services.session() as s:
        assert s.get(Case, case_id).status == "dispatched"

    done = client.post(path, data={"csrf": csrf, "note": "桌子已收回店内",
                                   "photo": (io.BytesIO(photo()), "fix.jpg")},
                       content_type="multipart/form-data")
    assert done.status_code == 200 and "网格员" in done.get_data(as_text=True)
    with seeded_services.session() as s:
        case = s.get(Case, case_id)
        assert case.status == "handled" and case.handled_at is not None
        from data.cases import events_of

        events = events_of(s, case_id)
        assert [e.action for e in events][-2:] == ["accept", "feedback"]
        feedback = events[-1]
        assert feedback.actor_role == "shop_owner" and feedback.note == "桌子已收回店内"
        assert feedback.attachments["files"][0]["mime"] == "image/jpeg"
    again = client.post(path, data={"csrf": csrf, "photo": (io.BytesIO(photo((1, 2, 3))),
                                                            "again.jpg")},
                        content_type="multipart/form-data")
    assert again.status_code == 410 and "链接已使用" in again.get_data(as_text=True)
    assert client.get(path).status_code == 410
    assert client.get("/s/r/" + "x" * 43).status_code == 404

    # The inspector finds it not fixed: rework, and the shop is told with a new link.
    with seeded_services.transaction() as s:
        case = s.get(Case, case_id)
        inspector = s.get(User, s.scalar(select(UnitGrid.inspector_id)
                                          .where(UnitGrid.code == case.grid_code)))
        transition(s, seeded_services.cases, case, "verify_fail", actor_for(s, inspector),
                   reason="门口仍有桌椅")
        assert case.status == "accepted"
    rework = [n for n, _ in notices(seeded_services, case_id) if n.kind == "rework"]
    assert len(rework) == 1 and "门口仍有桌椅" in rework[0].text
    scheduler(seeded_services).notice_pass(utcnow())
    [sent] = [b for b in webhook.bodies if b["case_id"] == case_id and b["kind"] == "rework"]
    assert sent["url"] and sent["url"] != body["url"]
    assert client.get(urlsplit(sent["url"]).path).status_code == 200


def test_a_detection_inside_a_shop_zone_gets_the_shop_on_its_case(seeded_services) -> None:
    shop_id, _code, lon, lat = shop_with_zone(seeded_services, 5)
    ZONES.invalidate()
    engine = seeded_services.cases.rules.engine()
    now = utcnow()
    trigger = engine.on_detection("out_of_store", 0.95, now, device_id=None, lon=lon, lat=lat)
    far = engine.on_detection("out_of_store", 0.95, now, device_id=None, lon=lon + 0.05,
                              lat=lat + 0.05)
    with seeded_services.transaction() as s:
        report = apply_rule_outcomes(s, seeded_services.cases,
                                     [(trigger, Evidence()), (far, Evidence())], now)
        inside, outside = (s.get(Case, i) for i in report.opened)
        assert inside.shop_id == shop_id and inside.source == "camera"
        assert outside.shop_id is None
        inside_id, status = inside.id, inside.status
    assert status == "dispatched"  # confident enough to register and dispatch itself
    [(notice, deliveries)] = notices(seeded_services, inside_id)
    assert notice.kind == "problem" and notice.shop_id == shop_id and deliveries


def test_a_shop_owner_signed_in_marks_its_own_case_rectified(seeded_services, tmp_path) -> None:
    from data.accounts import create_user
    from data.cases import CaseError
    from data.shop_cases import mark_rectified
    from data.uploads import store_upload

    shop_id, _code, lon, lat = shop_with_zone(seeded_services, 6)
    other_id, _c, olon, olat = shop_with_zone(seeded_services, 7)
    mine = open_shop_case(seeded_services, shop_id, lon, lat)
    theirs = open_shop_case(seeded_services, other_id, olon, olat)
    cfg = seeded_services.cases
    with seeded_services.transaction() as s:
        owner = create_user(s, f"shop_owner_{shop_id}", "shop_owner", "a-long-pass-phrase-1")
        s.get(Shop, shop_id).owner_user_id = owner.id
        s.flush()
        actor = actor_for(s, owner)
        assert actor.shop_ids == frozenset({shop_id})
        sha = store_upload(s, seeded_services.settings.media_dir, photo((200, 10, 10)),
                           uploaded_by=owner.id).sha256
        with pytest.raises(CaseError) as refused:
            mark_rectified(s, cfg, s.get(Case, theirs), actor, [sha], "not mine")
        assert refused.value.code == "not_your_shop"
        with pytest.raises(CaseError) as no_photo:
            mark_rectified(s, cfg, s.get(Case, mine), actor, ["0" * 64], "no photo")
        assert no_photo.value.code == "attachment_required"
        event = mark_rectified(s, cfg, s.get(Case, mine), actor, [sha], None)
        assert event.action == "feedback" and event.actor_id == owner.id
    with seeded_services.session() as s:
        assert s.get(Case, mine).status == "handled"
        assert s.get(Case, theirs).status == "dispatched"
