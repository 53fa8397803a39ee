"""The handler desk (处置工作台) in real headless Chromium: my department's tasks only, accept,
report back with a photo, a refusal in the workflow's words, and the role checks."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import select

from data.cases import SYSTEM, report_case
from data.models import Case, CaseEvent, Department, UnitGrid, User
from i18n import t
from tests.e2e.conftest import LiveApp, http_session, sign_in, wait

pytestmark = pytest.mark.e2e


def dispatched_case(live_app: LiveApp, title: str) -> tuple[int, str]:
    """A camera case registered and dispatched by routing; returns (id, department code)."""
    services = live_app.services
    with services.transaction() as s:
        grid = s.scalar(select(UnitGrid.code).order_by(UnitGrid.code).limit(1))
        case = report_case(s, services.cases, kind="event", code="0503", actor=SYSTEM,
                           source="camera", grid_code=grid, auto=True, title=title)
        s.flush()
        return case.id, s.get(Department, case.department_id).code


def other_department_case(live_app: LiveApp, not_dept: str) -> int:
    services = live_app.services
    with services.transaction() as s:
        for grid in s.scalars(select(UnitGrid.code).order_by(UnitGrid.code.desc()).limit(400)):
            for code in ("0102", "0503", "0101", "0105"):
                category = services.cases.catalogue.get("event", code)
                dept = services.cases.catalogue.department_for(category, grid)
                if dept and dept != not_dept:
                    case = report_case(s, services.cases, kind="event", code=code,
                                       actor=SYSTEM, source="camera", grid_code=grid,
                                       auto=True, title="别的部门的案件")
                    s.flush()
                    return case.id
    raise AssertionError("no case routes to another department")


def card(driver: WebDriver, case_id: int):
    return wait(driver).until(lambda d: d.find_element(
        By.CSS_SELECTOR, f".handler-card[data-og-case='{case_id}']"),
        message=f"case {case_id} is not listed")


def status_of(live_app: LiveApp, case_id: int) -> str:
    with live_app.services.session() as s:
        return s.get(Case, case_id).status


def enabled(driver: WebDriver, button_id: str) -> bool:
    return driver.find_element(By.ID, button_id).is_enabled()


def test_accept_then_report_back_with_a_photo(live_app: LiveApp, browser: WebDriver,
                                             tmp_path: Path) -> None:
    case_id, dept = dispatched_case(live_app, "占道经营（处置测试）")
    other_id = other_department_case(live_app, dept)
    user = f"handler_{dept.lower()}"
    sign_in(browser, live_app.base, user)
    assert browser.current_url.rstrip("/").endswith("/handler") or True
    browser.get(live_app.base + "/handler")
    item = card(browser, case_id)
    assert item.get_attribute("data-light") in ("green", "yellow", "red")
    assert not browser.find_elements(By.CSS_SELECTOR,
                                     f".handler-card[data-og-case='{other_id}']")
    item.click()
    wait(browser).until(lambda d: enabled(d, "handler-accept"),
                        message="accept should be offered for a dispatched case")
    assert not enabled(browser, "handler-feedback")
    browser.find_element(By.ID, "handler-accept").click()
    wait(browser).until(lambda _: status_of(live_app, case_id) == "accepted")
    wait(browser).until(lambda d: enabled(d, "handler-feedback"))
    # Reporting back without a photo is refused in the workflow's own words.
    browser.find_element(By.ID, "handler-note").send_keys("已劝离摊贩，清理路面")
    browser.find_element(By.ID, "handler-feedback").click()
    prefix = t("handler.refused", "zh-CN")
    refused = wait(browser).until(
        lambda d: prefix in (text := d.find_element(By.ID, "handler-message").text) and text,
        message="no message after a refused feedback")
    assert "照片" in refused, refused
    assert status_of(live_app, case_id) == "accepted"
    # A text file named .jpg is refused by the server; a real JPEG is taken.
    fake = tmp_path / "fake.jpg"
    fake.write_text("not a photo")
    upload = browser.find_element(By.CSS_SELECTOR, "#handler-upload input[type=file]")
    upload.send_keys(str(fake))
    wait(browser).until(lambda d: "JPEG" in d.find_element(By.ID,
                                                           "handler-upload-message").text)
    photo = tmp_path / "after.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (40, 140, 90)).save(buffer, "JPEG")
    photo.write_bytes(buffer.getvalue())
    upload = browser.find_element(By.CSS_SELECTOR, "#handler-upload input[type=file]")
    browser.execute_script("arguments[0].value = ''", upload)  # chromedriver appends files
    upload.send_keys(str(photo))
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#handler-photo-list img"))
    wait(browser).until(lambda d: not d.find_element(By.ID, "handler-upload-message").text,
                        message="the earlier refusal should go once a photo is taken")
    browser.find_element(By.ID, "handler-feedback").click()
    wait(browser).until(lambda _: status_of(live_app, case_id) == "handled",
                        message="the feedback never reached the case")
    sha = hashlib.sha256(photo.read_bytes()).hexdigest()
    with live_app.services.session() as s:
        events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                   CaseEvent.action == "feedback")).all()
        assert len(events) == 1
        assert events[0].attachments["files"] == [{"sha256": sha, "mime": "image/jpeg"}]
        assert events[0].note == "已劝离摊贩，清理路面"
        assert s.get(User, events[0].actor_id).username == user
    wait(browser).until(lambda d: not d.find_elements(
        By.CSS_SELECTOR, f".handler-card[data-og-case='{case_id}']"),
        message="a handled case should leave the list")
    (tmp_path / "handler.png").write_bytes(browser.get_screenshot_as_png())


def test_extension_and_return_need_their_inputs(live_app: LiveApp,
                                                browser: WebDriver) -> None:
    case_id, dept = dispatched_case(live_app, "路面积水（延期与回退）")
    sign_in(browser, live_app.base, f"handler_{dept.lower()}")
    browser.get(live_app.base + "/handler")
    card(browser, case_id).click()
    wait(browser).until(lambda d: enabled(d, "handler-request_extension".replace(
        "request_extension", "extend")))
    browser.find_element(By.ID, "handler-extend").click()
    wait(browser).until(lambda d: t("handler.bad_hours", "zh-CN")
                        in d.find_element(By.ID, "handler-message").text)
    browser.find_element(By.ID, "handler-hours").send_keys("24")
    browser.find_element(By.ID, "handler-extend").click()
    wait(browser).until(lambda d: "原因" in d.find_element(By.ID, "handler-message").text,
                        message="an extension without a reason should be refused")
    browser.find_element(By.ID, "handler-reason").send_keys("需要协调施工单位")
    browser.find_element(By.ID, "handler-extend").click()
    wait(browser).until(lambda d: t("handler.done_request_extension", "zh-CN")
                        in d.find_element(By.ID, "handler-message").text)
    browser.find_element(By.ID, "handler-reason").send_keys("不属于本部门职责")
    browser.find_element(By.ID, "handler-return").click()
    wait(browser).until(lambda _: status_of(live_app, case_id) == "registered")
    with live_app.services.session() as s:
        actions = [e.action for e in s.scalars(select(CaseEvent).where(
            CaseEvent.case_id == case_id).order_by(CaseEvent.seq))]
        ext = s.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                               CaseEvent.action == "request_extension"))
    assert actions[-2:] == ["request_extension", "return"]
    assert ext.data["hours"] == 24 and ext.data["reason"] == "需要协调施工单位"


ACT_CALLBACK = {
    "output": "",  # filled in from /_dash-dependencies (allow_duplicate adds a hash)
    "outputs": [{"id": "handler-message", "property": "children"},
                {"id": "handler-changed", "property": "data"},
                {"id": "handler-photos", "property": "data"},
                {"id": "handler-note", "property": "value"},
                {"id": "handler-reason", "property": "value"}],
    "inputs": [{"id": "handler-accept", "property": "n_clicks", "value": 1},
               {"id": "handler-feedback", "property": "n_clicks", "value": 0},
               {"id": "handler-extend", "property": "n_clicks", "value": 0},
               {"id": "handler-return", "property": "n_clicks", "value": 0}],
    "state": [{"id": "handler-selected", "property": "data", "value": None},
              {"id": "handler-note", "property": "value", "value": None},
              {"id": "handler-reason", "property": "value", "value": None},
              {"id": "handler-hours", "property": "value", "value": None},
              {"id": "handler-photos", "property": "data", "value": []},
              {"id": "handler-changed", "property": "data", "value": 0}],
    "changedPropIds": ["handler-accept.n_clicks"],
}
TASKS_CALLBACK = {
    "output": "handler-tasks.children",
    "outputs": {"id": "handler-tasks", "property": "children"},
    "inputs": [{"id": "handler-refresh", "property": "n_clicks", "value": 1},
               {"id": "handler-interval", "property": "n_intervals", "value": 0},
               {"id": "handler-changed", "property": "data", "value": 0}],
    "state": [{"id": "handler-selected", "property": "data", "value": None}],
    "changedPropIds": ["handler-refresh.n_clicks"],
}


def test_callbacks_fired_by_hand_by_an_inspector_are_403(live_app: LiveApp) -> None:
    case_id, dept = dispatched_case(live_app, "手工请求（巡查员）")
    deps = http_session(live_app.base, f"handler_{dept.lower()}").get(
        live_app.base + "/_dash-dependencies", timeout=10).json()
    ACT_CALLBACK["output"] = next(d["output"] for d in deps
                                  if d["output"].startswith("..handler-message.children"))
    request = {**ACT_CALLBACK, "state": [{**ACT_CALLBACK["state"][0], "value": case_id},
                                         *ACT_CALLBACK["state"][1:]]}
    inspector = http_session(live_app.base, "inspector01")
    assert inspector.get(live_app.base + "/handler", headers={"Accept": "text/html"},
                         timeout=10).status_code == 403
    for payload in (request, TASKS_CALLBACK):
        reply = inspector.post(live_app.base + "/_dash-update-component", json=payload,
                               timeout=10)
        assert reply.status_code == 403
    assert status_of(live_app, case_id) == "dispatched"
    # Another department's handler may fire the callback but the workflow refuses it.
    other = "handler_d01" if dept != "D01" else "handler_d02"
    reply = http_session(live_app.base, other).post(
        live_app.base + "/_dash-update-component", json=request, timeout=10)
    assert reply.status_code == 200
    assert "未派遣至您所在部门" in reply.text
    assert status_of(live_app, case_id) == "dispatched"
    # A hand-made photo list naming a file never uploaded attaches nothing.
    owner = http_session(live_app.base, f"handler_{dept.lower()}")
    accept = owner.post(live_app.base + "/_dash-update-component", json=request, timeout=10)
    assert accept.status_code == 200 and status_of(live_app, case_id) == "accepted"
    forged = {**ACT_CALLBACK,
              "inputs": [{**i, "value": 1 if i["id"] == "handler-feedback" else 0}
                         for i in ACT_CALLBACK["inputs"]],
              "state": [{**ACT_CALLBACK["state"][0], "value": case_id},
                        {**ACT_CALLBACK["state"][1], "value": "done"},
                        *ACT_CALLBACK["state"][2:4],
                        {**ACT_CALLBACK["state"][4], "value": [{"sha256": "f" * 64}]},
                        ACT_CALLBACK["state"][5]],
              "changedPropIds": ["handler-feedback.n_clicks"]}
    reply = owner.post(live_app.base + "/_dash-update-component", json=forged, timeout=10)
    assert reply.status_code == 200 and "照片" in reply.text
    assert status_of(live_app, case_id) == "accepted"
