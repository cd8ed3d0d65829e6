"""What every family of the directory's use cases shares: a record's snapshot and its announcement, a record
added or changed at a version, a record found by its key, and who may list what."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from services.directory.adapters.repositories import DirectoryUnitOfWork
from services.directory.adapters.repositories.records import Records
from services.directory.domain.rules import Record, require_staff, require_visible
from shared.contracts.caller import Caller
from shared.errors import Conflict, NotFound

P = TypeVar("P", bound=BaseModel)


def snapshot(public: type[P], row: Any, **extra: Any) -> P:
    """A record as other services see it: the public contract's fields, read off the row."""
    values = {name: getattr(row, name) for name in public.model_fields if hasattr(row, name)}
    values.update(extra)
    return public.model_validate(values)


def publish(uow: DirectoryUnitOfWork, event_type: str, payload: BaseModel, township_code: str | None,
            now: datetime) -> None:
    uow.record_event(event_type, payload.model_dump(mode="json"), township_code=township_code, now=now)


def apply_update(row: Any, changes: dict[str, Any], now: datetime) -> bool:
    """Set what differs; a real change bumps the record's version. True when something changed."""
    changed = False
    for name, value in changes.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        row.version += 1
        row.updated_at = now
    return changed


def add_record(uow: DirectoryUnitOfWork, records: Records[Any], row: Any, *, public: Callable[[Any], P],
               event_type: str, township_code: str | None, now: datetime) -> P:
    """Insert a new record at version 1 and announce it, in one transaction."""
    row.version, row.updated_at = 1, now
    records.add(row)
    announced = public(row)
    publish(uow, event_type, announced, township_code, now)
    uow.commit()
    return announced


def change_record(uow: DirectoryUnitOfWork, row: Any, changes: dict[str, Any], *, public: Callable[[Any], P],
                  event_type: str, township_code: str | None, now: datetime) -> P:
    """Apply changes; a real change bumps the version and is announced, a no-op writes nothing."""
    if apply_update(row, changes, now):
        publish(uow, event_type, public(row), township_code, now)
        uow.commit()
    return public(row)


def require_absent(records: Records[Any], key: Any, record: Record) -> None:
    """A new record's key must be free."""
    if records.get(key) is not None:
        shown = "/".join(key) if isinstance(key, tuple) else key
        raise Conflict(f"{record.value} {shown} already exists", code=f"{record.value}_exists")


def get_record(records: Records[Any], key: Any, record: Record) -> Any:
    """The record at `key`, or 404 in the record's words."""
    row = records.get(key)
    if row is None:
        raise NotFound(f"{record.value} not found", code=f"{record.value}_not_found")
    return row


def check_listing(caller: Caller, township_code: str | None, record: Record) -> None:
    """Staff list what they reach; narrowed to one township, it must be one they see."""
    require_staff(caller)
    if township_code is not None:
        require_visible(caller, record, township_code)
