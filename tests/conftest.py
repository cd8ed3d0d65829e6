"""Test set-up shared by every layer. nameko's containers need eventlet's monkey patching before
anything else is imported (FACTS.md: without it container tests hang). The browser journeys cannot run
patched (Playwright's driver never exits under eventlet), so they run in a pytest of their own, started by
tests/e2e/test_pages_in_a_browser.py with CUNBAN_TEST_BROWSER=1: unpatched, and only tests/browser."""
import os

BROWSER_RUN = os.environ.get("CUNBAN_TEST_BROWSER") == "1"
if not BROWSER_RUN:
    import eventlet

    eventlet.monkey_patch()

from collections.abc import Callable, Iterator  # noqa: E402

import hypothesis  # noqa: E402,F401 - imported now: its plugin imports it at the summary otherwise, and after
import pytest  # noqa: E402          # eventlet green threads have run, CPython 3.11 fails to compile it there

from tests.support import fresh_databases, fresh_vhost  # noqa: E402

# the journeys are collected only by their own unpatched run
collect_ignore_glob = [] if BROWSER_RUN else ["browser/*"]


def _server_settings() -> tuple[str, str, str] | None:
    host = os.environ.get("CUNBAN_TEST_AMQP_HOST")
    api = os.environ.get("CUNBAN_TEST_RABBIT_API")
    pg = os.environ.get("CUNBAN_TEST_PG_URL")
    if host and api and pg:
        return host, api, pg
    return None


@pytest.fixture(scope="session")
def servers() -> tuple[str, str, str]:
    """RabbitMQ and PostgreSQL, as scripts/test provides them. In CI their absence fails the run."""
    found = _server_settings()
    if found is None:
        message = "RabbitMQ/PostgreSQL not configured: run scripts/test"
        if os.environ.get("CUNBAN_TEST_REQUIRE_SERVERS") or os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture
def amqp_uri(servers: tuple[str, str, str]) -> Iterator[str]:
    """A fresh RabbitMQ virtual host per test, deleted afterwards."""
    with fresh_vhost(servers) as (uri, _):
        yield uri


@pytest.fixture
def pg_database(servers: tuple[str, str, str]) -> Iterator[Callable[[str], str]]:
    """A factory of fresh PostgreSQL databases (one per service, as deployed), dropped afterwards."""
    with fresh_databases(servers) as make:
        yield make
