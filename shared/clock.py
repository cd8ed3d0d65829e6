"""The one place the platform reads the wall clock; domain code is handed `now` instead.

Tests of a running system may move its clock forward: with CUNBAN_TEST_CLOCK_FILE set, the file holds the
seconds to add to the real time (a rating invitation due three days after completion, say, is seen
without waiting three days). It is read at most once a second; production settings refuse it."""
from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
TEST_CLOCK_FILE = "CUNBAN_TEST_CLOCK_FILE"

_read_at, _offset = 0.0, timedelta(0)
# set in the environment a test system is started with, never changed while it runs: read once (the clock is
# asked several times for every event, and os.environ costs more than the clock)
_TEST_CLOCK_PATH = os.environ.get(TEST_CLOCK_FILE)
_NO_OFFSET = timedelta(0)


def _test_offset() -> timedelta:
    global _read_at, _offset
    path = _TEST_CLOCK_PATH
    if not path:
        return _NO_OFFSET
    if time.monotonic() - _read_at >= 1.0:
        try:
            with open(path) as f:
                _offset = timedelta(seconds=float(f.read().strip() or 0))
        except (OSError, ValueError):
            _offset = timedelta(0)
        _read_at = time.monotonic()
    return _offset


def utcnow() -> datetime:
    return datetime.now(UTC) + _test_offset() if _TEST_CLOCK_PATH else datetime.now(UTC)


def today_in_china(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(CHINA).date()
