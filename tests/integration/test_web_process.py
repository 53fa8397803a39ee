"""`python app.py` as a user starts it: creates the database, seeds, serves, guards."""

from __future__ import annotations

import http.cookiejar
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEGRID_")}
    # Only the paths move into tmp; everything else is the embedded default.
    env.update(ONEGRID_VAR_DIR=str(tmp / "var"), ONEGRID_DB_URL=f"sqlite:///{tmp}/var/og.db",
               ONEGRID_PORT=str(port))
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=tmp,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"app.py exited early:\n{proc.stdout.read()}")
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("app.py did not answer within 180 s")
    yield base, tmp
    proc.terminate()
    proc.wait(timeout=20)


def test_database_created_and_seeded(server) -> None:
    base, tmp = server
    assert (tmp / "var" / "og.db").exists()
    health = json.load(urllib.request.urlopen(base + "/healthz"))
    assert health["status"] == "ok" and health["database"] == "ok"


def test_pages_need_a_login(server) -> None:
    base, _ = server
    req = urllib.request.Request(base + "/", headers={"Accept": "text/html"})
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as err:
        opener.open(req)
    assert err.value.code == 302 and "/login" in err.value.headers["Location"]
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(
            base + "/_dash-update-component", data=b"{}", method="POST",
            headers={"Content-Type": "application/json"}))
    assert err.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(base + "/_dash-layout")
    assert err.value.code == 401


def test_login_with_a_demo_account(server) -> None:
    base, _ = server
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(base + "/login").read().decode()
    assert "用户名" in form  # Chinese by default
    csrf = form.split('name="csrf" value="')[1].split('"')[0]
    bad = urllib.parse.urlencode({"csrf": csrf, "username": "command01",
                                  "password": "wrong-password"}).encode()
    with pytest.raises(urllib.error.HTTPError) as err:
        opener.open(base + "/login", data=bad)
    assert err.value.code == 401 and "用户名或密码错误" in err.value.read().decode()
    no_csrf = urllib.parse.urlencode({"username": "command01",
                                      "password": "onegrid-demo"}).encode()
    with pytest.raises(urllib.error.HTTPError) as err:
        opener.open(base + "/login", data=no_csrf)
    assert err.value.code == 400
    good = urllib.parse.urlencode({"csrf": csrf, "username": "command01",
                                   "password": "onegrid-demo"}).encode()
    page = opener.open(base + "/login", data=good)
    assert page.status == 200 and page.url.rstrip("/") == base
    cookie = next(c for c in jar if c.name == "onegrid_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    layout = opener.open(base + "/_dash-layout")
    assert layout.status == 200


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
