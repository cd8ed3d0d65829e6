"""Signing in."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request

from gateway.auth import CurrentStaff, PublicCaller, issue_token
from gateway.routes import Calls
from shared.contracts import Contract
from shared.contracts.directory import Credentials, StaffPublic

router = APIRouter(prefix="/auth", tags=["auth"])


class Session(Contract):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    staff: StaffPublic


@router.post("/login", operation_id="login", response_model=Session)
async def login(credentials: Credentials, request: Request, calls: Calls, public: PublicCaller) -> Session:
    """Exchange a username and password for a bearer token."""
    staff = StaffPublic.model_validate(
        await calls.call("directory", "authenticate", caller=public, credentials=credentials.model_dump()))
    token, expires = issue_token(staff, request.app.state.settings)
    return Session(access_token=token, expires_at=expires, staff=staff)


@router.get("/me", operation_id="me", response_model=StaffPublic)
async def me(caller: CurrentStaff, calls: Calls) -> dict:
    """Who the token belongs to."""
    return await calls.call("directory", "get_staff", caller=caller, staff_id=caller.staff_id)
