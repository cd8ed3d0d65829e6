"""Market-day posts 便民服务岗 in the supervisor's console, in a real browser: the site with its rule in
words and its coming market days; sessions generated for coming weeks and a fair roster with the summary of
who got how many posts, by name; a cadre's leave and the post it leaves to hand over; a swap, and the cadre
on leave refused in words; appointment slots opened; the day declared off with a villager booked, and the
post held anyway; a county admin choosing the township first. The journey plans weeks well ahead of
today, so the other journeys' posts of the next fortnight stay as they are."""
from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from shared.clock import today_in_china
from tests.browser.conftest import DESKTOP
from tests.browser.test_console import sign_in
from tests.support import login, wait_until

pytestmark = pytest.mark.browser
AHEAD, WEEKS = 200, 4  # the period planned: four weeks from 200 days ahead, clear of the visits other journeys plan
COUNT = re.compile(r"(驻村干部甲|驻村干部乙|农技站工作人员) (\d+) 次")


def test_a_supervisor_plans_market_day_posts_rosters_leave_swaps_and_slots(browser):
    start = today_in_china() + timedelta(days=AHEAD)
    end = start + timedelta(weeks=WEEKS)
    page = browser.page()
    sign_in(page, "qs_supervisor")
    page.goto("/console/market")
    page.get_by_role("heading", name="赶集日便民服务岗 · 青石镇").wait_for()
    site = page.locator("#site-QS-JISHI")
    assert site.locator(".rule").inner_text() == "逢一四七（农历）；正月初一至初七休市"
    assert "青石镇老街集市" in site.inner_text() and "07:30–12:00" in site.inner_text()
    assert re.search(r"\d+月\d+日（周.）", site.inner_text())  # its coming market days, as dates with weekdays
    browser.check(page, "market-sites")

    # sessions for four weeks, from AHEAD days ahead
    page.locator("#gen-start").fill(start.isoformat())
    page.locator("#gen-end").fill(end.isoformat())
    page.get_by_role("button", name="生成场次").click()
    page.get_by_role("heading", name="场次和排班 · 青石镇").wait_for()
    notice = page.get_by_role("status").inner_text()
    made = int(re.search(r"共 (\d+) 场", notice).group(1))
    assert made >= 3, notice
    rows = page.locator("table.sessions tbody tr")
    assert rows.count() == made and "还没有排人" in rows.first.inner_text()
    handled = page.locator("table.sessions td[data-label='现场办理']").all_inner_texts()  # said, not a bare —
    assert handled and all(h in ("尚未开始", "不开展") for h in handled), handled
    assert "现场办理：" in page.locator("#handled-hint").inner_text()
    browser.check(page, "market-sessions-generated")
    page.reload()
    assert page.get_by_role("status").count() == 0  # the answer is shown once

    # a fair roster among the two cadres and the department's staff member, two a post
    page.goto("/console/market")
    page.locator("#ros-start").fill(start.isoformat())
    page.locator("#ros-end").fill(end.isoformat())
    for box in page.locator("input[name=cadre_ids]").all():  # other journeys add staff: choose these three
        box.uncheck()
    for name in ("驻村干部甲", "驻村干部乙", "农技站工作人员"):
        page.get_by_role("checkbox", name=re.compile(f"^{name}（")).check()
    page.locator("#ros-per").fill("2")
    page.get_by_role("button", name="自动排班").click()
    page.get_by_role("heading", name="排班结果").wait_for()
    summary = page.get_by_role("status").inner_text()
    counts = {name: int(n) for name, n in COUNT.findall(summary)}
    assert set(counts) == {"驻村干部甲", "驻村干部乙", "农技站工作人员"}, summary
    assert sum(counts.values()) == 2 * made and max(counts.values()) - min(counts.values()) <= 1, summary
    assert f"共 {made} 场，每场排 2 人" in summary
    table = page.locator("table.sessions").inner_text()
    assert "驻村干部甲" in table and "轮换排班" in table and "还没有排人" not in table
    assert not re.search(r"staff|\b\d{1,3}\b 次", table)  # names, not ids
    browser.check(page, "market-roster")

    # 驻村干部甲 takes a day off on one of their posts: the post to hand over is named
    row = page.locator("table.sessions tbody tr", has_text="驻村干部甲").first
    link = row.get_by_role("link").first
    day = re.search(r"/console/market/sessions/(\d{4}-\d{2}-\d{2})/", link.get_attribute("href")).group(1)
    page.goto("/console/market")
    # a leave's days are chosen, never assumed; without the browser's checks every missing field is said at once
    assert page.locator("#leave-first").input_value() == "" and page.locator("#leave-last").input_value() == ""
    leave = page.locator("form[action='/console/market/leave']")
    leave.evaluate("form => form.setAttribute('novalidate', '')")
    leave.get_by_role("button", name="记录请假").click()
    assert page.locator("#leave-first").get_attribute("aria-invalid") == "true"
    said = page.locator("main").inner_text()
    for message in ("请选择请假的人。", "请选择请假开始日期。", "请选择请假结束日期。", "请填写请假原因。"):
        assert message in said, message
    page.get_by_label("请假的人").select_option(label="驻村干部甲")
    page.locator("#leave-first").fill(day)
    page.locator("#leave-last").fill(day)
    page.get_by_label("原因").fill("病假")
    page.get_by_role("button", name="记录请假").click()
    page.get_by_role("heading", name="请假").wait_for()
    effect = page.get_by_role("status").inner_text()
    assert "已记录：驻村干部甲" in effect and "请假（病假）" in effect, effect
    assert "请假期间驻村干部甲还排在 1 场服务岗" in effect and "青石镇老街集市" in effect, effect
    assert "驻村干部甲 轮换排班 请假，请换人" in page.locator("table.sessions").inner_text()
    browser.check(page, "market-leave")

    # the post: 驻村干部甲 handed over to the supervisor, and cannot be put back while on leave
    page.locator("table.sessions tbody tr", has_text="驻村干部甲").first.get_by_role("link").first.click()
    page.get_by_role("heading", name="值岗的人").wait_for()
    page.get_by_label("换下").select_option(label="驻村干部甲")
    page.get_by_label("换上").select_option(label="便民服务中心主任")
    page.locator("#swap-reason").fill("驻村干部甲病假")
    page.get_by_role("button", name="换人").click()
    done = page.get_by_role("status").inner_text()
    assert "已换人：驻村干部甲不再值这一场，由便民服务中心主任接替（驻村干部甲病假）" in done, done
    on_duty = page.locator("ul.roster li strong")
    assert "便民服务中心主任" in on_duty.all_inner_texts() and "驻村干部甲" not in on_duty.all_inner_texts()
    assert "替换驻村干部甲：驻村干部甲病假" in page.locator("ul.roster").inner_text()
    page.get_by_label("安排谁").select_option(label="驻村干部甲")
    page.get_by_role("button", name="加入排班").click()
    assert "这位干部那天请假" in page.get_by_role("alert").inner_text()
    assert re.search(r"/console/market/sessions/[\d-]+/[0-9a-f]{32}$", page.url), page.url  # not …/assign
    assert "驻村干部甲" not in on_duty.all_inner_texts()
    browser.check(page, "market-session-refused")

    # appointment slots: 07:30–12:00 in hours, three places each
    page.locator("#slot-minutes").fill("60")
    page.locator("#slot-capacity").fill("3")
    page.get_by_role("button", name="开放预约").click()
    assert "已开放预约：4 个时段，每个时段可约 3 人" in page.get_by_role("status").inner_text()
    slots = page.locator("ul.slots").inner_text()
    assert "07:30–08:30 已约 0/3 人" in slots and "10:30–11:30" in slots
    assert page.get_by_role("button", name="开放预约").count() == 0
    browser.check(page, "market-session")

    # a villager books; then the county declares the day off: the booked post waits for the supervisor
    session_id = page.url.split("/")[-1]
    with httpx.Client(base_url=browser.base, timeout=30) as client:
        slot = client.get(f"/public/sessions/{session_id}/slots").json()[0]
        booked = client.post(f"/public/slots/{slot['id']}/bookings",
                             json={"name": "赶集预约人", "phone": "13912340000", "topic": "医保报销"})
        assert booked.status_code == 201, booked.text
        admin = login(client, "admin")
        declared = client.put(f"/calendar/days/{day}", headers=admin, json={"kind": "local_day_off", "name": "县庆"})
        assert declared.status_code == 200, declared.text
        try:
            wait_until(lambda: page.reload() and page.get_by_role("button", name="照常开岗").count(), 30,
                       "the post waiting for a decision")
            assert "待决定：县庆，已有群众预约" in page.locator("dl.facts").inner_text()
            bookings = page.locator("main table").inner_text()
            assert "赶集预约人" in bookings and "13912340000" in bookings and "已预约" in bookings
            browser.check(page, "market-session-day-off")
            page.get_by_role("button", name="照常开岗").click()
            assert "这一场照常开岗" in page.get_by_role("status").inner_text()
            assert "照常（县庆，决定照常开岗）" in page.locator("dl.facts").inner_text()
        finally:
            client.delete(f"/calendar/days/{day}", headers=admin)


def test_a_county_admin_chooses_the_township_first(browser):
    page = browser.page(DESKTOP)
    sign_in(page, "admin")
    page.goto("/console/market")
    page.get_by_role("heading", name="赶集日便民服务岗：选择乡镇").wait_for()
    browser.check(page, "market-county-choose")
    page.get_by_role("link", name=re.compile("柳溪乡")).click()
    page.get_by_role("heading", name="赶集日便民服务岗 · 柳溪乡").wait_for()
    assert page.locator("#site-LX-JISHI .rule").inner_text() == "逢二五八（农历）；正月初一至初七休市"
    assert "青石" not in page.locator("main").inner_text()
    page.get_by_role("link", name="查看场次和排班").click()
    page.get_by_role("heading", name="场次和排班 · 柳溪乡").wait_for()
    assert "township=431099102" in page.url
    # the admin plans for the township chosen: its sessions, and a roster of its own cadres
    start = today_in_china() + timedelta(days=AHEAD)
    page.goto("/console/market?township=431099102")
    page.locator("#gen-start").fill(start.isoformat())
    page.locator("#gen-end").fill((start + timedelta(weeks=2)).isoformat())
    page.get_by_role("button", name="生成场次").click()
    page.get_by_role("heading", name="场次和排班 · 柳溪乡").wait_for()
    assert "已生成" in page.get_by_role("status").inner_text() and "township=431099102" in page.url
    page.goto("/console/market?township=431099102")
    page.locator("#ros-start").fill(start.isoformat())
    page.locator("#ros-end").fill((start + timedelta(weeks=2)).isoformat())
    page.get_by_role("button", name="自动排班").click()
    summary = page.get_by_role("status").inner_text()
    assert "各人值岗次数：" in summary and "驻村干部甲" in summary, summary
    assert "柳溪乡场" in page.locator("table.sessions").inner_text()
    browser.check(page, "market-county-sessions")
