"""Shop-front responsibility (门前三包) end to end in real headless Chromium (issue 6, point 8):

* a plaque's QR code, printed to PDF, rendered by ``pdftoppm`` and read by zxing-cpp, opens
  that shop's page on a phone (390×844);
* an inspector scans a shop, records a problem with a photo → the case is dispatched to the
  shop, which gets a notice with a one-time link; the link, opened on a phone without a login,
  takes the "rectified" photo → handled; the inspector verifies it on the tablet → verified;
  the command center closes it and the public page shows how it was fixed;
* a demo shop owner signs in, lands on its shop's page, sees the notice and marks its case
  rectified with a photo → handled.

The database is checked after every step.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from data.cases import actor_for, events_of, report_case, transition
from data.models import Case, Shop, ShopNotice, UnitGrid, User
from data.notices import claim_deliveries, mark_sent
from data.shop_registry import plaques_for_street
from data.types import utcnow
from reports.plaques import build_plaques
from tests.e2e.conftest import VIEWPORT, LiveApp, sign_in, wait

pytestmark = pytest.mark.e2e

PHONE = (390, 844)
TABLET = (1024, 768)
STREET = "449903003"  # the demo city's street with the fewest shops
PASSWORD = "onegrid-demo"  # data/seed.py DEMO_PASSWORD


# -- helpers ------------------------------------------------------------------------------------
def set_viewport(driver: WebDriver, size: tuple[int, int], *, mobile: bool) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": mobile})


def signed_out(driver: WebDriver, base: str) -> None:
    """A fresh visitor: no cookies at all (no login, no device id)."""
    driver.get(base + "/healthz")
    driver.delete_all_cookies()


def jpeg(path: Path, colour: tuple[int, int, int]) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 72), colour).save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


def case_of(live_app: LiveApp, **where: Any) -> Case | None:
    with live_app.services.session() as s:
        found = s.scalars(select(Case).filter_by(**where).order_by(Case.id.desc())).first()
        if found is not None:
            s.expunge(found)
        return found


def status_of(live_app: LiveApp, case_id: int) -> str:
    with live_app.services.session() as s:
        return s.get(Case, case_id).status


def scroll_click(driver: WebDriver, element: Any) -> None:
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


@pytest.fixture
def driver(browser: WebDriver, live_app: LiveApp) -> Any:
    yield browser
    set_viewport(browser, VIEWPORT, mobile=False)


# -- a. the plaque's QR code leads to its shop ---------------------------------------------------
def test_a_plaques_qr_code_opens_that_shops_page_on_a_phone(live_app: LiveApp, driver: WebDriver,
                                                            tmp_path: Path) -> None:
    services = live_app.services
    with services.session() as s:
        sheet = plaques_for_street(s, STREET)
        first = sheet.plaques[0]
        token = s.scalar(select(Shop.qr_token).where(Shop.code == first.code))
    pdf = tmp_path / "plaques.pdf"
    pdf.write_bytes(build_plaques(sheet, public_url=live_app.base,
                                  hotline=services.settings.hotline))
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm missing: install the Debian package poppler-utils"
    subprocess.run([pdftoppm, "-r", "150", "-png", "-singlefile", "-f", "1", "-l", "1",
                    str(pdf), str(tmp_path / "page1")], check=True, timeout=120)
    with Image.open(tmp_path / "page1.png") as image:
        urls = [b.text for b in zxingcpp.read_barcodes(image)
                if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert urls == [f"{live_app.base}/s/{token}"]

    signed_out(driver, live_app.base)
    set_viewport(driver, PHONE, mobile=True)
    driver.get(urls[0])
    name = wait(driver).until(lambda d: d.find_element(By.ID, "shop-name"))
    assert name.text == first.name
    assert driver.execute_script("return [innerWidth, innerHeight]") == list(PHONE)
    assert not driver.find_elements(By.ID, "shop-inspect")  # a citizen: no inspection form


# -- b. inspector → shop (one-time link) → inspector verifies → closed --------------------------
def _shop_and_inspector(live_app: LiveApp) -> tuple[int, str, str, str]:
    """A shop with a zone, no owner account and no open case, in a grid with an inspector:
    (shop id, token, name, the inspector's username)."""
    with live_app.services.session() as s:
        rows = s.execute(
            select(Shop.id, Shop.qr_token, Shop.name, User.username)
            .join(UnitGrid, UnitGrid.code == Shop.grid_code)
            .join(User, User.id == UnitGrid.inspector_id)
            .where(Shop.active.is_(True), Shop.zone.is_not(None),
                   Shop.owner_user_id.is_(None), User.active.is_(True))
            .order_by(Shop.id).limit(200)).all()
        busy = set(s.scalars(select(Case.shop_id).where(
            Case.shop_id.is_not(None), Case.status.not_in(("closed", "declined", "void")))))
    for row in rows[20:]:
        if row.id not in busy:
            return row.id, row.qr_token, row.name, row.username
    pytest.fail("no demo shop without an open case in an inspector's grid")


def test_inspector_records_the_shop_rectifies_by_link_and_the_inspector_verifies(
        live_app: LiveApp, driver: WebDriver, tmp_path: Path) -> None:
    services = live_app.services
    base = live_app.base
    shop_id, token, name, inspector = _shop_and_inspector(live_app)
    note = f"门前堆放建材（端到端 {shop_id}）"

    # 1. The inspector scans the plaque (signed in), on a phone.
    set_viewport(driver, TABLET, mobile=False)
    sign_in(driver, base, inspector, PASSWORD)
    set_viewport(driver, PHONE, mobile=True)
    driver.get(f"{base}/s/{token}")
    form = wait(driver).until(lambda d: d.find_element(By.ID, "inspect-form"))
    assert driver.find_element(By.ID, "shop-name").text == name
    Select(form.find_element(By.ID, "inspect-problem")).select_by_value("piled_materials")
    form.find_element(By.ID, "inspect-photos").send_keys(
        str(jpeg(tmp_path / "before.jpg", (150, 90, 30))))
    form.find_element(By.ID, "inspect-note").send_keys(note)
    scroll_click(driver, form.find_element(By.ID, "inspect-submit"))
    done = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "#shop-inspect .ok"))
    case = case_of(live_app, shop_id=shop_id, description=note)
    assert case is not None, "the inspection opened no case"
    assert case.code in done.text
    assert (case.status, case.source, case.category_code) == ("dispatched", "inspector", "0105")
    assert case.deadline_at is not None
    with services.session() as s:
        notices = s.scalars(select(ShopNotice).where(ShopNotice.case_id == case.id)).all()
        assert [(n.kind, n.shop_id) for n in notices] == [("problem", shop_id)]
        assert note in notices[0].text
        assert events_of(s, case.id)[0].attachments["files"], "the photo was not attached"

    # 2. The notice goes out (as the scheduler would) with its one-time link.
    out: list[Any] = []
    with services.transaction() as s:
        while not out:  # claimed deliveries are leased: each batch is new ones
            batch = claim_deliveries(s, utcnow(), 500,
                                     secret=services.settings.resolved_secret_key(),
                                     public_url=base)
            if not batch:
                break
            out = [o for o in batch if o.payload["case_id"] == case.id]
        for o in out:
            mark_sent(s, o.delivery_id)
    assert out, "the shop's notice has no delivery"
    links = {o.payload["url"] for o in out}
    assert len(links) == 1, links  # every channel carries the same link
    link = links.pop()
    assert link.startswith(f"{base}/s/r/")

    # 3. The shop opens the link on its phone, without a login, and sends its photo.
    signed_out(driver, base)
    driver.get(link)
    problem = wait(driver).until(lambda d: d.find_element(By.ID, "shop-link-problem"))
    assert problem.text == "乱堆物料"
    assert driver.execute_script("return [innerWidth, innerHeight]") == list(PHONE)
    driver.find_element(By.ID, "shop-link-photo").send_keys(
        str(jpeg(tmp_path / "after.jpg", (40, 160, 70))))
    driver.find_element(By.ID, "shop-link-note").send_keys("建材已搬回店内")
    scroll_click(driver, driver.find_element(By.ID, "shop-link-submit"))
    thanks = wait(driver).until(lambda d: d.find_element(By.ID, "shop-link-message"))
    assert thanks.text == "已提交"
    assert status_of(live_app, case.id) == "handled"
    with services.session() as s:
        feedback = events_of(s, case.id)[-1]
        assert (feedback.action, feedback.actor_role, feedback.origin) == (
            "feedback", "shop_owner", "shop_link")
        assert feedback.note == "建材已搬回店内" and feedback.attachments["files"]
    driver.get(link)  # used up
    used = wait(driver).until(lambda d: d.find_element(By.ID, "shop-link-message"))
    assert used.text == "链接已使用"

    # 4. The inspector verifies it on the tablet.
    set_viewport(driver, TABLET, mobile=False)
    sign_in(driver, base, inspector, PASSWORD)
    driver.get(base + "/tablet")
    wait(driver).until(lambda d: d.find_elements(By.ID, "tablet-root"))
    driver.find_element(By.ID, "tablet-refresh").click()
    wait(driver).until(lambda d: d.find_element(
        By.CSS_SELECTOR, f".tablet-card[data-og-case='{case.id}']"),
        message="the handled shop case never reached the inspector's tasks").click()
    wait(driver).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, f"[data-og-action='verify_pass'][data-og-case='{case.id}']"),
        message="the verification form never showed")
    wait(driver).until(lambda d: d.find_element(By.ID, "tablet-photos-verify-input")).send_keys(
        str(jpeg(tmp_path / "checked.jpg", (30, 120, 200))))
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                 ".tablet-draft[data-status='ok']"),
                       message="the verification photo was never accepted")
    driver.find_element(By.CSS_SELECTOR, "[data-og-action='verify_pass']").click()
    wait(driver).until(lambda _: status_of(live_app, case.id) == "verified",
                       message="the case never became verified")
    with services.session() as s:
        last = events_of(s, case.id)[-1]
        assert (last.action, last.actor_role) == ("verify_pass", "inspector")

    # 5. The command center closes it; the public page shows how it was fixed.
    with services.transaction() as s:
        command = s.scalars(select(User).where(User.username == "command01")).one()
        transition(s, services.cases, case.id, "close", actor_for(s, command))
    assert status_of(live_app, case.id) == "closed"
    with services.session() as s:
        kinds = s.scalars(select(ShopNotice.kind).where(ShopNotice.case_id == case.id)
                          .order_by(ShopNotice.id)).all()
    assert kinds == ["problem", "verified", "closed"]
    signed_out(driver, base)
    set_viewport(driver, PHONE, mobile=True)
    driver.get(f"{base}/s/{token}")
    fixed = wait(driver).until(lambda d: d.find_element(By.ID, "shop-fixed"))
    assert "乱堆物料" in fixed.text and "建材已搬回店内" in fixed.text


# -- c. the shop owner signs in and marks its case rectified -------------------------------------
def test_a_shop_owner_signs_in_sees_the_notice_and_marks_the_case_rectified(
        live_app: LiveApp, driver: WebDriver, tmp_path: Path) -> None:
    services = live_app.services
    base = live_app.base
    note = "店门口摆放桌椅（商户登录）"
    with services.transaction() as s:
        shop = s.scalars(select(Shop).where(Shop.code == "S00000001")).one()
        owner = s.scalars(select(User).where(User.id == shop.owner_user_id)).one()
        assert (owner.username, owner.role) == ("shop_S00000001", "shop_owner")
        inspector = s.scalars(select(User).where(User.username == "inspector01")).one()
        case = report_case(s, services.cases, kind="event", code="0502",
                           actor=actor_for(s, inspector), source="inspector", lon=shop.geom.x,
                           lat=shop.geom.y, shop_id=shop.id, description=note, auto=True)
        assert case.status == "dispatched"
        case_id, token, shop_name, owner_id = case.id, shop.qr_token, shop.name, owner.id

    signed_out(driver, base)
    set_viewport(driver, PHONE, mobile=True)
    driver.get(base + "/login")
    wait(driver).until(lambda d: d.find_element(By.ID, "login-username")).send_keys(
        "shop_S00000001")
    driver.find_element(By.ID, "login-password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver).until(lambda d: d.find_elements(By.ID, "shop-owner"),
                       message="the shop owner did not land on its shop's page")
    assert driver.current_url == f"{base}/s/{token}"
    assert driver.find_element(By.ID, "shop-name").text == shop_name
    notices = driver.find_element(By.ID, "shop-notices")
    fresh = notices.find_elements(By.CSS_SELECTOR, ".notice.unread")
    assert fresh and note in fresh[0].text and "未读" in fresh[0].text
    (tmp_path / "shop-owner.png").write_bytes(driver.get_screenshot_as_png())
    with services.session() as s:
        assert s.scalar(select(ShopNotice.read_at).where(ShopNotice.case_id == case_id)) \
            is not None, "opening the page should mark the notice read"

    form = driver.find_element(By.ID, f"rectify-form-{case_id}")
    form.find_element(By.ID, f"rectify-photos-{case_id}").send_keys(
        str(jpeg(tmp_path / "tidy.jpg", (200, 200, 60))))
    form.find_element(By.ID, f"rectify-note-{case_id}").send_keys("桌椅已收回")
    scroll_click(driver, form.find_element(By.ID, f"rectify-submit-{case_id}"))
    ok = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "#shop-owner .ok"))
    assert "已提交整改" in ok.text
    assert not driver.find_elements(By.ID, f"rectify-form-{case_id}")
    widths = driver.execute_script("return [document.documentElement.scrollWidth, innerWidth]")
    assert widths[0] <= widths[1], f"the owner's page scrolls sideways: {widths}"
    assert status_of(live_app, case_id) == "handled"
    with services.session() as s:
        feedback = events_of(s, case_id)[-1]
        assert (feedback.action, feedback.actor_role, feedback.actor_id) == (
            "feedback", "shop_owner", owner_id)
        assert feedback.note == "桌椅已收回" and len(feedback.attachments["files"]) == 1
    driver.get(base + "/tablet")  # nothing else is the owner's
    wait(driver).until(lambda d: "无权访问" in d.find_element(By.TAG_NAME, "body").text)
