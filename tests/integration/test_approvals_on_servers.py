"""Approvals on RabbitMQ + PostgreSQL: an application filed at intake reaches approvals by event and
its progress comes back to intake; two instances sweeping the same due deadlines at the same moment
issue each notice once."""
from __future__ import annotations

from datetime import UTC, datetime

import eventlet
import pytest
from nameko.runners import ServiceRunner
from sqlalchemy import create_engine, func, select, text

from cunban.demo import COUNTIES, load_demo
from cunban.registry import nameko_config
from services.approvals.adapters import orm
from services.approvals.service import ApprovalsService
from services.approvals.service_layer import sweep
from services.directory.service import DirectoryService
from services.intake.service import IntakeService
from shared.contracts.caller import Caller, Role
from shared.contracts.directory import HandlingLevel, default_workflow
from shared.db import ServiceDatabase
from shared.migrate import upgrade
from shared.rpc_client import RpcClient
from shared.settings import Settings
from tests.support import wait_until

pytestmark = pytest.mark.integration
QS = "431099101"
AGENT = Caller(staff_id=6, role=Role.VILLAGE_AGENT, township_code=QS, station_code=f"ST{QS}001")
CADRE = Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=QS)
FILING = {"item_code": "DB-001", "channel": "station",
          "materials_provided": ["申请书", "身份证", "户口簿", "家庭收入情况说明"],
          "applicant": {"name": "孙八", "phone": "13312345678", "id_card": "430124197506150021",
                        "village_code": f"{QS}002"}}


@pytest.fixture
def system(amqp_uri, pg_database):
    urls = {name: pg_database(name) for name in ("directory", "intake", "approvals")}
    for name, url in urls.items():
        upgrade(name, url)
    config = {**nameko_config(Settings(amqp_uri=amqp_uri), []), "DB_URLS": urls, "OUTBOX_POLL_SECONDS": 0.2}
    runner = ServiceRunner(config)
    for service in (DirectoryService, IntakeService, ApprovalsService):
        runner.add_service(service)
    runner.start()
    client = RpcClient(amqp_uri, timeout=60, pool_size=8)
    load_demo(client)
    approvals_db = ServiceDatabase("approvals", orm.Base.metadata, urls["approvals"])
    yield client, approvals_db, create_engine(urls["intake"])
    client.close()
    runner.stop()
    approvals_db.dispose()


def test_filed_applications_reach_approvals_and_progress_returns_to_intake(system):
    client, approvals_db, intake_engine = system
    wait_until(lambda: _try_file(client), 60, "intake's read model")
    filed = client.call("intake", "list_applications", caller=CADRE, query={})["items"][0]
    case = wait_until(lambda: _case(client, filed["receipt_no"]), 30, "the case to open at approvals")
    assert case["status"] == "pending_acceptance"
    client.call("approvals", "act", caller=CADRE, ref=filed["receipt_no"], action={"action": "accept"})
    wait_until(lambda: client.call("intake", "get_application", caller=AGENT, ref=filed["id"])["status"]
               == "accepted", 30, "intake to hear of the acceptance")
    seen = client.call("intake", "get_application", caller=AGENT, ref=filed["id"])
    assert seen["promised_deadline"] == case["overall_due"] and seen["handler_staff_ids"] == [CADRE.staff_id]


def _try_file(client):
    from shared.errors import ValidationFailed

    try:
        return client.call("intake", "file_application", caller=AGENT, application=FILING)
    except ValidationFailed:
        return None


def _case(client, receipt_no):
    from shared.errors import NotFound

    try:
        return client.call("approvals", "get_case", caller=CADRE, ref=receipt_no)
    except NotFound:
        return None


def test_two_instances_sweeping_together_issue_each_notice_once(system):
    _, approvals_db, _ = system

    def calendar_settled():  # every official day the directory announced has arrived, for every demo county
        with approvals_db.sessions() as session:
            days = dict(session.execute(select(orm.CalendarDayCopy.county_code, func.count())
                                        .group_by(orm.CalendarDayCopy.county_code)).all())
        return all(days.get(county["code"], 0) > 700 for county in COUNTIES)

    wait_until(calendar_settled, 60, "the directory's calendar events")
    sweep.sweep(approvals_db.unit_of_work(), now=datetime(2026, 1, 1, tzinfo=UTC))
    workflow = default_workflow(HandlingLevel.TOWNSHIP, 15).model_dump_json()
    with approvals_db.engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO cases (application_id, receipt_no, township_code, item_code, accountable_staff_id, workflow,
                promised_days, received_on, filed_at, status, step_index, extension_days, pauses, overall_due,
                updated_at)
            SELECT md5(g::text), '431099101-20260101-' || g, '431099101', 'DB-001', 6, CAST(:workflow AS json), 15,
                DATE '2026-01-01', now(), 'in_review', 0, 0, '[]', DATE '2026-01-22', now()
            FROM generate_series(1, 200) g"""), {"workflow": workflow})
        conn.execute(text("""
            INSERT INTO deadlines (application_id, kind, started_on, warn_on, due_on)
            SELECT md5(g::text), 'overall', DATE '2026-01-01', DATE '2026-01-19', DATE '2026-01-22'
            FROM generate_series(1, 200) g"""))
    when = datetime(2026, 2, 2, 2, tzinfo=UTC)
    pool = eventlet.GreenPool(2)
    results = list(pool.imap(lambda _: sweep.sweep(approvals_db.unit_of_work(), now=when), range(2)))
    assert sum(noticed for _, noticed in results) == 200
    assert sum(warned for warned, _ in results) == 0  # overdue claims also mark the warning as given
    with approvals_db.sessions() as session:
        per_kind = dict(session.execute(select(orm.NoticeRow.kind, func.count()).group_by(orm.NoticeRow.kind)).all())
    assert per_kind == {"supervision": 200, "accountability": 200}
    assert sweep.sweep(approvals_db.unit_of_work(), now=when) == (0, 0)  # a restart finds nothing left to do


def test_a_sweep_waits_for_a_staff_action_that_holds_the_case(pg_database):
    """A staff action locks its case and then rewrites the case's deadlines; the sweep must take the
    same locks in the same order. Claiming the deadline first would leave each waiting on the other
    until PostgreSQL failed one of them (deadlock detected)."""
    url = pg_database("approvals")
    upgrade("approvals", url)
    approvals_db = ServiceDatabase("approvals", orm.Base.metadata, url)
    workflow = default_workflow(HandlingLevel.TOWNSHIP, 15).model_dump_json()
    with approvals_db.engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO cases (application_id, receipt_no, township_code, item_code, accountable_staff_id, workflow,
                promised_days, received_on, filed_at, status, step_index, extension_days, pauses, overall_due,
                updated_at)
            VALUES ('a1', '431099101-20260101-1', '431099101', 'DB-001', 6, CAST(:workflow AS json), 15,
                DATE '2026-01-01', now(), 'in_review', 0, 0, '[]', DATE '2026-01-22', now())"""),
                     {"workflow": workflow})
        conn.execute(text("""
            INSERT INTO deadlines (application_id, kind, started_on, warn_on, due_on)
            VALUES ('a1', 'overall', DATE '2026-01-01', DATE '2026-01-19', DATE '2026-01-22')"""))
    try:
        with approvals_db.engine.connect() as action:
            action.execute(text("SELECT 1 FROM cases WHERE application_id = 'a1' FOR UPDATE"))
            sweeping = eventlet.spawn(sweep.sweep, approvals_db.unit_of_work(), now=datetime(2026, 2, 2, 2, tzinfo=UTC))
            eventlet.sleep(0.5)  # the sweep has found the due deadline and waits for the case
            action.execute(text("UPDATE deadlines SET due_on = DATE '2026-01-23' WHERE application_id = 'a1'"))
            action.commit()
        assert sweeping.wait() == (0, 1)
        with approvals_db.sessions() as session:
            kinds = sorted(session.execute(select(orm.NoticeRow.kind)).scalars())
            due_on = session.execute(select(orm.DeadlineRow.due_on)).scalar_one()
        assert kinds == ["accountability", "supervision"]
        assert due_on.isoformat() == "2026-01-23"  # the action's change stands
    finally:
        approvals_db.dispose()
