"""The township supervisor's screens in a real browser: 一览 changes after an application is completed (the
figures learn by events) and a figure opens the records behind it; the tables sort by a link; the monthly
trend is an SVG drawn on the server; the township report downloads as a workbook that names units by name;
an early warning 苗头性问题 is shown with the complaints behind it and acknowledged; a county admin
chooses a township."""
from __future__ import annotations

import re
import time

import httpx
import pytest
from openpyxl import load_workbook

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_console import sign_in
from tests.support import login, wait_until

pytestmark = pytest.mark.browser
QS = "431099101"
SHIMEN = f"{QS}001"  # 石门村, where qs_agent1's station is
HOUSING = {"item_code": "SP-008", "channel": "station",
           "applicant": {"name": "周建房", "phone": "13212340021", "id_card": "430124197506150021",
                         "village_code": SHIMEN},
           "materials_provided": ["农村宅基地和建房(规划许可)申请表", "身份证", "户口簿", "村民小组会议记录"]}
CODE = re.compile(r"^(ST)?\d{9,12}$|^\d+$")  # a station, village or township code, or a staff id


def completed_on_overview(page) -> int:
    return int(page.locator("#fig-completed").inner_text())


def file_and_complete(system: str) -> str:
    """qs_agent1 files a housing application at the station; the supervisor accepts, approves and
    completes it (the item's default workflow: one township step)."""
    with httpx.Client(base_url=system, timeout=30) as client:
        agent, supervisor = login(client, "qs_agent1"), login(client, "qs_supervisor")
        filed = client.post("/applications", json=HOUSING, headers=agent)
        assert filed.status_code == 201, filed.text
        receipt = filed.json()["receipt_no"]

        def act(action: str) -> bool:
            response = client.post(f"/applications/{receipt}/actions", json={"action": action}, headers=supervisor)
            assert response.status_code in (200, 404), response.text  # 404: approvals has not heard of it yet
            return response.status_code == 200

        wait_until(lambda: act("accept"), 20, "approvals to open the case")
        assert act("approve") and act("complete")
    return receipt


def test_the_overview_follows_a_completion_and_the_report_downloads_with_names(browser, system, tmp_path):
    page = browser.page()
    sign_in(page, "qs_supervisor")
    page.goto("/console/overview")
    page.get_by_role("heading", name="一览：青石镇").wait_for()
    assert "按期内受理的办件统计" in page.locator("#basis-note").inner_text()  # the cohort basis, said
    browser.check(page, "oversight-overview")
    before = completed_on_overview(page)

    receipt = file_and_complete(system)
    deadline = time.monotonic() + 30
    while completed_on_overview(page) < before + 1:  # evaluation learns of the completion by its event
        assert time.monotonic() < deadline, "the overview never showed the completion"
        time.sleep(0.5)
        page.reload()
    browser.check(page, "oversight-overview-figures")
    assert "石门村农事村办服务站" in page.locator("#stations-table").inner_text()
    assert "石门村" in page.locator("#villages-table").inner_text()

    # the chart: a bar of each kind and a label for every month of the period, this month's bars as its figures
    months = page.locator("details table tbody tr")
    assert page.locator("svg.chart rect.bar-received").count() == months.count() >= 1
    assert page.locator("svg.chart rect.bar-completed").count() == months.count()
    this_month = page.locator("svg.chart rect.bar-completed").last
    assert int(this_month.get_attribute("data-value")) == int(months.last.locator("td").nth(2).text_content()) >= 1
    assert float(this_month.get_attribute("height")) > 0
    assert page.locator("svg.chart circle.rate-point").count() >= 1
    assert " style=" not in page.request.get(page.url).text()  # the CSP allows no style attribute

    # sorting by a link (works without scripts): largest first, then the other way round; on a phone the
    # table's head is folded away, so the links stand above it
    page.get_by_role("navigation", name="各服务站排序").get_by_role("link", name="受理").click()
    assert "sort=-received" in page.url
    stations = page.locator("#stations-table")
    assert stations.locator("th[aria-sort]").get_attribute("aria-sort") == "descending"
    counts = [int(x) for x in stations.locator("tbody td:nth-child(2)").all_text_contents()]
    assert counts == sorted(counts, reverse=True)
    page.set_viewport_size(DESKTOP)
    stations.locator("thead").get_by_role("link", name=re.compile("受理")).click()
    assert "sort=received" in page.url and "sort=-" not in page.url
    assert stations.locator("th[aria-sort]").get_attribute("aria-sort") == "ascending"
    page.set_viewport_size(PHONE)

    # a figure opens the records behind it: the completed application is there, and opens
    page.locator("#fig-completed").click()
    page.get_by_role("heading", name=re.compile("青石镇：本期受理、已办结的申请")).wait_for()
    while not page.get_by_role("link", name=receipt).count() and page.get_by_role("link", name="下一页").count():
        page.get_by_role("link", name="下一页").click()
    assert page.get_by_role("link", name=receipt).count() == 1
    browser.check(page, "oversight-figure-records")
    page.get_by_role("link", name=receipt).click()
    page.wait_for_url(re.compile(receipt))
    assert "已办结" in page.locator("main").inner_text()

    # 考评: the report to read and to download
    page.goto("/console/rankings")
    page.get_by_role("heading", name="考评：青石镇").wait_for()
    summary = page.locator(".report-summary").inner_text()
    assert summary.startswith("今年以来，全镇各服务站共开展六大服务活动") and "已办结" in summary
    browser.check(page, "oversight-rankings")
    link = page.get_by_role("link", name="工作簿（Excel）")
    assert link.get_attribute("download") is not None
    with page.expect_download() as started:
        link.click()
    download = started.value
    name = download.suggested_filename
    assert name.startswith("青石镇考评报告工作簿") and name.endswith(".xlsx"), name
    saved = tmp_path / "report.xlsx"
    download.save_as(saved)
    book = load_workbook(saved)
    assert book["汇总"]["A2"].value == summary
    stations = [row[0] for row in book["服务站"].iter_rows(min_row=2, values_only=True)]
    villages = [row[0] for row in book["行政村"].iter_rows(min_row=2, values_only=True)]
    staff = [row[0] for row in book["工作人员"].iter_rows(min_row=2, values_only=True)]
    assert "石门村农事村办服务站" in stations and "石门村" in villages and "代办员" in staff
    assert not [name for name in stations + villages + staff if CODE.match(str(name))], "codes instead of names"
    assert book["乡镇"]["A2"].value == "青石镇"

    with httpx.Client(base_url=system, cookies={c["name"]: c["value"] for c in page.context.cookies()}) as client:
        for fmt, media in (("csv", "text/csv"), ("png", "image/png")):
            href = page.get_by_role("link", name=re.compile({"csv": "CSV", "png": "趋势图"}[fmt])).get_attribute("href")
            response = client.get(href)
            assert response.status_code == 200 and response.headers["content-type"].startswith(media)
            assert "filename*=UTF-8''" in response.headers["content-disposition"]
        table = client.get(page.get_by_role("link", name=re.compile("CSV")).get_attribute("href")).content
        assert table.startswith("\ufeff".encode())  # UTF-8 with a BOM: Excel on Windows reads it as such
        lines = table.decode("utf-8-sig").splitlines()
        assert lines[0].startswith("层级,单位,受理数,办结数") and lines[1].startswith("乡镇,青石镇,")
        assert "石门村" in table.decode("utf-8-sig") and "township" not in table.decode("utf-8-sig")


def test_an_early_warning_shows_its_complaints_and_is_acknowledged(browser, system):
    receipts = []
    with httpx.Client(base_url=system, timeout=30) as client:
        agent = login(client, "qs_agent1")
        for n in range(3):  # three of a kind in one village within the week: a burst
            body = {"kind": "dispute", "network": "mediation", "category": "roads", "channel": "station",
                    "village_code": f"{QS}007", "description": f"村道塌方第{n + 1}处，车辆无法通行",
                    "complainant": {"name": f"枫树村民{n}", "phone": f"1391234560{n}"}}
            response = wait_until(lambda b=body: (r := client.post("/complaints", json=b, headers=agent))
                                  .status_code == 201 and r, 15, "complaints knows the township")
            receipts.append(response.json()["complaint"]["receipt_no"])
    page = browser.page()
    sign_in(page, "qs_supervisor")
    page.goto("/console/supervision")
    page.get_by_role("heading", name="督办和责任追究").wait_for()
    warning = page.locator("section.alert-card").filter(has_text=receipts[-1])
    deadline = time.monotonic() + 30
    while not warning.count():
        assert time.monotonic() < deadline, "no early warning for the burst"
        time.sleep(0.5)
        page.reload()
    text = warning.inner_text()
    assert "枫树村" in text and "道路交通" in text and all(r in text for r in receipts) and "待确认" in text
    assert QS + "007" not in text  # the village by name
    browser.check(page, "oversight-supervision")
    warning.get_by_label("已经采取的措施").fill("已安排交通站现场查看并设置警示")
    warning.get_by_role("button", name="确认预警").click()
    page.get_by_role("status").filter(has_text="已确认这条苗头性问题预警").wait_for()
    acknowledged = page.locator("section.alert-card").filter(has_text=receipts[-1]).inner_text()
    assert "已确认" in acknowledged and "便民服务中心主任" in acknowledged and "设置警示" in acknowledged
    assert not page.locator("section.alert-card").filter(has_text=receipts[-1]).get_by_role("button").count()


def test_a_county_admin_chooses_a_township(browser):
    page = browser.page()
    sign_in(page, "admin")
    for path, heading in (("/console/overview", "一览"), ("/console/supervision", "督办和责任追究"),
                          ("/console/rankings", "考评")):
        page.goto(path)
        assert "请先选择要查看的乡镇" in page.locator("main").inner_text()
        page.get_by_label("乡镇").select_option(label="青石镇")
        page.get_by_role("button", name="查看").first.click()
        page.wait_for_url(re.compile(rf"township={QS}"))
        page.get_by_role("heading", name=re.compile(heading)).first.wait_for()
    browser.check(page, "oversight-rankings-county")
