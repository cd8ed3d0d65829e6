"""A process keeps what it read of its read-model copies for a short while: a change it applies itself is
seen at once, one applied by another replica within CopyCache.seconds."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from services.intake.adapters import orm
from shared.db import ServiceDatabase

VILLAGE = {"code": "431099103001", "township_code": "431099103", "name": "桃源村", "version": 1}


@pytest.fixture
def replicas(tmp_path):
    """Two processes of one service on one database."""
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    first, second = ServiceDatabase("intake", orm.Base.metadata, url), ServiceDatabase("intake", orm.Base.metadata, url)
    orm.Base.metadata.create_all(first.engine)
    yield first, second
    first.dispose(), second.dispose()


def _read(db: ServiceDatabase, code: str = VILLAGE["code"]):
    uow = db.unit_of_work()
    try:
        return uow.copy(orm.VillageCopy, code)
    finally:
        uow.close()


def _keep(db: ServiceDatabase, **changes) -> None:
    uow = db.unit_of_work()
    uow.keep_newest(orm.VillageCopy, VILLAGE["code"], {**VILLAGE, **changes})
    uow.commit()
    uow.close()


def test_a_change_the_process_applies_is_read_at_once_even_an_absent_row(replicas):
    db, _ = replicas
    assert _read(db) is None  # remembered as absent …
    _keep(db)
    assert _read(db).name == "桃源村"  # … and forgotten when the village arrives
    _keep(db, name="桃花村", version=2)
    assert _read(db).name == "桃花村"


def test_another_replicas_change_is_read_once_the_cached_row_is_old_enough(replicas):
    db, other = replicas
    other.copies.seconds = 0.5
    _keep(db)
    assert _read(other).name == "桃源村"
    _keep(db, name="桃花村", version=2)
    assert _read(db).name == "桃花村"
    assert _read(other).name == "桃源村"  # still within its few seconds
    time.sleep(0.5)
    assert _read(other).name == "桃花村"


def test_a_row_read_while_the_change_was_uncommitted_is_forgotten_at_the_commit(replicas):
    db, _ = replicas
    _keep(db)
    writer = db.unit_of_work()
    writer.keep_newest(orm.VillageCopy, VILLAGE["code"], {**VILLAGE, "name": "桃花村", "version": 2})
    assert _read(db).name == "桃源村"  # another worker reads the committed row meanwhile, and keeps it
    writer.commit()
    writer.close()
    assert _read(db).name == "桃花村"


def test_the_rows_handed_out_are_not_tied_to_any_session(replicas):
    db, _ = replicas
    _keep(db)
    row = _read(db)
    with db.sessions() as session:
        session.execute(update(orm.VillageCopy).values(name="改过"))
        session.commit()
    assert row.name == "桃源村" and _read(db) is row  # nothing expires it or loads it again
