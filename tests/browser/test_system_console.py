"""The county administrator's system pages in a real browser: the 2027 calendar with the warning while its
official schedule is missing, a holiday entered and marked on the month grid while the warning changes as
the API says, a year declared complete; the calendar read-only for a township supervisor; the audit log
showing the holiday's entry through its filters and correlation id; a score-settings edit with a wrong
weight refused beside the field; and the health page showing every service ready."""
from __future__ import annotations

import re

import httpx
import pytest

from cunban.registry import SERVICES
from tests.browser.conftest import DESKTOP
from tests.browser.test_console import sign_in
from tests.browser.test_scope import LX_MARKS
from tests.support import login, wait_until

pytestmark = pytest.mark.browser


def calendar_status(system: str, username: str = "admin") -> dict:
    with httpx.Client(base_url=system) as client:
        answer = client.get("/calendar/status", headers=login(client, username))
        assert answer.status_code == 200, answer.text
        return answer.json()


def warning_of(page) -> str | None:
    box = page.locator("#calendar-warning")
    return box.inner_text() if box.count() else None


def enter_day(page, day: str, kind: str, name: str) -> None:
    page.get_by_label("日期", exact=True).fill(day)
    page.get_by_label("类别").select_option(label=kind)
    page.get_by_label("名称").fill(name)
    page.get_by_role("button", name="录入", exact=True).click()


def test_a_county_admin_enters_a_2027_holiday_and_the_grid_and_the_warning_change(browser, system):
    page = browser.page(DESKTOP)
    sign_in(page, "admin")
    before = calendar_status(system)
    page.goto("/console/admin/calendar?year=2027")
    page.get_by_role("heading", name="2027年工作日历").wait_for()
    assert page.locator("table.month").count() == 12
    for month in page.locator("table.month").all():  # each month from Monday
        assert month.locator("thead th").all_inner_texts() == list("一二三四五六日")
    first_of_january = page.locator("#d-2027-01-01")
    assert "holiday" not in (first_of_january.get_attribute("class") or "")  # a Friday: worked until entered
    warned = warning_of(page)
    assert (warned is not None) == bool(before["warning"] or before["this_year_missing"]), (warned, before)
    if before["warning"] and not before["this_year_missing"] and before["next_year"] == 2027:
        assert "2027年的国务院节假日安排还没有录入完整" in warned
        assert f"还有{before['days_until_next_year']}天" in warned
        assert ("一天也还没有录入" in warned) == (2027 not in before["official_years"])
    browser.check(page, "system-calendar-missing")

    enter_day(page, "2027-01-01", "法定节假日（放假）", "元旦")
    page.wait_for_url(re.compile(r"/console/admin/calendar\?year=2027&saved=2027-01-01"))
    assert "已录入 2027年1月1日：元旦" in page.get_by_role("status").inner_text()
    cell = page.locator("#d-2027-01-01")
    assert "holiday" in cell.get_attribute("class") and "休" in cell.inner_text()
    assert "元旦" in cell.locator(".sr-only").inner_text()  # said in words, not by colour alone
    assert "元旦" in page.locator("table.stack").inner_text()
    after = calendar_status(system)
    assert 2027 in after["official_years"]  # the API has the day …
    warned_after = warning_of(page)
    assert (warned_after is not None) == bool(after["warning"] or after["this_year_missing"])
    if after["warning"] and not after["this_year_missing"] and after["next_year"] == 2027:
        assert "已录入2027年的部分日期" in warned_after  # … and the warning says so, as the API does
        assert warned_after != warned or 2027 in before["official_years"]
    browser.check(page, "system-calendar-entered")

    # a year declared complete: recorded with who and when (2028, so 2027 stays as the official notice leaves it)
    page.goto("/console/admin/calendar?year=2028")
    page.get_by_role("button", name="确认2028年已录入完整").click()  # not ticked: said beside the box
    assert "勾选确认" in page.locator("#confirm-error").inner_text()
    enter_day(page, "2028-01-01", "法定节假日（放假）", "元旦")
    page.wait_for_url(re.compile(r"saved=2028-01-01"))
    page.get_by_label(re.compile("2028年的放假和调休上班的日子都已录入")).check()
    page.get_by_role("button", name="确认2028年已录入完整").click()
    page.wait_for_url(re.compile(r"year=2028&completed=true"))
    assert "县级管理员确认" in page.locator("#year-state").inner_text()
    assert "admin" in page.locator("#year-state").inner_text()
    assert page.get_by_role("button", name=re.compile("确认2028年")).count() == 0
    assert 2028 in calendar_status(system)["loaded_years"]


def test_a_township_supervisor_sees_the_calendar_read_only(browser, system):
    with httpx.Client(base_url=system) as client:
        year = calendar_status(system, "qs_supervisor")["today"][:4]
        days = client.get(f"/calendar/{year}", headers=login(client, "qs_supervisor")).json()
    page = browser.page()
    sign_in(page, "qs_supervisor")
    page.goto(f"/console/admin/calendar?year={year}")
    page.get_by_role("heading", name=f"{year}年工作日历").wait_for()
    holiday = next(d for d in days if d["kind"] == "holiday")
    cell = page.locator(f"#d-{holiday['day']}")
    assert "holiday" in cell.get_attribute("class") and holiday["name"] in cell.inner_text()
    assert page.get_by_role("button", name="录入", exact=True).count() == 0
    assert page.get_by_role("button", name="删除").count() == 0
    assert page.get_by_role("button", name=re.compile("已录入完整")).count() == 0
    assert "县级管理员维护" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="操作日志").count() == 0  # not offered what the matrix refuses
    assert not LX_MARKS.search(page.content())
    browser.check(page, "system-calendar-read-only")
    page.goto("/console/admin/scores")  # read-only too, and nothing of another township
    assert page.get_by_role("button").filter(has_text="保存").count() == 0
    shown = page.locator("main").inner_text()
    assert "考评设置由县级管理员维护" in shown and "群众满意率" in shown and "答复" in shown
    assert not LX_MARKS.search(page.content())
    browser.check(page, "system-scores-read-only")
    page.goto(f"/console/admin/calendar?year={year}")
    # the form is not there, and posting it anyway is refused by the services
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = page.request.post("/console/admin/calendar/days", form={
        "csrf_token": token, "day": f"{year}-12-30", "kind": "holiday", "name": "自定"})
    assert refused.status == 403 and "您的岗位不能做这件事" in refused.text()
    page.goto("/console/admin/audit")
    assert "您的岗位不能做这件事" in page.locator("main").inner_text()


def test_the_system_administrator_reads_each_countys_calendar_and_its_county_admin_keeps_it(browser, system):
    with httpx.Client(base_url=system) as client:
        qy_admin = login(client, "qy_admin")
        year = calendar_status(system, "qy_admin")["today"][:4]
        day = f"{year}-06-12"
        set_day = client.put(f"/calendar/days/{day}", headers=qy_admin,
                             json={"kind": "local_day_off", "name": "祁阳县庆"})
        assert set_day.status_code == 200, set_day.text
        assert day not in {d["day"] for d in client.get(f"/calendar/{year}", headers=login(client, "admin")).json()}
    page = browser.page()
    sign_in(page, "sysadmin")
    page.goto(f"/console/admin/calendar?year={year}")
    chooser = page.locator("#choose-county")
    assert "清水县" in chooser.inner_text() and "祁阳县" in chooser.inner_text()
    assert "祁阳县庆" not in page.locator("main").inner_text()  # the first county until one is chosen
    chooser.get_by_role("link", name="祁阳县").click()
    page.wait_for_url(re.compile(r"county=431121"))
    assert "祁阳县庆" in page.locator(f"#d-{day}").inner_text()
    assert page.get_by_role("button", name="录入", exact=True).count() == 0  # each county keeps its own
    page.goto(f"/console/admin/calendar?year={year}&county=431199")  # no such county: the directory's 404
    assert "没有这个县" in page.locator("main").inner_text()


def test_the_audit_log_shows_a_holiday_entry_through_its_filters(browser):
    page = browser.page(DESKTOP)
    sign_in(page, "admin")
    page.goto("/console/admin/calendar?year=2027")
    enter_day(page, "2027-05-01", "法定节假日（放假）", "劳动节")
    page.wait_for_url(re.compile(r"saved=2027-05-01"))
    enter_day(page, "2027-05-02", "法定节假日（放假）", " ")  # refused on the server: a blank name
    assert "请填写名称" in page.locator("#name-error").inner_text()

    page.goto("/console/admin/audit")
    page.get_by_label("人员（登录用户名）").fill("admin")
    page.get_by_label("操作").select_option(label="录入节假日/调休（网页）")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"action=page_set_calendar_day"))

    def listed():  # the gateway sends its entries every few moments: look again until the newest is in
        page.reload()
        rows = page.locator("table.audit tbody tr")
        return rows if rows.count() >= 2 and "被拒绝" in rows.first.inner_text() else None
    rows = wait_until(listed, 30, "the holiday's audit entries")
    texts = rows.all_inner_texts()
    assert all("录入节假日/调休（网页）" in t and "县信息中心管理员" in t and "admin" in t for t in texts)
    assert "被拒绝" in texts[0] and "成功" in texts[1]  # newest first: the refused try, then the entry
    assert "/console/admin/calendar/days" in texts[1]
    browser.check(page, "system-audit")

    page.get_by_label("只看被拒绝或出错的").check()
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"failed=1"))
    assert all("被拒绝" in t or "出错" in t for t in page.locator("table.audit tbody tr").all_inner_texts())

    page.goto("/console/admin/audit?username=admin&action=page_set_calendar_day")
    page.locator("table.audit tbody tr").nth(1).get_by_role("link", name=re.compile("关联编号")).click()
    page.wait_for_url(re.compile(r"correlation_id="))
    one = page.locator("table.audit tbody tr")
    assert one.count() == 1 and "成功" in one.inner_text() and "录入节假日/调休" in one.inner_text()

    page.goto("/console/admin/audit?correlation_id=not%20an%20id")
    assert "关联编号只含字母" in page.locator("p.field-error").inner_text()


def test_a_score_settings_edit_with_a_wrong_weight_is_refused_beside_the_field(browser):
    page = browser.page()
    sign_in(page, "sysadmin")  # kept once for the installation
    page.goto("/console/admin/scores")
    page.get_by_role("heading", name="考评设置").wait_for()
    kept = page.get_by_label("办结率").input_value()
    browser.check(page, "system-scores")
    page.get_by_label("办结率").fill("-5")
    page.get_by_role("button", name="保存权重和标准").click()
    assert "不能是负数" in page.locator("#weight_completion-error").inner_text()
    assert page.get_by_label("办结率").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("办结率").input_value() == "-5"  # what was typed is kept
    browser.check(page, "system-scores-refused")
    page.get_by_label("办结率").fill(str(float(kept) + 25))
    page.get_by_role("button", name="保存权重和标准").click()
    assert re.search(r"加起来要等于100%，现在是125%", page.locator("#weights-error").inner_text())
    page.get_by_label("办结率").fill(kept)  # as it was: saved, unchanged for the other journeys
    page.get_by_role("button", name="保存权重和标准").click()
    page.wait_for_url(re.compile(r"saved=scores"))
    assert "已保存" in page.get_by_role("status").inner_text()

    page.get_by_label("答复").first.fill("0")  # the API's lower bound for a reply is one working day
    page.get_by_role("button", name="保存干部作风投诉的办理时限").click()
    assert "1到90" in page.locator("#staff_conduct-reply-error").inner_text()


def test_the_health_page_shows_every_service_ready(browser, system):
    assert httpx.get(f"{system}/readyz").json() == {"status": "ready"}
    page = browser.page()
    sign_in(page, "sysadmin")  # kept once for the installation
    page.goto("/console/admin/health")
    assert "系统正常" in page.locator("#overall").inner_text()
    rows = page.locator("table.services tbody tr")
    assert rows.count() == len(SERVICES) and "短信和消息" in page.locator("table.services").inner_text()
    assert all("正常" in t for t in rows.all_inner_texts())
    assert "CUNBAN_GRAFANA_URL" in page.locator("main").inner_text()  # not set here: no dashboard link
    assert "重启网关" in page.locator("main").inner_text()  # … and what to do about it
    terms = page.locator("dl.terms").inner_text()  # every term of the page said in plain words
    assert "多次处理失败、已搁置的消息" in terms and "重启这个服务" in terms and "RabbitMQ" in terms
    assert page.locator("a[href*='/d/cunban-']").count() == 0
    browser.check(page, "system-health")


def test_calendar_entries_that_make_no_sense_are_refused_and_a_complete_year_changes_only_when_confirmed(browser,
                                                                                                          system):
    page = browser.page(DESKTOP, javascript=False)  # plain forms: it all works without scripts
    sign_in(page, "admin")
    page.goto("/console/admin/calendar?year=2029")
    enter_day(page, "2029-02-13", "调休上班", "春节调休")  # a Tuesday
    assert "周六或周日" in page.locator("#day-error").inner_text()
    assert page.get_by_label("名称").input_value() == "春节调休"

    # 春节 in one go: seven days, listed as added
    page.get_by_label("日期", exact=True).fill("2029-02-12")
    page.get_by_label(re.compile("^到")).fill("2029-02-18")
    page.get_by_label("类别").select_option(label="法定节假日（放假）")
    page.get_by_label("名称").fill("春节")
    page.get_by_role("button", name="录入", exact=True).click()
    page.wait_for_url(re.compile(r"year=2029&saved=2029-02-12&through=2029-02-18"))
    added = page.locator("#saved-range")
    assert "共7天" in added.inner_text() and added.locator("li").count() == 7
    assert all("holiday" in page.locator(f"#d-2029-02-{n}").get_attribute("class") for n in range(12, 19))
    twin = browser.page(DESKTOP)  # the scripted twin, for the accessibility check
    sign_in(twin, "admin")
    twin.goto("/console/admin/calendar?year=2029&saved=2029-02-12&through=2029-02-18")
    browser.check(twin, "system-calendar-range")

    page.get_by_label("日期", exact=True).fill("2029-02-20")
    page.get_by_label(re.compile("^到")).fill("2029-02-10")  # backwards
    enter_day(page, "2029-02-20", "法定节假日（放假）", "春节")
    assert "结束日期不能早于开始日期" in page.locator("#to_day-error").inner_text()

    page.goto("/console/admin/calendar?year=2029")
    page.get_by_label(re.compile("2029年的放假和调休上班的日子都已录入")).check()
    page.get_by_role("button", name="确认2029年已录入完整").click()
    page.wait_for_url(re.compile(r"year=2029&completed=true"))

    enter_day(page, "2029-10-01", "法定节假日（放假）", "国庆节")  # the year is complete: asked first
    asked = page.locator("#confirm-change")
    assert "2029 年的日历已确认完整，修改会改变正在计时的办件期限。确定修改吗？" in asked.inner_text()
    with httpx.Client(base_url=system) as client:
        days = client.get("/calendar/2029", headers=login(client, "admin")).json()
    assert not any(d["day"] == "2029-10-01" for d in days)  # nothing changed yet
    twin.goto("/console/admin/calendar?year=2029")
    enter_day(twin, "2029-10-02", "法定节假日（放假）", "国庆节")
    twin.locator("#confirm-change").wait_for()
    browser.check(twin, "system-calendar-confirm")
    asked.get_by_role("button", name="确定修改").click()
    page.wait_for_url(re.compile(r"saved=2029-10-01"))
    assert "holiday" in page.locator("#d-2029-10-01").get_attribute("class")

    page.get_by_role("button", name="删除 2029年10月1日 国庆节").click()  # clearing it asks too
    assert "确定修改吗" in page.locator("#confirm-change").inner_text()
    page.locator("#confirm-change").get_by_role("button", name="确定修改").click()
    page.wait_for_url(re.compile(r"cleared=2029-10-01"))
    assert "holiday" not in (page.locator("#d-2029-10-01").get_attribute("class") or "")
