"""Visits 下访 in the console, in a real browser: a supervisor plans an appointment visit for a cadre (a
form without anyone going is refused beside the field), offers its slots; the cadre finds it under 我的下访,
files an application and registers a complaint raised on it, reports it (who went, what was raised), and the visit lists
both. A supervisor creates a campaign and plans a topical visit in it, and a weekly series."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest

from shared.clock import today_in_china
from tests.browser.conftest import DESKTOP
from tests.browser.test_console import fill_applicant, receipt_no_of, sign_in

pytestmark = pytest.mark.browser
CADRE1 = "驻村干部甲"
TS_RECEIPT = re.compile(r"\d{9}-TS\d{8}-\d{4,6}")


def test_a_supervisor_plans_an_appointment_visit_and_the_cadre_reports_it(browser):
    boss = browser.page(DESKTOP)
    sign_in(boss, "qs_supervisor")
    boss.goto("/console/visits")
    browser.check(boss, "console-visits-township")
    boss.get_by_role("link", name="安排预约上门").click()
    boss.get_by_role("heading", name="安排预约上门").wait_for()
    boss.get_by_label("下访名称").fill("长冲村预约上门办社保")
    boss.get_by_label("村", exact=True).select_option(label="长冲村")
    boss.get_by_label("地点").fill("长冲村村委会")
    assert boss.get_by_label("下访日期（年-月-日）").input_value() == ""  # the day is chosen, never assumed
    boss.get_by_label("下访日期（年-月-日）").fill(today_in_china().isoformat())
    boss.get_by_label("开始时间").fill("00:00")  # today, begun already: it can be reported in this journey
    boss.get_by_label("结束时间").fill("00:30")
    boss.get_by_role("button", name="安排").click()  # nobody chosen: refused beside the field
    assert boss.locator("#staff_ids-error").inner_text() == "请勾选下访的人员，每人一次。"
    browser.check(boss, "console-visit-plan-error")
    boss.get_by_label(f"{CADRE1}（乡镇干部）").check()
    boss.get_by_role("button", name="安排").click()
    assert "已安排这次下访" in boss.get_by_role("status").inner_text()
    assert CADRE1 in boss.locator("main").inner_text()
    boss.get_by_label("每个时段多少分钟").fill("15")
    boss.get_by_role("button", name="开放预约").click()
    assert "已开放预约时段" in boss.get_by_role("status").inner_text()
    assert boss.get_by_role("row").filter(has_text="00:00–00:15").count() == 1
    browser.check(boss, "console-visit-planned")
    visit_url = boss.url.split("?")[0]

    cadre = browser.page()
    sign_in(cadre, "qs_cadre1")
    cadre.goto("/console/visits")
    assert cadre.get_by_label("范围").input_value() == "mine"
    browser.check(cadre, "console-visits-mine")
    cadre.get_by_role("link", name="长冲村预约上门办社保").click()
    cadre.get_by_role("link", name="登记下访中群众反映的诉求").click()
    cadre.get_by_label("类别").select_option(label="信访诉求")
    cadre.get_by_label("涉及方面").select_option(label="医保、社保")
    cadre.get_by_label("村", exact=True).select_option(label="长冲村")
    cadre.get_by_label("反映的事情").fill("养老保险缴费记录少了两年")
    cadre.get_by_label("反映人姓名").fill("孙上门")
    cadre.get_by_label("反映人手机号").fill("13955556666")
    cadre.get_by_role("button", name="登记").click()
    receipt = TS_RECEIPT.search(cadre.get_by_role("status").inner_text()).group(0)

    cadre.goto(visit_url)  # and an application filed for a villager met there
    cadre.get_by_role("link", name="受理下访中群众的申请").click()
    cadre.get_by_role("link", name=re.compile("农村最低生活保障申请")).click()
    assert cadre.get_by_label("干部下访中受理（列在这次下访下面）").is_checked()
    for material in ("申请书", "身份证", "户口簿", "家庭收入情况说明"):
        cadre.get_by_role("checkbox", name=material, exact=True).check()
    fill_applicant(cadre, "孙低保", village="长冲村")
    cadre.get_by_role("button", name="提交受理").click()
    application = receipt_no_of(cadre)

    cadre.goto(visit_url)
    assert cadre.get_by_label(CADRE1).is_checked()  # who went: the visit's own, ticked
    # a report saying nothing, nobody ticked (no browser checks): both said at once, on the visit's own address
    report_form = cadre.locator("form[action$='/report']")
    report_form.evaluate("form => form.setAttribute('novalidate', '')")
    cadre.get_by_label(CADRE1).uncheck()
    cadre.get_by_label("接待群众多少人").fill("12")
    cadre.get_by_role("button", name="提交下访报告").click()
    assert cadre.locator("#went_staff_ids-error").inner_text() == "请勾选实际去了的人员。"
    assert cadre.locator("#summary-error").inner_text() == "请写下这次下访的情况。"
    assert cadre.url == visit_url and cadre.get_by_label("接待群众多少人").input_value() == "12"
    cadre.get_by_label(CADRE1).check()
    cadre.get_by_label("这次下访的情况").fill("为长冲村群众办理社保查询，解答医保政策")
    cadre.get_by_label("群众反映的问题（每行一条，可不填）").fill("养老保险缴费记录缺失\n村道路灯不亮")
    cadre.get_by_label("接待群众多少人").fill("12")
    cadre.get_by_role("button", name="提交下访报告").click()
    assert "下访报告已保存" in cadre.get_by_role("status").inner_text()
    report = cadre.locator("main").inner_text()
    assert "为长冲村群众办理社保查询" in report and "村道路灯不亮" in report and "12 人" in report
    assert "去了" in report
    for _ in range(40):  # the records are linked to the visit when scheduling hears of them
        if cadre.get_by_role("link", name=receipt).count() and cadre.get_by_role("link", name=application).count():
            break
        time.sleep(0.5)
        cadre.reload()
    assert "申请" in cadre.get_by_role("listitem").filter(has_text=application).inner_text()
    cadre.get_by_role("link", name=receipt).click()
    assert "干部下访" in cadre.locator("dl.facts").inner_text()
    cadre.goto(visit_url)
    browser.check(cadre, "console-visit-reported")


def test_a_supervisor_runs_a_campaign_with_a_topical_visit_and_a_weekly_series(browser):
    boss = browser.page()
    sign_in(boss, "qs_supervisor")
    boss.goto("/console/visits/campaigns")
    boss.get_by_label("专题名称（例如 医保政策进村）").fill("医保政策进村")
    assert boss.get_by_label("开始日期（年-月-日）").input_value() == ""
    boss.get_by_label("开始日期（年-月-日）").fill(today_in_china().isoformat())
    boss.get_by_label("结束日期（年-月-日）").fill((today_in_china() + timedelta(days=30)).isoformat())
    boss.get_by_role("button", name="新建").click()
    assert "专题活动已建好" in boss.get_by_role("status").inner_text()
    assert boss.get_by_role("row").filter(has_text="医保政策进村").count() == 1
    browser.check(boss, "console-campaigns")
    boss.get_by_role("link", name="安排专题下访").click()
    campaign = boss.locator("#campaign_id option", has_text="医保政策进村").get_attribute("value")
    boss.get_by_label("专题活动").select_option(campaign)
    boss.get_by_label("下访名称").fill("医保政策宣讲·石门村")
    boss.get_by_label("村", exact=True).select_option(label="石门村")
    boss.get_by_label("地点").fill("石门村文化广场")
    boss.get_by_label("下访日期（年-月-日）").fill(today_in_china().isoformat())
    boss.get_by_label("开始时间").fill("21:00")
    boss.get_by_label("结束时间").fill("22:00")
    boss.get_by_label("驻村干部乙（乡镇干部）").check()
    browser.check(boss, "console-visit-plan-topical")
    boss.get_by_role("button", name="安排").click()
    assert "已安排这次下访" in boss.get_by_role("status").inner_text()
    assert "专题：医保政策进村" in boss.locator("dl.facts").inner_text()

    boss.goto("/console/visits/series/new")
    boss.get_by_label("定点接访（固定地点，群众来）").check()
    boss.get_by_label("名称", exact=True).fill("新屋村每周三定点接访")
    boss.get_by_label("村", exact=True).select_option(label="新屋村")
    assert boss.get_by_label("从哪天（年-月-日）").input_value() == ""  # the span is chosen, never assumed
    boss.get_by_label("从哪天（年-月-日）").fill(today_in_china().isoformat())
    boss.get_by_label("到哪天（年-月-日）").fill((today_in_china() + timedelta(days=90)).isoformat())
    boss.get_by_role("button", name="生成下访").click()  # no place, no day of the week, nobody: all said at once
    assert boss.get_by_role("alert").count() == 1
    assert boss.locator("#rule-error").inner_text() == "请选择下访的日子（每周几、每月几号或逢几）。"
    assert boss.locator("#place-error").inner_text() == "定点接访请填写地点。"
    assert boss.locator("#staff_ids-error").inner_text() == "请勾选下访的人员，每人一次。"
    assert boss.get_by_label("名称", exact=True).input_value() == "新屋村每周三定点接访"  # what was typed is kept
    browser.check(boss, "console-visit-series-error")
    boss.get_by_label("地点（定点接访必填）").fill("新屋村便民服务站")
    boss.get_by_label("每周", exact=True).check()
    boss.get_by_label("周三").check()
    boss.get_by_label("驻村干部乙（乡镇干部）").check()
    boss.get_by_role("button", name="生成下访").click()
    made = boss.get_by_role("status").inner_text()
    count = int(re.search(r"已生成 (\d+) 次下访", made).group(1))
    assert count >= 10  # about thirteen Wednesdays in ninety days, less the days off
    assert boss.get_by_role("link", name="新屋村每周三定点接访").count() == count
    browser.check(boss, "console-visits-series")


def test_a_county_admin_chooses_the_township_to_plan_in(browser):
    admin = browser.page(DESKTOP)
    sign_in(admin, "admin")
    admin.goto("/console/visits/new?kind=joint")
    admin.get_by_label("乡镇", exact=True).select_option(label="柳溪乡")
    admin.get_by_role("button", name="换乡镇").click()
    villages = admin.get_by_label("村", exact=True).inner_text()
    assert "柳溪村" in villages and "石门村" not in villages  # 柳溪乡's villages, not 青石镇's
    assert "kind=joint" in admin.url and "第2个部门" in admin.content()
    browser.check(admin, "console-visit-plan-joint-county")
    admin.goto("/console/complaints?mine=false")
    admin.get_by_role("heading", name="诉求办理").wait_for()
    browser.check(admin, "console-complaints-county")


def test_a_joint_visit_without_its_day_and_departments_is_refused_with_every_field_at_once(browser):
    """The defects: the day came pre-filled (a visit was saved on today without anyone choosing it), and the
    departments were said only on the second try. Without the browser's own checks (JavaScript off, an old
    browser), the server says every missing field in one pass, each by name, and keeps what was typed."""
    boss = browser.page()
    sign_in(boss, "qs_supervisor")
    boss.goto("/console/visits/new?kind=joint")
    day = boss.get_by_label("下访日期（年-月-日）")
    assert day.input_value() == "" and day.get_attribute("required") is not None
    assert boss.get_by_label("开始时间").input_value() == "09:00"  # times keep a sensible default
    plan = boss.locator("form[method=post][action^='/console/visits/new']")
    plan.evaluate("form => form.setAttribute('novalidate', '')")
    boss.get_by_label("下访名称").fill("联合下访·长冲村")
    boss.get_by_role("button", name="安排").click()
    assert boss.locator("#day-error").inner_text() == "请选择下访日期。"
    assert boss.locator("#departments-error").inner_text() == "联合下访请填写至少两个不同的部门，并勾选每个部门去的人。"
    assert boss.locator("#village_code-error").inner_text() == "请选择村。"
    assert boss.locator("#place-error").inner_text() == "请填写地点。"
    assert boss.get_by_label("下访日期（年-月-日）").get_attribute("aria-invalid") == "true"
    assert boss.get_by_label("下访名称").input_value() == "联合下访·长冲村"
    browser.check(boss, "console-visit-plan-joint-missing")
