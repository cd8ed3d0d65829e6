"""On a real RabbitMQ and PostgreSQL: outbox → relay → consumer applies each event exactly once, even
when it is delivered again; typed errors cross RPC; a call without identity is refused."""
from __future__ import annotations

import time

import pytest
from nameko.exceptions import RemoteError
from nameko.runners import ServiceRunner
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import Integer, String, create_engine, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from cunban.registry import nameko_config
from services.directory.adapters.orm import Base as DirectoryBase
from services.directory.service import DirectoryService
from shared.clock import utcnow
from shared.contracts.caller import Caller, Role
from shared.contracts.envelope import EventEnvelope
from shared.db import Database
from shared.errors import NotFound, ValidationFailed
from shared.messaging import EventPublisher, on_event
from shared.messaging_tables import add_messaging_tables
from shared.migrate import upgrade
from shared.observability import Observed, metrics
from shared.rpc_client import RpcClient
from shared.settings import Settings
from tests.support import wait_until

pytestmark = pytest.mark.integration
ADMIN = Caller(staff_id=1, username="admin", role=Role.COUNTY_ADMIN, county_code="431099")


class ListenerBase(DeclarativeBase):
    pass


add_messaging_tables(ListenerBase.metadata)


class SeenTownship(ListenerBase):
    """A read model as later services keep one: the newest snapshot, and how often an event was applied."""

    __tablename__ = "seen_townships"
    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    times_applied: Mapped[int] = mapped_column(Integer)


class TownshipListener:
    name = "township_listener"
    db = Database(ListenerBase.metadata)
    observed = Observed()

    @on_event("directory", "township_changed")
    def on_township_changed(self, envelope: EventEnvelope) -> None:
        _see(self.db.session, envelope.payload)

    @on_event("directory", "township_changed", once=False, when=lambda p: p["code"].endswith("9"))
    def on_township_ending_in_nine(self, envelope: EventEnvelope) -> None:
        NINES.append(envelope.payload["code"])


NINES: list[str] = []  # what the handler with `when` was given


def _see(session: Session, township: dict) -> None:
    row = session.get(SeenTownship, township["code"])
    if row is None:
        session.add(SeenTownship(code=township["code"], name=township["name"], version=township["version"],
                                 times_applied=1))
    else:
        row.times_applied += 1
        if township["version"] > row.version:
            row.name, row.version = township["name"], township["version"]


class BatchListener:
    """Fails on a township named "poison", as a handler with a bug in one corner would."""

    name = "batch_listener"
    db = Database(ListenerBase.metadata)
    observed = Observed()

    @on_event("directory", "township_changed")
    def on_township_changed(self, envelope: EventEnvelope) -> None:
        if envelope.payload["name"] == "poison":
            raise ValueError("this township cannot be applied")
        _see(self.db.session, envelope.payload)


@pytest.fixture
def system(amqp_uri, pg_database):
    directory_url, listener_url = pg_database("directory"), pg_database("listener")
    upgrade("directory", directory_url)
    listener_engine = create_engine(listener_url)
    ListenerBase.metadata.create_all(listener_engine)
    config = nameko_config(Settings(amqp_uri=amqp_uri), [])
    config["DB_URLS"] = {"directory": directory_url, "township_listener": listener_url}
    config["OUTBOX_POLL_SECONDS"] = 0.2
    runner = ServiceRunner(config)
    runner.add_service(DirectoryService)
    runner.add_service(TownshipListener)
    runner.start()
    client = RpcClient(amqp_uri, timeout=30, pool_size=2)
    client.call("directory", "bootstrap_county", caller=Caller.system(), code="431099", name="清水县")
    yield {"client": client, "directory": create_engine(directory_url), "listener": listener_engine,
           "config": config}
    client.close()
    runner.stop()
    listener_engine.dispose()


def _seen(engine, code):
    with Session(engine) as session:
        row = session.get(SeenTownship, code)
        return None if row is None else (row.name, row.version, row.times_applied)


def test_a_committed_change_reaches_the_consumer_once(system):
    system["client"].call("directory", "create_township", caller=ADMIN,
                          township={"code": "431099101", "name": "青石镇"})
    assert wait_until(lambda: _seen(system["listener"], "431099101"), 30, "the event") == ("青石镇", 1, 1)
    system["client"].call("directory", "update_township", caller=ADMIN, code="431099101",
                          changes={"name": "青石镇人民政府"})
    wait_until(lambda: _seen(system["listener"], "431099101")[1] == 2, 30, "the update event")
    assert _seen(system["listener"], "431099101") == ("青石镇人民政府", 2, 2)


def test_redelivered_events_are_applied_once(system):
    """Simulate a relay crash after publishing but before marking: every event goes out again."""
    system["client"].call("directory", "create_township", caller=ADMIN,
                          township={"code": "431099102", "name": "柳溪乡"})
    wait_until(lambda: _seen(system["listener"], "431099102"), 30, "the first delivery")
    duplicates = metrics.events_consumed.labels("township_listener", "township_changed", "duplicate")
    before = duplicates._value.get()
    outbox = DirectoryBase.metadata.tables["outbox"]
    with system["directory"].begin() as conn:
        conn.execute(update(outbox).where(outbox.c.event_type == "township_changed").values(published_at=None))
    wait_until(lambda: duplicates._value.get() >= before + 1, 30, "the redelivery to be recognised")
    time.sleep(0.5)
    assert _seen(system["listener"], "431099102") == ("柳溪乡", 1, 1)


def test_typed_errors_cross_rpc_on_rabbitmq(system):
    with pytest.raises(NotFound) as err:
        system["client"].call("directory", "get_township", caller=ADMIN, code="431099199")
    assert err.value.code == "township_not_found"
    with pytest.raises(ValidationFailed) as err:
        system["client"].call("directory", "create_township", caller=ADMIN, township={"code": "1", "name": ""})
    assert {d["field"] for d in err.value.details} == {"code", "name"}


def test_a_call_without_caller_identity_is_refused(system):
    with ClusterRpcProxy(system["config"], timeout=30) as proxy, pytest.raises(RemoteError) as err:
        proxy.directory.list_townships()
    assert err.value.exc_type == "Unauthenticated"


def test_nothing_stays_in_the_outbox(system):
    system["client"].call("directory", "create_township", caller=ADMIN,
                          township={"code": "431099103", "name": "龙口镇"})
    outbox = DirectoryBase.metadata.tables["outbox"]

    def drained():
        with system["directory"].connect() as conn:
            return conn.execute(outbox.select().where(outbox.c.published_at.is_(None))).first() is None

    wait_until(drained, 30, "the outbox to drain")
    wait_until(lambda: metrics.outbox_backlog.labels("directory")._value.get() == 0, 10, "the backlog gauge")


def test_the_client_reconnects_after_the_broker_drops_its_connections(system, servers):
    """RabbitMQ dropping every connection (as on a broker restart) costs the gateway no failed call: its
    idle pooled connection is replaced, and the durable RPC queue holds the request until nameko's
    consumer is back."""
    import httpx

    client = system["client"]
    client.call("directory", "list_townships", caller=ADMIN)
    api = httpx.URL(servers[1])
    vhost = system["config"]["AMQP_URI"].rsplit("/", 1)[1]
    base = f"{api.scheme}://{api.host}:{api.port}/api"
    with httpx.Client(auth=(api.username, api.password), timeout=10) as http:
        connections = wait_until(lambda: http.get(f"{base}/vhosts/{vhost}/connections").json(), 30,
                                 "the management API to list the connections")
        for connection in connections:
            http.delete(f"{base}/connections/{connection['name']}")
    time.sleep(0.5)
    assert client.call("directory", "list_townships", caller=ADMIN) == []


def test_the_callers_correlation_id_travels_into_the_event(system):
    caller = ADMIN.model_copy(update={"correlation_id": "station-req-20261128-0001"})
    system["client"].call("directory", "create_township", caller=caller,
                          township={"code": "431099104", "name": "白沙镇"})
    outbox = DirectoryBase.metadata.tables["outbox"]
    with system["directory"].connect() as conn:
        body = conn.execute(outbox.select().where(outbox.c.event_type == "township_changed")
                            .order_by(outbox.c.id.desc())).first().body
    assert body["correlation_id"] == "station-req-20261128-0001"
    assert body["township_code"] == "431099104" and body["source"] == "directory"


def test_an_event_that_does_not_concern_a_handler_is_acknowledged_without_running_it(system):
    ignored = metrics.events_consumed.labels("township_listener", "township_changed", "ignored")
    before = ignored._value.get()
    for code, name in (("431099103", "桃源镇"), ("431099109", "九溪镇")):
        system["client"].call("directory", "create_township", caller=ADMIN, township={"code": code, "name": name})
    wait_until(lambda: _seen(system["listener"], "431099109"), 30, "both townships")
    wait_until(lambda: NINES == ["431099109"], 30, "the township ending in 9 to reach its handler")
    assert ignored._value.get() >= before + 1  # the other (and the county's bootstrap) acknowledged unseen


def test_events_waiting_in_the_queue_are_applied_in_batches_each_once(amqp_uri, pg_database):
    """Events that queued while the consumer was away come to it in batches of up to the prefetch, each
    batch in one transaction; an event delivered twice within a batch is applied once; a batch holding an
    event that fails is applied again one by one, so only that event becomes a dead letter."""
    url = pg_database("batch_listener")
    engine = create_engine(url)
    ListenerBase.metadata.create_all(engine)
    config = nameko_config(Settings(amqp_uri=amqp_uri), [])
    config["DB_URLS"] = {"batch_listener": url}
    runner = ServiceRunner(config)
    runner.add_service(BatchListener)
    runner.start()  # declares the listener's durable queue
    runner.stop()
    sizes = metrics.event_batch_size.labels("batch_listener", "township_changed")
    batches_before, events_before = sum(b.get() for b in sizes._buckets), sizes._sum.get()
    duplicates = metrics.events_consumed.labels("batch_listener", "township_changed", "duplicate")
    duplicates_before = duplicates._value.get()

    publish = EventPublisher(amqp_uri, "directory", config)
    envelopes = [EventEnvelope(source="directory", type="township_changed", occurred_at=utcnow(),
                               payload={"code": f"431099{300 + n}", "name": "poison" if n == 17 else f"镇{n}",
                                        "version": 1}).model_dump(mode="json") for n in range(40)]
    for envelope in envelopes + envelopes[:5]:  # five delivered twice
        publish(envelope)
    publish.close()

    runner = ServiceRunner(config)
    runner.add_service(BatchListener)
    runner.start()
    try:
        dead_letters = ListenerBase.metadata.tables["dead_letters"]

        def poisoned() -> list:
            with engine.connect() as conn:
                return conn.execute(dead_letters.select()).all()

        wait_until(lambda: all(_seen(engine, f"431099{300 + n}") for n in range(40) if n != 17), 60,
                   "every good township")
        assert [row.event_id for row in wait_until(poisoned, 60, "the poison's dead letter")] == \
            [envelopes[17]["event_id"]]
        wait_until(lambda: duplicates._value.get() >= duplicates_before + 5, 30, "the five repeats recognised")
        time.sleep(0.5)
        assert all(_seen(engine, f"431099{300 + n}")[2] == 1 for n in range(40) if n != 17)
        assert _seen(engine, "431099317") is None
        handed = sizes._sum.get() - events_before
        assert handed == 45  # every delivery handed to a worker once, in one batch or another
        assert sum(b.get() for b in sizes._buckets) - batches_before < handed  # and some batches held more than one
    finally:
        runner.stop()
        engine.dispose()
