"""Appointments on PostgreSQL: many villagers booking the same slot at once never overfill it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from eventlet.patcher import original
from sqlalchemy import func, select, text

from services.scheduling.adapters import orm
from services.scheduling.service_layer import handlers as h
from shared.contracts.caller import Caller
from shared.contracts.scheduling import BookingCreate
from shared.db import ServiceDatabase
from shared.errors import Conflict
from shared.migrate import upgrade
from shared.pii import PersonalDataVault
from shared.settings import DEVELOPMENT_PII_KEY

pytestmark = pytest.mark.integration
real_threading = original("threading")


def test_parallel_bookings_never_exceed_a_slots_capacity(pg_database):
    url = pg_database("scheduling")
    upgrade("scheduling", url)
    db = ServiceDatabase("scheduling", orm.Base.metadata, url)
    start = datetime(2030, 1, 5, 0, tzinfo=UTC)
    with db.engine.begin() as conn:
        conn.execute(text("""INSERT INTO sessions (id, site_code, township_code, day, starts_at, ends_at, status,
                                 services, attendance_closed, reminded, updated_at)
                             VALUES ('s1', 'QS-JISHI', '431099101', '2030-01-05', :s, :e, 'scheduled', '[]',
                                     false, false, now())"""), {"s": start, "e": start + timedelta(hours=4)})
        slot_id = conn.execute(text("""INSERT INTO slots (session_id, starts_at, ends_at, capacity, booked)
                                       VALUES ('s1', :s, :e, 5, 0) RETURNING id"""),
                               {"s": start, "e": start + timedelta(minutes=30)}).scalar_one()
    vault = PersonalDataVault(DEVELOPMENT_PII_KEY)
    outcomes: list[str] = []
    barrier = real_threading.Barrier(20)

    def villager(i: int) -> None:
        uow = db.unit_of_work()
        barrier.wait()  # all twenty press "book" together
        try:
            h.book(uow, caller=Caller.public(), slot_id=slot_id, vault=vault, now=datetime.now(UTC),
                   cmd=BookingCreate(name=f"村民{i}", phone=f"139{i:08d}"))
            outcomes.append("booked")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            uow.close()

    threads = [real_threading.Thread(target=villager, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["booked"] * 5 + ["slot_full"] * 15
    with db.sessions() as session:
        assert session.get(orm.SlotRow, slot_id).booked == 5
        assert session.execute(select(func.count()).select_from(orm.Booking)).scalar_one() == 5
    db.dispose()
