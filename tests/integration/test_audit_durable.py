"""No audit entry lost: the gateway (its own process) answers requests while the broker is away, and their
entries reach the directory's audit log once the broker is back — also when the gateway was killed with
SIGKILL meanwhile and started again. The broker goes away as it would on the network: the gateway reaches
RabbitMQ through a link the test cuts (every connection closed, new ones refused) and restores."""
from __future__ import annotations

import contextlib
import signal
import socket
import uuid

import eventlet
import httpx
import pytest
from nameko.runners import ServiceRunner
from sqlalchemy import create_engine, text

from cunban.registry import nameko_config
from services.directory.service import DirectoryService
from shared.migrate import upgrade
from shared.settings import Settings
from tests.support import Process, free_port, wait_healthy, wait_until

pytestmark = pytest.mark.integration


class BrokerLink:
    """A TCP relay to RabbitMQ on a port of its own: `cut()` closes every connection through it and refuses
    new ones; `restore()` listens again."""

    def __init__(self, host: str, port: int = 5672):
        self.target = (host, port)
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        self._listener = eventlet.listen(("127.0.0.1", self.port))
        self._accepting = eventlet.spawn(self._accept, self._listener)

    def cut(self) -> None:
        self._accepting.kill()
        assert self._listener is not None
        self._listener.close()
        for sock in self._sockets:  # the pumps see the end and close them
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._sockets = []

    def _accept(self, listener: socket.socket) -> None:
        while True:
            client, _ = listener.accept()
            server = eventlet.connect(self.target)
            self._sockets += [client, server]
            eventlet.spawn(self._pump, client, server)
            eventlet.spawn(self._pump, server, client)

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except (OSError, EOFError):
            pass
        finally:  # the other direction ends too, and closes the other socket
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_RDWR)
            source.close()


@pytest.fixture
def directory(servers, amqp_uri, pg_database):
    """The directory, consuming the gateway's audit events from the broker (reached directly)."""
    url = pg_database("directory")
    upgrade("directory", url)
    runner = ServiceRunner({**nameko_config(Settings(amqp_uri=amqp_uri), []), "DB_URLS": {"directory": url}})
    runner.add_service(DirectoryService)
    runner.start()
    engine = create_engine(url)
    yield engine
    engine.dispose()
    runner.stop()


@pytest.fixture
def gateway(servers, amqp_uri, directory, tmp_path):
    """Starts the gateway as its own process, its broker behind a link the test cuts; the same spool file
    at every start (a volume that outlives the process)."""
    link = BrokerLink(servers[0])
    port = free_port()
    linked = amqp_uri.replace(f"@{servers[0]}:5672/", f"@127.0.0.1:{link.port}/")
    env = {"CUNBAN_AMQP_URI": linked, "CUNBAN_HTTP_PORT": str(port), "CUNBAN_DATA_DIR": str(tmp_path),
           "CUNBAN_AUDIT_SPOOL": str(tmp_path / "spool" / "audit.jsonl")}
    started: list[Process] = []

    def start() -> Process:
        process = Process(["gateway"], env, tmp_path / f"gateway.{len(started)}.log")
        started.append(process)
        wait_healthy(f"http://127.0.0.1:{port}", process)
        return process

    yield start, link, f"http://127.0.0.1:{port}"
    for process in started:
        process.stop()


def entries_of(engine, correlation_ids: list[str]) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT correlation_id, outcome FROM audit_log WHERE correlation_id = ANY(:ids)"),
                            {"ids": correlation_ids}).all()
    return {row.correlation_id: row.outcome for row in rows}


def answered_while_the_broker_is_away(base: str) -> list[str]:
    """Sign-ins the gateway answers (503: it cannot reach the directory) with the broker gone: writes it
    acknowledged with an answer, each to be in the audit log."""
    sent = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(5):
            correlation = uuid.uuid4().hex
            response = client.post("/auth/login", json={"username": "lk_agent1", "password": "wrong-password"},
                                   headers={"X-Correlation-ID": correlation})
            assert response.status_code == 503, response.text
            sent.append(correlation)
    return sent


def test_entries_of_requests_answered_while_the_broker_was_away_arrive_once_it_is_back(gateway, directory):
    start, link, base = gateway
    process = start()
    link.cut()
    sent = answered_while_the_broker_is_away(base)
    assert entries_of(directory, sent) == {}
    link.restore()
    arrived = wait_until(lambda: len(found := entries_of(directory, sent)) == len(sent) and found, 60,
                         "the spooled entries to reach the audit log", process)
    assert set(arrived.values()) == {503}


def test_entries_spooled_by_a_gateway_killed_before_sending_them_are_sent_by_the_next(gateway, directory, tmp_path):
    start, link, base = gateway
    first = start()
    link.cut()
    sent = answered_while_the_broker_is_away(base)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)
    assert entries_of(directory, sent) == {}
    link.restore()
    second = start()
    arrived = wait_until(lambda: len(found := entries_of(directory, sent)) == len(sent) and found, 60,
                         "the entries the killed gateway spooled to reach the audit log", second)
    assert set(arrived.values()) == {503}
    with directory.connect() as conn:  # each entry once, however often it was sent
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE correlation_id = ANY(:ids)"),
                            {"ids": sent}).scalar_one() == len(sent)
