"""Journeys in a real browser: Debian's chromium, driven by Playwright, against the embedded system.

Every page a journey opens is held to the same rules (`Browser.page` records, `Browser.check` asserts):
no request to any other host, no CSP violation reported by the browser, no serious or critical
accessibility violation (axe-core), and a screenshot at phone and desktop widths kept under
artifacts/screenshots/ (not committed). Without chromium the journeys are skipped, unless the run
requires its servers (CUNBAN_TEST_REQUIRE_SERVERS=1, as scripts/test sets): then they fail.
"""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support import embedded_system

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("CUNBAN_TEST_ARTIFACTS", ROOT / "artifacts")) / "screenshots"
CHROMIUM = os.environ.get("CUNBAN_TEST_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 360, "height": 800}
DESKTOP = {"width": 1280, "height": 900}
# flags that keep a headless chromium from reaching for Google's hosts on a closed network (FACTS.md)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
CSP_REPORT = re.compile(r"Content Security Policy|Refused to (load|apply|execute|frame|connect)", re.I)


@dataclass
class Seen:
    """What the browser did while a journey ran: requests to other hosts, CSP reports, page errors."""

    elsewhere: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Browser:
    def __init__(self, browser, base: str):
        self.browser, self.base = browser, base
        self.host = urlsplit(base).netloc
        self.seen = Seen()
        self.scripted: dict[int, bool] = {}  # id(page) → whether it runs scripts

    def page(self, viewport: dict[str, int] = PHONE, javascript: bool = True):
        """A fresh page (its own cookies) at `viewport`, recording what it loads and what it is refused."""
        context = self.browser.new_context(viewport=viewport, java_script_enabled=javascript, locale="zh-CN",
                                           timezone_id="Asia/Shanghai", base_url=self.base)
        context.set_default_timeout(15_000)
        page = context.new_page()
        self.scripted[id(page)] = javascript

        def on_request(request) -> None:
            parts = urlsplit(request.url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != self.host:
                self.seen.elsewhere.append(request.url)

        page.on("request", on_request)
        page.on("console", lambda message: CSP_REPORT.search(message.text) and self.seen.csp.append(message.text))
        page.on("pageerror", lambda error: self.seen.errors.append(str(error)))
        return page

    def check(self, page, name: str, accessibility: bool = True) -> None:
        """The page as it stands: accessible (axe-core: nothing serious or critical; axe is a script, so a
        page opened without scripts is checked in its scripted twin), nothing loaded from elsewhere, no
        CSP violation; screenshots at phone and desktop widths."""
        from axe_playwright_python.sync_playwright import Axe

        if accessibility and self.scripted[id(page)]:
            results = Axe().run(page)
            serious = [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
                       for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
            assert not serious, f"{name}: accessibility violations: {serious}"
        assert not self.seen.elsewhere, f"{name}: requests to other hosts: {self.seen.elsewhere}"
        assert not self.seen.csp, f"{name}: CSP violations: {self.seen.csp}"
        assert not self.seen.errors, f"{name}: script errors: {self.seen.errors}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        size = page.viewport_size
        for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(viewport)
            page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
        page.set_viewport_size(size)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        if os.environ.get("CUNBAN_TEST_REQUIRE_SERVERS") == "1":
            pytest.fail(f"{CHROMIUM} is missing: scripts/test installs it (deploy/scripts/local-servers.sh)")
        pytest.skip(f"{CHROMIUM} is missing (Debian: apt-get install chromium fonts-wqy-microhei)")
    return CHROMIUM


@pytest.fixture(scope="session")
def system(tmp_path_factory) -> Iterator[str]:
    """One embedded system with the demo county for all journeys (each journey uses its own records)."""
    with embedded_system(tmp_path_factory.mktemp("browser")) as (base, _process):
        yield base


@pytest.fixture(scope="session")
def chromium(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium, system) -> Iterator[Browser]:
    """Fresh records of what the browser did, for one journey."""
    yield Browser(chromium, system)
