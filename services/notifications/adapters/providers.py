"""SMS providers behind one small interface. A provider takes an SMS (with our send key, which it keeps
as its idempotency key or request id where it can) and says it took it (its message id), or raises
`ProviderFailed` — `retry` says whether trying again can help (throttling, a timeout, a 5xx) or not (a
number or template it refuses). `status` answers what became of a send key, for a message whose call was
cut off; a provider that keeps our key (`idempotent`) is simply asked again.

The embedded `log` provider sends nothing: it keeps each message in this service's database (sms_log),
where the console and `cunban notifications list` show it."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from nameko.extensions import DependencyProvider
from sqlalchemy import select

from services.notifications.adapters import orm
from shared.db import Database, ServiceDatabase, insert_new


@dataclass(frozen=True)
class Sms:
    key: str  # the send key: one message per (event, recipient, notice)
    phone: str
    phone_masked: str
    county_code: str
    signature: str
    text: str  # as the villager reads it, signature first
    template_id: str | None = None  # the county's template registered with the provider (Alibaba, Tencent)
    values: dict[str, str] = field(default_factory=dict)  # the template's variables, for providers sent by id


@dataclass(frozen=True)
class Accepted:
    message_id: str


class ProviderFailed(Exception):
    def __init__(self, message: str, *, retry: bool):
        super().__init__(message)
        self.retry = retry


class Provider(Protocol):
    name: str
    idempotent: bool

    def send(self, sms: Sms, now: datetime) -> Accepted: ...

    def status(self, key: str) -> Accepted | None: ...


class LogProvider:
    """Keeps messages instead of sending them (the embedded default, and counties without a provider yet)."""

    name = "log"
    idempotent = True

    def __init__(self, database: ServiceDatabase):
        self.database = database

    def send(self, sms: Sms, now: datetime) -> Accepted:
        with self.database.sessions() as session:
            insert_new(session, orm.LoggedSmsRow, send_key=sms.key, message_id=f"log-{uuid.uuid4().hex}",
                       phone_masked=sms.phone_masked, county_code=sms.county_code, text=sms.text, sent_at=now)
            session.commit()
        accepted = self.status(sms.key)
        assert accepted is not None
        return accepted

    def status(self, key: str) -> Accepted | None:
        with self.database.sessions() as session:
            message_id = session.execute(select(orm.LoggedSmsRow.message_id)
                                         .where(orm.LoggedSmsRow.send_key == key)).scalar_one_or_none()
        return Accepted(message_id) if message_id else None


class Providers(DependencyProvider):
    """The providers a county may choose, by name, built once per service process."""

    def setup(self) -> None:
        self.database = next(d for d in self.container.dependencies if isinstance(d, Database))
        self._built: dict[str, Provider] = {}

    def get_dependency(self, worker_ctx: Any) -> Callable[[str], Provider]:
        return self.named

    def named(self, name: str) -> Provider:
        if name not in self._built:
            if name != "log":
                raise LookupError(f"no SMS provider called {name!r}")
            assert self.database.db is not None
            self._built[name] = LogProvider(self.database.db)
        return self._built[name]
