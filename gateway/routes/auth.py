"""Signing in and out."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response

from gateway.auth import CurrentStaff, SignedIn, sign_in
from gateway.auth import change_own_password as new_password
from gateway.routes import Calls
from shared.contracts.base import View
from shared.contracts.directory import Credentials, PasswordChange, StaffPublic
from shared.errors import Unauthenticated

router = APIRouter(prefix="/auth", tags=["auth"])


class Session(View):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    staff: StaffPublic


@router.post("/login", operation_id="login", response_model=Session)
async def login(credentials: Credentials, request: Request) -> Session:
    """Exchange a username and password for a bearer token. Failed attempts are limited per account and
    client address, briefly per account, and (a flood guard) per client address (429 `login_locked` with
    Retry-After)."""
    staff, token, expires = await sign_in(request, credentials.model_dump())
    return Session(access_token=token, expires_at=expires, staff=staff)


@router.post("/logout", operation_id="logout", status_code=204, response_class=Response)
async def logout(caller: CurrentStaff, request: Request, calls: Calls) -> Response:
    """End this token's session at once (a token is otherwise good until it expires)."""
    session: SignedIn | None = getattr(request.state, "session", None)
    if session is None:
        raise Unauthenticated("station keys do not sign out; a supervisor revokes them", code="not_a_session")
    await calls.call("directory", "end_session", caller=caller,
                     end={"jti": session.jti, "expires_at": session.expires_at.isoformat()})
    request.app.state.accounts.signed_out(session.jti)
    return Response(status_code=204)


@router.get("/me", operation_id="me", response_model=StaffPublic)
async def me(caller: CurrentStaff, calls: Calls) -> dict:
    """Who the token (or station key) acts for."""
    return await calls.call("directory", "get_staff", caller=caller, staff_id=caller.staff_id)


@router.post("/me/password", operation_id="change_own_password", response_model=Session)
async def change_own_password(body: PasswordChange, caller: CurrentStaff, request: Request) -> Session:
    """Change your own password (every staff role; `PATCH /staff/{id}` is for managers). The current password
    must be right: a wrong one is 422 `current_password_wrong` and counts as a failed sign-in of the account,
    so the sign-in throttle applies (429 `login_locked`). The new one follows a new account's rules and must
    differ (422 `password_unchanged`). Every session of the account ends, this token's too: the answer is a
    new session for this client, like a sign-in's. Station keys acting for the account keep working."""
    staff, token, expires = await new_password(request, caller, body.model_dump())
    return Session(access_token=token, expires_at=expires, staff=staff)
