"""Early warning's rows: complaints counted per village, category and day (what the rule reads instead of
history), and the alerts (苗头性问题) with the complaints behind each."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select, update

from services.complaints.adapters import orm
from shared.contracts.caller import Caller
from shared.db import Repository, insert_or_ignore, within_scope

ALERTS_LISTED = 200


class DailyCounts(Repository):
    """Complaints per village, category and day."""

    def count_one(self, village_code: str, category: str, day: date) -> None:
        """One more complaint of the category in the village today: the day's row made if absent (INSERT …
        ON CONFLICT DO NOTHING), then added to in place, so two registrations at once both count."""
        d = orm.DailyCount
        insert_or_ignore(self.session, d, village_code=village_code, category=category, day=day, count=0)
        self.session.execute(update(d).where(d.village_code == village_code, d.category == category,
                                             d.day == day).values(count=d.count + 1))

    def between(self, village_code: str, category: str, first: date, last: date) -> dict[date, int]:
        """The village's counts of the category from `first` to `last` (days with none are absent)."""
        d = orm.DailyCount
        return dict(self.session.execute(select(d.day, d.count).where(
            d.village_code == village_code, d.category == category, d.day >= first, d.day <= last)).all())


class Alerts(Repository):
    """Early-warning alerts, each with the complaints it was raised on or collected since."""

    def get(self, alert_id: int) -> orm.AlertRow | None:
        return self.session.get(orm.AlertRow, alert_id)

    def latest_since(self, village_code: str, category: str, first: date) -> orm.AlertRow | None:
        """The newest alert of the village and category raised on `first` or later (the one within the rule's
        window, which collects the newcomers), or None."""
        a = orm.AlertRow
        return self.session.execute(select(a).where(
            a.village_code == village_code, a.category == category, a.raised_on >= first)
            .order_by(a.raised_on.desc(), a.id.desc()).limit(1)).scalar_one_or_none()

    def add(self, alert: orm.AlertRow) -> None:
        """A new alert, written at once: its id is what its complaints and its event name it by."""
        self.session.add(alert)
        self.session.flush()

    def join(self, alert_id: int, complaint_ids: Iterable[str]) -> None:
        """Count these complaints among the alert's."""
        self.session.add_all(orm.AlertComplaint(alert_id=alert_id, complaint_id=complaint_id)
                             for complaint_id in complaint_ids)

    def listed(self, caller: Caller, status: str | None) -> list[orm.AlertRow]:
        """The newest alerts (at most ALERTS_LISTED) inside the caller's reach, of one status if given."""
        a = orm.AlertRow
        statement = select(a).where(*within_scope(caller, a.township_code))
        if status:
            statement = statement.where(a.status == status)
        return list(self.session.execute(statement.order_by(a.raised_at.desc()).limit(ALERTS_LISTED)).scalars())

    def receipts_of(self, alert_id: int) -> list[str]:
        """The receipt numbers of the alert's complaints, in the order they were registered."""
        r, ac = orm.ComplaintRow, orm.AlertComplaint
        return list(self.session.execute(select(r.receipt_no).join(ac, ac.complaint_id == r.id)
                                         .where(ac.alert_id == alert_id).order_by(r.registered_at)).scalars())

    def open_per_township(self) -> dict[str, int]:
        """How many alerts wait to be acknowledged, per township (townships with none are absent)."""
        a = orm.AlertRow
        return dict(self.session.execute(select(a.township_code, func.count()).where(a.status == "open")
                                         .group_by(a.township_code)).all())
