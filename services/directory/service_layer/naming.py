"""Naming many records at once: a page that shows fifty townships, villages, stations, staff and items by
name asks once, in one read per kind."""
from __future__ import annotations

from services.directory.adapters.repositories import DirectoryUnitOfWork
from services.directory.domain.rules import require_staff
from services.directory.service_layer.staff import sees_county_staff
from shared.contracts import directory as c
from shared.contracts.caller import Caller


def names(uow: DirectoryUnitOfWork, *, caller: Caller, query: c.NamesQuery) -> c.Names:
    """The names of the records asked for, in one read per kind (a page naming fifty objects makes one
    call); what the caller may not see, or what no longer exists, is left out."""
    require_staff(caller)

    def visible(township_code: str | None, county_code: str | None = None) -> bool:
        if township_code is None:
            return sees_county_staff(caller, county_code)
        return caller.sees_township(township_code)

    refs = {(i.township_code, i.code) for i in query.items}
    items = {f"{r.township_code}/{r.code}": r.name for r in uow.catalogue.among(list(refs))
             if visible(r.township_code)}
    return c.Names(
        townships={r.code: r.name for r in uow.townships.among(query.townships) if visible(r.code)},
        villages={r.code: c.VillageName(name=r.name, kind=r.kind)
                  for r in uow.villages.among(query.villages) if visible(r.township_code)},
        stations={r.code: r.name for r in uow.stations.among(query.stations) if visible(r.township_code)},
        staff={str(r.id): r.full_name for r in uow.staff.among(query.staff)
               if visible(r.township_code, r.county_code)},
        items=items)
