"""HTTP routes, one module per area."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

from gateway.rpc import ServiceCalls
from shared.contracts.base import IDEMPOTENCY_KEY_PATTERN


async def service_calls(request: Request) -> ServiceCalls:
    return request.app.state.calls


Calls = Annotated[ServiceCalls, Depends(service_calls)]

# a county role's choice of one township in a list (the others' own township applies whatever they send)
TownshipChoice = Annotated[str | None, Query(pattern=r"^\d{9}$", description="a county role chooses one")]

# how far a list may be paged by offset (deeper pages are refused with 422, not handed to the database)
Offset = Annotated[int, Query(ge=0, le=100_000)]

IdempotencyHeader = Annotated[str | None, Header(
    alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN,
    description="Retry-safe creation: the same key returns the first result instead of creating twice")]
