"""Market sites (集市): where a township's villagers gather on market days, and the rule that says which."""
from __future__ import annotations

from datetime import datetime

from services.directory.adapters import orm
from services.directory.adapters.repositories import DirectoryUnitOfWork
from services.directory.domain.rules import Record, check_village_in_township, require_manage, require_visible
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
from shared.errors import ValidationFailed


def site_public(row: orm.MarketSite) -> c.MarketSitePublic:
    return snapshot(c.MarketSitePublic, row)


def create_market_site(uow: DirectoryUnitOfWork, *, caller: Caller, cmd: c.MarketSiteCreate,
                       now: datetime) -> c.MarketSitePublic:
    require_manage(caller, Record.MARKET_SITE, cmd.township_code)
    get_record(uow.townships, cmd.township_code, Record.TOWNSHIP)
    if cmd.village_code is not None:
        check_village_in_township(cmd.village_code, cmd.township_code)
        get_record(uow.villages, cmd.village_code, Record.VILLAGE)
    require_absent(uow.market_sites, cmd.code, Record.MARKET_SITE)
    return add_record(uow, uow.market_sites, orm.MarketSite(**cmd.model_dump(mode="json")), public=site_public,
                      event_type="market_site_changed", township_code=cmd.township_code, now=now)


def update_market_site(uow: DirectoryUnitOfWork, *, caller: Caller, code: str, cmd: c.MarketSiteUpdate,
                       now: datetime) -> c.MarketSitePublic:
    row = get_record(uow.market_sites, code, Record.MARKET_SITE)
    require_visible(caller, Record.MARKET_SITE, row.township_code)
    require_manage(caller, Record.MARKET_SITE, row.township_code)
    changes = cmd.model_dump(mode="json", exclude_unset=True)
    if changes.get("opens_at", row.opens_at) >= changes.get("closes_at", row.closes_at):
        raise ValidationFailed("closes_at must be after opens_at",
                               [{"field": "closes_at", "message": "must be after opens_at"}])
    return change_record(uow, row, changes, public=site_public, event_type="market_site_changed",
                         township_code=row.township_code, now=now)


def get_market_site(uow: DirectoryUnitOfWork, *, caller: Caller, code: str) -> c.MarketSitePublic:
    row = get_record(uow.market_sites, code, Record.MARKET_SITE)
    require_visible(caller, Record.MARKET_SITE, row.township_code)
    return site_public(row)


def list_market_sites(uow: DirectoryUnitOfWork, *, caller: Caller, township_code: str | None,
                      page: c.Page) -> list[c.MarketSitePublic]:
    check_listing(caller, township_code, Record.MARKET_SITE)
    return [site_public(r) for r in uow.market_sites.within_reach(caller, page, township_code)]
