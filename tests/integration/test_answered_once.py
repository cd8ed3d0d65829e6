"""A write without an Idempotency-Key is applied once however often the broker hands it out: the request id
the gateway gives every call commits with the write, and the same request delivered again (the service died
after its commit and before its acknowledgement) gets the first answer. On RabbitMQ + PostgreSQL."""
from __future__ import annotations

import uuid

import pytest
from nameko.runners import ServiceRunner
from sqlalchemy import create_engine, text

from cunban.demo import load_demo
from cunban.registry import nameko_config
from services.directory.service import DirectoryService
from services.intake.adapters.orm import Base
from services.intake.service import IntakeService
from shared.clock import utcnow
from shared.contracts.caller import Caller, Role
from shared.db import ServiceDatabase
from shared.errors import Conflict, from_wire
from shared.messaging import ANSWERED_REQUESTS_KEPT, forget_answered_requests
from shared.migrate import upgrade
from shared.observability import metrics
from shared.rpc_client import RpcClient
from shared.service import ServiceRpcConsumer
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
def intake(amqp_uri, pg_database):
    urls = {"directory": pg_database("directory"), "intake": pg_database("intake")}
    for name, url in urls.items():
        upgrade(name, url)
    config = {**nameko_config(Settings(amqp_uri=amqp_uri), []), "DB_URLS": urls, "OUTBOX_POLL_SECONDS": 0.2}
    runner = ServiceRunner(config)
    runner.add_service(DirectoryService)
    runner.add_service(IntakeService)
    runner.start()
    client = RpcClient(amqp_uri, timeout=60, pool_size=4)
    load_demo(client)
    engine = create_engine(urls["intake"])

    def catalogue_arrived():
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM rm_catalogue_items")).scalar_one() == 30

    wait_until(catalogue_arrived, 60, "the directory's catalogue events to reach intake")
    yield client, engine
    client.close()
    engine.dispose()
    runner.stop()


def deliver(client: RpcClient, request_id: str, **kwargs) -> dict:
    """The filing as the broker hands it to intake, with the request id of one gateway call."""
    headers = {"nameko.caller": AGENT.model_dump_json(exclude={"correlation_id", "scope"}),
               "nameko.correlation_id": uuid.uuid4().hex, "nameko.request_id": request_id}
    reply = client._call("intake.file_application", kwargs, headers, 60, "intake")
    if reply.get("error"):
        raise from_wire(reply["error"]["exc_type"], reply["error"]["exc_args"])
    return reply["result"]


def filings(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM applications")).scalar_one()


def test_a_filing_delivered_again_is_answered_with_the_first_answer_and_filed_once(intake):
    client, engine = intake
    request_id = uuid.uuid4().hex
    first = deliver(client, request_id, application=FILING)
    again = deliver(client, request_id, application=FILING)
    assert again == first
    assert filings(engine) == 1
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT method FROM rpc_requests WHERE request_id = :r"), {"r": request_id}).one()
    assert kept.method == "file_application"


def test_a_filing_handed_out_again_by_the_broker_after_its_commit_is_answered_once(intake, monkeypatch):
    """The broker's side of a service killed between its commit and its acknowledgement: the first delivery
    commits and is neither answered nor acknowledged but put back (as a closed connection puts it back,
    flagged redelivered); the second delivery answers the waiting caller with the first answer."""
    client, engine = intake
    requeued = []
    answer = ServiceRpcConsumer.handle_result

    def die_before_acknowledging(self, message, result, exc_info):
        if not requeued and exc_info is None:
            requeued.append(result)
            message.requeue()
            return result, exc_info
        return answer(self, message, result, exc_info)

    monkeypatch.setattr(ServiceRpcConsumer, "handle_result", die_before_acknowledging)
    answered_again = metrics.requests_answered_again.labels("intake")._value.get()
    filed = client.call("intake", "file_application", caller=AGENT, application=FILING)
    assert requeued == [filed]
    assert filings(engine) == 1
    assert metrics.requests_answered_again.labels("intake")._value.get() == answered_again + 1


def test_another_request_with_the_same_filing_is_filed_again(intake):
    """Without a key two calls are two filings: the request id tells a redelivery from a second request."""
    client, engine = intake
    deliver(client, uuid.uuid4().hex, application=FILING)
    deliver(client, uuid.uuid4().hex, application=FILING)
    assert filings(engine) == 2


def test_a_request_applied_whose_answer_was_lost_is_refused_not_applied_again(intake):
    """Died between the commit and keeping the answer: the write is there, the answer is not."""
    client, engine = intake
    request_id = uuid.uuid4().hex
    deliver(client, request_id, application=FILING)
    with engine.begin() as conn:
        conn.execute(text("UPDATE rpc_requests SET answer = NULL WHERE request_id = :r"), {"r": request_id})
    with pytest.raises(Conflict) as refused:
        deliver(client, request_id, application=FILING)
    assert refused.value.code == "request_applied"
    assert filings(engine) == 1


def test_reads_keep_no_request(intake):
    client, engine = intake
    client.call("intake", "file_application", caller=AGENT, application=FILING)
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM rpc_requests")).scalar_one()
    client.call("intake", "list_applications", caller=AGENT)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM rpc_requests")).scalar_one() == before == 1


def test_answered_requests_older_than_a_week_are_let_go(intake):
    """A redelivery comes within minutes; the relay deletes rows past ANSWERED_REQUESTS_KEPT, a batch a time."""
    client, engine = intake
    for _ in range(3):
        client.call("intake", "file_application", caller=AGENT, application=FILING)
    with engine.begin() as conn:
        conn.execute(text("UPDATE rpc_requests SET applied_at = applied_at - interval '8 days' WHERE request_id IN "
                          "(SELECT request_id FROM rpc_requests ORDER BY applied_at LIMIT 2)"))
    db = ServiceDatabase("intake", Base.metadata, engine.url.render_as_string(hide_password=False))
    try:
        assert forget_answered_requests(db, utcnow() - ANSWERED_REQUESTS_KEPT) == 2
    finally:
        db.dispose()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM rpc_requests")).scalar_one() == 1
