"""The Ticker (shared/service.py): nameko's timer that work done in the same process wakes at once, and
that wakes early when its handler says its next work is due sooner than its interval. Run in a real
nameko container (a timer needs no broker)."""
from __future__ import annotations

import time

from nameko.containers import ServiceContainer

from shared import service
from shared.service import ticker, wake
from tests.support import wait_until

WOKEN_BY = "test-ticker"


class Sender:
    """Says its next work is due in a fifth of a second twice, then that nothing is due (None)."""

    name = "ticking"
    ticks: list[float] = []

    @ticker(interval=60, woken_by=WOKEN_BY, eager=True)
    def tick(self) -> float | None:
        Sender.ticks.append(time.monotonic())
        return 0.2 if len(Sender.ticks) < 3 else None


def test_a_ticker_wakes_when_its_handler_says_the_next_work_is_due_and_when_woken():
    Sender.ticks = []
    container = ServiceContainer(Sender, config={})
    container.start()
    try:
        # eager: the first at once; the next two a fifth of a second apart, long before the 60 s interval
        wait_until(lambda: len(Sender.ticks) >= 3, 10, "the ticks the handler asked for")
        assert Sender.ticks[1] - Sender.ticks[0] >= 0.19 and Sender.ticks[2] - Sender.ticks[1] >= 0.19
        time.sleep(0.5)
        assert len(Sender.ticks) == 3  # nothing due: it waits for its interval, or to be woken
        wake(WOKEN_BY)
        wait_until(lambda: len(Sender.ticks) == 4, 10, "the tick woken by work made in the process")
    finally:
        container.stop()


class Failing:
    """Raises at every round: the ticker tries again soon, not at its interval."""

    name = "failing"
    ticks: list[float] = []

    @ticker(interval=60, woken_by="test-failing-ticker", eager=True)
    def tick(self) -> None:
        Failing.ticks.append(time.monotonic())
        raise RuntimeError("the database is away")


def test_a_ticker_whose_round_failed_tries_again_soon(monkeypatch):
    monkeypatch.setattr(service, "AFTER_A_FAILURE_SECONDS", 0.2)
    Failing.ticks = []
    container = ServiceContainer(Failing, config={})
    container.start()
    try:
        wait_until(lambda: len(Failing.ticks) >= 2, 10, "a second round after the failed one")
    finally:
        container.stop()
