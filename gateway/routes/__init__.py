"""HTTP routes, one module per area."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from gateway.rpc import ServiceCalls


async def service_calls(request: Request) -> ServiceCalls:
    return request.app.state.calls


Calls = Annotated[ServiceCalls, Depends(service_calls)]

# how far a list may be paged by offset (deeper pages are refused with 422, not handed to the database)
Offset = Annotated[int, Query(ge=0, le=100_000)]
