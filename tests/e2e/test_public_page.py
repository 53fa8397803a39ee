"""A shop's public QR page on a phone (390×844) in real headless Chromium, signed out: the shop,
its duties and zone map, no sideways scrolling, a 4-star rating with a comment and the thanks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import select

from data.models import Shop, ShopRating
from shops.problems import DUTIES
from tests.e2e.conftest import VIEWPORT, LiveApp, wait

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshot-shop-page.png"
PHONE = (390, 844)


def set_viewport(driver: WebDriver, size: tuple[int, int], *, mobile: bool) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": mobile})


@pytest.fixture
def phone(browser: WebDriver, live_app: LiveApp) -> WebDriver:
    browser.get(live_app.base + "/healthz")
    browser.delete_all_cookies()  # no login: a citizen's phone
    set_viewport(browser, PHONE, mobile=True)
    yield browser
    set_viewport(browser, VIEWPORT, mobile=False)


def test_a_citizen_sees_the_shop_and_rates_it(live_app: LiveApp, phone: WebDriver,
                                              tmp_path: Path) -> None:
    with live_app.services.session() as s:
        shop = s.scalars(select(Shop).where(Shop.active.is_(True), Shop.zone.is_not(None))
                         .order_by(Shop.id).limit(1)).one()
        shop_id, token, name = shop.id, shop.qr_token, shop.name
        before = set(s.scalars(select(ShopRating.id).where(ShopRating.shop_id == shop_id)))
    phone.get(f"{live_app.base}/s/{token}")
    title = wait(phone).until(lambda d: d.find_element(By.ID, "shop-name"))
    assert title.text == name
    assert DUTIES[0][0] in phone.find_element(By.ID, "shop-duties").text
    zone = phone.find_element(By.CSS_SELECTOR, "#shop-zone polygon.zone")
    box = phone.execute_script("const b = arguments[0].getBBox(); return [b.width, b.height]",
                               zone)
    assert box[0] > 5 and box[1] > 5, f"the zone is drawn too small: {box}"
    assert phone.execute_script("return [innerWidth, innerHeight]") == list(PHONE)
    widths = phone.execute_script("return [document.documentElement.scrollWidth, innerWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    shot = phone.get_screenshot_as_png()
    (tmp_path / SCREENSHOT.name).write_bytes(shot)
    if os.environ.get("ONEGRID_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.write_bytes(shot)

    star = phone.find_element(By.CSS_SELECTOR, "label[for='rate-star-4']")
    phone.execute_script("arguments[0].scrollIntoView({block: 'center'})", star)
    star.click()
    assert phone.find_element(By.ID, "rate-star-4").is_selected()
    phone.find_element(By.ID, "rate-comment").send_keys("门前整洁，点赞")
    phone.find_element(By.ID, "rate-submit").click()
    thanks = wait(phone).until(lambda d: d.find_element(By.CSS_SELECTOR, "#rate .ok"))
    assert "感谢您的评价" in thanks.text
    assert "门前整洁，点赞" in phone.find_element(By.ID, "rate").text
    widths = phone.execute_script("return [document.documentElement.scrollWidth, innerWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways after rating: {widths}"
    with live_app.services.session() as s:
        new = s.execute(select(ShopRating.stars, ShopRating.comment).where(
            ShopRating.shop_id == shop_id, ShopRating.id.notin_(before or {0}))).all()
    assert [tuple(r) for r in new] == [(4, "门前整洁，点赞")]  # the demo's own ratings aside
