"""Run services (and the gateway) inside one eventlet process.

`cunban up` runs every service and the gateway together: on kombu's in-process memory transport with
SQLite files by default (no external server), or on RabbitMQ and PostgreSQL when configured. Both
run the same service code: RPC, events, outbox relay. eventlet's asyncio hub drives uvicorn's loop,
so the gateway and the nameko services share the process.
"""
from __future__ import annotations

import logging
import signal
import time
from typing import Any

log = logging.getLogger("cunban")


MEMORY_SAFETY_WAIT_SECONDS = 1.0  # the longest a consumer waits without being told a message arrived


def prepare_memory_transport() -> None:
    """kombu's memory transport polls its queues (once a second by default, which would make every call take
    a second; every 2 ms was 30 % of a core with nothing to do). Here a connection with nothing to take waits
    until a message is put on one of the queues it consumes, or one of its own deliveries is settled (room
    for the next under its prefetch), and only then looks again: no polling while idle, no delay when a
    message comes, and no connection woken for another's queue. The wait is bounded
    (MEMORY_SAFETY_WAIT_SECONDS), so a consumer still returns to its caller's own timeouts. Green threads
    switch only where one waits, so a message put between a connection finding its queues empty and its
    wait cannot be missed. (The transport's messages also lack a content_type property, which nameko's own
    reply read; cunban's replies read the message's content type instead, shared/service.py.)"""
    import threading
    from collections import defaultdict
    from queue import Empty

    import kombu.transport.memory as memory

    if getattr(memory.Transport, "notifies", False):
        return
    consumers: dict[str, set[threading.Event]] = defaultdict(set)  # queue → the waits of connections taking it
    channel_class = memory.Channel
    put, put_fanout = channel_class._put, channel_class._put_fanout
    consume, cancel = channel_class.basic_consume, channel_class.basic_cancel

    def arrived(transport: Any) -> threading.Event:  # green under eventlet's monkey patching, as the process is
        event = transport.__dict__.get("_arrived")
        if event is None:
            event = transport._arrived = threading.Event()
        return event

    def _put(channel: Any, queue: str, message: Any, **kwargs: Any) -> None:
        put(channel, queue, message, **kwargs)
        for event in consumers.get(queue, ()):
            event.set()

    def _put_fanout(channel: Any, exchange: str, message: Any, routing_key: str | None = None, **kwargs: Any) -> None:
        put_fanout(channel, exchange, message, routing_key, **kwargs)
        for queue in channel._lookup(exchange, routing_key):
            for event in consumers.get(queue, ()):
                event.set()

    def basic_consume(channel: Any, queue: str, *args: Any, **kwargs: Any) -> Any:
        taken = consume(channel, queue, *args, **kwargs)
        consumers[queue].add(arrived(channel.connection))
        arrived(channel.connection).set()  # messages may be waiting already
        return taken

    def basic_cancel(channel: Any, consumer_tag: str) -> Any:
        queue = channel._tag_to_queue.get(consumer_tag)
        cancelled = cancel(channel, consumer_tag)
        if queue is not None:
            consumers[queue].discard(arrived(channel.connection))
        return cancelled

    def settling(method: Any) -> Any:
        def settle(channel: Any, *args: Any, **kwargs: Any) -> Any:
            result = method(channel, *args, **kwargs)
            arrived(channel.connection).set()  # room under the prefetch for the next message
            return result
        return settle

    def drain_events(transport: Any, connection: Any, timeout: float | None = None) -> None:
        event = arrived(transport)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            event.clear()
            try:
                transport.cycle.get(transport._deliver, timeout=timeout)
                return
            except Empty:
                left = MEMORY_SAFETY_WAIT_SECONDS if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError() from None  # socket.timeout, as kombu raises it
                event.wait(min(left, MEMORY_SAFETY_WAIT_SECONDS))

    channel_class._put, channel_class._put_fanout = _put, _put_fanout
    channel_class.basic_consume, channel_class.basic_cancel = basic_consume, basic_cancel
    for name in ("basic_ack", "basic_reject", "basic_recover"):
        setattr(channel_class, name, settling(getattr(channel_class, name)))
    memory.Transport.drain_events = drain_events
    memory.Transport.notifies = True


def migrate_all(settings: Any, services: list[str]) -> None:
    from shared.migrate import upgrade

    for name in services:
        upgrade(name, settings.database_url(name))


def start_services(settings: Any, services: list[str]) -> Any:
    from nameko.runners import ServiceRunner

    from cunban.registry import nameko_config, service_class

    if settings.amqp_uri.startswith("memory://"):
        prepare_memory_transport()
    runner = ServiceRunner(nameko_config(settings, services))
    for name in services:
        runner.add_service(service_class(name))
    runner.start()
    return runner


def serve_gateway_green(app: Any, host: str, port: int) -> None:
    """Serve the ASGI app on the asyncio loop that eventlet's asyncio hub drives; blocks until stopped."""
    import uvicorn
    from eventlet.asyncio import spawn_for_awaitable
    from eventlet.patcher import original

    from gateway.serving import Server

    real_socket = original("socket")
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP, and
    # without it every response waits ~40 ms for the client's delayed ACK
    sock = real_socket.socket(real_socket.AF_INET, real_socket.SOCK_STREAM, real_socket.IPPROTO_TCP)
    sock.setsockopt(real_socket.SOL_SOCKET, real_socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    # X-Forwarded-For is read by the gateway itself, from CUNBAN_TRUSTED_PROXIES only (gateway/audit.py)
    server = Server(uvicorn.Config(app, log_config=None, access_log=False, proxy_headers=False))

    def request_shutdown(signum: int, _frame: Any) -> None:
        log.info("signal %s: finishing requests in flight, then stopping", signum)
        server.should_exit = True

    # uvicorn installs its handlers only from the main thread, which a green thread is not
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_shutdown)
    log.info("gateway listening on http://%s:%s (docs at /docs)", host, port)
    spawn_for_awaitable(server.serve(sockets=[sock])).wait()
