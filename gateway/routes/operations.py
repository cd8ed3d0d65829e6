"""The platform's own operations for county admins: dead letters of every service, listed and replayed."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from gateway.auth import CurrentStaff
from gateway.routes import Calls
from shared.contracts import Contract
from shared.contracts.base import BigId
from shared.contracts.operations import DeadLetterView, ReplayResult
from shared.service_names import SERVICE_NAMES

router = APIRouter(tags=["operations"])
ServiceName = Literal[tuple(SERVICE_NAMES)]  # type: ignore[valid-type]  # every service's name


class Replay(Contract):
    service: ServiceName | None = None  # None: every service
    ids: list[BigId] | None = None  # with a service: only these; None: every dead letter not yet replayed


@router.get("/dead-letters", operation_id="list_dead_letters", response_model=list[DeadLetterView])
async def list_dead_letters(caller: CurrentStaff, calls: Calls, service: ServiceName | None = None,
                            include_replayed: bool = False,
                            limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list:
    """Events a service could not apply after its retries, newest first, with the error (every service,
    or one)."""
    letters: list[dict] = []
    for name in [service] if service else list(SERVICE_NAMES):
        letters += await calls.call(name, "dead_letters", caller=caller,
                                    query={"include_replayed": include_replayed, "limit": limit})
    return sorted(letters, key=lambda d: d["failed_at"], reverse=True)[:limit]


@router.post("/dead-letters/replay", operation_id="replay_dead_letters", response_model=list[ReplayResult])
async def replay_dead_letters(body: Replay, caller: CurrentStaff, calls: Calls) -> list:
    """Run dead letters through their handlers again, once the cause is fixed. Idempotent: an event that was
    applied meanwhile is not applied twice; one still failing stays a dead letter, with its new error."""
    names = [body.service] if body.service else list(SERVICE_NAMES)
    return [await calls.call(name, "replay_dead_letters", caller=caller,
                             request={"ids": body.ids if body.service else None}) for name in names]
