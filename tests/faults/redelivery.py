"""Duplicates and out-of-order delivery at the broker: the messages waiting in a stopped consumer's queues
are taken off, shuffled, some doubled, some old ones (already applied) added again, and put back — so
when the consumer starts it gets its events in an order no publisher produced, and several twice."""
from __future__ import annotations

import json
import random
from typing import Any

import httpx
from kombu import Connection, Producer


def queues_of(rabbit_api: str, vhost: str, service: str) -> list[str]:
    url = httpx.URL(rabbit_api)
    auth = (url.username or "guest", url.password or "guest")
    queues = httpx.get(f"{url.scheme}://{url.host}:{url.port}/api/queues/{vhost}", auth=auth, timeout=10).json()
    return sorted(q["name"] for q in queues if q["name"].startswith("evt-") and f"--{service}." in q["name"])


def shuffle_and_double(amqp_uri: str, queues: list[str], old_events: dict[str, list[dict[str, Any]]],
                       seed: int) -> dict[str, int]:
    """Take every waiting message off `queues`, put them back shuffled with a third of them twice and the
    given already-delivered events (by queue) once more; the originals are acknowledged only after the
    new copies are confirmed. Returns how many went back, how many were waiting."""
    rng = random.Random(seed)
    waiting = put_back = 0
    # publisher confirms: each publish returns once the broker holds the copy
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        producer = Producer(channel)  # the default exchange: routing key = queue name
        for queue in queues:
            taken = []
            while (message := channel.basic_get(queue, no_ack=False)) is not None:
                taken.append(message)
            waiting += len(taken)
            copies: list[tuple[bytes, dict[str, Any]]] = []
            for message in taken:
                properties = message.properties
                copy = (message.body, {"content_type": properties.get("content_type", "application/json"),
                                       "content_encoding": properties.get("content_encoding", "utf-8"),
                                       "headers": properties.get("application_headers") or {}})
                copies.append(copy)
                if rng.random() < 1 / 3:
                    copies.append(copy)
            for body in old_events.get(queue, []):
                copies.append((json.dumps(body).encode(), {"content_type": "application/json",
                                                          "content_encoding": "utf-8", "headers": {}}))
            rng.shuffle(copies)
            for body, properties in copies:
                producer.publish(body, routing_key=queue, delivery_mode=2, **properties)
            put_back += len(copies)
            for message in taken:
                channel.basic_ack(message.delivery_tag)
    return {"waiting": waiting, "put_back": put_back}
