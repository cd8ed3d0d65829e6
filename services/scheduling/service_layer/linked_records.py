"""The records handled at a market-day session or raised on a visit: linked as the events of the services
that keep them arrive (intake's applications and consultations, complaints), and listed with the
session or visit."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.scheduling.adapters import orm
from services.scheduling.adapters.repositories import SchedulingUnitOfWork
from shared.contracts.scheduling import LinkedRecord


def at_an_occasion(record: dict[str, Any]) -> bool:
    """Whether a record (an event's payload) was handled at a market-day session or raised on a visit: only
    those are linked here, and other services' events about any other record are none of scheduling's."""
    return bool(record.get("session_id") or record.get("visit_id"))


def link_record(uow: SchedulingUnitOfWork, *, kind: str, ref: str, township_code: str, occurred_at: datetime,
                session_id: str | None, visit_id: str | None) -> None:
    """Idempotent: the same record arriving twice is linked once."""
    if not at_an_occasion({"session_id": session_id, "visit_id": visit_id}) or \
            uow.linked_records.get(kind, ref) is not None:
        return
    uow.linked_records.add(orm.LinkedRecordRow(kind=kind, ref=ref, township_code=township_code,
                                               occurred_at=occurred_at, session_id=session_id, visit_id=visit_id))


def at_sessions(uow: SchedulingUnitOfWork, session_ids: list[str]) -> dict[str, list[LinkedRecord]]:
    """The records handled at each of some sessions, oldest first."""
    return _linked(uow.linked_records.at_sessions(session_ids))


def on_visits(uow: SchedulingUnitOfWork, visit_ids: list[str]) -> dict[str, list[LinkedRecord]]:
    """The records raised on each of some visits, oldest first."""
    return _linked(uow.linked_records.on_visits(visit_ids))


def _linked(rows: dict[str, list[orm.LinkedRecordRow]]) -> dict[str, list[LinkedRecord]]:
    return {occasion_id: [LinkedRecord(kind=r.kind, ref=r.ref, occurred_at=r.occurred_at) for r in records]
            for occasion_id, records in rows.items()}
