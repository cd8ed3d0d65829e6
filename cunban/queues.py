"""Every durable queue the services consume, declared (with its bindings) before any of them runs: what an
installation moving its queues to quorum queues does once its old ones are drained and deleted
(docs/OPERATIONS.md, "Quorum queues"), so that no event published while the services come up finds its
consumer's queue missing. The queues are built by the services' own entrypoints (nameko's names, cunban's
arguments, shared/broker.py), never spelled out a second time here."""
from __future__ import annotations

from typing import Any

from kombu import Queue


def service_queues(settings: Any, services: list[str]) -> list[Queue]:
    from nameko.containers import ServiceContainer

    from cunban.registry import nameko_config, service_class
    from shared.messaging import ServiceEventHandler
    from shared.service import ServiceRpc

    config = nameko_config(settings, services)
    queues: list[Queue] = []
    for name in services:
        container = ServiceContainer(service_class(name), config)
        rpc = next((e.rpc_consumer for e in container.entrypoints if isinstance(e, ServiceRpc)), None)
        if rpc is not None:  # one request queue per service, shared by its rpc entrypoints
            rpc.setup()
            queues.append(rpc.queue)
        handlers = [e for e in container.entrypoints if isinstance(e, ServiceEventHandler)]
        for handler in handlers:
            handler.setup()
        queues += sorted((handler.queue for handler in handlers), key=lambda queue: queue.name)
    return queues


def declare_queues(settings: Any, services: list[str]) -> list[str]:
    """Declare each service's request queue and every event handler's queue with its exchange and binding;
    returns their names. A queue that exists with other arguments (a classic one) makes RabbitMQ refuse
    (PRECONDITION_FAILED): it must be drained and deleted first."""
    from shared.broker import connect

    queues = service_queues(settings, services)
    with connect(settings.amqp_uri) as connection:
        channel = connection.channel()
        for queue in queues:
            queue(channel).declare()
    return [queue.name for queue in queues]
