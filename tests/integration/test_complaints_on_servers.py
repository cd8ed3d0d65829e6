"""Complaints on PostgreSQL: two instances sweeping the same overdue stages at the same moment issue
each 督办 notice once, and a restart finds nothing left to do."""
from __future__ import annotations

from datetime import UTC, datetime

import eventlet
import pytest
from sqlalchemy import func, select, text

from services.complaints.adapters import orm
from services.complaints.service_layer import stages
from shared.db import ServiceDatabase
from shared.migrate import upgrade

pytestmark = pytest.mark.integration


def test_two_instances_sweeping_together_issue_each_notice_once(pg_database):
    url = pg_database("complaints")
    upgrade("complaints", url)
    db = ServiceDatabase("complaints", orm.Base.metadata, url)
    with db.engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO complaints (id, receipt_no, kind, network, category, channel, township_code, village_code,
                description, anonymous, status, stage, stage_seq, stage_started_on, stage_limit_days,
                stage_warn_on, stage_due_on, reopen_count, registered_at, handler_staff_id)
            SELECT md5(g::text), '431099101-TS20261201-' || lpad(g::text, 4, '0'), 'dispute', 'mediation', 'land',
                'hotline', '431099101', '431099101002', '纠纷', false, 'signed', 'reply', 2, DATE '2026-12-01', 30,
                DATE '2027-01-01', DATE '2027-01-12', 0, now(), 3
            FROM generate_series(1, 150) g"""))
    when = datetime(2027, 1, 20, 2, tzinfo=UTC)

    def sweep_once(_=None):  # one instance's timer tick, in its own unit of work
        uow = db.unit_of_work()
        try:
            return stages.sweep(uow, now=when)
        finally:
            uow.close()

    results = list(eventlet.GreenPool(2).imap(sweep_once, range(2)))
    assert sum(noticed for _, noticed in results) == 150
    assert sum(warned for warned, _ in results) == 0  # past due: the notice, not a warning
    with db.sessions() as session:
        assert session.execute(select(func.count()).select_from(orm.NoticeRow)).scalar_one() == 150
        outbox = orm.Base.metadata.tables["outbox"]
        assert session.execute(select(func.count()).select_from(outbox)).scalar_one() == 150
    assert sweep_once() == (0, 0)
    db.dispose()
