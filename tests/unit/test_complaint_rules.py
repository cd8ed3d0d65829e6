"""Complaint rules: the transition table holds for every status and action, the people rules protect
complainants, and early warning says what it should and nothing more."""
import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.complaints.domain.complaint import (
    ALLOWED,
    ORDER,
    Actor,
    ComplaintState,
    actions_for,
    decide,
    staff_unit,
)
from services.complaints.domain.early_warning import assess, history_start, window_start
from shared.contracts.base import parse
from shared.contracts.caller import Role
from shared.contracts.complaints import (
    ComplaintAction,
    ComplaintKind,
    ComplaintStatus,
    Finding,
    Stage,
    WarningRule,
)
from shared.errors import Conflict, CunbanError, Forbidden

S = ComplaintStatus
EVERY_ACTION = {
    "assign": {"staff_id": 5}, "sign": {}, "send_back": {"reason": "不属本单位"}, "note": {"note": "进展"},
    "mediate": {"note": "调解", "parties": ["甲", "乙"], "agreement": True}, "reply": {"note": "答复"},
    "call_back": {"rating": 4, "resolved": True}, "reopen": {"reason": "不满意"},
    "extend": {"days": 3, "reason": "会商"}, "finding": {"finding": "partly", "reason": "部分属实"}}
HANDLER = Actor(staff_id=3, role=Role.TOWNSHIP_CADRE, unit="township:431099101")
SUPERVISOR = Actor(staff_id=31, role=Role.SUPERVISOR, unit="township:431099101")
COUNTY = Actor(staff_id=1, role=Role.COUNTY_ADMIN, unit=None)
AGENT = Actor(staff_id=6, role=Role.VILLAGE_AGENT, unit="station:ST1")


def state(status: ComplaintStatus, **changes) -> ComplaintState:
    values = {"status": status, "kind": ComplaintKind.DISPUTE, "handler_staff_id": 3, "accused_staff_id": 6,
              "accused_unit": "station:ST1", "finding": None, "stage": Stage.REPLY}
    return ComplaintState(**{**values, **changes})


def action(name: str) -> ComplaintAction:
    return parse(ComplaintAction, {"action": name, **EVERY_ACTION[name]})


def _rightful_actor(name: str) -> Actor:
    if name in ("sign", "send_back", "note", "mediate", "reply"):
        return HANDLER
    return SUPERVISOR


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("name", list(EVERY_ACTION))
def test_the_transition_table_is_the_only_way_through(status, name):
    """With the rightful actor, an action is accepted exactly where the table allows it."""
    try:
        decide(state(status), action(name), _rightful_actor(name))
        accepted = True
    except Conflict as refused:
        assert refused.code == "action_not_allowed"
        accepted = False
    assert accepted == (name in ALLOWED[status])


@pytest.mark.parametrize("role", [Role.TOWNSHIP_CADRE, Role.DEPARTMENT_STAFF, Role.SUPERVISOR, Role.COUNTY_ADMIN,
                                  Role.VILLAGE_AGENT])
def test_the_actions_offered_are_exactly_those_the_rules_accept_from_this_person(role):
    """`actions_for` (what `get` tells a person they may do now) is what `decide` accepts from them, for
    every status, kind, whether they handle it, are complained about or neither, and with or without a
    finding — in the order the page offers them."""
    me = 7
    for status, kind, me_is, finding in itertools.product(S, ComplaintKind, ("handler", "accused", "other"),
                                                          (None, "partly")):
        accused = me if me_is == "accused" else (9 if kind == ComplaintKind.STAFF_CONDUCT else None)
        complaint = state(status, kind=kind, handler_staff_id=me if me_is == "handler" else 8,
                          accused_staff_id=accused, finding=finding and Finding(finding))
        actor = Actor(staff_id=me, role=role, unit=None if role is Role.COUNTY_ADMIN else "township:431099101")
        accepted = []
        for name in EVERY_ACTION:
            try:
                decide(complaint, action(name), actor)
            except CunbanError:
                continue
            accepted.append(name)
        offered = actions_for(complaint, actor)
        assert set(offered) == set(accepted), (role, status, kind, me_is, finding)
        assert offered == sorted(offered, key=ORDER.index)


def test_the_handler_is_offered_the_work_and_a_supervisor_the_dispatch():
    assert actions_for(state(S.ASSIGNED), HANDLER) == ["sign", "send_back"]
    assert actions_for(state(S.SIGNED), HANDLER) == ["note", "mediate", "reply"]
    assert actions_for(state(S.SIGNED, kind=ComplaintKind.PETITION), HANDLER) == ["note", "reply"]
    assert actions_for(state(S.REPLIED), SUPERVISOR) == ["call_back", "reopen", "extend", "finding"]
    assert actions_for(state(S.REPLIED), HANDLER) == []  # no call-back on their own work
    assert actions_for(state(S.REPLIED), AGENT) == []  # the accused (staff 6) calls nobody back
    assert actions_for(state(S.CLOSED_UNRESOLVED, accused_staff_id=None), SUPERVISOR) == ["reopen"]


@pytest.mark.parametrize(("name", "status", "actor"), [
    ("assign", S.REGISTERED, HANDLER), ("extend", S.SIGNED, HANDLER), ("reopen", S.REPLIED, AGENT),
    ("sign", S.ASSIGNED, SUPERVISOR), ("reply", S.HANDLING, Actor(staff_id=4, role=Role.TOWNSHIP_CADRE, unit=None)),
    ("call_back", S.REPLIED, HANDLER), ("call_back", S.REPLIED, AGENT),  # the handler, and the accused (staff 6)
])
def test_the_wrong_person_is_refused(name, status, actor):
    with pytest.raises(Forbidden):
        decide(state(status), action(name), actor)


def test_the_clock_restarts_with_each_new_stage_and_stops_at_the_close():
    assert decide(state(S.REGISTERED, handler_staff_id=None), action("assign"), SUPERVISOR).restart_clock
    note = decide(state(S.SIGNED), action("note"), HANDLER)
    assert (note.state.status, note.restart_clock) == (S.HANDLING, False)
    closed = decide(state(S.REPLIED, stage=Stage.CALL_BACK), action("call_back"), SUPERVISOR)
    assert (closed.state.status, closed.state.stage) == (S.CLOSED_RESOLVED, None)
    unresolved = parse(ComplaintAction, {"action": "call_back", "rating": 2, "resolved": False})
    assert decide(state(S.REPLIED), unresolved, SUPERVISOR).state.status == S.CLOSED_UNRESOLVED
    reopened = decide(state(S.CLOSED_UNRESOLVED, stage=None), action("reopen"), SUPERVISOR)
    assert (reopened.state.status, reopened.state.stage, reopened.state.reopen_count, reopened.restart_clock) == \
        (S.HANDLING, Stage.REPLY, 1, True)
    assert decide(state(S.SIGNED), action("extend"), SUPERVISOR).extension_days == 3


def test_only_disputes_are_mediated():
    with pytest.raises(CunbanError) as err:
        decide(state(S.SIGNED, kind=ComplaintKind.PETITION), action("mediate"), HANDLER)
    assert err.value.code == "not_a_dispute"


def test_the_accused_never_handles_and_findings_come_from_outside_their_unit():
    with pytest.raises(Forbidden):
        decide(state(S.REGISTERED, accused_staff_id=5), action("assign"), SUPERVISOR)
    township_cadre = state(S.SIGNED, accused_staff_id=4, accused_unit="township:431099101")
    with pytest.raises(Forbidden):
        decide(township_cadre, action("finding"), SUPERVISOR)  # the same township's supervisor
    assert decide(township_cadre, action("finding"), COUNTY).state.finding == "partly"
    assert decide(state(S.SIGNED), action("finding"), SUPERVISOR).state.finding == "partly"  # a station agent
    with pytest.raises(CunbanError):
        decide(state(S.SIGNED, accused_staff_id=None, accused_unit=None), action("finding"), COUNTY)


def test_a_staff_members_unit_is_their_station_else_their_township():
    assert staff_unit("431099101", "ST1") == "station:ST1"
    assert staff_unit("431099101", None) == "township:431099101"
    assert staff_unit(None, None) is None


# ---- early warning -------------------------------------------------------------------------------------

RULE = WarningRule(threshold=3, window_days=7, baseline_days=84, rise_factor=3, rise_min=2)
TODAY = date(2026, 12, 10)
DAYS = st.dictionaries(st.dates(history_start(RULE, TODAY), TODAY), st.integers(1, 4), max_size=30)


def test_a_burst_is_the_threshold_inside_the_window():
    assert assess(RULE, {TODAY: 1, TODAY - timedelta(days=6): 2}, TODAY).rule == "burst"
    assert assess(RULE, {TODAY: 1, TODAY - timedelta(days=7): 2}, TODAY) is None  # one day too early
    assert window_start(RULE, TODAY) == TODAY - timedelta(days=6)


def test_a_rise_needs_a_past_to_rise_against():
    assert assess(RULE, {TODAY: 2}, TODAY) is None  # no history: only a burst counts
    assert assess(RULE, {TODAY: 2, TODAY - timedelta(days=40): 1}, TODAY).rule == "rise"
    busy_past = {TODAY: 2, **{TODAY - timedelta(days=10 + 7 * w): 1 for w in range(11)}}
    assert assess(RULE, busy_past, TODAY) is None  # about one a week before: two is no rise


@given(DAYS, st.dates(window_start(RULE, TODAY), TODAY))
def test_one_more_complaint_in_the_window_never_silences_a_warning(daily, day):
    before = assess(RULE, daily, TODAY)
    after = assess(RULE, {**daily, day: daily.get(day, 0) + 1}, TODAY)
    assert before is None or after is not None


@given(DAYS)
def test_a_verdict_counts_exactly_the_window(daily):
    verdict = assess(RULE, daily, TODAY)
    in_window = sum(n for d, n in daily.items() if d >= window_start(RULE, TODAY))
    assert (verdict is not None and verdict.rule == "burst") == (in_window >= RULE.threshold)
    if verdict is not None:
        assert verdict.count == in_window
