"""What a page costs a villager's phone on a weak link, and the gateway to make it: for each main page,
the bytes of its first load as they travel (HTML + the stylesheet, scripts and images it names, gzipped
as served; no fonts: pages use the phone's own) and the server's time to answer (median and p95 of
sequential requests, from the client, on this machine).

Usage: .venv/bin/python bench/pages.py [requests per page]   (default 30)
Starts `cunban up` (SQLite, in-process broker, demo county) in a temporary directory; files one
application to have a receipt to show. Issue 20 budget: a public page's first load under 100 KB.
"""
from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support import FILING, embedded_system, login  # noqa: E402

BUDGET = 100 * 1024
ASSET = re.compile(r'<(?:link[^>]+href|script[^>]+src|img[^>]+src)="(/[^"]+)"')


def first_load(client: httpx.Client, path: str) -> tuple[int, int, int]:
    """(status, bytes on the wire for the page and what it names, number of files)."""
    page = client.get(path)
    total, files = page.num_bytes_downloaded, 1
    for asset in sorted(set(ASSET.findall(page.text))):
        total += client.get(asset).num_bytes_downloaded
        files += 1
    return page.status_code, total, files


def sign_in(client: httpx.Client) -> None:
    """The clerk's sign-in form, as a browser posts it (its CSRF token, then the session cookie)."""
    form = client.get("/console/login").text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form).group(1)
    client.post("/console/login", data={"csrf_token": token, "username": "qs_agent1",
                                        "password": "cunban-demo-2026", "next": "/console"})
    assert "cunban_session" in client.cookies, "the sign-in did not take"


def server_times(client: httpx.Client, path: str, n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    with tempfile.TemporaryDirectory() as data, embedded_system(Path(data)) as (base, _), \
            httpx.Client(base_url=base, timeout=30, headers={"Accept-Encoding": "gzip"}) as client:
        agent = login(client, "qs_agent1")
        receipt = client.post("/applications", json=FILING, headers=agent).json()["receipt_no"]
        public = ["/", "/guide", "/guide/431099101", "/guide/431099101/DB-001", "/progress", f"/q/{receipt}",
                  "/market", "/market/431099101", "/rate", "/complain"]
        time.sleep(10)  # the system's start-up work (the directory announcing the demo county) settles first
        rows = []
        for path in public + ["/console/login"]:
            status, size, files = first_load(client, path)
            median, p95 = server_times(client, path, n) if status == 200 else (float("nan"),) * 2
            rows.append((path, status, size, files, median, p95))
        sign_in(client)
        console = ["/console", "/console/applications/new", "/console/applications/new?item=DB-001", "/console/records",
                   f"/console/applications/{receipt}", f"/console/applications/{receipt}/receipt"]
        for path in console:
            status, size, files = first_load(client, path)
            median, p95 = server_times(client, path, n) if status == 200 else (float("nan"),) * 2
            rows.append((path, status, size, files, median, p95))
        print(f"{'page (signed in after /console/login)':42} {'status':>6} {'first load':>11} {'files':>5} "
              f"{'p50 ms':>7} {'p95 ms':>7}")
        for path, status, size, files, median, p95 in rows:
            flag = "" if size < BUDGET else "  OVER BUDGET"
            print(f"{path[:42]:42} {status:>6} {size / 1024:>8.1f} KB {files:>5} {median:>7.1f} {p95:>7.1f}{flag}")


if __name__ == "__main__":
    main()
