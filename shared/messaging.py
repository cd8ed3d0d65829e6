"""Transactional outbox relay and the consume-once rule for event handlers.

Events are written to the outbox in the same transaction as the change they announce (see
UnitOfWork.record_event). The relay publishes them to `<service>.events` in nameko's own event format
with publisher confirms, then marks them published. A crash between publish and mark re-publishes:
consumers apply each event_id once (inbox), so nothing is lost and nothing is doubled.
"""
from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from kombu.entity import PERSISTENT_DELIVERY_MODE
from nameko.events import EventHandler
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from shared.broker import POISON_DELIVERIES, arguments_for, deliveries_before, quorum_arguments
from shared.clock import utcnow
from shared.contracts.base import parse
from shared.contracts.envelope import EventEnvelope
from shared.contracts.operations import DeadLetterQuery, DeadLetterView, ReplayRequest, ReplayResult
from shared.db import Database, ServiceDatabase
from shared.messaging_tables import DEAD_LETTERS, OUTBOX, RPC_REQUESTS
from shared.observability import correlation_id, metrics
from shared.publishing import KeptProducer
from shared.service import CarryOnWithoutBroker, rpc

log = logging.getLogger(__name__)


class ServiceEventHandler(CarryOnWithoutBroker, EventHandler):
    """nameko's durable event handler, carrying on when the broker goes away under it, and handing its
    method the events in batches: what arrived while the last batch was being applied goes to one worker
    (at most the queue's prefetch, nameko's max_workers), applied in one transaction by on_event. A quiet
    queue gives batches of one, so nothing waits for a batch to fill; a busy one pays for a worker, a
    session and a commit once per batch instead of once per event. One batch of a handler at a time per
    process; each message is acknowledged (or handed back) after its batch's worker has ended. An event
    whose payload does not concern the handler (on_event's `when`) is acknowledged as it arrives: no
    worker, no database session. Its queue is a quorum queue (shared/broker.py); an event the broker handed
    out POISON_DELIVERIES times without it being settled — each consumer died holding it — is kept as a
    dead letter, alone in a worker of its own, without being applied again."""

    def setup(self) -> None:
        super().setup()
        self.queue.queue_arguments = arguments_for(self.container.config["AMQP_URI"], self.queue, quorum_arguments())
        subscription = getattr(getattr(self.container.service_cls, self.method_name), "subscription", None)
        self.when = subscription[3] if subscription else None
        self._arrived: list[tuple[Any, Any]] = []
        self._applying = False

    def handle_message(self, body: Any, message: Any) -> None:
        payload = body.get("payload") if isinstance(body, dict) else None
        if self.when is not None and isinstance(payload, dict) and not self.when(payload):
            self.queue_consumer.ack_message(message)
            metrics.events_consumed.labels(self.container.service_name, self.event_type, "ignored").inc()
            return
        deliveries = deliveries_before(message)
        if deliveries >= POISON_DELIVERIES:
            self._keep_unsettled(body, message, deliveries)
            return
        self._arrived.append((body, message))
        if not self._applying:
            self._applying = True
            self._next_batch()

    def _next_batch(self) -> None:
        batch, self._arrived = self._arrived, []
        if not batch:
            self._applying = False
            return
        try:  # the worker carries the first event's headers; each event's own correlation id is set as applied
            self.container.spawn_worker(self, ([body for body, _ in batch],), {},
                                        context_data=self.unpack_message_headers(batch[0][1]),
                                        handle_result=functools.partial(self._batch_done, batch))
        except ContainerBeingKilled:
            for _, message in batch:
                self.queue_consumer.requeue_message(message)
            self._applying = False

    def _keep_unsettled(self, body: Any, message: Any, deliveries: int) -> None:
        try:
            self.container.spawn_worker(self, ([body],), {"unsettled_deliveries": deliveries},
                                        context_data=self.unpack_message_headers(message),
                                        handle_result=functools.partial(self.handle_result, message))
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def _batch_done(self, batch: list[tuple[Any, Any]], worker_ctx: Any, result: Any = None,
                    exc_info: Any = None) -> tuple[Any, Any]:
        try:
            for _, message in batch:
                self.handle_result(message, worker_ctx, result, exc_info)
        finally:  # whatever became of the acknowledgements, the handler goes on with what arrived meanwhile,
            # in a worker of its own once this one has let go of its place in the pool
            self.container.spawn_managed_thread(self._next_batch)
        return result, exc_info


class EventPublisher:
    """Publishes envelopes to `<source>.events` in nameko's event format, with publisher confirms, on a kept
    connection (shared/publishing.py): the outbox relay of each service, and the gateway's audit entries."""

    def __init__(self, amqp_uri: str, source: str, config: dict[str, Any] | None = None):
        self.source = source
        self.exchange = get_event_exchange(source, config or {})
        self._producer = KeptProducer(amqp_uri, declare=self.exchange)

    def __call__(self, envelope: dict[str, Any]) -> None:
        headers = {"nameko.correlation_id": envelope.get("correlation_id") or envelope["event_id"],
                   "nameko.call_id_stack": [f"{self.source}.events.{envelope['event_id']}"]}
        self._producer.publish(envelope, exchange=self.exchange, routing_key=envelope["type"], headers=headers,
                               message_id=envelope["event_id"], delivery_mode=PERSISTENT_DELIVERY_MODE)

    def close(self) -> None:
        self._producer.close()


class OutboxRelay(DependencyProvider):
    """Publishes a service's committed outbox rows; woken by each commit of its own process, and reading the
    outbox every OUTBOX_POLL_SECONDS (5 s) as a safety net: rows a process that died left unpublished, rows
    another process wrote (the command line), a publish that failed. Idle, that is a query every few
    seconds, not several a second."""

    batch_size = 200

    def setup(self) -> None:
        self.service = self.container.service_name
        self.database = next(d for d in self.container.dependencies if isinstance(d, Database))
        config = self.container.config
        self._publish = EventPublisher(config["AMQP_URI"], self.service, config)
        self.poll_seconds = float(config.get("OUTBOX_POLL_SECONDS", 5.0))
        self._running = False

    def start(self) -> None:
        self._running = True
        self._thread = self.container.spawn_managed_thread(self._run)

    def stop(self) -> None:
        self._running = False
        if self.database.db is not None:
            self.database.db.outbox_signal.set()
        thread = getattr(self, "_thread", None)
        if thread is not None:
            thread.wait()
        self._publish.close()

    def kill(self) -> None:
        self._running = False

    def get_dependency(self, worker_ctx: Any) -> OutboxRelay:
        return self

    def _run(self) -> None:
        # gauges: refreshed a second after the relay last published or was woken (a commit with events, a dead
        # letter kept or replayed: what they count moved), else every
        # GAUGE_IDLE_SECONDS; the outbox is read every poll_seconds with nothing to wake the relay
        failures, gauged, forgotten, moved = 0, 0.0, 0.0, True
        while self._running:
            db = self.database.db
            assert db is not None
            db.outbox_signal.clear()
            try:
                gauges = time.monotonic() - gauged >= (GAUGE_SECONDS if moved else GAUGE_IDLE_SECONDS)
                published = relay_once(db, self._publish, self.batch_size, gauges=gauges)
                if gauges:
                    gauged, moved = time.monotonic(), False
                moved = moved or published > 0
                if time.monotonic() - forgotten >= FORGET_SECONDS:
                    forget_answered_requests(db, utcnow() - ANSWERED_REQUESTS_KEPT)
                    forgotten = time.monotonic()
                failures = 0
            except Exception:
                failures += 1
                log.exception("outbox relay failed; will retry", extra={"service": self.service})
                time.sleep(min(30.0, 0.2 * 2**failures))
                continue
            if published < self.batch_size:
                woken = db.outbox_signal.wait(min(self.poll_seconds, GAUGE_SECONDS) if moved else self.poll_seconds)
                moved = moved or woken


GAUGE_SECONDS = 1.0  # how soon the relay refreshes the backlog and dead-letter gauges after publishing
GAUGE_IDLE_SECONDS = 15.0  # and how often with nothing published (Prometheus scrapes every 15 s)
# a request is handed out again within minutes of its first delivery (once its service is back); its row is
# kept a week, and the relay lets older ones go every FORGET_SECONDS, a batch at a time
ANSWERED_REQUESTS_KEPT = timedelta(days=7)
FORGET_SECONDS = 600.0
FORGET_BATCH = 5000


def forget_answered_requests(db: ServiceDatabase, before: datetime) -> int:
    """Delete the answered-request rows (shared/db.py, UnitOfWork.answered_before) applied before `before`,
    up to FORGET_BATCH of them (by the applied_at index); return how many went."""
    requests = db.metadata.tables[RPC_REQUESTS]
    oldest = select(requests.c.request_id).where(requests.c.applied_at < before).order_by(
        requests.c.applied_at).limit(FORGET_BATCH)
    with db.sessions() as session:
        gone = session.execute(delete(requests).where(requests.c.request_id.in_(oldest.scalar_subquery()))).rowcount
        session.commit()
    return gone


@functools.cache
def _relay_statements(outbox: Any, batch_size: int) -> tuple[Any, Any]:
    """The relay's two statements, built once (it runs after every commit): the oldest unpublished rows,
    and on PostgreSQL the one statement that marks a batch and hands it over. Its rows stay locked until
    the commit after publishing (a failed publish rolls the mark back), and several replicas of one
    service may relay at once: each takes rows the others do not hold."""
    waiting = select(outbox.c.id, outbox.c.body).where(outbox.c.published_at.is_(None))
    waiting = waiting.order_by(outbox.c.id).limit(batch_size)
    batch = waiting.with_only_columns(outbox.c.id).with_for_update(skip_locked=True).scalar_subquery()
    claim = update(outbox).where(outbox.c.id.in_(batch)).values(published_at=bindparam("now")).returning(
        outbox.c.id, outbox.c.body)
    return waiting, claim


def relay_once(db: ServiceDatabase, publish: Callable[[dict[str, Any]], None], batch_size: int,
               gauges: bool = True) -> int:
    """Publish one batch of unpublished outbox rows in commit order; return how many went out. With
    `gauges`, also refresh the backlog, oldest-age and dead-letter gauges (two more queries)."""
    outbox = db.metadata.tables[OUTBOX]
    with db.sessions() as session:
        waiting, claim = _relay_statements(outbox, batch_size)
        on_postgres = db.engine.dialect.name == "postgresql"
        if on_postgres:
            rows = sorted(session.execute(claim, {"now": utcnow()}).all(), key=lambda r: r.id)
        else:
            # never hold an SQLite transaction while publishing: the other green threads need the file
            rows = session.execute(waiting).all()
            session.commit()
        for row in rows:
            publish(row.body)
            metrics.events_published.labels(db.service, row.body["type"]).inc()
        if rows and not on_postgres:  # PostgreSQL's rows were marked as they were taken
            session.execute(update(outbox).where(outbox.c.id.in_([r.id for r in rows]))
                            .values(published_at=utcnow()))
        if not gauges:
            session.commit()
            return len(rows)
        pending, oldest = session.execute(
            select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
        ).one()
        dead_letters = db.metadata.tables[DEAD_LETTERS]
        dead = session.execute(select(func.count()).select_from(dead_letters)
                               .where(dead_letters.c.replayed_at.is_(None))).scalar_one()
        session.commit()
    metrics.dead_letters.labels(db.service).set(dead)
    metrics.outbox_backlog.labels(db.service).set(pending)
    age = 0.0
    if oldest is not None:
        if oldest.tzinfo is None:  # SQLite hands back naive datetimes; they were stored in UTC
            oldest = oldest.replace(tzinfo=utcnow().tzinfo)
        age = max(0.0, (utcnow() - oldest).total_seconds())
    metrics.outbox_oldest_age.labels(db.service).set(age)
    return len(rows)


def _applying(method: Callable[[Any, EventEnvelope], None], once: bool,
              ) -> Callable[..., EventEnvelope | None]:
    """Wrap an event handler method: the envelope parsed, the method run, the transaction committed (unless
    the event is one of a batch: its caller commits). With `once`, each event_id is applied once — marked
    in the inbox in the same transaction as its effect; a duplicate returns None. The method must not
    commit; the service needs `db = Database`."""

    @functools.wraps(method)
    def apply(self: Any, body: dict[str, Any], commit: bool = True) -> EventEnvelope | None:
        envelope = EventEnvelope.model_validate(body)
        uow = self.db
        # what this event causes carries the correlation id of what caused it (a batch holds several)
        uow.correlation_id = envelope.correlation_id or envelope.event_id
        correlation_id.set(uow.correlation_id)
        if once and not uow.mark_consumed(envelope.event_id, f"{self.name}.{method.__name__}"):
            if commit:
                uow.rollback()
            return None
        method(self, envelope)
        if commit:
            uow.commit()
        return envelope

    return apply


def _applied(service: str, event_type: str, envelope: EventEnvelope | None) -> None:
    if envelope is None:
        metrics.events_consumed.labels(service, event_type, "duplicate").inc()
        return
    metrics.events_consumed.labels(service, event_type, "applied").inc()
    metrics.event_lag.labels(service, event_type).observe(max(0.0, (utcnow() - envelope.occurred_at).total_seconds()))


# ---- handlers that retry, and dead letters -----------------------------------------------------------------

ATTEMPTS = 3  # tries of one delivery before it is a dead letter
BACKOFF_SECONDS = 0.2  # doubled after each try
TRANSIENT = (OperationalError, InterfaceError)  # the database is away: never a dead letter, redelivered later


class Unsettled(Exception):
    """An event the broker handed out again and again, its consumer dying (or its channel closing) each time
    before it was settled."""

    def __init__(self, deliveries: int):
        super().__init__(f"handed out {deliveries} times and never settled: each consumer died or lost the broker "
                         "while holding it; kept without being applied again (replay once the cause is fixed)")


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT) or (isinstance(exc, DBAPIError) and bool(exc.connection_invalidated))


def on_event(source: str, event_type: str, *, once: bool = True, when: Callable[[dict[str, Any]], bool] | None = None,
             ) -> Callable[[Callable[[Any, EventEnvelope], None]], Any]:
    """The one way a service handles another's event: nameko's durable event handler, each event_id applied
    once (the inbox), a failure retried ATTEMPTS times, then kept as a dead letter with its error (and
    the message acknowledged). When the database itself is away, nothing is dead-lettered: the message goes
    back to the broker and comes again. `once=False` is for a handler idempotent by itself (it stores
    rows keyed by the event id), which then needs no inbox row. `when` says from the payload whether the
    event concerns this service at all: one that does not is acknowledged as it arrives (ServiceEventHandler)."""

    def decorate(method: Callable[[Any, EventEnvelope], None]) -> Any:
        apply = _applying(method, once)

        @functools.wraps(method)
        def handle(self: Any, bodies: list[dict[str, Any]] | dict[str, Any], unsettled_deliveries: int = 0) -> None:
            # a batch of events (ServiceEventHandler), or one (a test, say)
            bodies = bodies if isinstance(bodies, list) else [bodies]
            if unsettled_deliveries:  # what may have killed the consumers before: kept, not applied
                for body in bodies:
                    _dead_letter(self, method.__name__, body, Unsettled(unsettled_deliveries), unsettled_deliveries)
                return
            metrics.event_batch_size.labels(self.name, event_type).observe(len(bodies))
            if len(bodies) > 1 and _applied_together(self, apply, event_type, bodies):
                return
            for body in bodies:
                _apply_alone(self, apply, method.__name__, event_type, body)

        handle.apply = apply  # type: ignore[attr-defined]  # what a replay runs
        handle.subscription = (source, event_type, once, when)  # type: ignore[attr-defined]  # what it listens to
        return ServiceEventHandler.decorator(source, event_type, requeue_on_error=True)(handle)

    return decorate


def _applied_together(service: Any, apply: Callable[..., EventEnvelope | None], event_type: str,
                      bodies: list[dict[str, Any]]) -> bool:
    """Apply a batch in one transaction. Any failure, or a handler that would end the transaction itself,
    undoes the whole batch and returns False: its events are then applied one by one, each with its own
    retries and dead letter, as if they had come alone."""
    uow = service.db
    try:
        with uow.batch():
            envelopes = [apply(service, body, commit=False) for body in bodies]
        uow.commit()
    except Exception:
        uow.rollback()
        log.info("a batch of %d events failed together; applying them one by one", len(bodies), exc_info=True,
                 extra={"service": service.name, "event_type": event_type})
        return False
    for envelope in envelopes:
        _applied(service.name, event_type, envelope)
    return True


def _apply_alone(service: Any, apply: Callable[..., EventEnvelope | None], method_name: str, event_type: str,
                 body: dict[str, Any]) -> None:
    """One event in its own transaction, tried ATTEMPTS times, then kept as a dead letter."""
    delay = BACKOFF_SECONDS
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _applied(service.name, event_type, apply(service, body))
            return
        except Exception as exc:
            service.db.rollback()
            if _transient(exc):
                time.sleep(1.0)  # let the database come back before the broker redelivers
                raise
            if attempt == ATTEMPTS:
                _dead_letter(service, method_name, body, exc, attempt)
                return
            log.warning("event handler failed; retrying", exc_info=True,
                        extra={"service": service.name, "event_type": event_type})
            time.sleep(delay)
            delay *= 2


def _dead_letter(service: Any, method_name: str, body: dict[str, Any], exc: Exception, attempts: int) -> None:
    """Keep the event with its error (one row per event and handler; a later failure updates it)."""
    error = f"{type(exc).__name__}: {exc}"
    service.db.keep_dead_letter(f"{service.name}.{method_name}", body, error, attempts)
    service.db.commit()
    event_type = str(body.get("type", "?"))[:80]
    metrics.dead_letters_total.labels(service.name, event_type).inc()
    log.error("event handler failed %d times; kept as a dead letter: %s", attempts, error[:2000],
              extra={"service": service.name, "event_type": event_type})


def replayable(method: Callable[[Any, dict[str, Any]], None]) -> Callable[[Any, dict[str, Any]], None]:
    """A service method, not an event handler, that a dead letter it kept is replayed through: handed the
    dead letter's body as it was kept (notifications' SMS that failed for good)."""
    method.apply = method  # type: ignore[attr-defined]  # what DeadLetters.replay_dead_letters runs
    return method


class DeadLetters:
    """A service's dead letters over RPC (county admins; `cunban dlq`, `GET /dead-letters`): listed, and
    replayed through the same handler. Replay is idempotent: an event already applied is recognised by the
    inbox and not applied twice."""

    @rpc
    def dead_letters(self, query: dict | None = None) -> list:
        q = parse(DeadLetterQuery, query or {})
        table = self.db.dead_letters
        stmt = select(table).order_by(table.c.id.desc()).limit(q.limit)
        if not q.include_replayed:
            stmt = stmt.where(table.c.replayed_at.is_(None))
        rows = self.db.session.execute(stmt).mappings().all()
        return [DeadLetterView(service=self.name, **dict(r)).model_dump(mode="json") for r in rows]

    @rpc
    def replay_dead_letters(self, request: dict | None = None) -> dict:
        ids = parse(ReplayRequest, request or {}).ids
        table = self.db.dead_letters
        stmt = select(table.c.id, table.c.handler, table.c.body).where(table.c.replayed_at.is_(None))
        if ids is not None:
            stmt = stmt.where(table.c.id.in_(ids))
        rows = self.db.session.execute(stmt.order_by(table.c.id)).all()
        self.db.rollback()
        result = ReplayResult(service=self.name, replayed=[], failed={})
        for row in rows:
            handle = getattr(type(self), row.handler.split(".", 1)[1], None)
            try:
                if handle is None or not hasattr(handle, "apply"):
                    raise LookupError(f"{row.handler} no longer handles events")
                handle.apply(self, row.body)
            except Exception as exc:
                self.db.rollback()
                result.failed[row.id] = f"{type(exc).__name__}: {exc}"[:500]
                continue
            self.db.session.execute(update(table).where(table.c.id == row.id).values(replayed_at=utcnow()))
            self.db.wake_relay()  # its dead-letter gauge moved
            self.db.commit()
            result.replayed.append(row.id)
        return result.model_dump(mode="json")
