"""The station clerk's console in a real browser: filing an application for a villager (a material
missing is refused and named, then filed), the receipt printed to PDF with its QR code of the public
look-up address, a double submit filing once, filing with scripts off, an immediate item completed on the
spot, a consultation recorded and listed, and the records list with its filters and pages."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import DESKTOP

pytestmark = pytest.mark.browser
PASSWORD = "cunban-demo-2026"
RECEIPT = re.compile(r"\d{9}-\d{8}-\d{4,6}")


def sign_in(page, username: str = "qs_agent1") -> None:
    page.goto("/console/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="工作台").wait_for()


def fill_applicant(page, name: str, village: str = "石门村", id_card: str = "430124198001011231") -> None:
    page.get_by_label("姓名").fill(name)
    page.get_by_label("手机号").fill("13812345678")
    page.get_by_label("身份证号").fill(id_card)
    page.get_by_label("所在村").select_option(label=village)


def open_form(page, item: str) -> None:
    page.goto("/console/applications/new")
    page.get_by_role("link", name=re.compile(item)).click()
    page.get_by_role("heading", name=re.compile(f"受理：{item}")).wait_for()


def receipt_no_of(page) -> str:
    page.wait_for_url(re.compile(r"/console/applications/\d{9}-\d{8}-\d{4,6}/receipt"))
    return RECEIPT.search(page.url).group(0)


def test_a_clerk_files_with_a_material_missing_then_complete_and_prints_the_receipt(browser, tmp_path):
    page = browser.page()
    sign_in(page)
    browser.check(page, "console-workbench")
    page.goto("/console/applications/new")
    browser.check(page, "console-pick-item")
    open_form(page, "农村最低生活保障申请")
    for material in ("申请书", "身份证", "户口簿"):  # 家庭收入情况说明 is missing
        page.get_by_role("checkbox", name=material, exact=True).check()
    fill_applicant(page, "王低保")
    page.get_by_label("事由说明（可不填）").fill("家中主要劳动力因病丧失劳动能力")
    page.get_by_role("button", name="提交受理").click()
    alert = page.get_by_role("alert")
    assert "材料不齐" in alert.inner_text() and "家庭收入情况说明" in alert.inner_text()
    assert page.get_by_label("姓名").input_value() == "王低保"  # what was typed is kept
    assert page.get_by_role("checkbox", name="身份证", exact=True).is_checked()
    assert not page.get_by_role("checkbox", name=re.compile("家庭收入情况说明")).is_checked()
    browser.check(page, "console-filing-refused")
    page.get_by_role("checkbox", name=re.compile("家庭收入情况说明")).check()
    page.get_by_role("button", name="提交受理").click()
    receipt_no = receipt_no_of(page)
    body = page.locator("main").inner_text()
    assert receipt_no in body and "农村最低生活保障申请" in body and "20 个工作日" in body
    assert "首问负责人" in body and "监督" in body
    assert "T" not in page.locator("dl.facts").first.inner_text().split("受理时间")[1][:20]  # China time, not ISO
    browser.check(page, "console-receipt")

    lookup = f"{browser.base}/q/{receipt_no}"
    page.emulate_media(media="print")
    pdf = tmp_path / "receipt.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert receipt_no in text and "农村最低生活保障申请" in text
    assert decoded_qr(pdf, tmp_path) == lookup
    # the same receipt on an 80 mm receipt printer
    page.goto(f"/console/applications/{receipt_no}/receipt?width=80mm")
    narrow = tmp_path / "receipt-80mm.pdf"
    page.pdf(path=str(narrow), prefer_css_page_size=True)
    info = subprocess.run(["pdfinfo", str(narrow)], capture_output=True, text=True, check=True).stdout
    width_pt = float(re.search(r"Page size:\s+([\d.]+) x", info).group(1))
    assert abs(width_pt - 80 / 25.4 * 72) < 3, info
    assert decoded_qr(narrow, tmp_path) == lookup
    save_png(pdf, "console-receipt-print-a4")
    save_png(narrow, "console-receipt-print-80mm")

    page.emulate_media(media="screen")
    page.goto(f"/console/applications/{receipt_no}")
    page.get_by_role("heading", name="办理经过").wait_for()
    assert "受理登记" in page.locator("ol.stages").inner_text()
    browser.check(page, "console-application")

    # the villager scans the receipt's code on a phone: the address it carries, the last four digits typed
    phone = browser.page()  # 360 × 800, a browser of its own (no clerk's cookies)
    phone.goto(decoded_qr(pdf, tmp_path))
    assert phone.get_by_label("回执编号").input_value() == receipt_no
    phone.get_by_label("手机号码后四位").fill("5678")
    phone.get_by_role("button", name="查询").click()
    phone.get_by_role("heading", name="办理进度").wait_for()
    progress = phone.locator("main").inner_text()
    assert "已受理" in progress and "农村最低生活保障申请" in progress and "王低保" not in progress
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日前办结（20 个工作日）", progress), progress
    browser.check(phone, "villager-scans-the-receipt")


def decoded_qr(pdf: Path, folder: Path) -> str:
    import zxingcpp
    from PIL import Image

    prefix = folder / pdf.stem
    subprocess.run(["pdftoppm", "-png", "-r", "200", "-f", "1", "-l", "1", str(pdf), str(prefix)], check=True)
    image = next(folder.glob(f"{pdf.stem}*.png"))
    codes = zxingcpp.read_barcodes(Image.open(image))
    assert codes, "no QR code on the printed receipt"
    return codes[0].text


def save_png(pdf: Path, name: str) -> None:
    from tests.browser.conftest import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(ARTIFACTS / name)], check=True)


def test_the_notice_of_an_item_lists_its_materials(browser):
    page = browser.page()
    sign_in(page)
    page.goto("/console/catalogue/DB-001/notice")
    body = page.locator("main").inner_text()
    for material in ("申请书", "身份证", "户口簿", "家庭收入情况说明"):
        assert material in body
    browser.check(page, "console-notice")


def test_a_double_submit_files_once(browser, system):
    page = browser.page()
    sign_in(page)
    open_form(page, "农村最低生活保障申请")
    form = {"csrf_token": page.locator("input[name=csrf_token]").first.input_value(),
            "idempotency_key": page.locator("input[name=idempotency_key]").input_value(),
            "item_code": "DB-001", "materials": ["申请书", "身份证", "户口簿", "家庭收入情况说明"],
            "name": "赵重复", "phone": "13812345678", "id_card": "430124200102280043",
            "village_code": "431099101002", "channel": "station"}
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=system, cookies=cookies) as client:
        first = client.post("/console/applications/new", data=form)
        second = client.post("/console/applications/new", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    page.goto("/console/records?mine=true&item=DB-001&village=431099101002")
    assert page.locator("main table").first.inner_text().count("赵重复") == 1


@pytest.mark.parametrize("username", ["qs_agent1", "qs_official1"])
def test_filing_works_with_scripts_off(browser, username):
    page = browser.page(javascript=False)
    sign_in(page, username)
    open_form(page, "农村最低生活保障申请")
    for material in ("申请书", "身份证", "户口簿", "家庭收入情况说明"):
        page.get_by_role("checkbox", name=material, exact=True).check()
    fill_applicant(page, f"无脚本{username[-1]}", village="桃源村", id_card="430124200102280044")
    page.get_by_label("代办员代办").check()
    page.get_by_role("button", name="提交受理").click()
    # without scripts the server checks the ID number: said next to the field, what was typed kept
    assert "身份证号不对" in page.locator("#id_card-error").inner_text()
    assert page.get_by_label("身份证号").input_value() == "430124200102280044"
    assert page.get_by_label("代办员代办").is_checked()
    page.get_by_label("身份证号").fill("430124200102280043")
    page.get_by_role("button", name="提交受理").click()
    receipt_no = receipt_no_of(page)
    assert receipt_no in page.locator("main").inner_text()
    assert page.locator("svg.qr").count() == 1
    browser.check(page, f"console-receipt-nojs-{username}")


def test_an_immediate_item_is_completed_on_the_spot(browser):
    page = browser.page(DESKTOP)
    sign_in(page)
    page.goto("/console/applications/new?item=YB-002")
    page.get_by_role("heading", name=re.compile("受理：")).wait_for()
    # with scripts the ID number's check digit is checked as it is typed
    page.get_by_label("身份证号").fill("430124198001011232")
    assert not page.get_by_label("身份证号").evaluate("input => input.checkValidity()")
    page.get_by_role("checkbox", name="身份证", exact=True).check()
    page.get_by_role("checkbox", name="户口簿", exact=True).check()
    fill_applicant(page, "李即办", village="大塘村")
    page.get_by_label("当场办结").check()
    page.get_by_label("办理结果").fill("当场登记参保")
    browser.check(page, "console-filing-immediate")
    page.get_by_role("button", name="提交受理").click()
    receipt_no = receipt_no_of(page)
    body = page.locator("main").inner_text()
    assert "已办结" in body and "即办件" in body
    page.goto(f"/console/applications/{receipt_no}")
    assert "当场登记参保" in page.locator("main").inner_text()


def test_a_consultation_is_recorded_and_listed(browser):
    page = browser.page()
    sign_in(page)
    page.goto("/console/records/consultation/new")
    browser.check(page, "console-consultation")
    page.get_by_label("咨询的事情").fill("咨询新农合缴费时间")
    page.get_by_label("人数").fill("3")
    page.get_by_label("村（可不选）").select_option(label="石门村")
    page.get_by_role("button", name="登记").click()
    assert "已登记" in page.get_by_role("status").inner_text()
    page.goto("/console/records")
    listed = page.locator("main").inner_text().split("最近登记的咨询")[1]
    assert "咨询新农合缴费时间" in listed and "3 人" in listed
    page.goto("/console/records/service_activity/new")
    page.get_by_label("服务类别").select_option(label="小病诊疗")
    page.get_by_label("活动名称").fill("赶集日义诊")
    page.get_by_label("地点").fill("石门村村部")
    page.get_by_label("参加人数").fill("45")
    page.get_by_role("button", name="登记").click()
    assert "已登记" in page.get_by_role("status").inner_text()
    page.goto("/console/records/practical_deed/new")
    page.get_by_label("做了什么实事").fill("帮助五保户修缮房屋")
    page.get_by_role("button", name="登记").click()
    assert "已登记" in page.get_by_role("status").inner_text()
    page.goto("/console/records")
    listed = page.locator("main").inner_text()
    assert "赶集日义诊" in listed and "45 人" in listed and "帮助五保户修缮房屋" in listed


def test_the_records_list_filters_and_pages(browser):
    page = browser.page()
    sign_in(page)
    for n in range(3):
        open_form(page, "农村最低生活保障申请")
        for material in ("申请书", "身份证", "户口簿", "家庭收入情况说明"):
            page.get_by_role("checkbox", name=material, exact=True).check()
        fill_applicant(page, f"翻页{n}", village="大塘村")
        page.get_by_role("button", name="提交受理").click()
        receipt_no_of(page)
    page.goto("/console/records")
    page.get_by_label("事项").select_option(label="农村最低生活保障申请")
    page.get_by_label("村", exact=True).select_option(label="大塘村")
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("main table").first.locator("tbody tr")
    assert rows.count() >= 3 and all("大塘村" in t for t in rows.all_inner_texts())
    browser.check(page, "console-records")
    page.goto(page.url.replace("limit=20", "limit=2"))
    seen = page.locator("main table").first.locator("tbody tr").all_inner_texts()
    assert len(seen) == 2
    page.get_by_role("link", name="下一页").click()
    more = page.locator("main table").first.locator("tbody tr").all_inner_texts()
    assert more and not set(more) & set(seen)
    assert page.get_by_role("link", name="回到第一页").is_visible()


def test_the_workbench_shows_my_post_and_visit_with_who_booked_reminders_and_my_applications(browser, system):
    from datetime import timedelta

    from shared.clock import today_in_china
    from tests.support import QS, login

    today = today_in_china()
    with httpx.Client(base_url=system) as client:
        supervisor = login(client, "qs_supervisor")
        # from tomorrow: today's post may have begun, its slots no longer open for booking (slot_closed)
        sessions = client.post("/sessions/generate", headers=supervisor, json={
            "site_code": "QS-JISHI", "start": (today + timedelta(days=1)).isoformat(),
            "end": (today + timedelta(days=10)).isoformat()}).json()
        cadre = next(s for s in client.get("/staff", headers=supervisor, params={"limit": 500}).json()
                     if s["username"] == "qs_cadre1")
        post = next(s for s in sessions if s["status"] == "scheduled")
        assigned = client.post(f"/sessions/{post['id']}/roster", headers=supervisor, json={"staff_id": cadre["id"]})
        assert assigned.status_code == 200, assigned.text
        slots = client.post(f"/sessions/{post['id']}/slots", headers=supervisor, json={"minutes": 60, "capacity": 2})
        assert slots.status_code == 201, slots.text
        booked = client.post(f"/public/slots/{slots.json()[0]['id']}/bookings",
                             json={"name": "预约人", "phone": "13812345678", "topic": "医保咨询"})
        assert booked.status_code == 201, booked.text
        tomorrow = (today + timedelta(days=1)).isoformat()
        visit = client.post("/visits", headers=supervisor, json={
            "kind": "appointment", "title": "医保政策上门", "village_code": f"{QS}008", "place": "村部",
            "day": tomorrow, "starts": "15:00", "ends": "17:00", "staff_ids": [cadre["id"]]})
        assert visit.status_code == 201, visit.text
        visit_slots = client.post(f"/visits/{visit.json()['id']}/slots", headers=supervisor,
                                  json={"minutes": 60, "capacity": 2})
        assert visit_slots.status_code == 201, visit_slots.text
        assert client.post(f"/public/slots/{visit_slots.json()[0]['id']}/bookings", json={
            "name": "上门人", "phone": "13812340000", "topic": "报销"}).status_code == 201
    page = browser.page()
    sign_in(page, "qs_cadre1")
    page.get_by_role("heading", name="我的赶集日便民服务岗").wait_for()
    day = date_words(post["day"])
    main = page.locator("main").inner_text()
    assert day in main and "已约 1/2 人" in main
    # who booked, in full, for the cadre who serves them; tomorrow's visit among the reminders
    post_card = page.locator(f"#post-{post['id']}").inner_text()
    assert "预约人" in post_card and "13812345678" in post_card and "医保咨询" in post_card and "已预约" in post_card
    visit_card = page.locator(f"#visit-{visit.json()['id']}").inner_text()
    assert "医保政策上门" in visit_card and "上门人" in visit_card and "13812340000" in visit_card
    reminders = page.locator("ul.reminders").inner_text()
    assert "明天 15:00 预约上门" in reminders, reminders
    if post["day"] == today.isoformat():  # a market day today: check in and out, and serve the villager
        assert "今天" in reminders and "值岗" in reminders
        page.get_by_role("button", name="签到").click()
        page.get_by_role("button", name="签退").wait_for()
        page.get_by_role("button", name="预约人 已接待").click()
        page.get_by_role("button", name="预约人 已接待").wait_for(state="detached")
        assert "已接待" in page.locator(f"#post-{post['id']}").inner_text()
    else:  # not the day: the check-in is refused in words
        token = page.locator("input[name=csrf_token]").first.input_value()
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        with httpx.Client(base_url=system, cookies=cookies) as client:
            refused = client.post(f"/console/sessions/{post['id']}/check-in", data={"csrf_token": token})
        assert refused.status_code >= 400 and "签到" in refused.text, refused.text[-500:]
    browser.check(page, "console-workbench-market-day")
    # a clerk's own applications, open ones first by their deadline
    page = browser.page(DESKTOP)
    sign_in(page, "qs_official1")
    open_form(page, "农村最低生活保障申请")
    for material in ("申请书", "身份证", "户口簿", "家庭收入情况说明"):
        page.get_by_role("checkbox", name=material, exact=True).check()
    fill_applicant(page, "工作台甲", village="桃源村")
    page.get_by_role("button", name="提交受理").click()
    receipt_no = receipt_no_of(page)
    page.goto("/console")
    table = page.locator("main table").first.inner_text()
    assert receipt_no in table and "还剩" in table and "已受理" in table
    browser.check(page, "console-workbench-busy")


def date_words(day: str) -> str:
    year, month, dom = (int(part) for part in day.split("-"))
    return f"{year}年{month}月{dom}日"


def test_a_villagers_dispute_is_registered_once(browser):
    page = browser.page()
    sign_in(page)
    page.goto("/console/complaints/new")
    browser.check(page, "console-complaint")
    page.get_by_label("类别").select_option(label="矛盾纠纷（需要调解）")
    page.get_by_label("涉及方面").select_option(label="邻里关系")
    page.get_by_label("村", exact=True).select_option(label="石门村")
    page.get_by_label("反映的事情").fill("邻居建房占用出行道路")
    page.get_by_label("反映人姓名").fill("周反映")
    page.get_by_label("反映人手机号").fill("13812345678")
    page.get_by_role("button", name="登记").click()
    assert re.search(r"\d{9}-TS\d{8}-\d{4,6}", page.get_by_role("status").inner_text())
