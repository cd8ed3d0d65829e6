"""The county's system pages, without a browser: the calendar's month grid and its warning in words, the
score settings as typed (per cent) checked by the API's contract, the audit filters as the API's query,
the dead letters and the Grafana links as the health page shows them, and every audit label naming a real
operation."""
from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.app import create_app
from gateway.pages import console_system as system
from gateway.pages import words
from gateway.pages.web import templates
from gateway.rpc import ServiceCalls
from shared.clock import CHINA
from shared.contracts import directory as dc
from shared.contracts.caller import Caller, Role
from shared.settings import Settings
from tests.support import api_routes

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Caller(staff_id=1, role=Role.COUNTY_ADMIN, username="admin", county_code="431099")
SYSADMIN = Caller(staff_id=9, role=Role.SYSTEM_ADMIN, username="sysadmin")
SUPERVISOR = Caller(staff_id=2, role=Role.SUPERVISOR, township_code="431099101", username="qs_supervisor")


def test_a_month_starts_on_monday_and_a_day_says_whether_it_is_worked():
    entries = [{"day": "2027-01-01", "kind": "holiday", "name": "元旦", "source": "official", "working": False},
               {"day": "2027-02-07", "kind": "makeup_workday", "name": "春节调休", "source": "official",
                "working": True}]
    months = system.month_grid(2027, entries, today=date(2027, 1, 4))
    assert len(months) == 12
    first_week = months[0]["weeks"][0]
    assert first_week[:4] == [None] * 4  # 1 January 2027 is a Friday
    new_year = first_week[4]
    assert new_year["kind"] == "holiday" and not new_year["working"] and new_year["entry"]["name"] == "元旦"
    assert first_week[5]["kind"] == "weekend" and not first_week[5]["working"]
    today = months[0]["weeks"][1][0]
    assert today["day"] == date(2027, 1, 4) and today["today"] and today["kind"] == "weekday" and today["working"]
    sunday = next(c for w in months[1]["weeks"] for c in w if c and c["day"] == date(2027, 2, 7))
    assert sunday["kind"] == "makeup_workday" and sunday["working"]  # a Sunday worked: 调休
    assert all(len(week) == 7 for month in months for week in month["weeks"])


STATUS = {"county_code": "431099", "today": "2026-12-03", "official_years": [2025, 2026], "loaded_years": [2025, 2026],
          "next_year": 2027, "next_year_missing": True, "days_until_next_year": 29, "this_year_missing": False,
          "warning": "no complete official working-day calendar for 2027, which starts in 29 days. …"}


def test_the_calendar_warning_says_what_the_api_says_in_chinese():
    nothing = system.calendar_warning(STATUS)
    assert "2027年的国务院节假日安排还没有录入完整" in nothing and "还有29天" in nothing
    assert "一天也还没有录入" in nothing
    some = system.calendar_warning({**STATUS, "official_years": [2025, 2026, 2027]})
    assert "已录入2027年的部分日期" in some and "一天也" not in some
    assert system.calendar_warning({**STATUS, "warning": None}) is None  # before November, or 2027 complete
    late = system.calendar_warning({**STATUS, "today": "2027-01-05", "this_year_missing": True, "warning": "…"})
    assert "2027年的全年法定节假日安排还没有确认完整" in late and "节假日会被当作工作日" in late


def test_a_calendar_day_is_official_unless_it_is_the_countys_own():
    assert system.day_of({"day": "2027-01-01", "kind": "holiday", "name": "元旦"}).source == "official"
    assert system.day_of({"day": "2027-01-01", "kind": "local_day_off", "name": "县庆"}).source == "local"
    with pytest.raises(ValidationError):
        system.day_of({"day": "2027-01-01", "kind": "holiday", "name": ""})


TYPED = {"weight_completion": "25", "weight_on_time": "25", "weight_satisfaction": "30", "weight_attendance": "10",
         "weight_conduct": "10", "min_sample": "10", "commend_top": "3", "commend_share": "20",
         "accountability_below": "60", "accountability_overdue": "3"}


def test_score_settings_are_typed_in_per_cent_and_checked_by_the_apis_contract():
    settings, errors = system.score_settings_of(TYPED)
    assert errors == {} and settings is not None
    assert settings.weights["satisfaction"] == pytest.approx(0.3) and settings.commend_share == pytest.approx(0.2)
    assert settings.accountability_below == pytest.approx(0.6) and settings.min_sample == 10
    assert system._score_form(settings.model_dump(mode="json")) == TYPED  # shown again as it was typed

    assert system.score_settings_of({**TYPED, "weight_completion": "-5"})[1] == {
        "weight_completion": "权重要在0到100%之间，不能是负数。"}
    not_a_number = system.score_settings_of({**TYPED, "weight_on_time": "很多"})[1]
    assert "请填写0到100之间的数字" in not_a_number["weight_on_time"]
    too_much = system.score_settings_of({**TYPED, "weight_completion": "50"})[1]
    assert too_much == {"weights": "五项权重加起来要等于100%，现在是125%。"}
    assert set(system.score_settings_of({**TYPED, "min_sample": "1.5", "commend_top": "101"})[1]) == {
        "min_sample", "commend_top"}
    assert set(system.score_settings_of({**TYPED, "commend_share": "0"})[1]) == {"commend_share"}


def test_the_audit_filters_become_the_apis_query_in_china_days():
    query = system.audit_query({"username": "admin", "action": "page_set_calendar_day", "since": "2027-01-01",
                                "until": "2027-01-31", "failed": "1", "correlation_id": "c0ffee00", "before": "77"})
    assert query.since == datetime(2027, 1, 1, tzinfo=CHINA)
    assert query.until == datetime(2027, 2, 1, tzinfo=CHINA)  # the last day taken whole
    assert (query.username, query.action, query.failed, query.personal_data, query.before) == (
        "admin", "page_set_calendar_day", True, None, 77)
    assert query.limit == system.PAGE_SIZE
    for bad in ({"correlation_id": "not an id"}, {"since": "2027-02-30"}, {"before": "0"}):
        with pytest.raises(ValidationError):
            system.audit_query(bad)


def test_the_dashboards_are_linked_only_when_grafana_is_configured():
    assert system.dashboards(None) == [] and system.dashboards("") == []
    links = system.dashboards("https://grafana.example.gov.cn/")
    assert [d["href"] for d in links] == ["https://grafana.example.gov.cn/d/cunban-system",
                                          "https://grafana.example.gov.cn/d/cunban-delivery"]
    provisioned = {json.loads(f.read_text())["uid"] for f in (ROOT / "deploy/grafana/dashboards").glob("*.json")}
    assert {uid for uid, _, _ in system.DASHBOARDS} <= provisioned
    assert Settings(grafana_url="http://localhost:3000").grafana_url == "http://localhost:3000"


def _health(**context) -> str:
    base = {"csrf_token": "t", "staff": ADMIN, "ready": True, "all_answering": False, "shown": 20, "replayed": None,
            "may_replay": True, "dashboards": [], "services": []}
    return templates.env.get_template("console/admin_health.html").render(**{**base, **context})


def test_the_health_page_shows_dead_letters_with_replay_and_the_dashboards():
    letter = {"id": 5, "service": "evaluation", "event_id": "e1", "handler": "evaluation.on_application_filed",
              "event_type": "application_filed", "error": "KeyError: 'village_code'", "attempts": 3,
              "failed_at": "2026-12-03T02:00:00+00:00", "replayed_at": None, "body": {}}
    services = [{"name": "intake", "words": "受理登记", "answering": True, "letters": []},
                {"name": "evaluation", "words": "统计考评", "answering": True, "letters": [letter]},
                {"name": "complaints", "words": "诉求办理", "answering": False, "letters": []}]
    html = _health(services=services, dashboards=system.dashboards("https://grafana.example.gov.cn"))
    assert "部分服务没有响应" in html and "没有响应" in html
    assert "KeyError: &#39;village_code&#39;" in html and "2026年12月03日 10:00" in html  # China time
    assert html.count('action="/console/admin/health/replay"') == 1 and 'value="evaluation"' in html
    assert 'href="https://grafana.example.gov.cn/d/cunban-system"' in html
    assert "CUNBAN_GRAFANA_URL" not in html
    down = _health(ready=False, services=[{**s, "answering": False, "letters": []} for s in services])
    assert "消息总线连不上" in down and "/health/replay" not in down
    read_only = _health(services=services, may_replay=False)
    assert "/health/replay" not in read_only


def test_the_health_page_says_in_plain_words_what_each_term_means_and_what_to_do():
    """County IT reads 死信, 没有响应, /readyz and CUNBAN_GRAFANA_URL each with a sentence: what it is, what to do."""
    services = [{"name": "intake", "words": "受理登记", "answering": False, "letters": []}]
    html = _health(services=services)
    terms = dict(re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", html, re.S))
    said = {re.sub(r"<[^>]+>", "", k).strip(): re.sub(r"<[^>]+>", "", v) for k, v in terms.items()}
    assert "多次处理失败、已搁置的消息" in said["死信"] and "重新处理" in said["死信"]
    assert "重启" in said["没有响应"]
    assert "消息总线" in said["/readyz"] and "RabbitMQ" in said["/readyz"]
    unset = re.sub(r"<[^>]+>", "", html.split('id="dashboards"', 1)[1])
    assert "CUNBAN_GRAFANA_URL" in unset and "部署配置" in unset and "重启网关" in unset
    configured = _health(services=services, dashboards=system.dashboards("https://grafana.example.gov.cn"))
    assert "CUNBAN_GRAFANA_URL" not in configured and "监控图表" in configured


def test_the_system_pages_link_each_other_as_the_matrix_allows():
    assert [href for href, _ in system.sections(SYSADMIN)] == [href for href, _, _ in system.SECTIONS]
    # 系统状态 (dead letters, the installation's health) is the system administrator's alone
    assert [href for href, _ in system.sections(ADMIN)] == [href for href, _, _ in system.SECTIONS
                                                              if href != "/console/admin/health"]
    assert [href for href, _ in system.sections(SUPERVISOR)] == ["/console/admin/calendar", "/console/admin/scores",
                                                                  "/console/admin/sms"]
    assert system.sections(None) == []
    assert system.may(ADMIN, "directory.set_calendar_day") and not system.may(SUPERVISOR, "directory.set_calendar_day")


def test_every_audit_label_names_a_real_operation():
    app = create_app(Settings(), ServiceCalls(client=None))  # type: ignore[arg-type]
    operations = {route.operation_id for route in api_routes(app.routes)}
    assert set(words.AUDIT_ACTION) <= operations, set(words.AUDIT_ACTION) - operations


def test_every_audited_operation_has_a_chinese_label():
    """Writes and reads of personal data are what the audit log holds: each is named in words there."""
    app = create_app(Settings(), ServiceCalls(client=None))  # type: ignore[arg-type]
    audited = {route.operation_id for route in api_routes(app.routes)
               if route.methods - {"GET", "HEAD"} or (route.openapi_extra or {}).get("x-personal-data")}
    assert audited <= set(words.AUDIT_ACTION), sorted(audited - set(words.AUDIT_ACTION))


AUDIT_APP = create_app(Settings(), ServiceCalls(client=None))  # type: ignore[arg-type]


def _entry(action: str, target: str, staff_id: int | None = 1) -> dict:
    return {"action": action, "target": target, "staff_id": staff_id}


def test_an_audited_request_names_its_object_by_kind_from_its_operations_path():
    objects = [system.audit_object(AUDIT_APP, _entry(action, target)) for action, target in (
        ("page_admin_update_village", "/console/admin/villages/431099101001"),
        ("update_village", "/villages/431099101002"),
        ("page_admin_create_village", "/console/admin/townships/431099101/villages"),
        ("page_admin_update_station", "/console/admin/stations/ST-QS-001"),
        ("page_admin_update_staff", "/console/admin/staff/12"),
        ("page_admin_withdraw_item", "/console/admin/catalogue/431099101/YB-002/withdraw"),
        ("act_on_application", "/applications/QS-20261203-0001/actions"),
        ("page_market_check", "/console/market/sessions/2026-12-03/77/check/12/in"),
        ("page_clear_calendar_day", "/console/admin/calendar/days/2027-02-09/clear"),
        ("set_complaint_limits", "/complaint-limits/dispute"),
        ("create_village", "/villages"),  # a record created by a POST to its list: the path names nothing
        ("no_longer_served", "/somewhere/1"),
    )]
    assert objects == [("village", "431099101001"), ("village", "431099101002"), ("township", "431099101"),
                       ("station", "ST-QS-001"), ("staff", "12"), ("item", "431099101/YB-002"),
                       ("application", "QS-20261203-0001"), ("session", "77"), ("day", "2027-02-09"),
                       ("complaint_kind", "dispute"), None, None]


def test_a_page_of_the_audit_log_asks_for_every_name_in_one_query_and_says_each_object_in_chinese():
    entries = [_entry("page_admin_update_village", "/console/admin/villages/431099101001", 1),
               _entry("page_admin_update_staff", "/console/admin/staff/12", 1),
               _entry("page_admin_update_item", "/console/admin/catalogue/431099101/YB-002", 2),
               _entry("page_admin_update_village", "/console/admin/villages/431099101009", None)]
    objects = [system.audit_object(AUDIT_APP, e) for e in entries]
    query = system.names_query(entries, objects)
    assert query == {"townships": [], "villages": ["431099101001", "431099101009"], "stations": [],
                     "staff": [1, 2, 12], "items": [{"township_code": "431099101", "code": "YB-002"}]}
    found = {"townships": {}, "villages": {"431099101001": {"name": "石门村", "kind": "village"}},
             "stations": {}, "staff": {"1": "县管理员", "12": "张三"},
             "items": {"431099101/YB-002": "城乡居民医疗保险参保登记"}}
    assert [system.object_words(o, found) for o in objects] == [
        "村：石门村", "人员：张三", "事项：城乡居民医疗保险参保登记", "村：431099101009"]  # the last one is gone
    assert system.object_words(("village", "431099101001"),
                               {**found, "villages": {"431099101001": {"name": "石门社区", "kind": "community"}}}
                               ) == "社区：石门社区"
    assert system.object_words(("day", "2027-02-09"), found) == "日期：2027年2月9日"
    assert system.object_words(("application", "QS-20261203-0001"), found) == "办件：QS-20261203-0001"
    assert system.object_words(None, found) is None


def test_the_audit_page_shows_the_object_beside_the_path():
    html = templates.env.get_template("console/admin_audit.html").render(
        csrf_token="t", staff=ADMIN, typed={}, townships=[], township_names={}, names={1: "县管理员"},
        actions=[], labels=words.AUDIT_ACTION, outcome_words=system.outcome_words, entries=[{
            "seq": 1, "at": "2026-12-03T02:00:00+00:00", "staff_id": 1, "username": "admin", "role": "county_admin",
            "township_code": None, "action": "page_admin_update_village", "method": "POST",
            "target": "/console/admin/villages/431099101001", "outcome": 303, "client": "127.0.0.1",
            "correlation_id": None, "personal_data": False, "object": "村：石门村"}])
    assert "村：石门村" in html and "修改村（网页）" in html


def test_a_day_with_an_end_date_after_it_is_a_range_and_the_confirmation_travels_with_it():
    one = system.day_of({"day": "2027-02-06", "to_day": "2027-02-06", "kind": "holiday", "name": "春节"})
    assert isinstance(one, dc.CalendarDaySet) and one.confirm_complete_year is False
    span = system.day_of({"day": "2027-02-06", "to_day": "2027-02-12", "kind": "holiday", "name": "春节",
                          "confirm_complete_year": "1"})
    assert isinstance(span, dc.CalendarRangeSet) and (span.from_day, span.to_day) == (date(2027, 2, 6),
                                                                                    date(2027, 2, 12))
    assert span.source == "official" and span.confirm_complete_year is True


def _calendar(**context) -> str:
    base = {"csrf_token": "t", "staff": ADMIN, "year": 2026, "today": date(2026, 12, 3), "status": {},
            "warning": None, "months": [], "entries": [], "completed": None, "weekdays": system.WEEK,
            "kinds": words.CALENDAR_KIND, "marks": words.CALENDAR_MARK, "sources": words.CALENDAR_SOURCE,
            "bases": words.CALENDAR_BASIS, "may_set": True, "may_clear": True, "may_complete": True,
            "typed": {}, "weekday_of": lambda day: system.WEEKDAY_NAMES[date.fromisoformat(day).weekday()]}
    return templates.env.get_template("console/admin_calendar.html").render(**{**base, **context})


def test_changing_a_year_confirmed_complete_asks_first_with_a_form_that_sends_the_change_confirmed():
    html = _calendar(confirm_change={"year": 2026, "action": "/console/admin/calendar/days",
                                     "fields": {"day": "2026-12-31", "kind": "holiday", "name": "跨年"}})
    assert "2026 年的日历已确认完整，修改会改变正在计时的办件期限。确定修改吗？" in html
    box = html[html.index('id="confirm-change"'):]
    assert 'action="/console/admin/calendar/days"' in box and 'name="confirm_complete_year" value="1"' in box
    assert 'name="day" value="2026-12-31"' in box and 'name="name" value="跨年"' in box
    assert "确认完整" not in _calendar()


def test_a_range_entered_lists_the_days_added():
    entries = [{"day": f"2027-02-{n:02d}", "kind": "holiday", "name": "春节", "source": "official", "working": False}
               for n in range(6, 13)] + [{"day": "2027-02-20", "kind": "makeup_workday", "name": "春节调休",
                                          "source": "official", "working": True}]
    html = _calendar(year=2027, entries=entries, saved=date(2027, 2, 6), through=date(2027, 2, 12))
    shown = html[html.index('id="saved-range"'):html.index("</ul>")]
    assert "共7天" in shown and shown.count("<li>") == 7 and "星期六" in shown and "春节调休" not in shown
