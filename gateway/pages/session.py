"""A staff member signed in on a page: the same signed token as the API's bearer token, kept in an HttpOnly
cookie, checked by the same `Accounts` (so signing out, or a disabled account, ends it at once), and
admitted by the same per-account rate limit. Signing in goes through the same directory call as
`POST /auth/login`, so the same sign-in throttle applies."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Response

from gateway.auth import change_own_password, read_token
from gateway.auth import sign_in as authenticate
from gateway.pages.web import is_https
from shared.contracts.caller import Caller
from shared.contracts.directory import StaffPublic
from shared.errors import Unauthenticated

SESSION_COOKIE = "cunban_session"


async def signed_in_staff(request: Request) -> Caller:
    """The staff member whose session cookie came with the request (401 → the sign-in page)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated("sign in first", code="token_missing")
    caller = await request.app.state.accounts.staff(request, token)
    request.state.caller = caller
    return caller


StaffPage = Annotated[Caller, Depends(signed_in_staff)]


async def sign_in(request: Request, response: Response, username: str, password: str) -> StaffPublic:
    """Check the credentials with the directory (throttled there) and put the session cookie on `response`."""
    staff, token, expires = await authenticate(request, {"username": username, "password": password})
    _set_session(request, response, token, expires)
    return staff


async def set_new_password(request: Request, response: Response, staff: Caller, change: dict[str, str]) -> None:
    """The staff member's own new password (every session of the account ends, this browser's too) and a
    new session cookie for this browser."""
    _, token, expires = await change_own_password(request, staff, change)
    _set_session(request, response, token, expires)


def _set_session(request: Request, response: Response, token: str, expires: datetime) -> None:
    response.set_cookie(SESSION_COOKIE, token, expires=expires, httponly=True, samesite="lax",
                        secure=is_https(request), path="/")


async def sign_out(request: Request, response: Response) -> None:
    """End the session in the directory at once (the token stops working everywhere) and drop the cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    response.delete_cookie(SESSION_COOKIE, path="/")
    if not token:
        return
    try:
        session = read_token(token, request.app.state.settings)
    except Unauthenticated:
        return  # expired or not ours: nothing left to end
    try:
        caller = await signed_in_staff(request)
    except Unauthenticated:
        return  # already ended (signed out elsewhere, or the account was disabled)
    await request.app.state.calls.call("directory", "end_session", caller=caller,
                                       end={"jti": session.jti, "expires_at": session.expires_at.isoformat()})
    request.app.state.accounts.signed_out(session.jti)
