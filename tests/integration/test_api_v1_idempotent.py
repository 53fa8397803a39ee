"""Retries are safe (SQLite and PostgreSQL): a transition or a report sent again with the same
client ``request_id`` returns the first result with 200 and changes nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from data.accounts import create_token
from data.cases import SYSTEM, actor_for, report_case, transition
from data.models import Case, CaseEvent, UnitGrid, User

PHOTO = {"sha256": "c" * 64, "mime": "image/jpeg"}


@dataclass
class Who:
    inspector: str
    token: str
    handler_token: str
    grid: str
    lonlat: tuple[float, float]


@pytest.fixture(scope="module")
def who(seeded_services) -> Who:
    with seeded_services.transaction() as s:
        grid = s.scalar(select(UnitGrid).where(UnitGrid.inspector_id.is_not(None))
                        .order_by(UnitGrid.code).limit(1))
        name = s.get(User, grid.inspector_id).username
        p = grid.geom.representative_point()
        return Who(name, create_token(s, name, "t"), create_token(s, "command01", "t"),
                   grid.code, (p.x, p.y))


def handled_case(services, grid: str) -> int:
    """A case in ``handled`` in ``grid``, taken there through the workflow."""
    cfg = services.cases
    with services.transaction() as s:
        case = report_case(s, cfg, kind="event", code="0503", actor=SYSTEM, source="camera",
                           grid_code=grid, auto=True)
        handler = s.scalar(select(User).where(User.role == "handler",
                                              User.department_id == case.department_id))
        actor = actor_for(s, handler)
        transition(s, cfg, case, "accept", actor)
        transition(s, cfg, case, "feedback", actor, note="fixed", attachments=[PHOTO])
        return case.id


def events(services, case_id: int, action: str) -> int:
    with services.session() as s:
        return s.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case_id, CaseEvent.action == action)) or 0


def post(client, token: str, path: str, body: dict):
    return client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def test_a_retried_verification_is_applied_once(client, who, seeded_services) -> None:
    case_id = handled_case(seeded_services, who.grid)
    rid = str(uuid.uuid4())
    body = {"action": "verify_fail", "reason": "still broken", "request_id": rid,
            "origin": "tablet"}
    first = post(client, who.token, f"/api/v1/cases/{case_id}/transitions", body)
    assert first.status_code == 201, first.json
    again = post(client, who.token, f"/api/v1/cases/{case_id}/transitions", body)
    assert again.status_code == 200, again.json
    assert again.json == first.json
    assert events(seeded_services, case_id, "verify_fail") == 1
    with seeded_services.session() as s:
        case = s.get(Case, case_id)
        assert (case.status, case.rework_count) == ("accepted", 1)
        event = s.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                 CaseEvent.action == "verify_fail"))
        assert event.data["request_id"] == rid and event.origin == "tablet"


def test_without_a_request_id_a_repeat_is_refused_by_the_workflow(client, who,
                                                                  seeded_services) -> None:
    case_id = handled_case(seeded_services, who.grid)
    body = {"action": "verify_pass"}
    assert post(client, who.token, f"/api/v1/cases/{case_id}/transitions",
                body).status_code == 201
    again = post(client, who.token, f"/api/v1/cases/{case_id}/transitions", body)
    assert again.status_code == 409
    assert again.json["error"]["code"] == "not_allowed_from_state"
    assert events(seeded_services, case_id, "verify_pass") == 1


def test_a_request_id_reused_for_another_action_is_409(client, who, seeded_services) -> None:
    case_id = handled_case(seeded_services, who.grid)
    rid = "reuse-" + uuid.uuid4().hex
    assert post(client, who.token, f"/api/v1/cases/{case_id}/transitions",
                {"action": "note", "note": "looked", "request_id": rid}).status_code == 201
    reused = post(client, who.token, f"/api/v1/cases/{case_id}/transitions",
                  {"action": "verify_pass", "request_id": rid})
    assert reused.status_code == 409
    assert reused.json["error"]["code"] == "request_id_reused"
    with seeded_services.session() as s:
        assert s.get(Case, case_id).status == "handled"


def test_the_same_request_id_from_another_user_is_another_request(client, who,
                                                                  seeded_services) -> None:
    case_id = handled_case(seeded_services, who.grid)
    rid = "shared-" + uuid.uuid4().hex
    assert post(client, who.token, f"/api/v1/cases/{case_id}/transitions",
                {"action": "note", "note": "a", "request_id": rid}).status_code == 201
    assert post(client, who.handler_token, f"/api/v1/cases/{case_id}/transitions",
                {"action": "note", "note": "b", "request_id": rid}).status_code == 201
    assert events(seeded_services, case_id, "note") == 2


def test_a_retried_report_opens_one_case(client, who, seeded_services) -> None:
    rid = str(uuid.uuid4())
    lon, lat = who.lonlat
    body = {"category": "event:0102", "lon": lon, "lat": lat, "description": "rubbish pile",
            "attachments": [PHOTO], "request_id": rid, "origin": "tablet"}
    first = post(client, who.token, "/api/v1/cases", body)
    assert first.status_code == 201, first.json
    again = post(client, who.token, "/api/v1/cases", body)
    assert again.status_code == 200
    assert again.json["id"] == first.json["id"] and again.json["code"] == first.json["code"]
    assert again.headers["Location"] == first.headers["Location"]
    with seeded_services.session() as s:
        found = s.scalars(select(Case).where(Case.external_id == rid)).all()
        assert len(found) == 1 and found[0].grid_code == who.grid
        assert found[0].source == "inspector"


def test_a_malformed_request_id_is_400_and_changes_nothing(client, who,
                                                            seeded_services) -> None:
    case_id = handled_case(seeded_services, who.grid)
    for rid in ("short", "x" * 65, "has space in it", 12345678):
        response = post(client, who.token, f"/api/v1/cases/{case_id}/transitions",
                        {"action": "verify_pass", "request_id": rid})
        assert response.status_code == 400, rid
        assert response.json["error"]["code"] == "bad_request_id"
    with seeded_services.session() as s:
        assert s.get(Case, case_id).status == "handled"


def test_the_idempotency_key_header_works_too(client, who, seeded_services) -> None:
    case_id = handled_case(seeded_services, who.grid)
    headers = {"Authorization": f"Bearer {who.token}", "Idempotency-Key": uuid.uuid4().hex}
    for expected in (201, 200):
        response = client.post(f"/api/v1/cases/{case_id}/transitions",
                               json={"action": "verify_pass"}, headers=headers)
        assert response.status_code == expected
    assert events(seeded_services, case_id, "verify_pass") == 1
