"""The case state machine: the happy path, every refusal, and the table checked exhaustively."""

from __future__ import annotations

from typing import Any

import pytest

from cases.workflow import (
    ACTION_LABELS,
    ACTIONS,
    CLOSED,
    HIDDEN,
    OPEN,
    PREVIOUS,
    REFUSAL_CODES,
    ROLE_LABELS,
    ROLES,
    STATE_LABELS,
    STATES,
    STAYS,
    TRANSITIONS,
    Actor,
    CaseFacts,
    Refusal,
    Transition,
    allowed_actions,
    decide,
    history_state_before_suspension,
    is_closed,
    is_hidden,
    is_open,
    table_markdown,
)

DEPT = 7
GRID = "440301001001"
SHOP = 5
PHOTO = "a" * 64
ALL_STATES: list[str | None] = [None, *STATES]
TABLE_PAIRS = {(rule.action, s) for rule in TRANSITIONS for s in rule.from_states}


def actor(role: str) -> Actor:
    """An actor of ``role`` whose scope covers the case built by ``facts``."""
    return Actor(role, user_id=1, department_id=DEPT, grid_codes=frozenset({GRID}),
                 shop_ids=frozenset({SHOP}))


def facts(state: str | None, **kw: Any) -> CaseFacts:
    base: dict[str, Any] = {"department_id": DEPT, "grid_code": GRID, "shop_id": SHOP}
    if state == "suspended":
        base["state_before_suspension"] = "dispatched"
    return CaseFacts(state, **{**base, **kw})


def full_inputs(action: str) -> dict[str, Any]:
    """Everything any row of ``action`` may ask for."""
    reason = {"decline": "duplicate", "merge": None}.get(action, "because it must")
    return {"reason": reason, "note": "cleared the pavement", "attachments": (PHOTO,),
            "data": {"department_id": DEPT, "target_case_id": 42, "hours": 24}}


def ok(decision: Transition | Refusal) -> Transition:
    assert isinstance(decision, Transition), decision
    return decision


def refused(decision: Transition | Refusal, code: str) -> Refusal:
    assert isinstance(decision, Refusal), decision
    assert decision.code == code, decision
    assert decision.message and decision.message_zh
    return decision


# ── States, labels ───────────────────────────────────────────────────────────────────────────


def test_categories_partition_the_states() -> None:
    assert set(STATES) == OPEN | CLOSED | HIDDEN
    assert not (OPEN & CLOSED) and not (OPEN & HIDDEN) and not (CLOSED & HIDDEN)
    assert is_open("suspended") and is_open("reported") and not is_open("closed")
    assert is_closed("closed") and not is_closed("verified")
    assert is_hidden("declined") and is_hidden("void") and not is_hidden("closed")
    assert not is_open(None) and not is_closed("nonsense") and not is_hidden(None)


def test_every_state_action_and_role_has_both_labels() -> None:
    for labels, keys in ((STATE_LABELS, STATES), (ACTION_LABELS, ACTIONS), (ROLE_LABELS, ROLES)):
        assert set(labels) == set(keys)
        assert all(zh and en for zh, en in labels.values())


# ── The happy path ───────────────────────────────────────────────────────────────────────────


def test_happy_path_from_report_to_closed() -> None:
    handler = Actor("handler", user_id=3, department_id=DEPT)
    inspector = Actor("inspector", user_id=4, grid_codes=frozenset({GRID}))
    command = Actor("command", user_id=2)
    steps = [
        ("report", Actor("citizen"), {}, "reported", None, "register"),
        ("register", command, {}, "registered", "register", "dispatch"),
        ("dispatch", command, {"data": {"department_id": DEPT}}, "dispatched", "dispatch",
         "handle"),
        ("accept", handler, {}, "accepted", None, None),
        ("feedback", handler, {"note": "removed the stall", "attachments":
                               [{"sha256": PHOTO, "mime": "image/jpeg"}]}, "handled", "handle",
         "verify"),
        ("verify_pass", inspector, {}, "verified", "verify", None),
        ("close", command, {}, "closed", None, None),
    ]
    case = CaseFacts(None, grid_code=GRID)
    for action, who, kwargs, to_state, finished, started in steps:
        t = ok(decide(case, action, who, **kwargs))
        assert (t.from_state, t.to_state) == (case.state, to_state), action
        assert (t.step_finished, t.step_started) == (finished, started), action
        assert t.role == who.role and not t.counters and t.supervised is None
        if action == "dispatch":
            assert t.department_id == DEPT
        case = CaseFacts(t.to_state, department_id=t.department_id or case.department_id,
                         grid_code=GRID)
    assert is_closed(case.state)


def test_dispatch_uses_the_department_already_on_the_case() -> None:
    t = ok(decide(CaseFacts("registered", department_id=9), "dispatch", actor("system")))
    assert t.department_id == 9
    t = ok(decide(CaseFacts("registered", department_id=9), "dispatch", actor("command"),
                  data={"department_id": 11}))
    assert t.department_id == 11


# ── Refusals ─────────────────────────────────────────────────────────────────────────────────

REFUSALS: list[tuple[str, CaseFacts, str, Actor, dict[str, Any]]] = [
    ("unknown_action", facts("reported"), "approve", actor("command"), {}),
    ("unknown_state", facts("pending"), "register", actor("command"), {}),
    ("not_allowed_from_state", facts("handled"), "close", actor("command"), {}),
    ("not_allowed_from_state", facts("reported"), "report", actor("citizen"), {}),
    ("not_allowed_from_state", facts(None), "register", actor("command"), {}),
    ("not_allowed_from_state", facts("void"), "note", actor("command"), {"note": "x"}),
    ("role_not_allowed", facts("verified"), "close", actor("inspector"), {}),
    ("role_not_allowed", facts("reported"), "register", Actor("mayor"), {}),
    ("previous_state_unknown", facts("suspended", state_before_suspension=None), "resume",
     actor("command"), {}),
    ("not_your_department", facts("dispatched", department_id=8), "accept", actor("handler"), {}),
    ("not_your_department", facts("dispatched", department_id=None), "accept", Actor("handler"),
     {}),
    ("not_your_grid", facts("handled", grid_code="440301001002"), "verify_pass",
     actor("inspector"), {}),
    ("not_your_shop", facts("accepted", shop_id=6), "feedback", actor("shop_owner"),
     {"note": "swept", "attachments": [PHOTO]}),
    ("reason_required", facts("reported"), "decline", actor("command"), {}),
    ("reason_required", facts("handled"), "verify_fail", actor("inspector"), {"reason": "  "}),
    ("bad_reason", facts("reported"), "decline", actor("command"), {"reason": "spam"}),
    ("bad_reason", facts("reported"), "merge", actor("system"),
     {"reason": "invalid", "data": {"target_case_id": 42}}),
    ("note_required", facts("accepted"), "feedback", actor("handler"), {"attachments": [PHOTO]}),
    ("attachment_required", facts("accepted"), "feedback", actor("handler"), {"note": "done"}),
    ("attachment_required", facts("accepted"), "feedback", actor("shop_owner"),
     {"note": "done", "attachments": [{"sha256": PHOTO, "mime": "application/pdf"}]}),
    ("department_required", facts("registered", department_id=None), "dispatch",
     actor("command"), {}),
    ("target_required", facts("reported"), "merge", actor("command"), {}),
    ("hours_required", facts("accepted"), "request_extension", actor("handler"),
     {"reason": "parts on order"}),
    ("hours_required", facts("accepted"), "request_extension", actor("handler"),
     {"reason": "parts on order", "data": {"hours": -3}}),
    ("hours_required", facts("dispatched"), "grant_extension", actor("command"),
     {"data": {"hours": "lots"}}),
]


@pytest.mark.parametrize(("code", "case", "action", "who", "kwargs"), REFUSALS,
                         ids=[f"{r[0]}-{r[2]}" for r in REFUSALS])
def test_refusal(code: str, case: CaseFacts, action: str, who: Actor,
                 kwargs: dict[str, Any]) -> None:
    r = refused(decide(case, action, who, **kwargs), code)
    assert (r.action, r.state, r.role) == (action, case.state, who.role)


def test_every_refusal_code_is_exercised() -> None:
    assert {r[0] for r in REFUSALS} == set(REFUSAL_CODES)


def test_refusal_messages_say_what_to_do() -> None:
    r = refused(decide(facts("handled"), "close", actor("command")), "not_allowed_from_state")
    assert r.message == "'close' is not allowed from 'handled': the case must be verified first"
    assert "核实通过" in r.message_zh
    r = refused(decide(facts("reported"), "decline", actor("command")), "reason_required")
    assert "duplicate, not_our_duty, invalid" in r.message and "重复上报" in r.message_zh
    r = refused(decide(facts("verified"), "close", actor("handler")), "role_not_allowed")
    assert "command, system" in r.message and "处置人员" in r.message_zh


@pytest.mark.parametrize("kwargs", [
    {"reason": 3, "note": b"x", "attachments": None, "data": "not a mapping"},
    {"attachments": [None, 5, {}], "data": {"department_id": None}},
])
def test_bad_input_is_refused_not_raised(kwargs: dict[str, Any]) -> None:
    for state in ALL_STATES:
        for action in (*ACTIONS, "", None):
            for role in (*ROLES, "", None):
                decision = decide(facts(state), action, Actor(role), **kwargs)  # type: ignore
                assert isinstance(decision, Transition | Refusal)
    assert isinstance(decide(CaseFacts(["odd"]), "note", actor("command")),  # type: ignore
                      Refusal)


def test_merge_records_duplicate_and_decline_records_its_reason() -> None:
    t = ok(decide(facts("reported"), "merge", actor("system"), data={"target_case_id": 42}))
    assert (t.to_state, t.reason, t.step_finished) == ("declined", "duplicate", "register")
    t = ok(decide(facts("reported"), "decline", actor("command"), reason=" not_our_duty "))
    assert (t.to_state, t.reason) == ("declined", "not_our_duty")


# ── Counters, supervision, suspension, return ────────────────────────────────────────────────


def test_rework_is_counted_by_verify_fail_and_reopen() -> None:
    t = ok(decide(facts("handled"), "verify_fail", actor("inspector"), reason="still there"))
    assert t.to_state == "accepted" and dict(t.counters) == {"rework": 1}
    assert (t.step_finished, t.step_started) == ("verify", "handle")
    t = ok(decide(facts("closed"), "reopen", actor("system")))
    assert t.to_state == "accepted" and dict(t.counters) == {"rework": 1}
    assert (t.step_finished, t.step_started) == (None, "handle")


@pytest.mark.parametrize(("state", "action", "role", "counter"), [
    ("accepted", "grant_extension", "command", "extension"),
    ("registered", "add_evidence", "system", "seen"),
    ("handled", "mark_overdue", "system", "overdue"),
])
def test_other_counters(state: str, action: str, role: str, counter: str) -> None:
    t = ok(decide(facts(state), action, actor(role), **full_inputs(action)))
    assert t.to_state == state and dict(t.counters) == {counter: 1}


def test_only_counting_rows_count() -> None:
    counting = {"verify_fail", "reopen", "grant_extension", "add_evidence", "mark_overdue"}
    for rule in TRANSITIONS:
        assert (rule.counts is not None) == (rule.action in counting), rule.action


def test_supervise_sets_the_flag_and_stays() -> None:
    t = ok(decide(facts("dispatched"), "supervise", actor("leader")))
    assert (t.to_state, t.supervised, t.step_started, t.step_finished) == (
        "dispatched", True, None, None)
    assert ok(decide(facts("dispatched"), "escalate", actor("system"))).supervised is None


@pytest.mark.parametrize("before", ["registered", "dispatched", "accepted"])
def test_suspend_and_resume_to_the_previous_state(before: str) -> None:
    s = ok(decide(facts(before), "suspend", actor("command"), reason="road works until May"))
    assert (s.to_state, s.state_before_suspension) == ("suspended", before)
    assert (s.step_started, s.step_finished) == (None, None)  # paused, not finished
    suspended = facts("suspended", state_before_suspension=before)
    r = ok(decide(suspended, "resume", actor("command")))
    assert (r.from_state, r.to_state) == ("suspended", before)
    assert (r.step_started, r.step_finished) == (None, None)
    v = ok(decide(suspended, "void", actor("admin"), reason="entered twice"))
    assert v.step_finished == {"registered": "dispatch"}.get(before, "handle")


def test_suspend_is_refused_where_no_clock_can_pause() -> None:
    for state in ("reported", "handled", "verified", "suspended"):
        refused(decide(facts(state), "suspend", actor("command"), reason="x"),
                "not_allowed_from_state")


def test_history_state_before_suspension() -> None:
    events = [("report", None, "reported"), ("register", "reported", "registered"),
              ("dispatch", "registered", "dispatched"), ("accept", "dispatched", "accepted"),
              ("suspend", "accepted", "suspended"), ("note", "suspended", "suspended")]
    assert history_state_before_suspension(events) == "accepted"
    events += [("resume", "suspended", "accepted"), ("return", "accepted", "dispatched")]
    assert history_state_before_suspension(events) is None
    events += [("suspend", "dispatched", "suspended"), ("supervise", "suspended", "suspended")]
    assert history_state_before_suspension(events) == "dispatched"
    assert history_state_before_suspension([]) is None


@pytest.mark.parametrize(("state", "to_state", "role", "finished", "started"), [
    ("registered", "reported", "command", "dispatch", "register"),
    ("dispatched", "registered", "handler", "handle", "dispatch"),
    ("accepted", "dispatched", "handler", None, None),
    ("verified", "handled", "command", None, "verify"),
])
def test_return_goes_back_one_step(state: str, to_state: str, role: str, finished: str | None,
                                   started: str | None) -> None:
    refused(decide(facts(state), "return", actor(role)), "reason_required")
    t = ok(decide(facts(state), "return", actor(role), reason="wrong category"))
    assert (t.to_state, t.reason) == (to_state, "wrong category")
    assert (t.step_finished, t.step_started) == (finished, started)


def test_return_is_refused_to_roles_not_in_its_row() -> None:
    refused(decide(facts("registered"), "return", actor("handler"), reason="x"),
            "role_not_allowed")
    refused(decide(facts("verified"), "return", actor("inspector"), reason="x"),
            "role_not_allowed")


# ── Scope guards ─────────────────────────────────────────────────────────────────────────────


def test_handler_acts_only_on_their_departments_cases() -> None:
    other = Actor("handler", user_id=9, department_id=DEPT + 1)
    for state, action in (("dispatched", "accept"), ("accepted", "feedback"),
                          ("accepted", "request_extension"), ("dispatched", "return"),
                          ("closed", "note")):
        refused(decide(facts(state), action, other, **full_inputs(action)),
                "not_your_department")
        ok(decide(facts(state), action, actor("handler"), **full_inputs(action)))
    assert allowed_actions(facts("dispatched"), other) == []


def test_shop_owner_accepts_and_reports_back_only_on_their_shops_cases() -> None:
    # A shop-front case (门前三包) dispatched to the shop: its owner (or its one-time link)
    # accepts it and reports back with a photo; another shop's owner may not.
    owner = actor("shop_owner")
    assert ok(decide(facts("dispatched"), "accept", owner)).to_state == "accepted"
    assert ok(decide(facts("accepted"), "feedback", owner, note="cleared",
                     attachments=[PHOTO])).to_state == "handled"
    assert allowed_actions(facts("dispatched"), owner) == ["accept"]
    neighbour = Actor("shop_owner", user_id=2, shop_ids=frozenset({SHOP + 1}))
    refused(decide(facts("dispatched"), "accept", neighbour), "not_your_shop")
    refused(decide(facts("dispatched", shop_id=None), "accept", owner), "not_your_shop")
    assert allowed_actions(facts("dispatched"), neighbour) == []
    # The shop does not verify its own fix.
    refused(decide(facts("handled"), "verify_pass", owner), "role_not_allowed")


def test_inspector_verifies_only_in_their_grids() -> None:
    away = facts("handled", grid_code="440301009009")
    refused(decide(away, "verify_pass", actor("inspector")), "not_your_grid")
    refused(decide(away, "verify_fail", actor("inspector"), reason="x"), "not_your_grid")
    # Elsewhere they may still comment and add evidence; with no grids they verify anywhere.
    assert allowed_actions(away, actor("inspector")) == ["add_evidence", "note"]
    ok(decide(away, "verify_pass", Actor("inspector", user_id=1)))
    ok(decide(away, "verify_pass", actor("command")))


# ── The table, exhaustively ──────────────────────────────────────────────────────────────────


OPEN_STATES = ("reported", "registered", "dispatched", "accepted", "handled", "verified",
               "suspended")
# The brief, written out independently of TRANSITIONS: action → ({from: to}, roles); "=" stays.
SPEC: dict[str, tuple[dict[str | None, str], set[str]]] = {
    "report": ({None: "reported"}, {"inspector", "command", "system", "citizen", "shop_owner"}),
    "register": ({"reported": "registered"}, {"command", "system"}),
    "decline": ({"reported": "declined"}, {"command"}),
    "merge": ({"reported": "declined"}, {"command", "system"}),
    "dispatch": ({"registered": "dispatched"}, {"command", "system"}),
    "accept": ({"dispatched": "accepted"}, {"handler", "shop_owner"}),
    "feedback": ({"accepted": "handled"}, {"handler", "shop_owner"}),
    "verify_pass": ({"handled": "verified"}, {"inspector", "command"}),
    "verify_fail": ({"handled": "accepted"}, {"inspector", "command"}),
    "close": ({"verified": "closed"}, {"command", "system"}),
    "return": ({"registered": "reported", "dispatched": "registered",
                "accepted": "dispatched", "verified": "handled"}, set()),
    "supervise": (dict.fromkeys(OPEN_STATES, "="), {"command", "leader"}),
    "escalate": (dict.fromkeys(OPEN_STATES, "="), {"system", "command"}),
    "suspend": (dict.fromkeys(("registered", "dispatched", "accepted"), "suspended"),
                {"command"}),
    "resume": ({"suspended": "previous"}, {"command"}),
    "void": (dict.fromkeys(OPEN_STATES, "void"), {"command", "admin"}),
    "reopen": ({"closed": "accepted"}, {"system", "command"}),
    "request_extension": ({"dispatched": "=", "accepted": "="}, {"handler"}),
    "grant_extension": ({"dispatched": "=", "accepted": "="}, {"command"}),
    "refuse_extension": ({"dispatched": "=", "accepted": "="}, {"command"}),
    "add_evidence": (dict.fromkeys(OPEN_STATES, "="),
                     {"system", "inspector", "command", "citizen"}),
    "note": (dict.fromkeys((*OPEN_STATES, "closed"), "="),
             {"command", "inspector", "handler", "leader", "admin"}),
    "mark_overdue": (dict.fromkeys(OPEN_STATES, "="), {"system"}),
    "warn": (dict.fromkeys(OPEN_STATES, "="), {"system"}),
    "back_to_normal": (dict.fromkeys((*OPEN_STATES, "closed"), "="), {"system"}),
}
RETURN_ROLES = {"registered": {"command"}, "dispatched": {"handler", "command"},
                "accepted": {"handler", "command"}, "verified": {"command"}}


def test_table_is_the_specified_one() -> None:
    assert list(SPEC) == list(ACTIONS)
    for rule in TRANSITIONS:
        moves, roles = SPEC[rule.action]
        for state in rule.from_states:
            to = ("=" if rule.to_state is STAYS else "previous" if rule.to_state is PREVIOUS
                  else rule.to_state)
            assert moves[state] == to, (rule.action, state)
            assert set(rule.roles) == (roles or RETURN_ROLES[state]), (rule.action, state)
    assert {(a, s) for a, (moves, _) in SPEC.items() for s in moves} == TABLE_PAIRS
    assert set(OPEN_STATES) == OPEN


@pytest.mark.parametrize(("rule_index", "state", "role"), [
    (i, s, r) for i, rule in enumerate(TRANSITIONS) for s in rule.from_states for r in rule.roles
])
def test_every_row_is_reachable(rule_index: int, state: str | None, role: str) -> None:
    rule = TRANSITIONS[rule_index]
    case = facts(state)
    t = ok(decide(case, rule.action, actor(role), **full_inputs(rule.action)))
    if rule.to_state is STAYS:
        expected = state
    elif rule.to_state is PREVIOUS:
        expected = case.state_before_suspension
    else:
        expected = rule.to_state
    assert (t.action, t.from_state, t.to_state, t.role) == (rule.action, state, expected, role)


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_pair_outside_the_table_is_refused(state: str | None, action: str) -> None:
    rule = next((r for r in TRANSITIONS if r.action == action and state in r.from_states), None)
    for role in ROLES:
        decision = decide(facts(state), action, actor(role), **full_inputs(action))
        if rule is None:
            refused(decision, "not_allowed_from_state")
        elif role not in rule.roles:
            refused(decision, "role_not_allowed")
        else:
            ok(decision)


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("role", ROLES)
def test_allowed_actions_matches_decide(state: str | None, role: str) -> None:
    for case in (facts(state), facts(state, department_id=99, grid_code="x", shop_id=99)):
        shown = allowed_actions(case, actor(role))
        decided = [a for a in ACTIONS
                   if isinstance(decide(case, a, actor(role), **full_inputs(a)), Transition)]
        assert shown == decided


def test_allowed_actions_for_the_command_center() -> None:
    assert allowed_actions(facts("reported"), actor("command")) == [
        "register", "decline", "merge", "supervise", "escalate", "void", "add_evidence", "note"]
    assert allowed_actions(facts("closed"), actor("command")) == ["reopen", "note"]
    assert allowed_actions(facts("void"), actor("command")) == []
    assert allowed_actions(facts(None), actor("citizen")) == ["report"]


def test_table_markdown_renders_every_row() -> None:
    text = table_markdown()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == len(TRANSITIONS)
    assert "| `resume` | 解除挂账 | `suspended` | state before suspension | command |" in text
    assert "| `feedback` | 处置反馈 | `accepted` | `handled` | handler, shop_owner | note; photo" \
        in text
