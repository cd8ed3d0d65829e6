"""Who is calling: staff with a bearer token, a station's machine with an API key, or the public.

Tokens are signed (HS256) and expire; their claims are the caller's identity and scope plus the account
version they were issued for. A token also stops working when its holder signs out or the account is
disabled or changed (directory.session_status, asked at most every `session_check_seconds` per token).
Station keys (`X-API-Key`) are resolved by the directory and remembered for as long. Every gateway
process forgets what it remembered of a staff member as soon as the directory announces an end of their
access (gateway/revocations.py), so the seconds only matter to a gateway cut off from the broker.
"""
from __future__ import annotations

import hashlib
import re
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from gateway.audit import client_of
from gateway.limits import RateLimiter
from shared.clock import utcnow
from shared.contracts.caller import Caller, Role
from shared.contracts.directory import STATION_KEY_PATTERN, StaffPublic, StationKeyCaller
from shared.errors import TooManyAttempts, Unauthenticated
from shared.observability import correlation_id, metrics
from shared.settings import Settings

ALGORITHM = "HS256"
KEY_SHAPE = re.compile(STATION_KEY_PATTERN)

bearer = HTTPBearer(auto_error=False, description="the access_token from POST /auth/login")
station_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                           description="a station key (cbk_…) for a station's machine client")


@dataclass(frozen=True)
class SignedIn:
    caller: Caller
    jti: str
    account_version: int
    expires_at: datetime


def issue_token(staff: StaffPublic, settings: Settings, now: datetime | None = None) -> tuple[str, datetime]:
    now = now or utcnow()
    expires = now + timedelta(minutes=settings.token_ttl_minutes)
    claims = {"sub": str(staff.id), "username": staff.username, "role": staff.role.value,
              "township": staff.township_code, "station": staff.station_code, "county": staff.county_code,
              "ver": staff.version,
              "iat": int(now.timestamp()), "exp": int(expires.timestamp()), "jti": uuid.uuid4().hex}
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), expires


async def sign_in(request: Request, credentials: dict[str, str]) -> tuple[StaffPublic, str, datetime]:
    """Check a username and password with the directory (which throttles wrong ones per account and client
    address) and sign a token for that staff member; the request acts for them from now on (its audit entry
    says who signed in). The one way in, for the API's bearer token and the pages' cookie alike."""
    staff = StaffPublic.model_validate(await request.app.state.calls.call(
        "directory", "authenticate", caller=Caller.public(correlation_id.get()),
        sign_in={"credentials": credentials, "client": client_of(request)}))
    token, expires = issue_token(staff, request.app.state.settings)
    request.state.caller = Caller(staff_id=staff.id, username=staff.username, role=staff.role,
                                  township_code=staff.township_code, station_code=staff.station_code,
                                  county_code=staff.county_code)
    return staff, token, expires


async def change_own_password(request: Request, caller: Caller,
                              change: dict[str, str]) -> tuple[StaffPublic, str, datetime]:
    """A staff member's own new password (the directory checks the current one, throttled like a sign-in,
    and ends every session of the account); this gateway stops trusting the sessions it remembered at once
    (the others hear it by the directory's event), and the request gets a new session, like a sign-in's."""
    staff = StaffPublic.model_validate(await request.app.state.calls.call(
        "directory", "change_own_password", caller=caller, change={"change": change, "client": client_of(request)}))
    request.app.state.accounts.forget_staff(staff.id)
    token, expires = issue_token(staff, request.app.state.settings)
    return staff, token, expires


def read_token(token: str, settings: Settings) -> SignedIn:
    invalid = Unauthenticated("the token is not valid", code="token_invalid")
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=[ALGORITHM],
                            options={"require": ["exp", "sub", "role", "jti", "ver"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired: sign in again", code="token_expired") from None
    except jwt.PyJWTError:
        raise invalid from None
    try:
        role = Role(claims["role"])
    except ValueError:
        raise invalid from None
    if role in (Role.PUBLIC, Role.SYSTEM, Role.STATION_CLIENT):
        raise invalid
    caller = Caller(staff_id=int(claims["sub"]), username=claims.get("username"), role=role,
                    township_code=claims.get("township"), station_code=claims.get("station"),
                    county_code=claims.get("county"), correlation_id=correlation_id.get())
    expires = datetime.fromtimestamp(int(claims["exp"]), tz=utcnow().tzinfo)
    return SignedIn(caller, str(claims["jti"]), int(claims["ver"]), expires)


class Remembered:
    """Answers from the directory kept for a few seconds, so a busy station does not ask on every
    request (bounded: the oldest half is dropped when full)."""

    def __init__(self, seconds: float, size: int = 20_000):
        self.seconds, self.size = seconds, size
        self._items: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any:
        item = self._items.get(key)
        if item is None or time.monotonic() - item[0] > self.seconds:
            return None
        return item[1]

    def put(self, key: str, value: Any) -> None:
        if len(self._items) >= self.size:
            for old in list(self._items)[: self.size // 2]:
                del self._items[old]
        self._items[key] = (time.monotonic(), value)

    def forget(self, key: str) -> None:
        self._items.pop(key, None)

    def forget_where(self, matches: Any) -> None:
        """Forget every answer whose value `matches` (a rare event: a scan is fine)."""
        for key, (_, value) in list(self._items.items()):
            if matches(value):
                self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


class Accounts:
    """The gateway's side of accounts: checking sessions and keys, and the per-account rate limit."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.sessions = Remembered(settings.session_check_seconds)
        self.tokens = Remembered(settings.session_check_seconds)
        self.keys = Remembered(settings.session_check_seconds)
        self.per_account = RateLimiter(settings.account_requests_per_minute)
        # bumped by every end of access heard: an answer asked for before it is not remembered
        self.revision = 0

    async def staff(self, request: Request, token: str) -> Caller:
        signed_in = self._read(token)
        if self.sessions.get(signed_in.jti) is None:
            revision = self.revision
            valid = await request.app.state.calls.call(
                "directory", "session_status", caller=Caller.system(),
                check={"jti": signed_in.jti, "staff_id": signed_in.caller.staff_id,
                       "account_version": signed_in.account_version})
            if not valid:
                raise Unauthenticated("this session has ended: sign in again", code="session_ended")
            if revision == self.revision:
                self.sessions.put(signed_in.jti, signed_in.caller.staff_id)
        request.state.session = signed_in
        return self._admit(f"staff:{signed_in.caller.staff_id}", signed_in.caller)

    def _read(self, token: str) -> SignedIn:
        """The token's claims, its signature checked once and then remembered for a few seconds (a station
        sends the same token with every request; checking the signature was a tenth of the gateway's time
        a filing). Its expiry is checked every time, and each request gets its own correlation id."""
        known = self.tokens.get(token)
        if known is None or known.expires_at <= utcnow():
            known = read_token(token, self.settings)
            self.tokens.put(token, known)
        return replace(known, caller=known.caller.model_copy(update={"correlation_id": correlation_id.get()}))

    async def station(self, request: Request, key: str) -> Caller:
        digest = hashlib.sha256(key.encode()).hexdigest()
        resolved = self.keys.get(digest)
        if resolved is None:
            revision = self.revision
            resolved = StationKeyCaller.model_validate(await request.app.state.calls.call(
                "directory", "resolve_station_key", caller=Caller.system(), key=key))
            if revision == self.revision:
                self.keys.put(digest, resolved)
        caller = Caller(staff_id=resolved.staff_id, username=f"station-key-{resolved.key_id}",
                        role=Role.STATION_CLIENT, township_code=resolved.township_code,
                        station_code=resolved.station_code, correlation_id=correlation_id.get())
        return self._admit(f"key:{resolved.key_id}", caller)

    def _admit(self, account: str, caller: Caller) -> Caller:
        wait = self.per_account.hit(account)
        if wait:
            metrics.rate_limited.labels("account").inc()
            raise TooManyAttempts("too many requests for this account; slow down", {"retry_after": wait},
                                  code="rate_limited")
        return caller

    def signed_out(self, jti: str) -> None:
        self.sessions.forget(jti)

    def forget_staff(self, staff_id: int) -> None:
        """An end of a staff member's access was announced: ask the directory again about each of their
        sessions and keys."""
        self.revision += 1
        self.sessions.forget_where(lambda remembered: remembered == staff_id)
        self.keys.forget_where(lambda remembered: remembered.staff_id == staff_id)

    def forget_everything(self) -> None:
        self.revision += 1
        self.sessions.clear()
        self.keys.clear()


async def current_staff(request: Request,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
                        api_key: Annotated[str | None, Depends(station_key)]) -> Caller:
    accounts: Accounts = request.app.state.accounts
    if "authorization" in request.headers and "x-api-key" in request.headers:
        raise Unauthenticated("send one credential: 'Authorization: Bearer <token>' or 'X-API-Key', not both",
                              code="credentials_ambiguous")
    if credentials is not None and credentials.scheme.lower() == "bearer":
        caller = await accounts.staff(request, credentials.credentials)
    elif api_key:
        if not KEY_SHAPE.match(api_key):
            raise Unauthenticated("the station key is not valid", code="station_key_invalid")
        caller = await accounts.station(request, api_key)
    else:
        raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'", code="token_missing")
    request.state.caller = caller
    return caller


async def public_caller() -> Caller:
    return Caller.public(correlation_id.get())


CurrentStaff = Annotated[Caller, Depends(current_staff)]
PublicCaller = Annotated[Caller, Depends(public_caller)]
