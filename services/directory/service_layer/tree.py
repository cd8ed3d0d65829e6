"""The tenant tree: the installation's counties, their townships, the townships' villages and stations, and
the market sites villagers gather at. Each use case checks scope and rules, changes records, records its
event and commits."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.directory.adapters import orm
from services.directory.adapters.repositories import DirectoryUnitOfWork
from services.directory.domain.rules import (
    Record,
    check_name_free,
    check_township_in_county,
    check_village_in_township,
    name_key,
    require_manage,
    require_staff,
    require_visible,
)
from services.directory.service_layer.common import (
    add_record,
    change_record,
    check_listing,
    get_record,
    require_absent,
    snapshot,
)
from shared.contracts import directory as c
from shared.contracts.caller import Caller
from shared.divisions import county_of
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed

# ---- counties --------------------------------------------------------------------------------------


def county_public(row: orm.County) -> c.CountyPublic:
    return snapshot(c.CountyPublic, row)


def ensure_county(uow: DirectoryUnitOfWork, *, caller: Caller, cmd: c.CountyCreate, now: datetime) -> c.CountyPublic:
    """A county of the installation, added by the system administrator (idempotent: an existing county is
    answered as it is)."""
    require_manage(caller, Record.COUNTY, None)
    code, name = cmd.code, cmd.name
    row = uow.counties.get(code)
    if row is None:
        return add_record(uow, uow.counties, orm.County(code=code, name=name), public=county_public,
                          event_type="county_changed", township_code=None, now=now)
    return county_public(row)


def list_counties(uow: DirectoryUnitOfWork, *, caller: Caller) -> list[c.CountyPublic]:
    """The counties the caller sees: every one for the system administrator, a county admin its own."""
    require_staff(caller)
    rows = uow.counties.all() if caller.is_installation else uow.counties.named(caller.county)
    return [county_public(r) for r in rows]


def county_acted_on(uow: DirectoryUnitOfWork, caller: Caller, county_code: str | None) -> orm.County:
    """The county a county-wide action (the calendar) acts on: the one named, else the caller's own. The
    system administrator must name one; another county than one's own is not found, like a missing one."""
    code = county_code or caller.county
    if code is None:
        if not uow.counties.any():
            raise Conflict("no county is set up yet", code="county_missing")
        raise ValidationFailed("name the county this is for", [{"field": "county_code", "message": "required"}],
                               code="county_required")
    row = uow.counties.get(code) if caller.sees_county(code) else None
    if row is None:
        raise NotFound(f"county {code} not found", code="county_not_found")
    return row


def county_in_scope(uow: DirectoryUnitOfWork, *, caller: Caller, county_code: str | None) -> str:
    return county_acted_on(uow, caller, county_code).code


def county_codes(uow: DirectoryUnitOfWork) -> list[str]:
    return uow.counties.codes()


def known_county(uow: DirectoryUnitOfWork, caller: Caller, code: str, field: str) -> orm.County:
    """The county a new township or county admin is placed in: it must be one of the installation's, and
    the caller's own unless it is the system administrator."""
    if not caller.sees_county(code):
        raise Forbidden(f"county {code} is not yours", code="outside_scope")
    row = uow.counties.get(code)
    if row is None:
        raise ValidationFailed(f"no county {code} on this installation",
                               [{"field": field, "message": f"{code} is not a county of this installation"}],
                               code="county_unknown")
    return row


# ---- townships ---------------------------------------------------------------------------------------

def township_public(row: orm.Township) -> c.TownshipPublic:
    return snapshot(c.TownshipPublic, row)


def create_township(uow: DirectoryUnitOfWork, *, caller: Caller, cmd: c.TownshipCreate,
                    now: datetime) -> c.TownshipPublic:
    require_manage(caller, Record.TOWNSHIP, None)
    if cmd.county_code is not None:
        check_township_in_county(cmd.code, cmd.county_code)
    county = known_county(uow, caller, county_of(cmd.code), "code")
    require_absent(uow.townships, cmd.code, Record.TOWNSHIP)
    return add_record(uow, uow.townships, orm.Township(county_code=county.code,
                                                       **cmd.model_dump(exclude={"county_code"})),
                      public=township_public, event_type="township_changed", township_code=cmd.code, now=now)


def update_township(uow: DirectoryUnitOfWork, *, caller: Caller, code: str, cmd: c.TownshipUpdate,
                    now: datetime) -> c.TownshipPublic:
    require_visible(caller, Record.TOWNSHIP, code)
    row = get_record(uow.townships, code, Record.TOWNSHIP)
    require_manage(caller, Record.TOWNSHIP, None)
    return change_record(uow, row, cmd.model_dump(exclude_unset=True), public=township_public,
                         event_type="township_changed", township_code=code, now=now)


def get_township(uow: DirectoryUnitOfWork, *, caller: Caller, code: str) -> c.TownshipPublic:
    require_visible(caller, Record.TOWNSHIP, code)
    return township_public(get_record(uow.townships, code, Record.TOWNSHIP))


def list_townships(uow: DirectoryUnitOfWork, *, caller: Caller, page: c.Page) -> list[c.TownshipPublic]:
    require_staff(caller)
    return [township_public(r) for r in uow.townships.within_reach(caller, page)]


def public_townships(uow: DirectoryUnitOfWork) -> list[c.TownshipListing]:
    """公开: every township of the county with its name and hotline, for a villager choosing theirs."""
    return [c.TownshipListing(code=r.code, name=r.name, hotline=r.hotline) for r in uow.townships.all()]


def public_villages(uow: DirectoryUnitOfWork, *, township_code: str) -> list[c.VillageListing]:
    """公开: a township's villages by code and name (404 for an unknown township)."""
    get_record(uow.townships, township_code, Record.TOWNSHIP)
    return [c.VillageListing(code=r.code, name=r.name) for r in uow.villages.of_township(township_code)]


# ---- villages and stations -----------------------------------------------------------------------

def village_public(row: orm.Village) -> c.VillagePublic:
    return snapshot(c.VillagePublic, row)


def station_public(row: orm.Station) -> c.StationPublic:
    return snapshot(c.StationPublic, row)


def _renamed(row: Any, changes: dict[str, Any]) -> bool:
    return "name" in changes and name_key(changes["name"]) != name_key(row.name)


def create_village(uow: DirectoryUnitOfWork, *, caller: Caller, cmd: c.VillageCreate,
                   now: datetime) -> c.VillagePublic:
    require_manage(caller, Record.VILLAGE, cmd.township_code)
    get_record(uow.townships, cmd.township_code, Record.TOWNSHIP)
    check_village_in_township(cmd.code, cmd.township_code)
    require_absent(uow.villages, cmd.code, Record.VILLAGE)
    check_name_free(Record.VILLAGE, cmd.name, uow.villages.names_in_township(cmd.township_code))
    return add_record(uow, uow.villages, orm.Village(**cmd.model_dump()), public=village_public,
                      event_type="village_changed", township_code=cmd.township_code, now=now)


def update_village(uow: DirectoryUnitOfWork, *, caller: Caller, code: str, cmd: c.VillageUpdate,
                   now: datetime) -> c.VillagePublic:
    row = visible_village(uow, caller, code)
    require_manage(caller, Record.VILLAGE, row.township_code)
    changes = cmd.model_dump(exclude_unset=True)
    if _renamed(row, changes):
        check_name_free(Record.VILLAGE, changes["name"], uow.villages.names_in_township(row.township_code, but=code))
    return change_record(uow, row, changes, public=village_public,
                         event_type="village_changed", township_code=row.township_code, now=now)


def visible_village(uow: DirectoryUnitOfWork, caller: Caller, code: str) -> orm.Village:
    row = get_record(uow.villages, code, Record.VILLAGE)
    require_visible(caller, Record.VILLAGE, row.township_code)
    return row


def get_village(uow: DirectoryUnitOfWork, *, caller: Caller, code: str) -> c.VillagePublic:
    return village_public(visible_village(uow, caller, code))


def list_villages(uow: DirectoryUnitOfWork, *, caller: Caller, township_code: str | None,
                  page: c.Page) -> list[c.VillagePublic]:
    check_listing(caller, township_code, Record.VILLAGE)
    return [village_public(r) for r in uow.villages.within_reach(caller, page, township_code)]


def create_station(uow: DirectoryUnitOfWork, *, caller: Caller, cmd: c.StationCreate,
                   now: datetime) -> c.StationPublic:
    village = visible_village(uow, caller, cmd.village_code)
    require_manage(caller, Record.STATION, village.township_code)
    require_absent(uow.stations, cmd.code, Record.STATION)
    check_name_free(Record.STATION, cmd.name, uow.stations.names_in_township(village.township_code))
    return add_record(uow, uow.stations, orm.Station(township_code=village.township_code, **cmd.model_dump()),
                      public=station_public, event_type="station_changed", township_code=village.township_code,
                      now=now)


def update_station(uow: DirectoryUnitOfWork, *, caller: Caller, code: str, cmd: c.StationUpdate,
                   now: datetime) -> c.StationPublic:
    row = get_record(uow.stations, code, Record.STATION)
    require_visible(caller, Record.STATION, row.township_code)
    require_manage(caller, Record.STATION, row.township_code)
    changes = cmd.model_dump(exclude_unset=True)
    if _renamed(row, changes):
        check_name_free(Record.STATION, changes["name"], uow.stations.names_in_township(row.township_code, but=code))
    return change_record(uow, row, changes, public=station_public,
                         event_type="station_changed", township_code=row.township_code, now=now)


def get_station(uow: DirectoryUnitOfWork, *, caller: Caller, code: str) -> c.StationPublic:
    row = get_record(uow.stations, code, Record.STATION)
    require_visible(caller, Record.STATION, row.township_code)
    return station_public(row)


def list_stations(uow: DirectoryUnitOfWork, *, caller: Caller, township_code: str | None,
                  page: c.Page) -> list[c.StationPublic]:
    check_listing(caller, township_code, Record.STATION)
    return [station_public(r) for r in uow.stations.within_reach(caller, page, township_code)]
