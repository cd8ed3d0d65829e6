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
from gateway.audit_spool import AuditSpool
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
AUDIT_RETRY_SECONDS = 2.0  # how soon entries the broker refused are sent again

# seconds the current request has spent waiting for services (the gateway's slow-request log tells it apart)
in_services: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("in_services", default=None)


class ServiceCalls:
    def __init__(self, client: RpcClient, audit_spool: AuditSpool | None = None):
        self.client = client
        self.green = patcher.is_monkey_patched("socket")
        self._publish: EventPublisher | None = None
        self.audit_spool = audit_spool or AuditSpool()
        self._audit_due: asyncio.TimerHandle | None = None
        self._sending: asyncio.Task[None] | None = None

    async def call(self, service: str, method: str, *, caller: Caller, **kwargs: Any) -> Any:
        """Call a service for `caller`, after the access matrix let the caller do "<service>.<method>"
        (the service checks again)."""
        access.authorize(caller, f"{service}.{method}")
        work = functools.partial(self.client.call, service, method, caller=caller, **kwargs)
        started = time.perf_counter()
        try:
            return await self._off_the_loop(work)
        finally:
            if (spent := in_services.get()) is not None:
                spent[0] += time.perf_counter() - started

    def audit(self, entry: AuditEntry) -> None:
        """Keep an audit entry in the spool (on disk before the response it records goes out), then send it
        to the directory with the others of the next AUDIT_WINDOW_SECONDS, as one event: a busy market day
        is not one message per request."""
        self.audit_spool.append(entry)
        self._send_audit_in(AUDIT_WINDOW_SECONDS)

    def resume_audit(self) -> None:
        """At start: send what the spool kept from before (the broker was away, or the gateway was killed)."""
        if self.audit_spool.waiting():
            self._send_audit_in(0)

    def _send_audit_in(self, seconds: float) -> None:
        if self._audit_due is None and self._sending is None:
            self._audit_due = asyncio.get_running_loop().call_later(seconds, self._send_audit)

    def _send_audit(self) -> None:
        self._audit_due = None
        if self._sending is None:
            self._sending = asyncio.get_running_loop().create_task(self._send_spooled())

    async def _send_spooled(self) -> None:
        """Publish the spooled entries, AUDIT_BATCH an event, each confirmed by the broker before the spool
        lets it go; when the broker refuses, try again AUDIT_RETRY_SECONDS later (counted in
        cunban_gateway_events_failed_total)."""
        retry = False
        try:
            while True:
                entries, upto = self.audit_spool.pending(AUDIT_BATCH)
                if not entries:
                    if upto:
                        self.audit_spool.confirm(upto)  # only unreadable lines were left
                    return
                envelope = audit_envelope(entries)
                try:
                    await self._off_the_loop(functools.partial(self.deliver, envelope))
                except Exception:
                    log.warning("could not publish audit entries; they stay spooled",
                                exc_info=True, extra={"event_type": envelope.type})
                    metrics.gateway_events_failed.labels(envelope.type).inc()
                    retry = True
                    return
                self.audit_spool.confirm(upto)
        finally:
            self._sending = None
            if retry:
                self._send_audit_in(AUDIT_RETRY_SECONDS)
            elif self.audit_spool.waiting():
                self._send_audit_in(AUDIT_WINDOW_SECONDS)

    def deliver(self, envelope: EventEnvelope) -> None:
        """Publish an event of the gateway's own, confirmed by the broker (blocking: run off the loop)."""
        if self._publish is None:
            self._publish = EventPublisher(self.client.amqp_uri, envelope.source)
        self._publish(envelope.model_dump(mode="json"))

    async def settle(self) -> None:
        """Send the audit entries still waiting (shutdown, tests); what the broker does not take stays in
        the spool for the next start."""
        if self._audit_due is not None:
            self._audit_due.cancel()
            self._audit_due = None
        if self._sending is not None:
            await asyncio.gather(self._sending, return_exceptions=True)
        if self._audit_due is not None:
            self._audit_due.cancel()
            self._audit_due = None
        if self.audit_spool.waiting():
            self._sending = asyncio.get_running_loop().create_task(self._send_spooled())
            await asyncio.gather(self._sending, return_exceptions=True)
        if self._audit_due is not None:  # refused: the spool keeps them
            self._audit_due.cancel()
            self._audit_due = None

    async def _off_the_loop(self, work: functools.partial[Any]) -> Any:
        if self.green:
            return await _in_green_thread(work)
        return await anyio.to_thread.run_sync(work)

    async def ping_broker(self) -> None:
        await self._off_the_loop(functools.partial(self.client.ping))


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
