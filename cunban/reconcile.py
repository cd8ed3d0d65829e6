"""`cunban reconcile`: after a restore, the services' databases agree again about which events happened.

Each database comes back as of its own backup, so a consumer may lack events its producer recorded (the
consumer's backup is older, or the broker's queues were lost with the servers): those outbox rows are set
to be published again, and the relay sends them; every consumer applies an event id once (its inbox, or
evaluation's event log), so a consumer that had it ignores it. An event a consumer holds that its
producer no longer has (the producer's backup is older) cannot be made again from what is left: it is
counted and listed, for county IT to look at, never invented. Once nothing is missing, evaluation counts
its figures again from its log (`rebuild`). Outbox rows are never deleted, so the producer's outbox is the
whole history of what it announced."""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, select, update

from cunban.registry import SERVICES, service_class

CHUNK = 1000


@dataclass(frozen=True)
class Subscription:
    """One `@on_event` handler: who consumes what, and where it remembers having applied it."""

    consumer: str
    handler: str  # the inbox's key: "<service>.<method>"
    source: str
    event_type: str
    once: bool
    when: Any


@dataclass
class Gaps:
    checked: int = 0  # outbox rows looked at
    missing: dict[str, set[str]] = field(default_factory=dict)  # producer → event ids some consumer lacks
    orphans: dict[str, list[str]] = field(default_factory=dict)  # handler → event ids its producer lacks

    @property
    def missing_count(self) -> int:
        return sum(len(ids) for ids in self.missing.values())

    @property
    def orphan_count(self) -> int:
        return sum(len(ids) for ids in self.orphans.values())


def subscriptions() -> list[Subscription]:
    """Every handler of another service's event. A handler with no inbox (`once=False`) is evaluation's:
    its event log keeps each event id once."""
    found = []
    for name in SERVICES:
        cls = service_class(name)
        for attr in dir(cls):
            sub = getattr(getattr(cls, attr), "subscription", None)
            if sub is not None and sub[0] in SERVICES:  # the gateway's audit entries have no outbox behind them
                source, event_type, once, when = sub
                found.append(Subscription(name, f"{cls.name}.{attr}", source, event_type, once, when))
    return found


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


class Databases:
    """One engine per service, and each service's tables as its migrations make them."""

    def __init__(self, urls: dict[str, str]):
        self.urls = urls
        self._engines: dict[str, Engine] = {}

    def engine(self, service: str) -> Engine:
        if service not in self._engines:
            self._engines[service] = create_engine(self.urls[service])
        return self._engines[service]

    @staticmethod
    def table(service: str, name: str) -> Any:
        return service_class(service).db.metadata.tables[name]

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()


def _known(dbs: Databases, sub: Subscription, event_ids: list[str]) -> set[str]:
    """Which of these events the consumer has applied (inbox or event log) or kept as a dead letter."""
    known: set[str] = set()
    dead = dbs.table(sub.consumer, "dead_letters")
    with dbs.engine(sub.consumer).connect() as connection:
        for chunk in _chunks(event_ids):
            if sub.once:
                inbox = dbs.table(sub.consumer, "inbox")
                query = select(inbox.c.event_id).where(inbox.c.handler == sub.handler, inbox.c.event_id.in_(chunk))
            else:
                log = dbs.table(sub.consumer, "event_log")
                query = select(log.c.event_id).where(log.c.event_id.in_(chunk))
            known.update(connection.execute(query).scalars())
            known.update(connection.execute(select(dead.c.event_id).where(
                dead.c.handler == sub.handler, dead.c.event_id.in_(chunk))).scalars())
    return known


def find_gaps(dbs: Databases, *, since: datetime | None = None, only: dict[str, set[str]] | None = None) -> Gaps:
    """What each consumer lacks of its producers' outbox rows (created since `since`; with `only`, just
    those ids), and what consumers hold that their producer does not."""
    gaps = Gaps()
    subs = subscriptions()
    for producer in SERVICES:
        consumers = [s for s in subs if s.source == producer]
        if not consumers:
            continue
        outbox = dbs.table(producer, "outbox")
        query = select(outbox.c.event_id, outbox.c.event_type, outbox.c.body)
        if since is not None:
            query = query.where(outbox.c.created_at >= since)
        if only is not None:
            if not only.get(producer):
                continue
            query = query.where(outbox.c.event_id.in_(sorted(only[producer])))
        with dbs.engine(producer).connect() as connection:
            rows = connection.execute(query).all()
        gaps.checked += len(rows)
        for sub in consumers:
            wanted = [r.event_id for r in rows if r.event_type == sub.event_type
                      and (sub.when is None or sub.when((r.body or {}).get("payload") or {}))]
            lacking = set(wanted) - _known(dbs, sub, wanted)
            if lacking:
                gaps.missing.setdefault(producer, set()).update(lacking)
    if only is None:
        gaps.orphans = _orphans(dbs, subs, since)
    return gaps


def _orphans(dbs: Databases, subs: list[Subscription], since: datetime | None) -> dict[str, list[str]]:
    # a day's margin before `since`: an event recorded just before it may have been applied just after
    after = since - timedelta(days=1) if since is not None else None
    orphans: dict[str, list[str]] = {}
    for sub in subs:
        with dbs.engine(sub.consumer).connect() as connection:
            if sub.once:
                inbox = dbs.table(sub.consumer, "inbox")
                query = select(inbox.c.event_id).where(inbox.c.handler == sub.handler)
                if after is not None:
                    query = query.where(inbox.c.processed_at >= after)
            else:
                log = dbs.table(sub.consumer, "event_log")
                query = select(log.c.event_id).where(log.c.source == sub.source, log.c.event_type == sub.event_type)
                if after is not None:
                    query = query.where(log.c.occurred_at >= after)
            held = list(connection.execute(query).scalars())
        outbox = dbs.table(sub.source, "outbox")
        present: set[str] = set()
        with dbs.engine(sub.source).connect() as connection:
            for chunk in _chunks(held):
                present.update(connection.execute(select(outbox.c.event_id).where(outbox.c.event_id.in_(chunk)))
                               .scalars())
        lost = sorted(set(held) - present)
        if lost:
            orphans[sub.handler] = lost
    return orphans


def republish(dbs: Databases, missing: dict[str, set[str]]) -> int:
    """Set the rows to be published again: the producer's relay sends them at its next poll."""
    count = 0
    for producer, ids in missing.items():
        outbox = dbs.table(producer, "outbox")
        with dbs.engine(producer).begin() as connection:
            for chunk in _chunks(sorted(ids)):
                count += connection.execute(update(outbox).where(outbox.c.event_id.in_(chunk))
                                            .values(published_at=None)).rowcount
    return count


@dataclass
class Reconciled:
    found: Gaps
    republished: int
    still_missing: int
    rebuilt_events: int | None


def reconcile(urls: dict[str, str], *, since: datetime | None = None, wait_seconds: float = 120,
              rebuild_figures: bool = True) -> Reconciled:
    """Find the gaps, republish what consumers lack, wait (up to wait_seconds) until the running services
    have applied it, then count evaluation's figures again from its log."""
    dbs = Databases(urls)
    try:
        found = find_gaps(dbs, since=since)
        republished = republish(dbs, found.missing)
        left = found.missing
        deadline = time.monotonic() + wait_seconds
        while left and time.monotonic() < deadline:
            time.sleep(1)
            left = find_gaps(dbs, only=left).missing
        still = sum(len(ids) for ids in left.values())
        rebuilt = None
        if rebuild_figures and not still and "evaluation" in urls:
            rebuilt = _rebuild_evaluation(urls["evaluation"])
        return Reconciled(found, republished, still, rebuilt)
    finally:
        dbs.close()


def _rebuild_evaluation(url: str) -> int:
    from services.evaluation.adapters.orm import Base
    from services.evaluation.service_layer.counting import rebuild
    from shared.db import ServiceDatabase

    db = ServiceDatabase("evaluation", Base.metadata, url)
    uow = db.unit_of_work()
    try:
        return rebuild(uow).events
    finally:
        uow.close()
        db.dispose()
