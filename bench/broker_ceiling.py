"""The broker's ceiling for cunban's RPCs: a raw kombu request/reply round trip on the same RabbitMQ, with
nothing of nameko or cunban in the way (an echo consumer on one queue, a client waiting on its own
exclusive reply queue, as shared/rpc_client.py does). The first baseline of issue 10's benchmark.

Usage: .venv/bin/python bench/broker_ceiling.py [calls] [clients]
Needs RabbitMQ (deploy/scripts/local-servers.sh start); CUNBAN_BENCH_AMQP_URI overrides
amqp://guest:guest@127.0.0.1:5672//.
"""
from __future__ import annotations

import os
import statistics
import sys
import threading
import time
import uuid

from kombu import Connection, Consumer, Exchange, Producer, Queue

EXCHANGE = Exchange("cunban-bench", type="direct", durable=False, auto_delete=True)


def echo_server(uri: str, queue_name: str, ready: threading.Event, stop: threading.Event) -> None:
    with Connection(uri) as connection:
        channel = connection.channel()
        producer = Producer(channel, serializer="json")
        queue = Queue(queue_name, exchange=EXCHANGE, routing_key=queue_name, auto_delete=True)

        def reply(body: dict, message) -> None:
            producer.publish(body, routing_key=message.properties["reply_to"],
                             correlation_id=message.properties["correlation_id"])
            message.ack()

        with Consumer(channel, [queue], callbacks=[reply], accept=["json"]):
            ready.set()
            while not stop.is_set():
                try:
                    connection.drain_events(timeout=0.2)
                except TimeoutError:
                    continue


def client(uri: str, queue_name: str, calls: int, latencies: list[float]) -> None:
    replies: dict[str, dict] = {}
    with Connection(uri) as connection:
        channel = connection.channel()
        producer = Producer(channel, exchange=EXCHANGE, serializer="json")
        reply_to = f"bench-reply-{uuid.uuid4().hex}"
        reply_queue = Queue(reply_to, exchange=Exchange("", type="direct"), routing_key=reply_to, exclusive=True,
                            auto_delete=True)
        with Consumer(channel, [reply_queue], callbacks=[lambda body, m: replies.update({
                m.properties["correlation_id"]: body})], no_ack=True, accept=["json"]):
            for _ in range(calls):
                correlation = uuid.uuid4().hex
                started = time.perf_counter()
                producer.publish({"args": [], "kwargs": {"n": 1}}, routing_key=queue_name, reply_to=reply_to,
                                 correlation_id=correlation, declare=[EXCHANGE])
                while correlation not in replies:
                    connection.drain_events(timeout=5)
                replies.pop(correlation)
                latencies.append(time.perf_counter() - started)


def measure(uri: str, calls: int, clients: int) -> tuple[float, float, float]:
    """Round trips per second, p50 and p99 (ms) of `calls` calls spread over `clients` clients."""
    queue_name = f"bench-echo-{uuid.uuid4().hex[:8]}"
    ready, stop = threading.Event(), threading.Event()
    server = threading.Thread(target=echo_server, args=(uri, queue_name, ready, stop), daemon=True)
    server.start()
    ready.wait(10)
    client(uri, queue_name, 200, [])  # warm up
    latencies: list[float] = []
    threads = [threading.Thread(target=client, args=(uri, queue_name, calls // clients, latencies))
               for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    stop.set()
    server.join(5)
    ms = sorted(x * 1000 for x in latencies)
    return len(ms) / elapsed, statistics.median(ms), ms[int(len(ms) * 0.99) - 1]


def main(calls: int, clients: int) -> None:
    uri = os.environ.get("CUNBAN_BENCH_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672//")
    rate, p50, p99 = measure(uri, calls, clients)
    print(f"raw kombu request/reply, {clients} client(s), {calls} calls")
    print(f"  {rate:,.0f} round trips/s   p50 {p50:.2f} ms   p99 {p99:.2f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000, int(sys.argv[2]) if len(sys.argv) > 2 else 1)
