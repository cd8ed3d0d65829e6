"""PostgreSQL under eventlet, as every service runs it: a worker waiting for a row lock must let the other
green threads of its process run — among them the one holding the lock."""
from __future__ import annotations

from datetime import UTC

import eventlet
import psycopg.waiting
import pytest
from sqlalchemy import text

from shared.db import _green_wait, make_engine

pytestmark = pytest.mark.integration


def test_a_worker_waiting_for_a_row_lock_does_not_freeze_its_process(pg_database):
    engine = make_engine(pg_database("green"))
    assert psycopg.waiting.wait is _green_wait
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (1, 0)"))
    ticks: list[int] = []

    def holder() -> None:  # takes the lock, then yields to the hub before committing, as a worker does
        with engine.begin() as connection:
            connection.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))
            eventlet.sleep(0.5)

    def waiter() -> None:  # blocks on the same row; with psycopg's C wait the whole process would stop here
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '5s'"))
            connection.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))

    def clock() -> None:
        for n in range(10):
            ticks.append(n)
            eventlet.sleep(0.05)

    first = eventlet.spawn(holder)
    eventlet.sleep(0.05)
    threads = [first, eventlet.spawn(waiter), eventlet.spawn(clock)]
    for thread in threads:
        thread.wait()  # the waiter raises LockNotAvailable if the holder never got to commit
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar_one() == 2
    assert len(ticks) == 10
    engine.dispose()


def test_the_inbox_mark_is_one_statement_that_tells_a_redelivery(pg_database):
    """mark_consumed on PostgreSQL: True the first time, False for the same event and handler again."""
    from sqlalchemy import MetaData
    from sqlalchemy.orm import sessionmaker

    from shared.db import UnitOfWork
    from shared.messaging_tables import add_messaging_tables

    metadata = MetaData()
    add_messaging_tables(metadata)
    engine = make_engine(pg_database("inbox"))
    metadata.create_all(engine)
    uow = UnitOfWork(sessionmaker(engine)(), "intake", metadata)
    assert uow.mark_consumed("e" * 32, "intake.on_x") is True
    assert uow.mark_consumed("e" * 32, "intake.on_x") is False
    assert uow.mark_consumed("e" * 32, "intake.on_y") is True
    uow.close()
    engine.dispose()


def _two_workers_at_once(engine, metadata, service: str, first, second) -> None:
    """Run two units of work the way two green workers of one service do: the first writes and, before it
    commits, yields to the hub; the second writes the same rows meanwhile."""
    from sqlalchemy.orm import sessionmaker

    from services.evaluation.adapters.repositories import EvaluationUnitOfWork as UnitOfWork

    sessions = sessionmaker(engine, expire_on_commit=False)

    def worker(work, pause: float) -> None:
        uow = UnitOfWork(sessions(), service, metadata)
        try:
            work(uow)
            eventlet.sleep(pause)
            uow.commit()
        finally:
            uow.close()

    threads = [eventlet.spawn(worker, first, 0.3)]
    eventlet.sleep(0.05)
    threads.append(eventlet.spawn(worker, second, 0))
    for thread in threads:
        thread.wait()  # raises the worker's error: before `hold`, an IntegrityError on applications_pkey


def test_two_events_of_one_application_applied_at_once_are_both_counted(pg_database):
    """An application filed and completed on the spot: its two events reach two workers of evaluation at
    the same moment. Each must see what the other wrote — neither fails, neither overwrites the other."""
    import uuid
    from datetime import datetime

    from sqlalchemy import select

    from services.evaluation.adapters import orm
    from services.evaluation.service_layer.counting import record_event

    engine = make_engine(pg_database("evaluation_race"))
    orm.Base.metadata.create_all(engine)
    now = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    filed = {"id": "a" * 32, "receipt_no": "QS-20261127-0001", "township_code": "431099101",
             "station_code": "QS-ST1", "village_code": "431099101001", "accountable_staff_id": 7,
             "filed_at": now.isoformat(), "contact_check": "c"}
    done = {"id": "a" * 32, "receipt_no": "QS-20261127-0001", "completed_at": now.isoformat()}

    def event(event_type, payload):
        return lambda uow: record_event(uow, event_id=uuid.uuid4().hex, source="intake", event_type=event_type,
                                        occurred_at=now, payload=payload)

    _two_workers_at_once(engine, orm.Base.metadata, "evaluation", event("application_completed_on_the_spot", done),
                         event("application_filed", filed))
    with engine.connect() as connection:
        app = connection.execute(select(orm.ApplicationRow.__table__)).one()
        assert (app.township_code, app.filed_on, app.completed_on) == ("431099101", now.date(), now.date())
        metrics = sorted(connection.execute(select(orm.FactRow.metric)).scalars())
        assert metrics == ["cohort_completed", "cohort_on_time", "cohort_working_days", "completed", "on_time",
                           "received", "working_days"]
        assert connection.execute(select(orm.RateableRow.ready_on)).scalar_one() == now.date()
    engine.dispose()


@pytest.mark.parametrize("versions", [(2, 3), (3, 2)])
def test_two_snapshots_of_one_record_at_once_leave_the_newest(pg_database, versions):
    from sqlalchemy import select

    from services.evaluation.adapters import orm

    engine = make_engine(pg_database(f"snapshots_{versions[0]}"))
    orm.Base.metadata.create_all(engine)

    def snapshot(version):
        values = {"code": "QS", "name": f"v{version}", "version": version}
        return lambda uow: uow.keep_newest(orm.TownshipCopy, "QS", values)

    _two_workers_at_once(engine, orm.Base.metadata, "evaluation", snapshot(versions[0]), snapshot(versions[1]))
    with engine.connect() as connection:
        assert connection.execute(select(orm.TownshipCopy.name)).scalar_one() == "v3"
    engine.dispose()


def test_a_connection_idle_long_enough_is_checked_before_use_and_replaced_when_dead(pg_database, monkeypatch):
    """A PostgreSQL restart leaves the pool's idle connections dead: the next checkout finds out and opens
    another, so the request using it does not fail. A connection used a moment ago is not asked."""
    import shared.db

    url = pg_database("pinged")
    engine = make_engine(url)
    with engine.connect() as connection:
        first = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with engine.connect() as connection:  # back within the idle time: the same one, not asked
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() == first
    admin = make_engine(url)
    with admin.begin() as connection:  # the server ends it while it waits in the pool
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    monkeypatch.setattr(shared.db, "PING_AFTER_IDLE_SECONDS", 0.0)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != first
    engine.dispose(), admin.dispose()
