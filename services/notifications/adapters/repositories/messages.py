"""The messages notifications makes and sends (one per event, recipient and notice, by its send key), the
staff's console notices, and the numbers that opted out (退订): made once however often an event comes,
taken by one sender at a time, and read back as the console and the county see them."""
from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select, update

from services.notifications.adapters import orm
from services.notifications.domain import sending as s
from shared.contracts import notifications as c
from shared.contracts.caller import Caller
from shared.db import Repository, insert_new, within_scope
from shared.service import wake

WAITING, SENDING, FAILED = s.Status.WAITING.value, s.Status.SENDING.value, s.Status.FAILED.value


SENDER = "notifications.sender"  # what wakes the sender (shared/service.py, Ticker)


def wake_sender() -> None:
    wake(SENDER)


# the sender's two statements, built once: it runs them at every round, and building them (their clauses and
# cache keys) cost more than running them

@functools.cache
def _due_statement(skip_locked: bool) -> Any:
    m, now = orm.MessageRow, bindparam("now", type_=orm.MessageRow.send_after.type)
    statement = select(m.id).where(or_(m.status == WAITING, (m.status == SENDING) & (m.lease_until < now)),
                                   m.send_after <= now).order_by(m.send_after, m.id).limit(bindparam("limit"))
    return statement.with_for_update(skip_locked=True) if skip_locked else statement


@functools.cache
def _next_due_statement() -> Any:
    m, now = orm.MessageRow, bindparam("now", type_=orm.MessageRow.send_after.type)
    at = case((m.status == WAITING, m.send_after), else_=m.lease_until)
    return select(func.min(at)).where(or_((m.status == WAITING) & (m.send_after > now),
                                          (m.status == SENDING) & (m.lease_until > now)))


class Messages(Repository):
    """SMS messages, from made (waiting) through sending to sent, failed or withheld, and reported."""

    def make(self, **values: Any) -> bool:
        """A new message unless one with its send key exists (a redelivered event): True when made. One
        statement (INSERT … ON CONFLICT DO NOTHING), so two deliveries at once make one. A message due at
        once wakes this process's sender when the transaction commits (NotificationsService.send_due); one
        held for later (quiet hours) does not: the sender's next round, at most SEND_SECONDS away, learns
        when it is due."""
        made = insert_new(self.session, orm.MessageRow, **values)
        if made and values["send_after"] <= values["created_at"]:
            self.uow.after_commit(wake_sender)
        return made

    def get(self, message_id: int) -> orm.MessageRow | None:
        return self.session.get(orm.MessageRow, message_id)

    def due(self, now: datetime, limit: int) -> list[int]:
        """The ids of messages to send now, longest due first: waiting and due, or `sending` past their lease
        (the process sending them died). On PostgreSQL the rows another sender has locked are passed over."""
        statement = _due_statement(self.session.bind.dialect.name == "postgresql")
        return list(self.session.execute(statement, {"now": now, "limit": limit}).scalars())

    def next_due(self, now: datetime) -> datetime | None:
        """When the next message not due yet will be: a waiting one's time (quiet hours, a retry's backoff),
        or the end of a lease (a send cut off if its process died); None when none waits."""
        return self.session.execute(_next_due_statement(), {"now": now}).scalar()

    def claim(self, message_id: int, attempts: int, now: datetime) -> bool:
        """Take a message to send, marked `sending` with a lease and one attempt more, if it is still as it was
        read (`attempts`) and still ours to take: waiting and due, or cut off (its lease over). False, rolled
        back, when another sender has it or has sent it since."""
        m = orm.MessageRow
        return self.uow.claim(update(m).where(
            m.id == message_id, m.attempts == attempts, m.send_after <= now,
            or_(m.status == WAITING, (m.status == SENDING) & (m.lease_until < now)))
            .values(status=SENDING, lease_until=now + s.LEASE, attempts=m.attempts + 1))

    def put_back(self, message_id: int, *, cut_off: bool, again_at: datetime) -> None:
        """A taken message given back unsent, its attempt not used, due again at `again_at`: waiting, or —
        cut off before, so perhaps at the provider — still `sending`, its lease ending then."""
        m = orm.MessageRow
        again = dict(lease_until=again_at) if cut_off else dict(status=WAITING, send_after=again_at, lease_until=None)
        self.session.execute(update(m).where(m.id == message_id, m.status == SENDING)
                             .values(attempts=m.attempts - 1, **again))

    def wait_again(self, message_id: int, now: datetime) -> bool:
        """A failed message waiting again, due now, with all its attempts; False when it is not failed."""
        m = orm.MessageRow
        again = self.session.execute(update(m).where(m.id == message_id, m.status == FAILED).values(
            status=WAITING, send_after=now, attempts=0, lease_until=None, error=None)).rowcount == 1
        if again:
            self.uow.after_commit(wake_sender)
        return again

    def sent_to(self, phone_hash: str, start: datetime, end: datetime) -> int:
        """How many messages were sent to this number from `start` until before `end`."""
        m = orm.MessageRow
        return self.session.execute(select(func.count()).select_from(m).where(
            m.phone_hash == phone_hash, m.sent_at >= start, m.sent_at < end)).scalar_one()

    def waiting_per_county(self, now: datetime) -> list[tuple[str, int, datetime]]:
        """Per county: how many messages are due and not sent, and since when the oldest is due."""
        m = orm.MessageRow
        return [tuple(row) for row in self.session.execute(
            select(m.county_code, func.count(), func.min(m.send_after))
            .where(m.status.in_([WAITING, SENDING]), m.send_after <= now).group_by(m.county_code))]

    def listed(self, caller: Caller, query: c.MessageQuery, limit: int) -> list[orm.MessageRow]:
        """Messages newest first inside the caller's reach and the query's filters, at most `limit`."""
        m = orm.MessageRow
        statement = select(m).where(*within_scope(caller, m.township_code)).order_by(m.id.desc()).limit(limit)
        if query.township_code is not None:
            statement = statement.where(m.township_code == query.township_code)
        if query.kind is not None:
            statement = statement.where(m.kind == query.kind)
        if query.status is not None:
            statement = statement.where(m.status == query.status)
        if query.after is not None:
            statement = statement.where(m.id < query.after)
        return list(self.session.execute(statement).scalars())

    def by_provider_id(self, county_code: str, provider: str, provider_message_id: str) -> orm.MessageRow | None:
        """The county's message the provider knows by this id (what a delivery report names)."""
        m = orm.MessageRow
        return self.session.execute(select(m).where(m.county_code == county_code, m.provider == provider,
                                                    m.provider_message_id == provider_message_id)).scalar_one_or_none()

    def by_send_key(self, county_code: str, provider: str, send_key: str) -> orm.MessageRow | None:
        """The county's message sent through this provider under our key (a report naming it so)."""
        m = orm.MessageRow
        return self.session.execute(select(m).where(m.county_code == county_code, m.send_key == send_key,
                                                    m.provider == provider)).scalar_one_or_none()


class StaffNotices(Repository):
    """Notices in staff members' console inboxes."""

    def make(self, **values: Any) -> bool:
        """A new notice unless one with its send key exists (a redelivered event): True when made."""
        return insert_new(self.session, orm.StaffNoticeRow, **values)

    def of(self, staff_id: int, *, unread: bool, after: int | None, limit: int) -> list[orm.StaffNoticeRow]:
        """A staff member's notices newest first (only unread ones, or those before `after`), at most `limit`."""
        n = orm.StaffNoticeRow
        statement = select(n).where(n.staff_id == staff_id).order_by(n.id.desc()).limit(limit)
        if unread:
            statement = statement.where(n.read_at.is_(None))
        if after is not None:
            statement = statement.where(n.id < after)
        return list(self.session.execute(statement).scalars())

    def unread(self, staff_id: int) -> int:
        n = orm.StaffNoticeRow
        return self.session.execute(select(func.count()).select_from(n)
                                    .where(n.staff_id == staff_id, n.read_at.is_(None))).scalar_one()

    def mark_read(self, staff_id: int, ids: list[int] | None, now: datetime) -> None:
        """Mark a staff member's unread notices read: these (only theirs), or all of them."""
        n = orm.StaffNoticeRow
        statement = update(n).where(n.staff_id == staff_id, n.read_at.is_(None)).values(read_at=now)
        if ids is not None:
            statement = statement.where(n.id.in_(ids))
        self.session.execute(statement)


class OptOuts(Repository):
    """Numbers that replied TD (退订), by their keyed hash."""

    def has(self, phone_hash: str) -> bool:
        return self.session.get(orm.OptOutRow, phone_hash) is not None

    def add(self, phone_hash: str, *, county_code: str, at: datetime, source: str) -> bool:
        """Opt the number out unless it is already: True when it was not."""
        return insert_new(self.session, orm.OptOutRow, phone_hash=phone_hash, county_code=county_code,
                          opted_out_at=at, source=source)
