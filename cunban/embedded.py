"""Run services (and the gateway) inside one eventlet process.

`cunban up` runs every service and the gateway together: on kombu's in-process memory transport with
SQLite files by default (no external server), or on RabbitMQ and PostgreSQL when configured. Both
run the same service code: RPC, events, outbox relay. eventlet's asyncio hub drives uvicorn's loop,
so the gateway and the nameko services share the process.
"""
from __future__ import annotations

import logging
import signal
from typing import Any

log = logging.getLogger("cunban")


def prepare_memory_transport() -> None:
    """kombu's memory transport polls once a second by default, which would make every call take a second
    (FACTS.md, measured here). (Its messages also lack a content_type property, which nameko's own reply
    read; cunban's replies read the message's content type instead, shared/service.py.)"""
    import kombu.transport.memory as memory

    memory.Transport.polling_interval = 0.002


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

    real_socket = original("socket")
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP, and
    # without it every response waits ~40 ms for the client's delayed ACK
    sock = real_socket.socket(real_socket.AF_INET, real_socket.SOCK_STREAM, real_socket.IPPROTO_TCP)
    sock.setsockopt(real_socket.SOL_SOCKET, real_socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    # X-Forwarded-For is read by the gateway itself, from CUNBAN_TRUSTED_PROXIES only (gateway/audit.py)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, proxy_headers=False))

    def request_shutdown(signum: int, _frame: Any) -> None:
        log.info("signal %s: finishing requests in flight, then stopping", signum)
        server.should_exit = True

    # uvicorn installs its handlers only from the main thread, which a green thread is not
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_shutdown)
    log.info("gateway listening on http://%s:%s (docs at /docs)", host, port)
    spawn_for_awaitable(server.serve(sockets=[sock])).wait()
