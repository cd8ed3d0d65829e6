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
from typing import Any

from nameko.amqp.publish import Publisher
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from shared.clock import utcnow
from shared.contracts.envelope import EventEnvelope
from shared.db import Database, ServiceDatabase
from shared.messaging_tables import OUTBOX
from shared.observability import metrics

log = logging.getLogger(__name__)


class EventPublisher:
    """Publishes envelopes to `<source>.events` in nameko's event format, with publisher confirms: the
    outbox relay of each service, and the gateway's audit entries."""

    def __init__(self, amqp_uri: str, source: str, config: dict[str, Any] | None = None):
        self.source = source
        self.exchange = get_event_exchange(source, config or {})
        self.publisher = Publisher(amqp_uri, use_confirms=True, serializer="json", declare=[self.exchange],
                                   retry=False)

    def __call__(self, envelope: dict[str, Any]) -> None:
        headers = {"nameko.correlation_id": envelope.get("correlation_id") or envelope["event_id"],
                   "nameko.call_id_stack": [f"{self.source}.events.{envelope['event_id']}"]}
        self.publisher.publish(envelope, exchange=self.exchange, routing_key=envelope["type"],
                               headers=headers, message_id=envelope["event_id"])


class OutboxRelay(DependencyProvider):
    """Publishes a service's committed outbox rows; woken by each commit, and polls as a safety net."""

    batch_size = 200

    def setup(self) -> None:
        self.service = self.container.service_name
        self.database = next(d for d in self.container.dependencies if isinstance(d, Database))
        config = self.container.config
        self._publish = EventPublisher(config["AMQP_URI"], self.service, config)
        self.poll_seconds = float(config.get("OUTBOX_POLL_SECONDS", 0.5))
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

    def kill(self) -> None:
        self._running = False

    def get_dependency(self, worker_ctx: Any) -> OutboxRelay:
        return self

    def _run(self) -> None:
        failures = 0
        while self._running:
            db = self.database.db
            assert db is not None
            db.outbox_signal.clear()
            try:
                published = relay_once(db, self._publish, self.batch_size)
                failures = 0
            except Exception:
                failures += 1
                log.exception("outbox relay failed; will retry", extra={"service": self.service})
                time.sleep(min(30.0, 0.2 * 2**failures))
                continue
            if published < self.batch_size:
                db.outbox_signal.wait(self.poll_seconds)


def relay_once(db: ServiceDatabase, publish: Callable[[dict[str, Any]], None], batch_size: int) -> int:
    """Publish one batch of unpublished outbox rows in commit order; return how many went out."""
    outbox = db.metadata.tables[OUTBOX]
    with db.sessions() as session:
        query = select(outbox.c.id, outbox.c.body).where(outbox.c.published_at.is_(None))
        query = query.order_by(outbox.c.id).limit(batch_size)
        if db.engine.dialect.name == "postgresql":
            # several replicas of one service may relay; each takes rows the others do not hold
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query).all()
        if db.engine.dialect.name == "sqlite":
            # never hold an SQLite transaction while publishing: the other green threads need the file
            session.commit()
        for row in rows:
            publish(row.body)
            metrics.events_published.labels(db.service, row.body["type"]).inc()
        if rows:
            session.execute(update(outbox).where(outbox.c.id.in_([r.id for r in rows]))
                            .values(published_at=utcnow()))
        pending, oldest = session.execute(
            select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
        ).one()
        session.commit()
    metrics.outbox_backlog.labels(db.service).set(pending)
    age = 0.0
    if oldest is not None:
        if oldest.tzinfo is None:  # SQLite hands back naive datetimes; they were stored in UTC
            oldest = oldest.replace(tzinfo=utcnow().tzinfo)
        age = max(0.0, (utcnow() - oldest).total_seconds())
    metrics.outbox_oldest_age.labels(db.service).set(age)
    return len(rows)


def consume_once(method: Callable[[Any, EventEnvelope], None]) -> Callable[[Any, dict[str, Any]], None]:
    """Wrap an @event_handler method so each event_id is applied once, in the same transaction as its
    effect. The method gets the parsed envelope and must not commit; the service needs `db = Database`."""

    @functools.wraps(method)
    def handle(self: Any, body: dict[str, Any]) -> None:
        envelope = EventEnvelope.model_validate(body)
        handler = f"{self.name}.{method.__name__}"
        uow = self.db
        if not uow.mark_consumed(envelope.event_id, handler):
            uow.rollback()
            metrics.events_consumed.labels(self.name, envelope.type, "duplicate").inc()
            return
        method(self, envelope)
        try:
            uow.commit()
        except IntegrityError:
            uow.rollback()
            if not uow.already_consumed(envelope.event_id, handler):
                raise
            # a concurrent redelivery committed the same event_id first: its effect stands alone
            metrics.events_consumed.labels(self.name, envelope.type, "duplicate").inc()
            return
        metrics.events_consumed.labels(self.name, envelope.type, "applied").inc()

    return handle
