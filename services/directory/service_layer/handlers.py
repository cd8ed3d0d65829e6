"""Directory use cases across its families: naming many records at once, and announcing the directory
again. The families themselves: tree (counties, townships, villages, stations), market_sites, staff,
accounts (signing in, sessions, station keys, the audit log), catalogue (items and their workflows) and
calendar."""
from __future__ import annotations

from datetime import datetime

from services.directory.adapters.repositories import DirectoryUnitOfWork
from services.directory.domain.rules import require_staff
from services.directory.service_layer.calendar import calendar_event
from services.directory.service_layer.common import publish
from services.directory.service_layer.staff import sees_county_staff, staff_public
from services.directory.service_layer.tree import station_public
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


def reannounce_directory(uow: DirectoryUnitOfWork, *, now: datetime) -> dict[str, int]:
    """Announce every staff member and station again as they are, at their versions, and every marked day
    of the calendar: fills a read model added after they were announced (intake's staff and calendar,
    complaints' stations) or one that lost events (the embedded broker's, at a stop); a copy that has a
    version already ignores it, and a day announced as it is changes nothing. Returns how many."""
    counts = {}
    for records, public, event_type in ((uow.staff, staff_public, "staff_changed"),
                                        (uow.stations, station_public, "station_changed")):
        rows = records.all()
        for row in rows:
            publish(uow, event_type, public(row), row.township_code, now)
        counts[event_type] = len(rows)
    days = uow.calendar.every_day()
    for day in days:
        calendar_event(uow, day.county_code, day.day, day, now)
    counts["calendar_changed"] = len(days)
    uow.commit()
    return counts
