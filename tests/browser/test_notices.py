"""消息 in the console, in a real browser: a complaint assigned to a cadre reaches their notices with the
unread count; opening it marks it read and goes to the complaint; the rest can be marked read at once."""
from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.browser.test_console import sign_in
from tests.support import login

pytestmark = pytest.mark.browser


def test_a_cadre_finds_an_assigned_complaint_in_their_notices_and_opens_it(browser, system):
    with httpx.Client(base_url=system) as client:
        boss = login(client, "qs_supervisor")
        cadre2 = next(s for s in client.get("/staff", headers=boss).json() if s["username"] == "qs_cadre2")
        registered = client.post("/complaints", headers=boss, json={
            "kind": "suggestion", "network": "services", "category": "roads", "channel": "hotline",
            "village_code": "431099101003", "description": "村口路灯坏了半个月",
            "complainant": {"name": "孙路灯", "phone": "13955556666"}})
        assert registered.status_code == 201, registered.text
        complaint = registered.json()["complaint"]
        assigned = client.post(f"/complaints/{complaint['id']}/actions", headers=boss,
                               json={"action": "assign", "staff_id": cadre2["id"]})
        assert assigned.status_code == 200, assigned.text
    receipt = complaint["receipt_no"]

    cadre = browser.page()
    sign_in(cadre, "qs_cadre2")
    deadline = time.monotonic() + 30
    while True:  # the notice is made when notifications hears of the assignment
        cadre.goto("/console/notices")
        if receipt in cadre.content() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    notice = cadre.get_by_role("listitem").filter(has_text=receipt)
    cadre.goto("/console")  # the workbench says how many are unread and the newest of them
    assert re.search(r"消息：\d+ 条未读", cadre.locator("main").inner_text()) and receipt in cadre.content()
    cadre.goto("/console/notices")
    assert "新诉求" in notice.inner_text() and "未读" in notice.inner_text()
    assert re.search(r"未读 \d+ 条", cadre.get_by_role("status").inner_text())
    browser.check(cadre, "console-notices")
    notice.get_by_role("button", name="查看").click()
    cadre.wait_for_url(re.compile(r"/console/complaints/"))
    cadre.goto("/console/notices")
    assert "未读" not in cadre.get_by_role("listitem").filter(has_text=receipt).inner_text()

    cadre.goto("/console/notices?unread=true")
    assert receipt not in cadre.content()
    if cadre.get_by_role("button", name="全部标为已读").count():
        cadre.get_by_role("button", name="全部标为已读").click()
    assert "没有未读消息" in cadre.get_by_role("status").inner_text()
