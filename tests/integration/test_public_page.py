"""A shop's public QR page ``/s/<token>`` through the whole Flask app, on SQLite and PostgreSQL:
good, bad, revoked and closed codes; ratings and their limits; a citizen's report with a photo;
an inspector's scan that opens a dispatched case."""

from __future__ import annotations

import io
import itertools
import re
import time
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from data.models import (
    Attachment,
    Case,
    RateHit,
    Shop,
    ShopRating,
    ShopScore,
    ShopScoreMonth,
    ShopToken,
)
from data.shop_ratings import ACTIONS_PER_HOUR, VIEWS_PER_MINUTE, set_hidden
from data.types import utcnow
from shops.problems import DUTIES

_ADDRESSES = itertools.count(1)


def new_visitor(client):
    """A fresh browser (its own cookies) from its own address."""
    visitor = client.application.test_client()
    n = next(_ADDRESSES)
    visitor.environ_base["REMOTE_ADDR"] = f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"
    return visitor


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def image(fmt: str = "PNG", colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), colour).save(buffer, fmt)
    return buffer.getvalue()


def shop_at(services, index: int) -> Shop:
    with services.session() as s:
        shop = s.scalars(select(Shop).order_by(Shop.id).offset(index).limit(1)).one()
        s.expunge(shop)
        return shop


def sign_in(visitor, username: str) -> None:
    form = visitor.get("/login").get_data(as_text=True)
    reply = visitor.post("/login", data={"csrf": csrf_of(form), "username": username,
                                         "password": "onegrid-demo", "next": "/"})
    assert reply.status_code == 302


def count(services, model) -> int:
    with services.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_shops_page_shows_it_small_and_fast(client, seeded_services) -> None:
    shop = shop_at(seeded_services, 0)
    visitor = new_visitor(client)
    visitor.get(f"/s/{shop.qr_token}")  # warm: the first request builds caches
    times = []
    for _ in range(5):
        start = time.perf_counter()
        reply = visitor.get(f"/s/{shop.qr_token}")
        times.append(time.perf_counter() - start)
    page = reply.get_data(as_text=True)
    assert reply.status_code == 200 and reply.mimetype == "text/html"
    assert shop.name in page and DUTIES[0][0] in page
    assert '<svg id="shop-zone"' in page and 'class="zone"' in page
    assert "暂未评分" in page  # nothing frozen yet
    assert "<script" not in page
    assert len(reply.data) < 30_000, f"the page is {len(reply.data)} bytes"
    print(f"\npublic page: {len(reply.data)} bytes, server time min {min(times) * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms")
    # a device cookie, HttpOnly, to count one rating a day
    cookie = visitor.get_cookie("onegrid_device", path="/s/")
    assert cookie is not None and cookie.http_only
    english = new_visitor(client)
    english.set_cookie("onegrid_lang", "en")
    assert "Shop-front duties" in english.get(f"/s/{shop.qr_token}").get_data(as_text=True)


def test_a_published_score_shows_with_its_grade(client, seeded_services) -> None:
    shop = shop_at(seeded_services, 1)
    with seeded_services.transaction() as s:
        if s.get(ShopScoreMonth, "2000-01") is None:
            s.add(ShopScoreMonth(month="2000-01", formula="test", shops=1))
            s.flush()
        s.add(ShopScore(month="2000-01", shop_id=shop.id, score=87.4, grade="四星", stars=4,
                        listed="red", rank_in_street=3))
    page = new_visitor(client).get(f"/s/{shop.qr_token}").get_data(as_text=True)
    assert "87" in page and "四星" in page and "红榜" in page and "暂未评分" not in page


def test_bad_revoked_and_closed_codes_get_clear_pages(client, seeded_services) -> None:
    visitor = new_visitor(client)
    for bad in ("nonsense-token-that-is-not-there", "x", "<script>alert(1)</script>"):
        reply = visitor.get(f"/s/{bad}")
        assert reply.status_code == 404 and "二维码无效" in reply.get_data(as_text=True)
        assert "<script>alert" not in reply.get_data(as_text=True)
    shop = shop_at(seeded_services, 2)
    old = "revoked-token-" + "a" * 20
    with seeded_services.transaction() as s:
        s.add(ShopToken(token=old, shop_id=shop.id, issued_at=utcnow() - timedelta(days=30),
                        revoked_at=utcnow()))
    reply = visitor.get(f"/s/{old}")
    assert reply.status_code == 410
    assert "此二维码已作废，请扫描店铺新的二维码" in reply.get_data(as_text=True)
    assert visitor.post(f"/s/{old}/rate", data={"stars": "5"}).status_code == 410
    closed = shop_at(seeded_services, 3)
    with seeded_services.transaction() as s:
        s.get(Shop, closed.id).active = False
    reply = visitor.get(f"/s/{closed.qr_token}")
    assert reply.status_code == 410 and "停业" in reply.get_data(as_text=True)


def test_one_rating_per_device_per_day_and_comments_escaped(client, seeded_services) -> None:
    shop = shop_at(seeded_services, 4)
    visitor = new_visitor(client)
    page = visitor.get(f"/s/{shop.qr_token}").get_data(as_text=True)
    comment = "<script>alert('x')</script> 门前很干净"
    reply = visitor.post(f"/s/{shop.qr_token}/rate",
                         data={"csrf": csrf_of(page), "stars": "4", "comment": comment})
    assert reply.status_code == 303 and "done=rate" in reply.headers["Location"]
    thanks = visitor.get(f"/s/{shop.qr_token}?done=rate").get_data(as_text=True)
    assert "感谢您的评价" in thanks
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; 门前很干净" in thanks
    assert "<script>alert" not in thanks
    again = visitor.post(f"/s/{shop.qr_token}/rate",
                         data={"csrf": csrf_of(thanks), "stars": "1", "comment": "again"})
    assert again.status_code == 409
    assert "您今天已评价过该店铺" in again.get_data(as_text=True)
    with seeded_services.session() as s:
        rows = s.scalars(select(ShopRating).where(ShopRating.shop_id == shop.id)).all()
    assert [r.stars for r in rows] == [4]
    assert len(rows[0].device) == 64 and len(rows[0].client) == 64
    assert "10." not in rows[0].client  # a keyed hash, never the address
    with seeded_services.transaction() as s:  # moderation hides it: gone from the page
        assert set_hidden(s, rows[0].id)
    page = visitor.get(f"/s/{shop.qr_token}").get_data(as_text=True)
    assert "门前很干净" not in page and "近 90 天暂无评价" in page


def test_bad_ratings_are_refused_with_a_reason(client, seeded_services) -> None:
    shop = shop_at(seeded_services, 5)
    visitor = new_visitor(client)
    page = visitor.get(f"/s/{shop.qr_token}").get_data(as_text=True)
    assert visitor.post(f"/s/{shop.qr_token}/rate",
                        data={"stars": "5"}).status_code == 400  # no CSRF token
    reply = visitor.post(f"/s/{shop.qr_token}/rate", data={"csrf": csrf_of(page), "stars": "9"})
    assert reply.status_code == 400 and "请选择 1 到 5 颗星" in reply.get_data(as_text=True)
    reply = visitor.post(f"/s/{shop.qr_token}/rate",
                         data={"csrf": csrf_of(page), "stars": "3", "comment": "长" * 301})
    assert reply.status_code == 400 and "最多 300 字" in reply.get_data(as_text=True)
    assert "长" * 301 in reply.get_data(as_text=True)  # what was typed is kept
    with seeded_services.session() as s:
        assert not s.scalar(select(func.count()).select_from(ShopRating)
                            .where(ShopRating.shop_id == shop.id))


def test_the_per_address_limit_trips(client, seeded_services) -> None:
    visitor = new_visitor(client)
    address = visitor.environ_base["REMOTE_ADDR"]
    replies = []
    for i in range(ACTIONS_PER_HOUR + 1):
        shop = shop_at(seeded_services, 10 + i)  # another shop each time: no daily refusal
        device = visitor.application.test_client()
        device.environ_base["REMOTE_ADDR"] = address  # a new device, the same address
        page = device.get(f"/s/{shop.qr_token}").get_data(as_text=True)
        replies.append(device.post(f"/s/{shop.qr_token}/rate",
                                   data={"csrf": csrf_of(page), "stars": "5"}))
    assert [r.status_code for r in replies[:-1]] == [303] * ACTIONS_PER_HOUR
    assert replies[-1].status_code == 429
    assert "每小时最多提交" in replies[-1].get_data(as_text=True)
    assert count(seeded_services, RateHit) >= 1


def test_too_many_page_views_from_one_address_are_refused(client, seeded_services) -> None:
    shop = shop_at(seeded_services, 20)
    visitor = new_visitor(client)
    codes = [visitor.get(f"/s/{shop.qr_token}").status_code
             for _ in range(VIEWS_PER_MINUTE + 1)]
    if codes[-1] == 200:  # the minute turned over mid-way: the count started again
        codes = [visitor.get(f"/s/{shop.qr_token}").status_code
                 for _ in range(VIEWS_PER_MINUTE + 1)]
    assert codes[-1] == 429 and 200 in codes
    reply = visitor.get(f"/s/{shop.qr_token}")
    assert reply.status_code == 429 and "访问过于频繁" in reply.get_data(as_text=True)
    assert reply.headers["Retry-After"] == "60"


def test_a_citizens_report_checks_the_photo_and_waits_for_the_desk(
        client, seeded_services) -> None:
    shop = shop_at(seeded_services, 30)
    visitor = new_visitor(client)
    page = visitor.get(f"/s/{shop.qr_token}").get_data(as_text=True)
    cases, files = count(seeded_services, Case), count(seeded_services, Attachment)
    media = seeded_services.settings.media_dir
    on_disk = len(list(media.rglob("*"))) if media.exists() else 0
    bad = visitor.post(f"/s/{shop.qr_token}/report", content_type="multipart/form-data", data={
        "csrf": csrf_of(page), "problem": "garbage", "note": "门口垃圾堆放",
        "photo": (io.BytesIO(b"%PDF-1.4 not a photo"), "photo.jpg")})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "不是 JPEG、PNG 或 WebP 格式的照片" in text and "门口垃圾堆放" in text
    assert count(seeded_services, Case) == cases
    assert count(seeded_services, Attachment) == files
    assert (len(list(media.rglob("*"))) if media.exists() else 0) == on_disk
    good = visitor.post(f"/s/{shop.qr_token}/report", content_type="multipart/form-data",
                        data={"csrf": csrf_of(page), "problem": "garbage",
                              "note": "门口垃圾堆放", "photo": (io.BytesIO(image()), "a.png")})
    assert good.status_code == 303
    with seeded_services.session() as s:
        case = s.scalars(select(Case).where(Case.shop_id == shop.id)
                         .order_by(Case.id.desc())).first()
        assert case.status == "reported" and case.source == "citizen" and not case.auto
        assert case.category_code == "0102" and case.department_id is None
        assert case.geom.distance(shop.geom) < 1e-9
    thanks = visitor.get(good.headers["Location"]).get_data(as_text=True)
    assert case.code in thanks
    # not on the public page until the command desk registered it
    assert "门前垃圾" not in thanks.split('id="shop-open"')[1].split("</section>")[0]


def test_an_inspectors_scan_opens_a_dispatched_case(client, seeded_services) -> None:
    shop = shop_at(seeded_services, 40)
    citizen = new_visitor(client)
    page = citizen.get(f"/s/{shop.qr_token}").get_data(as_text=True)
    assert 'id="inspect-form"' not in page
    cases = count(seeded_services, Case)
    refused = citizen.post(f"/s/{shop.qr_token}/inspect", content_type="multipart/form-data",
                           data={"csrf": csrf_of(page), "problem": "out_of_store",
                                 "photos": (io.BytesIO(image("JPEG")), "a.jpg")})
    assert refused.status_code == 403 and count(seeded_services, Case) == cases

    inspector = new_visitor(client)
    sign_in(inspector, "inspector01")
    page = inspector.get(f"/s/{shop.qr_token}").get_data(as_text=True)
    assert 'id="inspect-form"' in page and 'id="rate-form"' in page
    none = inspector.post(f"/s/{shop.qr_token}/inspect", content_type="multipart/form-data",
                          data={"csrf": csrf_of(page), "problem": "out_of_store", "note": "x"})
    assert none.status_code == 400 and "请拍摄或选择问题照片" in none.get_data(as_text=True)
    reply = inspector.post(f"/s/{shop.qr_token}/inspect", content_type="multipart/form-data",
                           data={"csrf": csrf_of(page), "problem": "out_of_store",
                                 "note": "店外摆放货架",
                                 "photos": [(io.BytesIO(image("JPEG")), "a.jpg"),
                                            (io.BytesIO(image("PNG", (0, 90, 0))), "b.png")]})
    assert reply.status_code == 303 and "case=" in reply.headers["Location"]
    case_id = int(re.search(r"case=(\d+)", reply.headers["Location"]).group(1))
    with seeded_services.session() as s:
        case = s.get(Case, case_id)
        assert case.shop_id == shop.id and case.source == "inspector" and case.auto
        assert case.status == "dispatched" and case.department_id is not None
        assert case.deadline_at is not None and case.category_code == "0502"
    after = inspector.get(reply.headers["Location"]).get_data(as_text=True)
    assert f"已立案派遣：案件 {case.code}" in after
    assert f'href="/cases/{case_id}"' in after
    assert len(after.encode()) < 30_000
    # its photos are public now, full size and as a thumbnail; others are not
    shas = re.findall(rf"/s/{re.escape(shop.qr_token)}/photo/([0-9a-f]{{64}})\?thumb=1", after)
    assert len(shas) == 2
    full = citizen.get(f"/s/{shop.qr_token}/photo/{shas[0]}")
    assert full.status_code == 200 and full.mimetype.startswith("image/")
    thumb = citizen.get(f"/s/{shop.qr_token}/photo/{shas[0]}?thumb=1")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    other = shop_at(seeded_services, 41)
    assert citizen.get(f"/s/{other.qr_token}/photo/{shas[0]}").status_code == 404
    assert citizen.get(f"/s/{shop.qr_token}/photo/{'0' * 64}").status_code == 404


@pytest.mark.parametrize("role_user", ["handler_d01"])
def test_other_staff_see_the_public_page_without_the_form(client, seeded_services,
                                                          role_user) -> None:
    shop = shop_at(seeded_services, 42)
    visitor = new_visitor(client)
    sign_in(visitor, role_user)
    page = visitor.get(f"/s/{shop.qr_token}").get_data(as_text=True)
    assert shop.name in page and 'id="inspect-form"' not in page
