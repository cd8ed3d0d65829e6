"""Directory rules: who may manage which record, and how the tenant tree must hang together."""
from __future__ import annotations

import unicodedata
from enum import StrEnum

from shared.contracts.access import roles_for
from shared.contracts.caller import STATION_ROLES, Caller, Role
from shared.divisions import county_of, is_under
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed


class Record(StrEnum):
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"
    STATION = "station"
    STAFF = "staff"
    CATALOGUE = "catalogue"
    MARKET_SITE = "market_site"
    CALENDAR = "calendar"


# Who may create and change each kind of record (always within their own scope): the access matrix's
# rows for creating them.
MANAGERS: dict[Record, frozenset[Role]] = {
    Record.COUNTY: roles_for("directory.bootstrap_county"),
    Record.TOWNSHIP: roles_for("directory.create_township"),
    Record.VILLAGE: roles_for("directory.create_village"),
    Record.STATION: roles_for("directory.create_station"),
    Record.STAFF: roles_for("directory.create_staff"),
    Record.CATALOGUE: roles_for("directory.create_catalogue_item"),
    Record.MARKET_SITE: roles_for("directory.create_market_site"),
    Record.CALENDAR: roles_for("directory.set_calendar_day"),
}

STAFF_ROLES = frozenset(Role) - {Role.PUBLIC, Role.SYSTEM, Role.STATION_CLIENT}  # people, not machines


def require_staff(caller: Caller) -> None:
    if caller.role is Role.PUBLIC:
        raise Forbidden("staff only: sign in first", code="staff_only")


def require_visible(caller: Caller, record: Record, township_code: str | None) -> None:
    """Reading another township's record looks exactly like reading a missing one."""
    require_staff(caller)
    if township_code is not None and not caller.sees_township(township_code):
        raise NotFound(f"{record.value} not found", code=f"{record.value}_not_found")


def require_manage(caller: Caller, record: Record, township_code: str | None) -> None:
    if caller.role is not Role.SYSTEM and caller.role not in MANAGERS[record]:
        raise Forbidden(f"role {caller.role.value} may not manage {record.value} records",
                        {"allowed_roles": sorted(r.value for r in MANAGERS[record])})
    if township_code is None:
        if not caller.is_county:
            raise Forbidden(f"only county roles manage county-wide {record.value} records")
    elif not caller.sees_township(township_code):
        raise Forbidden(f"{record.value} belongs to another township", code="outside_scope")


def check_village_in_township(village_code: str, township_code: str) -> None:
    """Administrative codes nest: a village's 12-digit code starts with its township's 9 digits."""
    if not village_code.startswith(township_code):
        raise ValidationFailed("village code does not belong to the township",
                               [{"field": "code", "message": f"must start with {township_code}"}])


def check_township_in_county(township_code: str, county_code: str) -> None:
    """Administrative codes nest: a township's 9-digit code starts with its county's 6 digits."""
    if not is_under(township_code, county_code):
        raise ValidationFailed("township code does not belong to the county",
                               [{"field": "code", "message": f"must start with {county_code}"}],
                               code="township_not_in_county")


def staff_county(role: Role, township_code: str | None, county_code: str | None) -> str | None:
    """The county a staff member belongs to: a township's staff their township's, a county admin the one
    named; the system administrator none. A county named beside a township must be the township's."""
    if township_code is not None:
        if county_code is not None:
            check_township_in_county(township_code, county_code)
        return county_of(township_code)
    return None if role is Role.SYSTEM_ADMIN else county_code


def check_staff_placement(role: Role, township_code: str | None, station_code: str | None,
                          manager: Caller, county_code: str | None = None) -> None:
    if role not in STAFF_ROLES:
        raise ValidationFailed(f"{role.value} is not a staff role",
                               [{"field": "role", "message": "not a staff role"}])
    if role is Role.SYSTEM_ADMIN:
        if township_code is not None or station_code is not None or county_code is not None:
            raise ValidationFailed("a system administrator belongs to the installation, not a county",
                                   [{"field": "county_code", "message": "must be empty for system_admin"}])
        if not manager.is_installation:
            raise Forbidden("only the system administrator appoints system administrators", code="system_admin_only")
        return
    if role is Role.COUNTY_ADMIN:
        if township_code is not None or station_code is not None:
            raise ValidationFailed("a county admin belongs to the county, not a township",
                                   [{"field": "township_code", "message": "must be empty for county_admin"}])
        if county_code is None:
            raise ValidationFailed("a county admin belongs to a county",
                                   [{"field": "county_code", "message": "required for county_admin"}],
                                   code="county_required")
        if not manager.is_installation:
            raise Forbidden("only the system administrator appoints county admins", code="system_admin_only")
        return
    if township_code is None:
        raise ValidationFailed(f"a {role.value} belongs to a township",
                               [{"field": "township_code", "message": "required for this role"}])
    if role in STATION_ROLES and station_code is None:
        raise ValidationFailed(f"a {role.value} works at a station",
                               [{"field": "station_code", "message": "required for this role"}])
    if role is Role.SUPERVISOR and not manager.is_county:
        raise Forbidden("only county roles appoint supervisors")


def name_key(name: str) -> str:
    """A name as compared for sameness: full-width and half-width forms alike, every space removed,
    letters in one case — "桃源村", " 桃源 村" and "桃源村\u3000" are one name."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def check_name_free(record: Record, name: str, others: dict[str, str]) -> None:
    """A village's (or station's) name is used once in its township, so every list names one place; the
    same name in another township is fine. `others`: the township's other records, code → name."""
    key = name_key(name)
    taken = next((code for code, other in others.items() if name_key(other) == key), None)
    if taken is not None:
        raise Conflict(f"another {record.value} of the township is already called {name} ({taken})",
                       [{"field": "name", "message": "already used in this township", "code": taken}],
                       code=f"{record.value}_name_taken")
