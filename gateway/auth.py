"""Bearer tokens for staff: signed (HS256) with expiry; the claims are the caller's identity and scope."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.clock import utcnow
from shared.contracts.caller import Caller, Role
from shared.contracts.directory import StaffPublic
from shared.errors import Unauthenticated
from shared.observability import correlation_id
from shared.settings import Settings

ALGORITHM = "HS256"

bearer = HTTPBearer(auto_error=False, description="the access_token from POST /auth/login")


def issue_token(staff: StaffPublic, settings: Settings, now: datetime | None = None) -> tuple[str, datetime]:
    now = now or utcnow()
    expires = now + timedelta(minutes=settings.token_ttl_minutes)
    claims = {"sub": str(staff.id), "username": staff.username, "role": staff.role.value,
              "township": staff.township_code, "station": staff.station_code,
              "iat": int(now.timestamp()), "exp": int(expires.timestamp()), "jti": uuid.uuid4().hex}
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), expires


def caller_from_token(token: str, settings: Settings) -> Caller:
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=[ALGORITHM],
                            options={"require": ["exp", "sub", "role"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired: sign in again", code="token_expired") from None
    except jwt.PyJWTError:
        raise Unauthenticated("the token is not valid", code="token_invalid") from None
    try:
        role = Role(claims["role"])
    except ValueError:
        raise Unauthenticated("the token is not valid", code="token_invalid") from None
    if role in (Role.PUBLIC, Role.SYSTEM):
        raise Unauthenticated("the token is not valid", code="token_invalid")
    return Caller(staff_id=int(claims["sub"]), username=claims.get("username"), role=role,
                  township_code=claims.get("township"), station_code=claims.get("station"),
                  correlation_id=correlation_id.get())


async def current_staff(request: Request,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'", code="token_missing")
    return caller_from_token(credentials.credentials, request.app.state.settings)


async def public_caller() -> Caller:
    return Caller.public(correlation_id.get())


CurrentStaff = Annotated[Caller, Depends(current_staff)]
PublicCaller = Annotated[Caller, Depends(public_caller)]
