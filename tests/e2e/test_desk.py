"""The registration and dispatch desk (受理派遣台) as command-center staff use it, in real
headless Chromium: register, decline with a reason, merge, dispatch to the department the
routing table pre-fills, supervise — each checked in the database — and the page refused to
other roles, by GET and by a callback fired by hand."""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from data.cases import SYSTEM, events_of, report_case
from data.ingest import save_snapshot
from data.models import Attachment, Case, Component, Department, Device, Reading, UnitGrid, User
from i18n import t
from tests.e2e.conftest import LiveApp, http_session, sign_in, wait

pytestmark = pytest.mark.e2e

PAST = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)


@dataclass
class DeskCases:
    register: int
    decline: int
    merge: int
    merge_target: int
    sensor: int
    overdue: int
    photo_sha: str
    grid: str


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(scope="module")
def desk_cases(live_app: LiveApp) -> DeskCases:
    services = live_app.services
    cfg = services.cases
    photo = _jpeg((200, 40, 40))
    sha = hashlib.sha256(photo).hexdigest()
    save_snapshot(services.settings.media_dir, photo, sha)
    now = datetime.now(UTC)
    with services.transaction() as s:
        s.add(Attachment(sha256=sha, mime="image/jpeg", size=len(photo)))
        grid = s.scalar(select(UnitGrid).where(UnitGrid.code.like("449902%"))
                        .order_by(UnitGrid.code).limit(1))
        p = grid.geom.representative_point()

        def at(east_m: float) -> tuple[float, float]:
            return p.x + east_m / (111_320 * math.cos(math.radians(p.y))), p.y

        def camera(east_m: float, minutes_ago: float, **kw) -> int:
            lon, lat = at(east_m)
            case = report_case(s, cfg, kind="event", code="0503", actor=SYSTEM,
                               source="camera", lon=lon, lat=lat,
                               now=now - timedelta(minutes=minutes_ago), **kw)
            s.flush()
            return case.id

        register = camera(0, 50, attachments=[{"sha256": sha, "mime": "image/jpeg"}],
                          description="非机动车占用盲道")
        decline = camera(400, 40)
        target = camera(800, 30)
        merge = camera(815, 20)  # 15 m from the target: within 0503's 30 m
        component, device = s.execute(
            select(Component.id, Device.id).join(Device, Device.component_id == Component.id)
            .where(Component.type_code == "0101").order_by(Component.id).limit(1)).one()
        trigger = now - timedelta(minutes=30)
        for i in range(12):
            s.add(Reading(device_id=device, msg_id=f"desk-e2e-{i}", component_id=component,
                          ts=trigger + timedelta(minutes=20 * (i - 8)),
                          metrics={"tilt_deg": 1.0 + (20 if i >= 8 else i * 0.2),
                                   "water_level_cm": 2}))
        sensor = report_case(s, cfg, kind="component", code="0101", actor=SYSTEM,
                             source="sensor", component_id=component, rule_key="0101.tilt",
                             data={"ts": trigger.isoformat()}, now=now - timedelta(minutes=10))
        s.flush()
        lon, lat = at(1500)
        overdue = report_case(s, cfg, kind="event", code="0503", actor=SYSTEM, source="camera",
                              lon=lon, lat=lat, auto=True, now=PAST)
        s.flush()
        return DeskCases(register, decline, merge, target, sensor.id, overdue.id, sha,
                         grid.code)


def open_desk(browser: WebDriver, live_app: LiveApp, username: str = "command01") -> None:
    sign_in(browser, live_app.base, username)
    browser.get(live_app.base + "/desk")
    wait(browser).until(ec.presence_of_element_located((By.ID, "desk-list")))


def pick_case(browser: WebDriver, case_id: int) -> None:
    """Click the case in the list and wait until its evidence and actions are shown."""
    item = wait(browser).until(ec.presence_of_element_located(
        (By.CSS_SELECTOR, f"#desk-list [data-case-id='{case_id}']")))
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", item)
    wait(browser).until(ec.element_to_be_clickable(
        (By.CSS_SELECTOR, f"#desk-list [data-case-id='{case_id}']"))).click()
    wait(browser).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, f"#desk-detail [data-case-id='{case_id}']"))
    wait(browser).until(lambda d: d.find_element(By.ID, "desk-actions").is_displayed())


def show_list(browser: WebDriver, kind: str) -> None:
    label = t(f"desk.list.{kind}", "zh-CN")
    browser.find_element(
        By.XPATH, f"//*[@id='desk-list-kind']//label[starts-with(normalize-space(.), "
                  f"'{label}')]").click()


def click_action(browser: WebDriver, button_id: str) -> str:
    """Click an action once it is enabled; wait for its result; return the message."""
    before = browser.execute_script("return document.querySelector('#desk-message') ? "
                                    "document.querySelector('#desk-message').innerText : ''")
    wait(browser).until(ec.element_to_be_clickable((By.ID, button_id))).click()
    wait(browser).until(lambda d: d.find_element(By.ID, "desk-message").text not in ("", before))
    return browser.find_element(By.ID, "desk-message").text


def last_events(live_app: LiveApp, case_id: int, n: int = 1) -> list:
    with live_app.services.session() as s:
        return events_of(s, case_id)[-n:]


def user_id(live_app: LiveApp, username: str) -> int:
    with live_app.services.session() as s:
        return s.scalar(select(User.id).where(User.username == username))


def test_queue_shows_evidence_then_register_and_dispatch(live_app: LiveApp, browser: WebDriver,
                                                         desk_cases: DeskCases,
                                                         tmp_path: Path) -> None:
    open_desk(browser, live_app)
    assert browser.find_element(By.CLASS_NAME, "og-page-title").text == "受理派遣台"
    # oldest first: the register case was reported first of the queued ones
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#desk-list .og-desk-item"))
    order = [int(e.get_attribute("data-case-id")) for e in
             browser.find_elements(By.CSS_SELECTOR, "#desk-list .og-desk-item")]
    queued = [desk_cases.register, desk_cases.decline, desk_cases.merge_target,
              desk_cases.merge, desk_cases.sensor]
    assert [i for i in order if i in queued] == queued
    pick_case(browser, desk_cases.register)
    # the snapshot is shown and actually loads from /media/<sha256>
    wait(browser).until(lambda d: d.execute_script(
        "const i = document.querySelector('#desk-photos img');"
        "return i && i.complete && i.naturalWidth === 64;"))
    link = browser.find_element(By.CSS_SELECTOR, "#desk-photos a").get_attribute("href")
    assert link.endswith(f"/media/{desk_cases.photo_sha}")
    # the map draws the grid and the point
    wait(browser).until(lambda d: d.execute_script(
        "const g = document.querySelector('#desk-map .js-plotly-plot');"
        "return !!(g && g.data && g.data.length >= 2 && g._fullLayout.map);"))
    assert browser.find_element(By.ID, "desk-register").is_enabled()
    assert not browser.find_element(By.ID, "desk-dispatch").is_enabled()  # not registered yet
    browser.save_screenshot(str(tmp_path / "desk.png"))  # to look at (pytest --basetemp)

    message = click_action(browser, "desk-register")
    assert "已立案" in message
    (event,) = last_events(live_app, desk_cases.register)
    assert (event.action, event.to_state, event.actor_id, event.actor_role, event.origin) == \
        ("register", "registered", user_id(live_app, "command01"), "command", "desk")

    # now registered: dispatch is offered, pre-filled by the routing table (0503 → D05)
    wait(browser).until(lambda d: d.find_element(By.ID, "desk-dispatch").is_enabled())
    department = Select(browser.find_element(By.ID, "desk-department"))
    assert department.first_selected_option.get_attribute("value") == "D05"
    assert "建议" in department.first_selected_option.text
    message = click_action(browser, "desk-dispatch")
    assert "已派遣" in message
    (event,) = last_events(live_app, desk_cases.register)
    with live_app.services.session() as s:
        d05 = s.scalar(select(Department.id).where(Department.code == "D05"))
        case = s.get(Case, desk_cases.register)
        assert (case.status, case.department_id) == ("dispatched", d05)
    assert (event.action, event.data["department_id"], event.actor_id, event.origin) == \
        ("dispatch", d05, user_id(live_app, "command01"), "desk")
    # the list refreshed: the case left the queue
    wait(browser).until(lambda d: not d.find_elements(
        By.CSS_SELECTOR, f"#desk-list [data-case-id='{desk_cases.register}']"))


def test_decline_needs_a_reason_and_records_it(live_app: LiveApp, browser: WebDriver,
                                               desk_cases: DeskCases) -> None:
    open_desk(browser, live_app)
    pick_case(browser, desk_cases.decline)
    message = click_action(browser, "desk-decline")  # no reason chosen: refused, says why
    assert "操作未执行" in message and "须选择原因" in message
    with live_app.services.session() as s:
        assert s.get(Case, desk_cases.decline).status == "reported"
    Select(browser.find_element(By.ID, "desk-decline-reason")).select_by_value("invalid")
    browser.find_element(By.ID, "desk-note").send_keys("抓拍画面为停车场内部")
    message = click_action(browser, "desk-decline")
    assert "已不予立案" in message
    (event,) = last_events(live_app, desk_cases.decline)
    assert (event.action, event.to_state, event.data["reason"], event.note, event.actor_id) == \
        ("decline", "declined", "invalid", "抓拍画面为停车场内部",
         user_id(live_app, "command01"))
    with live_app.services.session() as s:
        assert s.get(Case, desk_cases.decline).decline_reason == "invalid"


def test_merge_into_a_similar_case_nearby(live_app: LiveApp, browser: WebDriver,
                                          desk_cases: DeskCases) -> None:
    open_desk(browser, live_app)
    pick_case(browser, desk_cases.merge)
    similar = browser.find_elements(By.CSS_SELECTOR, "#desk-similar [data-case-id]")
    assert desk_cases.merge_target in [int(e.get_attribute("data-case-id")) for e in similar]
    target = Select(browser.find_element(By.ID, "desk-merge-target"))
    assert target.first_selected_option.get_attribute("value") == str(desk_cases.merge_target)
    message = click_action(browser, "desk-merge")
    assert "已合并" in message
    (event,) = last_events(live_app, desk_cases.merge)
    assert (event.action, event.data["target_case_id"], event.data["reason"],
            event.actor_id) == ("merge", desk_cases.merge_target, "duplicate",
                                user_id(live_app, "command01"))
    with live_app.services.session() as s:
        case = s.get(Case, desk_cases.merge)
        assert (case.status, case.merged_into_id) == ("declined", desk_cases.merge_target)
    (evidence,) = last_events(live_app, desk_cases.merge_target)
    assert evidence.action == "add_evidence"


def test_sensor_case_shows_the_readings_chart(live_app: LiveApp, browser: WebDriver,
                                              desk_cases: DeskCases, tmp_path: Path) -> None:
    open_desk(browser, live_app)
    pick_case(browser, desk_cases.sensor)
    state = wait(browser).until(lambda d: d.execute_script(
        "const g = document.querySelector('#desk-readings .js-plotly-plot');"
        "if (!g || !g.data || !g.data.length) return null;"
        "return {names: g.data.map(x => x.name), n: g.data[0].x.length,"
        "        shapes: (g.layout.shapes || []).length};"))
    assert any(name.startswith("倾斜") for name in state["names"])
    assert state["n"] == 12 and state["shapes"] == 1  # every reading, and the trigger line
    browser.save_screenshot(str(tmp_path / "desk-sensor.png"))


def test_supervise_an_overdue_case(live_app: LiveApp, browser: WebDriver,
                                   desk_cases: DeskCases) -> None:
    open_desk(browser, live_app)
    show_list(browser, "supervise")
    pick_case(browser, desk_cases.overdue)
    assert browser.find_element(
        By.CSS_SELECTOR, f"#desk-list [data-case-id='{desk_cases.overdue}']"
    ).get_attribute("data-light") == "red"
    # a double click (the second before the page can react) records one supervision only
    wait(browser).until(ec.element_to_be_clickable((By.ID, "desk-supervise")))
    browser.execute_script("const b = document.getElementById('desk-supervise');"
                           "b.click(); b.click();")
    wait(browser).until(lambda d: "已督办" in d.find_element(By.ID, "desk-message").text
                        or "刚刚有了新的变化" in d.find_element(By.ID, "desk-message").text)
    wait(browser).until(lambda d: d.find_element(By.ID, "desk-actions").get_attribute(
        "disabled") is None)
    with live_app.services.session() as s:
        events = [e for e in events_of(s, desk_cases.overdue) if e.action == "supervise"]
    assert len(events) == 1
    (event,) = events
    assert (event.actor_id, event.origin) == (user_id(live_app, "command01"), "desk")
    with live_app.services.session() as s:
        assert s.get(Case, desk_cases.overdue).supervised is True


def test_english_switch(live_app: LiveApp, browser: WebDriver, desk_cases: DeskCases,
                        tmp_path: Path) -> None:
    open_desk(browser, live_app)
    browser.find_element(By.ID, "shell-lang").click()
    try:
        wait(browser).until(lambda d: d.find_element(By.CLASS_NAME, "og-page-title").text
                            == t("desk.title", "en"))
        wait(browser).until(lambda d: t("desk.list.queue", "en")
                            in d.find_element(By.ID, "desk-list-kind").text)
        assert t("desk.action.register", "en") == \
            browser.find_element(By.ID, "desk-register").get_attribute("textContent")
        assert t("nav.desk", "en") in browser.find_element(By.ID, "shell-nav").text
        pick_case(browser, desk_cases.sensor)
        wait(browser).until(lambda d: "Component readings" in d.find_element(
            By.ID, "desk-detail").text)
        browser.save_screenshot(str(tmp_path / "desk-en.png"))
    finally:
        browser.get(live_app.base + "/lang/zh-CN?next=/desk")


ACT_REQUEST = {
    "output": "..desk-message.children...desk-version.data..",
    "outputs": [{"id": "desk-message", "property": "children"},
                {"id": "desk-version", "property": "data"}],
    "inputs": [{"id": bid, "property": "n_clicks", "value": 1 if bid == "desk-register" else 0}
               for bid in ("desk-register", "desk-decline", "desk-merge", "desk-dispatch",
                           "desk-supervise", "desk-close")],
    "changedPropIds": ["desk-register.n_clicks"],
}


def act_request(case_id: object, seq: object = None) -> dict:
    states = [{"id": "desk-shown", "property": "data", "value": {"id": case_id, "seq": seq}},
              {"id": "desk-note", "property": "value", "value": None},
              {"id": "desk-decline-reason", "property": "value", "value": None},
              {"id": "desk-merge-target", "property": "value", "value": None},
              {"id": "desk-department", "property": "value", "value": None},
              {"id": "desk-version", "property": "data", "value": 0}]
    return {**ACT_REQUEST, "state": states}


def test_other_roles_may_not_see_the_desk_or_fire_its_callbacks(live_app: LiveApp,
                                                               desk_cases: DeskCases) -> None:
    with live_app.services.session() as s:
        inspector = s.scalar(select(User.username).where(User.role == "inspector").limit(1))
    for username in (inspector, "handler_d05", "leader01"):
        session = http_session(live_app.base, username)
        page = session.get(live_app.base + "/desk", headers={"Accept": "text/html"},
                           timeout=10)
        assert page.status_code == 403
        reply = session.post(live_app.base + "/_dash-update-component",
                             json=act_request(desk_cases.sensor), timeout=10)
        assert reply.status_code == 403, username
    with live_app.services.session() as s:
        assert s.get(Case, desk_cases.sensor).status == "reported"  # nothing happened


def test_hand_made_payloads_get_a_message_not_a_crash(live_app: LiveApp,
                                                     desk_cases: DeskCases) -> None:
    session = http_session(live_app.base)
    for case_id, seq in (("1; drop table", None), ({"x": 1}, None), (desk_cases.sensor, "x"),
                         (999_999_999, None)):
        reply = session.post(live_app.base + "/_dash-update-component",
                             json=act_request(case_id, seq), timeout=10)
        assert reply.status_code == 200, (case_id, reply.text[:300])
        assert "desk-message" in reply.json()["response"]
    # a stale view (the case changed since it was shown) changes nothing
    reply = session.post(live_app.base + "/_dash-update-component",
                         json=act_request(desk_cases.sensor, 99), timeout=10)
    assert "刚刚有了新的变化" in reply.text
    with live_app.services.session() as s:
        assert s.get(Case, desk_cases.sensor).status == "reported"
