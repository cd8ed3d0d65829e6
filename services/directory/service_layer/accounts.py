"""Accounts: signing in (throttled per account and client, and per account), signed-in sessions that end on sign-out
or when the account changes, station API keys for machine clients, and the audit log."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from services.directory.adapters import orm
from services.directory.adapters.passwords import hash_password, verify_password
from services.directory.domain.rules import Record, require_manage
from services.directory.service_layer.handlers import _end_access, _get, _publish, staff_public
from shared.clock import today_in_china
from shared.contracts import directory as c
from shared.contracts.caller import STATION_ROLES, Caller, Role
from shared.db import UnitOfWork, insert_or_ignore
from shared.divisions import county_of
from shared.errors import NotFound, Unauthenticated, ValidationFailed
from shared.receipts import AttemptLimits, Attempts

SIGN_INS = Attempts(orm.LoginFailure, AttemptLimits(
    timedelta(minutes=15), per_pair=5, per_subject=10, subject_window=timedelta(minutes=5), per_client=300,
    code="login_locked",
    message="too many failed sign-ins; wait before trying again, or ask a supervisor to check the account"))


# ---- signing in and out ------------------------------------------------------------------------------

def authenticate(uow: UnitOfWork, *, sign_in: c.SignIn, now: datetime) -> c.StaffPublic:
    """The same answer for an unknown user, a wrong password and a disabled account. Five failures for
    one account from one client in 15 minutes lock that client's tries at it; ten from anywhere in 5
    minutes lock the account for everyone, briefly; three hundred from one client in 15 minutes (a flood:
    a whole station or NAT shares an address) lock that client (429 with Retry-After)."""
    username = sign_in.credentials.username.lower()
    SIGN_INS.check(uow, username, sign_in.client, now)
    row = uow.session.execute(select(orm.Staff).where(orm.Staff.username == username)).scalars().first()
    ok = verify_password(row.password_hash if row else None, sign_in.credentials.password)
    if not ok or row is None or not row.active:
        SIGN_INS.fail(uow, username, sign_in.client, now,
                      Unauthenticated("wrong username or password", code="bad_credentials"))
    SIGN_INS.forget(uow, username)
    uow.commit()
    return staff_public(row)


def change_own_password(uow: UnitOfWork, *, caller: Caller, cmd: c.OwnPasswordChange,
                        now: datetime) -> c.StaffPublic:
    """A staff member sets their own password (`update_staff` is a manager's). The current password must
    be right, and a wrong one counts as a failed sign-in of the account from that client, so a session
    left open on a shared computer cannot guess it any faster than the sign-in page can. The new password
    follows a new account's rules and must differ from the current one. Like any change of the account it
    ends every session of it (the caller's too: the gateway hands them a new one at once) and is
    announced; the station keys acting for the account stay, as a password is not what they hold."""
    row = uow.session.get(orm.Staff, caller.staff_id)
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
    _end_access(uow, row, now)
    _publish(uow, "staff_changed", staff_public(row), row.township_code, now)
    uow.commit()
    return staff_public(row)


def end_session(uow: UnitOfWork, *, caller: Caller, end: c.SessionEnd, now: datetime) -> None:
    """Sign out: the token is refused from now on. Expired entries are cleared on the way."""
    uow.session.execute(delete(orm.EndedSession).where(orm.EndedSession.expires_at < now))
    insert_or_ignore(uow.session, orm.EndedSession, jti=end.jti, staff_id=caller.staff_id, expires_at=end.expires_at)
    _announce(uow, c.AccessRevoked(reason="signed_out", staff_id=caller.staff_id, jti=end.jti),
              caller.township_code, now)
    uow.commit()


def _announce(uow: UnitOfWork, revoked: c.AccessRevoked, township_code: str | None, now: datetime) -> None:
    """Every gateway forgets what it remembered of the staff member at once (gateway/auth.py)."""
    uow.record_event("access_revoked", revoked.model_dump(mode="json"), township_code=township_code, now=now)


def session_status(uow: UnitOfWork, *, check: c.SessionCheck) -> bool:
    """Is a token still good: not signed out, its account active and unchanged since it was issued."""
    if uow.session.get(orm.EndedSession, check.jti) is not None:
        return False
    staff = uow.session.get(orm.Staff, check.staff_id)
    return staff is not None and staff.active and staff.version == check.account_version


# ---- station API keys ---------------------------------------------------------------------------------

def _key_view(row: orm.StationKey) -> c.StationKeyView:
    return c.StationKeyView.model_validate(row, from_attributes=True)


def _manageable(uow: UnitOfWork, caller: Caller, model: type[orm.Station] | type[orm.StationKey], key: Any,
                code: str) -> Any:
    """A station, or one of its keys, that the caller manages (those of another township are not found)."""
    row = uow.session.get(model, key)
    if row is None or not caller.sees_township(row.township_code):
        raise NotFound(f"{code.replace('_', ' ')} not found", code=f"{code}_not_found")
    require_manage(caller, Record.STATION, row.township_code)
    return row


def _issue(uow: UnitOfWork, caller: Caller, station: orm.Station, staff_id: int, label: str,
           now: datetime) -> c.StationKeyIssued:
    row = orm.StationKey(station_code=station.code, township_code=station.township_code, staff_id=staff_id,
                         label=label, key_hash=secrets.token_hex(32), prefix="", created_at=now,
                         created_by=caller.staff_id)
    uow.session.add(row)
    uow.session.flush()  # the id is part of the key
    key = f"cbk_{row.id}_{secrets.token_urlsafe(32)}"
    row.key_hash, row.prefix = hashlib.sha256(key.encode()).hexdigest(), key[:16]
    uow.commit()
    return c.StationKeyIssued(**_key_view(row).model_dump(), key=key)


def create_station_key(uow: UnitOfWork, *, caller: Caller, station_code: str, cmd: c.StationKeyCreate,
                       now: datetime) -> c.StationKeyIssued:
    """A new key for a station's machine client, acting for one of the station's staff. The key is in
    the answer once; only its hash is kept."""
    station = _manageable(uow, caller, orm.Station, station_code, "station")
    staff = uow.session.get(orm.Staff, cmd.staff_id)
    if (staff is None or not staff.active or staff.station_code != station.code
            or Role(staff.role) not in STATION_ROLES):
        raise ValidationFailed("a station key acts for an active staff member of that station",
                               [{"field": "staff_id", "message": "not an active station staff member here"}])
    return _issue(uow, caller, station, cmd.staff_id, cmd.label, now)


def list_station_keys(uow: UnitOfWork, *, caller: Caller, station_code: str) -> list[c.StationKeyView]:
    _manageable(uow, caller, orm.Station, station_code, "station")
    rows = uow.session.execute(select(orm.StationKey).where(orm.StationKey.station_code == station_code)
                               .order_by(orm.StationKey.id)).scalars()
    return [_key_view(r) for r in rows]


def revoke_station_key(uow: UnitOfWork, *, caller: Caller, key_id: int, now: datetime) -> c.StationKeyView:
    row = _manageable(uow, caller, orm.StationKey, key_id, "station_key")
    if row.revoked_at is None:
        row.revoked_at = now
        _announce(uow, c.AccessRevoked(reason="key_revoked", staff_id=row.staff_id, key_ids=[row.id]),
                  row.township_code, now)
        uow.commit()
    return _key_view(row)


def rotate_station_key(uow: UnitOfWork, *, caller: Caller, key_id: int, now: datetime) -> c.StationKeyIssued:
    """A new key for the same station, staff member and label; the old one stops working at once."""
    row = _manageable(uow, caller, orm.StationKey, key_id, "station_key")
    if row.revoked_at is not None:
        raise ValidationFailed("this key is revoked; create a new one", code="station_key_revoked")
    row.revoked_at = now
    _announce(uow, c.AccessRevoked(reason="key_rotated", staff_id=row.staff_id, key_ids=[row.id]),
              row.township_code, now)
    return _issue(uow, caller, _get(uow, orm.Station, row.station_code, Record.STATION), row.staff_id, row.label,
                  now)


def resolve_station_key(uow: UnitOfWork, *, key: str, now: datetime) -> c.StationKeyCaller:
    """Who a presented key acts as; a revoked, unknown or mistyped key and a disabled staff member all
    look the same."""
    invalid = Unauthenticated("the station key is not valid", code="station_key_invalid")
    key_id = int(key.split("_")[1])
    row = uow.session.get(orm.StationKey, key_id)
    if row is None or row.revoked_at is not None or not hmac.compare_digest(
            row.key_hash, hashlib.sha256(key.encode()).hexdigest()):
        raise invalid
    staff = uow.session.get(orm.Staff, row.staff_id)
    if staff is None or not staff.active or staff.station_code != row.station_code:
        raise invalid
    today = today_in_china(now)
    if row.last_used_on != today:
        row.last_used_on = today
        uow.commit()
    return c.StationKeyCaller(key_id=row.id, staff_id=row.staff_id, township_code=row.township_code,
                              station_code=row.station_code)


# ---- the audit log -------------------------------------------------------------------------------------

def record_audit(uow: UnitOfWork, *, entries: list[c.AuditEntry]) -> None:
    """Store each entry once (a redelivered entry has the same id); entries are never changed. Its county is
    its township's, or for a county admin their own (kept here, with the staff record): the gateway sends no
    county, so that the entries of either release are read by the directory of either release."""
    rows = [entry.model_dump() for entry in entries]
    above = {r["staff_id"] for r in rows if r["township_code"] is None and r["staff_id"] is not None}
    counties = {staff_id: county for staff_id, county in uow.session.execute(
        select(orm.Staff.id, orm.Staff.county_code).where(orm.Staff.id.in_(above))).all()} if above else {}
    for row in rows:
        row["county_code"] = county_of(row["township_code"]) if row["township_code"] else counties.get(row["staff_id"])
    insert_or_ignore(uow.session, orm.AuditRow, rows)


def audit_log(uow: UnitOfWork, *, caller: Caller, query: c.AuditQuery) -> list[c.AuditView]:
    """Newest first. County admins read it; pass the last `seq` as `before` for the next page."""
    a = orm.AuditRow
    q = select(a)
    if not caller.is_installation:  # a county admin reads what the people of its county did
        q = q.where(a.county_code == caller.county)
    for column, value in ((a.staff_id, query.staff_id), (a.username, query.username),
                          (a.correlation_id, query.correlation_id), (a.township_code, query.township_code),
                          (a.action, query.action), (a.personal_data, query.personal_data)):
        if value is not None:
            q = q.where(column == value)
    if query.failed is not None:
        q = q.where(a.outcome >= 400 if query.failed else a.outcome < 400)
    if query.since is not None:
        q = q.where(a.at >= query.since)
    if query.until is not None:
        q = q.where(a.at < query.until)
    if query.before is not None:
        q = q.where(a.seq < query.before)
    rows = uow.session.execute(q.order_by(a.seq.desc()).limit(query.limit)).scalars()
    return [c.AuditView.model_validate(r, from_attributes=True) for r in rows]

