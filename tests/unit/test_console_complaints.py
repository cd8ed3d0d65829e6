"""The complaint page offers a person exactly the actions the complaint's rules would accept from them now,
and says each stage's clock in words; the visits list pages by day without splitting one."""
from __future__ import annotations

import itertools
from datetime import date

import pytest

from gateway.pages.console_complaints import ALLOWED, action_of, actions_for, clock
from gateway.pages.console_visits import page_of
from services.complaints.domain import complaint as rules
from shared.contracts.caller import Caller, Role
from shared.contracts.complaints import ComplaintAction, ComplaintKind, ComplaintStatus, Finding
from shared.errors import CunbanError

ME, HANDLER, ACCUSED = 7, 8, 9
COMMANDS = {
    "assign": {"staff_id": 99}, "sign": {}, "send_back": {"reason": "不属本单位职责"}, "note": {"note": "已到现场"},
    "mediate": {"note": "调解", "parties": ["甲", "乙"], "agreement": True}, "reply": {"note": "已修复"},
    "call_back": {"rating": 4, "resolved": True}, "reopen": {"reason": "仍未修复"},
    "extend": {"days": 5, "reason": "会商"}, "finding": {"finding": "partly", "reason": "部分属实"},
}


def test_the_pages_table_of_actions_is_the_rules_table():
    assert {status.value: actions for status, actions in rules.ALLOWED.items()} == ALLOWED


@pytest.mark.parametrize("role", [Role.TOWNSHIP_CADRE, Role.DEPARTMENT_STAFF, Role.SUPERVISOR, Role.COUNTY_ADMIN,
                                  Role.VILLAGE_AGENT])
def test_the_page_offers_what_the_rules_accept_and_nothing_else(role):
    for status, kind, me_is, finding in itertools.product(ComplaintStatus, ComplaintKind,
                                                          ("handler", "accused", "other"), (None, "partly")):
        handler = ME if me_is == "handler" else HANDLER
        accused = ME if me_is == "accused" else (ACCUSED if kind == ComplaintKind.STAFF_CONDUCT else None)
        state = rules.ComplaintState(status=status, kind=kind, handler_staff_id=handler, accused_staff_id=accused,
                                     accused_unit="station:elsewhere", finding=finding and Finding(finding),
                                     stage=None)
        actor = rules.Actor(staff_id=ME, role=role, unit=None if role is Role.COUNTY_ADMIN else "township:431099101")
        accepted = set()
        for name, fields in COMMANDS.items():
            try:
                rules.decide(state, ComplaintAction(action=name, **fields), actor)
            except CunbanError:
                continue
            accepted.add(name)
        staff = Caller(staff_id=ME, role=role, township_code=None if role is Role.COUNTY_ADMIN else "431099101")
        offered = actions_for({"status": status.value, "kind": kind.value, "handler_staff_id": handler,
                               "accused_staff_id": accused, "finding": finding}, staff)
        assert set(offered) == accepted, (role, status, kind, me_is, finding)


def test_each_form_becomes_its_action():
    assert action_of({"action": "mediate", "parties": "张三\n李四、王五", "agreement": "no", "note": "未达成"}) == \
        ComplaintAction(action="mediate", parties=["张三", "李四", "王五"], agreement=False, note="未达成")
    assert action_of({"action": "call_back", "rating": "2", "resolved": "no"}) == \
        ComplaintAction(action="call_back", rating=2, resolved=False)
    with pytest.raises(ValueError):
        action_of({"action": "reply", "note": ""})  # a reply says something


def test_the_stage_clock_in_words():
    limits = {"dispute": {"assign": 1, "sign": 1, "reply": 30, "call_back": 5}}
    today = date(2026, 12, 4)
    base = {"kind": "dispute", "overdue": False}
    assert clock({**base, "stage": "sign", "stage_due": "2026-12-07"}, today, limits) == \
        ("签收还剩 3 天（12月7日前，时限 1 个工作日）", "")
    assert clock({**base, "stage": "reply", "stage_due": "2026-12-05"}, today, limits)[1] == "warn"
    assert clock({**base, "stage": "call_back", "stage_due": "2026-12-04"}, today, None) == \
        ("回访今天到期（12月4日）", "warn")
    assert clock({**base, "stage": "assign", "stage_due": "2026-12-01", "overdue": True}, today, limits) == \
        ("分派已超期 3 天（应在12月1日前，时限 1 个工作日）", "bad")
    assert clock({**base, "stage": None, "stage_due": None}, today, limits) == ("", "")


def test_visits_page_by_day_without_splitting_one():
    visits = [{"id": str(n), "day": day} for n, day in enumerate(
        ["2026-12-04", "2026-12-04", "2026-12-05", "2026-12-05", "2026-12-06"])]
    assert page_of(visits, 5) == (visits, None)
    shown, next_start = page_of(visits, 3)  # the 5th's visits go together to the next page
    assert [v["id"] for v in shown] == ["0", "1"] and next_start == "2026-12-05"
    shown, next_start = page_of(visits[:2] + [{"id": "x", "day": "2026-12-04"}], 2)  # one day fills a page
    assert [v["id"] for v in shown] == ["0", "1"] and next_start == "2026-12-05"
