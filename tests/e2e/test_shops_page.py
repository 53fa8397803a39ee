"""The administrators' shop registry (商户台账, /shops) in real headless Chromium, as the admin:
a registry CSV with one good and one bad row chosen through the page's real file input (first
as a dry run, then for real: the report names the bad line, the good shop is written once), a
shop's QR code revoked and reissued after the confirm step (the new public URL shown and
current in the database), and a street's plaques link downloading a PDF with the browser's
session cookie."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import func, select

from data.models import Shop, ShopToken, User
from layouts import _ids as ids
from tests.e2e.conftest import LiveApp, sign_in, wait

pytestmark = pytest.mark.e2e

ADMIN = "admin"
STREET = "449903003"  # the demo city's street with the fewest shops: a small PDF
GOOD = "浏览器导入新店"


def _registry_csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([
            ["店名", "营业执照号", "地址", "负责人", "联系电话", "经度", "纬度"],
            [GOOD, "", "新兴大道300号", "孙八", "13900005555", "112.4507", "23.0332"],
            ["坏电话小店", "", "新兴大道302号", "周九", "12345", "112.4508", "23.0332"],
        ])
    return path


def _choose(browser: WebDriver, path: Path) -> None:
    """Choose ``path`` in the page's file input (emptied first: chromedriver appends)."""
    field = browser.find_element(By.CSS_SELECTOR, f"#{ids.SHOPS_UPLOAD} input[type=file]")
    browser.execute_script("arguments[0].value = ''", field)
    field.send_keys(str(path))


def _report(browser: WebDriver, dry_run: str) -> dict[str, str]:
    """The import report once drawn for a run with ``dry_run`` ("1" or "0"): its counts."""
    body = wait(browser).until(lambda d: d.find_element(
        By.CSS_SELECTOR, f"#{ids.SHOPS_REPORT} .og-shops-report-body[data-dry-run='{dry_run}']"))
    return {key: body.find_element(By.ID, f"{ids.SHOPS_REPORT}-{key}").text
            for key in ("created", "updated", "unchanged", "failed")}


def _count(live_app: LiveApp, name: str) -> int:
    with live_app.services.session() as s:
        return s.scalar(select(func.count()).select_from(Shop).where(Shop.name == name))


def test_import_revoke_and_plaques_as_the_admin(live_app: LiveApp, browser: WebDriver,
                                                tmp_path: Path) -> None:
    sign_in(browser, live_app.base, ADMIN)
    browser.get(live_app.base + "/shops")
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                  f"#{ids.SHOPS_TABLE} tr[data-shop-code]"))
    pager = browser.find_element(By.ID, ids.SHOPS_PAGER).text
    with live_app.services.session() as s:
        assert f"共 {s.scalar(select(func.count()).select_from(Shop))} 户" in pager

    # A dry run first: the report says what would happen, nothing is written.
    upload = _registry_csv(tmp_path / "registry.csv")
    browser.find_element(By.CSS_SELECTOR, f"label[for={ids.SHOPS_DRY_RUN}]").click()
    assert browser.find_element(By.ID, ids.SHOPS_DRY_RUN).is_selected()
    _choose(browser, upload)
    assert _report(browser, "1") == {"created": "1", "updated": "0", "unchanged": "0",
                                     "failed": "1"}
    assert _count(live_app, GOOD) == 0
    # The same file again, for real.
    browser.find_element(By.CSS_SELECTOR, f"label[for={ids.SHOPS_DRY_RUN}]").click()
    assert not browser.find_element(By.ID, ids.SHOPS_DRY_RUN).is_selected()
    _choose(browser, upload)
    assert _report(browser, "0") == {"created": "1", "updated": "0", "unchanged": "0",
                                     "failed": "1"}
    bad = browser.find_element(By.CSS_SELECTOR, f"#{ids.SHOPS_REPORT} tr.og-shops-failed")
    assert bad.get_attribute("data-line") == "3"
    assert [td.text for td in bad.find_elements(By.CSS_SELECTOR, "td")][:2] == ["3", "联系电话"]
    assert "电话号码格式不对" in bad.text
    assert _count(live_app, GOOD) == 1 and _count(live_app, "坏电话小店") == 0

    # The new shop is found by the search; its QR code is revoked and reissued.
    with live_app.services.session() as s:
        shop = s.scalar(select(Shop).where(Shop.name == GOOD))
        code, old = shop.code, shop.qr_token
        admin_id = s.scalar(select(User.id).where(User.username == ADMIN))
    query = browser.find_element(By.ID, ids.SHOPS_QUERY)
    query.send_keys(GOOD, Keys.ENTER)
    wait(browser).until(lambda d: d.find_element(By.ID, ids.SHOPS_PAGER).text.endswith("共 1 户"))
    row = browser.find_element(By.CSS_SELECTOR, f"#{ids.SHOPS_TABLE} tr[data-shop-code]")
    assert row.get_attribute("data-shop-code") == code and GOOD in row.text
    row.find_element(By.CSS_SELECTOR, ".og-shops-revoke").click()
    body = wait(browser).until(lambda d: d.find_element(By.ID, ids.SHOPS_MODAL_BODY))
    wait(browser).until(lambda d: GOOD in body.text and code in body.text)
    with live_app.services.session() as s:  # the confirm step: nothing happened yet
        assert s.scalar(select(Shop.qr_token).where(Shop.code == code)) == old
    wait(browser).until(lambda d: d.find_element(By.ID, ids.SHOPS_CONFIRM).is_displayed())
    browser.find_element(By.ID, ids.SHOPS_CONFIRM).click()
    link = wait(browser).until(lambda d: d.find_element(By.ID, ids.SHOPS_NEW_URL))
    with live_app.services.session() as s:
        new = s.scalar(select(Shop.qr_token).where(Shop.code == code))
        revoked = s.get(ShopToken, old)
        assert new != old and s.get(ShopToken, new).revoked_at is None
        assert revoked.revoked_at is not None and revoked.revoked_by == admin_id
    public_url = live_app.services.settings.public_url.rstrip("/")
    assert link.text == f"{public_url}/s/{new}" == link.get_attribute("href")
    wait(browser).until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".og-shops-modal.show"))

    # A street's plaques link downloads its PDF (fetched with the browser's session cookie).
    pdf_link = wait(browser).until(lambda d: d.find_element(By.ID,
                                                            f"{ids.SHOPS_PLAQUES}-{STREET}"))
    href = pdf_link.get_attribute("href")
    assert href == f"{live_app.base}/exports/plaques.pdf?street={STREET}"
    http = requests.Session()
    for cookie in browser.get_cookies():
        http.cookies.set(cookie["name"], cookie["value"])
    reply = http.get(href, timeout=120)
    assert reply.status_code == 200, reply.text[:300]
    assert reply.headers["Content-Type"] == "application/pdf"
    assert reply.content.startswith(b"%PDF-")
    with live_app.services.session() as s:
        shops = s.scalar(select(func.count()).select_from(Shop).where(
            Shop.grid_code.like(f"{STREET}%"), Shop.active.is_(True)))
    assert reply.headers["X-Plaque-Count"] == str(shops) and shops > 0
    assert http.get(href.replace(STREET, "449999999"), timeout=30).status_code == 404
