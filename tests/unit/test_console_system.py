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
from shared.contracts.caller import Caller, Role
from shared.settings import Settings
from tests.support import api_routes

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Caller(staff_id=1, role=Role.COUNTY_ADMIN, username="admin")
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
    assert [href for href, _ in system.sections(ADMIN)] == [href for href, _, _ in system.SECTIONS]
    assert [href for href, _ in system.sections(SUPERVISOR)] == ["/console/admin/calendar", "/console/admin/scores"]
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
