"""SMS providers behind one small interface. A provider takes an SMS (with our send key, which it keeps
as its idempotency key or request id where it can) and says it took it (its message id), or raises
`ProviderFailed` — `retry` says whether trying again can help (throttling, a timeout, a 5xx) or not (a
number or template it refuses). `status` answers what became of a send key, for a message whose call was
cut off; a provider that keeps our key (`idempotent`) is simply asked again.

The embedded `log` provider sends nothing: it keeps each message in this service's database (sms_log),
where the console and `cunban notifications list` show it. The others, one module each: `aliyun` (Alibaba
Cloud SMS, its SDK), `tencent` (Tencent Cloud SMS, its SDK), `http` (a county's own signed platform); a
county's is built from its settings by `Providers`."""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from nameko.extensions import DependencyProvider
from sqlalchemy import select

from services.notifications.adapters import orm
from shared.db import Database, ServiceDatabase, insert_new
from shared.pii import mask_phone


@dataclass(frozen=True)
class Sms:
    key: str  # the send key: one message per (event, recipient, notice)
    phone: str
    phone_masked: str
    county_code: str
    signature: str
    text: str  # as the villager reads it, signature first
    template_id: str | None = None  # the county's template registered with the provider (Alibaba, Tencent)
    values: dict[str, str] = field(default_factory=dict)  # the template's variables in the order its text
    # uses them (Tencent Cloud takes them as a list), for the providers that send by template id


@dataclass(frozen=True)
class Accepted:
    message_id: str


PHONE_LIKE = re.compile(r"(?<!\d)(?:\+?86)?1\d{10}(?!\d)")


class ProviderFailed(Exception):
    """A provider's refusal or failure. Its message is kept with the message and logged, so a number a
    provider echoes in its error is masked."""

    def __init__(self, message: str, *, retry: bool):
        super().__init__(PHONE_LIKE.sub(lambda m: mask_phone(m.group()[-11:]), message))
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


def build(name: str, settings: dict[str, Any], *, phone_of: Callable[[str], str | None], log: Provider) -> Provider:
    """A provider from a county's opened settings (service_layer/provider_settings.py): `log`, `aliyun`,
    `tencent` or `http`. `phone_of` gives the number a send key went to, for the providers asked about a
    cut-off send by number (Alibaba and Tencent Cloud)."""
    if name == "log":
        return log
    from services.notifications.service_layer.provider_settings import endpoint_and_protocol
    endpoint, protocol = endpoint_and_protocol(settings.get("endpoint"))
    if name == "aliyun":
        from services.notifications.adapters.aliyun import AliyunProvider
        return AliyunProvider(access_key_id=settings["access_key_id"], access_key_secret=settings["access_key_secret"],
                              endpoint=endpoint, protocol=protocol, region=settings.get("region"), phone_of=phone_of)
    if name == "tencent":
        from services.notifications.adapters.tencent import TencentProvider
        return TencentProvider(secret_id=settings["access_key_id"], secret_key=settings["access_key_secret"],
                               sdk_app_id=settings["sdk_app_id"], endpoint=endpoint, protocol=protocol,
                               region=settings.get("region"), phone_of=phone_of)
    if name == "http":
        from services.notifications.adapters.http_sms import HttpProvider
        return HttpProvider(settings["http_url"], settings["http_secret"])
    raise LookupError(f"no SMS provider called {name!r}")


class Providers(DependencyProvider):
    """Each county's provider, built from its settings (secrets opened with the vault) and kept per county
    until its settings change (their `updated_at` is the version). A county without settings uses `log`."""

    def setup(self) -> None:
        from services.notifications.adapters.contacts import Contacts
        from shared.service import PersonalData
        dependencies = self.container.dependencies
        self.database = next(d for d in dependencies if isinstance(d, Database))
        self.personal_data = next(d for d in dependencies if isinstance(d, PersonalData))
        self.contacts = next((d for d in dependencies if isinstance(d, Contacts)), None)
        self._built: dict[str, tuple[Any, Provider]] = {}

    def get_dependency(self, worker_ctx: Any) -> Callable[[str], Provider]:
        return self.for_county

    def for_county(self, county_code: str) -> Provider:
        from services.notifications.service_layer.provider_settings import opened
        assert self.database.db is not None
        with self.database.db.sessions() as session:
            row = session.get(orm.CountySettingsRow, county_code)
            name, version = (row.provider, row.updated_at) if row else ("log", None)
            stored = dict(row.provider_settings or {}) if row else {}
        log = LogProvider(self.database.db)
        if name == "log":
            return log
        cached = self._built.get(county_code)
        if cached is not None and cached[0] == version:
            return cached[1]
        provider = build(name, opened(stored, self.personal_data.vault), phone_of=self.phone_of, log=log)
        self._built[county_code] = (version, provider)
        return provider

    def phone_of(self, key: str) -> str | None:
        """The number a message went to: its recipient's, asked again of the service that keeps it."""
        assert self.database.db is not None
        with self.database.db.sessions() as session:
            recipient = session.execute(select(orm.MessageRow.recipient)
                                        .where(orm.MessageRow.send_key == key)).scalar_one_or_none()
        if recipient is None or self.contacts is None:
            return None
        return self.contacts.book(recipient)
