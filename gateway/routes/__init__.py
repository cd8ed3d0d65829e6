"""HTTP routes, one module per area."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.rpc import ServiceCalls


async def service_calls(request: Request) -> ServiceCalls:
    return request.app.state.calls


Calls = Annotated[ServiceCalls, Depends(service_calls)]
