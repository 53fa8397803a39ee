"""The case page (案件详情, /cases/<id>) in real headless Chromium: one case's whole life —
timeline in order with names, roles and origins, photos before and after, map, deadlines —
and what other roles and bad ids get instead (a notice, never a traceback or a leak)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from sqlalchemy import select

from data.accounts import create_user
from data.cases import actor_for, report_case, transition
from data.ingest import save_snapshot
from data.models import Attachment, Department, UnitGrid, User
from i18n import t
from tests.e2e.conftest import LiveApp, http_session, sign_in, wait

pytestmark = pytest.mark.e2e

ACTIONS = ["report", "register", "dispatch", "accept", "feedback", "verify_pass", "close"]


@dataclass
class LifeCase:
    id: int
    code: str
    before_sha: str
    after_sha: str
    inspector: str
    names: dict[str, str]  # username → display name


def _photo(services, colour: tuple[int, int, int]) -> str:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), colour).save(out, "JPEG")
    data = out.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    save_snapshot(services.settings.media_dir, data, sha)
    with services.transaction() as s:
        s.add(Attachment(sha256=sha, mime="image/jpeg", size=len(data)))
    return sha


@pytest.fixture(scope="module")
def life(live_app: LiveApp) -> LifeCase:
    """A case that went all the way round: reported on a tablet, registered and dispatched at
    the desk, handled by D05 with a photo, verified on site, closed."""
    services = live_app.services
    cfg = services.cases
    before, after = _photo(services, (180, 30, 30)), _photo(services, (30, 150, 60))
    start = datetime.now(UTC) - timedelta(hours=2)
    with services.transaction() as s:
        def actor(username: str):
            return actor_for(s, s.scalar(select(User).where(User.username == username)))

        grid = s.scalar(select(UnitGrid).where(UnitGrid.code.like("449902%"),
                                               UnitGrid.inspector_id.is_not(None))
                        .order_by(UnitGrid.code).limit(1))
        inspector = s.get(User, grid.inspector_id).username
        point = grid.geom.representative_point()
        case = report_case(s, cfg, kind="event", code="0503", actor=actor(inspector),
                           source="inspector", lon=point.x, lat=point.y,
                           description="人行道上十余辆共享单车乱停", origin="tablet",
                           attachments=[{"sha256": before, "mime": "image/jpeg"}], now=start)
        d05 = s.scalar(select(Department.id).where(Department.code == "D05"))
        steps = [("register", "command01", {}, {}),
                 ("dispatch", "command01", {"data": {"department_id": d05}}, {}),
                 ("accept", "handler_d05", {}, {}),
                 ("feedback", "handler_d05", {"note": "已清理归位",
                                              "attachments": [{"sha256": after,
                                                               "mime": "image/jpeg"}]}, {}),
                 ("verify_pass", inspector, {}, {}),
                 ("close", "command01", {}, {})]
        origins = {"command01": "desk", "handler_d05": "handler", inspector: "tablet"}
        for i, (action, who, kw, _) in enumerate(steps, start=1):
            transition(s, cfg, case, action, actor(who), origin=origins[who],
                       now=start + timedelta(minutes=5 * i), **kw)
        s.flush()
        names = {u: s.scalar(select(User.display_name).where(User.username == u))
                 for u in ("command01", "handler_d05", inspector)}
        return LifeCase(case.id, case.code, before, after, inspector, names)


def open_case(browser: WebDriver, live_app: LiveApp, case_id: object,
              username: str = "command01") -> None:
    sign_in(browser, live_app.base, username)
    browser.get(f"{live_app.base}/cases/{case_id}")


def test_case_page_shows_the_whole_life(live_app: LiveApp, browser: WebDriver, life: LifeCase,
                                        tmp_path: Path) -> None:
    open_case(browser, live_app, life.id)
    wait(browser).until(ec.presence_of_element_located((By.ID, "case-timeline")))
    assert browser.find_element(By.ID, "case-code").text == life.code
    events = browser.find_elements(By.CSS_SELECTOR, "#case-timeline .og-event")
    assert [e.get_attribute("data-action") for e in events] == ACTIONS
    assert [e.get_attribute("data-seq") for e in events] == [str(i) for i in range(1, 8)]
    texts = [e.text for e in events]
    assert life.names[life.inspector] in texts[0] and "网格员" in texts[0]
    assert "来自 网格员平板" in texts[0] and "→ 上报" in texts[0]
    assert "人行道上十余辆共享单车乱停" in texts[0]
    assert life.names["command01"] in texts[1] and "指挥中心" in texts[1]
    assert "城市管理综合执法支队" in texts[2]  # dispatched to D05, by name
    assert life.names["handler_d05"] in texts[4] and "已清理归位" in texts[4]
    assert texts[0].split("\n")[0].startswith("20")  # when, in the city's time
    times = [e.find_element(By.CLASS_NAME, "og-event-time").text for e in events]
    assert times == sorted(times)
    # photos before and after load from /media/<sha256>
    for section, sha in (("og-photos-before", life.before_sha),
                         ("og-photos-after", life.after_sha)):
        wait(browser).until(lambda d, c=section: d.execute_script(
            f"const i = document.querySelector('.{c} img');"
            "return !!(i && i.complete && i.naturalWidth === 80);"))
        href = browser.find_element(By.CSS_SELECTOR, f".{section} a").get_attribute("href")
        assert href.endswith(f"/media/{sha}")
    # deadlines: every step done, each met or missed; the header says closed
    outcomes = {row.get_attribute("data-step"): row.find_elements(By.TAG_NAME, "td")[3]
                .get_attribute("data-outcome")
                for row in browser.find_elements(By.CSS_SELECTOR, "#case-deadlines tbody tr")}
    assert set(outcomes) == {"register", "dispatch", "handle", "close"}
    assert set(outcomes.values()) <= {"met", "missed"}
    assert "结案" in browser.find_element(By.ID, "case-badges").text
    assert life.names[life.inspector] in browser.find_element(By.ID, "case-facts").text
    wait(browser).until(lambda d: d.execute_script(
        "const g = document.querySelector('#case-map .js-plotly-plot');"
        "return !!(g && g.data && g.data.length === 2 && g._fullLayout.map);"))
    browser.save_screenshot(str(tmp_path / "case.png"))  # to look at (pytest --basetemp)
    browser.execute_script("document.getElementById('case-deadlines').scrollIntoView()")
    browser.save_screenshot(str(tmp_path / "case-deadlines.png"))


def test_english_switch(live_app: LiveApp, browser: WebDriver, life: LifeCase) -> None:
    open_case(browser, live_app, life.id)
    wait(browser).until(ec.presence_of_element_located((By.ID, "case-timeline")))
    browser.find_element(By.ID, "shell-lang").click()
    try:
        wait(browser).until(lambda d: t("case.timeline", "en") in d.find_element(
            By.CLASS_NAME, "og-case").text)
        timeline = browser.find_element(By.ID, "case-timeline").text
        assert "Register" in timeline and "Command center" in timeline
        assert "Urban Management Law Enforcement Detachment" in timeline
        assert not re.search("[\u4e00-\u9fff]", browser.find_element(By.ID, "case-deadlines")
                             .text)
    finally:
        browser.get(f"{live_app.base}/lang/zh-CN?next=/cases/{life.id}")


def test_handler_of_another_department_gets_a_notice(live_app: LiveApp, browser: WebDriver,
                                                      life: LifeCase) -> None:
    open_case(browser, live_app, life.id, "handler_d01")
    wait(browser).until(lambda d: t("case.not_found.title", "zh-CN") in d.find_element(
        By.CLASS_NAME, "og-case").text)
    assert life.code not in browser.page_source
    assert not browser.find_elements(By.ID, "case-timeline")
    open_case(browser, live_app, life.id, "handler_d05")  # its own department: shown
    wait(browser).until(ec.presence_of_element_located((By.ID, "case-timeline")))


@pytest.mark.parametrize(("path", "key"), [("abc", "case.bad_id.title"),
                                           ("-3", "case.bad_id.title"),
                                           ("99999999", "case.not_found.title")])
def test_bad_or_missing_id_gets_a_notice(live_app: LiveApp, browser: WebDriver, path: str,
                                         key: str) -> None:
    open_case(browser, live_app, path)
    wait(browser).until(lambda d: t(key, "zh-CN") in d.find_element(By.ID, "_pages_content")
                        .text)
    assert "Traceback" not in browser.page_source


def show_case_request(case_id: object) -> dict:
    return {"output": "case-body.children",
            "outputs": {"id": "case-body", "property": "children"},
            "inputs": [{"id": "case-id", "property": "data", "value": case_id}],
            "changedPropIds": ["case-id.data"]}


def test_callback_by_hand_respects_role_and_visibility(live_app: LiveApp,
                                                       life: LifeCase) -> None:
    url = live_app.base + "/_dash-update-component"
    request = urllib.request.Request(url, method="POST",
                                     data=json.dumps(show_case_request(life.id)).encode(),
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    with live_app.services.transaction() as s:
        if s.scalar(select(User.id).where(User.username == "e2e_case_shop")) is None:
            create_user(s, "e2e_case_shop", "shop_owner", "shop-password-1")
    shop = http_session(live_app.base, "e2e_case_shop", "shop-password-1")
    assert shop.post(url, json=show_case_request(life.id), timeout=10).status_code == 403
    page = shop.get(f"{live_app.base}/cases/{life.id}", timeout=10)
    assert life.code not in page.text
    other = http_session(live_app.base, "handler_d01")
    reply = other.post(url, json=show_case_request(life.id), timeout=10)
    assert reply.status_code == 200 and life.code not in reply.text
    assert t("case.not_found.title", "zh-CN") in reply.content.decode("utf-8") or \
        t("case.not_found.title", "zh-CN") in json.dumps(reply.json(), ensure_ascii=False)
    for bad in ("1 or 1=1", None, {"id": 1}, -1):
        reply = other.post(url, json=show_case_request(bad), timeout=10)
        assert reply.status_code == 200, bad
    own = http_session(live_app.base, "handler_d05")
    reply = own.post(url, json=show_case_request(life.id), timeout=10)
    assert reply.status_code == 200 and life.code in reply.text
