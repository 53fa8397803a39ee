"""One case's whole closed loop through the real system (issue 5, point 8).

A camera detection is published over MQTT to a real Mosquitto; the real ingest process
(``python app.py ingest``) stores it with its snapshot and opens a case, which waits in the
registration queue. In headless Chromium, as each user would: the detection shows in the big
screen's ticker; the command center registers and dispatches it at the desk (department
pre-filled by routing); the department's handler accepts it and reports back with a photo;
the grid's inspector verifies it on the tablet; the desk closes it; the leader's scorecard for
this month counts it.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image, ImageDraw
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import func, select

from data.metrics import indicator_cases, indicators
from data.models import (
    Case,
    CaseEvent,
    Department,
    Detection,
    Device,
    IngestWorker,
    Region,
    UnitGrid,
    User,
)
from reports.scorecard import format_value
from tests.brokers import MosquittoBroker
from tests.e2e.conftest import VIEWPORT, LiveApp, sign_in, wait
from tests.e2e.test_desk import click_action, open_desk, pick_case, show_list
from tests.e2e.test_handler import card as handler_card
from tests.e2e.test_tablet import TABLET, open_task, set_viewport

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EVENT = "street_vending"  # confidence 0.85: over the minimum, under auto-register (the desk)


def snapshot() -> bytes:
    image = Image.new("RGB", (160, 120), (70, 80, 90))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 50, 120, 100), fill=(200, 120, 40))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def status_of(live_app: LiveApp, case_id: int) -> str:
    with live_app.services.session() as s:
        return s.get(Case, case_id).status


def quiet_camera(live_app: LiveApp, category: str) -> tuple[str, str]:
    """A camera (code, grid) with no open case of ``category`` within 200 m, so that the
    detection opens a case of its own rather than adding evidence to one."""
    with live_app.services.session() as s:
        open_points = [c.geom for c in s.scalars(select(Case).where(
            Case.category_code == category, Case.geom.is_not(None),
            Case.status.not_in(("closed", "declined", "void"))))]
        for device in s.scalars(select(Device).where(Device.kind == "camera")
                                .order_by(Device.code)):
            from data.models import Component

            component = s.get(Component, device.component_id) if device.component_id else None
            if component is None or component.grid_code is None:
                continue
            p = component.geom
            near = [q for q in open_points
                    if math.hypot((q.x - p.x) * 102_000, (q.y - p.y) * 111_000) < 200]
            if not near:
                return device.code, component.grid_code
    raise AssertionError("no camera away from open cases")


def start_ingest(live_app: LiveApp, broker: MosquittoBroker, tmp: Path) -> subprocess.Popen:
    settings = live_app.services.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEGRID_")}
    env.update(ONEGRID_DB_URL=settings.db_url, ONEGRID_VAR_DIR=str(tmp / "var"),
               ONEGRID_MEDIA_DIR=str(settings.media_dir), ONEGRID_SEED_DEMO="never",
               ONEGRID_LOG_LEVEL="INFO")
    log = open(tmp / "ingest.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, str(ROOT / "app.py"), "ingest", "--url",
                             broker.ingest_url, "--name", "flow"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def publish(port: int, topic: str, doc: dict) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="flow-camera")
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.publish(topic, json.dumps(doc), qos=1).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()


def test_a_published_detection_runs_the_whole_loop(live_app: LiveApp, browser: WebDriver,
                                                   tmp_path: Path) -> None:
    services = live_app.services
    category = next(e.code for e in services.catalogue.event_types if e.detection == EVENT)
    camera, grid = quiet_camera(live_app, category)
    image = snapshot()
    broker = MosquittoBroker(tmp_path / "mosquitto").start()
    ingest = start_ingest(live_app, broker, tmp_path)
    try:
        wait(browser, 60).until(lambda _: _connected(live_app), message="ingest never connected")
        msg_id = f"flow-{int(time.time())}"
        publish(broker.port, f"onegrid/v1/detections/{camera}", {
            "msg_id": msg_id, "ts": datetime.now(UTC).isoformat(), "event": EVENT,
            "confidence": 0.85, "snapshot": base64.b64encode(image).decode()})

        def linked(_: object) -> int | None:
            with services.session() as s:
                return s.scalar(select(Detection.case_id).where(Detection.msg_id == msg_id))

        case_id = wait(browser, 60).until(linked, message="the detection never became a case")
        with services.session() as s:
            case = s.get(Case, case_id)
            assert (case.status, case.source, case.grid_code) == ("reported", "camera", grid)
            sha = s.scalar(select(Detection.snapshot_sha256).where(Detection.msg_id == msg_id))
            inspector = s.get(User, s.scalar(select(UnitGrid.inspector_id)
                                             .where(UnitGrid.code == grid))).username
            district = grid[:6]

        # 1. The big screen shows it in the ticker, snapshot and all.
        sign_in(browser, live_app.base, "command01")
        browser.get(live_app.base + "/?kiosk=1")
        wait(browser).until(lambda d: d.find_elements(
            By.CSS_SELECTOR, f"#bigscreen-ticker img[src='/media/{sha}']"),
            message="the detection never reached the big screen's ticker")

        # 2. The desk registers it and dispatches it where routing says.
        open_desk(browser, live_app)
        pick_case(browser, case_id)
        assert "已立案" in click_action(browser, "desk-register")
        wait(browser).until(lambda d: d.find_element(By.ID, "desk-dispatch").is_enabled())
        assert "已派遣" in click_action(browser, "desk-dispatch")
        with services.session() as s:
            case = s.get(Case, case_id)
            assert case.status == "dispatched"
            dept = s.get(Department, case.department_id).code
            assert dept == services.cases.catalogue.department_for(
                services.cases.category("event", category), grid)

        # 3. The department's handler accepts it and reports back with a photo.
        sign_in(browser, live_app.base, f"handler_{dept.lower()}")
        browser.get(live_app.base + "/handler")
        handler_card(browser, case_id).click()
        wait(browser).until(lambda d: d.find_element(By.ID, "handler-accept").is_enabled())
        browser.find_element(By.ID, "handler-accept").click()
        wait(browser).until(lambda _: status_of(live_app, case_id) == "accepted")
        wait(browser).until(lambda d: d.find_element(By.ID, "handler-feedback").is_enabled())
        browser.find_element(By.ID, "handler-note").send_keys("已劝离摊贩，路面清理完毕")
        photo = tmp_path / "after.jpg"
        Image.new("RGB", (80, 60), (40, 140, 90)).save(photo, "JPEG")
        browser.find_element(By.CSS_SELECTOR, "#handler-upload input[type=file]").send_keys(
            str(photo))
        wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                      "#handler-photo-list img"))
        browser.find_element(By.ID, "handler-feedback").click()
        wait(browser).until(lambda _: status_of(live_app, case_id) == "handled",
                            message="the handler's feedback never reached the case")

        # 4. The grid's inspector verifies it on the tablet.
        set_viewport(browser, TABLET)
        sign_in(browser, live_app.base, inspector)
        browser.get(live_app.base + "/tablet")
        browser.execute_script("indexedDB.deleteDatabase('onegrid-tablet')")
        browser.refresh()
        open_task(browser, case_id)
        browser.find_element(By.CSS_SELECTOR,
                             f"[data-og-action='verify_pass'][data-og-case='{case_id}']").click()
        wait(browser).until(lambda _: status_of(live_app, case_id) == "verified",
                            message="the inspector's verification never reached the case")
        set_viewport(browser, VIEWPORT)

        # 5. The desk closes it.
        open_desk(browser, live_app)
        show_list(browser, "close")
        pick_case(browser, case_id)
        assert "已结案" in click_action(browser, "desk-close")
        assert status_of(live_app, case_id) == "closed"
        with services.session() as s:
            actions = [e.action for e in s.scalars(
                select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq))]
        assert actions == ["report", "register", "dispatch", "accept", "feedback",
                           "verify_pass", "close"], actions

        # 6. This month's scorecard counts it.
        tz = services.cases.calendar.tz
        local = datetime.now(tz)
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start.replace(month=start.month % 12 + 1, year=start.year + start.month // 12))
        with services.session() as s:
            closed = set(s.scalars(indicator_cases(s, start=start, end=end, by="district",
                                                   key=district, indicator="closure_rate")))
            assert case_id in closed
            row = next(r for r in indicators(s, None, start=start, end=end, by="district")
                       if r["key"] == district)
            assert s.scalar(select(func.count()).select_from(Region)
                            .where(Region.code == district)) == 1
        from cases.metrics import INDICATORS

        want = {ind.key: format_value(ind, row["values"][ind.key]) for ind in INDICATORS}
        sign_in(browser, live_app.base, "leader01")
        browser.get(live_app.base + f"/scorecards?month={local:%Y-%m}&by=district")

        def cells(d: WebDriver) -> dict[str, str] | None:
            return d.execute_script("""
                const tr = document.querySelector(
                    `#scorecards-table tr[data-key='${arguments[0]}']`);
                if (!tr) return null;
                const out = {};
                for (const td of tr.querySelectorAll('td.og-sc-num')) {
                  out[td.dataset.col] = td.innerText.trim();
                }
                return out;""", district)

        wait(browser).until(lambda d: cells(d) == want,
                            message=f"the scorecard shows {cells(browser)}, not {want}")
    finally:
        set_viewport(browser, VIEWPORT)
        ingest.terminate()
        try:
            ingest.wait(30)
        except subprocess.TimeoutExpired:
            ingest.kill()
        broker.stop()


def _connected(live_app: LiveApp) -> bool:
    with live_app.services.session() as s:
        return bool(s.scalar(select(func.count()).select_from(IngestWorker)
                             .where(IngestWorker.name.like("flow%"), IngestWorker.connected)))
