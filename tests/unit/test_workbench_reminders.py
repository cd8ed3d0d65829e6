"""The workbench's reminders: what a clerk should not forget today, in words, most urgent first."""
from __future__ import annotations

from datetime import UTC, date, datetime

from gateway.pages.console import time_left
from gateway.pages.console_workbench import reminders

TODAY = date(2026, 12, 3)
NOW = datetime(2026, 12, 3, 2, tzinfo=UTC)  # 10:00 in China


def _application(status: str = "accepted", deadline: str | None = None, **more) -> tuple:
    application = {"status": status, "promised_deadline": deadline, "overdue": False, **more}
    return time_left(application, TODAY), application


def _notice(kind: str, recorded: str, step: str | None = None) -> dict:
    return {"kind": kind, "receipt_no": "431099101-20261120-0001", "step_name": step, "due_on": "2026-12-01",
            "recorded_at": recorded}


def _remind(**given) -> list[str]:
    lists = {"mine": [], "sessions": [], "visits": [], "notices": []}
    return [(r.level, r.text) for r in reminders(today=TODAY, now=NOW, site_names={"QS-JISHI": "老街集市"},
                                                 village_names={"431099101008": "白沙村"}, **{**lists, **given})]


def test_nothing_to_remind_is_an_empty_list():
    assert _remind() == []


def test_notices_about_me_come_first_and_old_ones_drop_off():
    found = _remind(notices=[_notice("supervision", "2026-12-02T01:00:00+00:00", step="审核"),
                             _notice("accountability", "2026-12-02T01:00:00+00:00"),
                             _notice("supervision", "2026-11-01T01:00:00+00:00")])
    assert found == [("bad", "督办：431099101-20261120-0001 的“审核”环节已超过期限（应在 12月1日前），"
                             "请尽快办理并说明情况。"),
                     ("bad", "责任追究：431099101-20261120-0001 的办理超期，已记入责任追究。")]


def test_applications_are_counted_by_how_close_their_deadline_is():
    found = _remind(mine=[_application(deadline="2026-12-01"), _application(deadline="2026-12-05"),
                          _application(deadline="2026-12-06"), _application(deadline="2026-12-20"),
                          _application(status="supplement_requested", paused=True),
                          _application(status="completed", deadline="2026-11-30")])
    assert found == [("bad", "1 件申请已超过承诺办结日期，请尽快办结。"), ("warn", "2 件申请 3 天内到期。"),
                     ("", "1 件申请在等群众补正材料（暂停计时），可以打电话提醒。")]


def test_posts_and_visits_of_today_and_tomorrow_are_reminded_with_the_places_booked():
    post = {"id": "s1", "day": "2026-12-03", "starts_at": "2026-12-02T23:30:00+00:00", "site_code": "QS-JISHI",
            "slots": [{"booked": 2}, {"booked": 1}]}
    later = {**post, "id": "s2", "day": "2026-12-05", "starts_at": "2026-12-04T23:30:00+00:00"}
    visit = {"id": "v1", "day": "2026-12-04", "starts_at": "2026-12-04T07:00:00+00:00", "kind": "appointment",
             "village_code": "431099101008", "place": "村部"}
    found = _remind(sessions=[post, later], visits=[visit])
    assert found == [("", "今天 07:30 在老街集市便民服务岗值岗，已有 3 人预约。"),
                     ("", "明天 15:00 预约上门：白沙村村部。")]


def _complaint(n: int, stage: str, left: int, due: str) -> dict:
    return {"receipt_no": f"431099101-TS20261201-000{n}", "stage": stage, "stage_due": due, "kind": "dispute",
            "working_days_left": left, "overdue": left < 0}


def test_complaints_waiting_for_me_are_reminded_by_time_left_in_working_days():
    """A complaint assigned to me (签收 within a working day) or waiting for my 答复 is not forgotten: the
    least time left first, each linking to its page, and the rest counted with a link to them."""
    found = reminders(today=TODAY, now=NOW, mine=[], sessions=[], visits=[], notices=[], site_names={},
                      village_names={}, complaints_waiting=5, complaints=[
                          _complaint(2, "reply", 12, "2026-12-21"), _complaint(1, "sign", 1, "2026-12-04"),
                          _complaint(3, "sign", -2, "2026-12-01")])
    assert [(r.level, r.text, r.href) for r in found] == [
        ("bad", "诉求 431099101-TS20261201-0003：签收已超期 2 个工作日（应在12月1日前）",
         "/console/complaints/431099101-TS20261201-0003"),
        ("warn", "诉求 431099101-TS20261201-0001：签收还剩 1 个工作日（12月4日前）",
         "/console/complaints/431099101-TS20261201-0001"),
        ("", "诉求 431099101-TS20261201-0002：答复还剩 12 个工作日（12月21日前）",
         "/console/complaints/431099101-TS20261201-0002"),
        ("", "还有 2 件诉求等您办理。", "/console/complaints?mine=waiting")]
