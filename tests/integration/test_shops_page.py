"""The administrators' shop registry page (商户台账, ``/shops``) through the Flask test client of
the whole app, on SQLite and PostgreSQL: the page and every one of its callbacks refused for
inspector, handler and leader and allowed for admin and command; the import callback fed a
base64 CSV with a bad row (line and reason reported, the good row imported); a QR code revoked
and reissued as the signed-in admin (a new current token, the old one on record as revoked)."""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any

import dash
import pytest
from sqlalchemy import func, select

from data.models import Shop, ShopToken, User
from layouts import _ids as ids
from tests.integration.test_geo import _sign_in

REFUSED = ("inspector01", "handler_d01", "leader01")
ALLOWED = ("admin", "command01")
HEADER = ["店名", "营业执照号", "地址", "负责人", "联系电话", "经度", "纬度"]


def _shop_callbacks() -> dict[str, dict[str, Any]]:
    """Every server-side callback with an output on the shops page, by its output key."""
    found = {**dash.get_app().callback_map}
    return {out: entry for out, entry in found.items()
            if "callback" in entry and "shops-" in out}


def _entry(marker: str) -> tuple[str, dict[str, Any]]:
    """The one callback whose output key contains ``marker`` (e.g. ``shops-report.children``)."""
    hits = [(out, e) for out, e in _shop_callbacks().items() if marker in out]
    assert len(hits) == 1, f"{marker}: {[h[0] for h in hits]}"
    return hits[0]


def _fire(client: Any, output: str, entry: dict[str, Any], values: dict[str, Any] | None = None,
          changed: tuple[str, ...] = ()) -> Any:
    """POST a callback as the browser does; ``values`` maps ``"id.prop"`` to a value (else None).
    A pattern-matching input is sent as the list ``values`` gives for it (else empty)."""
    values = values or {}

    def items(specs: list[dict[str, Any]]) -> list[Any]:
        out: list[Any] = []
        for spec in specs:
            key = f"{spec['id']}.{spec['property']}"
            if spec["id"].startswith("{"):  # a wildcard: the concrete components it matched
                out.append(values.get(key, []))
            else:
                out.append({"id": spec["id"], "property": spec["property"],
                            "value": values.get(key)})
        return out

    def spec(part: str) -> dict[str, str]:
        component, prop = part.rsplit(".", 1)
        return {"id": component, "property": prop}

    if output.startswith("..") and output.endswith(".."):
        outputs: Any = [spec(part) for part in output[2:-2].split("...")]
    else:
        outputs = spec(output)
    body = {"output": output, "outputs": outputs, "inputs": items(entry["inputs"]),
            "state": items(entry["state"]), "changedPropIds": list(changed)}
    return client.post("/_dash-update-component", json=body,
                       headers={"Origin": "http://localhost"})


def _csv_upload(rows: list[list[str]]) -> str:
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, *rows])
    data = text.getvalue().encode("utf-8-sig")
    return "data:text/csv;base64," + base64.b64encode(data).decode()


def _texts(node: Any) -> list[str]:
    """Every string inside a serialised Dash component tree."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [s for item in node for s in _texts(item)]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _texts(value)]
    return []


def _render(client: Any, search: str = "") -> str:
    """The page's layout as Dash's page router returns it (the layout function runs)."""
    output = next(out for out in dash.get_app().callback_map if "_pages_content" in out)
    entry = dash.get_app().callback_map[output]
    reply = _fire(client, output, entry, {"_pages_location.pathname": "/shops",
                                          "_pages_location.search": search},
                  changed=("_pages_location.pathname",))
    assert reply.status_code == 200, reply.status_code
    return json.dumps(reply.get_json(), ensure_ascii=False)


def test_the_page_and_its_callbacks_follow_the_roles(client, seeded_services) -> None:
    client.get("/login")  # Dash sets itself up on its first request
    callbacks = _shop_callbacks()
    assert len(callbacks) == 7, sorted(callbacks)
    for output, entry in callbacks.items():
        fn = entry["callback"]
        while not hasattr(fn, "roles") and getattr(fn, "__wrapped__", None) is not None:
            fn = fn.__wrapped__
        assert set(getattr(fn, "roles", ())) == {"admin", "command"}, output
    for username in REFUSED:
        _sign_in(client, username)
        assert client.get("/shops", headers={"Accept": "text/html"}).status_code == 403
        assert ids.SHOPS_ROOT not in _render(client)  # the layout says no too
        for output, entry in callbacks.items():
            assert _fire(client, output, entry).status_code == 403, (username, output)
    for username in ALLOWED:
        _sign_in(client, username)
        assert client.get("/shops", headers={"Accept": "text/html"}).status_code == 200
        page = _render(client, "?street=449903003")
        assert ids.SHOPS_ROOT in page and ids.SHOPS_UPLOAD in page and ids.SHOPS_MODAL in page
        assert '"value": "449903003"' in page  # opened on the street asked for
        output, entry = _entry("shops-table.children")
        reply = _fire(client, output, entry, {f"{ids.SHOPS_PAGE}.data": 1})
        assert reply.status_code == 200, (username, reply.status_code)
        table = json.loads(reply.data)["response"]
        assert "S00000001" in _texts(table[ids.SHOPS_TABLE]["children"])
        output, entry = _entry("shops-streets.children")
        reply = _fire(client, output, entry)
        assert reply.status_code == 200
        assert "/exports/plaques.pdf?street=449902001" in _texts(reply.get_json()["response"])


def test_search_street_filter_and_paging(client, seeded_services) -> None:
    _sign_in(client, "admin")
    output, entry = _entry("shops-table.children")
    street = "449903003"
    reply = _fire(client, output, entry, {f"{ids.SHOPS_STREET}.value": street,
                                          f"{ids.SHOPS_PAGE}.data": 1})
    response = reply.get_json()["response"]
    with seeded_services.session() as s:
        total = s.scalar(select(func.count()).select_from(Shop)
                         .where(Shop.grid_code.like(f"{street}%")))
        first = s.scalar(select(Shop).order_by(Shop.code).limit(1))
    assert total > 0
    assert f"共 {total} 户" in response[ids.SHOPS_PAGER]["children"]
    grids = [c for c in _texts(response[ids.SHOPS_TABLE]) if len(c) == 15 and c.isdigit()]
    assert len(grids) == min(total, 20) and all(g.startswith(street) for g in grids)
    reply = _fire(client, output, entry, {f"{ids.SHOPS_QUERY}.value": first.name[:4] + "%",
                                          f"{ids.SHOPS_PAGE}.data": 1})
    assert "共 0 户" in reply.get_json()["response"][ids.SHOPS_PAGER]["children"]  # % is text
    reply = _fire(client, output, entry, {f"{ids.SHOPS_QUERY}.value": first.code,
                                          f"{ids.SHOPS_PAGE}.data": 99})
    response = reply.get_json()["response"]
    assert response[ids.SHOPS_PAGER]["children"] == "第 1 / 1 页，共 1 户"
    assert response[ids.SHOPS_NEXT]["disabled"] is True
    assert first.name in _texts(response[ids.SHOPS_TABLE])

    output, entry = _entry("shops-page.data")
    reply = _fire(client, output, entry, {f"{ids.SHOPS_NEXT}.n_clicks": 1,
                                          f"{ids.SHOPS_PAGE}.data": 2},
                  changed=(f"{ids.SHOPS_NEXT}.n_clicks",))
    assert reply.get_json()["response"][ids.SHOPS_PAGE]["data"] == 3
    reply = _fire(client, output, entry, {f"{ids.SHOPS_QUERY}.value": "x",
                                          f"{ids.SHOPS_PAGE}.data": 2},
                  changed=(f"{ids.SHOPS_QUERY}.value",))
    assert reply.get_json()["response"][ids.SHOPS_PAGE]["data"] == 1


@pytest.mark.parametrize("dry_run", [True, False])
def test_import_reports_the_bad_line_and_imports_the_good_row(
        client, seeded_services, dry_run: bool) -> None:
    _sign_in(client, "admin")
    name = f"页面导入新店{'D' if dry_run else 'R'}"
    rows = [[name, "", "新兴大道200号", "赵六", "13900004444", "112.4505", "23.0331"],
            ["坏电话小店", "", "新兴大道202号", "钱七", "12345", "112.4506", "23.0331"],
            [name + "按址", "", "新兴大道7号", "孙八", "13900005555", "", ""]]  # by address
    with seeded_services.session() as s:
        before = s.scalar(select(func.count()).select_from(Shop))
    output, entry = _entry("shops-report.children")
    reply = _fire(client, output, entry, {
        f"{ids.SHOPS_UPLOAD}.contents": _csv_upload(rows),
        f"{ids.SHOPS_UPLOAD}.filename": "registry.csv",
        f"{ids.SHOPS_DRY_RUN}.value": dry_run, f"{ids.SHOPS_VERSION}.data": 4},
        changed=(f"{ids.SHOPS_UPLOAD}.contents",))
    assert reply.status_code == 200
    response = reply.get_json()["response"]
    report = response[ids.SHOPS_REPORT]["children"]
    failed = [row for row in _walk(report) if row.get("props", {}).get("data-line")]
    assert [row["props"]["data-line"] for row in failed] == ["3"]
    assert "联系电话" in _texts(failed[0])  # the column as the file names it
    assert any("电话号码格式不对" in text for text in _texts(failed[0]))
    counts = {node["props"]["id"]: node["props"]["children"] for node in _walk(report)
              if str(node.get("props", {}).get("id", "")).startswith(f"{ids.SHOPS_REPORT}-")}
    assert counts.pop(f"{ids.SHOPS_REPORT}-approximate")  # placed by its address: check it
    assert counts == {f"{ids.SHOPS_REPORT}-created": "2", f"{ids.SHOPS_REPORT}-updated": "0",
                      f"{ids.SHOPS_REPORT}-unchanged": "0", f"{ids.SHOPS_REPORT}-failed": "1"}
    approx = " ".join(_texts([n for n in _walk(report) if n.get("props", {}).get("id") ==
                              f"{ids.SHOPS_REPORT}-approximate"]))
    assert "4" in approx and "按地址估算位置" in approx and "新兴大道7号" in approx
    assert response[ids.SHOPS_UPLOAD]["contents"] is None  # the same file may be chosen again
    assert response[ids.SHOPS_VERSION]["data"] == 5
    with seeded_services.session() as s:
        after = s.scalar(select(func.count()).select_from(Shop))
        shop = s.scalar(select(Shop).where(Shop.name == name))
        assert s.scalar(select(Shop).where(Shop.name == "坏电话小店")) is None
    if dry_run:
        assert after == before and shop is None
    else:
        assert after == before + 2
        assert shop.owner_phone == "13900004444" and shop.grid_code and shop.qr_token


def test_an_unreadable_file_is_refused_with_its_reason(client, seeded_services) -> None:
    _sign_in(client, "command01")
    output, entry = _entry("shops-report.children")
    for contents, filename, expected in (
            ("data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4").decode(),
             "plaques.pdf", ".pdf"),
            ("data:text/csv;base64,@@not-base64@@", "x.csv", "上传内容无法读取"),
            ("data:text/csv;base64," + base64.b64encode("地址\n新兴大道1号\n".encode()).decode(),
             "x.csv", "文件无法导入")):
        reply = _fire(client, output, entry, {f"{ids.SHOPS_UPLOAD}.contents": contents,
                                              f"{ids.SHOPS_UPLOAD}.filename": filename},
                      changed=(f"{ids.SHOPS_UPLOAD}.contents",))
        assert reply.status_code == 200
        text = " ".join(_texts(reply.get_json()["response"][ids.SHOPS_REPORT]))
        assert expected in text and "文件无法导入" in text, text


def test_revoke_asks_then_reissues_the_token_as_the_signed_in_user(
        client, seeded_services) -> None:
    _sign_in(client, "admin")
    code = "S00000005"
    with seeded_services.session() as s:
        shop = s.scalar(select(Shop).where(Shop.code == code))
        old, name = shop.qr_token, shop.name
        admin_id = s.scalar(select(User.id).where(User.username == "admin"))

    output, entry = _entry("shops-modal-body.children")
    button = {"type": ids.SHOPS_REVOKE, "code": code}
    reply = _fire(client, output, entry, {
        entry["inputs"][0]["id"] + ".n_clicks": [
            {"id": button, "property": "n_clicks", "value": 1}]},
        changed=(json.dumps(button, sort_keys=True, separators=(",", ":")) + ".n_clicks",))
    response = reply.get_json()["response"]
    assert response[ids.SHOPS_PENDING]["data"] == code
    assert response[ids.SHOPS_MODAL]["is_open"] is True
    assert name in response[ids.SHOPS_MODAL_BODY]["children"]
    with seeded_services.session() as s:  # asking changed nothing
        assert s.scalar(select(Shop.qr_token).where(Shop.code == code)) == old

    output, entry = _entry("shops-message.children")
    reply = _fire(client, output, entry, {f"{ids.SHOPS_CONFIRM}.n_clicks": 1,
                                          f"{ids.SHOPS_PENDING}.data": code,
                                          f"{ids.SHOPS_VERSION}.data": 0},
                  changed=(f"{ids.SHOPS_CONFIRM}.n_clicks",))
    response = reply.get_json()["response"]
    assert response[ids.SHOPS_MODAL]["is_open"] is False
    assert response[ids.SHOPS_VERSION]["data"] == 1
    with seeded_services.session() as s:
        new = s.scalar(select(Shop.qr_token).where(Shop.code == code))
        record = s.get(ShopToken, old)
        current = s.get(ShopToken, new)
        assert new != old and len(new) >= 32
        assert record.revoked_at is not None and record.revoked_by == admin_id
        assert current.revoked_at is None and current.shop_id == record.shop_id
    url = f"{seeded_services.settings.public_url.rstrip('/')}/s/{new}"
    assert url in _texts(response[ids.SHOPS_MESSAGE])

    reply = _fire(client, output, entry, {f"{ids.SHOPS_CONFIRM}.n_clicks": 2,
                                          f"{ids.SHOPS_PENDING}.data": "S99999999"},
                  changed=(f"{ids.SHOPS_CONFIRM}.n_clicks",))
    assert "S99999999" in " ".join(_texts(reply.get_json()["response"][ids.SHOPS_MESSAGE]))


def _walk(node: Any) -> list[dict[str, Any]]:
    """Every serialised component (a dict with ``props``) inside ``node``."""
    found: list[dict[str, Any]] = []
    if isinstance(node, list):
        for item in node:
            found += _walk(item)
    elif isinstance(node, dict):
        if "props" in node:
            found.append(node)
        for value in node.values():
            found += _walk(value)
    return found
