"""Liveness and readiness."""
from __future__ import annotations

from fastapi import APIRouter

from gateway.routes import Calls

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", operation_id="readyz")
async def readyz(calls: Calls) -> dict[str, str]:
    """The broker accepts connections (503 otherwise)."""
    await calls.ping_broker()
    return {"status": "ready"}
