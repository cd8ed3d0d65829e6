"""The outbox relay on PostgreSQL: one statement marks a batch and hands it over, the mark stands only if
every event of the batch was published, and two relays of one service never publish the same event."""
from __future__ import annotations

import eventlet
import pytest
from sqlalchemy import select

from services.complaints.adapters.orm import Base
from shared.db import ServiceDatabase
from shared.messaging import relay_once
from shared.messaging_tables import OUTBOX

pytestmark = pytest.mark.integration


@pytest.fixture
def db(pg_database):
    database = ServiceDatabase("complaints", Base.metadata, pg_database("relay"))
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def record(db: ServiceDatabase, n: int) -> list[str]:
    uow = db.unit_of_work()
    ids = [uow.record_event("complaint_registered", {"n": i}) for i in range(n)]
    uow.commit()
    uow.session.close()
    return ids


def unpublished(db: ServiceDatabase) -> list[str]:
    outbox = db.metadata.tables[OUTBOX]
    with db.sessions() as session:
        return list(session.execute(select(outbox.c.event_id).where(outbox.c.published_at.is_(None))
                                    .order_by(outbox.c.id)).scalars())


def test_a_failed_publish_leaves_the_whole_batch_to_the_next_round_in_order(db):
    ids = record(db, 3)
    sent: list[str] = []

    def broker_goes_away(body: dict) -> None:
        if len(sent) == 1:
            raise ConnectionError("broker gone")
        sent.append(body["event_id"])

    with pytest.raises(ConnectionError):
        relay_once(db, broker_goes_away, batch_size=10)
    assert unpublished(db) == ids  # the first went out, and will again: consumers keep an inbox
    again: list[str] = []
    assert relay_once(db, lambda body: again.append(body["event_id"]), batch_size=10) == 3
    assert again == ids and unpublished(db) == []


def test_two_relays_of_one_service_publish_each_event_once(db):
    ids = record(db, 4)
    first: list[str] = []
    second: list[str] = []

    def slow(body: dict) -> None:  # holds its batch while the other relay runs
        eventlet.sleep(0.05)
        first.append(body["event_id"])

    one = eventlet.spawn(relay_once, db, slow, 10, False)
    eventlet.sleep(0.02)
    other = eventlet.spawn(relay_once, db, lambda body: second.append(body["event_id"]), 10, False)
    assert other.wait() == 0 and one.wait() == 4
    assert first == ids and second == [] and unpublished(db) == []
