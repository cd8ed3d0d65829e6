"""The outbox, inbox and answered-request tables every service's database carries beside its own, and the
UTC datetime column type every table uses."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored in UTC; SQLite hands them back naive, so UTC is put back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: times are timezone-aware in cunban")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


OUTBOX = "outbox"
INBOX = "inbox"
DEAD_LETTERS = "dead_letters"
RPC_REQUESTS = "rpc_requests"


def add_messaging_tables(metadata: MetaData) -> None:
    Table(
        OUTBOX, metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(32), nullable=False, unique=True),
        Column("event_type", String(80), nullable=False),
        Column("body", JSON, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("published_at", UtcDateTime()),
        Column("attempts", Integer, nullable=False, default=0),
        Index("ix_outbox_unpublished", "published_at", "id"),
    )
    Table(
        INBOX, metadata,
        Column("event_id", String(32), primary_key=True),
        Column("handler", String(120), primary_key=True),
        Column("processed_at", UtcDateTime(), nullable=False),
    )
    # events a handler could not apply after its retries, with the error; replayed by `cunban dlq replay`
    Table(
        DEAD_LETTERS, metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(32), nullable=False),
        Column("handler", String(120), nullable=False),
        Column("event_type", String(80), nullable=False),
        Column("body", JSON, nullable=False),
        Column("error", String(2000), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("failed_at", UtcDateTime(), nullable=False),
        Column("replayed_at", UtcDateTime()),
        Index("ux_dead_letters_event_handler", "event_id", "handler", unique=True),
        Index("ix_dead_letters_open", "replayed_at", "id"),
    )
    # RPC requests whose write committed, by the request id the caller gave the call (shared/answered.py):
    # the row commits with the write, the answer is added once the method returned; a redelivered request
    # is answered from here instead of being applied again
    Table(
        RPC_REQUESTS, metadata,
        Column("request_id", String(32), primary_key=True),
        Column("method", String(80), nullable=False),
        Column("answer", JSON),
        Column("applied_at", UtcDateTime(), nullable=False),
        Index("ix_rpc_requests_applied_at", "applied_at"),
    )


def create_rpc_requests_table(op: Any) -> None:
    """The migration step that adds the answered-request table to a service's database (each service's
    `answered_rpc_requests` revision calls it). Frozen with those revisions: a later change to the table
    is a new revision, never an edit here."""
    op.create_table(
        RPC_REQUESTS,
        Column("request_id", String(32), nullable=False, primary_key=True),
        Column("method", String(80), nullable=False),
        Column("answer", JSON(), nullable=True),
        Column("applied_at", UtcDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rpc_requests_applied_at", RPC_REQUESTS, ["applied_at"])


def drop_rpc_requests_table(op: Any) -> None:
    op.drop_index("ix_rpc_requests_applied_at", table_name=RPC_REQUESTS)
    op.drop_table(RPC_REQUESTS)
