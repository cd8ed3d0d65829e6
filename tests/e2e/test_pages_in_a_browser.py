"""The page journeys of tests/browser, in Debian's chromium. They run in a pytest of their own: the rest of
the suite is patched by eventlet, under which Playwright's driver never exits (tests/conftest.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(1500)
def test_the_page_journeys_pass_in_a_real_browser():
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfEs", "tests/browser"],
                         cwd=ROOT, env={**os.environ, "CUNBAN_TEST_BROWSER": "1"}, capture_output=True, text=True,
                         timeout=1400)
    report = (run.stdout + run.stderr)[-12_000:]
    print(report)
    assert run.returncode == 0, report
