"""Retry-safe creation: a client sends an Idempotency-Key with a request that creates something (filing an
application, registering a complaint, an approval action); a retry with the same key and the same request gets the first
result instead of a second record, and the same key with a different request is refused (409
`idempotency_key_reused`). Keys are kept per staff member (0 for the public, whose keys are random
UUIDs and whose retried request must match exactly)."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from shared.contracts.caller import Caller
from shared.db import UnitOfWork, insert_rows
from shared.errors import Conflict
from shared.messaging_tables import UtcDateTime


class IdempotencyKeyColumns:
    """One used key: who, the key, the request's hash, and the id of what it created (in the column
    `record_column` names)."""

    record_column: ClassVar[str] = "record_id"
    record_references: ClassVar[str | None] = None  # e.g. "applications.id": a foreign key to the record

    staff_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    @declared_attr
    def record_id(cls) -> Mapped[str]:  # noqa: N805 - SQLAlchemy's declared_attr
        if cls.record_references:
            return mapped_column(cls.record_column, ForeignKey(cls.record_references), nullable=False)
        return mapped_column(cls.record_column, String(32), nullable=False)


def request_hash(command: BaseModel, *target: str) -> str:
    """The request's fingerprint: the command, and what it acts on (an action's application)."""
    body = json.dumps([command.model_dump(mode="json"), *target], sort_keys=True) if target else \
        json.dumps(command.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def earlier_use(uow: UnitOfWork, keys: Any, caller: Caller, key: str, digest: str) -> Any:
    """The key's row when it was used before (its `record_id` names what it created), or None; Conflict
    when the key came with another request."""
    row = uow.session.get(keys, (caller.staff_id or 0, key))
    if row is not None and row.request_hash != digest:
        raise Conflict("this Idempotency-Key was used for a different request", code="idempotency_key_reused")
    return row


def remember(uow: UnitOfWork, keys: Any, caller: Caller, key: str, digest: str, record_id: str,
             now: datetime, **extra: Any) -> None:
    """Keep the key in the transaction that creates the record: one INSERT, after the record's own (a
    racing retry fails on the key, here or at the commit)."""
    insert_rows(uow.session, keys, [{"staff_id": caller.staff_id or 0, "key": key, "request_hash": digest,
                                     keys.record_column: record_id, "created_at": now, **extra}])
