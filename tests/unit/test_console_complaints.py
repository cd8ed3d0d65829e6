"""The complaint page's forms become the contract's actions and it says each stage's clock in words (what a
person may do now is the complaints service's answer: tests/unit/test_complaint_rules.py and
tests/interface/test_complaints_service.py); the visits list pages by day without splitting one, and the visit
forms become the contracts' plans and rules."""
from __future__ import annotations

import itertools

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.datastructures import FormData

from gateway.app import create_app
from gateway.auth import issue_token
from gateway.pages import words
from gateway.pages.console_complaints import action_of, clock
from gateway.pages.console_visits import page_of, plan_of, series_of
from gateway.pages.session import SESSION_COOKIE
from gateway.rpc import ServiceCalls
from shared.clock import utcnow
from shared.contracts.caller import Role
from shared.contracts.complaints import ComplaintAction, ComplaintStatus
from shared.contracts.directory import StaffPublic
from shared.errors import NotFound
from shared.settings import Settings


def test_each_form_becomes_its_action():
    assert action_of({"action": "mediate", "parties": "张三\n李四、王五", "agreement": "no", "note": "未达成"}) == \
        ComplaintAction(action="mediate", parties=["张三", "李四", "王五"], agreement=False, note="未达成")
    assert action_of({"action": "call_back", "rating": "2", "resolved": "no"}) == \
        ComplaintAction(action="call_back", rating=2, resolved=False)
    with pytest.raises(ValueError):
        action_of({"action": "reply", "note": ""})  # a reply says something


def test_the_stage_clock_in_working_days_with_the_date():
    """The time left as the service counts it (working days), said as the cases' inbox says it, with the day."""
    base = {"kind": "dispute", "overdue": False}
    assert clock({**base, "stage": "sign", "stage_due": "2026-12-07", "working_days_left": 1}) == \
        ("签收还剩 1 个工作日（12月7日前）", "warn")
    assert clock({**base, "stage": "reply", "stage_due": "2027-01-12", "working_days_left": 27}) == \
        ("答复还剩 27 个工作日（1月12日前）", "")
    assert clock({**base, "stage": "call_back", "stage_due": "2026-12-04", "working_days_left": 0}) == \
        ("回访今天到期（12月4日）", "warn")
    assert clock({**base, "stage": "assign", "stage_due": "2026-12-01", "overdue": True, "working_days_left": -3}) \
        == ("分派已超期 3 个工作日（应在12月1日前）", "bad")
    assert clock({**base, "stage": None, "stage_due": None, "working_days_left": None}) == ("", "")


def test_every_complaint_status_has_its_own_plain_words():
    assert set(words.COMPLAINT_STATUS) == {s.value for s in ComplaintStatus}
    assert len(set(words.COMPLAINT_STATUS.values())) == len(words.COMPLAINT_STATUS)
    for one, other in itertools.permutations(words.COMPLAINT_STATUS.values(), 2):
        assert one not in other, (one, other)  # "正在办理" inside "已签收，正在办理" reads as the same


def test_visits_page_by_day_without_splitting_one():
    visits = [{"id": str(n), "day": day} for n, day in enumerate(
        ["2026-12-04", "2026-12-04", "2026-12-05", "2026-12-05", "2026-12-06"])]
    assert page_of(visits, 5) == (visits, None)
    shown, next_start = page_of(visits, 3)  # the 5th's visits go together to the next page
    assert [v["id"] for v in shown] == ["0", "1"] and next_start == "2026-12-05"
    shown, next_start = page_of(visits[:2] + [{"id": "x", "day": "2026-12-04"}], 2)  # one day fills a page
    assert [v["id"] for v in shown] == ["0", "1"] and next_start == "2026-12-05"


def test_a_joint_visit_form_becomes_departments_with_their_cadres():
    form = FormData([("title", "联合下访"), ("village_code", "431099101003"), ("place", "长冲村村委会"),
                     ("day", "2026-12-10"), ("starts", "09:00"), ("ends", "11:30"), ("department1", "农技站"),
                     ("team1", "5"), ("team1", "6"), ("department2", "司法所"), ("team2", "7"), ("department3", ""),
                     ("staff_ids", "9")])  # a stray tick outside the departments is no member of a joint visit
    typed, plan = plan_of("joint", form)
    assert plan.members() == [(5, "农技站"), (6, "农技站"), (7, "司法所")] and plan.staff_ids == []
    assert typed["team1"] == ["5", "6"]
    with pytest.raises(ValidationError):  # one department is no joint visit
        plan_of("joint", FormData([(k, v) for k, v in form.multi_items() if not k.startswith(("department2",
                                                                                              "team2"))]))


def test_a_series_form_says_its_days_as_a_rule():
    base = [("kind", "fixed_point"), ("title", "定点接访"), ("village_code", "431099101005"), ("place", "便民服务站"),
            ("first_day", "2026-12-04"), ("last_day", "2027-03-04"), ("staff_ids", "3")]
    _, weekly = series_of(FormData([*base, ("rule_kind", "weekly"), ("weekdays", "2")]))
    assert weekly.rule.kind == "weekly" and weekly.rule.weekdays == [2]
    _, solar = series_of(FormData([*base, ("rule_kind", "solar_days"), ("days", "1，15")]))
    assert solar.rule.days == [1, 15]
    _, lunar = series_of(FormData([*base, ("rule_kind", "lunar_days"), ("pattern", "逢三六九")]))
    assert lunar.rule.pattern == "逢三六九" and lunar.rule.days == [3, 6, 9, 13, 16, 19, 23, 26, 29]
    with pytest.raises(ValidationError):  # every week, but on no day
        series_of(FormData([*base, ("rule_kind", "weekly")]))


class RefusingServices:
    """The directory knows a 柳溪乡 cadre; complaints finds no complaint of theirs by that number."""

    def call(self, service, method, **kwargs):
        if method == "session_status":
            return True
        if (service, method) == ("complaints", "get"):
            raise NotFound("complaint not found", code="complaint_not_found")
        return LX_CADRE.model_dump(mode="json")


LX_CADRE = StaffPublic(id=57, username="lx_cadre1", full_name="柳溪干部", role=Role.TOWNSHIP_CADRE,
                       township_code="431099102", station_code=None, phone=None, active=True, version=1,
                       updated_at=utcnow())


def test_staff_refused_a_complaint_are_told_it_is_outside_their_township_not_to_check_a_look_up_code():
    settings = Settings()
    client = TestClient(create_app(settings, ServiceCalls(client=RefusingServices())))  # type: ignore[arg-type]
    client.cookies.set(SESSION_COOKIE, issue_token(LX_CADRE, settings)[0])
    page = client.get("/console/complaints/431099101-TS20261201-0001")
    assert page.status_code == 404
    assert "这不在您负责的乡镇范围内，或没有这件诉求。" in page.text
    assert "查询码" not in page.text  # the villagers' public wording
    assert words.ERROR_MESSAGES["complaint_not_found"] == "没有查到这件投诉：请核对查询码。"  # theirs stays


ADMIN = StaffPublic(id=1, username="admin", full_name="县信息中心管理员", role=Role.COUNTY_ADMIN, township_code=None,
                    county_code="431099",
                    station_code=None, phone=None, active=True, version=1, updated_at=utcnow())


class CountyServices:
    """The county's two townships; complaints keeps the queries it is asked and answers none."""

    def __init__(self):
        self.asked: list[dict] = []

    def call(self, service, method, **kwargs):
        if method == "session_status":
            return True
        if method == "list_townships":
            return [{"code": "431099101", "name": "青石镇"}, {"code": "431099102", "name": "柳溪乡"}]
        if method == "list_complaints":
            self.asked.append(kwargs["query"])
            return []
        if method in ("list_villages", "list_staff"):
            return []
        return ADMIN.model_dump(mode="json")


def test_a_county_admin_chooses_the_township_of_the_complaints_inbox():
    settings, services = Settings(), CountyServices()
    client = TestClient(create_app(settings, ServiceCalls(client=services)))  # type: ignore[arg-type]
    client.cookies.set(SESSION_COOKIE, issue_token(ADMIN, settings)[0])
    first = client.get("/console/complaints")
    assert first.status_code == 200 and services.asked[-1]["township_code"] == "431099101"  # the first, until chosen
    assert '<select id="f-township" name="township">' in first.text and "柳溪乡" in first.text
    chosen = client.get("/console/complaints", params={"township": "431099102", "mine": "false"})
    assert chosen.status_code == 200 and services.asked[-1]["township_code"] == "431099102"
    assert '<option value="431099102" selected>柳溪乡</option>' in chosen.text
    assert client.get("/console/complaints", params={"township": "4310"}).status_code == 422
    assert client.get("/console/complaints", params={"township": "431099999"}).status_code == 404  # not the county's
    client.get("/console/complaints", params={"mine": "waiting"})
    assert (services.asked[-1]["waiting"], services.asked[-1]["mine"]) == (True, False)
