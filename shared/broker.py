"""How cunban meets RabbitMQ: the cluster's nodes as one kombu failover URL, and the arguments its durable
queues are declared with (quorum queues, replicated across the cluster's nodes).

Every durable queue cunban declares — each service's RPC request queue and each event handler's queue — is a
quorum queue: it lives on a majority of the nodes and keeps its messages when one node dies. Queues that
belong to one connection (RPC reply queues, the gateway's queue of revoked sessions) stay exclusive classic
queues: a quorum queue cannot be exclusive, and such a queue dies with its connection anyway."""
from __future__ import annotations

import logging
import random
from typing import Any

from amqp.exceptions import AMQPError, PreconditionFailed
from kombu import Connection
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)

# what a lost broker looks like: socket errors, kombu's wrapper, and the AMQP errors of py-amqp
# (e.g. CONNECTION_FORCED when RabbitMQ restarts or an operator closes the connection)
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OSError, OperationalError, AMQPError)

# RabbitMQ's own count of the times a message was handed out and came back unsettled (its consumer died, its
# channel closed, or it was handed back): set by quorum queues on each redelivery
DELIVERY_COUNT_HEADER = "x-delivery-count"
# an event handed out this many times without being settled is kept as a dead letter instead of applied
# again (shared/messaging.py): it may be what killed the consumers before. Below RabbitMQ 4's default
# delivery limit (20), after which the broker itself would drop it.
POISON_DELIVERIES = 15
# an RPC request that came back this often (its service died with it each time) is dropped by the broker:
# its caller stopped waiting long ago (every call has a timeout) and a station retries with its key
RPC_DELIVERY_LIMIT = 5


def quorum_arguments(delivery_limit: int | None = None) -> dict[str, Any]:
    """The declaration arguments of a durable queue cunban consumes (the memory transport ignores them)."""
    arguments: dict[str, Any] = {"x-queue-type": "quorum"}
    if delivery_limit is not None:
        arguments["x-delivery-limit"] = delivery_limit
    return arguments


def arguments_for(amqp_uri: str, queue: Any, wanted: dict[str, Any]) -> dict[str, Any]:
    """The arguments to declare a durable queue with: `wanted` (a quorum queue), unless the queue exists as a
    classic queue of an earlier release. RabbitMQ cannot change a queue's type in place and refuses a
    declaration that asks for another (PRECONDITION_FAILED), which would stop the service; during a rolling
    update the previous release's services consume that queue at the same time. So the existing classic queue
    is used as it is, with a warning: it is not replicated until it is moved in a maintenance window
    (docs/OPERATIONS.md, "Moving an installation off classic queues"). Asked once per queue at start: a
    declaration with the wanted arguments on a connection of its own (it creates a queue that does not
    exist yet, as the consumer would)."""
    if amqp_uri.startswith("memory://"):
        return wanted
    try:
        with connect(amqp_uri, connect_timeout=5) as connection:
            try:
                connection.channel().queue_declare(queue=queue.name, durable=queue.durable, exclusive=queue.exclusive,
                                                   auto_delete=queue.auto_delete, arguments=wanted)
            except PreconditionFailed as refused:
                if "x-queue-type" not in str(refused):
                    raise
                log.warning("queue %s is a classic queue of an earlier release: used as it is, not replicated, "
                            "until it is moved to a quorum queue (docs/OPERATIONS.md)", queue.name)
                return {}
    except CONNECTION_ERRORS:  # no broker yet: the consumer declares the queue once it connects
        return wanted
    return wanted


def deliveries_before(message: Any) -> int:
    """How many times the broker handed this message out before, unsettled (0 on a first delivery, and on
    brokers or transports that do not count)."""
    headers = getattr(message, "headers", None) or {}
    try:
        return int(headers.get(DELIVERY_COUNT_HEADER) or 0)
    except (TypeError, ValueError):
        return 0


def failover_url(uris: str, rng: random.Random | None = None) -> str:
    """The cluster's nodes, given as URIs separated by commas (or kombu's semicolons), as kombu's failover
    URL: `uri1;uri2;uri3`, in an order shuffled once per process so that the processes of a deployment
    spread over the nodes; kombu moves to the next one when a connection fails. One URI stays as it is."""
    nodes = [uri.strip() for uri in uris.replace(";", ",").split(",") if uri.strip()]
    if len(nodes) < 2:
        return nodes[0] if nodes else uris
    (rng or random).shuffle(nodes)
    return ";".join(nodes)


def nodes_of(url: str) -> int:
    return len([node for node in url.split(";") if node])


def connect(url: str, **options: Any) -> Connection:
    """A connection to the first live node of `url` (a failover URL): each node is tried once before the
    connection fails."""
    connection = Connection(url, **options)
    connection.ensure_connection(max_retries=max(1, nodes_of(url)), interval_start=0, interval_step=0.2,
                                 interval_max=0.5)
    return connection
