"""Receipt numbers and the public look-up by receipt number, for every service that gives villagers a
number to follow (intake's applications, complaints).

- Sequences: one counter row per township and day, incremented inside the transaction that files the
  record. The row lock serialises concurrent filings of one township on PostgreSQL (across service
  instances too); SQLite allows one writer anyway. A rolled-back filing rolls its number back.
- Look-ups: a wrong guess is recorded; too many lock the look-up (429 `lookup_locked`, with Retry-After),
  so that phone digits or look-up codes cannot be guessed. Wrong guesses are counted per target (the
  receipt number) and per target and client together, not per client alone: a whole village behind one
  router, or every villager of a carrier-grade NAT, shares one address, and one of them guessing must
  not lock out the others. The same failed-attempt limits guard signing in (the target is the account,
  directory)."""
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
    """How many failed attempts are allowed before further ones are refused with 429 and a Retry-After:
    - `per_pair` for one subject (a receipt number, an account) from one client, within `window`: the
      strict limit, on one guesser at one target;
    - `per_subject` for one subject from every client together, within the short `subject_window`: a
      target guessed at from many addresses is locked, but its owner waits minutes, not hours;
    - `per_client` from one client over every subject, within `window`: only a flood guard, much higher,
      since a station's router or a carrier-grade NAT puts many people behind one address."""

    window: timedelta
    per_pair: int
    per_subject: int
    subject_window: timedelta
    per_client: int
    code: str
    message: str


LOOKUP_LIMITS = AttemptLimits(timedelta(hours=1), per_pair=5, per_subject=10, subject_window=timedelta(minutes=15),
                              per_client=200, code="lookup_locked",
                              message="too many wrong look-ups; try again later or ask at your station")


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
        """Refuse (429, with the seconds until the oldest counted failure leaves its window) when the
        subject from this client, the subject from everywhere, or the client has used up its failed
        attempts."""
        f, limits = self.failures, self.limits
        for where, limit, window in (((f.subject == subject, f.client == client), limits.per_pair, limits.window),
                                     ((f.subject == subject,), limits.per_subject, limits.subject_window),
                                     ((f.client == client,), limits.per_client, limits.window)):
            count, oldest = uow.session.execute(select(func.count(), func.min(f.at))
                                                .where(*where, f.at >= now - window)).one()
            if count >= limit:
                if oldest.tzinfo is None:  # SQLite hands back naive datetimes; they were stored in UTC
                    oldest = oldest.replace(tzinfo=now.tzinfo)
                retry_after = max(1, int((oldest + window - now).total_seconds()) + 1)
                raise TooManyAttempts(limits.message, {"retry_after": retry_after}, code=limits.code)

    def fail(self, uow: UnitOfWork, subject: str, client: str, now: datetime, error: CunbanError) -> NoReturn:
        """Count a failure in its own commit (the error rolls the caller's transaction back), then raise."""
        uow.session.add(self.failures(subject=subject, client=client, at=now))
        uow.commit()
        raise error

    def forget(self, uow: UnitOfWork, subject: str) -> None:
        """A success clears the subject's failures (the client's stay counted)."""
        uow.session.execute(delete(self.failures).where(self.failures.subject == subject))
