"""Receipt-number sequences: one counter row per township and day, incremented inside the filing's
transaction. The row lock serialises concurrent filings of one township on PostgreSQL (across service
instances too); SQLite allows one writer anyway. A rolled-back filing rolls its number back."""
from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.intake.adapters.orm import ReceiptCounter


def next_sequence(session: Session, township_code: str, day: date) -> int:
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(ReceiptCounter).values(township_code=township_code, day=day, last=0)
                    .on_conflict_do_nothing())
    return session.execute(
        update(ReceiptCounter)
        .where(ReceiptCounter.township_code == township_code, ReceiptCounter.day == day)
        .values(last=ReceiptCounter.last + 1)
        .returning(ReceiptCounter.last)
    ).scalar_one()
