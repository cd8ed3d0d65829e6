"""A service's database reached through a primary and its synchronous standby named in one URL (libpq's
multi-host list with `target_session_attrs=read-write`, tests/faults/postgres_pair.py). When the primary
dies, the unit of work in flight fails whole, with an error the event handlers hand back to the broker
(never a dead letter); while no server takes writes, a new one fails the same way instead of landing on the
read-only standby; once the standby is promoted, the next unit of work commits there, in the same process,
and what was committed before the loss is there too."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, MetaData, String, Table, func, insert, select
from sqlalchemy.exc import DBAPIError

from shared.db import ServiceDatabase
from shared.messaging import _transient
from shared.messaging_tables import add_messaging_tables
from tests.faults.postgres_pair import PostgresPair

pytestmark = pytest.mark.integration

metadata = MetaData()
filings = Table("filings", metadata, Column("receipt_no", String(20), primary_key=True))
add_messaging_tables(metadata)


@pytest.fixture
def database(servers) -> Iterator[tuple[PostgresPair, ServiceDatabase]]:
    with PostgresPair(synchronous=True) as pair:
        pair.create_database("cunban_intake")
        db = ServiceDatabase("intake", metadata, pair.url("cunban_intake"))
        metadata.create_all(db.engine)
        try:
            yield pair, db
        finally:
            db.dispose()


def file(db: ServiceDatabase, receipt_no: str) -> None:
    """A use case in one unit of work: the filing and the event announcing it."""
    uow = db.unit_of_work()
    try:
        uow.session.execute(insert(filings).values(receipt_no=receipt_no))
        uow.record_event("application_filed", {"receipt_no": receipt_no})
        uow.commit()
    finally:
        uow.close()


def test_a_unit_of_work_cut_by_a_failover_is_not_applied_and_the_next_reaches_the_new_primary(database):
    pair, db = database
    file(db, "BEFORE")  # acknowledged: the synchronous standby has it

    in_flight = db.unit_of_work()
    in_flight.session.execute(insert(filings).values(receipt_no="HALF"))
    pair.primary.kill()
    with pytest.raises(DBAPIError) as cut:
        in_flight.record_event("application_filed", {"receipt_no": "HALF"})
        in_flight.commit()
    assert _transient(cut.value), cut.value  # the broker redelivers it: no dead letter
    in_flight.close()  # the connection is gone: closing says nothing more

    with pytest.raises(DBAPIError) as no_primary:  # the standby is there, but takes no writes yet
        file(db, "TOO-SOON")
    assert _transient(no_primary.value), no_primary.value

    pair.standby.promote()
    file(db, "AFTER")  # the same engine, the same process: the new primary found by itself

    with db.engine.connect() as connection:
        stored = set(connection.execute(select(filings.c.receipt_no)).scalars())
        events = connection.execute(select(func.count()).select_from(metadata.tables["outbox"])).scalar_one()
        port = connection.exec_driver_sql("SELECT inet_server_port()").scalar_one()
    assert stored == {"BEFORE", "AFTER"} and events == 2
    assert port == pair.standby.port
