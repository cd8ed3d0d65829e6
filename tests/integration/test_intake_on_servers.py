"""Intake on RabbitMQ + PostgreSQL: the directory feeds intake's read model by events; two intake
instances filing concurrently never share a receipt number; staff lists use indexes at scale."""
from __future__ import annotations

import eventlet
import pytest
from nameko.runners import ServiceRunner
from sqlalchemy import create_engine, text

from cunban.demo import load_demo
from cunban.registry import nameko_config
from services.directory.service import DirectoryService
from services.intake.service import IntakeService
from shared.contracts.caller import Caller, Role
from shared.migrate import upgrade
from shared.rpc_client import RpcClient
from shared.settings import Settings
from tests.support import wait_until

pytestmark = pytest.mark.integration
QS = "431099101"
AGENT = Caller(staff_id=6, role=Role.VILLAGE_AGENT, township_code=QS, station_code=f"ST{QS}001")
FILING = {"item_code": "DB-001", "channel": "station",
          "applicant": {"name": "王五", "phone": "13712345678", "id_card": "430124197506150021",
                        "village_code": f"{QS}003"},
          "materials_provided": ["申请书", "身份证", "户口簿", "家庭收入情况说明"]}


@pytest.fixture
def cluster(amqp_uri, pg_database):
    """directory plus TWO intake instances (two runners, one database, one queue), as two replicas run."""
    urls = {"directory": pg_database("directory"), "intake": pg_database("intake")}
    for name, url in urls.items():
        upgrade(name, url)
    config = {**nameko_config(Settings(amqp_uri=amqp_uri), []), "DB_URLS": urls, "OUTBOX_POLL_SECONDS": 0.2}
    runners = []
    for services in ([DirectoryService, IntakeService], [IntakeService]):
        runner = ServiceRunner(config)
        for service in services:
            runner.add_service(service)
        runner.start()
        runners.append(runner)
    client = RpcClient(amqp_uri, timeout=60, pool_size=16)
    load_demo(client)
    intake_engine = create_engine(urls["intake"])

    def catalogue_arrived():
        with intake_engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM rm_catalogue_items")).scalar_one() == 30

    wait_until(catalogue_arrived, 60, "the directory's catalogue events to reach intake")
    yield client, intake_engine
    client.close()
    intake_engine.dispose()
    for runner in runners:
        runner.stop()


def test_concurrent_filings_on_two_instances_get_unique_receipt_numbers(cluster):
    client, engine = cluster
    pool = eventlet.GreenPool(16)
    results = list(pool.imap(lambda _: client.call("intake", "file_application", caller=AGENT,
                                                   application=FILING), range(60)))
    receipts = [r["receipt_no"] for r in results]
    assert len(set(receipts)) == 60
    sequences = sorted(int(r.rsplit("-", 1)[1]) for r in receipts)
    assert sequences == list(range(1, 61))  # no gap either: a number is only used by a committed filing
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(DISTINCT receipt_no), count(*) FROM applications")).one()
    assert tuple(stored) == (60, 60)


def test_an_idempotent_retry_racing_the_first_request_files_once(cluster):
    client, engine = cluster
    pool = eventlet.GreenPool(8)
    results = list(pool.imap(lambda _: client.call("intake", "file_application", caller=AGENT, application=FILING,
                                                   idempotency_key="flaky-network-0042"), range(8)))
    assert len({r["id"] for r in results}) == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM applications")).scalar_one() == 1


def test_staff_lists_are_index_scans_at_scale(cluster):
    """200,000 applications across 30 townships: every list query is an index scan, never a full scan."""
    client, engine = cluster
    client.call("intake", "file_application", caller=AGENT, application=FILING)
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO applications (id, receipt_no, township_code, station_code, village_code, item_code, item_name,
                item_kind, handling_level, promised_days, channel, status, filed_at, promised_deadline,
                accountable_staff_id, materials_provided, applicant_name_enc, applicant_phone_enc,
                applicant_id_card_enc, applicant_id_hash)
            SELECT md5(g::text), '4310991' || lpad((g % 30)::text, 2, '0') || '-20260101-' || g, '4310991'
                || lpad((g % 30)::text, 2, '0'), 'ST' || g % 300, '431099101001', 'DB-001', 'x', 'promised',
                'township', 20, 'station', (ARRAY['received','accepted','completed'])[1 + g % 3],
                now() - (g || ' minutes')::interval, current_date - (g % 90), 6, '[]', 'k:x', 'k:x', 'k:x', md5(g::text)
            FROM generate_series(1, 200000) AS g"""))
        conn.execute(text("ANALYZE applications"))
    queries = {
        "township page": "township_code = '431099101' ORDER BY filed_at DESC, id DESC LIMIT 51",
        "station page": "station_code = 'ST7' ORDER BY filed_at DESC, id DESC LIMIT 51",
        "status page": "township_code = '431099101' AND status = 'accepted' ORDER BY filed_at DESC, id DESC LIMIT 51",
        "next page": "township_code = '431099101' AND (filed_at, id) < (now() - interval '30 days', 'zz') "
                     "ORDER BY filed_at DESC, id DESC LIMIT 51",
        "mine": "accountable_staff_id = 6 AND township_code = '431099101' ORDER BY filed_at DESC, id DESC LIMIT 51",
        "overdue": "township_code = '431099101' AND promised_deadline < current_date AND status NOT IN "
                   "('refused','completed','delivered') ORDER BY filed_at DESC, id DESC LIMIT 51",
    }
    with engine.connect() as conn:
        for name, where in queries.items():
            plan = "\n".join(conn.execute(text(f"EXPLAIN SELECT * FROM applications WHERE {where}")).scalars())
            assert "Seq Scan" not in plan, f"{name}:\n{plan}"
            assert "Index" in plan, f"{name}:\n{plan}"
