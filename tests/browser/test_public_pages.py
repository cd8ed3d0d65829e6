"""The public pages on a phone, as a villager uses them: the guide, progress by the receipt's QR address,
the market calendar with a booking (scripts off), 好差评 of a completed item, and an anonymous complaint
looked up by its code. Records are made through the JSON API as a station would."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx
import pytest

from shared.clock import CHINA, today_in_china
from tests.support import APPLICANT, FILING, QS, created, login, wait_until
from tests.support import SECRETS as PERSONAL

pytestmark = pytest.mark.browser
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T|Z\b|UTC")


@pytest.fixture(scope="module")
def api(system):
    with httpx.Client(base_url=system, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def agent(api):
    return login(api, "qs_agent1")


@pytest.fixture(scope="module")
def sessions(api):
    """The market-day posts of 青石镇老街集市 for the next two weeks, each with appointment places."""
    supervisor = login(api, "qs_supervisor")
    today = today_in_china()
    made = api.post("/sessions/generate", headers=supervisor, json={
        "site_code": "QS-JISHI", "start": today.isoformat(), "end": (today + timedelta(days=14)).isoformat()})
    assert made.status_code in (200, 201), made.text
    return made.json()


def test_the_guide_leads_from_township_to_an_item_with_everything_to_know(browser):
    page = browser.page()
    page.goto("/guide")
    browser.check(page, "guide-townships")
    page.get_by_role("link", name="青石镇").click()
    page.get_by_role("heading", name="青石镇办事指南").wait_for()
    browser.check(page, "guide-catalogue")
    page.get_by_role("link", name=re.compile("农村最低生活保障申请")).click()
    body = page.locator("main").inner_text()
    for words in ("20 个工作日", "要带的材料（一次性告知）", "谁可以办", "怎么办", "监督电话", "乡镇办理", "不收费"):
        assert words in body, words
    assert "township" not in body and "DB-001" not in body
    browser.check(page, "guide-item")
    page.goto(f"/guide/{QS}/YB-002")
    assert "即办件" in page.locator("main").inner_text()
    page.goto(f"/guide/{QS}/NJ-010")
    assert "5.00 元" in page.locator("main").inner_text()
    page.goto(f"/guide/{QS}/NOPE-1")
    assert "没有这个办理事项" in page.get_by_role("alert").inner_text()


def test_the_receipts_qr_address_asks_for_the_digits_and_shows_the_stage_and_deadline(browser, api, agent):
    filed = api.post("/applications", json=FILING, headers={**agent, "Idempotency-Key": "browser-progress-0001"})
    assert filed.status_code == 201, filed.text
    receipt = filed.json()["receipt_no"]
    page = browser.page()  # 360 × 800
    page.goto(f"/q/{receipt}")
    assert page.get_by_label("回执编号").input_value() == receipt
    browser.check(page, "progress-qr")
    page.get_by_label("手机号码后四位").fill("0000")
    page.get_by_role("button", name="查询").click()
    assert "没有查到这笔申请" in page.get_by_role("alert").inner_text()
    page.get_by_label("手机号码后四位").fill("5678")
    page.get_by_role("button", name="查询").click()
    page.get_by_role("heading", name="办理进度").wait_for()
    body = page.locator("main").inner_text()
    assert "已受理" in body and "最低生活保障" in body
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日前办结（20 个工作日）", body), body
    assert not any(secret in page.content() for secret in PERSONAL)
    assert "5678" not in page.url
    browser.check(page, "progress-result")


def test_a_paused_clock_says_which_materials_to_bring(browser, api, agent):
    committee = login(api, "qs_cadre1")  # the default workflow: one review step in the township
    filing = {"item_code": "SP-008", "channel": "station", "station_code": f"ST{QS}010",
              "applicant": {"name": "周九", "phone": "13212345678", "id_card": "430124197506150021",
                            "village_code": f"{QS}010"},
              "materials_provided": ["农村宅基地和建房(规划许可)申请表", "身份证", "户口簿", "村民小组会议记录"]}
    filed = api.post("/applications", json=filing, headers={**agent, "Idempotency-Key": "browser-pause-0001"})
    assert filed.status_code == 201, filed.text
    receipt = filed.json()["receipt_no"]
    wait_until(lambda: api.get(f"/applications/{receipt}/approval", headers=committee).status_code == 200, 20,
               "approvals to open the case")
    for action in ({"action": "accept"}, {"action": "request_supplement", "materials": ["户口簿复印件"]}):
        response = api.post(f"/applications/{receipt}/actions", json=action, headers=committee)
        assert response.status_code == 200, response.text
    wait_until(lambda: api.get(f"/applications/{receipt}", headers=agent).json()["paused"], 20, "the pause")
    page = browser.page()
    page.goto(f"/q/{receipt}")
    page.get_by_label("手机号码后四位").fill("5678")
    page.get_by_role("button", name="查询").click()
    status = page.get_by_role("status").inner_text()
    assert "等您补正材料" in status and "暂停计时" in status and "户口簿复印件" in status
    assert "通知补正材料，暂停计时" in page.locator("ol.stages").inner_text()
    assert "暂停计时中（共 20 个工作日）" in page.locator("main").inner_text()
    browser.check(page, "progress-paused")


def test_the_market_calendar_and_a_booking_work_without_scripts(browser, api, sessions):
    supervisor = login(api, "qs_supervisor")
    later = []  # a later post without places yet (other journeys on this system offer places at some)
    for post in (s for s in sessions if s["day"] > today_in_china().isoformat()):
        if api.post(f"/sessions/{post['id']}/slots", headers=supervisor, json={"minutes": 60, "capacity": 3}
                    ).status_code == 201:
            later = [post]
            break
    assert later, "no market-day post left to offer places at"
    page = browser.page(javascript=False)
    page.goto("/market")
    page.get_by_role("link", name="青石镇").click()
    page.get_by_role("heading", name="青石镇赶集日历").wait_for()
    body = page.locator("main").inner_text()
    assert "青石镇老街集市" in body and "逢一四七" in body and "代办服务" in body
    assert not ISO.search(body) and "agency" not in body
    assert re.search(r"\d{1,2}月\d{1,2}日 \d{2}:\d{2}", body)
    browser.check(page, "market-calendar")
    page.locator(f"a[href$='/post/{later[0]['id']}']").click()
    page.get_by_role("heading", name=re.compile("预约")).wait_for()
    page.get_by_label("姓名").fill("钱七")
    page.get_by_label("手机号码").fill("1381234")  # too short: said next to the field, the rest kept
    page.get_by_role("button", name="确认预约").click()
    assert "11位手机号码" in page.locator("#phone-error").inner_text()
    assert "请选择一个时段" in page.locator("#slot_id-error").inner_text()
    assert page.get_by_label("姓名").input_value() == "钱七"
    browser.check(page, "market-book")
    page.locator("input[name=slot_id]").first.check()
    page.get_by_label("手机号码").fill("13812345678")
    page.get_by_label(re.compile("想办什么事")).fill("办医保")
    page.get_by_role("button", name="确认预约").click()
    page.get_by_role("heading", name="预约成功").wait_for()
    body = page.locator("main").inner_text()
    assert "青石镇老街集市" in body and re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", body)
    assert "13812345678" not in body
    browser.check(page, "market-booked")
    number = page.locator("dd.code").first.inner_text().strip()
    page.reload()  # a reload shows the same booking and books nothing again
    page.get_by_role("heading", name="预约成功").wait_for()
    assert page.locator("dd.code").first.inner_text().strip() == number
    page.get_by_role("button", name="取消这个预约").click()
    page.get_by_role("status").filter(has_text="预约已取消").wait_for()


def test_a_place_at_an_appointment_visit_is_booked(browser, api):
    supervisor = login(api, "qs_supervisor")
    staff = api.get("/staff", headers=supervisor, params={"limit": 500}).json()
    cadre = next(s["id"] for s in staff if s["role"] == "department_staff")
    day = (today_in_china() + timedelta(days=2)).isoformat()
    visit = api.post("/visits", headers=supervisor, json={
        "kind": "appointment", "title": "残疾人证预约上门", "village_code": f"{QS}005", "place": "村卫生室",
        "day": day, "starts": "18:00", "ends": "19:00", "staff_ids": [cadre]})
    assert visit.status_code == 201, visit.text
    visit_id = visit.json()["id"]
    assert api.post(f"/visits/{visit_id}/slots", headers=supervisor, json={"minutes": 30, "capacity": 2}
                    ).status_code == 201
    page = browser.page()
    page.goto(f"/market/{QS}")
    card = page.locator(".card", has_text="残疾人证预约上门")
    assert "村卫生室" in card.inner_text() and "18:00–19:00" in card.inner_text() and "预约上门 ·" in card.inner_text()
    assert "431099101005" not in card.inner_text()
    card.get_by_role("link", name="预约这次下访").click()
    page.get_by_role("radio", name=re.compile(r"^\s*18:30")).check()
    page.get_by_label("姓名").fill("孙八")
    page.get_by_label("手机号码").fill("13712345678")
    page.get_by_role("button", name="确认预约").click()
    page.get_by_role("heading", name="预约成功").wait_for()
    assert "18:30" in page.locator("main").inner_text() and "村卫生室" in page.locator("main").inner_text()
    booking_id = page.locator("dd.code").inner_text().strip()
    page.goto("/market/cancel")
    page.get_by_label("预约编号").fill(booking_id)
    page.get_by_role("button", name="取消预约").click()
    page.get_by_role("status").filter(has_text="预约已取消").wait_for()
    browser.check(page, "market-cancelled")


def test_a_slot_that_has_begun_is_shown_and_not_offered(browser, api):
    """On the day of a visit, the slots already begun say so and cannot be chosen; the rest can."""
    supervisor = login(api, "qs_supervisor")
    staff = api.get("/staff", headers=supervisor, params={"limit": 500}).json()
    cadre = next(s["id"] for s in staff if s["role"] == "department_staff")
    now = datetime.now(CHINA)
    starts = min(now.hour, 22)  # this hour's first slot has begun (after 23:00, every slot has)
    visit = api.post("/visits", headers=supervisor, json={
        "kind": "appointment", "title": "社保卡补办预约", "village_code": f"{QS}003", "place": "村委会",
        "day": now.date().isoformat(), "starts": f"{starts:02d}:00", "ends": f"{starts + 1:02d}:30",
        "staff_ids": [cadre]})
    assert visit.status_code == 201, visit.text
    visit_id = visit.json()["id"]
    assert api.post(f"/visits/{visit_id}/slots", headers=supervisor, json={"minutes": 30, "capacity": 2}
                    ).status_code == 201
    page = browser.page(javascript=False)
    page.goto(f"/market/{QS}/visit/{visit_id}")
    if now.hour >= 23:  # every slot (22:00, 22:30, 23:00) has begun: nothing is asked for
        assert "时段都已开始" in page.get_by_role("status").inner_text()
        assert page.get_by_role("button", name="确认预约").count() == 0
        return
    first = page.get_by_role("radio", name=re.compile(rf"^\s*{starts:02d}:00"))
    assert first.is_disabled() and "已开始，不能再约" in page.locator("main").inner_text()
    coming = f"{starts:02d}:30" if now.minute < 28 else f"{starts + 1:02d}:00" if now.minute < 58 else None
    if coming:  # a slot two minutes or more away is still offered
        page.get_by_role("radio", name=re.compile(rf"^\s*{coming}")).check()
        assert "剩 2 个" in page.locator("main").inner_text()
    browser.check(page, "market-book-begun")


def test_a_completed_item_is_rated_and_a_bad_rating_promises_a_call_back(browser, api, agent, sessions):
    filing = {"item_code": "YB-002", "channel": "market_day", "session_id": sessions[0]["id"],
              "applicant": {**APPLICANT, "village_code": f"{QS}001"}, "materials_provided": ["身份证", "户口簿"],
              "complete_now": True, "result_note": "当场登记参保"}
    done = wait_until(lambda: created(api.post("/applications", json=filing,
                                               headers={**agent, "Idempotency-Key": "browser-rate-0001"})),
                      15, "intake learns of the session")
    receipt = done["receipt_no"]
    supervisor = login(api, "qs_supervisor")
    wait_until(lambda: receipt in [r["ref"] for r in api.get("/figures/records", headers=supervisor, params={
        "metric": "completed", "level": "township", "unit": QS}).json()], 15, "evaluation learns of the completion")
    page = browser.page()
    page.goto(f"/rate?receipt={receipt}")
    browser.check(page, "rate")
    page.get_by_label(re.compile("手机号码后四位")).fill("5678")
    page.get_by_role("button", name="提交评价").click()
    assert "请选一个评价" in page.locator("#level-error").inner_text()
    page.get_by_label("不满意", exact=True).check()
    page.get_by_label(re.compile("想说的话")).fill("等了很久")
    page.get_by_role("button", name="提交评价").click()
    page.get_by_role("heading", name="谢谢您的评价").wait_for()
    assert re.search(r"15 个工作日内（\d{4}年\d{1,2}月\d{1,2}日前）给您回电话", page.locator("main").inner_text())
    browser.check(page, "rate-thanks")
    page.goto(f"/rate?receipt={receipt}")
    page.get_by_label(re.compile("手机号码后四位")).fill("5678")
    page.get_by_label("非常满意").check()
    page.get_by_role("button", name="提交评价").click()
    assert "已经评价过了" in page.get_by_role("alert").inner_text()


def test_an_anonymous_complaint_gets_its_code_once_and_is_looked_up_with_it(browser):
    page = browser.page(javascript=False)
    page.goto("/complain")
    page.get_by_role("radio", name=re.compile(r"^\s*建议")).check()
    page.get_by_label("是哪方面的事").select_option(label="道路交通")
    page.get_by_label("您所在的村").select_option(label="石门村")
    page.get_by_role("button", name="提交").click()
    assert "请写明事情经过" in page.locator("#description-error").inner_text()
    assert page.get_by_label("是哪方面的事").input_value() == "roads"
    page.get_by_label("具体情况和诉求").fill("村口的路灯坏了一个月，晚上看不见路。")
    page.get_by_role("button", name="提交").click()
    page.get_by_role("heading", name="已经收到").wait_for()
    codes = page.locator("dd.code").all_inner_texts()
    receipt, code = codes[0].strip(), codes[1].strip()
    assert re.fullmatch(r"\d{9}-TS\d{8}-\d{4,6}", receipt) and len(code) == 8
    assert "只在这里显示这一次" in page.locator("main").inner_text()
    browser.check(page, "complain-anonymous-code")
    page.reload()  # files nothing again, and the code is not shown twice
    assert "不会重复登记" in page.locator("main").inner_text() and code not in page.content()
    page.goto(f"/complain/progress?receipt={receipt}")
    assert page.get_by_label("登记编号").input_value() == receipt
    page.get_by_label("手机号码后四位或查询码").fill(code.lower())
    page.get_by_role("button", name="查询").click()
    page.get_by_role("heading", name="投诉建议进度").wait_for()
    body = page.locator("main").inner_text()
    assert "已登记，等待分派" in body and "建议" in body
    browser.check(page, "complaint-progress")


def test_the_complaint_form_reads_well_with_scripts(browser):
    page = browser.page()
    page.goto("/complain")
    browser.check(page, "complain")


def test_public_forms_posted_from_elsewhere_are_refused_and_lookups_are_not_cached(system):
    with httpx.Client(base_url=system) as client:
        for path in ("/progress", "/rate", "/complain", "/complain/progress", "/market/cancel"):
            refused = client.post(path, data={"receipt_no": "431099101-20261203-0001", "phone_last4": "1234"})
            assert refused.status_code == 403 and "页面已过期" in refused.text, path
        form = client.get("/progress")
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form.text).group(1)
        answer = client.post("/progress", data={"csrf_token": token, "receipt_no": "431099101-20261203-9999",
                                                "phone_last4": "1234"})
        assert answer.status_code == 404 and "没有查到这笔申请" in answer.text
        assert answer.headers["cache-control"] == "no-store"
        assert client.get("/guide/431099199").status_code == 404
        cut_off = client.get("/q/not-a-receipt")  # a mistyped or cut-off QR address: said in Chinese
        assert cut_off.status_code == 404 and "编号不对" in cut_off.text
        assert client.get("/public/townships").json()[0].keys() == {"code", "name", "hotline"}


def test_a_named_complaint_goes_to_its_receipt_page_and_is_looked_up_by_the_phone(system):
    with httpx.Client(base_url=system, timeout=30) as client:
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get("/complain").text).group(1)
        form = {"csrf_token": token, "kind": "petition", "category": "water", "village_code": f"{QS}001",
                "description": "自来水三天没来了。", "name": "孙八", "phone": "13912348765"}
        half = client.post("/complain", data={**form, "phone": ""})
        assert half.status_code == 422 and "请填写11位手机号码" in half.text and "孙八" in half.text
        made = client.post("/complain", data=form)
        assert made.status_code == 303 and made.headers["location"].startswith("/complain/filed?receipt=")
        receipt = made.headers["location"].split("=", 1)[1]
        filed = client.get(made.headers["location"])
        assert receipt in filed.text and "查询码" not in filed.text and "13912348765" not in filed.text
        found = client.post("/complain/progress", data={"csrf_token": token, "receipt_no": receipt,
                                                        "secret": "8765"})
        assert found.status_code == 200 and "信访诉求" in found.text and "孙八" not in found.text


def test_a_public_pages_first_load_stays_far_below_100_kb_gzipped(system):
    with httpx.Client(base_url=system, headers={"Accept-Encoding": "gzip"}) as client:
        total = 0
        for path in (f"/guide/{QS}", "/static/cunban.css", "/static/cunban.js"):
            response = client.get(path)
            assert response.status_code == 200, path
            total += int(response.headers.get("content-length") or len(response.content))
        assert total < 100_000, total
