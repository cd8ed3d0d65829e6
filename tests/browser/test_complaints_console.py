"""Complaints in the console, in a real browser: a complaint from the hotline goes through the screens —
registered, assigned to a cadre, signed for, mediated, replied to (a blank reply refused next to its field),
called back and closed — and the villager's look-up follows; the staff member a complaint is about opens it
and finds no trace of who complained, and the finding about them comes from outside their unit."""
from __future__ import annotations

import re

import httpx
import pytest

from tests.browser.conftest import DESKTOP
from tests.browser.test_console import sign_in
from tests.support import login

pytestmark = pytest.mark.browser
TS_RECEIPT = re.compile(r"\d{9}-TS\d{8}-\d{4,6}")
CADRE1 = "驻村干部甲"
LEFT = r"(还剩 \d+ 个工作日（\d+月\d+日前）|今天到期（\d+月\d+日）)"  # a stage's time left: working days, with the day


def test_a_hotline_complaint_goes_from_registration_to_call_back_through_the_screens(browser):
    boss = browser.page(DESKTOP)
    sign_in(boss, "qs_supervisor")
    boss.goto("/console/complaints/new")
    boss.get_by_label("类别").select_option(label="矛盾纠纷（需要调解）")
    boss.get_by_label("涉及方面").select_option(label="邻里关系")
    boss.get_by_label("村", exact=True).select_option(label="桃源村")
    boss.get_by_label("反映的事情").fill("桃源村两户为排水沟堵塞起争执，来电要求调解")
    boss.get_by_label("反映人姓名").fill("周来电")
    boss.get_by_label("反映人手机号").fill("13911112222")
    boss.get_by_label("投诉电话").check()
    boss.get_by_role("button", name="登记").click()
    status = boss.get_by_role("status")
    receipt = TS_RECEIPT.search(status.inner_text()).group(0)

    # the supervisor opens it from the inbox: waiting to be assigned, the assign clock running
    boss.goto("/console/complaints?mine=false&status=registered")
    browser.check(boss, "console-complaints-township")
    row = boss.get_by_role("row").filter(has_text=receipt)
    assert "已登记，等待分派" in row.inner_text() and re.search(rf"分派{LEFT}", row.inner_text())
    row.get_by_role("link", name=receipt).click()
    boss.get_by_role("heading", name="矛盾纠纷 · 邻里关系").wait_for()
    assert "周来电" in boss.content() and "投诉电话" in boss.content()
    boss.get_by_label("交给谁办理").select_option(label=f"{CADRE1}（乡镇干部）")
    boss.get_by_role("button", name="分派", exact=True).click()
    assert "已分派" in boss.get_by_role("status").inner_text()
    assert "已分派，等待签收" in boss.content()
    assert not boss.get_by_role("button", name="签收").count()  # only the handler signs

    # the cadre finds it in their inbox with the signing clock, and works it
    cadre = browser.page()
    sign_in(cadre, "qs_cadre1")
    cadre.goto("/console/complaints")
    browser.check(cadre, "console-complaints")
    row = cadre.get_by_role("row").filter(has_text=receipt)
    assert re.search(rf"签收{LEFT}", row.inner_text()), row.inner_text()
    row.get_by_role("link", name=receipt).click()
    browser.check(cadre, "console-complaint-assigned")
    cadre.get_by_role("button", name="签收").click()
    assert "已签收" in cadre.get_by_role("status").inner_text()
    assert re.search(rf"答复{LEFT}", cadre.content())
    # 调解 with nothing filled in (no browser checks: JavaScript off, an old browser): every field said at
    # once by its own name, back on the complaint's own address, so a reload posts nothing again
    case_url = cadre.url.split("?")[0]
    mediate = cadre.locator("form", has=cadre.get_by_role("button", name="调解"))
    mediate.evaluate("form => form.setAttribute('novalidate', '')")
    mediate.get_by_role("button", name="调解").click()
    assert cadre.locator("#mediate-parties-error").inner_text() == "请填写当事人。"
    assert cadre.locator("#mediate-agreement-error").inner_text() == "请选择是否达成协议。"
    assert cadre.locator("#mediate-note-error").inner_text() == "请填写调解经过。"
    assert cadre.url == case_url
    cadre.reload()
    assert cadre.locator("#mediate-note-error").count() == 0 and cadre.get_by_role("alert").count() == 0
    cadre.get_by_label("当事人（每行一个）").fill("周来电\n周邻居")
    cadre.get_by_label("达成协议", exact=True).check()
    cadre.get_by_label("调解经过").fill("村委会主持调解，两户同意共同清理排水沟")
    cadre.get_by_role("button", name="调解").click()
    assert "已记下调解情况" in cadre.get_by_role("status").inner_text()
    assert "当事人 周来电、周邻居，达成协议" in cadre.content()
    cadre.get_by_label("答复内容（群众查询时能看到）").fill("   ")  # blank: refused beside the field
    cadre.get_by_role("button", name="答复").click()
    assert cadre.locator("#reply-note-error").inner_text() == "请填写答复内容。"
    assert cadre.get_by_label("答复内容（群众查询时能看到）").get_attribute("aria-invalid") == "true"
    browser.check(cadre, "console-complaint-error")
    cadre.get_by_label("答复内容（群众查询时能看到）").fill("排水沟已清理，双方签订调解协议")
    cadre.get_by_role("button", name="答复").click()
    assert "已答复，等待回访" in cadre.get_by_role("status").inner_text()
    assert not cadre.get_by_role("button", name="回访").count()  # the handler does not call back on their own work

    # someone else calls back and closes it, honestly
    boss.goto(f"/console/complaints/{receipt}")
    assert re.search(rf"回访{LEFT}", boss.content())
    boss.get_by_label("已解决", exact=True).check()
    boss.get_by_label("满意", exact=True).check()
    boss.get_by_role("button", name="回访").click()
    assert "这件诉求已办结" in boss.get_by_role("status").inner_text()
    facts = boss.locator("dl.facts").inner_text()
    assert "已办结（问题已解决）" in facts and "满意" in facts
    history = boss.locator("ol.stages").inner_text()
    for step in ("登记", "分派", f"（{CADRE1}）", "签收", "调解", "答复", "回访（便民服务中心主任）",
                 "问题已解决，满意"):
        assert step in history, step
    browser.check(boss, "console-complaint-closed")

    # the villager looks it up by the receipt and the phone's last four digits
    villager = browser.page()
    villager.goto("/complain/progress")
    villager.get_by_label("登记编号").fill(receipt)
    villager.get_by_label("手机号码后四位或查询码").fill("2222")
    villager.get_by_role("button", name="查询").click()
    result = villager.locator("main").inner_text()
    assert "排水沟已清理，双方签订调解协议" in result and "问题已解决" in result


def test_the_staff_member_complained_about_sees_no_trace_of_the_complainant(browser, system):
    with httpx.Client(base_url=system) as client:
        boss = login(client, "qs_supervisor")
        cadre2 = next(s for s in client.get("/staff", headers=boss).json() if s["username"] == "qs_cadre2")
        registered = client.post("/complaints", headers=boss, json={
            "kind": "staff_conduct", "network": "services", "category": "staff_conduct", "channel": "hotline",
            "village_code": "431099101002", "description": "办事推诿，让跑了三趟", "accused_staff_id": cadre2["id"],
            "complainant": {"name": "钱举报", "phone": "13933334444"}})
        assert registered.status_code == 201, registered.text
    receipt = registered.json()["complaint"]["receipt_no"]
    boss_page = browser.page()
    sign_in(boss_page, "qs_supervisor")
    boss_page.goto(f"/console/complaints/{receipt}")
    assert "钱举报" in boss_page.content() and "驻村干部乙" in boss_page.content()
    assert f"{CADRE1}（乡镇干部）" in boss_page.get_by_label("交给谁办理").inner_text()
    assert "驻村干部乙" not in boss_page.get_by_label("交给谁办理").inner_text()  # never handles their own
    assert not boss_page.get_by_role("button", name="核查结论").count()  # the accused's own unit finds nothing

    county = browser.page()  # 核查结论 comes from outside the accused's unit
    sign_in(county, "admin")
    county.goto(f"/console/complaints/{receipt}")
    county.get_by_label("部分属实").check()
    county.get_by_label("核查情况").fill("推诿属实，已批评教育")
    county.get_by_role("button", name="核查结论").click()
    assert "已记下核查结论" in county.get_by_role("status").inner_text()
    assert "部分属实" in county.locator("dl.facts").inner_text()
    assert not county.get_by_role("button", name="核查结论").count()  # one finding only

    accused = browser.page()
    sign_in(accused, "qs_cadre2")
    accused.goto(f"/console/complaints/{receipt}")
    accused.get_by_role("heading", name=re.compile("干部作风投诉")).wait_for()
    content = accused.content()
    assert "钱举报" not in content and "13933334444" not in content and "4444" not in content
    assert "反映人" not in content and "匿名" not in content  # not even a label that hints
    browser.check(accused, "console-complaint-accused")


def _registered(system: str, username: str, village_code: str, description: str, kind: str = "dispute") -> str:
    network = {"dispute": "mediation", "petition": "petitions"}[kind]
    with httpx.Client(base_url=system) as client:
        made = client.post("/complaints", headers=login(client, username), json={
            "kind": kind, "network": network, "category": "roads", "channel": "hotline",
            "village_code": village_code, "description": description,
            "complainant": {"name": "吴来电", "phone": "13955556666"}})
        assert made.status_code == 201, made.text
    return made.json()["complaint"]["receipt_no"]


def test_a_complaint_sent_back_is_assigned_again_and_one_closed_unresolved_is_handled_again(browser, system):
    """退单 and 重新办理 through the screens: the cadre it was assigned to finds it on the workbench and in 待办,
    sends it back with a reason; the supervisor assigns someone else, who replies; the call-back honestly
    says it is not resolved, and the supervisor has it handled again with a fresh 答复 clock."""
    receipt = _registered(system, "qs_supervisor", "431099101003", "村道塌方一处，来电要求尽快修复")
    boss = browser.page(DESKTOP)
    sign_in(boss, "qs_supervisor")
    boss.goto(f"/console/complaints/{receipt}")
    boss.get_by_label("交给谁办理").select_option(label=f"{CADRE1}（乡镇干部）")
    boss.get_by_role("button", name="分派", exact=True).click()
    assert "已分派" in boss.get_by_role("status").inner_text()

    # the cadre's workbench and 待办 say it waits for their 签收, by working days
    cadre = browser.page()
    sign_in(cadre, "qs_cadre1")
    cadre.goto("/console")
    reminder = cadre.locator("ul.reminders").get_by_role("link", name=re.compile(receipt))
    assert re.search(rf"签收{LEFT}", reminder.inner_text()), reminder.inner_text()
    browser.check(cadre, "console-workbench-complaint")
    cadre.goto("/console/inbox")
    waiting = cadre.get_by_role("link", name=re.compile(r"诉求：\d+ 件等您办理"))
    browser.check(cadre, "console-inbox-complaints")
    waiting.click()
    assert cadre.get_by_label("范围").input_value() == "waiting"
    cadre.get_by_role("row").filter(has_text=receipt).get_by_role("link", name=receipt).click()

    # 退单 with a reason: back to the supervisor for assigning, the cadre no longer holds it
    cadre.get_by_role("button", name="退单").click()  # no reason: the browser asks for it, nothing is sent
    assert "已分派，等待签收" in cadre.locator("dl.facts").inner_text()
    cadre.get_by_label("退单理由").fill("属交通站职责，请改派")
    cadre.get_by_role("button", name="退单").click()
    assert "已退单，等待重新分派" in cadre.get_by_role("status").inner_text()
    assert "已登记，等待分派" in cadre.locator("dl.facts").inner_text()
    assert not cadre.get_by_role("button", name="签收").count()
    assert f"退单（{CADRE1}） → 已登记，等待分派。属交通站职责，请改派" in cadre.locator("ol.stages").inner_text()
    browser.check(cadre, "console-complaint-sent-back")

    boss.goto("/console/complaints?mine=waiting")  # it waits for the supervisor's 分派 again
    boss.get_by_role("row").filter(has_text=receipt).get_by_role("link", name=receipt).click()
    boss.get_by_label("交给谁办理").select_option(label="驻村干部乙（乡镇干部）")
    boss.get_by_role("button", name="分派", exact=True).click()
    other = browser.page()
    sign_in(other, "qs_cadre2")
    other.goto(f"/console/complaints/{receipt}")
    other.get_by_role("button", name="签收").click()
    other.get_by_label("答复内容（群众查询时能看到）").fill("已联系交通站，近日修复")
    other.get_by_role("button", name="答复").click()
    assert "已答复，等待回访" in other.get_by_role("status").inner_text()

    # the call-back says honestly it is not resolved; the supervisor has it handled again
    boss.goto(f"/console/complaints/{receipt}")
    boss.get_by_label("没有解决（如实记录）").check()
    boss.get_by_label("不满意", exact=True).check()
    boss.get_by_role("button", name="回访").click()
    assert "已办结（问题未能解决）" in boss.locator("dl.facts").inner_text()
    boss.get_by_label("重新办理的原因").fill("回访不满意：塌方仍未修复")
    boss.get_by_role("button", name="重新办理").click()
    assert "已重新办理，重新计时" in boss.get_by_role("status").inner_text()
    facts = boss.locator("dl.facts").inner_text()
    assert "办理中，已有办理记录（重新办理 1 次）" in facts and re.search(rf"答复{LEFT}", facts), facts
    assert "重新办理（便民服务中心主任） → 办理中，已有办理记录。回访不满意：塌方仍未修复" in \
        boss.locator("ol.stages").inner_text()
    browser.check(boss, "console-complaint-reopened")
    boss.get_by_label("延期几个工作日").fill("5")  # 延期: the 答复 limit moves by working days
    boss.get_by_label("延期理由").fill("需交通站会商")
    boss.get_by_role("button", name="延期").click()
    assert "已延期" in boss.get_by_role("status").inner_text()
    assert "延期（便民服务中心主任） → 办理中，已有办理记录：延期 5 个工作日。需交通站会商" in \
        boss.locator("ol.stages").inner_text()
    other.goto(f"/console/complaints/{receipt}")  # the same handler answers again
    assert other.get_by_role("button", name="答复").count() == 1


def test_staff_of_another_township_are_told_a_complaint_is_not_theirs_in_staff_words(browser, system):
    receipt = _registered(system, "qs_supervisor", "431099101002", "路灯不亮")
    stranger = browser.page()
    sign_in(stranger, "lx_cadre1")
    answer = stranger.goto(f"/console/complaints/{receipt}")
    assert answer.status == 404
    text = stranger.locator("main").inner_text()
    assert "这不在您负责的乡镇范围内，或没有这件诉求。" in text and "查询码" not in text and "路灯不亮" not in text
    browser.check(stranger, "console-complaint-out-of-scope")


def test_a_county_admin_chooses_the_township_of_the_complaints_inbox(browser, system):
    qs = _registered(system, "qs_supervisor", "431099101002", "青石镇的一件诉求")
    lx = _registered(system, "lx_supervisor", "431099102001", "柳溪乡的一件诉求")
    admin = browser.page(DESKTOP)
    sign_in(admin, "admin")
    admin.goto("/console/complaints")
    assert admin.get_by_label("乡镇").input_value() == "431099101"  # the first township until one is chosen
    assert qs in admin.locator("main").inner_text() and lx not in admin.locator("main").inner_text()
    admin.get_by_label("乡镇").select_option(label="柳溪乡")
    admin.get_by_role("button", name="筛选").click()
    main = admin.locator("main").inner_text()
    assert lx in main and qs not in main and "431099101-TS" not in main
    browser.check(admin, "console-complaints-county")
