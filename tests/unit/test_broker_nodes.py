"""The broker's nodes in settings: a list of URIs, taken in an order of each process's own."""
from __future__ import annotations

import random

from kombu import Connection

from shared.broker import deliveries_before, failover_url, quorum_arguments
from shared.settings import Settings

NODES = ["amqp://u:p@rabbit-0:5672/", "amqp://u:p@rabbit-1:5672/", "amqp://u:p@rabbit-2:5672/"]


def test_a_list_of_nodes_becomes_a_failover_url_holding_each_node_once():
    url = Settings(amqp_uri=", ".join(NODES)).amqp_uri
    assert sorted(url.split(";")) == NODES
    connection = Connection(url)
    assert sorted(connection.alt) == NODES  # kombu moves to the next node when one fails


def test_processes_take_the_nodes_in_orders_of_their_own():
    orders = {failover_url(",".join(NODES), random.Random(seed)) for seed in range(20)}
    assert len(orders) > 1
    assert {order.split(";")[0] for order in orders} == set(NODES)  # each node is some process's first


def test_one_uri_and_the_memory_broker_stay_as_they_are():
    assert Settings(amqp_uri=NODES[0]).amqp_uri == NODES[0]
    assert Settings().amqp_uri == "memory://"
    assert failover_url(";".join(NODES[:2]), random.Random(1)).count(";") == 1


def test_durable_queues_are_declared_quorum_and_a_first_delivery_counts_zero():
    assert quorum_arguments() == {"x-queue-type": "quorum"}
    assert quorum_arguments(5) == {"x-queue-type": "quorum", "x-delivery-limit": 5}

    class Delivered:
        headers = {"x-delivery-count": 3}

    assert deliveries_before(Delivered()) == 3
    assert deliveries_before(object()) == 0


def test_no_node_of_the_list_shows_its_password_in_a_log():
    from shared.masking import mask_text

    line = ("Error connecting to broker at amqp://u:********@rabbit-0:5672/;amqp://u:s3cret@rabbit-1:5672/;"
            "amqp://u:s3cret@rabbit-2:5672/ ([Errno 111])")
    masked = mask_text(line)
    assert "s3cret" not in masked and masked.count("u:********@") == 3 and "rabbit-2:5672" in masked
