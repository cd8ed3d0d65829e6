"""好差评: a rating once per item once it is completed (or, for a complaint, replied), at a station or in
public; the call-back after a bad rating; and the sweep that invites a rating and supervises a late
call-back (督办)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from services.evaluation.adapters import orm
from services.evaluation.adapters.repositories import EvaluationUnitOfWork
from services.evaluation.service_layer.counting import record_event
from shared.clock import today_in_china
from shared.contracts import evaluation as c
from shared.contracts.caller import Caller
from shared.copies import working_calendar
from shared.divisions import county_of
from shared.errors import Conflict, Forbidden, NotFound
from shared.pii import PersonalDataVault
from shared.receipts import LOOKUP_LIMITS, Attempts
from shared.working_days import deadline

LOOKUPS = Attempts(orm.LookupFailure, LOOKUP_LIMITS)
FOLLOW_UP_DAYS = 15  # working days to call back after a bad rating
INVITE_AFTER = timedelta(days=3)


def rate(uow: EvaluationUnitOfWork, *, caller: Caller, cmd: c.RatingCreate | c.PublicRating,
         vault: PersonalDataVault, now: datetime) -> c.RatingView:
    """Once per item, once it is completed (or, for a complaint, replied). In public, the receipt number
    with the phone's last four digits (or the look-up code), guesses limited as for the look-up."""
    # locked: a station's retry racing its first try waits for it, then finds the rating it made
    row = uow.rateables.locked(cmd.receipt_no)
    if isinstance(cmd, c.PublicRating):
        LOOKUPS.check(uow, cmd.receipt_no, cmd.client, now)
        if row is None or row.contact_check != vault.contact_check(cmd.receipt_no, cmd.code.strip().upper()):
            LOOKUPS.fail(uow, cmd.receipt_no, cmd.client, now,
                         NotFound("nothing to rate matches this receipt number and code", code="rateable_not_found"))
        channel = "public_lookup"
    else:
        if row is None or not caller.sees_station(row.township_code, row.station_code):  # a key: its station's
            raise NotFound("nothing to rate with this receipt number", code="rateable_not_found")
        if caller.staff_id is not None and caller.staff_id == row.staff_id:
            raise Forbidden("a rating of your own work is recorded by a colleague or given in public",
                            code="own_work")
        channel = cmd.channel
    if row.ready_on is None:
        raise Conflict("rate once it is completed (an application) or replied (a complaint)", code="not_rateable")
    existing = uow.ratings.get(row.receipt_no)
    if existing is not None:
        if _same_rating(existing, cmd, channel, caller):
            return _rating_view(existing)  # the same rating sent again (a retry): the first one stands, once
        raise Conflict("this has been rated already: one rating per item", code="already_rated")
    today = today_in_china(now)
    bad = cmd.level < c.SATISFIED_FROM
    follow_up_due = deadline(working_calendar(uow, orm.CalendarDayCopy, county_of(row.township_code)), today,
                             FOLLOW_UP_DAYS) if bad else None
    rating = orm.RatingRow(receipt_no=row.receipt_no, kind=row.kind, township_code=row.township_code, level=cmd.level,
                           comment=cmd.comment, efficiency=cmd.efficiency, attitude=cmd.attitude,
                           clarity=cmd.clarity, channel=channel, rated_on=today, rated_at=now,
                           recorded_by=caller.staff_id, follow_up_due=follow_up_due)
    uow.ratings.add(rating)
    event = {"receipt_no": row.receipt_no, "kind": row.kind, "level": cmd.level, "satisfied": not bad,
             "township_code": row.township_code, "station_code": row.station_code, "village_code": row.village_code,
             "staff_id": row.staff_id, "day": today.isoformat(), "follow_up_due": follow_up_due and
             follow_up_due.isoformat()}
    record_event(uow, event_id=uuid.uuid4().hex, source="evaluation", event_type="rating_recorded", occurred_at=now,
                 payload=event)
    uow.record_event("rating_recorded", event, township_code=row.township_code, now=now)
    uow.commit()
    return _rating_view(rating)


def _same_rating(existing: orm.RatingRow, cmd: c.RatingCreate | c.PublicRating, channel: str, caller: Caller) -> bool:
    return (existing.level, existing.comment, existing.efficiency, existing.attitude, existing.clarity,
            existing.channel, existing.recorded_by) == (cmd.level, cmd.comment, cmd.efficiency, cmd.attitude,
                                                        cmd.clarity, channel, caller.staff_id)


def follow_up(uow: EvaluationUnitOfWork, *, caller: Caller, receipt_no: str, note: str,
              now: datetime) -> c.RatingView:
    """The call-back after a bad rating (差评回访), by the township's staff."""
    rating = uow.ratings.get(receipt_no)
    if rating is None or not caller.sees_township(rating.township_code):
        raise NotFound("no rating with this receipt number", code="rating_not_found")
    if rating.follow_up_due is None or rating.followed_up_at is not None:
        raise Conflict("no follow-up is open for this rating", code="no_follow_up")
    rating.followed_up_at, rating.follow_up_note = now, note
    uow.record_event("rating_followed_up", {"receipt_no": receipt_no, "township_code": rating.township_code,
                                            "by_staff_id": caller.staff_id}, township_code=rating.township_code,
                     now=now)
    uow.commit()
    return _rating_view(rating)


def get_rating(uow: EvaluationUnitOfWork, *, caller: Caller, receipt_no: str) -> c.RatingView:
    rating = uow.ratings.get(receipt_no)
    if rating is None or not caller.sees_township(rating.township_code):
        raise NotFound("no rating with this receipt number", code="rating_not_found")
    return _rating_view(rating)


def _rating_view(r: orm.RatingRow) -> c.RatingView:
    return c.RatingView(receipt_no=r.receipt_no, kind=r.kind, level=r.level, words=c.RATING_WORDS[r.level],
                        satisfied=r.level >= c.SATISFIED_FROM, comment=r.comment, efficiency=r.efficiency,
                        attitude=r.attitude, clarity=r.clarity, channel=r.channel, rated_on=r.rated_on,
                        follow_up_due=r.follow_up_due)


def sweep(uow: EvaluationUnitOfWork, *, now: datetime, batch: int = 200) -> tuple[int, int]:
    """Invite a rating 3 days after completion when none came; a 督办 when a bad rating's call-back is
    late. Each claimed once with a conditional UPDATE, as every sweep here."""
    today = today_in_china(now)
    invited = 0
    for receipt_no in uow.rateables.to_invite(today - INVITE_AFTER, batch):
        if uow.rateables.claim_invitation(receipt_no, now):
            row = uow.rateables.get(receipt_no)
            uow.record_event("rating_invitation", {"receipt_no": receipt_no, "kind": row.kind,
                                                   "township_code": row.township_code},
                             township_code=row.township_code, now=now)
            uow.commit()
            invited += 1
    supervised = 0
    for receipt_no in uow.ratings.follow_up_late(today, batch):
        if uow.ratings.claim_overdue(receipt_no, now):
            rating = uow.ratings.get(receipt_no)
            uow.record_event("rating_follow_up_overdue", {"receipt_no": receipt_no, "township_code":
                                                          rating.township_code, "due_on": rating.follow_up_due
                                                          .isoformat()}, township_code=rating.township_code, now=now)
            uow.commit()
            supervised += 1
    return invited, supervised
