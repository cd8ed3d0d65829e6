"""The public calendar 公开: a township's upcoming market-day posts and visits, for anyone."""
from __future__ import annotations

from datetime import datetime

from services.scheduling.adapters.repositories import SchedulingUnitOfWork
from shared.contracts.scheduling import DateRange, PublicCalendarEntry, VisitKind


def public_calendar(uow: SchedulingUnitOfWork, *, township_code: str, period: DateRange,
                    now: datetime) -> list[PublicCalendarEntry]:
    """公开: a township's upcoming market-day posts and visits: where, when, which services, and how many
    appointment places are left to book (in slots not yet begun). Nothing about who staffs them."""
    posts = uow.sessions.posts(township_code, period.start, period.end)
    visits = uow.visits.planned_in(township_code, period.start, period.end)
    free = uow.slots.free_places([x.id for x, *_ in posts], [x.id for x in visits], now=now)
    entries = [PublicCalendarEntry(kind="market_day_post", id=x.id, day=x.day, starts_at=x.starts_at,
                                   ends_at=x.ends_at, title=name, place=location, village_code=village,
                                   services=x.services, free_places=free.get(x.id))
               for x, name, location, village in posts]
    entries += [PublicCalendarEntry(kind="visit", id=x.id, day=x.day, starts_at=x.starts_at, ends_at=x.ends_at,
                                    title=x.title, place=x.place, village_code=x.village_code, services=[],
                                    visit_kind=VisitKind(x.kind), free_places=free.get(x.id))
                for x in visits]
    return sorted(entries, key=lambda e: (e.starts_at, e.kind, e.id))
