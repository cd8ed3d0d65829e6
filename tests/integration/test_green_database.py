"""PostgreSQL under eventlet, as every service runs it: a worker waiting for a row lock must let the other
green threads of its process run — among them the one holding the lock."""
from __future__ import annotations

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
