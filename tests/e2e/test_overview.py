"""The overview page (城市概览) as command-center staff use it, in real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import struct
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select
from sqlalchemy import func, select

from data.accounts import create_user
from data.models import Component, Device, Region, Shop, UnitGrid, User
from i18n import t
from tests.e2e.conftest import VIEWPORT, LiveApp, http_session, sign_in, wait

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshot-overview.png"

# The plotly graph inside dcc.Graph, its MapLibre map, and what MapLibre actually drew.
MAP_STATE = """
const g = document.querySelector('#overview-map .js-plotly-plot');
if (!g || !g.data || !g.data.length || !g._fullLayout || !g._fullLayout.map) return null;
const sub = g._fullLayout.map._subplot;
const canvas = g.querySelector('canvas.maplibregl-canvas');
if (!sub || !sub.map || !canvas || !sub.map.loaded()) return null;
const m = sub.map;
const fills = m.getStyle().layers.filter(l => l.id.endsWith('-fill')).map(l => l.id);
const drawn = fills.length ? m.queryRenderedFeatures({layers: fills}) : [];
return {
  locations: g.data[0].locations || [],
  drawn: [...new Set(drawn.map(f => String(f.id)))],
  canvas: [canvas.width, canvas.height],
};
"""

SHOW_AREA = {
    "output": "..overview-counts.children...overview-map.figure..."
              "overview-area-name.children...overview-message.children..",
    "outputs": [{"id": "overview-counts", "property": "children"},
                {"id": "overview-map", "property": "figure"},
                {"id": "overview-area-name", "property": "children"},
                {"id": "overview-message", "property": "children"}],
    "changedPropIds": ["overview-district.value"],
}


def show_area_request(district: str, level: str = "grid") -> dict[str, Any]:
    inputs = [{"id": "overview-level", "property": "value", "value": level},
              {"id": "overview-district", "property": "value", "value": district},
              {"id": "overview-street", "property": "value", "value": "all"},
              {"id": "overview-community", "property": "value", "value": "all"}]
    return {**SHOW_AREA, "inputs": inputs}


def expected_counts(live_app: LiveApp, prefix: str | None = None) -> dict[str, str]:
    """What the tiles must show, counted straight from the tables (not through data.views)."""
    like = (prefix or "") + "%"
    with live_app.services.session() as s:
        def n(stmt: Any) -> int:
            return int(s.scalar(stmt) or 0)

        inspectors = (select(func.count()).select_from(User).where(User.role == "inspector")
                      if prefix is None else
                      select(func.count(func.distinct(UnitGrid.inspector_id)))
                      .where(UnitGrid.code.like(like)))
        components = select(func.count()).select_from(Component)
        if prefix is not None:
            components = components.where(Component.grid_code.like(like))
        area = s.scalar(select(func.sum(UnitGrid.area_m2)).where(UnitGrid.code.like(like)))
        counts = {
            "grids": n(select(func.count()).where(UnitGrid.code.like(like))),
            "components": n(components),
            "shops": n(select(func.count()).select_from(Shop).where(Shop.grid_code.like(like))
                       if prefix else select(func.count()).select_from(Shop)),
            "streets": n(select(func.count()).where(Region.level == "street",
                                                    Region.code.like(like))),
            "communities": n(select(func.count()).where(Region.level == "community",
                                                        Region.code.like(like))),
            "devices": n(select(func.count()).select_from(Device).join(Component)
                         .where(Component.grid_code.like(like)) if prefix else
                         select(func.count()).select_from(Device)),
            "inspectors": n(inspectors),
        }
    shown = {k: f"{v:,}" for k, v in counts.items()}
    shown["area_km2"] = f"{round(float(area or 0) / 1e6, 2):,.2f}"
    return shown


def tiles(driver: WebDriver) -> dict[str, str]:
    """The count tiles' numbers by field (read in one go: React may re-render them)."""
    return driver.execute_script("""
        return Object.fromEntries([...document.querySelectorAll("[id^='overview-count-']")]
            .map(e => [e.id.replace('overview-count-', ''), e.innerText.trim()]));""")


def option_values(driver: WebDriver, picker_id: str) -> set[str]:
    """A picker's area codes, without 全市/全部 and dbc.Select's hidden placeholder."""
    values = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(o => o.value);",
        f"#{picker_id} option")
    return set(values) - {"", "all"}


def wait_for_map(driver: WebDriver, codes: set[str]) -> dict[str, Any]:
    """Wait until the choropleth holds exactly ``codes`` and MapLibre has drawn every one."""
    state: dict[str, Any] = {}

    def drawn(d: WebDriver) -> bool:
        state.clear()
        state.update(d.execute_script(MAP_STATE) or {})
        return set(state.get("locations", ())) == codes and set(state["drawn"]) == codes

    try:
        wait(driver).until(drawn)
    except Exception:
        got = {k: (len(v) if isinstance(v, list) and k != "canvas" else v)
               for k, v in state.items()}
        pytest.fail(f"map never showed the {len(codes)} expected areas; last state: {got}")
    return state


def codes_at(live_app: LiveApp, level: str, prefix: str = "") -> set[str]:
    with live_app.services.session() as s:
        if level == "grid":
            stmt = select(UnitGrid.code).where(UnitGrid.code.like(prefix + "%"))
        else:
            stmt = select(Region.code).where(Region.level == level,
                                             Region.code.like(prefix + "%"))
        return set(s.scalars(stmt))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def open_overview(browser: WebDriver, base: str) -> None:
    """Sign in as command-center staff (home: the big screen), then open the overview."""
    sign_in(browser, base)
    browser.get(base + "/overview")
    wait(browser).until(lambda d: d.find_elements(By.ID, "overview-map")
                        and d.find_elements(By.ID, "shell-lang"))


def test_signed_out_visitor_is_sent_to_login(live_app: LiveApp, browser: WebDriver) -> None:
    browser.delete_all_cookies()
    browser.get(live_app.base + "/")
    assert browser.current_url.startswith(live_app.base + "/login?next=/")
    assert browser.find_element(By.ID, "login-username").is_displayed()
    assert not browser.find_elements(By.ID, "overview-map")


def test_sign_in_draws_every_grid_on_the_map(live_app: LiveApp, browser: WebDriver,
                                             tmp_path: Path) -> None:
    open_overview(browser, live_app.base)
    grids = codes_at(live_app, "grid")
    assert len(grids) >= 10, "the demo city should have its unit grids"
    state = wait_for_map(browser, grids)
    assert state["canvas"][0] > 800 and state["canvas"][1] > 600, "the map should be big"
    assert browser.find_element(By.ID, "overview-area-name").text  # the city's name
    assert browser.execute_script("return [innerWidth, innerHeight]") == list(VIEWPORT)
    shot = browser.get_screenshot_as_png()
    assert png_size(shot) == VIEWPORT
    (tmp_path / SCREENSHOT.name).write_bytes(shot)
    if os.environ.get("ONEGRID_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.write_bytes(shot)


def test_count_tiles_show_what_the_database_holds(live_app: LiveApp,
                                                  browser: WebDriver) -> None:
    open_overview(browser, live_app.base)
    expected = expected_counts(live_app)
    wait(browser).until(lambda d: tiles(d) == expected,
                        message=f"tiles {tiles(browser)} != database {expected}")
    cramped = browser.execute_script("""
        return [...document.querySelectorAll("[id^='overview-count-']")].filter(e =>
            e.scrollWidth > e.clientWidth
            || e.clientHeight > 1.5 * parseFloat(getComputedStyle(e).lineHeight))
          .map(e => e.id);""")
    assert not cramped, f"numbers that do not fit on one line of their tile: {cramped}"


def test_street_level_shows_streets(live_app: LiveApp, browser: WebDriver) -> None:
    open_overview(browser, live_app.base)
    wait_for_map(browser, codes_at(live_app, "grid"))
    label = t("level.street", "zh-CN")
    browser.find_element(By.XPATH, f"//*[@id='overview-level']//label[.='{label}']").click()
    streets = codes_at(live_app, "street")
    assert streets and all(len(code) == 9 for code in streets)
    wait_for_map(browser, streets)


def test_picking_a_district_narrows_counts_and_map(live_app: LiveApp,
                                                  browser: WebDriver) -> None:
    open_overview(browser, live_app.base)
    wait_for_map(browser, codes_at(live_app, "grid"))
    district = Select(browser.find_element(By.ID, "overview-district"))
    assert district.first_selected_option.text == t("overview.all_city", "zh-CN")
    code = min(option_values(browser, "overview-district"))
    district.select_by_value(code)
    expected = expected_counts(live_app, code)
    whole_city = expected_counts(live_app)
    assert int(expected["grids"].replace(",", "")) < int(whole_city["grids"].replace(",", ""))
    wait(browser).until(lambda d: tiles(d) == expected,
                        message=f"tiles {tiles(browser)} != database {expected} for {code}")
    wait_for_map(browser, codes_at(live_app, "grid", code))
    listed = codes_at(live_app, "street", code)
    wait(browser).until(lambda d: option_values(d, "overview-street") == listed,
                        message=f"the street picker should list the streets of {code}")


def test_english_switch_shows_english_labels(live_app: LiveApp, browser: WebDriver) -> None:
    open_overview(browser, live_app.base)
    browser.find_element(By.ID, "shell-lang").click()
    try:
        wait(browser).until(
            lambda d: d.find_element(By.ID, "overview-level").text.split("\n")[-1]
            == t("level.grid", "en"), message="level switch never turned English")
        nav = browser.find_element(By.ID, "shell-nav").text
        assert t("nav.overview", "en") in nav and not re.search("[\u4e00-\u9fff]", nav)
        assert browser.find_element(By.ID, "shell-logout").text == t("nav.logout", "en")
        wait(browser).until(lambda d: t("count.grids", "en") in d.find_element(
            By.ID, "overview-counts").text, message="count tiles never turned English")
        assert "单元网格" not in browser.find_element(By.CLASS_NAME, "og-panel").text
    finally:
        browser.get(live_app.base + "/lang/zh-CN?next=/overview")


def test_callback_without_session_is_refused(live_app: LiveApp) -> None:
    request = urllib.request.Request(
        live_app.base + "/_dash-update-component", method="POST",
        data=json.dumps(show_area_request("all")).encode(),
        headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


def test_shop_owner_may_not_see_the_page_or_fire_its_callbacks(live_app: LiveApp) -> None:
    with live_app.services.transaction() as s:
        if s.scalar(select(User.id).where(User.username == "e2e_shop")) is None:
            create_user(s, "e2e_shop", "shop_owner", "shop-password-1")
    session = http_session(live_app.base, "e2e_shop", "shop-password-1")
    page = session.get(live_app.base + "/", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 403
    reply = session.post(live_app.base + "/_dash-update-component",
                         json=show_area_request("all"), timeout=10)
    assert reply.status_code == 403
    assert "overview-map" not in reply.text


def test_malformed_area_code_gets_a_message_not_a_crash(live_app: LiveApp) -> None:
    session = http_session(live_app.base)
    reply = session.post(live_app.base + "/_dash-update-component",
                         json=show_area_request("12ab"), timeout=10)
    assert reply.status_code == 200
    response = reply.json()["response"]
    assert set(response) == {"overview-message"}  # counts and map left as they were
    message = json.dumps(response["overview-message"], ensure_ascii=False)
    assert t("error.bad_selection", "zh-CN") in message and "12ab" in message


def test_page_loads_nothing_from_outside(live_app: LiveApp, browser: WebDriver) -> None:
    open_overview(browser, live_app.base)
    browser.get_log("performance")  # drop what the sign-in did
    browser.get_log("browser")
    browser.refresh()
    wait_for_map(browser, codes_at(live_app, "grid"))
    urls = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.add(message["params"]["request"]["url"])
    assert urls, "no requests recorded"
    outside = {u for u in urls if urlsplit(u).scheme in ("http", "https", "ws", "wss")
               and not u.startswith(live_app.base + "/")}
    assert not outside, f"the page fetched from outside: {sorted(outside)}"
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"browser console errors: {errors}"
