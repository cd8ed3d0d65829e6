"""Helpers for tests that start the system as real processes and talk to it over HTTP."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]


def alert_rule_count() -> int:
    """How many alert rules deploy/prometheus/alerts.yml holds: what a Prometheus given it must load."""
    import yaml

    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text(encoding="utf-8"))
    return sum(len(group["rules"]) for group in rules["groups"])
CUNBAN = [sys.executable, "-m", "cunban.cli"]
DEMO_PASSWORD = "cunban-demo-2026"
# a villager's application to 青石镇 for 农村最低生活保障 (a promised item, 20 working days), filed by proxy
QS = "431099101"
APPLICANT = {"name": "赵六", "phone": "13612345678", "id_card": "430124200102280043", "village_code": f"{QS}004",
             "address": "大塘村三组"}
FILING = {"item_code": "DB-001", "channel": "proxy", "applicant": APPLICANT,
          "materials_provided": ["申请书", "身份证", "户口簿", "家庭收入情况说明"]}
SECRETS = ("赵六", "13612345678", "430124200102280043", "大塘村三组")  # what the public must never see


def database_template(make_database: Callable[[str], str]) -> str:
    """One fresh database per service, as deployed (make_database: the pg_database fixture); returns the
    CUNBAN_DB_URL template that names each by {service}."""
    from cunban.registry import SERVICES

    urls = [make_database(name) for name in SERVICES]
    return urls[0].replace(f"_{next(iter(SERVICES))}", "_{service}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A cunban process with its output in a log file, stopped with SIGTERM (SIGKILL if it hangs)."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path, *, command: list[str] | None = None):
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen((CUNBAN if command is None else command) + args, cwd=ROOT,
                                     env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    @classmethod
    def of(cls, command: list[str], log_path: Path) -> Process:
        """Another program (a Prometheus, say), run and stopped the same way."""
        return cls([], {}, log_path, command=command)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()
        return self.proc.returncode


def wait_until(check: Callable[[], Any], timeout: float, what: str, process: Process | None = None) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            raise AssertionError(f"{what}: process exited early\n{process.log()[-4000:]}")
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # not ready yet: keep the last reason for the failure message
            last = exc
        time.sleep(0.2)
    tail = process.log()[-4000:] if process else ""
    raise AssertionError(f"timed out waiting for {what}: {last!r}\n{tail}")


def wait_healthy(base_url: str, process: Process, timeout: float = 90) -> None:
    wait_until(lambda: httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200, timeout,
               f"{base_url}/healthz", process)


def login(client: httpx.Client, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    response = client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@contextlib.contextmanager
def embedded_system(data_dir: Path, port: int | None = None,
                    env: dict[str, str] | None = None) -> Iterator[tuple[str, Process]]:
    """`cunban up` on SQLite files in data_dir with the in-process broker; yields (base URL, process)."""
    port = port or free_port()
    process = Process(["up", "--port", str(port)],
                      {"CUNBAN_DATA_DIR": str(data_dir), "CUNBAN_SWEEP_SECONDS": "1", **(env or {})},
                      data_dir / f"cunban-{time.monotonic_ns()}.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base, process
    finally:
        process.stop()


def created(response: Any) -> Any:
    """The body of a 201 (for wait_until: a request refused until an event arrives, then accepted)."""
    return response.json() if response.status_code == 201 else None


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


def api_routes(routes: Any) -> Iterator[Any]:
    """Every API route of the gateway, through the routers it includes (FastAPI keeps an included router
    whole, so `app.routes` alone lists none of them)."""
    from fastapi.routing import APIRoute

    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


class StandInCalls:
    """In place of the gateway's ServiceCalls, for a gateway built without services: a subclass says what
    `call` answers; the audit entries the gateway hands over are kept in `audited`."""

    green = False

    def __init__(self) -> None:
        self.audited: list[Any] = []

    async def call(self, service: str, method: str, **kwargs: Any) -> Any:
        raise NotImplementedError

    def audit(self, entry: Any) -> None:
        self.audited.append(entry)

    async def settle(self) -> None:
        pass

    def resume_audit(self) -> None:
        pass
