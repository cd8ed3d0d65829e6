"""What market-day sessions and visits have in common as stored rows: each is read by id, reminded of
once, and reached by a county's days off. Sessions and Visits (sessions.py, visits.py) are both
Occasions."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import select, update

from shared.db import Repository
from shared.divisions import township_range


class Occasions(Repository):
    """One kind of occasion (its mapped class, and the status it has while it is going ahead)."""

    model: ClassVar[Any]
    open_status: ClassVar[str]

    def get(self, occasion_id: str) -> Any:
        return self.session.get(self.model, occasion_id)

    def to_remind(self, *, now: datetime, lead: timedelta, batch: int) -> Iterator[Any]:
        """Those going ahead that start within `lead`, each claimed once as it is handed over (two
        instances never both remind); the caller records the reminder and commits before the next."""
        m = self.model
        ids = list(self.session.execute(select(m.id).where(
            m.reminded.is_(False), m.starts_at <= now + lead, m.starts_at > now,
            m.status == self.open_status).limit(batch)).scalars())
        for occasion_id in ids:
            if self.uow.claim(update(m).where(m.id == occasion_id, m.reminded.is_(False)).values(reminded=True)):
                yield self.session.get(m, occasion_id)

    def to_call_off(self, county: str, day: date, now: datetime) -> list[Any]:
        """Those of a county going ahead on a day that just became a day off, not yet begun and not
        reached by a day off before, in the order they start."""
        m = self.model
        return list(self.session.execute(select(m).where(
            m.day == day, self._in_county(county), m.status == self.open_status, m.day_off.is_(None),
            m.starts_at > now).order_by(m.starts_at, m.id)).scalars())

    def withdraw_offers(self, county: str, day: date, day_off: str) -> None:
        """What a lifted day off offered back on a day is no longer on offer: the day is off again."""
        m = self.model
        self.session.execute(update(m).where(m.day == day, self._in_county(county), m.status == "cancelled",
                                             m.restorable.is_(True))
                             .values(restorable=False, day_off=day_off))

    def reached_by_day_off(self, county: str, day: date, now: datetime) -> list[Any]:
        """Those of a county on a day that a day off reached (cancelled, waiting, or held on it), not yet
        begun, in the order they start."""
        m = self.model
        return list(self.session.execute(select(m).where(
            m.day == day, self._in_county(county), m.day_off.is_not(None), m.starts_at > now)
            .order_by(m.starts_at, m.id)).scalars())

    def _in_county(self, county: str) -> Any:
        first, last = township_range(county)
        return self.model.township_code.between(first, last)
