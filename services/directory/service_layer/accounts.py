"""Accounts: signing in (throttled per account and client, and per account), signed-in sessions that end on sign-out
or when the account changes, station API keys for machine clients, and the audit log."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from services.directory.adapters import orm
from services.directory.adapters.passwords import hash_password, verify_password
from services.directory.adapters.repositories import DirectoryUnitOfWork, StationKeys, Stations
from services.directory.domain.rules import Record, require_manage
from services.directory.service_layer.common import get_record, publish
from services.directory.service_layer.staff import end_access, staff_public
from shared.clock import today_in_china
from shared.contracts import directory as c
from shared.contracts.caller import STATION_ROLES, Caller, Role
from shared.divisions import county_of
from shared.errors import NotFound, Unauthenticated, ValidationFailed
from shared.receipts import AttemptLimits, Attempts

SIGN_INS = Attempts(orm.LoginFailure, AttemptLimits(
    timedelta(minutes=15), per_pair=5, per_subject=10, subject_window=timedelta(minutes=5), per_client=300,
    code="login_locked",
    message="too many failed sign-ins; wait before trying again, or ask a supervisor to check the account"))


# ---- signing in and out ------------------------------------------------------------------------------

def authenticate(uow: DirectoryUnitOfWork, *, sign_in: c.SignIn, now: datetime) -> c.StaffPublic:
    """The same answer for an unknown user, a wrong password and a disabled account. Five failures for
    one account from one client in 15 minutes lock that client's tries at it; ten from anywhere in 5
    minutes lock the account for everyone, briefly; three hundred from one client in 15 minutes (a flood:
    a whole station or NAT shares an address) lock that client (429 with Retry-After)."""
    username = sign_in.credentials.username.lower()
    SIGN_INS.check(uow, username, sign_in.client, now)
    row = uow.staff.with_username(username)
    ok = verify_password(row.password_hash if row else None, sign_in.credentials.password)
    if not ok or row is None or not row.active:
        SIGN_INS.fail(uow, username, sign_in.client, now,
                      Unauthenticated("wrong username or password", code="bad_credentials"))
    SIGN_INS.forget(uow, username)
    uow.commit()
    return staff_public(row)


def change_own_password(uow: DirectoryUnitOfWork, *, caller: Caller, cmd: c.OwnPasswordChange,
                        now: datetime) -> c.StaffPublic:
    """A staff member sets their own password (`update_staff` is a manager's). The current password must
    be right, and a wrong one counts as a failed sign-in of the account from that client, so a session
    left open on a shared computer cannot guess it any faster than the sign-in page can. The new password
    follows a new account's rules and must differ from the current one. Like any change of the account it
    ends every session of it (the caller's too: the gateway hands them a new one at once) and is
    announced; the station keys acting for the account stay, as a password is not what they hold."""
    row = uow.staff.get(caller.staff_id)
    if row is None or not row.active:
        raise Unauthenticated("this session has ended: sign in again", code="session_ended")
    SIGN_INS.check(uow, row.username, cmd.client, now)
    if not verify_password(row.password_hash, cmd.change.current_password):
        SIGN_INS.fail(uow, row.username, cmd.client, now, ValidationFailed(
            "the current password is not right",
            [{"field": "current_password", "message": "not the current password"}], code="current_password_wrong"))
    if cmd.change.new_password == cmd.change.current_password:
        raise ValidationFailed("the new password is the current one",
                               [{"field": "new_password", "message": "same as the current password"}],
                               code="password_unchanged")
    SIGN_INS.forget(uow, row.username)
    row.password_hash = hash_password(cmd.change.new_password)
    row.version += 1
    row.updated_at = now
    end_access(uow, row, now)
    publish(uow, "staff_changed", staff_public(row), row.township_code, now)
    uow.commit()
    return staff_public(row)


def end_session(uow: DirectoryUnitOfWork, *, caller: Caller, end: c.SessionEnd, now: datetime) -> None:
    """Sign out: the token is refused from now on. Expired entries are cleared on the way."""
    uow.ended_sessions.clear_expired(now)
    uow.ended_sessions.end(end.jti, caller.staff_id, end.expires_at)
    _announce(uow, c.AccessRevoked(reason="signed_out", staff_id=caller.staff_id, jti=end.jti),
              caller.township_code, now)
    uow.commit()


def _announce(uow: DirectoryUnitOfWork, revoked: c.AccessRevoked, township_code: str | None, now: datetime) -> None:
    """Every gateway forgets what it remembered of the staff member at once (gateway/auth.py)."""
    uow.record_event("access_revoked", revoked.model_dump(mode="json"), township_code=township_code, now=now)


def session_status(uow: DirectoryUnitOfWork, *, check: c.SessionCheck) -> bool:
    """Is a token still good: not signed out, its account active and unchanged since it was issued."""
    if uow.ended_sessions.ended(check.jti):
        return False
    staff = uow.staff.get(check.staff_id)
    return staff is not None and staff.active and staff.version == check.account_version


# ---- station API keys ---------------------------------------------------------------------------------

def _key_view(row: orm.StationKey) -> c.StationKeyView:
    return c.StationKeyView.model_validate(row, from_attributes=True)


def _manageable(caller: Caller, records: Stations | StationKeys, key: Any, code: str) -> Any:
    """A station, or one of its keys, that the caller manages (those of another township are not found)."""
    row = records.get(key)
    if row is None or not caller.sees_township(row.township_code):
        raise NotFound(f"{code.replace('_', ' ')} not found", code=f"{code}_not_found")
    require_manage(caller, Record.STATION, row.township_code)
    return row


def _issue(uow: DirectoryUnitOfWork, caller: Caller, station: orm.Station, staff_id: int, label: str,
           now: datetime) -> c.StationKeyIssued:
    row = orm.StationKey(station_code=station.code, township_code=station.township_code, staff_id=staff_id,
                         label=label, key_hash=secrets.token_hex(32), prefix="", created_at=now,
                         created_by=caller.staff_id)
    uow.station_keys.add(row)  # written at once: the id is part of the key
    key = f"cbk_{row.id}_{secrets.token_urlsafe(32)}"
    row.key_hash, row.prefix = hashlib.sha256(key.encode()).hexdigest(), key[:16]
    uow.commit()
    return c.StationKeyIssued(**_key_view(row).model_dump(), key=key)


def create_station_key(uow: DirectoryUnitOfWork, *, caller: Caller, station_code: str, cmd: c.StationKeyCreate,
                       now: datetime) -> c.StationKeyIssued:
    """A new key for a station's machine client, acting for one of the station's staff. The key is in
    the answer once; only its hash is kept."""
    station = _manageable(caller, uow.stations, station_code, "station")
    staff = uow.staff.get(cmd.staff_id)
    if (staff is None or not staff.active or staff.station_code != station.code
            or Role(staff.role) not in STATION_ROLES):
        raise ValidationFailed("a station key acts for an active staff member of that station",
                               [{"field": "staff_id", "message": "not an active station staff member here"}])
    return _issue(uow, caller, station, cmd.staff_id, cmd.label, now)


def list_station_keys(uow: DirectoryUnitOfWork, *, caller: Caller, station_code: str) -> list[c.StationKeyView]:
    _manageable(caller, uow.stations, station_code, "station")
    return [_key_view(r) for r in uow.station_keys.of_station(station_code)]


def revoke_station_key(uow: DirectoryUnitOfWork, *, caller: Caller, key_id: int, now: datetime) -> c.StationKeyView:
    row = _manageable(caller, uow.station_keys, key_id, "station_key")
    if row.revoked_at is None:
        row.revoked_at = now
        _announce(uow, c.AccessRevoked(reason="key_revoked", staff_id=row.staff_id, key_ids=[row.id]),
                  row.township_code, now)
        uow.commit()
    return _key_view(row)


def rotate_station_key(uow: DirectoryUnitOfWork, *, caller: Caller, key_id: int, now: datetime) -> c.StationKeyIssued:
    """A new key for the same station, staff member and label; the old one stops working at once."""
    row = _manageable(caller, uow.station_keys, key_id, "station_key")
    if row.revoked_at is not None:
        raise ValidationFailed("this key is revoked; create a new one", code="station_key_revoked")
    row.revoked_at = now
    _announce(uow, c.AccessRevoked(reason="key_rotated", staff_id=row.staff_id, key_ids=[row.id]),
              row.township_code, now)
    return _issue(uow, caller, get_record(uow.stations, row.station_code, Record.STATION), row.staff_id, row.label,
                  now)


def resolve_station_key(uow: DirectoryUnitOfWork, *, key: str, now: datetime) -> c.StationKeyCaller:
    """Who a presented key acts as; a revoked, unknown or mistyped key and a disabled staff member all
    look the same."""
    invalid = Unauthenticated("the station key is not valid", code="station_key_invalid")
    key_id = int(key.split("_")[1])
    row = uow.station_keys.get(key_id)
    if row is None or row.revoked_at is not None or not hmac.compare_digest(
            row.key_hash, hashlib.sha256(key.encode()).hexdigest()):
        raise invalid
    staff = uow.staff.get(row.staff_id)
    if staff is None or not staff.active or staff.station_code != row.station_code:
        raise invalid
    today = today_in_china(now)
    if row.last_used_on != today:
        row.last_used_on = today
        uow.commit()
    return c.StationKeyCaller(key_id=row.id, staff_id=row.staff_id, township_code=row.township_code,
                              station_code=row.station_code)


# ---- the audit log -------------------------------------------------------------------------------------

def record_audit(uow: DirectoryUnitOfWork, *, entries: list[c.AuditEntry]) -> None:
    """Store each entry once (a redelivered entry has the same id); entries are never changed. Its county is
    its township's, or for a county admin their own (kept here, with the staff record): the gateway sends no
    county, so that the entries of either release are read by the directory of either release."""
    rows = [entry.model_dump() for entry in entries]
    above = {r["staff_id"] for r in rows if r["township_code"] is None and r["staff_id"] is not None}
    counties = uow.staff.counties_of(above)
    for row in rows:
        row["county_code"] = county_of(row["township_code"]) if row["township_code"] else counties.get(row["staff_id"])
    uow.audit_log.keep(rows)


def audit_log(uow: DirectoryUnitOfWork, *, caller: Caller, query: c.AuditQuery) -> list[c.AuditView]:
    """Newest first. County admins read it; pass the last `seq` as `before` for the next page."""
    if caller.is_installation:
        rows = uow.audit_log.newest(query)
    else:  # a county admin reads what the people of its county did
        rows = uow.audit_log.newest_of_county(caller.county, query)
    return [c.AuditView.model_validate(r, from_attributes=True) for r in rows]
