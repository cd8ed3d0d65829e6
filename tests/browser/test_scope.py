"""Each role sees only its scope: staff of 青石镇, signed in as each of its roles, follow every console link
they are offered (the workbench, the header, lists, records, filters) and never see a name or a number of
柳溪乡 — whose applications and complaints exist in the same system while they look."""
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


def _shape(path: str) -> str:
    return re.sub(r"\d+", "0", path)


def _crawl(page) -> list[str]:
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
        leak = LX_MARKS.search(text)
        around = text[max(0, leak.start() - 200):leak.end() + 200] if leak else ""
        assert leak is None, f"{url} shows {leak.group(0)!r} of 柳溪乡: …{around}…"
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
