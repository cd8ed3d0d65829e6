"""Liveness and readiness."""
from __future__ import annotations

from fastapi import APIRouter

from gateway.routes import Calls
from gateway.rpc import ServiceCalls

router = APIRouter(tags=["health"])


async def readiness(calls: ServiceCalls) -> dict[str, str]:
    """Ready when the broker accepts connections; ServiceUnavailable (503 `broker_unavailable`) otherwise.
    `/readyz` answers with it, and the county's system-health page shows the same."""
    await calls.ping_broker()
    return {"status": "ready"}


@router.get("/healthz", operation_id="healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", operation_id="readyz")
async def readyz(calls: Calls) -> dict[str, str]:
    """The broker accepts connections (503 otherwise)."""
    return await readiness(calls)
