"""Staff: the people who run the directory's townships and stations, and the county admins above them. A
changed account ends its sessions and the station keys that no longer act for it."""
from __future__ import annotations

from datetime import datetime

from services.directory.adapters import orm
from services.directory.adapters.passwords import hash_password
from services.directory.adapters.repositories import DirectoryUnitOfWork
from services.directory.domain.rules import (
    Record,
    check_staff_placement,
    require_manage,
    require_staff,
    require_visible,
    staff_county,
)
from services.directory.service_layer.common import (
    add_record,
    apply_update,
    check_listing,
    get_record,
    publish,
    snapshot,
)
from services.directory.service_layer.tree import known_county
from shared.contracts import directory as c
from shared.contracts.caller import STATION_ROLES, Caller, Role
from shared.errors import Conflict, NotFound, ValidationFailed


def staff_public(row: orm.Staff) -> c.StaffPublic:
    return snapshot(c.StaffPublic, row)


def _check_station(uow: DirectoryUnitOfWork, station_code: str | None, township_code: str | None) -> None:
    if station_code is None:
        return
    station = uow.stations.get(station_code)
    if station is None or station.township_code != township_code:
        raise ValidationFailed("station is not in the staff member's township",
                               [{"field": "station_code", "message": "unknown station in this township"}])


def create_staff(uow: DirectoryUnitOfWork, *, caller: Caller, cmd: c.StaffCreate, now: datetime) -> c.StaffPublic:
    require_manage(caller, Record.STAFF, cmd.township_code)
    check_staff_placement(cmd.role, cmd.township_code, cmd.station_code, caller, cmd.county_code)
    county_code = staff_county(cmd.role, cmd.township_code, cmd.county_code)
    if cmd.township_code is not None:
        get_record(uow.townships, cmd.township_code, Record.TOWNSHIP)
    elif county_code is not None:
        known_county(uow, caller, county_code, "county_code")
    _check_station(uow, cmd.station_code, cmd.township_code)
    if uow.staff.username_taken(cmd.username):
        raise Conflict(f"username {cmd.username} is taken", code="username_taken")
    row = orm.Staff(active=True, password_hash=hash_password(cmd.password), county_code=county_code,
                    **cmd.model_dump(exclude={"password", "county_code"}))
    return add_record(uow, uow.staff, row, public=staff_public, event_type="staff_changed",
                      township_code=cmd.township_code, now=now)


def update_staff(uow: DirectoryUnitOfWork, *, caller: Caller, staff_id: int, cmd: c.StaffUpdate,
                 now: datetime) -> c.StaffPublic:
    row = _visible_staff(uow, caller, staff_id)
    require_manage(caller, Record.STAFF, row.township_code)
    changes = cmd.model_dump(exclude_unset=True, exclude={"password"})
    role = changes.get("role", Role(row.role))
    station_code = changes.get("station_code", row.station_code)
    check_staff_placement(role, row.township_code, station_code, caller, row.county_code)
    _check_station(uow, station_code, row.township_code)
    if cmd.password is not None:
        changes["password_hash"] = hash_password(cmd.password)
    if apply_update(row, changes, now):
        end_access(uow, row, now)
        publish(uow, "staff_changed", staff_public(row), row.township_code, now)
        uow.commit()
    return staff_public(row)


def end_access(uow: DirectoryUnitOfWork, row: orm.Staff, now: datetime) -> None:
    """A changed account ends its sessions (a token carries the version it was issued for), and for good
    the station keys that no longer act for an active staff member of their station: disabling someone
    and enabling them again brings back neither a token nor a key. Announced, so every gateway forgets
    them at once."""
    revoked = []
    for key in uow.station_keys.acting_for(row.id):
        if not row.active or row.station_code != key.station_code or Role(row.role) not in STATION_ROLES:
            key.revoked_at = now
            revoked.append(key.id)
    ended = c.AccessRevoked(reason="account_changed", staff_id=row.id, key_ids=revoked)
    publish(uow, "access_revoked", ended, row.township_code, now)


def _visible_staff(uow: DirectoryUnitOfWork, caller: Caller, staff_id: int) -> orm.Staff:
    row = get_record(uow.staff, staff_id, Record.STAFF)
    if row.township_code is None and not sees_county_staff(caller, row.county_code):
        raise NotFound("staff not found", code="staff_not_found")
    require_visible(caller, Record.STAFF, row.township_code)
    return row


def get_staff(uow: DirectoryUnitOfWork, *, caller: Caller, staff_id: int) -> c.StaffPublic:
    return staff_public(_visible_staff(uow, caller, staff_id))


def notice_contact(uow: DirectoryUnitOfWork, *, staff_id: int) -> str | None:
    """A staff member's phone, for the SMS notifications is about to send them (the platform's own caller
    only). None when they have none or are no longer active."""
    staff = uow.staff.get(staff_id)
    return staff.phone if staff is not None and staff.active else None


def sees_county_staff(caller: Caller, county_code: str | None) -> bool:
    """Staff above any township (county admins, system administrators): the system administrator sees all,
    a county admin those of its own county."""
    if caller.is_installation:
        return True
    return caller.is_county and county_code is not None and caller.sees_county(county_code)


def list_staff(uow: DirectoryUnitOfWork, *, caller: Caller, township_code: str | None,
               page: c.Page) -> list[c.StaffPublic]:
    if township_code is None and (county := caller.county_filter()) is not None:
        require_staff(caller)  # a county's staff, its county admins among them
        rows = uow.staff.of_county(county, page)
    else:
        check_listing(caller, township_code, Record.STAFF)
        rows = uow.staff.within_reach(caller, page, township_code)
    return [staff_public(r) for r in rows]
