"""The directory as a nameko service: RPC in, contracts parsed, handlers called, snapshots out."""
from __future__ import annotations

import logging

from nameko.timer import timer

from services.directory.adapters.orm import Base
from services.directory.domain.calendar import official_days_from_library
from services.directory.domain.rules import require_staff
from services.directory.service_layer import accounts, calendar, catalogue, market_sites, naming, tree
from services.directory.service_layer import staff as people
from shared.clock import today_in_china, utcnow
from shared.contracts import directory as c
from shared.contracts.base import parse, to_wire
from shared.contracts.envelope import EventEnvelope
from shared.db import Database
from shared.messaging import DeadLetters, OutboxRelay, on_event
from shared.observability import Observed, metrics
from shared.service import CallerContext, rpc

log = logging.getLogger(__name__)


class DirectoryService(DeadLetters):
    name = "directory"

    db = Database(Base.metadata)
    relay = OutboxRelay()
    caller = CallerContext()
    observed = Observed()

    # ---- counties -----------------------------------------------------------------------------
    @rpc
    def bootstrap_county(self, code: str, name: str) -> dict:
        """Add a county to the installation and load its official working-day calendar (idempotent): the
        system administrator's (or the platform's, at bootstrap)."""
        county = tree.ensure_county(self.db, caller=self.caller(),
                                    cmd=parse(c.CountyCreate, {"code": code, "name": name}), now=utcnow())
        added = calendar.seed_official_calendar(self.db, county_code=county.code, days=official_days_from_library(),
                                                now=utcnow())
        self.check_calendar_coverage()
        return {"county": to_wire(county), "calendar_days_added": added}

    @rpc
    def list_counties(self) -> list:
        return to_wire(tree.list_counties(self.db, caller=self.caller()))

    # ---- townships, villages, stations ---------------------------------------------------------
    @rpc
    def create_township(self, township: dict) -> dict:
        return to_wire(tree.create_township(self.db, caller=self.caller(), cmd=parse(c.TownshipCreate, township),
                                            now=utcnow()))

    @rpc
    def update_township(self, code: str, changes: dict) -> dict:
        return to_wire(tree.update_township(self.db, caller=self.caller(), code=code,
                                            cmd=parse(c.TownshipUpdate, changes), now=utcnow()))

    @rpc
    def get_township(self, code: str) -> dict:
        return to_wire(tree.get_township(self.db, caller=self.caller(), code=code))

    @rpc
    def list_townships(self, page: dict | None = None) -> list:
        return to_wire(tree.list_townships(self.db, caller=self.caller(), page=parse(c.Page, page or {})))

    @rpc
    def public_townships(self) -> list:
        self.caller()  # even public reads travel with an identity (the gateway's public caller)
        return to_wire(tree.public_townships(self.db))

    @rpc
    def public_villages(self, township_code: str) -> list:
        self.caller()
        return to_wire(tree.public_villages(self.db, township_code=township_code))

    @rpc
    def create_village(self, village: dict) -> dict:
        return to_wire(tree.create_village(self.db, caller=self.caller(), cmd=parse(c.VillageCreate, village),
                                           now=utcnow()))

    @rpc
    def update_village(self, code: str, changes: dict) -> dict:
        return to_wire(tree.update_village(self.db, caller=self.caller(), code=code,
                                           cmd=parse(c.VillageUpdate, changes), now=utcnow()))

    @rpc
    def get_village(self, code: str) -> dict:
        return to_wire(tree.get_village(self.db, caller=self.caller(), code=code))

    @rpc
    def list_villages(self, township_code: str | None = None, page: dict | None = None) -> list:
        return to_wire(tree.list_villages(self.db, caller=self.caller(), township_code=township_code,
                                          page=parse(c.Page, page or {})))

    @rpc
    def create_station(self, station: dict) -> dict:
        return to_wire(tree.create_station(self.db, caller=self.caller(), cmd=parse(c.StationCreate, station),
                                           now=utcnow()))

    @rpc
    def update_station(self, code: str, changes: dict) -> dict:
        return to_wire(tree.update_station(self.db, caller=self.caller(), code=code,
                                           cmd=parse(c.StationUpdate, changes), now=utcnow()))

    @rpc
    def get_station(self, code: str) -> dict:
        return to_wire(tree.get_station(self.db, caller=self.caller(), code=code))

    @rpc
    def list_stations(self, township_code: str | None = None, page: dict | None = None) -> list:
        return to_wire(tree.list_stations(self.db, caller=self.caller(), township_code=township_code,
                                          page=parse(c.Page, page or {})))

    # ---- staff -----------------------------------------------------------------------------------
    # ---- accounts: signing in, sessions, station keys, the audit log -----------------------------------
    @rpc
    def authenticate(self, sign_in: dict) -> dict:
        self.caller()
        return to_wire(accounts.authenticate(self.db, sign_in=parse(c.SignIn, sign_in), now=utcnow()))

    @rpc
    def change_own_password(self, change: dict) -> dict:
        return to_wire(accounts.change_own_password(self.db, caller=self.caller(),
                                                    cmd=parse(c.OwnPasswordChange, change), now=utcnow()))

    @rpc
    def end_session(self, end: dict) -> None:
        accounts.end_session(self.db, caller=self.caller(), end=parse(c.SessionEnd, end), now=utcnow())

    @rpc
    def session_status(self, check: dict) -> bool:
        return accounts.session_status(self.db, check=parse(c.SessionCheck, check))

    @rpc
    def create_station_key(self, station_code: str, key: dict) -> dict:
        return to_wire(accounts.create_station_key(self.db, caller=self.caller(), station_code=station_code,
                                                   cmd=parse(c.StationKeyCreate, key), now=utcnow()))

    @rpc
    def list_station_keys(self, station_code: str) -> list:
        return to_wire(accounts.list_station_keys(self.db, caller=self.caller(), station_code=station_code))

    @rpc
    def revoke_station_key(self, key_id: int) -> dict:
        return to_wire(accounts.revoke_station_key(self.db, caller=self.caller(), key_id=key_id, now=utcnow()))

    @rpc
    def rotate_station_key(self, key_id: int) -> dict:
        return to_wire(accounts.rotate_station_key(self.db, caller=self.caller(), key_id=key_id, now=utcnow()))

    @rpc
    def resolve_station_key(self, key: str) -> dict:
        secret = parse(c.StationKeyQuery, {"key": key}).key
        return to_wire(accounts.resolve_station_key(self.db, key=secret, now=utcnow()))

    @rpc
    def audit_log(self, query: dict | None = None) -> list:
        return to_wire(accounts.audit_log(self.db, caller=self.caller(), query=parse(c.AuditQuery, query or {})))

    @on_event("gateway", "audit_entries_recorded", once=False)  # each stored once by its id: no inbox row
    def on_audit_entries_recorded(self, envelope: EventEnvelope) -> None:
        """Entries come from the gateway as events: a write is not slowed by its own audit."""
        accounts.record_audit(self.db, entries=parse(c.AuditEntries, envelope.payload).entries)

    @rpc
    def names(self, query: dict) -> dict:
        return to_wire(naming.names(self.db, caller=self.caller(), query=parse(c.NamesQuery, query)))

    @rpc
    def create_staff(self, staff: dict) -> dict:
        return to_wire(people.create_staff(self.db, caller=self.caller(), cmd=parse(c.StaffCreate, staff),
                                           now=utcnow()))

    @rpc
    def update_staff(self, staff_id: int, changes: dict) -> dict:
        return to_wire(people.update_staff(self.db, caller=self.caller(), staff_id=staff_id,
                                    cmd=parse(c.StaffUpdate, changes), now=utcnow()))

    @rpc
    def get_staff(self, staff_id: int) -> dict:
        return to_wire(people.get_staff(self.db, caller=self.caller(), staff_id=staff_id))

    @rpc
    def notice_contact(self, staff_id: int) -> str | None:
        self.caller()
        return people.notice_contact(self.db, staff_id=staff_id)

    @rpc
    def list_staff(self, township_code: str | None = None, page: dict | None = None) -> list:
        return to_wire(people.list_staff(self.db, caller=self.caller(), township_code=township_code,
                                         page=parse(c.Page, page or {})))

    # ---- catalogue ------------------------------------------------------------------------------
    @rpc
    def create_catalogue_item(self, item: dict) -> dict:
        return to_wire(catalogue.create_catalogue_item(self.db, caller=self.caller(),
                                                       cmd=parse(c.CatalogueItemCreate, item), now=utcnow()))

    @rpc
    def update_catalogue_item(self, township_code: str, code: str, changes: dict) -> dict:
        return to_wire(catalogue.update_catalogue_item(self.db, caller=self.caller(), township_code=township_code,
                                                       code=code, cmd=parse(c.CatalogueItemUpdate, changes),
                                                       now=utcnow()))

    @rpc
    def set_catalogue_workflow(self, township_code: str, code: str, workflow: dict | None) -> dict:
        definition = None if workflow is None else parse(c.WorkflowDefinition, workflow)
        return to_wire(catalogue.set_catalogue_workflow(self.db, caller=self.caller(), township_code=township_code,
                                                        code=code, workflow=definition, now=utcnow()))

    @rpc
    def withdraw_catalogue_item(self, township_code: str, code: str) -> dict:
        return to_wire(catalogue.withdraw_catalogue_item(self.db, caller=self.caller(), township_code=township_code,
                                                         code=code, now=utcnow()))

    @rpc
    def get_catalogue_item(self, township_code: str, code: str) -> dict:
        return to_wire(catalogue.get_catalogue_item(self.db, caller=self.caller(), township_code=township_code,
                                                    code=code))

    @rpc
    def list_catalogue(self, township_code: str | None = None, category: str | None = None,
                       include_withdrawn: bool = False, page: dict | None = None) -> list:
        return to_wire(catalogue.list_catalogue(self.db, caller=self.caller(), township_code=township_code,
                                                category=_category(category), include_withdrawn=include_withdrawn,
                                                page=parse(c.Page, page or {})))

    @rpc
    def public_catalogue(self, township_code: str, category: str | None = None, page: dict | None = None) -> list:
        self.caller()  # even public reads travel with an identity (the gateway's public caller)
        return to_wire(catalogue.public_catalogue(self.db, township_code=township_code, category=_category(category),
                                        page=parse(c.Page, page or {})))

    # ---- market sites -------------------------------------------------------------------------
    @rpc
    def create_market_site(self, site: dict) -> dict:
        return to_wire(market_sites.create_market_site(self.db, caller=self.caller(),
                                                       cmd=parse(c.MarketSiteCreate, site), now=utcnow()))

    @rpc
    def update_market_site(self, code: str, changes: dict) -> dict:
        return to_wire(market_sites.update_market_site(self.db, caller=self.caller(), code=code,
                                                       cmd=parse(c.MarketSiteUpdate, changes), now=utcnow()))

    @rpc
    def get_market_site(self, code: str) -> dict:
        return to_wire(market_sites.get_market_site(self.db, caller=self.caller(), code=code))

    @rpc
    def list_market_sites(self, township_code: str | None = None, page: dict | None = None) -> list:
        return to_wire(market_sites.list_market_sites(self.db, caller=self.caller(), township_code=township_code,
                                                      page=parse(c.Page, page or {})))

    # ---- calendar -------------------------------------------------------------------------------
    # each county keeps its own calendar (official days and its own days off); a county admin's calls act on
    # its county, the system administrator names the county. Every change refreshes the coverage gauges in
    # the same request, so the API and the metric agree at once (the timer only carries the date forward)
    @rpc
    def set_calendar_day(self, day: dict, county_code: str | None = None) -> dict:
        changed = to_wire(calendar.set_calendar_day(self.db, caller=self.caller(), cmd=parse(c.CalendarDaySet, day),
                                                    now=utcnow(), county_code=_county_code(county_code)))
        self.check_calendar_coverage()
        return changed

    @rpc
    def set_calendar_range(self, days: dict, county_code: str | None = None) -> list:
        changed = to_wire(calendar.set_calendar_range(self.db, caller=self.caller(),
                                                      cmd=parse(c.CalendarRangeSet, days), now=utcnow(),
                                                      county_code=_county_code(county_code)))
        self.check_calendar_coverage()
        return changed

    @rpc
    def clear_calendar_day(self, day: str, confirm_complete_year: bool = False, county_code: str | None = None) -> None:
        query = parse(c.CalendarDayQuery, {"day": day, "confirm_complete_year": confirm_complete_year})
        calendar.clear_calendar_day(self.db, caller=self.caller(), day=query.day,
                                    confirm_complete_year=query.confirm_complete_year, now=utcnow(),
                                    county_code=_county_code(county_code))
        self.check_calendar_coverage()

    @rpc
    def complete_calendar_year(self, year: int, county_code: str | None = None) -> dict:
        completed = to_wire(calendar.complete_calendar_year(
            self.db, caller=self.caller(), year=parse(c.CalendarYearQuery, {"year": year}).year, now=utcnow(),
            county_code=_county_code(county_code)))
        self.check_calendar_coverage()
        return completed

    @rpc
    def calendar_years(self, county_code: str | None = None) -> list:
        return to_wire(calendar.calendar_years(self.db, caller=self.caller(), county_code=_county_code(county_code)))

    @rpc
    def calendar_year(self, year: int, county_code: str | None = None) -> list:
        return to_wire(calendar.calendar_year(self.db, caller=self.caller(),
                                              year=parse(c.CalendarYearQuery, {"year": year}).year,
                                              county_code=_county_code(county_code)))

    @rpc
    def calendar_status(self, county_code: str | None = None) -> dict:
        caller = self.caller()
        require_staff(caller)
        county = tree.county_in_scope(self.db, caller=caller, county_code=_county_code(county_code))
        status = calendar.calendar_status(self.db, county_code=county, today=today_in_china())
        _show_coverage(status)
        return to_wire(status)

    @timer(interval=600, eager=True)
    def check_calendar_coverage(self) -> None:
        """Warn (log + metric) while this year, or from November next year, has no complete official calendar,
        for each county."""
        for county in tree.county_codes(self.db):
            status = calendar.calendar_status(self.db, county_code=county, today=today_in_china())
            _show_coverage(status)
            if status.warning:
                log.warning(status.warning, extra={"service": self.name, "county": county})


def _county_code(value: str | None) -> str | None:
    return None if value is None else parse(c.CountyQuery, {"county_code": value}).county_code


def _show_coverage(status: c.CalendarStatus) -> None:
    metrics.calendar_next_year_missing.labels(status.county_code).set(int(status.next_year_missing))
    metrics.calendar_next_year_days_left.labels(status.county_code).set(status.days_until_next_year)
    metrics.calendar_this_year_missing.labels(status.county_code).set(int(status.this_year_missing))


def _category(value: str | None) -> c.Category | None:
    return None if value is None else parse(c.CategoryQuery, {"category": value}).category
