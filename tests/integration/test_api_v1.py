"""The JSON API (/api/v1) through Flask's test client on the real app, SQLite and PostgreSQL:
authentication, who sees which cases, refusals that change nothing, the closed loop driven by
each role's token, paging and filters, and JSON errors (never an HTML page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from data.accounts import create_token
from data.cases import SYSTEM, actor_for, events_of, report_case
from data.models import Case, UnitGrid, User

PHOTO = {"sha256": "b" * 64, "mime": "image/jpeg"}
PAST = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Asia/Shanghai




@dataclass
class City:
    """Users, their tokens and the grids the tests work in."""

    tokens: dict[str, str]
    grid_a: str  # in district 449902, inspected by ``inspector_a``
    grid_b: str  # in district 449903, inspected by ``inspector_b``
    inspector_a: str
    inspector_b: str
    lonlat_a: tuple[float, float]


@pytest.fixture(scope="module")
def city(seeded_services) -> City:
    with seeded_services.transaction() as s:
        def grid_in(district: str, other_than: int | None = None) -> UnitGrid:
            stmt = select(UnitGrid).where(UnitGrid.inspector_id.is_not(None),
                                          UnitGrid.code.like(f"{district}%"))
            if other_than is not None:
                stmt = stmt.where(UnitGrid.inspector_id != other_than)
            return s.scalar(stmt.order_by(UnitGrid.code).limit(1))

        a = grid_in("449902")
        b = grid_in("449903", other_than=a.inspector_id)
        ins_a, ins_b = s.get(User, a.inspector_id).username, s.get(User, b.inspector_id).username
        names = ["command01", "leader01", "admin", "handler_d03", "handler_d05", "handler_d06",
                 ins_a, ins_b]
        tokens = {n: create_token(s, n, "tests") for n in names}
        p = a.geom.representative_point()
        return City(tokens, a.code, b.code, ins_a, ins_b, (p.x, p.y))


def call(client, method: str, path: str, token: str | None = None, **kw: Any):
    headers = kw.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    response = client.open(path, method=method, headers=headers, **kw)
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
    return response


def codes_seen(client, token: str, **params: Any) -> set[str]:
    response = call(client, "GET", "/api/v1/cases", token,
                    query_string={"per_page": 200, **params})
    assert response.status_code == 200, response.json
    return {item["code"] for item in response.json["items"]}


def auto_case(services, grid: str, *, source: str, code: str = "0503",
              now: datetime | None = None) -> Case:
    with services.transaction() as s:
        case = report_case(s, services.cases, kind="event", code=code, actor=SYSTEM,
                           source=source, grid_code=grid, auto=True, now=now)
        s.flush()
        s.expunge(case)
    return case


# -- authentication and roles ------------------------------------------------------------------
def test_no_token_or_a_bad_token_is_401_in_json(client, city) -> None:
    assert call(client, "GET", "/api/v1/cases").status_code == 401
    assert call(client, "GET", "/api/v1/cases", "og_not-a-token").status_code == 401
    response = call(client, "POST", "/api/v1/cases/1/transitions", json={"action": "close"})
    assert response.status_code == 401


def test_each_route_checks_the_role(client, city) -> None:
    t = city.tokens
    refused = [("GET", "/api/v1/queue", t["handler_d03"]),
               ("GET", "/api/v1/queue", t["leader01"]),
               ("GET", "/api/v1/queue", t[city.inspector_a]),
               ("GET", "/api/v1/metrics", t[city.inspector_a]),
               ("GET", "/api/v1/metrics", t["handler_d05"]),
               ("POST", "/api/v1/cases", t["leader01"]),
               ("POST", "/api/v1/cases", t["handler_d03"])]
    for method, path, token in refused:
        response = call(client, method, path, token, json={})
        assert response.status_code == 403, (method, path)
        error = response.json["error"]
        assert error["code"] == "role_not_allowed" and error["message"] and error["message_zh"]
    assert call(client, "GET", "/api/v1/queue", t["command01"]).status_code == 200
    assert call(client, "GET", "/api/v1/queue", t["admin"]).status_code == 200


def test_handlers_see_their_department_and_inspectors_their_grids(client, city,
                                                                  seeded_services) -> None:
    a = auto_case(seeded_services, city.grid_a, source="vis")  # 449902 → D05
    b = auto_case(seeded_services, city.grid_b, source="vis")  # 449903 → D06
    with seeded_services.transaction() as s:
        inspector_a = s.scalar(select(User).where(User.username == city.inspector_a))
        own = report_case(s, seeded_services.cases, kind="event", code="0102",
                          actor=actor_for(s, inspector_a), source="vis",
                          grid_code=city.grid_b)  # reported by A in B's grid
        own_code, own_id = own.code, own.id
    t = city.tokens
    everything = {a.code, b.code, own_code}
    for who in ("command01", "leader01", "admin"):
        assert codes_seen(client, t[who], source="vis") == everything
    assert codes_seen(client, t["handler_d05"], source="vis") == {a.code}
    assert codes_seen(client, t["handler_d06"], source="vis") == {b.code}
    assert codes_seen(client, t["handler_d03"], source="vis") == set()
    assert codes_seen(client, t[city.inspector_a], source="vis") == {a.code, own_code}
    assert codes_seen(client, t[city.inspector_b], source="vis") == {b.code, own_code}

    assert call(client, "GET", f"/api/v1/cases/{a.id}", t["handler_d05"]).status_code == 200
    hidden = call(client, "GET", f"/api/v1/cases/{b.id}", t["handler_d05"])
    assert hidden.status_code == 404 and hidden.json["error"]["code"] == "not_found"
    assert call(client, "GET", f"/api/v1/cases/{own_id}",
                t[city.inspector_a]).status_code == 200
    assert call(client, "GET", f"/api/v1/cases/{a.id}",
                t[city.inspector_b]).status_code == 404
    # Acting on a case one may not see is the same 404: nothing is revealed, nothing changed.
    response = call(client, "POST", f"/api/v1/cases/{b.id}/transitions", t["handler_d05"],
                    json={"action": "accept"})
    assert response.status_code == 404
    with seeded_services.session() as s:
        assert s.get(Case, b.id).status == "dispatched"


def test_a_refused_transition_is_409_and_changes_nothing(client, city, seeded_services) -> None:
    case = auto_case(seeded_services, city.grid_a, source="refuse")
    with seeded_services.session() as s:
        before = len(events_of(s, case.id))
    response = call(client, "POST", f"/api/v1/cases/{case.id}/transitions",
                    city.tokens["command01"], json={"action": "close", "note": "too early"})
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "not_allowed_from_state"
    assert "verified" in error["message"] and "核实通过" in error["message_zh"]
    response = call(client, "POST", f"/api/v1/cases/{case.id}/transitions",
                    city.tokens["handler_d05"], json={"action": "feedback"})
    assert response.status_code == 409 and response.json["error"]["code"] in (
        "not_allowed_from_state", "note_required")
    with seeded_services.session() as s:
        assert s.get(Case, case.id).status == "dispatched"
        assert len(events_of(s, case.id)) == before


# -- the closed loop ---------------------------------------------------------------------------
def test_the_closed_loop_through_the_api(client, city, seeded_services) -> None:
    t = city.tokens
    lon, lat = city.lonlat_a
    response = call(client, "POST", "/api/v1/cases", t[city.inspector_a],
                    json={"category": "event:0102", "lon": lon, "lat": lat,
                          "description": "垃圾堆在路边", "attachments": [PHOTO]})
    assert response.status_code == 201, response.json
    case = response.json
    case_id = case["id"]
    assert case["status"] == "reported" and case["grid_code"] == city.grid_a
    assert case["category"] == "event:0102" and case["category_name"]["zh"]
    assert case["light"] == "green" and response.headers["Location"].endswith(f"/{case_id}")

    queue = call(client, "GET", "/api/v1/queue", t["command01"],
                 query_string={"per_page": 200}).json
    assert case_id in [item["id"] for item in queue["items"]]
    assert all(item["status"] == "reported" for item in queue["items"])
    reported = [item["reported_at"] for item in queue["items"]]
    assert reported == sorted(reported)

    detail = call(client, "GET", f"/api/v1/cases/{case_id}", t["command01"]).json
    assert "register" in detail["allowed_actions"] and "decline" in detail["allowed_actions"]

    steps = [("command01", {"action": "register", "note": "属实"}, "registered"),
             ("command01", {"action": "dispatch", "department": "D03"}, "dispatched"),
             ("handler_d03", {"action": "accept"}, "accepted"),
             ("handler_d03", {"action": "feedback", "note": "已清运",
                              "attachments": [PHOTO]}, "handled"),
             (city.inspector_a, {"action": "verify_pass", "lon": lon, "lat": lat}, "verified"),
             ("command01", {"action": "close", "note": "结案"}, "closed")]
    for who, body, status in steps:
        if body["action"] == "accept":
            mine = call(client, "GET", f"/api/v1/cases/{case_id}", t[who]).json
            assert mine["allowed_actions"] == ["accept", "return", "request_extension",
                                               "note"]
        response = call(client, "POST", f"/api/v1/cases/{case_id}/transitions", t[who],
                        json=body)
        assert response.status_code == 201, (who, body, response.json)
        assert response.json["case"]["status"] == status
        event = response.json["event"]
        assert event["action"] == body["action"] and event["to_state"] == status

    detail = call(client, "GET", f"/api/v1/cases/{case_id}", t["leader01"]).json
    assert detail["status"] == "closed" and detail["light"] is None
    assert detail["status_label"] == {"zh": "结案", "en": "Closed"}
    assert detail["department"] == "D03" and detail["closed_at"]
    events = detail["events"]
    assert [e["action"] for e in events] == ["report", "register", "dispatch", "accept",
                                             "feedback", "verify_pass", "close"]
    assert [e["seq"] for e in events] == list(range(1, 8))
    assert events[0]["actor_role"] == "inspector" and events[0]["attachments"] == [PHOTO]
    assert events[3]["actor_role"] == "handler" and events[3]["actor_name"] != "handler"
    assert events[4]["note"] == "已清运" and events[5]["lon"] == pytest.approx(lon)
    assert events[2]["data"]["department_id"] and events[2]["from_state"] == "registered"
    assert detail["allowed_actions"] == ["note"]  # all a leader may do on a closed case
    with seeded_services.session() as s:
        assert s.get(Case, case_id).status == "closed"


def test_a_leader_supervises_and_the_flag_filters(client, city, seeded_services) -> None:
    case = auto_case(seeded_services, city.grid_a, source="supervise")
    other = auto_case(seeded_services, city.grid_a, source="supervise")
    response = call(client, "POST", f"/api/v1/cases/{case.id}/transitions",
                    city.tokens["leader01"], json={"action": "supervise", "note": "尽快"})
    assert response.status_code == 201
    token = city.tokens["command01"]
    assert codes_seen(client, token, source="supervise", supervised="true") == {case.code}
    assert codes_seen(client, token, source="supervise", supervised="false") == {other.code}


# -- paging and filters ------------------------------------------------------------------------
def test_paging_and_filters(client, city, seeded_services) -> None:
    made = [auto_case(seeded_services, city.grid_a, source="paging",
                      now=PAST + timedelta(hours=i)) for i in range(5)]
    other_kind = auto_case(seeded_services, city.grid_b, source="paging", code="0102",
                           now=PAST + timedelta(days=2))
    token = city.tokens["command01"]
    pages, seen = [], []
    for page in (1, 2, 3):
        body = call(client, "GET", "/api/v1/cases", token,
                    query_string={"source": "paging", "per_page": 2, "page": page}).json
        assert body["total"] == 6 and body["per_page"] == 2 and body["page"] == page
        pages.append(len(body["items"]))
        seen += [item["code"] for item in body["items"]]
    assert pages == [2, 2, 2] and len(set(seen)) == 6
    assert seen == [other_kind.code] + [c.code for c in reversed(made)]  # newest first

    assert codes_seen(client, token, source="paging", category="event:0102") == {
        other_kind.code}
    assert codes_seen(client, token, source="paging",
                      district=city.grid_b[:6]) == {other_kind.code}
    assert codes_seen(client, token, source="paging", grid=city.grid_a) == {
        c.code for c in made}
    assert codes_seen(client, token, source="paging", street=city.grid_a[:9],
                      community=city.grid_a[:12]) == {c.code for c in made}
    dept = call(client, "GET", f"/api/v1/cases/{other_kind.id}", token).json["department"]
    assert dept is not None and dept != "D05"
    assert codes_seen(client, token, source="paging", department=dept) == {other_kind.code}
    assert codes_seen(client, token, source="paging", department="D05") == {
        c.code for c in made}
    assert codes_seen(client, token, source="paging", status="dispatched,accepted") == set(seen)
    assert codes_seen(client, token, source="paging", status="closed") == set()
    # Reported in 2024: every one of them is long past its deadline.
    assert codes_seen(client, token, source="paging", overdue="true") == set(seen)
    assert codes_seen(client, token, source="paging", overdue="false") == set()
    assert codes_seen(client, token, source="paging", reported_from="2024-03-05",
                      reported_to="2024-03-05") == {c.code for c in made}
    assert codes_seen(client, token, source="paging", reported_from="2024-03-06") == {
        other_kind.code}
    assert codes_seen(client, token, q=made[2].code) == {made[2].code}

    item = call(client, "GET", "/api/v1/cases", token,
                query_string={"q": made[0].code}).json["items"][0]
    assert item["light"] == "red" and item["deadline_at"] is not None
    assert item["department"] == "D05" and item["seen_count"] == 1
    assert item["lon"] is None and item["status_label"]["en"] == "Dispatched"
    assert set(item) >= {"id", "code", "status", "category", "category_name", "urgency",
                         "title", "grid_code", "lon", "lat", "reported_at", "rework_count",
                         "supervised"}


@pytest.mark.parametrize("params, code", [
    ({"per_page": 500}, "bad_per_page"), ({"page": 0}, "bad_page"),
    ({"page": "x"}, "bad_page"), ({"status": "pending"}, "bad_status"),
    ({"category": "event:9999"}, "bad_category"), ({"district": "44"}, "bad_district"),
    ({"overdue": "maybe"}, "bad_overdue"), ({"reported_from": "yesterday"}, "bad_reported_from"),
])
def test_bad_filters_are_400(client, city, params, code) -> None:
    response = call(client, "GET", "/api/v1/cases", city.tokens["command01"],
                    query_string=params)
    assert response.status_code == 400 and response.json["error"]["code"] == code


# -- bad input and errors ----------------------------------------------------------------------
def test_bad_json_and_bad_bodies_are_400(client, city, seeded_services) -> None:
    case = auto_case(seeded_services, city.grid_a, source="badjson")
    path = f"/api/v1/cases/{case.id}/transitions"
    token = city.tokens["command01"]
    for kwargs in ({"data": "{not json", "content_type": "application/json"},
                   {"json": ["register"]}, {"data": ""}):
        response = call(client, "POST", path, token, **kwargs)
        assert response.status_code == 400 and response.json["error"]["code"] == "bad_json"
    for body, code in (({"note": "x"}, "action_required"),
                       ({"action": "note", "note": 5}, "bad_note"),
                       ({"action": "note", "note": "x", "attachments": "a"},
                        "bad_attachments"),
                       ({"action": "note", "note": "x", "lon": 500, "lat": 1}, "bad_lon"),
                       ({"action": "note", "note": "x", "lon": 113.0}, "bad_location"),
                       ({"action": "dispatch", "department": "D99"}, "unknown_department")):
        response = call(client, "POST", path, token, json=body)
        assert response.status_code == 400, body
        assert response.json["error"]["code"] == code
    response = call(client, "POST", "/api/v1/cases", city.tokens[city.inspector_a],
                    json={"category": "event:0102"})
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_location"
    response = call(client, "POST", "/api/v1/cases", city.tokens[city.inspector_a],
                    json={"category": "nope", "lon": 113.0, "lat": 23.0})
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_category"
    with seeded_services.session() as s:
        assert len(events_of(s, case.id)) == 3  # report, register, dispatch: nothing added


def test_unknown_routes_and_methods_answer_in_json(client, city) -> None:
    token = city.tokens["command01"]
    response = call(client, "GET", "/api/v1/nothing-here", token)
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    response = call(client, "GET", "/api/v1/cases/999999999", token)
    assert response.status_code == 404
    response = call(client, "DELETE", "/api/v1/cases", token)
    assert response.status_code == 405
    assert response.json["error"]["message_zh"] and "GET" in response.headers["Allow"]


# -- indicators --------------------------------------------------------------------------------
def test_metrics_validates_its_arguments(client, city) -> None:
    token = city.tokens["leader01"]
    response = call(client, "GET", "/api/v1/metrics", token, query_string={"by": "planet"})
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_by"
    response = call(client, "GET", "/api/v1/metrics", token,
                    query_string={"from": "2024-03-10", "to": "2024-03-01"})
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_range"


def test_metrics_by_district(client, city, seeded_services) -> None:
    pytest.importorskip("data.metrics", reason="data.metrics (indicators) is being written by "
                        "another helper; this runs once that module is in place")
    auto_case(seeded_services, city.grid_a, source="metrics", now=PAST)
    for who in ("leader01", "command01", "admin"):
        response = call(client, "GET", "/api/v1/metrics", city.tokens[who],
                        query_string={"from": "2024-03-01", "to": "2024-03-31",
                                      "by": "district"})
        assert response.status_code == 200, response.json
        groups = response.json["groups"]
        assert isinstance(groups, list) and groups
        assert {"key", "name", "values", "tally"} <= set(groups[0])
        assert city.grid_a[:6] in [g["key"] for g in groups]
        formulas = {i["key"]: i for i in response.json["indicators"]}
        assert set(formulas) == set(groups[0]["values"])
        assert "立案数" in formulas["registration_rate"]["formula_zh"]


def test_a_crash_is_a_json_500_without_a_trace(client, city, monkeypatch) -> None:
    import api.v1

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(api.v1, "list_cases", broken)
    response = call(client, "GET", "/api/v1/cases", city.tokens["command01"])
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
    assert "fire" not in response.get_data(as_text=True)
