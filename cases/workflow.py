"""The case state machine (案件流转): one explicit transition table, and the decisions it makes.

A case runs report → register → dispatch → handle → feedback → verify → close
(上报 → 立案 → 派遣 → 处置 → 反馈 → 核实 → 结案). ``TRANSITIONS`` is the single source of
truth: ``decide`` (may this actor do this now?), ``allowed_actions`` (which buttons to show) and
``table_markdown`` (the table in the docs) all read it, and nothing else lists states per action.

Pure Python: ``decide`` takes plain values (the case's facts, the action, who acts and what they
supplied) and returns a ``Transition`` for the data layer to record as one case event, or a
``Refusal`` that says what was wrong and what to do. It never raises for bad input.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

# ── States and their categories ──────────────────────────────────────────────────────────────

STATES: tuple[str, ...] = ("reported", "registered", "dispatched", "accepted", "handled",
                           "verified", "suspended", "closed", "declined", "void")
OPEN: frozenset[str] = frozenset(
    {"reported", "registered", "dispatched", "accepted", "handled", "verified", "suspended"})
CLOSED: frozenset[str] = frozenset({"closed"})
HIDDEN: frozenset[str] = frozenset({"declined", "void"})
#: The state of a case that does not exist yet; ``report`` is the only action from it.
#: Case events record it as ``from_state = NULL``.
NEW: Final = None

STATE_LABELS: dict[str, tuple[str, str]] = {
    "reported": ("上报", "Reported"),
    "registered": ("立案", "Registered"),
    "dispatched": ("派遣", "Dispatched"),
    "accepted": ("受理", "Accepted"),
    "handled": ("处置反馈", "Handled"),
    "verified": ("核实通过", "Verified"),
    "suspended": ("挂账", "Suspended"),
    "closed": ("结案", "Closed"),
    "declined": ("不予立案", "Declined"),
    "void": ("作废", "Void"),
}


def is_open(state: str | None) -> bool:
    """Whether the case is still being worked on (suspended cases are open, clock stopped)."""
    return state in OPEN


def is_closed(state: str | None) -> bool:
    """Whether the case was closed (结案): it counts in evaluation and shows on the public page."""
    return state in CLOSED


def is_hidden(state: str | None) -> bool:
    """Whether the case was declined or voided: kept for the record, hidden from lists."""
    return state in HIDDEN


# ── Roles ────────────────────────────────────────────────────────────────────────────────────

ROLES: tuple[str, ...] = ("command", "inspector", "handler", "leader", "admin", "shop_owner",
                          "system", "citizen")
ROLE_LABELS: dict[str, tuple[str, str]] = {
    "command": ("指挥中心", "Command center"),
    "inspector": ("网格员", "Grid inspector"),
    "handler": ("处置人员", "Handler"),
    "leader": ("领导", "Leader"),
    "admin": ("系统管理员", "Administrator"),
    "shop_owner": ("商户", "Shop owner"),
    "system": ("系统", "System"),
    "citizen": ("市民", "Citizen"),
}

# ── Clock steps ──────────────────────────────────────────────────────────────────────────────

#: The clock step (限时) that runs while a case is in a state. ``verified`` runs none;
#: ``suspended`` pauses the step of the state before suspension.
STEP_OF_STATE: dict[str, str] = {
    "reported": "register",
    "registered": "dispatch",
    "dispatched": "handle",
    "accepted": "handle",
    "handled": "verify",
}
STEPS: tuple[str, ...] = ("register", "dispatch", "handle", "verify")

# ── Reasons ──────────────────────────────────────────────────────────────────────────────────

DECLINE_REASONS: tuple[str, ...] = ("duplicate", "not_our_duty", "invalid")
REASON_LABELS: dict[str, tuple[str, str]] = {
    "duplicate": ("重复上报", "Duplicate"),
    "not_our_duty": ("不属于本平台职责", "Not our responsibility"),
    "invalid": ("无效上报", "Invalid"),
}

# ── The transition table ─────────────────────────────────────────────────────────────────────


class _Previous:
    """The marker for "the state before suspension" as a rule's target."""

    _instance: _Previous | None = None

    def __new__(cls) -> _Previous:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "PREVIOUS"


PREVIOUS: Final = _Previous()
#: A rule's ``to_state`` of ``STAYS`` (None) means the case stays in its state.
STAYS: Final = None


@dataclass(frozen=True)
class Rule:
    """One row of the transition table.

    ``to_state`` is a state, ``STAYS`` (None: the state does not change) or ``PREVIOUS``.
    ``reasons``, when set, lists the reason codes allowed; ``default_reason`` is recorded when
    none is given. ``needs_attachment_roles`` lists the roles that must attach a photo.
    ``hours`` is "required" or "optional" for the extension hours in ``data['hours']``.
    ``counts`` names the per-case counter the action adds one to.
    """

    action: str
    from_states: tuple[str | None, ...]
    to_state: str | _Previous | None
    roles: tuple[str, ...]
    needs_reason: bool = False
    reasons: tuple[str, ...] | None = None
    needs_attachment_roles: tuple[str, ...] = ()
    needs_note: bool = False
    needs_department: bool = False
    needs_target: bool = False
    hours: str | None = None
    default_reason: str | None = None
    counts: str | None = None
    sets_supervised: bool = False


_OPEN = tuple(s for s in STATES if s in OPEN)
_NOT_HIDDEN = tuple(s for s in STATES if s not in HIDDEN)
_OPEN_OR_CLOSED = (*_OPEN, "closed")
_SUSPENDABLE = ("registered", "dispatched", "accepted")
_EXTENDABLE = ("dispatched", "accepted")

TRANSITIONS: tuple[Rule, ...] = (
    Rule("report", (NEW,), "reported", ("inspector", "command", "system", "citizen", "shop_owner")),
    Rule("register", ("reported",), "registered", ("command", "system")),
    Rule("decline", ("reported",), "declined", ("command",), needs_reason=True,
         reasons=DECLINE_REASONS),
    Rule("merge", ("reported",), "declined", ("command", "system"), reasons=("duplicate",),
         default_reason="duplicate", needs_target=True),
    Rule("dispatch", ("registered",), "dispatched", ("command", "system"), needs_department=True),
    Rule("accept", ("dispatched",), "accepted", ("handler", "shop_owner")),
    Rule("feedback", ("accepted",), "handled", ("handler", "shop_owner"), needs_note=True,
         needs_attachment_roles=("handler", "shop_owner")),
    Rule("verify_pass", ("handled",), "verified", ("inspector", "command")),
    Rule("verify_fail", ("handled",), "accepted", ("inspector", "command"), needs_reason=True,
         counts="rework"),
    Rule("close", ("verified",), "closed", ("command", "system")),
    Rule("return", ("registered",), "reported", ("command",), needs_reason=True),
    Rule("return", ("dispatched",), "registered", ("handler", "command"), needs_reason=True),
    Rule("return", ("accepted",), "dispatched", ("handler", "command"), needs_reason=True),
    Rule("return", ("verified",), "handled", ("command",), needs_reason=True),
    Rule("supervise", _OPEN, STAYS, ("command", "leader"), sets_supervised=True),
    Rule("escalate", _OPEN, STAYS, ("system", "command")),
    Rule("suspend", _SUSPENDABLE, "suspended", ("command",), needs_reason=True),
    Rule("resume", ("suspended",), PREVIOUS, ("command",)),
    Rule("void", _OPEN, "void", ("command", "admin"), needs_reason=True),
    Rule("reopen", ("closed",), "accepted", ("system", "command"), counts="rework"),
    Rule("request_extension", _EXTENDABLE, STAYS, ("handler",), needs_reason=True,
         hours="required"),
    Rule("grant_extension", _EXTENDABLE, STAYS, ("command",), hours="optional",
         counts="extension"),
    Rule("refuse_extension", _EXTENDABLE, STAYS, ("command",)),
    Rule("add_evidence", _OPEN, STAYS, ("system", "inspector", "command", "citizen"),
         counts="seen"),
    Rule("note", _NOT_HIDDEN, STAYS, ("command", "inspector", "handler", "leader", "admin")),
    Rule("mark_overdue", _OPEN, STAYS, ("system",), counts="overdue"),
    Rule("warn", _OPEN, STAYS, ("system",)),
    Rule("back_to_normal", _OPEN_OR_CLOSED, STAYS, ("system",)),
)

ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(rule.action for rule in TRANSITIONS))

ACTION_LABELS: dict[str, tuple[str, str]] = {
    "report": ("上报", "Report"),
    "register": ("立案", "Register"),
    "decline": ("不予立案", "Decline"),
    "merge": ("合并", "Merge"),
    "dispatch": ("派遣", "Dispatch"),
    "accept": ("受理", "Accept"),
    "feedback": ("处置反馈", "Report back"),
    "verify_pass": ("核实通过", "Verify: fixed"),
    "verify_fail": ("核实不通过", "Verify: not fixed"),
    "close": ("结案", "Close"),
    "return": ("回退", "Return"),
    "supervise": ("督办", "Supervise"),
    "escalate": ("升级", "Escalate"),
    "suspend": ("挂账", "Suspend"),
    "resume": ("解除挂账", "Resume"),
    "void": ("作废", "Void"),
    "reopen": ("重新处置", "Reopen"),
    "request_extension": ("申请延期", "Request extension"),
    "grant_extension": ("批准延期", "Grant extension"),
    "refuse_extension": ("驳回延期", "Refuse extension"),
    "add_evidence": ("再次发现", "Seen again"),
    "note": ("备注", "Comment"),
    "mark_overdue": ("标记超期", "Mark overdue"),
    "warn": ("临期预警", "Warn"),
    "back_to_normal": ("读数恢复正常", "Back to normal"),
}



def _index(rules: tuple[Rule, ...]) -> dict[tuple[str, str | None], Rule]:
    """(action, from_state) → rule; a table with a typo or two rows for one pair fails import."""
    index: dict[tuple[str, str | None], Rule] = {}
    for rule in rules:
        targets = {rule.to_state} - {STAYS, PREVIOUS}
        if not set(rule.from_states) - {NEW} <= set(STATES) or not targets <= set(STATES) \
                or not set(rule.roles) <= set(ROLES) or rule.action not in ACTION_LABELS \
                or rule.hours not in (None, "required", "optional"):
            raise AssertionError(f"bad rule {rule!r}")
        for state in rule.from_states:
            if (rule.action, state) in index:
                raise AssertionError(f"two rules for {rule.action!r} from {state!r}")
            index[(rule.action, state)] = rule
    return index


_RULES = _index(TRANSITIONS)

# ── Inputs and decisions ─────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Actor:
    """Who acts: a role, and the scope that limits it (a handler's department, an inspector's
    grids, a shop owner's shops)."""

    role: str
    user_id: int | None = None
    department_id: int | None = None
    grid_codes: frozenset[str] = frozenset()
    shop_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class CaseFacts:
    """What ``decide`` needs to know about a case. ``state=None`` (``NEW``): no case yet."""

    state: str | None
    department_id: int | None = None
    grid_code: str | None = None
    state_before_suspension: str | None = None
    supervised: bool = False
    shop_id: int | None = None


_NO_COUNTERS: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True)
class Transition:
    """A decision to record: one case event moving ``from_state`` to ``to_state``.

    ``counters`` holds the per-case counters to add to (``rework``, ``extension``, ``seen``,
    ``overdue``). ``supervised`` is True when the action sets the 督办 flag, None when it leaves
    it. ``step_finished`` / ``step_started`` name the clock step (register, dispatch, handle,
    verify) whose clock stops / starts here; suspension pauses a step and starts none.
    ``state_before_suspension`` is set by ``suspend`` (the state ``resume`` returns to).
    ``department_id`` is the department ``dispatch`` assigns.
    """

    action: str
    from_state: str | None
    to_state: str
    role: str
    reason: str | None = None
    counters: Mapping[str, int] = field(default_factory=lambda: _NO_COUNTERS)
    supervised: bool | None = None
    step_started: str | None = None
    step_finished: str | None = None
    state_before_suspension: str | None = None
    department_id: int | None = None

    @property
    def changes_state(self) -> bool:
        return self.from_state != self.to_state


@dataclass(frozen=True)
class Refusal:
    """Why an action was refused: a machine ``code`` and messages a user can act on."""

    action: str
    state: str | None
    role: str
    code: str
    message: str
    message_zh: str


REFUSAL_CODES: tuple[str, ...] = (
    "unknown_action", "unknown_state", "not_allowed_from_state", "role_not_allowed",
    "previous_state_unknown", "not_your_department", "not_your_grid", "not_your_shop",
    "reason_required", "bad_reason", "note_required", "attachment_required",
    "department_required", "target_required", "hours_required",
)

# ── Messages ─────────────────────────────────────────────────────────────────────────────────


def _en(state: str | None) -> str:
    return "(new)" if state is None else f"'{state}'"


def _zh(state: str | None) -> str:
    if state is None:
        return "（新案件）"
    return f"「{STATE_LABELS[state][0]}」" if state in STATE_LABELS else f"「{state}」"


def _act_zh(action: str) -> str:
    return f"「{ACTION_LABELS[action][0]}」" if action in ACTION_LABELS else f"「{action}」"


def _states_en(states: Iterable[str | None]) -> str:
    return " or ".join(_en(s) for s in states)


def _states_zh(states: Iterable[str | None]) -> str:
    return "或".join(_zh(s) for s in states)


def _from_state_messages(action: str, state: str | None) -> tuple[str, str]:
    allowed = [s for (a, s) in _RULES if a == action]
    head_en = f"'{action}' is not allowed from {_en(state)}: "
    head_zh = f"案件状态为{_zh(state)}，不能{_act_zh(action)}："
    if state is None:
        return (head_en + "the case does not exist yet; report it first",
                head_zh + "案件尚不存在，请先上报")
    if action == "report":
        return (head_en + "the case already exists; add evidence or a comment to it instead",
                head_zh + "案件已存在，请追加证据或备注")
    if is_hidden(state):
        return (head_en + f"the case is {state} and takes no further action; "
                "report the problem again as a new case if it persists",
                head_zh + "案件已不予立案或作废，不再办理；如问题仍存在请重新上报")
    if set(allowed) >= set(_OPEN):
        return (head_en + "only open cases take this action",
                head_zh + "只有办理中的案件可以执行此操作")
    if len(allowed) <= 3:
        return (head_en + f"the case must be {' or '.join(map(str, allowed))} first",
                head_zh + f"案件须先处于{_states_zh(allowed)}状态")
    return (head_en + f"it is allowed only from {_states_en(allowed)}",
            head_zh + f"仅在{_states_zh(allowed)}状态下可以执行")


def _refuse(facts: CaseFacts, action: str, actor: Actor, code: str, en: str, zh: str) -> Refusal:
    return Refusal(action=action, state=facts.state, role=actor.role, code=code, message=en,
                   message_zh=zh)


# ── Deciding ─────────────────────────────────────────────────────────────────────────────────

_VERIFY_ACTIONS = frozenset({"verify_pass", "verify_fail"})


def _rule_for(facts: CaseFacts, action: str, actor: Actor) -> Rule | Refusal:
    """The rule that lets this actor take this action on this case now, whatever they supply."""
    state = facts.state
    if action not in ACTIONS:
        return _refuse(facts, action, actor, "unknown_action",
                       f"unknown action '{action}'; actions are: {', '.join(ACTIONS)}",
                       f"未知操作「{action}」")
    if state is not None and state not in STATES:
        return _refuse(facts, action, actor, "unknown_state",
                       f"unknown case state '{state}'; states are: {', '.join(STATES)}",
                       f"未知案件状态「{state}」")
    rule = _RULES.get((action, state))
    if rule is None:
        en, zh = _from_state_messages(action, state)
        return _refuse(facts, action, actor, "not_allowed_from_state", en, zh)
    if actor.role not in rule.roles:
        who_en = ", ".join(rule.roles)
        who_zh = "、".join(ROLE_LABELS[r][0] for r in rule.roles)
        if actor.role in ROLES:
            you_en, you_zh = f"you act as '{actor.role}'", ROLE_LABELS[actor.role][0]
        else:
            you_en, you_zh = f"'{actor.role}' is not a role", f"未知角色「{actor.role}」"
        return _refuse(facts, action, actor, "role_not_allowed",
                       f"'{action}' from {_en(state)} is for {who_en}; {you_en}",
                       f"{_act_zh(action)}须由{who_zh}操作（当前角色：{you_zh}）")
    if rule.to_state is PREVIOUS and facts.state_before_suspension not in _SUSPENDABLE:
        return _refuse(facts, action, actor, "previous_state_unknown",
                       "the state before suspension is not known; rebuild it from the case's "
                       "events (history_state_before_suspension) and try again",
                       "无法确定挂账前的状态，请根据案件记录重建后重试")
    if state is not None:
        if actor.role == "handler" and (actor.department_id is None
                                        or actor.department_id != facts.department_id):
            return _refuse(facts, action, actor, "not_your_department",
                           "this case is not dispatched to your department; ask the command "
                           "center to re-dispatch it if it should be yours",
                           "该案件未派遣至您所在部门；如应由本部门处置，请联系指挥中心改派")
        if (actor.role == "inspector" and action in _VERIFY_ACTIONS and actor.grid_codes
                and facts.grid_code not in actor.grid_codes):
            return _refuse(facts, action, actor, "not_your_grid",
                           f"the case is in grid '{facts.grid_code}', outside your grids; "
                           "the inspector of that grid verifies it",
                           f"案件位于网格「{facts.grid_code}」，不在您负责的网格内，"
                           "应由该网格的网格员核实")
        if actor.role == "shop_owner" and (facts.shop_id is None
                                           or facts.shop_id not in actor.shop_ids):
            return _refuse(facts, action, actor, "not_your_shop",
                           "this case is not about your shop",
                           "该案件不属于您的店铺")
    return rule


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _is_photo(attachment: object) -> bool:
    """An attachment is a content hash (str, an uploaded photo) or a mapping with ``sha256``
    and optionally ``mime``; a mapping whose mime is given and is not ``image/*`` is no photo."""
    if isinstance(attachment, str):
        return bool(attachment.strip())
    if isinstance(attachment, Mapping):
        mime = attachment.get("mime")
        return bool(attachment.get("sha256")) and (mime is None or str(mime).startswith("image/"))
    return False


def _positive_hours(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def _check_inputs(facts: CaseFacts, action: str, actor: Actor, rule: Rule, reason: str | None,
                  note: str | None, attachments: Sequence[object],
                  data: Mapping[str, Any]) -> Refusal | None:
    def refuse(code: str, en: str, zh: str) -> Refusal:
        return _refuse(facts, action, actor, code, en, zh)

    if rule.needs_reason and reason is None:
        if rule.reasons:
            return refuse("reason_required",
                          f"'{action}' needs a reason: one of {', '.join(rule.reasons)}",
                          f"{_act_zh(action)}须选择原因："
                          + "、".join(REASON_LABELS[r][0] for r in rule.reasons))
        return refuse("reason_required", f"'{action}' needs a reason; write why",
                      f"{_act_zh(action)}须填写原因")
    if rule.reasons is not None and reason is not None and reason not in rule.reasons:
        return refuse("bad_reason",
                      f"'{reason}' is not a reason for '{action}'; choose one of "
                      f"{', '.join(rule.reasons)}",
                      f"「{reason}」不是{_act_zh(action)}的有效原因，请选择："
                      + "、".join(REASON_LABELS[r][0] for r in rule.reasons))
    if rule.needs_note and note is None:
        return refuse("note_required", f"'{action}' needs a note saying what was done",
                      f"{_act_zh(action)}须填写处置说明")
    if actor.role in rule.needs_attachment_roles and not any(map(_is_photo, attachments)):
        return refuse("attachment_required",
                      f"'{action}' needs at least one photo of the result; take one and attach it",
                      f"{_act_zh(action)}须至少上传一张现场照片")
    if rule.needs_department and _department(facts, data) is None:
        return refuse("department_required",
                      f"'{action}' needs a department; choose who must handle the case",
                      f"{_act_zh(action)}须选择处置部门")
    if rule.needs_target and data.get("target_case_id") in (None, ""):
        return refuse("target_required",
                      f"'{action}' needs the case to merge into (data['target_case_id'])",
                      f"{_act_zh(action)}须指定合并到的案件")
    hours = data.get("hours")
    if (rule.hours == "required" or (rule.hours and hours is not None)) \
            and not _positive_hours(hours):
        return refuse("hours_required",
                      f"'{action}' needs the extension in hours, a positive number",
                      f"{_act_zh(action)}须填写延期时长（小时，正数）")
    return None


def _department(facts: CaseFacts, data: Mapping[str, Any]) -> int | None:
    chosen = data.get("department_id")
    return facts.department_id if chosen is None else chosen


def _step(state: str | None, facts: CaseFacts) -> str | None:
    if state == "suspended":
        state = facts.state_before_suspension
    return STEP_OF_STATE.get(state) if state is not None else None


def decide(facts: CaseFacts, action: str, actor: Actor, *, reason: str | None = None,
           note: str | None = None, attachments: Sequence[object] = (),
           data: Mapping[str, Any] | None = None) -> Transition | Refusal:
    """Decide whether ``actor`` may take ``action`` on the case described by ``facts``.

    Returns the ``Transition`` to record, or a ``Refusal``. Checks, in order: the action and
    state are known, the table has a row for (action, state), the actor's role is in it, the
    actor's scope (a handler's department, a verifying inspector's grids, a shop owner's shop),
    then what the row needs supplied: reason, note, photo, department
    (``data['department_id']`` or already on the case), merge target
    (``data['target_case_id']``), extension hours (``data['hours']``).
    """
    data = data if isinstance(data, Mapping) else {}
    rule = _rule_for(facts, action, actor)
    if isinstance(rule, Refusal):
        return rule
    reason = _text(reason) or rule.default_reason
    problem = _check_inputs(facts, action, actor, rule, reason, _text(note),
                            tuple(attachments or ()), data)
    if problem is not None:
        return problem

    from_state = facts.state
    if rule.to_state is PREVIOUS:
        to_state = facts.state_before_suspension
    elif rule.to_state is STAYS:
        to_state = from_state
    else:
        to_state = rule.to_state
    assert isinstance(to_state, str)  # report has a target; every other row starts from a state

    before, after = _step(from_state, facts), _step(to_state, facts)
    if action in ("suspend", "resume") or before == after:
        finished = started = None
    else:
        finished, started = before, after

    return Transition(
        action=action, from_state=from_state, to_state=to_state, role=actor.role, reason=reason,
        counters=MappingProxyType({rule.counts: 1}) if rule.counts else _NO_COUNTERS,
        supervised=True if rule.sets_supervised else None,
        step_started=started, step_finished=finished,
        state_before_suspension=from_state if to_state == "suspended" else None,
        department_id=_department(facts, data) if rule.needs_department else None,
    )


def allowed_actions(facts: CaseFacts, actor: Actor) -> list[str]:
    """The actions this actor may take on this case now (the buttons to show), in table order.

    An action listed here is decided as a ``Transition`` once its inputs (reason, note, photo,
    …) are supplied; an action not listed is refused whatever is supplied.
    """
    return [a for a in ACTIONS if isinstance(_rule_for(facts, a, actor), Rule)]


def history_state_before_suspension(
        events: Iterable[tuple[str, str | None, str | None]]) -> str | None:
    """The state a ``resume`` returns to, from a case's events ``(action, from_state,
    to_state)`` in order; None when the case is not suspended at the end of them."""
    previous: str | None = None
    current: str | None = None
    for _action, from_state, to_state in events:
        if to_state == "suspended" and from_state != "suspended":
            previous = from_state
        elif to_state != "suspended":
            previous = None
        current = to_state
    return previous if current == "suspended" else None


# ── Documentation ────────────────────────────────────────────────────────────────────────────


def _needs(rule: Rule) -> str:
    parts = []
    if rule.needs_reason or rule.reasons:
        parts.append("reason" + (f" ({' / '.join(rule.reasons)})" if rule.reasons else ""))
    if rule.needs_note:
        parts.append("note")
    if rule.needs_attachment_roles:
        parts.append(f"photo ({', '.join(rule.needs_attachment_roles)})")
    if rule.needs_department:
        parts.append("department")
    if rule.needs_target:
        parts.append("target case")
    if rule.hours:
        parts.append(f"hours ({rule.hours})")
    if rule.counts:
        parts.append(f"{rule.counts} +1")
    if rule.sets_supervised:
        parts.append("sets supervised")
    return "; ".join(parts)


def _from_cell(states: tuple[str | None, ...]) -> str:
    if states == _OPEN:
        return "any open"
    if states == _OPEN_OR_CLOSED:
        return "any open, closed"
    return ", ".join("(new)" if s is None else f"`{s}`" for s in states)


def table_markdown() -> str:
    """The transition table as a Markdown table, for the docs."""
    lines = ["| action | 操作 | from | to | roles | needs / effects |",
             "|---|---|---|---|---|---|"]
    for rule in TRANSITIONS:
        to = ("stays" if rule.to_state is STAYS
              else "state before suspension" if rule.to_state is PREVIOUS
              else f"`{rule.to_state}`")
        lines.append(f"| `{rule.action}` | {ACTION_LABELS[rule.action][0]} | "
                     f"{_from_cell(rule.from_states)} | {to} | {', '.join(rule.roles)} | "
                     f"{_needs(rule)} |")
    return "\n".join(lines) + "\n"
