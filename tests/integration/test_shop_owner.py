"""A shop owner (商户) signed in, through the whole Flask app on SQLite and PostgreSQL: the demo
owners the seed creates, the home page (its shop's ``/s/<token>``), its notices on that page
(unread, then read), the "已整改" form that marks its case rectified with a photo, a bad upload
refused with nothing stored, another shop's page and cases refused, and nothing else of the
system open to it."""

from __future__ import annotations

import io
import re
from typing import Any

from PIL import Image
from sqlalchemy import func, select

from data.cases import actor_for, events_of, report_case
from data.models import Attachment, Case, Shop, ShopNotice, User

OWNER = "shop_S00000001"
PASSWORD = "onegrid-demo"  # data/seed.py DEMO_PASSWORD


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def photo(colour: tuple[int, int, int] = (40, 140, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def sign_in(client: Any, username: str = OWNER) -> Any:
    client.get("/logout")
    form = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"csrf": csrf_of(form), "username": username,
                                       "password": PASSWORD, "next": "/"})


def shop(services: Any, code: str) -> Shop:
    with services.session() as s:
        found = s.scalars(select(Shop).where(Shop.code == code)).one()
        s.expunge(found)
        return found


def open_case(services: Any, shop_id: int, note: str) -> int:
    """A shop-front case found by an inspector: dispatched to the shop at once."""
    with services.transaction() as s:
        inspector = s.scalars(select(User).where(User.username == "inspector01")).one()
        where = s.get(Shop, shop_id).geom
        case = report_case(s, services.cases, kind="event", code="0502",
                           actor=actor_for(s, inspector), source="inspector", lon=where.x,
                           lat=where.y, shop_id=shop_id, description=note, auto=True)
        assert case.status == "dispatched"
        return case.id


def status_of(services: Any, case_id: int) -> str:
    with services.session() as s:
        return s.get(Case, case_id).status


def attachments(services: Any) -> int:
    with services.session() as s:
        return s.scalar(select(func.count()).select_from(Attachment))


def rectify(client: Any, token: str, case_id: int | str, files: list[tuple[bytes, str]],
            note: str = "", csrf: str | None = None) -> Any:
    if csrf is None:
        csrf = csrf_of(client.get(f"/s/{token}").get_data(as_text=True))
    data: dict[str, Any] = {"csrf": csrf, "case": str(case_id), "note": note,
                            "photos": [(io.BytesIO(b), name) for b, name in files]}
    return client.post(f"/s/{token}/rectify", data=data, content_type="multipart/form-data")


def test_the_seed_makes_demo_owners_and_an_owner_lands_on_its_shop(client,
                                                                  seeded_services) -> None:
    with seeded_services.session() as s:
        rows = s.execute(select(User.username, User.display_name, User.role, Shop.code,
                                Shop.owner_name)
                         .join(Shop, Shop.owner_user_id == User.id)
                         .order_by(Shop.code)).all()
    assert [r.username for r in rows] == [f"shop_S0000000{n}" for n in range(1, 6)]
    assert all(r.role == "shop_owner" and r.display_name == r.owner_name for r in rows)
    assert all(r.username == f"shop_{r.code}" for r in rows)
    mine = shop(seeded_services, "S00000001")
    reply = sign_in(client)
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/")
    home = client.get("/", headers={"Accept": "text/html"})
    assert home.status_code == 302 and home.headers["Location"].endswith(f"/s/{mine.qr_token}")
    page = client.get(home.headers["Location"]).get_data(as_text=True)
    assert 'id="shop-owner"' in page and mine.name in page


def test_the_owner_sees_its_notices_and_marks_its_case_rectified(client,
                                                                 seeded_services) -> None:
    mine = shop(seeded_services, "S00000002")
    case_id = open_case(seeded_services, mine.id, "门口堆放纸箱（商户视图）")
    sign_in(client, "shop_S00000002")
    page = client.get(f"/s/{mine.qr_token}").get_data(as_text=True)
    owner = page[page.index('id="shop-owner"'):page.index('id="shop-duties"')]
    assert "门口堆放纸箱（商户视图）" in owner  # the notice, with what the inspector wrote
    assert 'class="case notice unread"' in owner and "未读" in owner
    assert f'id="rectify-form-{case_id}"' in owner and "已整改" in owner
    with seeded_services.session() as s:
        unread = s.scalar(select(func.count()).select_from(ShopNotice).where(
            ShopNotice.shop_id == mine.id, ShopNotice.read_at.is_(None)))
    assert unread == 0  # opening the page read them
    again = client.get(f"/s/{mine.qr_token}").get_data(as_text=True)
    assert "门口堆放纸箱（商户视图）" in again and "notice unread" not in again

    done = rectify(client, mine.qr_token, case_id, [(photo(), "fixed.jpg")], "纸箱已清走")
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/s/{mine.qr_token}?rectified={case_id}"
                                             "#shop-owner")
    assert status_of(seeded_services, case_id) == "handled"
    with seeded_services.session() as s:
        feedback = events_of(s, case_id)[-1]
        owner_id = s.scalar(select(User.id).where(User.username == "shop_S00000002"))
    assert (feedback.action, feedback.actor_role, feedback.actor_id) == (
        "feedback", "shop_owner", owner_id)
    assert feedback.note == "纸箱已清走" and feedback.origin == "owner-page"
    assert len(feedback.attachments["files"]) == 1
    thanks = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已提交整改" in thanks and f'id="rectify-form-{case_id}"' not in thanks
    twice = rectify(client, mine.qr_token, case_id, [(photo((9, 9, 9)), "again.jpg")])
    assert twice.status_code == 400 and "不在待整改状态" in twice.get_data(as_text=True)


def test_a_bad_upload_is_refused_clearly_and_nothing_is_stored(client, seeded_services,
                                                               tmp_path) -> None:
    mine = shop(seeded_services, "S00000003")
    case_id = open_case(seeded_services, mine.id, "店外摆摊（坏照片）")
    sign_in(client, "shop_S00000003")
    before = attachments(seeded_services)
    media = seeded_services.settings.media_dir
    files_before = sorted(media.rglob("*")) if media.exists() else []
    good = photo((1, 200, 1))
    bad = rectify(client, mine.qr_token, case_id,
                  [(good, "good.jpg"), (b"this is not a photo", "fix.jpg")], "已清理")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert f'id="rectify-error-{case_id}"' in html and "JPEG" in html
    assert "已清理" in html  # the note is kept for the next try
    none = rectify(client, mine.qr_token, case_id, [])
    assert none.status_code == 400 and "至少一张" in none.get_data(as_text=True)
    many = rectify(client, mine.qr_token, case_id,
                   [(photo((n, 0, 0)), f"{n}.jpg") for n in range(4)])
    assert many.status_code == 400 and "最多上传 3 张" in many.get_data(as_text=True)
    forged = rectify(client, mine.qr_token, case_id, [(good, "good.jpg")], csrf="forged")
    assert forged.status_code == 400 and "页面已过期" in forged.get_data(as_text=True)
    assert status_of(seeded_services, case_id) == "dispatched"
    assert attachments(seeded_services) == before
    assert (sorted(media.rglob("*")) if media.exists() else []) == files_before


def test_another_shop_is_refused(client, seeded_services) -> None:
    mine, other = shop(seeded_services, "S00000004"), shop(seeded_services, "S00000010")
    theirs = open_case(seeded_services, other.id, "别家的问题")
    sign_in(client, "shop_S00000004")
    page = client.get(f"/s/{other.qr_token}").get_data(as_text=True)
    assert other.name in page and 'id="shop-owner"' not in page and "别家的问题" not in page
    refused = rectify(client, other.qr_token, theirs, [(photo(), "x.jpg")])
    assert refused.status_code == 403 and "不是您的店铺" in refused.get_data(as_text=True)
    # Another shop's case through its own page: refused too.
    sneaky = rectify(client, mine.qr_token, theirs, [(photo(), "x.jpg")])
    assert sneaky.status_code == 403 and "不是您的店铺" in sneaky.get_data(as_text=True)
    assert status_of(seeded_services, theirs) == "dispatched"
    # A citizen (signed out) sees no owner part and may not post the form.
    client.get("/logout")
    public = client.get(f"/s/{mine.qr_token}").get_data(as_text=True)
    assert 'id="shop-owner"' not in public and "rectify-form" not in public
    assert rectify(client, mine.qr_token, theirs, [(photo(), "x.jpg")]).status_code == 403


def test_a_shop_owner_sees_nothing_else(client, seeded_services) -> None:
    mine = shop(seeded_services, "S00000005")
    with seeded_services.session() as s:
        sha = s.scalar(select(Attachment.sha256).limit(1))
        case_id = s.scalar(select(Case.id).order_by(Case.id).limit(1))
    sign_in(client, "shop_S00000005")
    for path in ("/tablet", "/handler", "/desk", "/scorecards", "/overview", "/shops",
                 f"/cases/{case_id}"):
        reply = client.get(path, headers={"Accept": "text/html"})
        assert reply.status_code == 403, f"{path}: {reply.status_code}"
    for path in ("/api/v1/cases", f"/api/v1/cases/{case_id}", "/geo/grids.geojson",
                 "/exports/plaques.pdf?street=449903003", "/exports/shop-scores.xlsx",
                 *([f"/media/{sha}"] if sha else [])):
        assert client.get(path).status_code == 403, path
    csrf = csrf_of(client.get(f"/s/{mine.qr_token}").get_data(as_text=True))
    inspect = client.post(f"/s/{mine.qr_token}/inspect", data={
        "csrf": csrf, "problem": "out_of_store", "photos": (io.BytesIO(photo()), "p.jpg")},
        content_type="multipart/form-data")
    assert inspect.status_code == 403
