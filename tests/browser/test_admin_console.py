"""管理 and 我的账号 in a real browser: the county admin sets up 青石镇 (a village, a station, a staff member,
a station key shown once, then revoked), edits a catalogue item's promised limit and sees the 一次性告知单
change, is told beside the field what is wrong with a workflow; a cadre changes their own password and the
old one stops working; and the API's own route for it hands back a new session."""
from __future__ import annotations

import re

import httpx
import pytest

from tests.browser.conftest import DESKTOP
from tests.browser.test_console import PASSWORD, sign_in
from tests.support import login, wait_until

pytestmark = pytest.mark.browser
QS = "431099101"
KEY = re.compile(r"cbk_\d+_[A-Za-z0-9_-]{43}")


def test_the_county_admin_sets_up_a_village_a_station_its_staff_and_a_key_shown_once(browser, system):
    page = browser.page()
    sign_in(page, "admin")
    page.goto("/console/admin")
    browser.check(page, "admin-index")
    for place in ("工作日历", "考评设置", "操作日志", "系统状态"):  # the other admin pages, linked from here
        assert page.get_by_role("link", name=re.compile(place)).count() == 1
    page.get_by_role("link", name=re.compile("全部乡镇")).click()
    assert page.get_by_role("link", name="柳溪乡").count() == 1  # the county sees every township
    browser.check(page, "admin-townships")
    page.get_by_role("link", name="青石镇").click()
    browser.check(page, "admin-township")

    page.get_by_role("link", name=re.compile("村和社区")).click()
    page.get_by_label("村（社区）代码（12位）").fill("431099102011")  # 柳溪乡's code: not this township's
    page.get_by_label("名称").fill("试验村")
    page.get_by_role("button", name="新增").click()
    assert "前9位是乡镇代码" in page.locator(".field-error").first.inner_text()
    assert page.get_by_label("名称").input_value() == "试验村"  # what was typed is kept
    browser.check(page, "admin-villages-refused")
    page.get_by_label("村（社区）代码（12位）").fill(f"{QS}011")
    page.get_by_role("button", name="新增").click()
    assert "已新增" in page.get_by_role("status").inner_text()
    assert "试验村" in page.locator("table").inner_text()
    browser.check(page, "admin-villages")

    page.goto(f"/console/admin/townships/{QS}/stations")
    page.get_by_label("所在村（社区）").select_option(label="试验村")
    page.get_by_label("服务站名称").fill("试验村农事村办服务站")
    page.get_by_label("服务站代码").fill(f"ST{QS}011")
    page.get_by_label("地址（可不填）").fill("试验村村部")
    page.get_by_role("button", name="新增服务站").click()
    page.get_by_role("heading", name="试验村农事村办服务站").wait_for()
    assert "试验村" in page.locator("main").inner_text() and "服务站已新增" in page.get_by_role("status").inner_text()
    assert "本站还没有在岗的工作人员" in page.locator("main").inner_text()

    page.goto(f"/console/admin/townships/{QS}/staff")
    browser.check(page, "admin-staff-list")
    assert "代办员" in page.locator("table").inner_text() and "village_agent" not in page.locator("main").inner_text()
    page.get_by_label("姓名").fill("试验代办员")
    page.get_by_label("岗位").select_option(label="代办员")
    page.get_by_label("用户名（登录用）").fill("qs_trial_agent")
    page.get_by_label("初始密码").fill("trial-pass-2026")
    page.get_by_role("button", name="新增人员").click()  # no station: a village agent works at one
    assert "要选所在的服务站" in page.locator(".field-error").first.inner_text()
    page.get_by_label("服务站（代办员、村委会干部、大学生村官要选）").select_option(label="试验村农事村办服务站")
    page.get_by_label("初始密码").fill("trial-pass-2026")
    page.get_by_role("button", name="新增人员").click()
    page.get_by_role("heading", name="试验代办员").wait_for()
    assert "人员已新增" in page.get_by_role("status").inner_text()
    browser.check(page, "admin-staff")

    page.goto(f"/console/admin/stations/ST{QS}011")
    page.get_by_label("设备名称").fill("自助终端")
    page.get_by_label("代表哪位工作人员").select_option(label="试验代办员（代办员）")
    page.get_by_role("button", name="新建密钥").click()
    shown = page.locator("#new-key").inner_text().strip()
    assert KEY.fullmatch(shown) and "只显示这一次" in page.locator("main").inner_text()
    browser.check(page, "admin-station-key-shown")
    with httpx.Client(base_url=system, timeout=60) as client:  # the key works: the station's machine acts for its agent
        me = client.get("/auth/me", headers={"X-API-Key": shown})
        assert me.status_code == 200 and me.json()["username"] == "qs_trial_agent"
        page.reload()
        assert page.locator("#new-key").count() == 0 and shown not in page.content()  # shown once only
        assert shown[:16] in page.locator("table").inner_text()  # its beginning tells it apart
        browser.check(page, "admin-station")
        page.get_by_role("button", name=re.compile("更换密钥 自助终端")).click()  # rotate: a new key, shown once
        rotated = page.locator("#new-key").inner_text().strip()
        assert KEY.fullmatch(rotated) and rotated != shown
        assert client.get("/auth/me", headers={"X-API-Key": shown}).status_code == 401  # the old one, at once
        assert client.get("/auth/me", headers={"X-API-Key": rotated}).status_code == 200
        page.get_by_role("button", name=re.compile("停用密钥 自助终端")).click()
        assert "密钥已停用" in page.get_by_role("status").inner_text()
        assert "在用" not in page.locator("table").inner_text()
        assert client.get("/auth/me", headers={"X-API-Key": rotated}).status_code == 401  # at once


def test_the_county_admin_edits_an_item_and_the_notice_shows_it_and_a_bad_workflow_is_named(browser, system):
    page = browser.page(DESKTOP)
    sign_in(page, "admin")
    page.goto(f"/console/admin/townships/{QS}/catalogue")
    browser.check(page, "admin-catalogue")
    page.get_by_role("link", name="农资购买代办").click()
    assert "3 个工作日" in page.locator(".notice-list").inner_text()
    page.get_by_label("承诺时限（工作日，0 是即办件）").fill("5")
    page.get_by_label(re.compile("^需要的材料")).fill("购买清单\n身份证")
    page.get_by_role("button", name="保存事项").click()
    assert "事项已保存" in page.get_by_role("status").inner_text()
    preview = page.locator(".notice-list").inner_text()
    assert "5 个工作日" in preview and "身份证" in preview
    browser.check(page, "admin-item")
    page.get_by_label("收费（元，不收费填 0）").fill("12")  # a fee needs its legal basis
    page.get_by_role("button", name="保存事项").click()
    assert "收费依据" in page.locator("#fee_legal_basis-error").inner_text()
    browser.check(page, "admin-item-refused")
    page.get_by_role("link", name=re.compile("在办事指南里看")).click()  # the villager's own page says the same
    assert "5 个工作日" in page.locator("main").inner_text()

    page.goto(f"/console/admin/catalogue/{QS}/NZ-003/workflow")
    browser.check(page, "admin-workflow")
    page.get_by_label("步骤名称").nth(1).fill("乡镇复核")
    page.get_by_label("步骤代号（英文小写，如 township_review）").nth(1).fill("township_check")
    page.get_by_label("在哪一级办理").nth(1).select_option(label="乡镇")
    page.locator("#step-1-role-township_cadre").check()
    page.get_by_label("这一步的时限（工作日）").nth(1).fill("2")
    page.get_by_label("通过后转到（步骤代号；最后一步填 approved）").nth(1).fill("nowhere")
    page.get_by_role("button", name="保存流程").click()
    assert "没有保存" in page.get_by_role("alert").inner_text()
    beside = page.locator("#step-1-on_approve-error").inner_text()
    assert "nowhere" in beside and "不是这个流程里的步骤" in beside
    assert page.locator("#step-1-on_approve").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("步骤名称").nth(1).input_value() == "乡镇复核"  # kept as typed
    browser.check(page, "admin-workflow-refused")


def test_a_cadre_changes_their_own_password_and_signs_in_with_the_new_one(browser, system):
    with httpx.Client(base_url=system, timeout=60) as client:
        created = client.post("/staff", headers=login(client, "admin"), json={
            "username": "qs_trial_cadre", "full_name": "试验干部", "role": "township_cadre", "township_code": QS,
            "password": PASSWORD})
        assert created.status_code == 201, created.text
    page = browser.page()
    sign_in(page, "qs_trial_cadre")
    page.goto("/console/account")
    facts = page.locator("dl.facts").inner_text()
    assert "试验干部" in facts and "乡镇干部" in facts and "青石镇" in facts and QS not in facts
    browser.check(page, "account")
    page.get_by_label("现在的密码").fill("not-my-password")
    page.get_by_label("新密码", exact=True).fill("my-own-pass-2027")
    page.get_by_label("再输一遍新密码").fill("my-own-pass-2027")
    page.get_by_role("button", name="修改密码").click()
    assert "现在的密码不对" in page.locator("#current_password-error").inner_text()
    browser.check(page, "account-refused")
    page.get_by_label("现在的密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill("my-own-pass-2027")
    page.get_by_label("再输一遍新密码").fill("my-own-pass-2028")
    page.get_by_role("button", name="修改密码").click()
    assert "两次填写的新密码不一样" in page.locator("#repeat_password-error").inner_text()
    page.get_by_label("现在的密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill("my-own-pass-2027")
    page.get_by_label("再输一遍新密码").fill("my-own-pass-2027")
    page.get_by_role("button", name="修改密码").click()
    assert "密码已修改" in page.get_by_role("status").inner_text()  # and this browser stays signed in
    page.goto("/console")
    page.get_by_role("heading", name="工作台").wait_for()
    page.get_by_role("button", name="退出").click()

    page.goto("/console/login")
    page.get_by_label("用户名").fill("qs_trial_cadre")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    assert "用户名或密码不对" in page.get_by_role("alert").inner_text()  # the old password is gone
    page.get_by_label("密码").fill("my-own-pass-2027")
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="工作台").wait_for()


def test_the_api_changes_ones_own_password_and_hands_back_a_new_session(system):
    with httpx.Client(base_url=system, timeout=60) as client:
        created = client.post("/staff", headers=login(client, "admin"), json={
            "username": "qs_trial_api", "full_name": "试验接口", "role": "department_staff", "township_code": QS,
            "password": PASSWORD})
        assert created.status_code == 201, created.text
        old = login(client, "qs_trial_api")
        wrong = client.post("/auth/me/password", headers=old,
                            json={"current_password": "not-it-at-all", "new_password": "api-pass-2027"})
        assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "current_password_wrong"
        short = client.post("/auth/me/password", headers=old, json={"current_password": PASSWORD, "new_password": "x"})
        assert short.status_code == 422
        changed = client.post("/auth/me/password", headers=old,
                              json={"current_password": PASSWORD, "new_password": "api-pass-2027"})
        assert changed.status_code == 200, changed.text
        assert client.get("/auth/me", headers=old).status_code == 401  # this session ended with the old password
        new = {"Authorization": f"Bearer {changed.json()['access_token']}"}
        assert client.get("/auth/me", headers=new).json()["username"] == "qs_trial_api"
        assert client.post("/auth/login", json={"username": "qs_trial_api", "password": PASSWORD}).status_code == 401
        assert login(client, "qs_trial_api", "api-pass-2027")


def test_a_village_cannot_take_a_name_its_township_already_uses_and_the_audit_log_names_the_village(browser):
    page = browser.page()
    sign_in(page, "admin")
    page.goto(f"/console/admin/townships/{QS}/villages")
    page.get_by_label("村（社区）代码（12位）").fill(f"{QS}077")
    page.get_by_label("名称").fill("桃源 村")  # 桃源村 is one of 青石镇's villages: spaces do not make it another
    page.get_by_role("button", name="新增").click()
    assert "本乡镇已经有一个村" in page.locator("#name-error").inner_text()
    assert page.get_by_label("名称").input_value() == "桃源 村"  # what was typed is kept
    page.get_by_label("名称").fill("复核村")
    page.get_by_role("button", name="新增").click()
    assert "已新增" in page.get_by_role("status").inner_text()

    page.goto(f"/console/admin/villages/{QS}077")
    page.get_by_label("名称").fill("石门村")  # renamed to another village's name: refused beside 名称
    page.get_by_role("button", name="保存").click()
    assert "本乡镇已经有一个村" in page.locator("#name-error").inner_text()
    assert page.get_by_label("名称").input_value() == "石门村"
    assert page.get_by_label("名称").get_attribute("aria-invalid") == "true"
    browser.check(page, "admin-village-name-taken")
    page.get_by_label("名称").fill("复核新村")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r"done=village_updated"))
    assert page.locator("table").inner_text().count("石门村") == 1

    def listed():  # the gateway sends its entries every few moments: look again until the rename is in
        page.goto("/console/admin/audit?username=admin&action=page_admin_update_village")
        rows = page.locator("table.audit tbody tr")
        return rows if rows.count() >= 2 and "村：复核新村" in rows.first.inner_text() else None
    rows = wait_until(listed, 30, "the rename's audit entries")
    newest, refused = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert "修改村（网页）" in newest and "村：复核新村" in newest and "成功" in newest
    assert "村：复核新村" in refused and "被拒绝" in refused  # the same village, named as it is now
    browser.check(page, "admin-audit-objects")
