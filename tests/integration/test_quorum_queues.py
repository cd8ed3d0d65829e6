"""On a real RabbitMQ: every durable queue cunban declares is a quorum queue (reply queues stay exclusive
classic ones), and an event that keeps killing its consumer ends as a dead letter instead of looping."""
from __future__ import annotations

import httpx
import pytest
from kombu import Connection, Queue
from nameko.runners import ServiceRunner
from sqlalchemy import create_engine

from cunban.queues import declare_queues
from cunban.registry import nameko_config
from shared.broker import POISON_DELIVERIES, arguments_for, quorum_arguments
from shared.clock import utcnow
from shared.contracts.caller import Caller
from shared.contracts.envelope import EventEnvelope
from shared.messaging import DeadLetters, EventPublisher
from shared.rpc_client import RpcClient
from shared.service import CallerContext
from shared.settings import Settings
from tests.integration.test_messaging import BatchListener, ListenerBase, _seen
from tests.support import wait_until

pytestmark = pytest.mark.integration


class ListenerWithDeadLetters(BatchListener, DeadLetters):
    """The listener with an RPC entrypoint of its own (so a request queue too), as every service has."""

    caller = CallerContext()


LISTENER_QUEUE = "evt-directory-township_changed--batch_listener.on_township_changed"


def _queues(servers, vhost: str) -> dict[str, dict]:
    url = httpx.URL(servers[1])
    found = httpx.get(f"{url.scheme}://{url.host}:{url.port}/api/queues/{vhost}",
                      auth=(url.username or "guest", url.password or "guest"), timeout=10).json()
    return {q["name"]: q for q in found}


@pytest.fixture
def listener(amqp_uri, pg_database):
    url = pg_database("batch_listener")
    engine = create_engine(url)
    ListenerBase.metadata.create_all(engine)
    config = nameko_config(Settings(amqp_uri=amqp_uri), [])
    config["DB_URLS"] = {"batch_listener": url}
    runners: list[ServiceRunner] = []

    def start() -> ServiceRunner:
        runner = ServiceRunner(config)
        runner.add_service(ListenerWithDeadLetters)
        runner.start()
        runners.append(runner)
        return runner

    yield {"start": start, "engine": engine, "config": config, "amqp_uri": amqp_uri}
    for runner in runners:
        runner.stop()
    engine.dispose()


def test_rpc_and_event_queues_are_quorum_queues_and_reply_queues_stay_classic(listener, servers):
    runner = listener["start"]()
    client = RpcClient(listener["amqp_uri"], timeout=30, pool_size=1)
    try:
        dead = client.call("batch_listener", "dead_letters", caller=Caller.system())
        assert dead == []
        vhost = httpx.URL(listener["amqp_uri"].split(";")[0]).path.lstrip("/")
        queues = _queues(servers, vhost)
        assert queues["rpc-batch_listener"]["type"] == "quorum"
        assert queues[LISTENER_QUEUE]["type"] == "quorum"
        assert queues["rpc-batch_listener"]["arguments"]["x-delivery-limit"] > 0
        replies = [q for name, q in queues.items() if name.startswith("rpc.reply-cunban-")]
        assert replies and all(q["type"] == "classic" and q["exclusive"] for q in replies)
    finally:
        client.close()
        runner.stop()


def test_an_event_that_keeps_killing_its_consumer_becomes_a_dead_letter_and_the_queue_moves_on(listener):
    """Each consumer that took the event died holding it (its connection closed unsettled); the broker
    counts every such return. At POISON_DELIVERIES the service keeps it as a dead letter, unapplied."""
    runner = listener["start"]()  # declares the listener's quorum queue
    runner.stop()
    make = [EventEnvelope(source="directory", type="township_changed", occurred_at=utcnow(),
                          payload={"code": code, "name": name, "version": 1}).model_dump(mode="json")
            for code, name in (("431099401", "杀手镇"), ("431099402", "平安镇"))]
    publish = EventPublisher(listener["amqp_uri"], "directory", listener["config"])
    publish(make[0])
    publish.close()
    for _ in range(POISON_DELIVERIES):  # a consumer takes it and dies before settling it
        with Connection(listener["amqp_uri"]) as connection:
            channel = connection.channel()
            assert channel.basic_get(LISTENER_QUEUE, no_ack=False) is not None
    publish = EventPublisher(listener["amqp_uri"], "directory", listener["config"])
    publish(make[1])
    publish.close()

    listener["start"]()
    engine = listener["engine"]
    dead_letters = ListenerBase.metadata.tables["dead_letters"]

    def kept() -> list:
        with engine.connect() as conn:
            return conn.execute(dead_letters.select()).all()

    rows = wait_until(kept, 60, "the dead letter")
    assert [(row.event_id, row.handler) for row in rows] == [(make[0]["event_id"],
                                                               "batch_listener.on_township_changed")]
    assert f"handed out {POISON_DELIVERIES} times" in rows[0].error
    wait_until(lambda: _seen(engine, "431099402"), 60, "the next event")
    assert _seen(engine, "431099401") is None  # never applied: it may be what killed the consumers


def test_declare_queues_makes_every_queue_a_service_consumes_before_it_runs(amqp_uri, servers):
    """What an installation moving off classic queues runs before starting the services: an event published
    before its consumer ever ran waits in the consumer's queue."""
    settings = Settings(amqp_uri=amqp_uri)
    names = declare_queues(settings, ["intake"])
    assert declare_queues(settings, ["intake"]) == names  # again: the same queues, the same arguments
    vhost = httpx.URL(amqp_uri).path.lstrip("/")
    queues = _queues(servers, vhost)
    assert "rpc-intake" in names and all(queues[name]["type"] == "quorum" for name in names)
    consumer = next(name for name in names if name.startswith("evt-directory-village_changed--intake."))
    publish = EventPublisher(amqp_uri, "directory", {})
    publish(EventEnvelope(source="directory", type="village_changed", occurred_at=utcnow(),
                          payload={"code": "431099501", "name": "等候镇", "version": 1}).model_dump(mode="json"))
    publish.close()
    with Connection(amqp_uri) as connection:
        waiting = connection.channel().queue_declare(consumer, passive=True).message_count
    assert waiting == 1


def test_a_classic_queue_of_an_earlier_release_is_used_as_it_is_during_a_rolling_update(amqp_uri, servers, caplog):
    """The previous release declared the listener's queues classic; this release's service starts beside it
    (a rolling update) and consumes the same queues instead of being refused and exiting. A queue new in this
    release is a quorum queue."""
    vhost = amqp_uri.rsplit("/", 1)[1]
    with Connection(amqp_uri) as connection:
        connection.channel().queue_declare(queue=LISTENER_QUEUE, durable=True, auto_delete=False)  # classic
    queue = Queue(LISTENER_QUEUE, durable=True)
    assert arguments_for(amqp_uri, queue, quorum_arguments()) == {}
    assert "classic queue of an earlier release" in caplog.text
    assert arguments_for(amqp_uri, Queue("evt-new-in-this-release", durable=True), quorum_arguments()) == \
        quorum_arguments()
    queues = _queues(servers, vhost)
    assert queues[LISTENER_QUEUE]["type"] == "classic" and queues["evt-new-in-this-release"]["type"] == "quorum"
