"""What a nameko service needs at its edge: the rpc entrypoint that lets typed errors cross as
expected, and the caller (identity and tenant scope) each RPC must carry."""
from __future__ import annotations

import functools
import inspect
import json
import logging
import math
import sys
import threading
from collections.abc import Callable
from typing import Any

import kombu.serialization
from kombu.entity import TRANSIENT_DELIVERY_MODE
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.exceptions import UnserializableValueError, serialize
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc, RpcConsumer, get_rpc_exchange
from nameko.timer import Timer

from shared.broker import CONNECTION_ERRORS, RPC_DELIVERY_LIMIT, arguments_for, quorum_arguments
from shared.contracts import access
from shared.contracts.caller import Caller
from shared.db import UnitOfWork
from shared.errors import CunbanError, Unauthenticated
from shared.observability import metrics
from shared.pii import PersonalDataVault
from shared.publishing import KeptProducer
from shared.settings import get_settings

log = logging.getLogger(__name__)

CALLER_CONTEXT_KEY = "caller"  # travels as the AMQP header "nameko.caller"
COUNTY_CONTEXT_KEY = "county"  # a county admin's county, the header "nameko.county"


class CarryOnWithoutBroker:
    """For nameko entrypoints: a reply or an acknowledgement the broker cannot take (it went away while the
    work was done) is logged and counted, not fatal — nameko would kill the whole service for it. The work
    is committed; the broker hands the unacknowledged message out again once it is back, and the second
    delivery is recognised (an event by the inbox, a creating request by its Idempotency-Key)."""

    def handle_result(self, message: Any, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> Any:
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)  # type: ignore[misc]
        except CONNECTION_ERRORS:
            service = worker_ctx.container.service_name
            log.warning("lost the broker before %s's result went out; it will be redelivered",
                        worker_ctx.entrypoint.method_name, exc_info=True, extra={"service": service})
            metrics.results_undelivered.labels(service).inc()
            return result, exc_info


class ServiceRpcConsumer(RpcConsumer):
    """nameko's RPC consumer, answering on a kept connection (shared/publishing.py) instead of a `Publisher`
    per reply, and serialising each answer once (nameko's `Responder` serialised it twice: once to check)."""

    def setup(self) -> None:
        super().setup()
        self.queue.queue_arguments = arguments_for(  # replicated (shared/broker.py)
            self.container.config[AMQP_URI_CONFIG_KEY], self.queue, quorum_arguments(RPC_DELIVERY_LIMIT))
        self.replies = KeptProducer(self.container.config[AMQP_URI_CONFIG_KEY])
        self.exchange = get_rpc_exchange(self.container.config)

    def stop(self) -> None:
        super().stop()
        self.replies.close()

    def handle_result(self, message: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
        serializer = kombu.serialization.registry.type_to_name[message.content_type]
        error = serialize(exc_info[1]) if exc_info is not None else None
        try:
            content_type, encoding, body = kombu.serialization.dumps({"result": result, "error": error}, serializer)
        except Exception:  # an answer that cannot be sent is an error the caller is told of, as in nameko
            exc_info, unsendable = sys.exc_info(), UnserializableValueError(result)
            result = None
            content_type, encoding, body = kombu.serialization.dumps(
                {"result": None, "error": serialize(unsendable)}, serializer)
        self.replies.publish(body, exchange=self.exchange, routing_key=message.properties["reply_to"],
                             correlation_id=message.properties.get("correlation_id"), content_type=content_type,
                             content_encoding=encoding, delivery_mode=TRANSIENT_DELIVERY_MODE)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class ServiceRpc(CarryOnWithoutBroker, Rpc):
    """nameko's RPC entrypoint, carrying on when the broker goes away under it."""

    rpc_consumer = ServiceRpcConsumer()


def rpc(method: Callable[..., Any]) -> Callable[..., Any]:
    """nameko's @rpc, guarded by the access matrix, with our typed errors as expected exceptions (logged
    as warnings, not as crashes). Before the method runs, the caller carried by the call is checked
    against the matrix row "<service>.<method>"; a call without a caller, or by a role the row does not
    grant, is refused. (functools.partial would not do: nameko drops decorator keywords when handed the
    function directly.) A call that carries a request id (the gateway's and the command line's all do) is
    applied at most once: see UnitOfWork.answered_before."""
    name = method.__name__

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        self.caller.authorize(f"{self.name}.{name}")
        uow = getattr(self, "db", None)
        if not isinstance(uow, UnitOfWork) or uow.request is None:
            return method(self, *args, **kwargs)
        # a write answers its request once: the request id commits with it (UnitOfWork.commit), and the
        # same request handed out again (the service died before acknowledging it) gets the first answer
        applied, answer = uow.answered_before()
        if applied:
            metrics.requests_answered_again.labels(self.name).inc()
            return answer
        answer = method(self, *args, **kwargs)
        uow.keep_answer(answer)
        return answer

    guarded.__signature__ = inspect.signature(method)  # type: ignore[attr-defined]  # nameko checks it
    return ServiceRpc.decorator(expected_exceptions=(CunbanError,))(guarded)


class WorkerCaller:
    """Who is calling one worker: `self.caller()` in a service. `authorize` (run by @rpc) narrows it to
    the scope the matrix grants for the method."""

    def __init__(self, identity: Caller | None):
        self.identity = identity
        self.granted: Caller | None = None

    def authorize(self, action: str) -> Caller:
        if self.identity is None:
            raise Unauthenticated("this call carries no caller identity")
        self.granted = access.authorize(self.identity, action)
        return self.granted

    def __call__(self) -> Caller:
        if self.granted is not None:
            return self.granted
        if self.identity is None:
            raise Unauthenticated("this call carries no caller identity")
        return self.identity


class CallerContext(DependencyProvider):
    """The caller of each worker, read from the call's context; a call that carries none is refused."""

    def get_dependency(self, worker_ctx: Any) -> WorkerCaller:
        raw = worker_ctx.data.get(CALLER_CONTEXT_KEY)
        if not raw:
            return WorkerCaller(None)
        try:
            data = json.loads(raw) if isinstance(raw, str) else dict(raw)
            data.pop("scope", None)  # the scope is granted here, never taken from the wire
            data["correlation_id"] = worker_ctx.data.get("correlation_id")
            if worker_ctx.data.get(COUNTY_CONTEXT_KEY):  # a county admin's county (rpc_client: beside it)
                data["county_code"] = worker_ctx.data[COUNTY_CONTEXT_KEY]
            return WorkerCaller(Caller.model_validate(data))
        except (ValueError, TypeError):  # malformed identity: refused like a missing one
            return WorkerCaller(None)


class PersonalData(DependencyProvider):
    """The vault that encrypts and decrypts personal data, built once from the configured keys."""

    def setup(self) -> None:
        config, settings = self.container.config, get_settings()
        self.vault = PersonalDataVault(config.get("PII_KEYS") or settings.pii_keys,
                                       config.get("PII_SEARCH_KEY") or settings.pii_search_key)

    def get_dependency(self, worker_ctx: Any) -> Any:
        return self.vault


_WAKE_SIGNALS: dict[str, threading.Event] = {}


def wake_signal(name: str) -> threading.Event:
    """The event the tickers woken by `name` wait on in this process: set when there is work for them."""
    return _WAKE_SIGNALS.setdefault(name, threading.Event())


def wake(name: str) -> None:
    """Wake the tickers woken by `name` in this process (Ticker): there is work for them now."""
    wake_signal(name).set()


AFTER_A_FAILURE_SECONDS = 5.0  # a ticker whose round raised looks again this soon (or at its interval if sooner)


class Ticker(Timer):
    """nameko's timer, which work done in the same process may also wake at once (`wake(name)`, typically
    after the commit that made the work): what is made here is handled without waiting for the next tick,
    and the ticks themselves can be far apart (work made elsewhere is found at the next). A handler that
    knows when its next work is due returns the seconds until then, and the ticker wakes then if that is
    sooner than its interval; one whose round raised looks again within AFTER_A_FAILURE_SECONDS."""

    def __init__(self, interval: float, *, woken_by: str, eager: bool = False, **kwargs: Any):
        super().__init__(interval, eager=eager, **kwargs)
        self.woken_by = woken_by
        self._due_in: float | None = None

    def handle_result(self, worker_ctx: Any, result: Any, exc_info: Any) -> Any:
        if exc_info is not None:  # the round failed (the database away): try again soon, not at the interval
            self._due_in = AFTER_A_FAILURE_SECONDS
        elif isinstance(result, (int, float)) and not isinstance(result, bool) and math.isfinite(result):
            self._due_in = result
        else:
            self._due_in = None
        return super().handle_result(worker_ctx, result, exc_info)

    def stop(self) -> None:
        self.should_stop.send(True)
        wake(self.woken_by)
        self.gt.wait()

    def _run(self) -> None:
        signal = wake_signal(self.woken_by)
        wait = 0.0 if self.eager else self.interval
        while True:
            signal.wait(wait)
            if self.should_stop.ready():
                return
            signal.clear()  # what is woken for after this tick began is handled by the next one
            self.handle_timer_tick()
            self.worker_complete.wait()
            self.worker_complete.reset()
            wait = self.interval if self._due_in is None else max(0.0, min(self.interval, self._due_in))


ticker = Ticker.decorator
