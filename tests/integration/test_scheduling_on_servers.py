"""Appointments on PostgreSQL: many villagers booking the same slot at once (at a market-day post or
on an appointment visit) never overfill it."""
from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from services.scheduling.adapters import orm
from shared.db import ServiceDatabase
from shared.migrate import upgrade
from tests.support import ROOT

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("occasion", ["session", "visit"])
def test_parallel_bookings_never_exceed_a_slots_capacity(pg_database, occasion):
    url = pg_database("scheduling")
    upgrade("scheduling", url)
    db = ServiceDatabase("scheduling", orm.Base.metadata, url)
    start = datetime(2030, 1, 5, 0, tzinfo=UTC)
    with db.engine.begin() as conn:
        conn.execute(text("""INSERT INTO sessions (id, site_code, township_code, day, starts_at, ends_at, status,
                                 services, attendance_closed, reminded, updated_at)
                             VALUES ('s1', 'QS-JISHI', '431099101', '2030-01-05', :s, :e, 'scheduled', '[]',
                                     false, false, now())"""), {"s": start, "e": start + timedelta(hours=4)})
        conn.execute(text("""INSERT INTO visits (id, kind, township_code, village_code, title, place, day,
                                 starts_at, ends_at, status, reminded, updated_at)
                             VALUES ('v1', 'appointment', '431099101', '431099101001', '预约上门', '村委会',
                                     '2030-01-05', :s, :e, 'planned', false, now())"""),
                     {"s": start, "e": start + timedelta(hours=4)})
        slot_id = conn.execute(text(f"""INSERT INTO slots ({occasion}_id, starts_at, ends_at, capacity, booked)
                                        VALUES ('{occasion[0]}1', :s, :e, 5, 0) RETURNING id"""),
                               {"s": start, "e": start + timedelta(minutes=30)}).scalar_one()
    # twenty processes, each a villager pressing "book" at the same instant
    at = time.time() + 12  # time enough for all twenty to start and connect
    procs = [subprocess.Popen([sys.executable, str(Path(__file__).with_name("book_once.py")), url, str(slot_id),
                               str(i), str(at)], cwd=ROOT, stdout=subprocess.PIPE, text=True) for i in range(20)]
    outcomes = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert sorted(outcomes) == ["booked"] * 5 + ["slot_full"] * 15
    with db.sessions() as session:
        assert session.get(orm.SlotRow, slot_id).booked == 5
        assert session.execute(select(func.count()).select_from(orm.Booking)).scalar_one() == 5
    db.dispose()
