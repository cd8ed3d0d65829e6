"""The gateway's way to call services from async endpoints without blocking the event loop.

Every endpoint and dependency of the gateway is `async def`: FastAPI runs plain `def` ones in a thread
pool, which the embedded system's eventlet hub cannot host (tests/unit/test_gateway_routes.py checks).

In a deployment the gateway runs plain uvicorn and each call runs in a worker thread. In the embedded
system everything shares one eventlet process (eventlet's asyncio hub drives uvicorn's loop), so each
call runs in a green thread instead; the RpcClient underneath is the same in both.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
from typing import Any

import anyio.to_thread
from eventlet import patcher

from gateway.audit import audit_envelope
from shared.contracts import access
from shared.contracts.caller import Caller
from shared.contracts.directory import AuditEntry
from shared.contracts.envelope import EventEnvelope
from shared.messaging import EventPublisher
from shared.observability import metrics
from shared.rpc_client import RpcClient

log = logging.getLogger(__name__)

AUDIT_WINDOW_SECONDS = 0.1  # how long an audit entry may wait for others to travel with
AUDIT_BATCH = 500  # at most this many entries in one event (AuditEntries takes up to 1,000)

# seconds the current request has spent waiting for services (the gateway's slow-request log tells it apart)
in_services: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("in_services", default=None)


class ServiceCalls:
    def __init__(self, client: RpcClient):
        self.client = client
        self.green = patcher.is_monkey_patched("socket")
        self._publish: EventPublisher | None = None
        self._announcing: set[asyncio.Task[None]] = set()
        self._audit: list[AuditEntry] = []
        self._audit_due: asyncio.TimerHandle | None = None

    async def call(self, service: str, method: str, *, caller: Caller, **kwargs: Any) -> Any:
        """Call a service for `caller`, after the access matrix let the caller do "<service>.<method>"
        (the service checks again)."""
        access.authorize(caller, f"{service}.{method}")
        work = functools.partial(self.client.call, service, method, caller=caller, **kwargs)
        started = time.perf_counter()
        try:
            if self.green:
                return await _in_green_thread(work)
            return await anyio.to_thread.run_sync(work)
        finally:
            if (spent := in_services.get()) is not None:
                spent[0] += time.perf_counter() - started

    def audit(self, entry: AuditEntry) -> None:
        """Send an audit entry to the directory with the others of the next AUDIT_WINDOW_SECONDS, as one
        event: a write is not slowed by its own audit, and a busy market day is not one message per
        request."""
        self._audit.append(entry)
        if self._audit_due is None:
            self._audit_due = asyncio.get_running_loop().call_later(AUDIT_WINDOW_SECONDS, self._send_audit)

    def _send_audit(self) -> None:
        self._audit_due = None
        entries, self._audit = self._audit, []
        for start in range(0, len(entries), AUDIT_BATCH):
            self.announce(audit_envelope(entries[start:start + AUDIT_BATCH]))

    def announce(self, envelope: EventEnvelope) -> None:
        """Publish an event of the gateway's own (an audit entry) without holding up the response; a
        failure is logged and counted (cunban_gateway_events_failed_total)."""
        if self._publish is None:
            self._publish = EventPublisher(self.client.amqp_uri, envelope.source)
        work = functools.partial(self._publish, envelope.model_dump(mode="json"))
        task = asyncio.get_running_loop().create_task(self._announce(work, envelope.type))
        self._announcing.add(task)
        task.add_done_callback(self._announcing.discard)

    async def _announce(self, work: functools.partial[Any], event_type: str) -> None:
        try:
            if self.green:
                await _in_green_thread(work)
            else:
                await anyio.to_thread.run_sync(work)
        except Exception:
            log.exception("could not publish a gateway event", extra={"event_type": event_type})
            metrics.gateway_events_failed.labels(event_type).inc()

    async def settle(self) -> None:
        """Send the audit entries still waiting, and wait for announcements on their way (shutdown, tests)."""
        if self._audit_due is not None:
            self._audit_due.cancel()
        self._send_audit()
        while self._announcing:
            await asyncio.gather(*list(self._announcing), return_exceptions=True)

    async def ping_broker(self) -> None:
        if self.green:
            await _in_green_thread(self.client.ping)
        else:
            await anyio.to_thread.run_sync(self.client.ping)


async def _in_green_thread(work: functools.partial[Any]) -> Any:
    import eventlet

    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def run() -> tuple[bool, Any]:
        # a green thread that ends with an exception has the hub print it as a traceback: a service's refusal
        # (a 404, say) is an answer, handed to the awaiting coroutine, not an error of the process
        try:
            return True, work()
        except BaseException as exc:  # every failure goes to the awaiting coroutine
            return False, exc

    def settle(thread: Any) -> None:
        ok, outcome = thread.wait()
        loop.call_soon_threadsafe(_set_result if ok else _set_exception, future, outcome)

    eventlet.spawn(run).link(settle)
    return await future


def _set_result(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _set_exception(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
