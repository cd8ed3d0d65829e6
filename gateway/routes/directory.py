"""Directory records over HTTP: the tenant tree, staff, catalogue, market sites, the calendar."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import StringConstraints

from gateway.audit import PERSONAL_DATA
from gateway.auth import CurrentStaff, PublicCaller
from gateway.routes import Calls, Offset
from shared.contracts import directory as c

router = APIRouter()

TownshipPath = Annotated[str, Path(pattern=r"^\d{9}$", description="9-digit township code")]
VillagePath = Annotated[str, Path(pattern=r"^\d{12}$", description="12-digit village code")]
CodePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")]
TownshipFilter = Annotated[str | None, Query(pattern=r"^\d{9}$")]
CountyFilter = Annotated[str | None, Query(pattern=r"^\d{6}$", description="6-digit county code: the system "
                                           "administrator names the county; a county's staff act on their own")]
Limit = Annotated[int, Query(ge=1, le=500)]
ItemRef = Annotated[str, StringConstraints(pattern=r"^\d{9}/[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")]  # <township>/<code>


def _page(limit: int, offset: int) -> dict:
    return {"limit": limit, "offset": offset}


# ---- counties ------------------------------------------------------------------------------------

@router.get("/counties", tags=["tenant tree"], operation_id="list_counties", response_model=list[c.CountyPublic])
async def list_counties(caller: CurrentStaff, calls: Calls) -> list:
    """The counties of the installation: every one for the system administrator, a county admin its own."""
    return await calls.call("directory", "list_counties", caller=caller)


@router.post("/counties", tags=["tenant tree"], operation_id="bootstrap_county", status_code=201,
             response_model=c.CountyPublic)
async def create_county(body: c.CountyCreate, caller: CurrentStaff, calls: Calls) -> dict:
    """Add a county (6-digit national division code) and load its official calendar: the system
    administrator's. Adding an existing county answers it as it is."""
    added = await calls.call("directory", "bootstrap_county", caller=caller, code=body.code, name=body.name)
    return added["county"]


# ---- townships -----------------------------------------------------------------------------------

@router.get("/public/townships", tags=["public"], operation_id="public_townships",
            response_model=list[c.TownshipListing])
async def public_townships(public: PublicCaller, calls: Calls) -> list:
    """公开: the county's townships with their names and hotlines (监督电话). No sign-in."""
    return await calls.call("directory", "public_townships", caller=public)


@router.get("/public/townships/{code}/villages", tags=["public"], operation_id="public_villages",
            response_model=list[c.VillageListing])
async def public_villages(code: TownshipPath, public: PublicCaller, calls: Calls) -> list:
    """公开: a township's villages by code and name, to say where a complaint comes from. No sign-in."""
    return await calls.call("directory", "public_villages", caller=public, township_code=code)


@router.get("/townships", tags=["tenant tree"], operation_id="list_townships",
            response_model=list[c.TownshipPublic])
async def list_townships(caller: CurrentStaff, calls: Calls, limit: Limit = 50, offset: Offset = 0) -> list:
    return await calls.call("directory", "list_townships", caller=caller, page=_page(limit, offset))


@router.post("/townships", tags=["tenant tree"], operation_id="create_township", status_code=201,
             response_model=c.TownshipPublic)
async def create_township(body: c.TownshipCreate, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "create_township", caller=caller, township=body.model_dump(mode="json"))


@router.get("/townships/{code}", tags=["tenant tree"], operation_id="get_township",
            response_model=c.TownshipPublic)
async def get_township(code: TownshipPath, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "get_township", caller=caller, code=code)


@router.patch("/townships/{code}", tags=["tenant tree"], operation_id="update_township",
              response_model=c.TownshipPublic)
async def update_township(code: TownshipPath, body: c.TownshipUpdate, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "update_township", caller=caller, code=code,
                            changes=body.model_dump(mode="json", exclude_unset=True))


# ---- villages and stations -----------------------------------------------------------------------

@router.get("/villages", tags=["tenant tree"], operation_id="list_villages", response_model=list[c.VillagePublic])
async def list_villages(caller: CurrentStaff, calls: Calls, township_code: TownshipFilter = None,
                        limit: Limit = 50, offset: Offset = 0) -> list:
    return await calls.call("directory", "list_villages", caller=caller, township_code=township_code,
                            page=_page(limit, offset))


@router.post("/villages", tags=["tenant tree"], operation_id="create_village", status_code=201,
             response_model=c.VillagePublic)
async def create_village(body: c.VillageCreate, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "create_village", caller=caller, village=body.model_dump(mode="json"))


@router.get("/villages/{code}", tags=["tenant tree"], operation_id="get_village", response_model=c.VillagePublic)
async def get_village(code: VillagePath, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "get_village", caller=caller, code=code)


@router.patch("/villages/{code}", tags=["tenant tree"], operation_id="update_village",
              response_model=c.VillagePublic)
async def update_village(code: VillagePath, body: c.VillageUpdate, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "update_village", caller=caller, code=code,
                            changes=body.model_dump(mode="json", exclude_unset=True))


@router.get("/stations", tags=["tenant tree"], operation_id="list_stations", response_model=list[c.StationPublic])
async def list_stations(caller: CurrentStaff, calls: Calls, township_code: TownshipFilter = None,
                        limit: Limit = 50, offset: Offset = 0) -> list:
    return await calls.call("directory", "list_stations", caller=caller, township_code=township_code,
                            page=_page(limit, offset))


@router.post("/stations", tags=["tenant tree"], operation_id="create_station", status_code=201,
             response_model=c.StationPublic)
async def create_station(body: c.StationCreate, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "create_station", caller=caller, station=body.model_dump(mode="json"))


@router.get("/stations/{code}", tags=["tenant tree"], operation_id="get_station", response_model=c.StationPublic)
async def get_station(code: CodePath, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "get_station", caller=caller, code=code)


@router.patch("/stations/{code}", tags=["tenant tree"], operation_id="update_station",
              response_model=c.StationPublic)
async def update_station(code: CodePath, body: c.StationUpdate, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "update_station", caller=caller, code=code,
                            changes=body.model_dump(mode="json", exclude_unset=True))


# ---- station keys ----------------------------------------------------------------------------------------

KeyPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/stations/{code}/keys", tags=["station keys"], operation_id="create_station_key", status_code=201,
             response_model=c.StationKeyIssued)
async def create_station_key(code: CodePath, body: c.StationKeyCreate, caller: CurrentStaff, calls: Calls) -> dict:
    """A key for a station's machine client (send it as `X-API-Key`), acting for one of the station's
    staff with the station as its whole scope. The key is in this answer only; keep it safe."""
    return await calls.call("directory", "create_station_key", caller=caller, station_code=code,
                            key=body.model_dump(mode="json"))


@router.get("/stations/{code}/keys", tags=["station keys"], operation_id="list_station_keys",
            response_model=list[c.StationKeyView])
async def list_station_keys(code: CodePath, caller: CurrentStaff, calls: Calls) -> list:
    return await calls.call("directory", "list_station_keys", caller=caller, station_code=code)


@router.post("/station-keys/{key_id}/rotate", tags=["station keys"], operation_id="rotate_station_key",
             status_code=201, response_model=c.StationKeyIssued)
async def rotate_station_key(key_id: KeyPath, caller: CurrentStaff, calls: Calls) -> dict:
    """A new key in place of this one, which stops working at once."""
    return await calls.call("directory", "rotate_station_key", caller=caller, key_id=key_id)


@router.post("/station-keys/{key_id}/revoke", tags=["station keys"], operation_id="revoke_station_key",
             response_model=c.StationKeyView)
async def revoke_station_key(key_id: KeyPath, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "revoke_station_key", caller=caller, key_id=key_id)


# ---- the audit log ---------------------------------------------------------------------------------------

@router.get("/audit-log", tags=["audit"], operation_id="audit_log", response_model=list[c.AuditView])
async def audit_log(caller: CurrentStaff, calls: Calls, query: Annotated[c.AuditQuery, Query()]) -> list:
    """Every write through the gateway and every read of personal data, newest first (county admins).
    Pass the last entry's `seq` as `before` for the next page."""
    return await calls.call("directory", "audit_log", caller=caller, query=query.model_dump(mode="json"))


# ---- staff ---------------------------------------------------------------------------------------------

@router.get("/staff", tags=["staff"], operation_id="list_staff", response_model=list[c.StaffPublic],
            openapi_extra=PERSONAL_DATA)
async def list_staff(caller: CurrentStaff, calls: Calls, township_code: TownshipFilter = None,
                     limit: Limit = 50, offset: Offset = 0) -> list:
    return await calls.call("directory", "list_staff", caller=caller, township_code=township_code,
                            page=_page(limit, offset))


@router.post("/staff", tags=["staff"], operation_id="create_staff", status_code=201, response_model=c.StaffPublic)
async def create_staff(body: c.StaffCreate, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "create_staff", caller=caller, staff=body.model_dump(mode="json"))


@router.get("/staff/{staff_id}", tags=["staff"], operation_id="get_staff", response_model=c.StaffPublic,
            openapi_extra=PERSONAL_DATA)
async def get_staff(staff_id: Annotated[int, Path(ge=1, le=2**31 - 1)], caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "get_staff", caller=caller, staff_id=staff_id)


@router.get("/names", tags=["tenant tree"], operation_id="names", response_model=c.Names,
            openapi_extra=PERSONAL_DATA)
async def names(caller: CurrentStaff, calls: Calls,
                township: Annotated[list[c.TownshipCode] | None, Query(max_length=200)] = None,
                village: Annotated[list[c.VillageCode] | None, Query(max_length=200)] = None,
                station: Annotated[list[c.RecordCode] | None, Query(max_length=200)] = None,
                staff: Annotated[list[c.Id] | None, Query(max_length=200)] = None,
                item: Annotated[list[ItemRef] | None, Query(max_length=200)] = None) -> dict:
    """The names of many records at once (`?village=…&village=…&staff=12&item=<township>/<code>`); what the
    caller may not see, or what no longer exists, is left out. Staff names are personal data."""
    items = [dict(zip(("township_code", "code"), ref.split("/", 1), strict=False)) for ref in item or []]
    return await calls.call("directory", "names", caller=caller, query={
        "townships": township or [], "villages": village or [], "stations": station or [], "staff": staff or [],
        "items": items})


@router.patch("/staff/{staff_id}", tags=["staff"], operation_id="update_staff", response_model=c.StaffPublic)
async def update_staff(staff_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: c.StaffUpdate,
                       caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "update_staff", caller=caller, staff_id=staff_id,
                            changes=body.model_dump(mode="json", exclude_unset=True))


# ---- the service catalogue ---------------------------------------------------------------------------

@router.get("/public/townships/{code}/catalogue", tags=["public"], operation_id="public_catalogue",
            response_model=list[c.CatalogueItemPublic])
async def public_catalogue(code: TownshipPath, public: PublicCaller, calls: Calls,
                           category: c.Category | None = None, limit: Limit = 100, offset: Offset = 0) -> list:
    """公开原则: a township's catalogue with procedures, materials, limits, fees and the hotline. No sign-in."""
    return await calls.call("directory", "public_catalogue", caller=public, township_code=code,
                            category=category.value if category else None, page=_page(limit, offset))


@router.get("/catalogue", tags=["catalogue"], operation_id="list_catalogue",
            response_model=list[c.CatalogueItemPublic])
async def list_catalogue(caller: CurrentStaff, calls: Calls, township_code: TownshipFilter = None,
                         category: c.Category | None = None, include_withdrawn: bool = False,
                         limit: Limit = 50, offset: Offset = 0) -> list:
    return await calls.call("directory", "list_catalogue", caller=caller, township_code=township_code,
                            category=category.value if category else None, include_withdrawn=include_withdrawn,
                            page=_page(limit, offset))


@router.post("/catalogue", tags=["catalogue"], operation_id="create_catalogue_item", status_code=201,
             response_model=c.CatalogueItemPublic)
async def create_catalogue_item(body: c.CatalogueItemCreate, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "create_catalogue_item", caller=caller, item=body.model_dump(mode="json"))


@router.get("/catalogue/{township_code}/{code}", tags=["catalogue"], operation_id="get_catalogue_item",
            response_model=c.CatalogueItemPublic)
async def get_catalogue_item(township_code: TownshipPath, code: CodePath, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "get_catalogue_item", caller=caller, township_code=township_code, code=code)


@router.patch("/catalogue/{township_code}/{code}", tags=["catalogue"], operation_id="update_catalogue_item",
              response_model=c.CatalogueItemPublic)
async def update_catalogue_item(township_code: TownshipPath, code: CodePath, body: c.CatalogueItemUpdate,
                                caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "update_catalogue_item", caller=caller, township_code=township_code,
                            code=code, changes=body.model_dump(mode="json", exclude_unset=True))


WORKFLOW_EXAMPLE = {"value": {"warning_share": 0.75, "steps": [
    {"name": "village_review", "title": "村级审查并公示", "roles": ["village_committee"], "level": "village",
     "limit_days": 5, "on_approve": "township_review"},
    {"name": "township_review", "title": "乡镇审核", "roles": ["department_staff"], "level": "township",
     "limit_days": 10, "on_approve": "leader_signoff"},
    {"name": "leader_signoff", "title": "领导签批", "roles": ["supervisor"], "level": "township",
     "limit_days": 5, "on_approve": "approved"}]}}


@router.put("/catalogue/{township_code}/{code}/workflow", tags=["catalogue"], operation_id="set_catalogue_workflow",
            response_model=c.CatalogueItemPublic)
async def set_catalogue_workflow(
        township_code: TownshipPath, code: CodePath, caller: CurrentStaff, calls: Calls,
        body: Annotated[c.WorkflowDefinition, Body(openapi_examples={"three steps": WORKFLOW_EXAMPLE})]) -> dict:
    """Set the steps of an item's applications: who acts at each, its limit in working days and where an
    approval leads. Refused (422 `workflow_invalid`) unless every step is reachable, every approval leads
    to a defined step or to "approved", nothing loops, and the limits fit the promised limit."""
    return await calls.call("directory", "set_catalogue_workflow", caller=caller, township_code=township_code,
                            code=code, workflow=body.model_dump(mode="json"))


@router.delete("/catalogue/{township_code}/{code}/workflow", tags=["catalogue"],
               operation_id="clear_catalogue_workflow", response_model=c.CatalogueItemPublic)
async def clear_catalogue_workflow(township_code: TownshipPath, code: CodePath, caller: CurrentStaff,
                                   calls: Calls) -> dict:
    """Go back to the default workflow: one review step at the item's handling level."""
    return await calls.call("directory", "set_catalogue_workflow", caller=caller, township_code=township_code,
                            code=code, workflow=None)


@router.delete("/catalogue/{township_code}/{code}", tags=["catalogue"], operation_id="withdraw_catalogue_item",
               response_model=c.CatalogueItemPublic)
async def withdraw_catalogue_item(township_code: TownshipPath, code: CodePath, caller: CurrentStaff,
                                  calls: Calls) -> dict:
    """Withdraw an item from the public catalogue (it is kept for the applications filed against it)."""
    return await calls.call("directory", "withdraw_catalogue_item", caller=caller, township_code=township_code,
                            code=code)


# ---- market sites ----------------------------------------------------------------------------------

@router.get("/market-sites", tags=["market sites"], operation_id="list_market_sites",
            response_model=list[c.MarketSitePublic])
async def list_market_sites(caller: CurrentStaff, calls: Calls, township_code: TownshipFilter = None,
                            limit: Limit = 50, offset: Offset = 0) -> list:
    return await calls.call("directory", "list_market_sites", caller=caller, township_code=township_code,
                            page=_page(limit, offset))


@router.post("/market-sites", tags=["market sites"], operation_id="create_market_site", status_code=201,
             response_model=c.MarketSitePublic)
async def create_market_site(body: c.MarketSiteCreate, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "create_market_site", caller=caller, site=body.model_dump(mode="json"))


@router.get("/market-sites/{code}", tags=["market sites"], operation_id="get_market_site",
            response_model=c.MarketSitePublic)
async def get_market_site(code: CodePath, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "get_market_site", caller=caller, code=code)


@router.patch("/market-sites/{code}", tags=["market sites"], operation_id="update_market_site",
              response_model=c.MarketSitePublic)
async def update_market_site(code: CodePath, body: c.MarketSiteUpdate, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("directory", "update_market_site", caller=caller, code=code,
                            changes=body.model_dump(mode="json", exclude_unset=True))


# ---- the working-day calendar ---------------------------------------------------------------------

@router.get("/calendar/status", tags=["calendar"], operation_id="calendar_status", response_model=c.CalendarStatus)
async def calendar_status(caller: CurrentStaff, calls: Calls,
                         county: CountyFilter = None) -> dict:
    """Which years have the official calendar; a warning while next year's is missing."""
    return await calls.call("directory", "calendar_status", caller=caller, county_code=county)


@router.get("/calendar/years", tags=["calendar"], operation_id="calendar_years",
            response_model=list[c.CalendarYearPublic])
async def calendar_years(caller: CurrentStaff, calls: Calls,
                         county: CountyFilter = None) -> list:
    """The years whose official schedule is complete: from the official data, or declared by whom and when."""
    return await calls.call("directory", "calendar_years", caller=caller, county_code=county)


@router.get("/calendar/{year}", tags=["calendar"], operation_id="calendar_year",
            response_model=list[c.CalendarDayPublic])
async def calendar_year(year: Annotated[int, Path(ge=2000, le=2100)], caller: CurrentStaff, calls: Calls,
                         county: CountyFilter = None) -> list:
    """The days of a year that differ from Mon–Fri work / Sat–Sun rest: holidays, 调休, local days off."""
    return await calls.call("directory", "calendar_year", caller=caller, county_code=county, year=year)


@router.put("/calendar/days/{day}", tags=["calendar"], operation_id="set_calendar_day",
            response_model=c.CalendarDayPublic)
async def set_calendar_day(day: date, body: c.CalendarDayChange, caller: CurrentStaff, calls: Calls,
                         county: CountyFilter = None) -> dict:
    return await calls.call("directory", "set_calendar_day", caller=caller, county_code=county,
                            day={"day": day.isoformat(), **body.model_dump(mode="json")})


@router.put("/calendar/range", tags=["calendar"], operation_id="set_calendar_range",
            response_model=list[c.CalendarDayPublic])
async def set_calendar_range(body: c.CalendarRangeSet, caller: CurrentStaff, calls: Calls,
                         county: CountyFilter = None) -> list:
    """Every day from `from_day` to `to_day` (both included; one year, at most 31 days) entered alike — 春节's
    week in one request, saved together or not at all. Each day follows the rules of one day: 调休上班 only
    on a Saturday or Sunday, and the official days of a year confirmed complete only with
    `confirm_complete_year: true` (409 `calendar_year_complete` without it)."""
    return await calls.call("directory", "set_calendar_range", caller=caller, county_code=county,
                            days=body.model_dump(mode="json"))


@router.delete("/calendar/days/{day}", tags=["calendar"], operation_id="clear_calendar_day", status_code=204)
async def clear_calendar_day(day: date, caller: CurrentStaff, calls: Calls,
                             confirm_complete_year: bool = False, county: CountyFilter = None) -> Response:
    """Clearing an official day of a year confirmed complete moves running deadlines: 409
    `calendar_year_complete` unless `?confirm_complete_year=true`."""
    await calls.call("directory", "clear_calendar_day", caller=caller, county_code=county, day=day.isoformat(),
                     confirm_complete_year=confirm_complete_year)
    return Response(status_code=204)


@router.put("/calendar/years/{year}/complete", tags=["calendar"], operation_id="complete_calendar_year",
            response_model=c.CalendarYearPublic)
async def complete_calendar_year(year: Annotated[int, Path(ge=2000, le=2100)], caller: CurrentStaff,
                                 calls: Calls, county: CountyFilter = None) -> dict:
    """Declare the year's official schedule complete (every holiday and 调休 day of the State Council's
    notice entered): only then do deadlines trust it and the next-year warning stop. Recorded with who and
    when; repeating it changes nothing."""
    return await calls.call("directory", "complete_calendar_year", caller=caller, county_code=county, year=year)
