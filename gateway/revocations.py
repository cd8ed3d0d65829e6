"""Ends of access heard by every gateway process at once.

The directory announces `access_revoked` through its outbox whenever a session or a station key stops
working: a sign-out, a key revoked or rotated, an account changed or disabled. Each gateway process
listens on a queue of its own bound to `directory.events` (a broadcast: the queue is exclusive and goes
with the process) and forgets at once what it remembered of that staff member (gateway/auth.py), so the
next request is checked with the directory again, on every replica. `CUNBAN_SESSION_CHECK_SECONDS` is
then only the bound for a gateway cut off from the broker; one that (re)connects forgets everything it
remembered, since it may have missed announcements meanwhile.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import eventlet
from eventlet import patcher
from kombu import Connection, Queue
from kombu.mixins import ConsumerMixin
from nameko.standalone.events import get_event_exchange
from pydantic import ValidationError

from gateway.auth import Accounts
from shared.contracts.directory import AccessRevoked
from shared.observability import metrics

log = logging.getLogger(__name__)
EVENT = "access_revoked"


class AccessListener(ConsumerMixin):
    def __init__(self, amqp_uri: str, accounts: Accounts):
        # (the embedded system's in-process broker is polled: a tenth of a second is soon enough here)
        self.connection = Connection(amqp_uri, transport_options={"polling_interval": 0.1})
        self.accounts = accounts
        self.queue = Queue(f"gateway-access-{uuid.uuid4().hex[:12]}", get_event_exchange("directory", {}),
                           routing_key=EVENT, exclusive=True, auto_delete=True, durable=False)
        self.listening = threading.Event()  # set while consuming (tests and the log wait on it)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if patcher.is_monkey_patched("socket"):  # the embedded system: a green thread beside the others
            eventlet.spawn(self._run)  # (a thread's start would block the hub's own loop)
            return
        self._thread = threading.Thread(target=self._run, name="gateway-access-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.should_stop = True  # the consumer sees it within a second
        if self._thread is not None:
            self._thread.join(timeout=5)
            self.connection.release()

    def _run(self) -> None:
        while not self.should_stop:
            try:
                self.run()
            except Exception:  # never let the listener die: the cache would keep ended access for its seconds
                self.listening.clear()
                if self.should_stop:
                    return
                log.exception("the gateway's access listener failed; starting again")
                time.sleep(1)

    def get_consumers(self, consumer: Any, channel: Any) -> list[Any]:
        return [consumer(queues=[self.queue], callbacks=[self._on_message], accept=["json"])]

    def on_consume_ready(self, connection: Any, channel: Any, consumers: Any, **kwargs: Any) -> None:
        self.accounts.forget_everything()  # announcements made while not listening are not known
        self.listening.set()
        log.info("listening for ends of access on %s", self.queue.name)

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        self.listening.clear()
        if self.should_stop:  # stopping while the broker is away: no more retries
            raise exc
        log.warning("the gateway's access listener cannot reach the broker (%s); retrying in %.0f s", exc, interval)

    def on_consume_end(self, connection: Any, channel: Any) -> None:
        self.listening.clear()

    def _on_message(self, body: Any, message: Any) -> None:
        try:
            revoked = AccessRevoked.model_validate(body["payload"])
        except (KeyError, TypeError, ValidationError):
            log.warning("an access_revoked event the gateway cannot read; forgetting everything it remembered")
            self.accounts.forget_everything()
            outcome = "malformed"
        else:
            self.accounts.forget_staff(revoked.staff_id)
            outcome = "applied"
        message.ack()
        metrics.events_consumed.labels("gateway", EVENT, outcome).inc()
