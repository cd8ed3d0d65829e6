"""Receipt numbers and the public look-up by receipt number, for every service that gives villagers a
number to follow (intake's applications, complaints).

- Sequences: one counter row per township and day, incremented inside the transaction that files the
  record. The row lock serialises concurrent filings of one township on PostgreSQL (across service
  instances too); SQLite allows one writer anyway. A rolled-back filing rolls its number back.
- Look-ups: a wrong guess is recorded; too many in an hour for one number or from one client lock the
  look-up (429 `lookup_locked`, with Retry-After), so that phone digits or look-up codes cannot be
  guessed. The same failed-attempt limits guard signing in (per account and per client, directory)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, NoReturn

from sqlalchemy import Date, Index, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from shared.db import UnitOfWork, prepared
from shared.errors import CunbanError, TooManyAttempts
from shared.messaging_tables import UtcDateTime


@dataclass(frozen=True)
class AttemptLimits:
    """How many failed attempts one subject (a receipt number, an account) and one client may make in a
    window before further attempts are refused with 429 and a Retry-After."""

    window: timedelta
    per_subject: int
    per_client: int
    code: str
    message: str


LOOKUP_LIMITS = AttemptLimits(timedelta(hours=1), 5, 20, "lookup_locked",
                              "too many wrong look-ups; try again later or ask at your station")


class ReceiptCounterColumns:
    township_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, nullable=False)


class FailedAttemptColumns:
    """One failed attempt: its subject (stored in the column `subject_column` names), client and time."""

    subject_column: ClassVar[str] = "receipt_no"
    subject_length: ClassVar[int] = 40
    index_names: ClassVar[tuple[str, str]] = ("ix_lookup_receipt_at", "ix_lookup_client_at")  # subject, client

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    @declared_attr
    def subject(cls) -> Mapped[str]:  # noqa: N805 - SQLAlchemy's declared_attr
        return mapped_column(cls.subject_column, String(cls.subject_length), nullable=False)

    @declared_attr.directive
    def __table_args__(cls) -> tuple:  # noqa: N805 - SQLAlchemy's declared_attr
        subject_index, client_index = cls.index_names
        return (Index(subject_index, cls.subject_column, "at"), Index(client_index, "client", "at"))


def next_sequence(session: Session, counter: Any, township_code: str, day: date) -> int:
    """The township's next number of the day: one upsert (the day's first is 1), which holds the counter's
    row until the transaction ends, so two filings at once take turns and never share a number."""
    statement = prepared(session, counter, lambda insert: insert.on_conflict_do_update(
        index_elements=["township_code", "day"], set_={"last": counter.last + 1}).returning(counter.last))
    return session.execute(statement, {"township_code": township_code, "day": day, "last": 1}).scalar_one()


@dataclass(frozen=True)
class Attempts:
    """Failed attempts of one kind (look-ups of a service, sign-ins), counted in the table `failures`."""

    failures: Any
    limits: AttemptLimits

    def check(self, uow: UnitOfWork, subject: str, client: str, now: datetime) -> None:
        """Refuse (429, with the seconds until the oldest counted failure leaves the window) when the
        subject or the client has used up its failed attempts."""
        since = now - self.limits.window
        for column, value, limit in ((self.failures.subject, subject, self.limits.per_subject),
                                     (self.failures.client, client, self.limits.per_client)):
            count, oldest = uow.session.execute(select(func.count(), func.min(self.failures.at))
                                                .where(column == value, self.failures.at >= since)).one()
            if count >= limit:
                if oldest.tzinfo is None:  # SQLite hands back naive datetimes; they were stored in UTC
                    oldest = oldest.replace(tzinfo=now.tzinfo)
                retry_after = max(1, int((oldest + self.limits.window - now).total_seconds()) + 1)
                raise TooManyAttempts(self.limits.message, {"retry_after": retry_after}, code=self.limits.code)

    def fail(self, uow: UnitOfWork, subject: str, client: str, now: datetime, error: CunbanError) -> NoReturn:
        """Count a failure in its own commit (the error rolls the caller's transaction back), then raise."""
        uow.session.add(self.failures(subject=subject, client=client, at=now))
        uow.commit()
        raise error

    def forget(self, uow: UnitOfWork, subject: str) -> None:
        """A success clears the subject's failures (the client's stay counted)."""
        uow.session.execute(delete(self.failures).where(self.failures.subject == subject))
