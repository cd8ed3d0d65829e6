"""Announcing the directory again: every staff member, station and marked calendar day published as it is,
for a read model added later or one that lost events."""
from __future__ import annotations

from datetime import datetime

from services.directory.adapters.repositories import DirectoryUnitOfWork
from services.directory.service_layer.calendar import calendar_event
from services.directory.service_layer.common import publish
from services.directory.service_layer.staff import staff_public
from services.directory.service_layer.tree import station_public


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
