"""Open311 GeoReport v2 (/open311/v2) through Flask's test client on the real app, SQLite and
PostgreSQL: every answer checked against tests/schemas/georeport_v2 (JSON) and the spec's
element names (XML); POST needs a valid api_key; a posted request is a case that the GETs follow
to closed; and the third-party ``georeport`` client reads the live routes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import func, select

from data.accounts import create_token, create_user
from data.cases import actor_for, events_of, transition
from data.models import Case, Department, UnitGrid, User

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas" / "georeport_v2"
PHOTO = {"sha256": "c" * 64, "mime": "image/jpeg"}
BASE = "/open311/v2"




@pytest.fixture(scope="module")
def keys(seeded_services) -> dict[str, str]:
    """API keys: an integration account that may not report itself (its requests are the
    citizens'), and the command center's."""
    with seeded_services.transaction() as s:
        create_user(s, "hotline12345", "handler", None, display_name="12345 热线")
        return {"hotline": create_token(s, "hotline12345", "open311"),
                "command": create_token(s, "command01", "open311")}


@pytest.fixture(scope="module")
def place(seeded_services) -> tuple[float, float, str]:
    with seeded_services.session() as s:
        grid = s.scalar(select(UnitGrid).where(UnitGrid.inspector_id.is_not(None),
                                               UnitGrid.code.like("449902%"))
                        .order_by(UnitGrid.code).limit(1))
        p = grid.geom.representative_point()
        return p.x, p.y, grid.code


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))


def check_json(name: str, response) -> Any:
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    data = json.loads(response.get_data(as_text=True))
    jsonschema.Draft202012Validator(schema(name)).validate(data)
    return data


def _check_element(element: ET.Element, spec: dict[str, Any]) -> None:
    tags = [child.tag for child in element]
    assert len(tags) == len(set(tags)), tags
    assert set(spec.get("required", ())) <= set(tags), (element.tag, tags)
    assert set(tags) <= set(spec["properties"]), (element.tag, tags)


def check_xml(name: str, response, root: str, item: str | None = None) -> ET.Element:
    """The XML answer has the spec's root and item elements, each with the schema's required
    fields and nothing else."""
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    body = response.get_data()
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    element = ET.fromstring(body)
    spec = schema(name)
    assert element.tag == root
    if item is None:
        _check_element(element, spec)
    else:
        assert {child.tag for child in element} <= {item}
        for child in element:
            _check_element(child, spec["items"])
    return element


def get(client, path: str, **params: Any):
    return client.get(BASE + path, query_string=params)


def post(client, fmt: str = "json", **form: Any):
    return client.post(f"{BASE}/requests.{fmt}", data=form,
                       headers={"Origin": "https://partner.example.org"})


def open311_cases(services) -> int:
    with services.session() as s:
        return s.scalar(select(func.count()).select_from(Case)
                        .where(Case.source == "open311")) or 0


# -- discovery and services -------------------------------------------------------------------
def test_discovery_in_json_and_xml_without_signing_in(client) -> None:
    data = check_json("discovery", get(client, "/discovery.json"))
    assert data["endpoints"][0]["url"].endswith("/open311/v2")
    check_xml("discovery", get(client, "/discovery.xml"), "discovery")


def test_services_and_a_definition(client) -> None:
    response = get(client, "/services.json")
    assert response.status_code == 200
    services = check_json("services", response)
    codes = [s["service_code"] for s in services]
    assert "E0503" in codes and "C0101" in codes and "C0125" not in codes
    root = check_xml("services", get(client, "/services.xml"), "services", "service")
    assert [e.findtext("service_code") for e in root] == codes
    en = check_json("services", get(client, "/services.json", locale="en"))
    assert next(s for s in en if s["service_code"] == "E0503")["service_name"] == \
        "Disorderly parked non-motor vehicles"

    definition = check_json("service_definition", get(client, "/services/C0308.json"))
    assert definition["attributes"][0]["code"] == "bin_problem"
    check_xml("service_definition", get(client, "/services/C0308.xml"), "service_definition")
    missing = get(client, "/services/E9999.json")
    assert missing.status_code == 404 and "E9999" in check_json("errors", missing)[0][
        "description"]
    missing = get(client, "/services/E9999.xml")
    assert missing.status_code == 404
    check_xml("errors", missing, "errors", "error")


# -- POST requests -----------------------------------------------------------------------------
def test_post_without_or_with_a_bad_api_key_is_403(client, place, seeded_services) -> None:
    lon, lat, _ = place
    before = open311_cases(seeded_services)
    form = {"service_code": "E0503", "lat": lat, "long": lon, "description": "共享单车堆满人行道"}
    for fmt in ("json", "xml"):
        for key in (None, "og_not-a-key", "not-even-a-token"):
            response = post(client, fmt, **form, **({"api_key": key} if key else {}))
            assert response.status_code == 403, (fmt, key)
            if fmt == "json":
                assert "api_key" in check_json("errors", response)[0]["description"]
            else:
                check_xml("errors", response, "errors", "error")
    assert open311_cases(seeded_services) == before


def test_a_bad_post_with_a_good_key_is_400(client, keys, seeded_services) -> None:
    before = open311_cases(seeded_services)
    response = post(client, api_key=keys["hotline"], service_code="E0503",
                    description="no place given")
    assert response.status_code == 400
    assert "location" in check_json("errors", response)[0]["description"].lower() or \
        "位置" in check_json("errors", response)[0]["description"]
    response = post(client, "xml", api_key=keys["hotline"], service_code="X1", lat=1, long=2)
    assert response.status_code == 404
    check_xml("errors", response, "errors", "error")
    assert open311_cases(seeded_services) == before


def test_a_posted_request_is_followed_to_closed(client, keys, place, seeded_services) -> None:
    lon, lat, grid = place
    response = post(client, api_key=keys["hotline"], service_code="E0503", lat=lat, long=lon,
                    description="共享单车堆满人行道", email="li@example.org",
                    first_name="李", last_name="雷", phone="+86 138 0000 0000",
                    account_id="acct-42", media_url="https://img.example.org/a.jpg",
                    **{"attribute[vehicle_count]": "30"})
    assert response.status_code == 200, response.get_data(as_text=True)
    posted = check_json("post_requests_response", response)
    code = posted[0]["service_request_id"]
    assert posted[0]["account_id"] == "acct-42"
    with seeded_services.session() as s:
        case = s.scalar(select(Case).where(Case.code == code))
        assert case.source == "open311" and case.status == "reported"
        assert case.grid_code == grid and case.category_code == "0503"
        assert case.external_id == "acct-42" and "li@example.org" in case.reporter_contact
        event = events_of(s, case.id)[0]
        assert event.actor_role == "citizen" and event.actor_id is None
        assert event.data["open311"]["attributes"] == {"vehicle_count": ["30"]}
        case_id = case.id

    listed = check_json("service_requests", get(client, "/requests.json"))
    mine = next(r for r in listed if r["service_request_id"] == code)
    assert mine["status"] == "open" and mine["service_code"] == "E0503"
    assert mine["status_notes"] == "已受理上报，等待立案。"
    assert mine["media_url"] == "https://img.example.org/a.jpg"
    assert mine["lat"] == pytest.approx(lat) and mine["long"] == pytest.approx(lon)
    assert mine["requested_datetime"].endswith("+08:00")
    assert "li@example.org" not in json.dumps(listed, ensure_ascii=False)  # contact stays
    root = check_xml("service_requests", get(client, "/requests.xml"), "service_requests",
                     "request")
    assert code in [e.findtext("service_request_id") for e in root]
    assert code in {r["service_request_id"] for r in check_json(
        "service_requests", get(client, "/requests.json", service_code="E0503,C0101"))}
    assert code not in {r["service_request_id"] for r in check_json(
        "service_requests", get(client, "/requests.json", service_code="C0101"))}

    note = "已清理，感谢市民反馈"
    with seeded_services.transaction() as s:
        command = actor_for(s, s.scalar(select(User).where(User.username == "command01")))
        handler = actor_for(s, s.scalar(select(User).where(User.username == "handler_d03")))
        d03 = s.scalar(select(Department.id).where(Department.code == "D03"))
        cfg = seeded_services.cases
        transition(s, cfg, case_id, "register", command)
        transition(s, cfg, case_id, "dispatch", command, data={"department_id": d03})
        transition(s, cfg, case_id, "accept", handler)
        transition(s, cfg, case_id, "feedback", handler, note="已清运", attachments=[PHOTO])
        transition(s, cfg, case_id, "verify_pass", command)
        transition(s, cfg, case_id, "close", command, note=note)

    one = check_json("service_requests", get(client, f"/requests/{code}.json"))
    assert len(one) == 1 and one[0]["status"] == "closed" and one[0]["status_notes"] == note
    assert one[0]["agency_responsible"] and one[0]["expected_datetime"] is None
    root = check_xml("service_requests", get(client, f"/requests/{code}.xml"),
                     "service_requests", "request")
    assert root.findtext("request/status") == "closed"
    assert root.findtext("request/status_notes") == note
    closed = check_json("service_requests", get(client, "/requests.json", status="closed"))
    assert code in {r["service_request_id"] for r in closed}
    still_open = check_json("service_requests", get(client, "/requests.json", status="open"))
    assert code not in {r["service_request_id"] for r in still_open}


def test_a_staff_key_reports_as_its_user(client, keys, place, seeded_services) -> None:
    lon, lat, _ = place
    response = post(client, "xml", api_key=keys["command"], service_code="C0101", lat=lat,
                    long=lon, **{"attribute[cover_problem]": "missing"})
    assert response.status_code == 200
    root = check_xml("post_requests_response", response, "service_requests", "request")
    code = root.findtext("request/service_request_id")
    with seeded_services.session() as s:
        case = s.scalar(select(Case).where(Case.code == code))
        command01 = s.scalar(select(User.id).where(User.username == "command01"))
        assert case.reporter_id == command01
        assert events_of(s, case.id)[0].actor_role == "command"


def test_hidden_cases_are_never_listed(client, keys, place, seeded_services) -> None:
    lon, lat, _ = place
    response = post(client, api_key=keys["hotline"], service_code="E0101", lat=lat, long=lon,
                    description="测试：作废的上报")
    code = check_json("post_requests_response", response)[0]["service_request_id"]
    with seeded_services.transaction() as s:
        case = s.scalar(select(Case).where(Case.code == code))
        command = actor_for(s, s.scalar(select(User).where(User.username == "command01")))
        transition(s, seeded_services.cases, case, "void", command, reason="误报",
                   note="重复提交，已作废")
    for params in ({}, {"status": "closed"}, {"service_request_id": code}):
        listed = check_json("service_requests", get(client, "/requests.json", **params))
        assert code not in {r["service_request_id"] for r in listed}, params
    one = check_json("service_requests", get(client, f"/requests/{code}.json"))
    assert one[0]["status"] == "closed" and one[0]["status_notes"] == "重复提交，已作废"


def test_listing_is_newest_first_and_bad_queries_are_errors(client, keys, place) -> None:
    listed = check_json("service_requests", get(client, "/requests.json"))
    stamps = [r["requested_datetime"] for r in listed]
    assert stamps == sorted(stamps, reverse=True) and len(listed) >= 2
    for params in ({"status": "pending"}, {"start_date": "yesterday"},
                   {"start_date": "2024-01-01T00:00:00Z", "end_date": "2024-12-31T00:00:00Z"}):
        response = get(client, "/requests.json", **params)
        assert response.status_code == 400, params
        check_json("errors", response)
        check_xml("errors", get(client, "/requests.xml", **params), "errors", "error")
    response = get(client, "/requests/NO-SUCH-CODE.json")
    assert response.status_code == 404 and check_json("errors", response)
    response = get(client, "/nothing-here.json")
    assert response.status_code == 404 and check_json("errors", response)
    response = client.delete(f"{BASE}/requests.json")
    assert response.status_code == 405
    assert check_json("errors", response)[0]["code"] == 405


# -- a third-party client ----------------------------------------------------------------------
def test_the_georeport_client_reads_services_and_requests(client, monkeypatch, keys,
                                                          place) -> None:
    georeport = pytest.importorskip("georeport", reason="pip install -r requirements-dev.txt")
    import georeport.georeport as client_module
    import requests

    root_url = "http://localhost" + BASE

    def routed_get(url: str, params: dict[str, str] | None = None, **_: Any):
        answer = client.get(url.removeprefix("http://localhost"), query_string=params or {})
        response = requests.Response()
        response.status_code, response.url, response.encoding = answer.status_code, url, "utf-8"
        response.headers["Content-Type"] = answer.headers["Content-Type"]
        response._content = answer.get_data()
        return response

    monkeypatch.setattr(client_module.requests, "get", routed_get)
    lon, lat, _ = place
    posted = post(client, api_key=keys["hotline"], service_code="C0308", lat=lat, long=lon,
                  **{"attribute[bin_problem]": "full"})
    code = check_json("post_requests_response", posted)[0]["service_request_id"]

    api = georeport.GeoReport(root_url)
    services = api.get_service_list()
    assert "C0308" in [s["service_code"] for s in services]
    assert api.get_service_definition("C0308")["attributes"][0]["code"] == "bin_problem"
    as_xml = georeport.GeoReport(root_url, output_format="xml")
    assert [s["service_code"] for s in as_xml.get_service_list()] == \
        [s["service_code"] for s in services]
    found = api.get_service_requests(service_code="C0308", status="open")
    assert code in [r["service_request_id"] for r in found]
    assert api.get_service_request(code)["status"] == "open"
    assert as_xml.get_service_request(code)["service_code"] == "C0308"
    with pytest.raises(requests.HTTPError) as caught:
        api.get_service_requests(status="pending")
    assert caught.value.response.status_code == 400
