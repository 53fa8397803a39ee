"""E2E fixtures: the real app served by waitress in a thread, driven by Debian's headless Chromium.

The database is a temporary SQLite file seeded with the demo city and its two months of case
history, exactly as ``python app.py seed`` would. Chromium is ``/usr/bin/chromium`` with
``/usr/bin/chromedriver`` (never a downloaded browser) and may reach nothing but 127.0.0.1.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from waitress.server import create_server

from services import Services, build_services, prepare_database
from tests.conftest import make_settings

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)
VIEWPORT = (1600, 900)
WAIT_S = 30
DEMO_USER = "command01"
DEMO_PASSWORD = "onegrid-demo"  # data/seed.py DEMO_PASSWORD


@dataclass(frozen=True)
class LiveApp:
    base: str
    services: Services


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The app on a demo-seeded SQLite database with its case history up to now
    (``data/demo_history.py``), served on a free port of 127.0.0.1."""
    for name in ("CHROMIUM", "CHROMEDRIVER"):
        if not Path(globals()[name]).exists():
            pytest.fail(f"{globals()[name]} missing: install Debian's chromium and "
                        "chromium-driver (scripts/test.sh does)")
    from app import create_app

    tmp = tmp_path_factory.mktemp("e2e")
    services = build_services(make_settings(f"sqlite:///{tmp / 'onegrid.db'}", tmp))
    prepare_database(services, seed=True, history=True)  # a living city: two months of cases
    app = create_app(services)
    server = create_server(app.server, host="127.0.0.1", port=0, threads=6,
                           ident="OneGrid-e2e")
    thread = threading.Thread(target=server.run, name="waitress-e2e", daemon=True)
    thread.start()
    try:
        yield LiveApp(f"http://127.0.0.1:{server.effective_port}", services)
    finally:
        logging.getLogger("waitress").setLevel(logging.CRITICAL)
        while server._map:  # close the listener and every open channel; run() then returns
            for channel in list(server._map.values()):
                channel.handle_close()
        server.task_dispatcher.shutdown()
        thread.join(timeout=10)
        services.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """Headless Chromium with a fresh profile and a 1600×900 viewport."""
    profile = tempfile.mkdtemp(prefix="onegrid-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (*CHROME_ARGS, f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        width, height = VIEWPORT
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        driver.set_page_load_timeout(WAIT_S)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(driver: WebDriver, timeout: float = WAIT_S) -> WebDriverWait:
    """A wait that polls every 0.2 s and tries again when React replaced the element it was
    reading (stale) or has not drawn it yet."""
    return WebDriverWait(driver, timeout, poll_frequency=0.2, ignored_exceptions=(
        NoSuchElementException, StaleElementReferenceException))


def sign_in(driver: WebDriver, base: str, username: str = DEMO_USER,
            password: str = DEMO_PASSWORD) -> None:
    """Start signed out, sign in through the login form, land on the role's home page."""
    # Leave the page first: a request still in flight from a live page (the big screen
    # refreshes every 5 s) could set the old session cookie again over the new login's.
    driver.get(base + "/healthz")
    driver.delete_all_cookies()
    driver.get(base + "/login")
    driver.find_element(By.ID, "login-username").send_keys(username)
    driver.find_element(By.ID, "login-password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver).until(ec.presence_of_element_located((By.ID, "shell-nav")))


def http_session(base: str, username: str = DEMO_USER,
                 password: str = DEMO_PASSWORD) -> requests.Session:
    """A ``requests`` session signed in through the login form (with its CSRF token)."""
    session = requests.Session()
    form = session.get(base + "/login", timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf, "login form without a CSRF token"
    reply = session.post(base + "/login", timeout=10, allow_redirects=False, data={
        "csrf": csrf.group(1), "username": username, "password": password, "next": "/"})
    assert reply.status_code == 302, f"sign-in as {username} failed: {reply.status_code}"
    return session
