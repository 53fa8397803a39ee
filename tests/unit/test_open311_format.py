"""Open311 GeoReport v2 format layer: schemas, XML shapes, POST validation, filters, status.

JSON output is checked against the schemas in ``tests/schemas/georeport_v2`` (written from the
spec); XML against the spec's element names; and both through ``georeport``, a third-party
GeoReport v2 client from PyPI, whose HTTP calls are answered in-process by ``render``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from api.open311_format import (
    CITIZEN_COMPONENT_CODES,
    MAX_REQUESTS,
    WINDOW,
    Attribute,
    AttributeValue,
    Error,
    Filters,
    NewRequest,
    Service,
    discovery,
    format_datetime,
    http_status,
    open311_status,
    parse_post_request,
    parse_request_filters,
    parse_service_code,
    post_response,
    render,
    request_to_open311,
    service_code_for,
    services_from_catalogue,
)
from data.config import load_catalogue

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas" / "georeport_v2"
NOW = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)
CST = timezone(timedelta(hours=8))
SERVICE_KEYS = {"service_code", "service_name", "description", "metadata", "type", "keywords",
                "group"}
REQUEST_KEYS = {"service_request_id", "status", "status_notes", "service_name", "service_code",
                "description", "agency_responsible", "service_notice", "requested_datetime",
                "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                "lat", "long", "media_url"}


def validate(name: str, body: bytes) -> Any:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    data = json.loads(body.decode("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)
    return data


def xml_root(body: bytes) -> ET.Element:
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(body)


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def services(catalogue) -> list[Service]:
    return services_from_catalogue(catalogue.event_types, catalogue.component_types, "en")


@pytest.fixture(scope="module")
def services_zh(catalogue) -> list[Service]:
    return services_from_catalogue(catalogue.event_types, catalogue.component_types, "zh-CN")


def by_code(services: list[Service]) -> dict[str, Service]:
    return {s.service_code: s for s in services}


# -- services ----------------------------------------------------------------------------


def test_service_codes_cover_every_event_and_the_citizen_components(catalogue, services):
    codes = [s.service_code for s in services]
    assert codes[: len(catalogue.event_types)] == ["E" + t.code for t in catalogue.event_types]
    components = {c[1:] for c in codes if c.startswith("C")}
    assert components == CITIZEN_COMPONENT_CODES & {t.code for t in catalogue.component_types}
    assert {"C0101", "C0122", "C0305", "C0308"} <= set(codes)  # covers, lights, signs, bins
    assert "C0125" not in codes and "C0603" not in codes  # cameras, monitoring points
    assert len(codes) == len(set(codes))


def test_service_code_helpers_round_trip():
    assert service_code_for("event", "0503") == "E0503"
    assert service_code_for("component", "0101") == "C0101"
    assert parse_service_code("E0503") == ("event", "0503")
    assert parse_service_code("C0101") == ("component", "0101")
    assert parse_service_code("X0101") is None and parse_service_code("E05") is None


def test_metadata_is_true_only_where_a_definition_has_attributes(services):
    found = by_code(services)
    assert found["C0308"].metadata and found["C0308"].attributes
    assert found["E0503"].metadata
    assert not found["E0101"].metadata and found["E0101"].attributes == ()
    for s in services:
        assert s.to_open311()["metadata"] is bool(s.attributes)
        assert s.type == "realtime"


def test_group_and_keywords_come_from_the_major_class(services, services_zh):
    en, zh = by_code(services)["E0503"], by_code(services_zh)["E0503"]
    assert en.group == "Street order" and zh.group == "街面秩序"
    assert en.service_name == "Disorderly parked non-motor vehicles"
    assert zh.service_name == "非机动车乱停放"
    assert "Street order" in en.keywords and "非机动车乱停放" in en.keywords
    assert by_code(services_zh)["C0308"].group == "市容环境"


def test_services_json_validates_and_xml_has_spec_elements(services_zh):
    body, ctype = render(services_zh, "json", "services")
    assert ctype == "application/json; charset=utf-8"
    data = validate("services", body)
    assert [d["service_code"] for d in data] == [s.service_code for s in services_zh]
    assert all(isinstance(d["service_code"], str) for d in data)

    body, ctype = render(services_zh, "xml", "services")
    assert ctype == "text/xml; charset=utf-8"
    root = xml_root(body)
    assert root.tag == "services"
    assert {child.tag for child in root} == {"service"}
    first = root[0]
    assert {e.tag for e in first} == SERVICE_KEYS
    assert first.findtext("metadata") in ("true", "false")
    assert root.find("service[service_code='C0308']/metadata").text == "true"
    assert root.find("service[service_code='E0101']/service_name").text == "私搭乱建"


def test_service_definition_json_validates_and_xml_has_spec_elements(services):
    service = by_code(services)["C0308"]
    body, _ = render(service.definition_to_open311(), "json", "service_definition")
    data = validate("service_definition", body)
    assert data["service_code"] == "C0308"
    assert data["attributes"][0]["code"] == "bin_problem"
    assert [v["key"] for v in data["attributes"][0]["values"]] == [
        "full", "damaged", "missing", "smell"]

    root = xml_root(render(service.definition_to_open311(), "xml", "service_definition")[0])
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "C0308"
    attribute = root.find("attributes/attribute")
    assert {e.tag for e in attribute} == {"variable", "code", "datatype", "required",
                                          "datatype_description", "order", "description",
                                          "values"}
    assert attribute.findtext("variable") == "true" and attribute.findtext("required") == "true"
    value = attribute.find("values/value")
    assert [e.tag for e in value] == ["key", "name"]
    assert value.findtext("key") == "full"


def test_every_definition_validates(services, services_zh):
    for service in services + services_zh:
        if service.metadata:
            validate("service_definition",
                     render(service.definition_to_open311(), "json", "service_definition")[0])


# -- POST requests -----------------------------------------------------------------------

LIST_SERVICE = Service(
    service_code="T0001", service_name="Test", description="test", keywords="", group="test",
    attributes=(
        Attribute("colours", "multivaluelist", False, "Colours", 2,
                  values=(AttributeValue("r", "Red"), AttributeValue("g", "Green"))),
        Attribute("seen_at", "datetime", False, "When", 1),
        Attribute("note", "string", False, "One line", 3),
        Attribute("info", "text", False, "Shown only", 4, variable=False),
    ),
)


def good_form(**changes: str | None) -> dict[str, str]:
    form = {"api_key": "k1", "service_code": "C0308", "lat": "31.2304", "long": "121.4737",
            "description": "垃圾箱满了\n请清理", "email": "citizen@example.org",
            "phone": "+86 138-0000-0000", "media_url": "https://img.example.org/1.jpg",
            "first_name": "Li", "last_name": "Lei", "device_id": "dev-1", "account_id": "a-9",
            "attribute[bin_problem]": "full"}
    for key, value in changes.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    return form


def test_a_good_post_becomes_a_new_request(services):
    parsed = parse_post_request(good_form(), services)
    assert isinstance(parsed, NewRequest)
    assert parsed.service_code == "C0308" and parsed.api_key == "k1"
    assert (parsed.lon, parsed.lat) == (121.4737, 31.2304)
    assert parsed.description == "垃圾箱满了\n请清理"
    assert parsed.attributes == {"bin_problem": ("full",)}
    assert parsed.email == "citizen@example.org" and parsed.first_name == "Li"


def test_address_string_or_address_id_can_stand_for_lat_long(services):
    parsed = parse_post_request(good_form(lat=None, long=None, address_string="人民路 12 号"),
                                services)
    assert isinstance(parsed, NewRequest)
    assert parsed.lat is None and parsed.address_string == "人民路 12 号"
    parsed = parse_post_request(good_form(lat=None, long=None, address_id="A-77"), services)
    assert isinstance(parsed, NewRequest) and parsed.address_id == "A-77"


def test_empty_optional_fields_count_as_not_sent(services):
    parsed = parse_post_request(good_form(email="", phone=" ", media_url=""), services)
    assert isinstance(parsed, NewRequest)
    assert parsed.email is None and parsed.phone is None and parsed.media_url is None


def test_optional_attribute_can_be_left_out(services):
    form = good_form(service_code="E0503", **{"attribute[bin_problem]": None})
    parsed = parse_post_request(form, services)
    assert isinstance(parsed, NewRequest) and parsed.attributes == {}
    parsed = parse_post_request({**form, "attribute[vehicle_count]": "12"}, services)
    assert parsed.attributes == {"vehicle_count": ("12",)}


def test_multivaluelist_takes_several_values_from_lists_or_a_multidict():
    from werkzeug.datastructures import MultiDict

    base = {"api_key": "k", "service_code": "T0001", "address_string": "x"}
    as_lists = {k: [v] for k, v in base.items()} | {"attribute[colours][]": ["r", "g"],
                                                     "attribute[seen_at]": [
                                                         "2024-05-01T08:30:00+08:00"]}
    parsed = parse_post_request(as_lists, [LIST_SERVICE])
    assert isinstance(parsed, NewRequest)
    assert parsed.attributes == {"colours": ("r", "g"),
                                 "seen_at": ("2024-05-01T08:30:00+08:00",)}
    multi = MultiDict([*base.items(), ("attribute[colours][]", "r"),
                       ("attribute[colours][]", "g")])
    parsed = parse_post_request(multi, [LIST_SERVICE])
    assert isinstance(parsed, NewRequest) and parsed.attributes == {"colours": ("r", "g")}


BAD_FIELDS = [
    # (changes, HTTP code, words the description must contain)
    ({"api_key": None}, 403, "api_key"),
    ({"service_code": None}, 400, "service_code is required"),
    ({"service_code": "C9999"}, 404, "'C9999' was not found"),
    ({"lat": None, "long": None}, 400, "location is required"),
    ({"long": None}, 400, "lat and long must be sent together"),
    ({"lat": "91"}, 400, "lat must be a number between -90 and 90"),
    ({"lat": "nan"}, 400, "lat must be a number"),
    ({"long": "east"}, 400, "long must be a number between -180 and 180"),
    ({"long": "-180.5"}, 400, "long must be a number"),
    ({"description": "x" * 4001}, 400, "description is limited to 4000 characters; 4001"),
    ({"description": "see <script>alert(1)</script>"}, 400, "not HTML"),
    ({"description": "bad\x00byte"}, 400, "description contains control characters"),
    ({"email": "citizen@"}, 400, "is not an email address"),
    ({"email": "a b@example.org"}, 400, "is not an email address"),
    ({"phone": "call me"}, 400, "is not a phone number"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url must be an http:// or https://"),
    ({"media_url": "ftp://example.org/a.jpg"}, 400, "media_url must be an http"),
    ({"media_url": "https://"}, 400, "media_url must be an http"),
    ({"first_name": "Li\nLei"}, 400, "first_name must be a single line"),
    ({"device_id": "d" * 201}, 400, "device_id is limited to 200 characters"),
    ({"attribute[bin_problem]": None}, 400, "attribute[bin_problem] is required"),
    ({"attribute[bin_problem]": "exploded"}, 400, "'exploded' is not one of the keys"),
    ({"attribute[colour]": "red"}, 400, "attribute[colour] is not part of service C0308"),
    ({"attribute[bin_problem][]": "damaged"}, 400, "takes one value, 2 were sent"),
]


@pytest.mark.parametrize(("changes", "code", "words"), BAD_FIELDS,
                         ids=[str(sorted(c)) for c, _, _ in BAD_FIELDS])
def test_each_bad_field_yields_its_error(services, changes, code, words):
    errors = parse_post_request(good_form(**changes), services, lang="en")
    assert isinstance(errors, list) and len(errors) == 1, errors
    assert errors[0].code == code
    assert words in errors[0].description
    assert http_status(errors) == code


def test_bad_attribute_datatypes():
    base = {"api_key": "k", "service_code": "T0001", "address_string": "x"}
    cases = [
        ({"attribute[seen_at]": "yesterday"}, "must be a date and time"),
        ({"attribute[seen_at]": "2024-05-01T08:30:00"}, "must be a date and time"),  # no zone
        ({"attribute[colours][]": ["r", "blue"]}, "'blue' is not one of the keys r, g"),
        ({"attribute[note]": "two\nlines"}, "attribute[note] must be a single line"),
        ({"attribute[info]": "x"}, "attribute[info] is not part of service T0001"),
    ]
    for extra, words in cases:
        errors = parse_post_request({**base, **extra}, [LIST_SERVICE], lang="en")
        assert isinstance(errors, list) and len(errors) == 1, (extra, errors)
        assert words in errors[0].description


def test_number_attribute():
    form = {"api_key": "k", "service_code": "E0401", "address_string": "x"}
    services = [Service("E0401", "Road flooding", "d", "", "g",
                        attributes=(Attribute("water_depth_cm", "number", True, "Depth", 1),))]
    errors = parse_post_request({**form, "attribute[water_depth_cm]": "deep"}, services,
                                lang="en")
    assert [e.description for e in errors] == [
        "attribute[water_depth_cm] must be a number, got 'deep'."]
    assert isinstance(parse_post_request({**form, "attribute[water_depth_cm]": "12.5"},
                                         services), NewRequest)


def test_every_problem_is_reported_at_once_and_403_wins(services):
    errors = parse_post_request({"lat": "100", "long": "0", "email": "x"}, services, lang="en")
    assert {e.code for e in errors} == {403, 400}
    assert len(errors) == 4  # api_key, service_code, lat, email
    assert http_status(errors) == 403
    assert http_status([Error(400, "a"), Error(404, "b")]) == 404


def test_post_errors_in_chinese(services):
    errors = parse_post_request(good_form(lat="91"), services, lang="zh-CN")
    assert errors[0].description.startswith("lat 须为 -90 到 90 之间的数字")


@pytest.mark.parametrize("form", [
    {}, {"service_code": None}, {"service_code": ["C0308", "E0101"]}, {"lat": [], "long": []},
    {"attribute[]": "x", "attribute[[x]]": "y", "attribute": "z"},
    {"service_code": "C0308", "attribute[bin_problem]": ["", "  "]},
    {"service_code": 308, "lat": 1.5, "long": None, "email": 7},
    {"service_code": "\ud800", "lat": "1e999", "long": "-inf", "media_url": "http://[::1"},
])
def test_never_raises_on_bad_input(services, form):
    result = parse_post_request(form, services)
    assert isinstance(result, list) and result
    assert all(isinstance(e, Error) and e.code in (400, 403, 404) for e in result)


def test_errors_render_as_spec_errors(services):
    errors = parse_post_request({}, services, lang="en")
    body, _ = render(errors, "json", "errors")
    data = validate("errors", body)
    assert data[0] == {"code": 403, "description": errors[0].description}
    root = xml_root(render(errors, "xml", "errors")[0])
    assert root.tag == "errors" and {e.tag for e in root} == {"error"}
    assert [e.tag for e in root[0]] == ["code", "description"]
    assert root[0].findtext("code") == "403"


def test_post_response_has_an_id_or_a_token():
    body, _ = render(post_response("C240601001", service_notice="48 小时内处理"), "json",
                     "service_requests")
    data = validate("post_requests_response", body)
    assert data == [{"service_request_id": "C240601001", "service_notice": "48 小时内处理",
                     "account_id": None}]
    data = validate("post_requests_response",
                    render(post_response(token="t-123"), "json", "service_requests")[0])
    assert data[0]["token"] == "t-123" and "service_request_id" not in data[0]
    root = xml_root(render(post_response(token="t-123"), "xml", "service_requests")[0])
    assert root.tag == "service_requests"
    assert [e.tag for e in root.find("request")] == ["token", "service_notice", "account_id"]
    with pytest.raises(ValueError):
        post_response("C1", token="t")
    with pytest.raises(ValueError):
        post_response()


# -- GET requests filters ----------------------------------------------------------------


def test_default_window_is_the_last_90_days():
    filters = parse_request_filters({}, NOW)
    assert filters == Filters(start=NOW - WINDOW, end=NOW)
    assert filters.statuses == ("open", "closed") and filters.limit == MAX_REQUESTS == 1000


def test_one_date_sets_the_other_90_days_away():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_request_filters({"start_date": "2024-01-01T00:00:00Z"}, NOW).end == start + WINDOW
    end = datetime(2024, 3, 1, 8, 0, tzinfo=CST)
    filters = parse_request_filters({"end_date": "2024-03-01T08:00:00+08:00"}, NOW)
    assert filters.end == end and filters.start == end - WINDOW


def test_a_window_within_90_days_is_kept():
    filters = parse_request_filters({"start_date": "2010-05-24T00:00:00Z",
                                     "end_date": "2010-06-24T00:00:00Z"}, NOW)
    assert filters.start == datetime(2010, 5, 24, tzinfo=UTC)
    assert filters.end == datetime(2010, 6, 24, tzinfo=UTC)
    exactly = parse_request_filters({"start_date": "2024-01-01T00:00:00Z",
                                     "end_date": "2024-03-31T00:00:00Z"}, NOW)
    assert isinstance(exactly, Filters) and exactly.end - exactly.start == WINDOW


@pytest.mark.parametrize(("args", "words"), [
    ({"start_date": "2024-01-01T00:00:00Z", "end_date": "2024-04-01T00:00:00Z"},
     "may not span more than 90 days"),
    ({"start_date": "2024-02-01T00:00:00Z", "end_date": "2024-01-01T00:00:00Z"},
     "start_date is after end_date"),
    ({"start_date": "yesterday"}, "start_date must be a W3C date-time"),
    ({"end_date": "2024-01-01T00:00:00"}, "end_date must be a W3C date-time"),  # no zone
    ({"end_date": "2024-13-01T00:00:00Z"}, "end_date must be a W3C date-time"),
    ({"status": "pending"}, "status must be open, closed or both"),
    ({"status": ","}, "status must be"),
    ({"service_code": "E0503;drop"}, "service_code must be a comma separated list"),
    ({"service_request_id": "C1,<x>"}, "service_request_id must be a comma separated list"),
    ({"service_request_id": ",".join(f"C{i}" for i in range(1001))}, "At most 1000"),
])
def test_bad_filters_are_400(args, words):
    errors = parse_request_filters(args, NOW, lang="en")
    assert isinstance(errors, list) and len(errors) == 1
    assert errors[0].code == 400 and words in errors[0].description


def test_status_and_service_code_lists():
    filters = parse_request_filters({"status": "closed", "service_code": "E0503, C0308,E0503"},
                                    NOW)
    assert filters.statuses == ("closed",)
    assert filters.service_codes == ("E0503", "C0308")
    assert parse_request_filters({"status": "Closed,open"}, NOW).statuses == ("open", "closed")
    assert parse_request_filters({"status": ""}, NOW).statuses == ("open", "closed")


def test_service_request_id_overrides_every_other_argument():
    filters = parse_request_filters({"service_request_id": "C1, C2,C1", "status": "nonsense",
                                     "start_date": "bad"}, NOW)
    assert filters == Filters(service_request_ids=("C1", "C2"))
    assert filters.start is None and filters.end is None


def test_filters_need_an_aware_now():
    with pytest.raises(ValueError):
        parse_request_filters({}, datetime(2024, 1, 1))


# -- requests ----------------------------------------------------------------------------


def case(**changes: Any) -> dict[str, Any]:
    base = {"id": 7, "code": "C240601001", "state": "dispatched", "state_category": "open",
            "category": {"service_code": "E0503", "name": "非机动车乱停放"},
            "description": "人行道上停满了共享单车", "address": "人民路 12 号",
            "lon": 121.4737, "lat": 31.2304,
            "reported_at": datetime(2024, 6, 1, 1, 2, 3, 456789, tzinfo=UTC),
            "updated_at": datetime(2024, 6, 2, 4, 0, tzinfo=UTC),
            "expected_at": datetime(2024, 6, 3, 4, 0, tzinfo=UTC),
            "department_name": "城管执法局", "status_notes": None,
            "media_url": "https://img.example.org/1.jpg"}
    base.update(changes)
    return base


@pytest.mark.parametrize(("state", "category", "status"), [
    ("reported", "open", "open"), ("handled", "open", "open"), ("suspended", "open", "open"),
    ("closed", "closed", "closed"), ("declined", "hidden", "closed"), ("void", "hidden", "closed"),
])
def test_state_category_maps_to_open_or_closed(state, category, status):
    out = request_to_open311(case(state=state, state_category=category))
    assert out["status"] == status
    assert open311_status(category) == status


def test_unknown_state_category_is_a_programming_error():
    with pytest.raises(ValueError):
        open311_status("pending")


def test_request_fields_and_datetimes():
    out = request_to_open311(case())
    assert set(out) == REQUEST_KEYS
    assert out["service_request_id"] == "C240601001" and out["service_code"] == "E0503"
    assert out["service_name"] == "非机动车乱停放"
    assert out["agency_responsible"] == "城管执法局"
    assert out["requested_datetime"] == "2024-06-01T01:02:03+00:00"
    assert out["expected_datetime"] == "2024-06-03T04:00:00+00:00"
    assert (out["long"], out["lat"]) == (121.4737, 31.2304)
    assert out["status_notes"] == "已派遣至责任部门。"
    local = request_to_open311(case(), tz=CST, lang="en")
    assert local["requested_datetime"] == "2024-06-01T09:02:03+08:00"
    assert local["status_notes"] == "Sent to the responsible department."


def test_status_notes_reflect_the_last_public_event():
    out = request_to_open311(case(state="closed", state_category="closed",
                                  status_notes="已清理，车辆已移至停放区。"))
    assert out["status"] == "closed" and out["status_notes"] == "已清理，车辆已移至停放区。"


def test_service_code_from_the_category_kind_and_naive_times_are_utc():
    out = request_to_open311(case(category=None, category_kind="component",
                                  category_code="0308", service_name="垃圾箱",
                                  reported_at=datetime(2024, 6, 1, 8, 0), updated_at=None,
                                  expected_at=None, lon=None, lat=None))
    assert out["service_code"] == "C0308" and out["service_name"] == "垃圾箱"
    assert out["requested_datetime"] == out["updated_datetime"] == "2024-06-01T08:00:00+00:00"
    assert out["expected_datetime"] is None and out["lat"] is None
    assert format_datetime("2024-06-01T08:00:00.5Z") == "2024-06-01T08:00:00+00:00"


def test_requests_json_validates_and_xml_has_spec_elements():
    payload = [request_to_open311(case()),
               request_to_open311(case(code="C2", state="closed", state_category="closed",
                                       description=None, expected_at=None))]
    data = validate("service_requests", render(payload, "json", "service_requests")[0])
    assert [d["status"] for d in data] == ["open", "closed"]
    root = xml_root(render(payload, "xml", "service_requests")[0])
    assert root.tag == "service_requests" and [e.tag for e in root] == ["request", "request"]
    assert {e.tag for e in root[0]} == REQUEST_KEYS
    assert root[0].findtext("long") == "121.4737"
    assert root[1].findtext("status") == "closed"
    assert root[1].find("description").text is None  # null → empty element


def test_schema_refuses_what_the_spec_forbids():
    bad = [{**request_to_open311(case()), "status": "pending"}]
    with pytest.raises(jsonschema.ValidationError):
        validate("service_requests", json.dumps(bad).encode())
    bad = [{**request_to_open311(case()), "requested_datetime": "2024-06-01 01:02:03"}]
    with pytest.raises(jsonschema.ValidationError):
        validate("service_requests", json.dumps(bad).encode())
    with pytest.raises(jsonschema.ValidationError):
        validate("post_requests_response",
                 json.dumps([{"service_request_id": "1", "token": "2"}]).encode())


# -- discovery and render ----------------------------------------------------------------


def test_discovery_json_validates_and_xml_has_spec_elements():
    doc = discovery("https://city.example.org/open311/v2", changeset="2024-06-01 00:00",
                    contact="热线 12345", key_service="向城管局申请 API key")
    data = validate("discovery", render(doc, "json", "discovery")[0])
    assert data["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    root = xml_root(render(doc, "xml", "discovery")[0])
    assert [e.tag for e in root] == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = root.find("endpoints/endpoint")
    assert [e.text for e in endpoint.findall("formats/format")] == ["text/xml",
                                                                     "application/json"]


def test_render_refuses_unknown_formats_roots_and_shapes(services):
    with pytest.raises(ValueError):
        render(services, "yaml", "services")
    with pytest.raises(ValueError):
        render(services, "json", "cases")
    with pytest.raises(ValueError):
        render({"service_code": "x"}, "xml", "services")


def test_xml_is_utf8_and_drops_characters_xml_cannot_carry():
    payload = [request_to_open311(case(description="井盖\x01丢失 & <危险>"))]
    body, _ = render(payload, "xml", "service_requests")
    assert "井盖".encode() in body
    assert xml_root(body).findtext("request/description") == "井盖丢失 & <危险>"


# -- a third-party GeoReport v2 client reads what we render --------------------------------

ROOT_URL = "http://onegrid.test/open311/v2"


@pytest.fixture
def client_server(monkeypatch, services):
    """Answer the ``georeport`` client's HTTP GETs in-process with ``render`` output."""
    georeport = pytest.importorskip("georeport", reason="pip install -r requirements-dev.txt")
    import georeport.georeport as client_module
    import requests

    cases = [request_to_open311(case()),
             request_to_open311(case(code="C2", state="closed", state_category="closed",
                                     category={"service_code": "C0308", "name": "垃圾箱"}))]
    seen: list[dict[str, Any]] = []

    def fake_get(url: str, params: dict[str, str] | None = None, **_: Any):
        seen.append(dict(params or {}))
        stem, fmt = url.removeprefix(ROOT_URL + "/").rsplit(".", 1)
        status = 200
        if stem == "services":
            body, ctype = render(services, fmt, "services")
        elif stem.startswith("services/"):
            body, ctype = render(by_code(services)[stem.split("/")[1]].definition_to_open311(),
                                 fmt, "service_definition")
        elif stem.startswith("requests/"):
            wanted = stem.split("/")[1]
            body, ctype = render([c for c in cases if c["service_request_id"] == wanted], fmt,
                                 "service_requests")
        else:
            filters = parse_request_filters(params or {}, NOW, lang="en")
            if isinstance(filters, list):
                status = http_status(filters)
                body, ctype = render(filters, fmt, "errors")
            else:
                found = [c for c in cases if c["status"] in filters.statuses
                         and (not filters.service_codes
                              or c["service_code"] in filters.service_codes)]
                body, ctype = render(found, fmt, "service_requests")
        response = requests.Response()
        response.status_code, response.url, response.encoding = status, url, "utf-8"
        response.headers["Content-Type"] = ctype
        response._content = body
        return response

    monkeypatch.setattr(client_module.requests, "get", fake_get)
    return georeport.GeoReport, cases, seen


def test_georeport_client_reads_services_in_json_and_xml(client_server, services):
    geo_report, _, _ = client_server
    as_json = geo_report(ROOT_URL).get_service_list()
    assert as_json == [s.to_open311() for s in services]
    as_xml = geo_report(ROOT_URL, output_format="xml").get_service_list()
    assert [s["service_code"] for s in as_xml] == [s.service_code for s in services]
    assert as_xml[0]["metadata"] == "false" and as_xml[0]["type"] == "realtime"

    definition = geo_report(ROOT_URL).get_service_definition("C0308")
    assert definition == by_code(services)["C0308"].definition_to_open311()
    from_xml = geo_report(ROOT_URL, output_format="xml").get_service_definition("C0308")
    assert from_xml["attributes"]["attribute"]["code"] == "bin_problem"


def test_georeport_client_queries_requests_through_our_filters(client_server):
    geo_report, cases, seen = client_server
    client = geo_report(ROOT_URL)
    assert client.get_service_requests() == cases
    assert client.get_service_requests(status="open") == [cases[0]]
    assert seen[-1] == {"status": "open"}
    assert client.get_service_requests(service_code="C0308,E0101") == [cases[1]]
    one = geo_report(ROOT_URL, output_format="xml").get_service_request("C2")
    assert one["service_request_id"] == "C2" and one["status"] == "closed"
    assert client.get_service_request("C240601001") == cases[0]


def test_georeport_client_sees_a_400_for_a_bad_query(client_server):
    import requests

    geo_report, _, _ = client_server
    with pytest.raises(requests.HTTPError) as caught:
        geo_report(ROOT_URL).get_service_requests(status="pending")
    assert caught.value.response.status_code == 400
    assert "status must be open, closed" in caught.value.response.json()[0]["description"]
