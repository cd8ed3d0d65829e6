"""好差评: what may be rated, kept current from the events, and the ratings given. The sweeps claim each
invitation and each late call-back once, with a conditional UPDATE only one worker can win."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update

from services.evaluation.adapters import orm
from shared.db import Repository, change


class Rateables(Repository):
    """Applications and complaints a villager may rate: who each counts for, the keyed check of what the
    villager types with its receipt number, and from when it may be rated."""

    def hold(self, receipt_no: str, *, kind: str, township_code: str, **values: Any) -> orm.RateableRow:
        """The item, inserted with its values when new, locked until the commit; its kind and township as
        the latest event says."""
        row = self.uow.hold(orm.RateableRow, receipt_no, receipt_no=receipt_no, kind=kind,
                            township_code=township_code, **values)
        change(row, kind=kind, township_code=township_code)
        return row

    def locked(self, receipt_no: str) -> orm.RateableRow | None:
        """The item, locked: a station's retry racing its first try waits for it, then finds the rating."""
        return self.session.get(orm.RateableRow, receipt_no, with_for_update=True)

    def get(self, receipt_no: str) -> orm.RateableRow | None:
        return self.session.get(orm.RateableRow, receipt_no)

    def to_invite(self, ready_by: date, limit: int) -> list[str]:
        """Receipt numbers of items ready on or before `ready_by`, never invited and never rated."""
        rt, rg = orm.RateableRow, orm.RatingRow
        return list(self.session.execute(select(rt.receipt_no).where(
            rt.invited_at.is_(None), rt.ready_on <= ready_by,
            ~select(rg.receipt_no).where(rg.receipt_no == rt.receipt_no).exists()).limit(limit)).scalars())

    def claim_invitation(self, receipt_no: str, now: datetime) -> bool:
        """Mark the item invited, unless another worker did first (then False, rolled back)."""
        rt = orm.RateableRow
        return self.uow.claim(update(rt).where(rt.receipt_no == receipt_no, rt.invited_at.is_(None))
                              .values(invited_at=now))


class Ratings(Repository):
    """The ratings given: one per item, never changed, a bad one's call-back followed."""

    def get(self, receipt_no: str) -> orm.RatingRow | None:
        return self.session.get(orm.RatingRow, receipt_no)

    def add(self, rating: orm.RatingRow) -> None:
        self.session.add(rating)

    def follow_up_late(self, today: date, limit: int) -> list[str]:
        """Receipt numbers of bad ratings whose call-back was due before `today`, not made and not yet
        supervised."""
        rg = orm.RatingRow
        return list(self.session.execute(select(rg.receipt_no).where(
            rg.followed_up_at.is_(None), rg.overdue_at.is_(None), rg.follow_up_due < today).limit(limit)).scalars())

    def claim_overdue(self, receipt_no: str, now: datetime) -> bool:
        """Mark a late call-back supervised (督办), unless it was made or supervised meanwhile (then False,
        rolled back)."""
        rg = orm.RatingRow
        return self.uow.claim(update(rg).where(rg.receipt_no == receipt_no, rg.overdue_at.is_(None),
                                               rg.followed_up_at.is_(None)).values(overdue_at=now))
