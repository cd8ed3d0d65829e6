"""Receipt numbers and the public look-up by receipt number, for every service that gives villagers a
number to follow (intake's applications, complaints).

- Sequences: one counter row per township and day, incremented inside the transaction that files the
  record. The row lock serialises concurrent filings of one township on PostgreSQL (across service
  instances too); SQLite allows one writer anyway. A rolled-back filing rolls its number back.
- Look-ups: a wrong guess is recorded; too many in an hour for one number or from one client lock the
  look-up (429 `lookup_locked`), so that phone digits or look-up codes cannot be guessed."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Index, Integer, String, func, select, update
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from shared.db import UnitOfWork, insert_or_ignore
from shared.errors import TooManyAttempts
from shared.messaging_tables import UtcDateTime

LOOKUP_WINDOW = timedelta(hours=1)
LOOKUP_FAILURES_PER_RECEIPT = 5
LOOKUP_FAILURES_PER_CLIENT = 20


class ReceiptCounterColumns:
    township_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, nullable=False)


class LookupFailureColumns:
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    receipt_no: Mapped[str] = mapped_column(String(40), nullable=False)
    client: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    @declared_attr.directive
    def __table_args__(cls) -> tuple:  # noqa: N805 - SQLAlchemy's declared_attr
        return (Index("ix_lookup_receipt_at", "receipt_no", "at"), Index("ix_lookup_client_at", "client", "at"))


def next_sequence(session: Session, counter: Any, township_code: str, day: date) -> int:
    insert_or_ignore(session, counter, township_code=township_code, day=day, last=0)
    return session.execute(
        update(counter).where(counter.township_code == township_code, counter.day == day)
        .values(last=counter.last + 1).returning(counter.last)).scalar_one()


def check_lookup_allowed(uow: UnitOfWork, failures: Any, *, receipt_no: str, client: str, now: datetime) -> None:
    since = now - LOOKUP_WINDOW
    by_receipt = uow.session.execute(select(func.count()).where(failures.receipt_no == receipt_no,
                                                                failures.at >= since)).scalar_one()
    by_client = uow.session.execute(select(func.count()).where(failures.client == client,
                                                               failures.at >= since)).scalar_one()
    if by_receipt >= LOOKUP_FAILURES_PER_RECEIPT or by_client >= LOOKUP_FAILURES_PER_CLIENT:
        raise TooManyAttempts("too many wrong look-ups; try again in an hour or ask at your station",
                              code="lookup_locked")


def record_lookup_failure(uow: UnitOfWork, failures: Any, *, receipt_no: str, client: str, now: datetime) -> None:
    uow.session.add(failures(receipt_no=receipt_no, client=client, at=now))
    uow.commit()
