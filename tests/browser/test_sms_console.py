"""短信 in the console, in a real browser: the county admin changes how the county sends (签名, the daily
cap), is told at once what a provider still needs, previews and saves a template (an unknown variable is
refused beside the text), and reads the messages sent with masked numbers; a township's supervisor reads
the settings and templates without the forms. Works with JavaScript off."""
from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.browser.test_console import sign_in
from tests.support import login

pytestmark = pytest.mark.browser


def test_the_county_admin_sets_how_sms_are_sent_and_edits_a_template(browser, system):
    admin = browser.page(javascript=False)
    sign_in(admin, "admin")
    admin.goto("/console/admin")
    admin.get_by_role("link", name="短信").first.click()
    admin.get_by_role("heading", name="短信", exact=True).wait_for()
    assert "受理回执" in admin.content() and "只记在系统里" in admin.content()

    # a provider without its account: every missing setting named beside its field, nothing saved
    admin.get_by_label("发送方式").select_option("aliyun")
    admin.get_by_role("button", name="保存发送设置").click()
    assert "账号设置不全" in admin.get_by_role("alert").first.inner_text()
    assert "请填写AccessKey Secret / SecretKey。" in admin.content()
    assert admin.get_by_label("发送方式").input_value() == "aliyun"  # what was chosen is kept

    admin.get_by_label("发送方式").select_option("log")
    admin.get_by_label("短信签名").fill("青石县政务")
    admin.get_by_label("同一个手机号每天最多发").fill("12")
    admin.get_by_role("button", name="保存发送设置").click()
    assert "发送设置已保存" in admin.get_by_role("status").first.inner_text()
    assert admin.get_by_label("短信签名").input_value() == "青石县政务"
    assert admin.get_by_label("同一个手机号每天最多发").input_value() == "12"
    browser.check(admin, "console-sms")

    admin.get_by_role("row").filter(has_text="预约提醒").get_by_role("link").click()
    admin.get_by_role("heading", name="短信模板：预约提醒").wait_for()
    text = admin.get_by_label(re.compile("短信内容"))
    text.fill("提醒：明天${time}请到${place}办事，带好身份证。电话${phone}")
    admin.get_by_role("button", name="预览").click()
    assert "${phone} 不是这条通知能用的变量" in admin.locator(".field-error").inner_text()
    assert admin.get_by_label(re.compile("短信内容")).input_value().endswith("${phone}")  # as typed

    admin.get_by_label(re.compile("短信内容")).fill("提醒：明天${time}请到${place}办事，带好身份证。")
    admin.get_by_role("button", name="预览").click()
    preview = admin.locator("#preview").inner_text()
    assert "【青石县政务】提醒：明天" in preview and "${" not in preview and "还没有保存" in preview
    browser.check(admin, "console-sms-template")
    admin.get_by_role("button", name="保存").click()
    assert "模板已保存" in admin.get_by_role("status").first.inner_text()
    admin.goto("/console/admin/sms")
    row = admin.get_by_role("row").filter(has_text="预约提醒").inner_text()
    assert "带好身份证" in row and "（默认）" not in row


def test_messages_sent_are_listed_with_masked_numbers_and_their_status(browser, system):
    with httpx.Client(base_url=system) as client:
        # at night in China the county's quiet hours (21:00–08:00) hold the receipt SMS back, and a message
        # waiting to be sent has neither its text nor its number yet: the county sends at any hour here
        quiet_off = client.put("/notifications/settings/431099", headers=login(client, "admin"),
                               json={"quiet_start": "00:00", "quiet_end": "00:00"})
        assert quiet_off.status_code == 200, quiet_off.text
        agent = login(client, "qs_agent1")
        filed = client.post("/applications", headers=agent, json={
            "item_code": "SP-008", "channel": "station", "station_code": "ST431099101010",
            "applicant": {"name": "周短信", "phone": "13700001234", "id_card": "430124197506150021",
                          "village_code": "431099101010"},
            "materials_provided": ["农村宅基地和建房(规划许可)申请表", "身份证", "户口簿", "村民小组会议记录"]})
        assert filed.status_code == 201, filed.text
        receipt = filed.json()["receipt_no"]
    admin = browser.page()
    sign_in(admin, "admin")
    deadline = time.monotonic() + 30
    while True:  # the receipt SMS is made when notifications hears of the filing
        admin.goto("/console/admin/sms/messages?kind=application_filed")
        if receipt in admin.content() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    row = admin.get_by_role("row").filter(has_text=receipt)
    assert "受理回执" in row.inner_text() and "137****1234" in row.inner_text()
    assert "13700001234" not in admin.content()
    assert re.search("已发出|已送达|等待发送", row.inner_text())
    browser.check(admin, "console-sms-messages")


def test_a_supervisor_reads_the_settings_and_templates_without_forms(browser, system):
    boss = browser.page()
    sign_in(boss, "qs_supervisor")
    boss.goto("/console/admin/sms")
    assert "只有县管理员可以修改发送设置" in boss.content()
    assert boss.get_by_role("button", name="保存发送设置").count() == 0
    boss.get_by_role("row").filter(has_text="受理回执").get_by_role("link", name="查看").click()
    boss.get_by_role("heading", name="短信模板：受理回执").wait_for()
    assert boss.get_by_role("button", name="保存").count() == 0
    boss.get_by_role("button", name="预览").click()  # a supervisor may preview, not save
    assert "【" in boss.locator("#preview").inner_text()


def test_each_county_sets_its_own_sms_and_the_system_administrator_chooses_the_county(browser, system):
    admin = browser.page()
    sign_in(admin, "admin")  # 清水县's admin: another county in the address is refused in words
    response = admin.goto("/console/admin/sms?county=431121")
    assert response.status == 403 and "这不在您负责的县（市、区）范围内" in admin.content()

    other = browser.page(javascript=False)
    sign_in(other, "qy_admin")  # 祁阳县's admin sets 祁阳县's signature; 清水县's stays its own
    other.goto("/console/admin/sms")
    other.get_by_label("短信签名").fill("祁阳政务")
    other.get_by_role("button", name="保存发送设置").click()
    assert "发送设置已保存" in other.get_by_role("status").first.inner_text()

    root = browser.page(javascript=False)
    sign_in(root, "sysadmin")
    root.goto("/console/admin/sms")
    root.get_by_label("县").select_option(label="祁阳县")
    root.get_by_role("button", name="查看").click()
    assert root.get_by_label("短信签名").input_value() == "祁阳政务"
    admin.goto("/console/admin/sms")
    assert admin.get_by_label("短信签名").input_value() != "祁阳政务"
