"""Directory use cases: each validates scope and rules, changes rows, records its event, commits."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select, tuple_

from services.directory.adapters import orm
from services.directory.adapters.passwords import hash_password
from services.directory.domain import calendar as cal
from services.directory.domain.rules import (
    Record,
    check_name_free,
    check_staff_placement,
    check_township_in_county,
    check_village_in_township,
    name_key,
    require_manage,
    require_staff,
    require_visible,
    staff_county,
)
from services.directory.domain.workflow import check_workflow
from shared.contracts import directory as c
from shared.contracts.base import parse
from shared.contracts.caller import STATION_ROLES, Caller, Role
from shared.db import UnitOfWork, within_scope
from shared.divisions import county_of
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed

P = TypeVar("P", bound=BaseModel)


# ---- snapshots and events ------------------------------------------------------------------------

def _snapshot(public: type[P], row: Any, **extra: Any) -> P:
    values = {name: getattr(row, name) for name in public.model_fields if hasattr(row, name)}
    values.update(extra)
    return public.model_validate(values)


def _publish(uow: UnitOfWork, event_type: str, snapshot: BaseModel, township_code: str | None,
             now: datetime) -> None:
    uow.record_event(event_type, snapshot.model_dump(mode="json"), township_code=township_code, now=now)


def _apply_update(row: Any, changes: dict[str, Any], now: datetime) -> bool:
    changed = False
    for name, value in changes.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        row.version += 1
        row.updated_at = now
    return changed


def _add(uow: UnitOfWork, row: Any, *, public: Callable[[Any], P], event_type: str, township_code: str | None,
         now: datetime) -> P:
    """Insert a new record at version 1 and announce it, in one transaction."""
    row.version, row.updated_at = 1, now
    uow.session.add(row)
    uow.session.flush()
    snapshot = public(row)
    _publish(uow, event_type, snapshot, township_code, now)
    uow.commit()
    return snapshot


def _change(uow: UnitOfWork, row: Any, changes: dict[str, Any], *, public: Callable[[Any], P], event_type: str,
            township_code: str | None, now: datetime) -> P:
    """Apply changes; a real change bumps the version and is announced, a no-op writes nothing."""
    if _apply_update(row, changes, now):
        _publish(uow, event_type, public(row), township_code, now)
        uow.commit()
    return public(row)


def _require_absent(uow: UnitOfWork, model: type, key: Any, record: Record) -> None:
    if uow.session.get(model, key) is not None:
        shown = "/".join(key) if isinstance(key, tuple) else key
        raise Conflict(f"{record.value} {shown} already exists", code=f"{record.value}_exists")


def _page(query: Any, page: c.Page) -> Any:
    return query.limit(page.limit).offset(page.offset)


def _get(uow: UnitOfWork, model: type, key: Any, record: Record) -> Any:
    row = uow.session.get(model, key)
    if row is None:
        raise NotFound(f"{record.value} not found", code=f"{record.value}_not_found")
    return row


# ---- counties and townships ------------------------------------------------------------------

def ensure_county(uow: UnitOfWork, *, caller: Caller, cmd: c.CountyCreate, now: datetime) -> c.CountyPublic:
    """A county of the installation, added by the system administrator (idempotent: an existing county is
    answered as it is)."""
    require_manage(caller, Record.COUNTY, None)
    code, name = cmd.code, cmd.name
    row = uow.session.get(orm.County, code)
    if row is None:
        return _add(uow, orm.County(code=code, name=name), public=county_public, event_type="county_changed",
                    township_code=None, now=now)
    return county_public(row)


def county_public(row: orm.County) -> c.CountyPublic:
    return _snapshot(c.CountyPublic, row)


def list_counties(uow: UnitOfWork, *, caller: Caller) -> list[c.CountyPublic]:
    """The counties the caller sees: every one for the system administrator, a county admin its own."""
    require_staff(caller)
    query = select(orm.County).order_by(orm.County.code)
    if not caller.is_installation:
        query = query.where(orm.County.code == caller.county)
    return [county_public(r) for r in uow.session.execute(query).scalars()]


def _county(uow: UnitOfWork, caller: Caller, county_code: str | None) -> orm.County:
    """The county a county-wide action (the calendar) acts on: the one named, else the caller's own. The
    system administrator must name one; another county than one's own is not found, like a missing one."""
    code = county_code or caller.county
    if code is None:
        if uow.session.execute(select(orm.County.code)).first() is None:
            raise Conflict("no county is set up yet", code="county_missing")
        raise ValidationFailed("name the county this is for", [{"field": "county_code", "message": "required"}],
                               code="county_required")
    row = uow.session.get(orm.County, code) if caller.sees_county(code) else None
    if row is None:
        raise NotFound(f"county {code} not found", code="county_not_found")
    return row


def county_in_scope(uow: UnitOfWork, *, caller: Caller, county_code: str | None) -> str:
    return _county(uow, caller, county_code).code


def county_codes(uow: UnitOfWork) -> list[str]:
    return list(uow.session.execute(select(orm.County.code).order_by(orm.County.code)).scalars())


def _known_county(uow: UnitOfWork, caller: Caller, code: str, field: str) -> orm.County:
    """The county a new township or county admin is placed in: it must be one of the installation's, and
    the caller's own unless it is the system administrator."""
    if not caller.sees_county(code):
        raise Forbidden(f"county {code} is not yours", code="outside_scope")
    row = uow.session.get(orm.County, code)
    if row is None:
        raise ValidationFailed(f"no county {code} on this installation",
                               [{"field": field, "message": f"{code} is not a county of this installation"}],
                               code="county_unknown")
    return row


def township_public(row: orm.Township) -> c.TownshipPublic:
    return _snapshot(c.TownshipPublic, row)


def create_township(uow: UnitOfWork, *, caller: Caller, cmd: c.TownshipCreate, now: datetime) -> c.TownshipPublic:
    require_manage(caller, Record.TOWNSHIP, None)
    if cmd.county_code is not None:
        check_township_in_county(cmd.code, cmd.county_code)
    county = _known_county(uow, caller, county_of(cmd.code), "code")
    _require_absent(uow, orm.Township, cmd.code, Record.TOWNSHIP)
    return _add(uow, orm.Township(county_code=county.code, **cmd.model_dump(exclude={"county_code"})),
                public=township_public,
                event_type="township_changed", township_code=cmd.code, now=now)


def update_township(uow: UnitOfWork, *, caller: Caller, code: str, cmd: c.TownshipUpdate,
                    now: datetime) -> c.TownshipPublic:
    require_visible(caller, Record.TOWNSHIP, code)
    row = _get(uow, orm.Township, code, Record.TOWNSHIP)
    require_manage(caller, Record.TOWNSHIP, None)
    return _change(uow, row, cmd.model_dump(exclude_unset=True), public=township_public,
                   event_type="township_changed", township_code=code, now=now)


def get_township(uow: UnitOfWork, *, caller: Caller, code: str) -> c.TownshipPublic:
    require_visible(caller, Record.TOWNSHIP, code)
    return township_public(_get(uow, orm.Township, code, Record.TOWNSHIP))


def list_townships(uow: UnitOfWork, *, caller: Caller, page: c.Page) -> list[c.TownshipPublic]:
    require_staff(caller)
    query = select(orm.Township).where(*within_scope(caller, orm.Township.code)).order_by(orm.Township.code)
    return [township_public(r) for r in uow.session.execute(_page(query, page)).scalars()]


def public_townships(uow: UnitOfWork) -> list[c.TownshipListing]:
    """公开: every township of the county with its name and hotline, for a villager choosing theirs."""
    rows = uow.session.execute(select(orm.Township).order_by(orm.Township.code)).scalars()
    return [c.TownshipListing(code=r.code, name=r.name, hotline=r.hotline) for r in rows]


def public_villages(uow: UnitOfWork, *, township_code: str) -> list[c.VillageListing]:
    """公开: a township's villages by code and name (404 for an unknown township)."""
    _get(uow, orm.Township, township_code, Record.TOWNSHIP)
    query = select(orm.Village).where(orm.Village.township_code == township_code).order_by(orm.Village.code)
    return [c.VillageListing(code=r.code, name=r.name) for r in uow.session.execute(query).scalars()]


# ---- villages and stations -----------------------------------------------------------------------

def village_public(row: orm.Village) -> c.VillagePublic:
    return _snapshot(c.VillagePublic, row)


def station_public(row: orm.Station) -> c.StationPublic:
    return _snapshot(c.StationPublic, row)


def _names_in_township(uow: UnitOfWork, model: type, township_code: str, but: str | None) -> dict[str, str]:
    """The names of a township's villages (or stations) other than `but`, the township's row locked first
    so two managers cannot give two places the same name at the same moment."""
    uow.session.get(orm.Township, township_code, with_for_update=True)
    rows = uow.session.execute(select(model.code, model.name).where(model.township_code == township_code))
    return {code: name for code, name in rows if code != but}


def _renamed(row: Any, changes: dict[str, Any]) -> bool:
    return "name" in changes and name_key(changes["name"]) != name_key(row.name)


def create_village(uow: UnitOfWork, *, caller: Caller, cmd: c.VillageCreate, now: datetime) -> c.VillagePublic:
    require_manage(caller, Record.VILLAGE, cmd.township_code)
    _get(uow, orm.Township, cmd.township_code, Record.TOWNSHIP)
    check_village_in_township(cmd.code, cmd.township_code)
    _require_absent(uow, orm.Village, cmd.code, Record.VILLAGE)
    check_name_free(Record.VILLAGE, cmd.name, _names_in_township(uow, orm.Village, cmd.township_code, None))
    return _add(uow, orm.Village(**cmd.model_dump()), public=village_public, event_type="village_changed",
                township_code=cmd.township_code, now=now)


def update_village(uow: UnitOfWork, *, caller: Caller, code: str, cmd: c.VillageUpdate,
                   now: datetime) -> c.VillagePublic:
    row = _visible_village(uow, caller, code)
    require_manage(caller, Record.VILLAGE, row.township_code)
    changes = cmd.model_dump(exclude_unset=True)
    if _renamed(row, changes):
        check_name_free(Record.VILLAGE, changes["name"], _names_in_township(uow, orm.Village, row.township_code, code))
    return _change(uow, row, changes, public=village_public,
                   event_type="village_changed", township_code=row.township_code, now=now)


def _visible_village(uow: UnitOfWork, caller: Caller, code: str) -> orm.Village:
    row = _get(uow, orm.Village, code, Record.VILLAGE)
    require_visible(caller, Record.VILLAGE, row.township_code)
    return row


def get_village(uow: UnitOfWork, *, caller: Caller, code: str) -> c.VillagePublic:
    return village_public(_visible_village(uow, caller, code))


def list_villages(uow: UnitOfWork, *, caller: Caller, township_code: str | None,
                  page: c.Page) -> list[c.VillagePublic]:
    query = _scoped(select(orm.Village), orm.Village.township_code, caller, township_code, Record.VILLAGE)
    query = query.order_by(orm.Village.code)
    return [village_public(r) for r in uow.session.execute(_page(query, page)).scalars()]


def _scoped(query: Any, column: Any, caller: Caller, township_code: str | None, record: Record) -> Any:
    """Filter a listing to what the caller may see, narrowed to one township when asked."""
    require_staff(caller)
    if township_code is not None:
        require_visible(caller, record, township_code)
        return query.where(column == township_code)
    return query.where(*within_scope(caller, column))


def create_station(uow: UnitOfWork, *, caller: Caller, cmd: c.StationCreate, now: datetime) -> c.StationPublic:
    village = _visible_village(uow, caller, cmd.village_code)
    require_manage(caller, Record.STATION, village.township_code)
    _require_absent(uow, orm.Station, cmd.code, Record.STATION)
    check_name_free(Record.STATION, cmd.name, _names_in_township(uow, orm.Station, village.township_code, None))
    return _add(uow, orm.Station(township_code=village.township_code, **cmd.model_dump()), public=station_public,
                event_type="station_changed", township_code=village.township_code, now=now)


def update_station(uow: UnitOfWork, *, caller: Caller, code: str, cmd: c.StationUpdate,
                   now: datetime) -> c.StationPublic:
    row = _get(uow, orm.Station, code, Record.STATION)
    require_visible(caller, Record.STATION, row.township_code)
    require_manage(caller, Record.STATION, row.township_code)
    changes = cmd.model_dump(exclude_unset=True)
    if _renamed(row, changes):
        check_name_free(Record.STATION, changes["name"], _names_in_township(uow, orm.Station, row.township_code, code))
    return _change(uow, row, changes, public=station_public,
                   event_type="station_changed", township_code=row.township_code, now=now)


def get_station(uow: UnitOfWork, *, caller: Caller, code: str) -> c.StationPublic:
    row = _get(uow, orm.Station, code, Record.STATION)
    require_visible(caller, Record.STATION, row.township_code)
    return station_public(row)


def list_stations(uow: UnitOfWork, *, caller: Caller, township_code: str | None,
                  page: c.Page) -> list[c.StationPublic]:
    query = _scoped(select(orm.Station), orm.Station.township_code, caller, township_code, Record.STATION)
    query = query.order_by(orm.Station.code)
    return [station_public(r) for r in uow.session.execute(_page(query, page)).scalars()]


# ---- staff -----------------------------------------------------------------------------------------

def staff_public(row: orm.Staff) -> c.StaffPublic:
    return _snapshot(c.StaffPublic, row)


def _check_station(uow: UnitOfWork, station_code: str | None, township_code: str | None) -> None:
    if station_code is None:
        return
    station = uow.session.get(orm.Station, station_code)
    if station is None or station.township_code != township_code:
        raise ValidationFailed("station is not in the staff member's township",
                               [{"field": "station_code", "message": "unknown station in this township"}])


def create_staff(uow: UnitOfWork, *, caller: Caller, cmd: c.StaffCreate, now: datetime) -> c.StaffPublic:
    require_manage(caller, Record.STAFF, cmd.township_code)
    check_staff_placement(cmd.role, cmd.township_code, cmd.station_code, caller, cmd.county_code)
    county_code = staff_county(cmd.role, cmd.township_code, cmd.county_code)
    if cmd.township_code is not None:
        _get(uow, orm.Township, cmd.township_code, Record.TOWNSHIP)
    elif county_code is not None:
        _known_county(uow, caller, county_code, "county_code")
    _check_station(uow, cmd.station_code, cmd.township_code)
    taken = uow.session.execute(select(orm.Staff.id).where(orm.Staff.username == cmd.username)).first()
    if taken:
        raise Conflict(f"username {cmd.username} is taken", code="username_taken")
    row = orm.Staff(active=True, password_hash=hash_password(cmd.password), county_code=county_code,
                    **cmd.model_dump(exclude={"password", "county_code"}))
    return _add(uow, row, public=staff_public, event_type="staff_changed", township_code=cmd.township_code, now=now)


def update_staff(uow: UnitOfWork, *, caller: Caller, staff_id: int, cmd: c.StaffUpdate,
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
    if _apply_update(row, changes, now):
        _end_access(uow, row, now)
        _publish(uow, "staff_changed", staff_public(row), row.township_code, now)
        uow.commit()
    return staff_public(row)


def _end_access(uow: UnitOfWork, row: orm.Staff, now: datetime) -> None:
    """A changed account ends its sessions (a token carries the version it was issued for), and for good
    the station keys that no longer act for an active staff member of their station: disabling someone
    and enabling them again brings back neither a token nor a key. Announced, so every gateway forgets
    them at once."""
    keys = uow.session.execute(select(orm.StationKey).where(orm.StationKey.staff_id == row.id,
                                                            orm.StationKey.revoked_at.is_(None))).scalars()
    revoked = []
    for key in keys:
        if not row.active or row.station_code != key.station_code or Role(row.role) not in STATION_ROLES:
            key.revoked_at = now
            revoked.append(key.id)
    ended = c.AccessRevoked(reason="account_changed", staff_id=row.id, key_ids=revoked)
    _publish(uow, "access_revoked", ended, row.township_code, now)


def _visible_staff(uow: UnitOfWork, caller: Caller, staff_id: int) -> orm.Staff:
    row = _get(uow, orm.Staff, staff_id, Record.STAFF)
    if row.township_code is None and not _sees_county_staff(caller, row.county_code):
        raise NotFound("staff not found", code="staff_not_found")
    require_visible(caller, Record.STAFF, row.township_code)
    return row


def get_staff(uow: UnitOfWork, *, caller: Caller, staff_id: int) -> c.StaffPublic:
    return staff_public(_visible_staff(uow, caller, staff_id))


def notice_contact(uow: UnitOfWork, *, staff_id: int) -> str | None:
    """A staff member's phone, for the SMS notifications is about to send them (the platform's own caller
    only). None when they have none or are no longer active."""
    staff = uow.session.get(orm.Staff, staff_id)
    return staff.phone if staff is not None and staff.active else None


def _sees_county_staff(caller: Caller, county_code: str | None) -> bool:
    """Staff above any township (county admins, system administrators): the system administrator sees all,
    a county admin those of its own county."""
    if caller.is_installation:
        return True
    return caller.is_county and county_code is not None and caller.sees_county(county_code)


def list_staff(uow: UnitOfWork, *, caller: Caller, township_code: str | None,
               page: c.Page) -> list[c.StaffPublic]:
    if township_code is None and (county := caller.county_filter()) is not None:
        require_staff(caller)  # a county's staff, its county admins among them
        query = select(orm.Staff).where(orm.Staff.county_code == county)
    else:
        query = _scoped(select(orm.Staff), orm.Staff.township_code, caller, township_code, Record.STAFF)
    query = query.order_by(orm.Staff.id)
    return [staff_public(r) for r in uow.session.execute(_page(query, page)).scalars()]


def reannounce_directory(uow: UnitOfWork, *, now: datetime) -> dict[str, int]:
    """Announce every staff member and station again as they are, at their versions, and every marked day
    of the calendar: fills a read model added after they were announced (intake's staff and calendar,
    complaints' stations) or one that lost events (the embedded broker's, at a stop); a copy that has a
    version already ignores it, and a day announced as it is changes nothing. Returns how many."""
    counts = {}
    for model, public, event_type in ((orm.Staff, staff_public, "staff_changed"),
                                      (orm.Station, station_public, "station_changed")):
        rows = list(uow.session.execute(select(model).order_by(model.__mapper__.primary_key[0])).scalars())
        for row in rows:
            _publish(uow, event_type, public(row), row.township_code, now)
        counts[event_type] = len(rows)
    days = list(uow.session.execute(select(orm.CalendarEntry).order_by(orm.CalendarEntry.county_code,
                                                                       orm.CalendarEntry.day)).scalars())
    for day in days:
        _calendar_event(uow, day.county_code, day.day, day, now)
    counts["calendar_changed"] = len(days)
    uow.commit()
    return counts


# ---- the service catalogue ----------------------------------------------------------------------

def catalogue_public(row: orm.CatalogueItem) -> c.CatalogueItemPublic:
    kind = c.ItemKind.IMMEDIATE if row.promised_days == 0 else c.ItemKind.PROMISED
    workflow = row.workflow or c.default_workflow(c.HandlingLevel(row.handling_level), row.promised_days)
    return _snapshot(c.CatalogueItemPublic, row, kind=kind, workflow=workflow, custom_workflow=row.workflow is not None)


def create_catalogue_item(uow: UnitOfWork, *, caller: Caller, cmd: c.CatalogueItemCreate,
                          now: datetime) -> c.CatalogueItemPublic:
    require_manage(caller, Record.CATALOGUE, cmd.township_code)
    _get(uow, orm.Township, cmd.township_code, Record.TOWNSHIP)
    _require_absent(uow, orm.CatalogueItem, (cmd.township_code, cmd.code), Record.CATALOGUE)
    return _add(uow, orm.CatalogueItem(status=c.ItemStatus.ACTIVE.value, **cmd.model_dump()),
                public=catalogue_public, event_type="catalogue_item_changed", township_code=cmd.township_code,
                now=now)


def _visible_item(uow: UnitOfWork, caller: Caller, township_code: str, code: str) -> orm.CatalogueItem:
    require_visible(caller, Record.CATALOGUE, township_code)
    return _get(uow, orm.CatalogueItem, (township_code, code), Record.CATALOGUE)


def update_catalogue_item(uow: UnitOfWork, *, caller: Caller, township_code: str, code: str,
                          cmd: c.CatalogueItemUpdate, now: datetime) -> c.CatalogueItemPublic:
    row = _visible_item(uow, caller, township_code, code)
    require_manage(caller, Record.CATALOGUE, township_code)
    changes = cmd.model_dump(exclude_unset=True)
    merged = {**catalogue_public(row).model_dump(include=set(c.CatalogueItemFields.model_fields), mode="json"),
              **cmd.model_dump(exclude_unset=True, mode="json")}
    item = parse(c.CatalogueItemFields, merged)  # the whole item must still be valid after the change
    if row.workflow is not None:  # and its workflow must still fit the promised limit
        check_workflow(c.WorkflowDefinition.model_validate(row.workflow), item.promised_days)
    return _change(uow, row, changes, public=catalogue_public, event_type="catalogue_item_changed",
                   township_code=township_code, now=now)


def set_catalogue_workflow(uow: UnitOfWork, *, caller: Caller, township_code: str, code: str,
                           workflow: c.WorkflowDefinition | None, now: datetime) -> c.CatalogueItemPublic:
    """Give an item its own workflow (validated before it is saved), or None to use the default one."""
    row = _visible_item(uow, caller, township_code, code)
    require_manage(caller, Record.CATALOGUE, township_code)
    if workflow is not None:
        check_workflow(workflow, row.promised_days)
    return _change(uow, row, {"workflow": workflow.model_dump(mode="json") if workflow else None},
                   public=catalogue_public, event_type="catalogue_item_changed", township_code=township_code, now=now)


def withdraw_catalogue_item(uow: UnitOfWork, *, caller: Caller, township_code: str, code: str,
                            now: datetime) -> c.CatalogueItemPublic:
    """Items are withdrawn, never deleted: applications filed against them keep their meaning."""
    row = _visible_item(uow, caller, township_code, code)
    require_manage(caller, Record.CATALOGUE, township_code)
    return _change(uow, row, {"status": c.ItemStatus.WITHDRAWN.value}, public=catalogue_public,
                   event_type="catalogue_item_changed", township_code=township_code, now=now)


def get_catalogue_item(uow: UnitOfWork, *, caller: Caller, township_code: str, code: str) -> c.CatalogueItemPublic:
    return catalogue_public(_visible_item(uow, caller, township_code, code))


def list_catalogue(uow: UnitOfWork, *, caller: Caller, township_code: str | None,
                   category: c.Category | None, include_withdrawn: bool, page: c.Page) -> list[c.CatalogueItemPublic]:
    query = _scoped(select(orm.CatalogueItem), orm.CatalogueItem.township_code, caller, township_code,
                    Record.CATALOGUE)
    return _catalogue_rows(uow, query, category, include_withdrawn, page)


def public_catalogue(uow: UnitOfWork, *, township_code: str, category: c.Category | None,
                     page: c.Page) -> list[c.CatalogueItemPublic]:
    """公开原则: anyone may read a township's active catalogue, fees and promised limits included."""
    _get(uow, orm.Township, township_code, Record.TOWNSHIP)
    query = select(orm.CatalogueItem).where(orm.CatalogueItem.township_code == township_code)
    return _catalogue_rows(uow, query, category, False, page)


def _catalogue_rows(uow: UnitOfWork, query: Any, category: c.Category | None, include_withdrawn: bool,
                    page: c.Page) -> list[c.CatalogueItemPublic]:
    if category is not None:
        query = query.where(orm.CatalogueItem.category == category.value)
    if not include_withdrawn:
        query = query.where(orm.CatalogueItem.status == c.ItemStatus.ACTIVE.value)
    query = query.order_by(orm.CatalogueItem.township_code, orm.CatalogueItem.code)
    return [catalogue_public(r) for r in uow.session.execute(_page(query, page)).scalars()]


# ---- market sites ------------------------------------------------------------------------------------

def site_public(row: orm.MarketSite) -> c.MarketSitePublic:
    return _snapshot(c.MarketSitePublic, row)


def create_market_site(uow: UnitOfWork, *, caller: Caller, cmd: c.MarketSiteCreate,
                       now: datetime) -> c.MarketSitePublic:
    require_manage(caller, Record.MARKET_SITE, cmd.township_code)
    _get(uow, orm.Township, cmd.township_code, Record.TOWNSHIP)
    if cmd.village_code is not None:
        check_village_in_township(cmd.village_code, cmd.township_code)
        _get(uow, orm.Village, cmd.village_code, Record.VILLAGE)
    _require_absent(uow, orm.MarketSite, cmd.code, Record.MARKET_SITE)
    return _add(uow, orm.MarketSite(**cmd.model_dump(mode="json")), public=site_public,
                event_type="market_site_changed", township_code=cmd.township_code, now=now)


def update_market_site(uow: UnitOfWork, *, caller: Caller, code: str, cmd: c.MarketSiteUpdate,
                       now: datetime) -> c.MarketSitePublic:
    row = _get(uow, orm.MarketSite, code, Record.MARKET_SITE)
    require_visible(caller, Record.MARKET_SITE, row.township_code)
    require_manage(caller, Record.MARKET_SITE, row.township_code)
    changes = cmd.model_dump(mode="json", exclude_unset=True)
    if changes.get("opens_at", row.opens_at) >= changes.get("closes_at", row.closes_at):
        raise ValidationFailed("closes_at must be after opens_at",
                               [{"field": "closes_at", "message": "must be after opens_at"}])
    return _change(uow, row, changes, public=site_public, event_type="market_site_changed",
                   township_code=row.township_code, now=now)


def get_market_site(uow: UnitOfWork, *, caller: Caller, code: str) -> c.MarketSitePublic:
    row = _get(uow, orm.MarketSite, code, Record.MARKET_SITE)
    require_visible(caller, Record.MARKET_SITE, row.township_code)
    return site_public(row)


def list_market_sites(uow: UnitOfWork, *, caller: Caller, township_code: str | None,
                      page: c.Page) -> list[c.MarketSitePublic]:
    query = _scoped(select(orm.MarketSite), orm.MarketSite.township_code, caller, township_code,
                    Record.MARKET_SITE)
    query = query.order_by(orm.MarketSite.code)
    return [site_public(r) for r in uow.session.execute(_page(query, page)).scalars()]


# ---- the working-day calendar -------------------------------------------------------------------

def _day_public(row: orm.CalendarEntry) -> c.CalendarDayPublic:
    kind = cal.DayKind(row.kind)
    return c.CalendarDayPublic(day=row.day, kind=c.CalendarDayKind(row.kind), name=row.name, source=row.source,
                               working=cal.is_working_day(row.day, {row.day: kind}))


def _calendar_event(uow: UnitOfWork, county_code: str, day: date, row: orm.CalendarEntry | None,
                    now: datetime) -> None:
    event = c.CalendarChanged(county_code=county_code, day=day, kind=row.kind if row else None,
                              name=row.name if row else None, source=row.source if row else None)
    _publish(uow, "calendar_changed", event, None, now)


def seed_official_calendar(uow: UnitOfWork, *, county_code: str, days: Sequence[cal.CalendarDay],
                           now: datetime) -> int:
    """Load the library's official days that the county does not have yet; never overwrite an edit."""
    county = _get(uow, orm.County, county_code, Record.COUNTY)
    have = set(uow.session.execute(
        select(orm.CalendarEntry.day).where(orm.CalendarEntry.county_code == county.code)).scalars())
    added = 0
    for day in days:
        if day.day in have:
            continue
        row = orm.CalendarEntry(county_code=county.code, day=day.day, kind=day.kind.value, name=day.name,
                                source=day.source.value, updated_at=now)
        uow.session.add(row)
        _calendar_event(uow, county.code, day.day, row, now)
        added += 1
    for year in sorted({d.day.year for d in days}):  # the official data carries whole years
        _complete_year(uow, county.code, year, basis="official_data", by="chinesecalendar", staff_id=None, now=now)
    uow.commit()
    return added


def _confirmed_if_complete(uow: UnitOfWork, county_code: str, year: int, changes_official: bool,
                           confirmed: bool) -> None:
    """A year confirmed complete is the schedule running deadlines count on: changing its official days
    (a holiday or 调休 set, replaced or cleared) moves them, so it is done only when asked for on purpose.
    A county's own day off is its own decision and never part of what was confirmed."""
    if confirmed or not changes_official:
        return
    if uow.session.get(orm.CalendarYear, (county_code, year)) is not None:
        raise Conflict(f"{year}'s calendar is confirmed complete and changing it moves the deadlines of running "
                       "cases: send confirm_complete_year=true to change it anyway",
                       {"year": year}, code="calendar_year_complete")


def _official(kind: str | None) -> bool:
    return kind is not None and cal.DayKind(kind) in cal.OFFICIAL_KINDS


def _set_day(uow: UnitOfWork, county_code: str, day: date, cmd: c.CalendarDayChange,
             now: datetime) -> orm.CalendarEntry:
    row = uow.session.get(orm.CalendarEntry, (county_code, day))
    if row is None:
        row = orm.CalendarEntry(county_code=county_code, day=day)
        uow.session.add(row)
    row.kind, row.name, row.source, row.updated_at = cmd.kind.value, cmd.name, cmd.source, now
    _calendar_event(uow, county_code, day, row, now)
    return row


def _entered(uow: UnitOfWork, county_code: str, days: list[date]) -> dict[date, orm.CalendarEntry]:
    rows = uow.session.execute(select(orm.CalendarEntry).where(orm.CalendarEntry.county_code == county_code,
                                                               orm.CalendarEntry.day.in_(days))).scalars()
    return {row.day: row for row in rows}


def set_calendar_day(uow: UnitOfWork, *, caller: Caller, cmd: c.CalendarDaySet, now: datetime,
                     county_code: str | None = None) -> c.CalendarDayPublic:
    return set_calendar_days(uow, caller=caller, days=[cmd.day], cmd=cmd, now=now, county_code=county_code)[0]


def set_calendar_range(uow: UnitOfWork, *, caller: Caller, cmd: c.CalendarRangeSet, now: datetime,
                       county_code: str | None = None) -> list[c.CalendarDayPublic]:
    """Every day from `from_day` to `to_day` (春节's week) entered alike, in one transaction."""
    require_manage(caller, Record.CALENDAR, None)
    return set_calendar_days(uow, caller=caller, days=cal.days_from_to(cmd.from_day, cmd.to_day), cmd=cmd, now=now,
                             county_code=county_code)


def set_calendar_days(uow: UnitOfWork, *, caller: Caller, days: list[date], cmd: c.CalendarDayChange,
                      now: datetime, county_code: str | None = None) -> list[c.CalendarDayPublic]:
    """Enter `days` (of one year) as `cmd` says: each must make sense for its kind (调休 on a weekend), and
    changing a year confirmed complete must be confirmed. All of them or none."""
    require_manage(caller, Record.CALENDAR, None)
    county = _county(uow, caller, county_code)
    kind = cal.DayKind(cmd.kind.value)
    for day in days:
        cal.check_entry(day, kind)
    before = _entered(uow, county.code, days)
    changes_official = kind in cal.OFFICIAL_KINDS or any(_official(row.kind) for row in before.values())
    _confirmed_if_complete(uow, county.code, days[0].year, changes_official, cmd.confirm_complete_year)
    rows = [_set_day(uow, county.code, day, cmd, now) for day in days]
    uow.commit()
    return [_day_public(row) for row in rows]


def clear_calendar_day(uow: UnitOfWork, *, caller: Caller, day: date, confirm_complete_year: bool = False,
                       now: datetime, county_code: str | None = None) -> None:
    require_manage(caller, Record.CALENDAR, None)
    county = _county(uow, caller, county_code)
    row = _get(uow, orm.CalendarEntry, (county.code, day), Record.CALENDAR)
    _confirmed_if_complete(uow, county.code, day.year, _official(row.kind), confirm_complete_year)
    uow.session.delete(row)
    _calendar_event(uow, county.code, day, None, now)
    uow.commit()


def calendar_year(uow: UnitOfWork, *, caller: Caller, year: int,
                  county_code: str | None = None) -> list[c.CalendarDayPublic]:
    require_staff(caller)
    county = _county(uow, caller, county_code)
    rows = uow.session.execute(
        select(orm.CalendarEntry).where(orm.CalendarEntry.county_code == county.code,
                                        orm.CalendarEntry.day >= date(year, 1, 1),
                                        orm.CalendarEntry.day <= date(year, 12, 31))
        .order_by(orm.CalendarEntry.day)).scalars()
    return [_day_public(r) for r in rows]


def _year_public(row: orm.CalendarYear) -> c.CalendarYearPublic:
    return _snapshot(c.CalendarYearPublic, row)


def _complete_year(uow: UnitOfWork, county_code: str, year: int, *, basis: str, by: str, staff_id: int | None,
                   now: datetime) -> orm.CalendarYear:
    """Record a year as complete once, and announce it; a year already complete keeps its first record."""
    row = uow.session.get(orm.CalendarYear, (county_code, year))
    if row is None:
        row = orm.CalendarYear(county_code=county_code, year=year, basis=basis, completed_at=now, completed_by=by,
                               completed_by_staff_id=staff_id)
        uow.session.add(row)
        uow.session.flush()
        _publish(uow, "calendar_year_completed", c.CalendarYearCompleted(**_year_public(row).model_dump()), None,
                 now)
    return row


def complete_calendar_year(uow: UnitOfWork, *, caller: Caller, year: int, now: datetime,
                           county_code: str | None = None) -> c.CalendarYearPublic:
    """A county admin declares a year's official schedule complete (every holiday and 调休 day of the State
    Council's notice entered): only then does the year count as loaded. Repeating it changes nothing."""
    require_manage(caller, Record.CALENDAR, None)
    county = _county(uow, caller, county_code)
    a_holiday = uow.session.execute(
        select(orm.CalendarEntry.day).where(orm.CalendarEntry.county_code == county.code,
                                            orm.CalendarEntry.source == cal.Source.OFFICIAL.value,
                                            orm.CalendarEntry.kind == cal.DayKind.HOLIDAY.value,
                                            orm.CalendarEntry.day >= date(year, 1, 1),
                                            orm.CalendarEntry.day <= date(year, 12, 31))).first()
    if a_holiday is None:
        raise Conflict(f"no official holiday of {year} is entered: enter the State Council's notice first",
                       code="calendar_year_empty")
    row = _complete_year(uow, county.code, year, basis="county", by=caller.username or f"staff {caller.staff_id}",
                         staff_id=caller.staff_id, now=now)
    uow.commit()
    return _year_public(row)


def calendar_years(uow: UnitOfWork, *, caller: Caller, county_code: str | None = None) -> list[c.CalendarYearPublic]:
    """The loaded years, each with how it was loaded, who said so and when."""
    require_staff(caller)
    county = _county(uow, caller, county_code)
    rows = uow.session.execute(select(orm.CalendarYear).where(orm.CalendarYear.county_code == county.code)
                               .order_by(orm.CalendarYear.year)).scalars()
    return [_year_public(r) for r in rows]


def calendar_status(uow: UnitOfWork, *, county_code: str, today: date) -> c.CalendarStatus:
    county = _get(uow, orm.County, county_code, Record.COUNTY)
    official_days = uow.session.execute(
        select(orm.CalendarEntry.day).where(orm.CalendarEntry.county_code == county.code,
                                            orm.CalendarEntry.source == "official")).scalars()
    years = sorted({d.year for d in official_days})
    loaded = sorted(uow.session.execute(
        select(orm.CalendarYear.year).where(orm.CalendarYear.county_code == county.code)).scalars())
    next_year = today.year + 1
    missing, this_missing = cal.next_year_missing(today, loaded), cal.this_year_missing(today, loaded)
    days_left = cal.days_until_next_year(today)
    if this_missing:
        warning = (f"no complete official working-day calendar for {today.year}, which has begun: deadlines count "
                   f"its holidays as working days. {_how_to_load(today.year)}")
    elif missing and cal.next_year_due(today):
        warning = (f"no complete official working-day calendar for {next_year}, which starts in {days_left} "
                   f"day{'s' if days_left != 1 else ''}. {_how_to_load(next_year)}")
    else:
        warning = None
    return c.CalendarStatus(county_code=county.code, today=today, official_years=years, loaded_years=loaded,
                            next_year=next_year, next_year_missing=missing, days_until_next_year=days_left,
                            this_year_missing=this_missing, warning=warning)


def _how_to_load(year: int) -> str:
    return (f"Enter the State Council's holiday notice (PUT /calendar/days/...), then mark the year complete "
            f"(PUT /calendar/years/{year}/complete)")


# ---- names, many at once -------------------------------------------------------------------------

def names(uow: UnitOfWork, *, caller: Caller, query: c.NamesQuery) -> c.Names:
    """The names of the records asked for, in one read per kind (a page naming fifty objects makes one
    call); what the caller may not see, or what no longer exists, is left out."""
    require_staff(caller)

    def visible(township_code: str | None, county_code: str | None = None) -> bool:
        if township_code is None:
            return _sees_county_staff(caller, county_code)
        return caller.sees_township(township_code)

    def rows(model: type, column: Any, keys: list[Any]) -> list[Any]:
        if not keys:
            return []
        return list(uow.session.execute(select(model).where(column.in_(set(keys)))).scalars())

    refs = {(i.township_code, i.code) for i in query.items}
    key = tuple_(orm.CatalogueItem.township_code, orm.CatalogueItem.code)
    items = {f"{r.township_code}/{r.code}": r.name for r in rows(orm.CatalogueItem, key, list(refs))
             if visible(r.township_code)}
    return c.Names(
        townships={r.code: r.name for r in rows(orm.Township, orm.Township.code, query.townships)
                   if visible(r.code)},
        villages={r.code: c.VillageName(name=r.name, kind=r.kind)
                  for r in rows(orm.Village, orm.Village.code, query.villages) if visible(r.township_code)},
        stations={r.code: r.name for r in rows(orm.Station, orm.Station.code, query.stations)
                  if visible(r.township_code)},
        staff={str(r.id): r.full_name for r in rows(orm.Staff, orm.Staff.id, query.staff)
               if visible(r.township_code, r.county_code)},
        items=items)
