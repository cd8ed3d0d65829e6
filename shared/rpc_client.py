"""A small client speaking nameko's RPC wire protocol over kombu, with a pool of connections.

Used by the gateway and the command line. Each pooled channel is used by one caller at a time; every
call has a timeout (nameko's own standalone proxy has none by default). Typed errors raised by a
service come back as the same typed error here.
"""
from __future__ import annotations

import json
import logging
import queue
import time
import uuid
from typing import Any

from kombu import Consumer, Producer, Queue
from nameko.rpc import get_rpc_exchange

import shared.jsoncodec  # noqa: F401  # orjson behind kombu's json (shared/jsoncodec.py)
from shared.broker import CONNECTION_ERRORS, connect
from shared.contracts.caller import Caller
from shared.errors import CunbanError, ServiceUnavailable, from_wire
from shared.observability import metrics

log = logging.getLogger(__name__)



class RemoteFailure(CunbanError):
    """A service failed in a way it did not expect; the gateway answers 500 with the correlation id."""

    code = "remote_failure"
    http_status = 500


class _ReplyChannel:
    """One connection with its own exclusive reply queue."""

    def __init__(self, amqp_uri: str):
        # fail fast: each node of the cluster tried once; the caller (a station, a readiness probe) is told at
        # once and may retry
        self.connection = connect(amqp_uri, connect_timeout=5)
        self.exchange = get_rpc_exchange({})
        self.reply_to = f"rpc.reply-cunban-{uuid.uuid4().hex}"
        channel = self.connection.channel()
        self.producer = Producer(channel, exchange=self.exchange, serializer="json")
        reply_queue = Queue(self.reply_to, exchange=self.exchange, routing_key=self.reply_to,
                            exclusive=True, auto_delete=True)
        self.replies: dict[str, dict[str, Any]] = {}
        self.consumer = Consumer(channel, [reply_queue], callbacks=[self._on_reply], no_ack=True,
                                 accept=["json"])
        self.consumer.consume()

    def _on_reply(self, body: dict[str, Any], message: Any) -> None:
        self.replies[message.properties.get("correlation_id")] = body

    def publish(self, routing_key: str, kwargs: dict[str, Any], headers: dict[str, Any]) -> str:
        correlation = uuid.uuid4().hex
        self.replies.clear()  # late replies to calls that already timed out
        self.producer.publish({"args": [], "kwargs": kwargs}, routing_key=routing_key,
                              reply_to=self.reply_to, correlation_id=correlation, headers=headers,
                              declare=[self.exchange])
        return correlation

    def wait(self, correlation: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while correlation not in self.replies:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.connection.drain_events(timeout=remaining)  # raises TimeoutError (socket.timeout)
        return self.replies.pop(correlation)

    def close(self) -> None:
        try:
            self.connection.release()
        except Exception:  # closing a broken connection must not hide the original failure
            log.debug("closing rpc connection failed", exc_info=True)


class RpcClient:
    def __init__(self, amqp_uri: str, *, timeout: float = 10.0, pool_size: int = 16):
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self._idle: queue.LifoQueue[_ReplyChannel] = queue.LifoQueue()
        self._slots = queue.Queue(maxsize=pool_size)
        for _ in range(pool_size):
            self._slots.put(None)

    def call(self, service: str, method: str, *, caller: Caller, timeout: float | None = None,
             **kwargs: Any) -> Any:
        headers = {
            # a county admin's county travels beside the identity: the previous release's services refuse
            # an identity with a field they do not know (both run side by side during a rolling update)
            "nameko.caller": caller.model_dump_json(exclude={"correlation_id", "scope", "county_code"},
                                                    exclude_none=True),
            **({"nameko.county": caller.county_code} if caller.county_code else {}),
            "nameko.correlation_id": caller.correlation_id or uuid.uuid4().hex,
            "nameko.call_id_stack": [f"gateway.{service}.{method}.{uuid.uuid4().hex[:8]}"],
            # the service keeps it with a write, and answers the same request handed out again with the
            # first answer instead of applying it twice (shared/db.py, UnitOfWork.answered_before)
            "nameko.request_id": uuid.uuid4().hex,
        }
        started = time.perf_counter()
        outcome = "error"
        try:
            reply = self._call(f"{service}.{method}", kwargs, headers, timeout or self.timeout, service)
            error = reply.get("error")
            if error:
                raise _rebuild(error, service, method)
            outcome = "ok"
            return reply.get("result")
        finally:
            metrics.rpc_client_latency.labels(service, outcome).observe(time.perf_counter() - started)

    def _call(self, routing_key: str, kwargs: dict[str, Any], headers: dict[str, Any], timeout: float,
              service: str) -> dict[str, Any]:
        self._slots.get()
        channel: _ReplyChannel | None = None
        try:
            channel, correlation = self._publish(routing_key, kwargs, headers)
            try:
                return channel.wait(correlation, timeout)
            except CONNECTION_ERRORS as exc:
                channel.close()
                channel = None
                if isinstance(exc, TimeoutError):
                    raise ServiceUnavailable(f"{service} did not answer within {timeout:g}s",
                                             code="service_timeout") from None
                # the request may have been handled: never resend it, let the caller decide
                raise ServiceUnavailable(f"lost the broker while waiting for {service}",
                                         code="broker_unavailable") from None
        finally:
            if channel is not None:
                self._idle.put(channel)
            self._slots.put(None)

    def _publish(self, routing_key: str, kwargs: dict[str, Any],
                 headers: dict[str, Any]) -> tuple[_ReplyChannel, str]:
        """Publish on a pooled connection; a connection that died while idle (a broker restart) is
        replaced once, since nothing was sent on it."""
        for attempt in (1, 2):
            try:
                channel = self._idle.get_nowait()
            except queue.Empty:
                channel = self._connect()
            try:
                return channel, channel.publish(routing_key, kwargs, headers)
            except CONNECTION_ERRORS:
                channel.close()
                if attempt == 2:
                    raise ServiceUnavailable("message broker unavailable", code="broker_unavailable") from None
        raise AssertionError("unreachable")

    def _connect(self) -> _ReplyChannel:
        try:
            return _ReplyChannel(self.amqp_uri)
        except CONNECTION_ERRORS:
            raise ServiceUnavailable("message broker unavailable", code="broker_unavailable") from None

    def ping(self) -> None:
        """Raise ServiceUnavailable unless the broker accepts a new connection now."""
        try:
            connect(self.amqp_uri, connect_timeout=3).release()
        except CONNECTION_ERRORS:
            raise ServiceUnavailable("message broker unavailable", code="broker_unavailable") from None

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


def _rebuild(error: dict[str, Any], service: str, method: str) -> CunbanError:
    if str(error.get("exc_path", "")).startswith("shared."):
        return from_wire(error.get("exc_type", ""), error.get("exc_args") or [])
    if error.get("exc_type") == "MethodNotFound":
        return RemoteFailure(f"{service} has no method {method}", code="method_not_found")
    if error.get("exc_type") == "IncorrectSignature":
        return RemoteFailure(f"{service}.{method} was called with the wrong arguments",
                             json.loads(json.dumps(error.get("value"))), code="incorrect_signature")
    return RemoteFailure(f"{service}.{method} failed unexpectedly", {"exc_type": error.get("exc_type")})
