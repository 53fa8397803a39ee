"""The inspector tablet (网格员平板) at 1024×768 in real headless Chromium: my tasks with their
traffic light, photos checked by the server, verify pass / fail through the outbox — also
offline, across a reload — and a new problem reported at a grid's centre."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select
from sqlalchemy import func, select

from data.cases import SYSTEM, actor_for, report_case, transition
from data.models import Case, CaseEvent, UnitGrid, User
from data.uploads import store_upload
from i18n import t
from tests.e2e.conftest import VIEWPORT, LiveApp, http_session, sign_in, wait

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshot-tablet.png"
TABLET = (1024, 768)
INSPECTOR = "inspector01"
PASSWORD = "onegrid-demo"  # data/seed.py DEMO_PASSWORD

# Every visible touch target (buttons, links, inputs, selects, labels of inputs): its size.
TARGETS = """
return [...document.querySelectorAll(
    'button, a[href], input:not([type=hidden]), select, textarea, [role=button]')]
  .filter(e => { const r = e.getBoundingClientRect(); const st = getComputedStyle(e);
                 return r.width > 0 && r.height > 0 && st.visibility !== 'hidden'; })
  .map(e => { const r = e.getBoundingClientRect();
              return {id: e.id, tag: e.tagName, text: (e.innerText || '').slice(0, 30),
                      w: Math.round(r.width), h: Math.round(r.height)}; });
"""

# The outbox as the page keeps it (IndexedDB 'onegrid-tablet', else localStorage), without
# the photo blobs: what the tests compare.
OUTBOX = """
const done = arguments[arguments.length - 1];
const slim = records => records.map(r => ({
  id: r.id, kind: r.kind, caseId: r.caseId, status: r.status || 'pending',
  action: r.action || (r.body && r.body.action) || null, label: r.label || null}));
const fromLocal = () => {
  try { return JSON.parse(localStorage.getItem('onegrid-tablet-outbox') || '[]'); }
  catch (e) { return []; }
};
if (!window.indexedDB) { done(slim(fromLocal())); return; }
const open = indexedDB.open('onegrid-tablet', 1);
open.onupgradeneeded = () => open.result.createObjectStore('outbox', {keyPath: 'id'});
open.onerror = () => done(slim(fromLocal()));
open.onsuccess = () => {
  const db = open.result;
  const all = db.transaction('outbox', 'readonly').objectStore('outbox').getAll();
  all.onsuccess = () => { done(slim(all.result.concat(fromLocal()))); db.close(); };
  all.onerror = () => { done(slim(fromLocal())); db.close(); };
};
"""


@dataclass(frozen=True)
class Beat:
    """The inspector's grid and a photo already stored (the handler's feedback evidence)."""

    grid: str
    grid_name: str
    photo: str


def tiny_jpeg(colour: tuple[int, int, int] = (180, 60, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def beat(live_app: LiveApp) -> Beat:
    services = live_app.services
    with services.transaction() as s:
        user = s.scalar(select(User).where(User.username == INSPECTOR))
        grid = s.scalar(select(UnitGrid).where(UnitGrid.inspector_id == user.id)
                        .order_by(UnitGrid.code).limit(1))
        stored = store_upload(s, services.settings.media_dir, tiny_jpeg((20, 90, 160)),
                              uploaded_by=None)
        return Beat(grid.code, grid.name, stored.sha256)


def handled_case(live_app: LiveApp, beat: Beat, title: str) -> int:
    """A case taken to ``handled`` in the inspector's grid through the workflow."""
    services = live_app.services
    with services.transaction() as s:
        case = report_case(s, services.cases, kind="event", code="0503", actor=SYSTEM,
                           source="camera", grid_code=beat.grid, auto=True, title=title)
        handler = s.scalar(select(User).where(User.role == "handler",
                                              User.department_id == case.department_id))
        actor = actor_for(s, handler)
        transition(s, services.cases, case, "accept", actor)
        transition(s, services.cases, case, "feedback", actor, note="已清理",
                   attachments=[{"sha256": beat.photo, "mime": "image/jpeg"}])
        return case.id


def status_of(live_app: LiveApp, case_id: int) -> str:
    with live_app.services.session() as s:
        return s.get(Case, case_id).status


def count_events(live_app: LiveApp, case_id: int, action: str) -> int:
    with live_app.services.session() as s:
        return s.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case_id, CaseEvent.action == action)) or 0


def set_viewport(driver: WebDriver, size: tuple[int, int]) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False})


@pytest.fixture
def tablet(browser: WebDriver, live_app: LiveApp) -> Any:
    """The browser at 1024×768 signed in as the inspector (home page: the tablet)."""
    set_viewport(browser, TABLET)
    browser.execute_cdp_cmd("Network.enable", {})
    sign_in(browser, live_app.base, INSPECTOR, PASSWORD)
    browser.execute_script("indexedDB.deleteDatabase('onegrid-tablet')")
    browser.get(live_app.base + "/tablet")
    wait(browser).until(lambda d: d.find_elements(By.ID, "tablet-root"))
    yield browser
    set_network(browser, offline=False)
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    set_viewport(browser, VIEWPORT)


def set_network(driver: WebDriver, *, offline: bool) -> None:
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


def card(driver: WebDriver, case_id: int) -> Any:
    return wait(driver).until(lambda d: d.find_element(
        By.CSS_SELECTOR, f".tablet-card[data-og-case='{case_id}']"),
        message=f"case {case_id} never listed in my tasks")


def open_task(driver: WebDriver, case_id: int) -> None:
    card(driver, case_id).click()
    wait(driver).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, f"[data-og-action='verify_pass'][data-og-case='{case_id}']"),
        message=f"the verification form of case {case_id} never showed")
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                 "#tablet-photos-verify-input"))


def badge(driver: WebDriver) -> str:
    return driver.find_element(By.ID, "tablet-outbox-badge").text.strip()


def outbox(driver: WebDriver) -> list[dict[str, Any]]:
    records = driver.execute_async_script(OUTBOX)
    assert isinstance(records, list), records
    return records


def choose_file(driver: WebDriver, form: str, path: Path) -> None:
    driver.find_element(By.ID, f"tablet-photos-{form}-input").send_keys(str(path))


def test_my_task_is_listed_with_its_light_and_every_target_is_big(
        live_app: LiveApp, beat: Beat, tablet: WebDriver, tmp_path: Path) -> None:
    case_id = handled_case(live_app, beat, "人行道占道经营（平板测试）")
    tablet.find_element(By.ID, "tablet-refresh").click()
    item = card(tablet, case_id)
    assert item.get_attribute("data-light") in ("green", "yellow", "red")
    light = item.find_element(By.CSS_SELECTOR, ".tablet-light").text
    assert light in {t(f"tablet.light_{k}", "zh-CN") for k in ("green", "yellow", "red")}
    assert t("tablet.task_verify", "zh-CN") in item.text
    assert "人行道占道经营（平板测试）" in item.text
    open_task(tablet, case_id)
    detail = tablet.find_element(By.ID, "tablet-detail")
    wait(tablet).until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                 f".tablet-photo img[src='/media/{beat.photo}']"))
    loaded = tablet.execute_script(
        "const i = document.querySelector(`.tablet-photo img`); return i.complete && "
        "i.naturalWidth")
    assert loaded == 64, "the evidence photo should load from /media/<sha>"
    assert t("tablet.history", "zh-CN") in detail.text and "已清理" in detail.text
    wait(tablet).until(lambda d: d.execute_script(
        "const g = document.querySelector('#tablet-map .js-plotly-plot');"
        "return !!(g && g._fullLayout && g._fullLayout.map && g._fullLayout.map._subplot"
        " && g._fullLayout.map._subplot.map.loaded())"), message="the case map never drew")
    assert tablet.execute_script("return [innerWidth, innerHeight]") == list(TABLET)
    small = [b for b in tablet.execute_script(TARGETS) if b["h"] < 44 or b["w"] < 44]
    assert not small, f"touch targets under 44 px on my tasks: {small}"
    shot = tablet.get_screenshot_as_png()
    (tmp_path / SCREENSHOT.name).write_bytes(shot)
    if os.environ.get("ONEGRID_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.write_bytes(shot)
    tablet.find_element(By.ID, "tablet-tab-report").click()
    wait(tablet).until(lambda d: d.find_element(By.ID, "tablet-report").is_displayed())
    small = [b for b in tablet.execute_script(TARGETS) if b["h"] < 44 or b["w"] < 44]
    assert not small, f"touch targets under 44 px on the report form: {small}"
    (tmp_path / "tablet-report.png").write_bytes(tablet.get_screenshot_as_png())


def test_verify_pass_with_a_photo_is_recorded_once(live_app: LiveApp, beat: Beat,
                                                   tablet: WebDriver, tmp_path: Path) -> None:
    case_id = handled_case(live_app, beat, "垃圾满溢（核实通过）")
    tablet.find_element(By.ID, "tablet-refresh").click()
    open_task(tablet, case_id)
    photo = tmp_path / "site.jpg"
    photo.write_bytes(tiny_jpeg((30, 160, 60)))
    choose_file(tablet, "verify", photo)
    wait(tablet).until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                 ".tablet-draft[data-status='ok']"),
                       message="the photo was never accepted by the server")
    tablet.find_element(By.CSS_SELECTOR, "[data-og-action='verify_pass']").click()
    wait(tablet).until(lambda _: status_of(live_app, case_id) == "verified",
                       message="the case never became verified")
    wait(tablet).until(lambda d: not outbox(d) and badge(d) == "0",
                       message="the outbox should be empty once the server answered")
    assert count_events(live_app, case_id, "verify_pass") == 1
    import hashlib

    sha = hashlib.sha256(photo.read_bytes()).hexdigest()
    with live_app.services.session() as s:
        event = s.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                 CaseEvent.action == "verify_pass"))
        assert event.origin == "tablet" and event.data["request_id"].startswith("tab-")
        assert [f["sha256"] for f in event.attachments["files"]] == [sha]
        assert event.actor_role == "inspector"
    wait(tablet).until(lambda d: not d.find_elements(
        By.CSS_SELECTOR, f".tablet-card[data-og-case='{case_id}']"),
        message="a verified case should leave my tasks")


def test_a_text_file_named_jpg_is_refused_with_a_clear_message(
        live_app: LiveApp, beat: Beat, tablet: WebDriver, tmp_path: Path) -> None:
    tablet.find_element(By.ID, "tablet-tab-report").click()
    fake = tmp_path / "photo.jpg"
    fake.write_text("this is not a photo at all\n")
    choose_file(tablet, "report", fake)
    bad = wait(tablet).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, ".tablet-draft[data-status='bad']"),
        message="the bad file was never refused")[0]
    assert t("tablet.js.photo_bad", "zh-CN") in bad.text
    assert "JPEG" in bad.text and "PNG" in bad.text, bad.text


def test_a_new_problem_is_reported_once_at_a_grid_centre(live_app: LiveApp, beat: Beat,
                                                       tablet: WebDriver,
                                                       tmp_path: Path) -> None:
    tablet.find_element(By.ID, "tablet-tab-report").click()
    # Tapping the map picks a point there.
    canvas = wait(tablet).until(lambda d: d.find_element(
        By.CSS_SELECTOR, "#tablet-report-map canvas.maplibregl-canvas"))
    wait(tablet).until(lambda d: d.execute_script(
        "const g = document.querySelector('#tablet-report-map .js-plotly-plot');"
        "return !!(g && g._fullLayout.map._subplot.map._ogBound)"))
    canvas.click()
    point = tablet.find_element(By.ID, "tablet-report-point")
    wait(tablet).until(lambda _: point.text.startswith(t("tablet.js.map", "zh-CN")),
                       message="a tap on the map should set the location")
    assert tablet.execute_script(
        "return document.querySelector('#tablet-report-map .js-plotly-plot').data[1].lon"
        ".length") == 1, "the chosen point should be drawn"
    Select(tablet.find_element(By.ID, "tablet-report-category")).select_by_value("event:0105")
    Select(tablet.find_element(By.ID, "tablet-report-grid")).select_by_visible_text(
        f"{beat.grid_name} ({beat.grid})")
    wait(tablet).until(lambda _: point.text.startswith(t("tablet.js.grid", "zh-CN")))
    tablet.find_element(By.ID, "tablet-report-note").send_keys("路边乱堆建筑材料")
    photo = tmp_path / "pile.jpg"
    photo.write_bytes(tiny_jpeg((120, 120, 30)))
    choose_file(tablet, "report", photo)
    wait(tablet).until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                 ".tablet-draft[data-status='ok']"))
    tablet.find_element(By.ID, "tablet-report-submit").click()

    def reported() -> list[Case]:
        with live_app.services.session() as s:
            return list(s.scalars(select(Case).where(Case.description == "路边乱堆建筑材料")))

    wait(tablet).until(lambda _: reported(), message="the report never reached the server")
    wait(tablet).until(lambda d: not outbox(d), message="the report stayed in the outbox")
    cases = reported()
    assert len(cases) == 1
    case = cases[0]
    assert (case.category_kind, case.category_code, case.grid_code) == ("event", "0105",
                                                                        beat.grid)
    assert case.source == "inspector" and case.external_id.startswith("tab-")
    with live_app.services.session() as s:
        first = s.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                 CaseEvent.action == "report"))
        assert len(first.attachments["files"]) == 1 and first.origin == "tablet"
    tablet.find_element(By.ID, "tablet-tab-tasks").click()
    card(tablet, case.id)  # my own report in progress is one of my tasks


def test_offline_verify_fail_waits_survives_a_reload_and_is_sent_once(
        live_app: LiveApp, beat: Beat, tablet: WebDriver) -> None:
    case_id = handled_case(live_app, beat, "井盖破损（离线核实）")
    tablet.find_element(By.ID, "tablet-refresh").click()
    open_task(tablet, case_id)
    set_network(tablet, offline=True)
    wait(tablet).until(lambda d: d.find_element(By.ID, "tablet-network").text
                       == t("tablet.offline", "zh-CN"))
    tablet.find_element(By.ID, "tablet-verify-reason").send_keys("井盖仍然破损")
    tablet.find_element(By.CSS_SELECTOR, "[data-og-action='verify_fail']").click()
    wait(tablet).until(lambda d: badge(d) == "1", message="the outbox badge should show 1")
    records = outbox(tablet)
    assert [(r["action"], r["status"], r["caseId"]) for r in records] == [
        ("verify_fail", "pending", str(case_id))]
    assert status_of(live_app, case_id) == "handled"
    assert count_events(live_app, case_id, "verify_fail") == 0
    # Back on the network but the API still unreachable: reload the page; the action waits.
    tablet.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/api/v1/*"]})
    set_network(tablet, offline=False)
    tablet.refresh()
    wait(tablet).until(lambda d: d.find_elements(By.ID, "tablet-root"))
    wait(tablet).until(lambda d: badge(d) == "1", message="the outbox did not survive a reload")
    assert [r["id"] for r in outbox(tablet)] == [records[0]["id"]]
    assert status_of(live_app, case_id) == "handled"
    # The API comes back (the connection drops and returns): sent once, applied once.
    set_network(tablet, offline=True)
    tablet.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    set_network(tablet, offline=False)
    wait(tablet).until(lambda _: status_of(live_app, case_id) == "accepted",
                       message="the queued verify_fail never reached the server")
    wait(tablet).until(lambda d: badge(d) == "0" and not outbox(d))
    assert count_events(live_app, case_id, "verify_fail") == 1
    with live_app.services.session() as s:
        case = s.get(Case, case_id)
        assert case.rework_count == 1
        event = s.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                 CaseEvent.action == "verify_fail"))
        assert event.data["reason"] == "井盖仍然破损"
        assert event.data["request_id"] == records[0]["id"]


def test_a_refused_action_is_shown_until_dismissed(live_app: LiveApp, beat: Beat,
                                                   tablet: WebDriver) -> None:
    case_id = handled_case(live_app, beat, "广告牌倾斜（已被他人核实）")
    tablet.find_element(By.ID, "tablet-refresh").click()
    open_task(tablet, case_id)
    with live_app.services.transaction() as s:  # someone else verifies it first
        command = s.scalar(select(User).where(User.username == "command01"))
        transition(s, live_app.services.cases, case_id, "verify_pass", actor_for(s, command))
    tablet.find_element(By.CSS_SELECTOR, "[data-og-action='verify_pass']").click()
    shown = wait(tablet).until(lambda d: d.execute_script(
        "const a = document.querySelector('[data-og-refused]'); return a && a.innerText"),
        message="the refusal was never shown")
    assert "核实" in shown and "不能" in shown, shown  # the workflow's message, in Chinese
    assert badge(tablet) == "0"
    assert [r["status"] for r in outbox(tablet)] == ["refused"]
    tablet.refresh()
    wait(tablet).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-og-refused]"),
                       message="a refusal must stay visible until dismissed")
    tablet.find_element(By.CSS_SELECTOR, "[data-og-dismiss]").click()
    wait(tablet).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-og-refused]"))
    assert outbox(tablet) == []
    assert count_events(live_app, case_id, "verify_pass") == 1


def test_english_switch(live_app: LiveApp, beat: Beat, tablet: WebDriver) -> None:
    tablet.get(live_app.base + "/lang/en?next=/tablet")
    try:
        tab = wait(tablet).until(lambda d: d.find_element(By.ID, "tablet-tab-report"))
        assert tab.text == t("tablet.tab_report", "en")
        bar = tablet.find_element(By.CSS_SELECTOR, ".tablet-bar").text
        assert t("tablet.outbox", "en") in bar and "待发送" not in bar
        texts = tablet.find_element(By.ID, "tablet-root").get_attribute("data-og-i18n")
        assert t("tablet.js.queued", "en") in texts
    finally:
        tablet.get(live_app.base + "/lang/zh-CN?next=/tablet")


TASKS_CALLBACK = {
    "output": "tablet-tasks.children",
    "outputs": {"id": "tablet-tasks", "property": "children"},
    "inputs": [{"id": "tablet-refresh", "property": "n_clicks", "value": 1},
               {"id": "tablet-interval", "property": "n_intervals", "value": 0}],
    "state": [{"id": "tablet-selected", "property": "data", "value": None}],
    "changedPropIds": ["tablet-refresh.n_clicks"],
}


def test_other_roles_may_not_see_the_tablet_or_fire_its_callbacks(live_app: LiveApp) -> None:
    for user in ("handler_d01", "command01"):
        session = http_session(live_app.base, user)
        page = session.get(live_app.base + "/tablet", headers={"Accept": "text/html"},
                           timeout=10)
        assert page.status_code == 403, user
        reply = session.post(live_app.base + "/_dash-update-component", json=TASKS_CALLBACK,
                             timeout=10)
        assert reply.status_code == 403, user
    own = http_session(live_app.base, INSPECTOR)
    reply = own.post(live_app.base + "/_dash-update-component", json=TASKS_CALLBACK,
                     timeout=10)
    assert reply.status_code == 200
