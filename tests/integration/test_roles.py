"""Roles on the server for every page and every callback (issue 5, point 1).

Every page declares the roles that may see it and every Dash callback is wrapped by
``api.auth.require_roles``; here each role GETs each page and fires each callback by hand, as
a user who crafts the request would: the guard and the wrappers must refuse what the page
registration says, whatever the browser shows.
"""

from __future__ import annotations

import re
from typing import Any

import dash
import dash._callback as dash_callbacks
import pytest

from api.auth import HOME_PATHS, STAFF_ROLES
from data.accounts import create_user
from data.models import User

ROLES = (*STAFF_ROLES, "shop_owner")
PASSWORD = "roles-test-pass-1"


def _sign_in(client: Any, services: Any, role: str) -> None:
    username = f"roles_{role}"
    with services.transaction() as s:
        if s.query(User).filter_by(username=username).first() is None:
            create_user(s, username, role, PASSWORD,
                        department_code="D01" if role == "handler" else None)
    client.get("/logout")
    form = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    reply = client.post("/login", data={"csrf": csrf, "username": username,
                                        "password": PASSWORD, "next": "/"})
    assert reply.status_code == 302, f"{role} could not sign in"


def _pages() -> list[tuple[str, tuple[str, ...]]]:
    pages = []
    for page in dash.page_registry.values():
        path = page.get("path_template") or page["path"]
        path = re.sub(r"<[^>]+>", "1", path)
        pages.append((path, tuple(page.get("roles", STAFF_ROLES))))
    return sorted(pages)


def _callback_roles(entry: dict[str, Any]) -> tuple[str, ...] | None:
    fn = entry["callback"]
    while fn is not None:
        if hasattr(fn, "roles"):
            return fn.roles
        fn = getattr(fn, "__wrapped__", None)
    return None


def _callbacks() -> list[tuple[str, dict[str, Any]]]:
    """Every server-side callback of ours: the app's (Dash moves them there on its first
    request) and any still in the global list. Not clientside ones (they run in the browser)
    nor Dash's own page router, which calls the page layouts (they check the role, and the
    guard checks the page: see the page tests below)."""
    found = {**dash.get_app().callback_map, **dash_callbacks.GLOBAL_CALLBACK_MAP}
    return sorted((out, entry) for out, entry in found.items()
                  if "callback" in entry and "_pages_" not in out)


def _fire(client: Any, output: str, entry: dict[str, Any]) -> Any:
    """POST the callback as the browser would, every input and state None."""
    def ids(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"id": i["id"], "property": i["property"], "value": None} for i in items]

    def spec(part: str) -> dict[str, str]:
        component, prop = part.rsplit(".", 1)
        return {"id": component, "property": prop}

    if output.startswith("..") and output.endswith(".."):
        outputs: Any = [spec(part) for part in output[2:-2].split("...")]
    else:
        outputs = spec(output)
    body = {"output": output, "outputs": outputs, "inputs": ids(entry["inputs"]),
            "state": ids(entry["state"]), "changedPropIds": []}
    return client.post("/_dash-update-component", json=body,
                       headers={"Origin": "http://localhost"})


def test_every_callback_declares_its_roles(client) -> None:
    client.get("/login")  # Dash sets itself up on its first request
    assert _callbacks(), "no callbacks registered"
    undeclared = [out for out, entry in _callbacks() if _callback_roles(entry) is None]
    assert not undeclared, f"callbacks without require_roles: {undeclared}"


def test_signed_out_requests_are_refused(client) -> None:
    client.get("/logout")
    for path, _ in _pages():
        reply = client.get(path, headers={"Accept": "text/html"})
        assert reply.status_code == 302 and "/login" in reply.headers["Location"], path
    for output, entry in _callbacks():
        assert _fire(client, output, entry).status_code == 401, output


@pytest.mark.parametrize("role", ROLES)
def test_pages_and_callbacks_follow_the_roles(client, seeded_services, role: str) -> None:
    _sign_in(client, seeded_services, role)
    for path, allowed in _pages():
        reply = client.get(path, headers={"Accept": "text/html"})
        if role in allowed:
            assert reply.status_code == 200, f"{role} should see {path}"
        elif path == "/" and role in HOME_PATHS:
            assert reply.status_code == 302, f"{role} should be sent home from /"
            assert reply.headers["Location"].endswith(HOME_PATHS[role])
        else:
            assert reply.status_code == 403, f"{role} must not see {path}"
    for output, entry in _callbacks():
        roles = _callback_roles(entry)
        if role not in roles:
            reply = _fire(client, output, entry)
            assert reply.status_code == 403, f"{role} fired {output}: {reply.status_code}"
