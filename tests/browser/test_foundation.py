"""What every page stands on: the home page on a phone, the API docs offline, and the staff sign-in with
its session cookie, CSRF token and sign-out — with scripts and without."""
from __future__ import annotations

import httpx
import pytest

from tests.browser.conftest import DESKTOP

pytestmark = pytest.mark.browser
PASSWORD = "cunban-demo-2026"


def test_the_home_page_on_a_phone_leads_to_every_public_service(browser):
    page = browser.page()
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    for name in ("办事指南", "进度查询", "赶集日历", "好差评", "投诉建议"):
        assert page.get_by_role("link", name=name).first.is_visible()
    browser.check(page, "home")


def test_the_api_docs_load_from_the_gateway_itself(browser):
    page = browser.page(DESKTOP)
    page.goto("/docs")
    page.locator(".opblock-summary-path", has_text="/public/applications/{receipt_no}").first.wait_for()
    browser.check(page, "api-docs", accessibility=False)  # Swagger UI's own markup is not ours to fix


@pytest.mark.parametrize("javascript", [True, False], ids=["scripts", "no-scripts"])
def test_a_clerk_signs_in_and_out_and_a_wrong_password_is_said_in_chinese(browser, javascript):
    page = browser.page(javascript=javascript)
    page.goto("/console")
    assert page.url.endswith("/console/login?next=%2Fconsole")
    page.get_by_label("用户名").fill("qs_agent1")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    assert page.get_by_role("alert").inner_text().startswith("用户名或密码不对")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="工作台").wait_for()
    cookie = next(c for c in page.context.cookies() if c["name"] == "cunban_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    browser.check(page, f"console-workbench-{'js' if javascript else 'nojs'}")
    page.get_by_role("button", name="退出").click()
    page.get_by_role("heading", name="工作人员登录").wait_for()
    page.goto("/console")
    assert "/console/login" in page.url  # the session ended at once


def test_a_form_posted_from_elsewhere_is_refused(system):
    with httpx.Client(base_url=system) as client:
        refused = client.post("/console/login", data={"username": "qs_agent1", "password": PASSWORD})
        assert refused.status_code == 403 and "页面已过期" in refused.text
        assert "cunban_session" not in refused.cookies


def test_a_signed_out_session_token_no_longer_works_on_the_api(browser, system):
    page = browser.page()
    page.goto("/console/login")
    page.get_by_label("用户名").fill("qs_agent1")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="工作台").wait_for()
    token = next(c for c in page.context.cookies() if c["name"] == "cunban_session")["value"]
    with httpx.Client(base_url=system) as client:
        assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        page.get_by_role("button", name="退出").click()
        page.get_by_role("heading", name="工作人员登录").wait_for()
        assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
