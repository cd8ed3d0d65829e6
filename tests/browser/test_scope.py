"""Each role sees only its scope: staff of 青石镇, signed in as each of its roles, follow every console link
they are offered (the workbench, the header, lists, records, filters) and never see a name or a number of
柳溪乡 — whose applications and complaints exist in the same system while they look. Across counties the
same: 清水县's county admin never sees anything of 祁阳县 (its township 黎家坪镇)."""
from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser.conftest import DESKTOP
from tests.browser.test_console import sign_in
from tests.support import APPLICANT, FILING, login

pytestmark = pytest.mark.browser
LX = "431099102"
# 柳溪乡 by its names (the township, and its villages 柳溪村 上湾村 茶园村, their stations and sites) and its
# codes (every village, station and receipt number of the township starts with its code)
LX_MARKS = re.compile(rf"柳溪|上湾村|茶园村|{LX}|LX-")
QS_ROLES = ("qs_agent1", "qs_official1", "qs_committee1", "qs_cadre1", "qs_nongji", "qs_supervisor")
PAGES_PER_SHAPE = 3  # /console/applications/<receipt> for three receipts is enough of that page
MOST_PAGES = 120


def _lx_records(system: str) -> None:
    """An application and a complaint in 柳溪乡, with its own villager's names."""
    with httpx.Client(base_url=system) as client:
        lx = login(client, "lx_agent1")
        filed = client.post("/applications", headers={**lx, "Idempotency-Key": "scope-lx-application"}, json={
            **FILING, "applicant": {**APPLICANT, "name": "柳溪甲", "village_code": f"{LX}001"}})
        assert filed.status_code == 201, filed.text
        complaint = client.post("/complaints", headers=lx, json={
            "kind": "dispute", "network": "mediation", "category": "neighbours", "channel": "station",
            "village_code": f"{LX}002", "description": "上湾村两户为宅基地边界起争执", "complainant": {
                "name": "柳溪乙", "phone": "13700000001"}})
        assert complaint.status_code == 201, complaint.text


LJP = "431121101"  # 黎家坪镇 of 祁阳县, the installation's other county
QY_MARKS = re.compile(rf"祁阳|黎家坪|石鼓村|双桥村|{LJP}|4311210|LJP-")


def _ljp_records(system: str) -> None:
    """An application and a complaint in 黎家坪镇 of the other county."""
    with httpx.Client(base_url=system) as client:
        ljp = login(client, "ljp_agent1")
        filed = client.post("/applications", headers={**ljp, "Idempotency-Key": "scope-ljp-application"}, json={
            **FILING, "applicant": {**APPLICANT, "name": "祁阳甲", "village_code": f"{LJP}001"}})
        assert filed.status_code == 201, filed.text
        complaint = client.post("/complaints", headers=ljp, json={
            "kind": "dispute", "network": "mediation", "category": "neighbours", "channel": "station",
            "village_code": f"{LJP}002", "description": "石鼓村两户为宅基地边界起争执", "complainant": {
                "name": "祁阳乙", "phone": "13700000002"}})
        assert complaint.status_code == 201, complaint.text


def _shape(path: str) -> str:
    return re.sub(r"\d+", "0", path)


def _crawl(page, marks: re.Pattern = LX_MARKS) -> list[str]:
    """Visit every console page reachable by links from the workbench (downloads and sign-out aside)."""
    queue, seen, shapes = ["/console"], set(), Counter()
    visited = []
    while queue and len(visited) < MOST_PAGES:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        shape = _shape(urlsplit(url).path)
        if shapes[shape] >= PAGES_PER_SHAPE:
            continue
        shapes[shape] += 1
        response = page.goto(url)
        assert response is not None and response.status < 500, (url, response and response.status)
        text = page.content()
        leak = marks.search(text)
        around = text[max(0, leak.start() - 200):leak.end() + 200] if leak else ""
        assert leak is None, f"{url} shows {leak.group(0)!r} of the other tenant: …{around}…"
        visited.append(url)
        for href in page.eval_on_selector_all("a[href]:not([download])", "els => els.map(e => e.getAttribute('href'))"):
            target = href.split("#", 1)[0]
            if target.startswith("/console") and not target.startswith("/console/logout") and target not in seen:
                queue.append(target)
    return visited


def test_qinshi_staff_never_see_liuxi_on_any_console_page(browser, system):
    _lx_records(system)
    page = browser.page(DESKTOP)  # the marks would show: 柳溪乡's own clerk sees them on their records page
    sign_in(page, "lx_agent1")
    page.goto("/console/records")
    assert LX_MARKS.search(page.content())
    page.context.close()
    for username in QS_ROLES:
        page = browser.page(DESKTOP)
        sign_in(page, username)
        visited = _crawl(page)
        assert len(visited) >= 3, (username, visited)
        page.context.close()


def test_a_county_admin_never_sees_another_county_on_any_console_page(browser, system):
    _ljp_records(system)
    page = browser.page(DESKTOP)  # 祁阳县's own county admin sees them
    sign_in(page, "qy_admin")
    page.goto(f"/console/admin/townships/{LJP}/villages")
    assert QY_MARKS.search(page.content())
    page.context.close()
    page = browser.page(DESKTOP)
    sign_in(page, "admin")
    visited = _crawl(page, QY_MARKS)
    assert len(visited) >= 10, visited
    for url in (f"/console/admin/townships/{LJP}", f"/console/admin/townships/{LJP}/staff",
                f"/console/overview?township={LJP}", f"/console/market?township={LJP}",
                f"/console/visits?township={LJP}", f"/console/admin/catalogue/{LJP}/DB-001"):
        response = page.goto(url)
        main = page.locator("main").inner_text()
        assert response is not None and response.status == 403, (url, response and response.status, main)
        assert "这不在您负责的县（市、区）范围内" in main, (url, main)
        assert not QY_MARKS.search(page.content()), url
    assert page.goto("/console/admin/health").status == 403  # 系统状态: the system administrator's
    page.context.close()


# every console address that names a township, in the path or as ?township=, with 柳溪乡 in it
ANOTHER_TOWNSHIP = (
    f"/console/overview?township={LX}", f"/console/overview/records?metric=received&level=township&unit={LX}"
    f"&township={LX}", f"/console/overview/records?metric=received&level=township&unit={LX}",
    f"/console/overview/records?metric=received&level=village&unit={LX}001",
    f"/console/supervision?township={LX}", f"/console/rankings?township={LX}",
    f"/console/rankings/report.csv?township={LX}", f"/console/market?township={LX}",
    f"/console/market/sessions?township={LX}", f"/console/market/sessions/2026-12-05/{'0' * 32}?township={LX}",
    f"/console/visits?township={LX}", f"/console/visits/new?township={LX}",
    f"/console/visits/series/new?township={LX}", f"/console/visits/campaigns?township={LX}",
    f"/console/admin/townships/{LX}", f"/console/admin/townships/{LX}/villages",
    f"/console/admin/townships/{LX}/stations", f"/console/admin/townships/{LX}/staff",
    f"/console/admin/townships/{LX}/catalogue", f"/console/admin/catalogue/{LX}/DB-001",
    f"/console/admin/catalogue/{LX}/DB-001/workflow",
)


def test_an_address_naming_another_township_is_refused_as_out_of_scope(browser, system):
    """青石镇's supervisor who edits an address to 柳溪乡 is told it is not theirs: never 柳溪乡's page, never
    their own township's instead, never "no such township"."""
    page = browser.page(DESKTOP)
    sign_in(page, "qs_supervisor")
    for url in ANOTHER_TOWNSHIP:
        response = page.goto(url)
        main = page.locator("main").inner_text()
        assert response is not None and response.status == 403, (url, response and response.status, main)
        assert "这不在您负责的乡镇范围内" in main, (url, main)
        assert not LX_MARKS.search(page.content()) and "青石镇" not in main, (url, main)
    browser.check(page, "scope-out-of-scope")
    page.context.close()
    page = browser.page(DESKTOP)  # a form posted with another township in it: refused the same way
    sign_in(page, "qs_cadre1")
    page.goto("/console/market")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = page.request.post("/console/market/sessions/generate", form={
        "csrf_token": token, "township": LX, "site_code": "x", "start": "2026-12-01", "end": "2026-12-31"})
    assert refused.status == 403 and "这不在您负责的乡镇范围内" in refused.text()
    page.context.close()
