"""Test set-up shared by every layer. nameko's containers need eventlet's monkey patching before
anything else is imported (FACTS.md: without it container tests hang)."""
import eventlet

eventlet.monkey_patch()

import contextlib  # noqa: E402
import os  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from urllib.parse import quote  # noqa: E402

import httpx  # noqa: E402
import hypothesis  # noqa: E402,F401 - imported now: its plugin imports it at the summary otherwise, and after
import pytest  # noqa: E402          # eventlet green threads have run, CPython 3.11 fails to compile it there
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402


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


@contextlib.contextmanager
def fresh_vhost(servers: tuple[str, str, str]) -> Iterator[tuple[str, str]]:
    """A fresh RabbitMQ virtual host, deleted afterwards; yields (AMQP URI, vhost name)."""
    host, api, _ = servers
    vhost = f"cunban_test_{uuid.uuid4().hex[:10]}"
    url = httpx.URL(api)
    auth = (url.username or "guest", url.password or "guest")
    base = f"{url.scheme}://{url.host}:{url.port}/api"
    with httpx.Client(auth=auth, timeout=10) as client:
        client.put(f"{base}/vhosts/{vhost}").raise_for_status()
        client.put(f"{base}/permissions/{vhost}/{auth[0]}",
                   json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
        yield f"amqp://{auth[0]}:{auth[1]}@{host}:5672/{quote(vhost, safe='')}", vhost
        client.delete(f"{base}/vhosts/{vhost}")


@contextlib.contextmanager
def fresh_databases(servers: tuple[str, str, str]) -> Iterator[Callable[[str], str]]:
    """A factory of fresh PostgreSQL databases (one per service, as deployed), dropped afterwards."""
    admin_url = servers[2]
    prefix = f"cunban_test_{uuid.uuid4().hex[:10]}"
    created: list[str] = []
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)

    def make(service: str) -> str:
        name = f"{prefix}_{service}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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
