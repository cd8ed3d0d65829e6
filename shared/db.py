"""SQLAlchemy 2 at the edge of a nameko service: one engine per service, one unit of work per worker.

Why commit is explicit: nameko sends an RPC reply (or acks an event) *before* it calls
`worker_result` on dependencies, so a commit there could fail after the caller was told "done". A
handler therefore calls `uow.commit()` itself; the provider rolls back whatever was left uncommitted
when the worker ends (error or not) and closes the session.
"""
from __future__ import annotations

import functools
import importlib
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Generic, TypeVar, overload

import orjson
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from pydantic import BaseModel
from sqlalchemy import Engine, MetaData, bindparam, create_engine, event, insert, make_url, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shared import jsoncodec
from shared.clock import utcnow
from shared.contracts.caller import Caller
from shared.divisions import township_range
from shared.errors import Conflict
from shared.messaging_tables import DEAD_LETTERS, INBOX, OUTBOX, RPC_REQUESTS
from shared.settings import get_settings

log = logging.getLogger(__name__)


DuplicateKey = IntegrityError
"""What a write or a commit raises when another transaction took its key first (a retry racing in): use cases
catch this name, not the driver's."""


def insert_statement(session: Session, model: Any) -> Any:
    """The dialect's INSERT (with ON CONFLICT) for a mapped class or a Table."""
    table = getattr(model, "__table__", model)
    return (pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert)(table)


_PREPARED: dict[tuple[Any, ...], Any] = {}


def prepared(session: Session, model: Any, build: Callable[[Any], Any], *variant: Any) -> Any:
    """An INSERT statement on `model` built once per dialect (and `variant`), then executed with its values
    as parameters: building one for every row, with its cache key, cost twice what running it does."""
    key = (session.bind.dialect.name, model, build.__code__, *variant)
    statement = _PREPARED.get(key)
    if statement is None:
        statement = _PREPARED[key] = build(insert_statement(session, model))
    return statement


def change(row: Any, **values: Any) -> None:
    """Set a loaded row's attributes, only those whose value differs: an attribute set to what it holds
    still marks the row changed, and the next flush (before every query) works through it for nothing."""
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


def _key_names(model: Any) -> list[str]:
    return [column.name for column in model.__table__.primary_key]


def insert_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT rows known to be new, at once, as one executemany of one cached statement: no objects for
    the ORM to track and work through at the flush (a filing's flush was a quarter of intake's time, a new
    approval case's 40 % of its handler). Objects waiting in the session are flushed first."""
    if rows:
        session.execute(prepared(session, model, lambda insert: insert), rows)


def values_of(row: Any) -> dict[str, Any]:
    """A new, never added ORM object's column values, for insert_rows (an autoincremented key left unset is
    left to the database)."""
    table = row.__table__
    return {column.key: getattr(row, column.key) for column in table.columns
            if not (column is table.autoincrement_column and getattr(row, column.key) is None)}


def insert_or_ignore(session: Session, model: Any, rows: list[dict[str, Any]] | None = None, **values: Any) -> None:
    """INSERT a row (or rows) unless its key exists (ON CONFLICT DO NOTHING, on PostgreSQL and SQLite)."""
    _upsert_rows(session, model, lambda insert: insert.on_conflict_do_nothing(), rows if rows is not None else [values])


def _upsert_rows(session: Session, model: Any, build: Callable[[Any], Any], rows: list[dict[str, Any]],
                 *variant: Any) -> None:
    """An INSERT … ON CONFLICT of `rows` as one statement. SQLAlchemy sends several rows of an upsert as an
    executemany (psycopg's pipeline: a round of its machinery per row, a tenth of evaluation's time for a
    filing's daily totals), not as the one multi-row statement it makes of a plain INSERT's rows: so one
    row goes as a plain execute, and n rows as a VALUES list of n rows, built once per n (and per column
    set) like every prepared statement. All rows name the same columns."""
    if not rows:
        return
    if len(rows) == 1:
        session.connection().execute(prepared(session, model, build, *variant), rows[0])
        return
    names = tuple(rows[0])
    columns = getattr(model, "__table__", model).c  # each parameter typed as its column (UtcDateTime, JSON)
    statement = prepared(session, model, lambda insert: build(insert.values(
        [{name: bindparam(f"{name}_{i}", type_=columns[name].type) for name in names} for i in range(len(rows))])),
        build.__code__, names, len(rows), *variant)
    session.connection().execute(statement, {f"{name}_{i}": row[name] for i, row in enumerate(rows) for name in names})


def insert_new(session: Session, model: Any, **values: Any) -> bool:
    """INSERT one row unless its key exists; True when it was inserted. One statement (INSERT … ON CONFLICT
    DO NOTHING RETURNING): a racing insert of the same key waits until the first commits, then finds it."""
    table = getattr(model, "__table__", model)
    statement = prepared(session, model, lambda insert: insert.on_conflict_do_nothing().returning(
        *table.primary_key.columns))
    return session.execute(statement, values).first() is not None


def insert_or_add(session: Session, model: Any, rows: list[dict[str, Any]], *, key: list[str],
                  summed: list[str]) -> None:
    """INSERT rows, or where a row's key exists add its `summed` columns to the stored ones (ON CONFLICT
    DO UPDATE), as one statement built once, on PostgreSQL and SQLite alike. No two rows may share a key:
    they go as one multi-row statement (_upsert_rows), which may not update a row twice."""
    _upsert_rows(session, model, lambda insert: insert.on_conflict_do_update(
        index_elements=key, set_={name: model.__table__.c[name] + insert.excluded[name] for name in summed}),
        rows, tuple(key), tuple(summed))


def within_scope(caller: Caller, township_column: Any, station_column: Any = None) -> list[Any]:
    """The WHERE clauses that keep a query inside the caller's reach: nothing for the whole installation,
    the county's range of township codes for a county, the township (and station) otherwise. The one way
    every service filters a list by tenant."""
    if (county := caller.county_filter()) is not None:
        first, last = township_range(county)
        return [township_column.between(first, last)]
    if (township := caller.township_filter()) is None:
        return []
    clauses = [township_column == township]
    if station_column is not None and (station := caller.station_filter()) is not None:
        clauses.append(station_column == station)
    return clauses


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15},
                               json_serializer=jsoncodec.column_text, json_deserializer=orjson.loads)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    wait_cooperatively()
    # a connection for every nameko worker (max_workers 10), the outbox relay and the timers, so none is
    # opened and closed per request under load (SCRAM authentication costs milliseconds of CPU)
    engine = create_engine(url, pool_size=16, max_overflow=8, connect_args=_connect_args(url),
                           json_serializer=jsoncodec.column_text, json_deserializer=orjson.loads)
    # several rows of one INSERT (a filing's stages, a case's limits and inboxes, a batch's daily totals, the
    # gateway's audit entries) go as one multi-row statement, as SQLAlchemy does for psycopg2, instead of
    # psycopg's executemany pipeline (a select and a send per row, then a sync): 334 → 315 µs of CPU for two
    # rows, 390 → 333 µs for five, the same for an upsert of five (interleaved, under eventlet), and one
    # statement for PostgreSQL instead of several. An `ON CONFLICT DO UPDATE` so sent must not hold one key
    # twice (insert_or_add).
    engine.dialect.use_insertmanyvalues_wo_returning = True
    event.listen(engine, "checkin", _checked_in)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


CONNECT_TIMEOUT_SECONDS = 5


def _connect_args(url: str) -> dict[str, Any]:
    """How long one server of the URL may take to answer before the next is tried. The URL may name several
    (`?host=a:5432&host=b:5432&target_session_attrs=read-write`: libpq's multi-host list, as SQLAlchemy
    writes it) and the primary is whichever of them takes writes now; a server that is gone without a word
    (a dead machine drops packets, it refuses nothing) would otherwise hold every new connection for
    psycopg's default of over two minutes before the next is tried. A timeout in the URL wins."""
    return {} if "connect_timeout" in make_url(url).query else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}


PING_AFTER_IDLE_SECONDS = 2.0


def _checked_in(_dbapi_conn: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    """A connection idle for PING_AFTER_IDLE_SECONDS is asked whether the server is still there before it is
    handed out (a PostgreSQL restart meanwhile left it dead); the pool then opens a new one. One in use a
    moment ago is not: pinging at every checkout (pool_pre_ping) was a statement more for every transaction,
    and a connection cut mid-use is caught anyway (a rollback lets it go; the whole pool is renewed)."""
    if time.monotonic() - record.info.get("checked_in_at", float("inf")) < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dbapi_conn.execute("SELECT 1").close()
        dbapi_conn.rollback()
    except Exception as exc:
        raise DisconnectionError(f"the database went away: {exc}") from exc


def wait_cooperatively() -> None:
    """Under eventlet (every nameko service), psycopg must wait for query results by suspending only the
    green thread that asked. Its default wait, in C, blocks the whole process: one worker waiting for a row
    lock that another green thread of the same process holds then freezes the service for good (tests/faults
    found it: a retried approval action racing its own redelivery). eventlet's green `select` would do, at
    half a millisecond a wait; its `trampoline` costs far less (bench/market_day.py)."""
    from eventlet import patcher

    if patcher.is_monkey_patched("select"):
        import psycopg.waiting

        psycopg.waiting.wait = _green_wait


def _unpatched_select(*args: Any) -> Any:
    from eventlet import patcher

    return patcher.original("select").select(*args)


def _green_wait(gen: Any, fileno: int, interval: float = 0.0, timeout: float | None = None) -> Any:
    """psycopg's `wait` protocol on eventlet's hub: the generator says what it waits for (read, write or
    both), the calling green thread sleeps until the socket is ready."""
    import select

    from eventlet.hubs import trampoline
    from psycopg import errors
    from psycopg.waiting import READY_R, READY_W, WAIT_R, WAIT_RW, WAIT_W

    expired = errors._WaitTimeout("wait timeout expired") if timeout is not None else None
    try:
        state = next(gen)
        while True:
            if state == WAIT_R:
                trampoline(fileno, read=True, timeout=timeout, timeout_exc=expired)
                ready = READY_R
            elif state == WAIT_W:
                trampoline(fileno, write=True, timeout=timeout, timeout_exc=expired)
                ready = READY_W
            else:  # WAIT_RW: a pipeline (executemany) sending its statements while answers may come
                assert state == WAIT_RW
                # the socket is almost always writable at once: ask without a trip through the hub (one
                # green select per statement was a quarter of evaluation's time), and wait only if not
                readable, writable, _ = _unpatched_select([fileno], [fileno], [], 0)
                if not (readable or writable):
                    readable, writable, _ = select.select([fileno], [fileno], [], timeout)
                if not (readable or writable):
                    raise expired or errors.OperationalError("wait failed")
                ready = (READY_R if readable else 0) | (READY_W if writable else 0)
            state = gen.send(ready)
    except StopIteration as done:
        return done.value


COPY_SECONDS = 2.0  # how long a process trusts what it read of a read-model copy (another process's change)
COPY_ENTRIES = 20_000  # beyond this many remembered rows, start again (unknown codes sent by anyone count too)


class CopyCache:
    """What one process read of its read-model copies (another service's villages, stations, catalogue
    items, workflows, occasions), kept for COPY_SECONDS: every filing reads three or four of them, and they
    change a few times a year. A change this process applies is forgotten at once (UnitOfWork.put and
    keep_newest, again at commit); one applied by another replica of the service reaches this one within
    COPY_SECONDS — the copies are eventually consistent with the directory already."""

    def __init__(self, seconds: float = COPY_SECONDS):
        self.seconds = seconds
        self._rows: dict[tuple[type, Any], tuple[float, Any]] = {}
        self._computed: dict[type, set[Any]] = {}  # keys of computed values, by the model they were read from

    def get(self, session: Session, model: type, key: Any) -> Any:
        """The row at `key` (None when absent), detached: read it, never change it."""

        def read() -> Any:
            row = session.get(model, key)
            if row is not None:
                session.expunge(row)  # shared by every worker of the process from now on
            return row

        return self._kept(model, key, read)

    def computed(self, model: type, key: Any, read: Callable[[], Any]) -> Any:
        """A value read from many rows of a copy (a county's working calendar), kept like a row; a change to
        any row of `model` forgets it."""
        self._computed.setdefault(model, set()).add(key)
        return self._kept(model, key, read)

    def _kept(self, model: type, key: Any, read: Callable[[], Any]) -> Any:
        now = time.monotonic()
        cached = self._rows.get((model, key))
        if cached is not None and cached[0] > now:
            return cached[1]
        value = read()
        if len(self._rows) >= COPY_ENTRIES:
            self._rows.clear()
        self._rows[(model, key)] = (now + self.seconds, value)
        return value

    def forget(self, model: type, key: Any) -> None:
        self._rows.pop((model, key), None)
        for computed in self._computed.pop(model, ()):
            self._rows.pop((model, computed), None)


class BatchEnded(Exception):
    """A handler tried to end the transaction it shares with the other events of its batch."""


class UnitOfWork:
    """One transaction: the state change, the events announcing it (outbox) and the events it consumed
    (inbox) commit together or not at all."""

    def __init__(self, session: Session, service: str, metadata: MetaData,
                 correlation_id: str | None = None, on_commit: Callable[[], None] | None = None,
                 copies: CopyCache | None = None):
        self.session = session
        self.copies = copies or CopyCache()
        self._changed_copies: list[tuple[type, Any]] = []
        self.service = service
        self.correlation_id = correlation_id
        self._outbox = metadata.tables[OUTBOX]
        self._inbox = metadata.tables[INBOX]
        self.dead_letters = metadata.tables[DEAD_LETTERS]
        self._requests = metadata.tables[RPC_REQUESTS]
        self.request: tuple[str, str] | None = None  # (request id, method) of the RPC this worker answers
        self._request_kept = False
        self._answer_kept = False
        self._after_commit: list[Callable[[], None]] = []
        self._on_commit = on_commit
        self._recorded = 0
        self._in_batch = False
        self._gathered: dict[str, tuple[Callable[[UnitOfWork, dict[Any, Any]], None], dict[Any, Any]]] = {}

    def gathered(self, name: str, write: Callable[[UnitOfWork, dict[Any, Any]], None]) -> dict[Any, Any]:
        """A dict this transaction gathers writes in, written once by `write(uow, gathered)` just before the
        commit (or at `write_gathered`): what the events of a batch add to one row is summed first, and the
        rows are locked for the commit only (evaluation's daily totals)."""
        if name not in self._gathered:
            self._gathered[name] = (write, {})
        return self._gathered[name][1]

    def write_gathered(self) -> None:
        gathered, self._gathered = self._gathered, {}
        for write, values in gathered.values():
            if values:
                write(self, values)

    def record_event(self, type_: str, payload: dict[str, Any], *, now: datetime | None = None,
                     township_code: str | None = None, version: int = 1) -> str:
        """Announce a change in the transaction that makes it (the outbox); returns the event's id. The
        payload is a contract's JSON form. The body is written as EventEnvelope's JSON form is (what every
        consumer parses), built directly: validating and dumping an envelope for every event was a tenth of
        a busy consumer's time."""
        occurred_at = now or utcnow()
        event_id = uuid.uuid4().hex
        self.session.connection().execute(prepared(self.session, self._outbox, lambda insert: insert), {
            "event_id": event_id, "event_type": type_, "created_at": occurred_at, "body": {
                "event_id": event_id, "source": self.service, "type": type_, "version": version,
                "occurred_at": _json_time(occurred_at), "correlation_id": self.correlation_id,
                "township_code": township_code, "payload": payload}})
        self._recorded += 1
        return event_id

    def wake_relay(self) -> None:
        """Wake the outbox relay of this process at the commit, as an event recorded does: what its gauges
        count moved."""
        self._recorded += 1

    def mark_consumed(self, event_id: str, handler: str) -> bool:
        """Record that `handler` applies `event_id` in this transaction; False when it already had (a
        redelivery). One statement (INSERT … ON CONFLICT DO NOTHING): a second delivery racing the first
        waits on the key until the first commits, then finds it."""
        return insert_new(self.session, self._inbox, event_id=event_id, handler=handler, processed_at=utcnow())

    def keep_dead_letter(self, handler: str, body: dict[str, Any], error: str, attempts: int) -> None:
        """Keep what failed for good in this transaction, for county IT to see and replay (`cunban dlq`,
        `/dead-letters`): one row per event id and handler; a later failure updates it, waiting again."""
        table = self.dead_letters
        self.wake_relay()  # its dead-letter gauge moved
        event_id, event_type = str(body.get("event_id", "?"))[:32], str(body.get("type", "?"))[:80]
        existing = self.session.execute(select(table.c.id).where(table.c.event_id == event_id,
                                                                 table.c.handler == handler)).scalar_one_or_none()
        values = {"error": error[:2000], "failed_at": utcnow(), "replayed_at": None}
        if existing is None:
            self.session.execute(insert(table).values(event_id=event_id, handler=handler, event_type=event_type,
                                                      body=body, attempts=attempts, **values))
        else:
            self.session.execute(update(table).where(table.c.id == existing)
                                 .values(attempts=table.c.attempts + attempts, **values))

    def copy(self, model: type, key: Any) -> Any:
        """A row of a read-model copy (or of another table whose rows, once written, stay) by its key, or
        None: cached by the process (CopyCache)."""
        return self.copies.get(self.session, model, key)

    def keep_newest(self, model: type, key: Any, values: dict[str, Any]) -> None:
        """Upsert another service's snapshot into a read model unless a newer `version` is already here
        (events may arrive late, twice, or two at once): one INSERT … ON CONFLICT DO UPDATE … WHERE the
        stored version is older, so two snapshots racing each other cannot leave the older one."""
        self._upsert(model, key, values, newer_only=True)

    def put(self, model: type, key: Any, values: dict[str, Any] | None) -> None:
        """Set a read-model row to `values` (one upsert: the last writer wins), or remove it when the
        other service removed it (None)."""
        if values is None:
            self._copy_changed(model, key)
            row = self.session.get(model, key)
            if row is not None:
                self.session.delete(row)
            return
        self._upsert(model, key, values)

    def forget_copy(self, model: type, key: Any) -> None:
        """A row this transaction changes that the process keeps (UnitOfWork.copy): forgotten now, and again
        at the commit or rollback (a worker may have read it meanwhile)."""
        self._copy_changed(model, key)

    def _copy_changed(self, model: type, key: Any) -> None:
        self.copies.forget(model, key)
        self._changed_copies.append((model, key))

    def _upsert(self, model: type, key: Any, values: dict[str, Any], newer_only: bool = False) -> None:
        """One INSERT … ON CONFLICT DO UPDATE of the row's columns in `values`, built once per model and set
        of columns (prepared) and run with the values as parameters."""
        self._copy_changed(model, key)
        keys, names = _key_names(model), tuple(values)
        table = model.__table__  # type: ignore[attr-defined]

        def build(insert: Any) -> Any:
            return insert.on_conflict_do_update(
                index_elements=keys, where=table.c.version < insert.excluded.version if newer_only else None,
                set_={name: insert.excluded[name] for name in names if name not in keys})

        self.session.execute(prepared(self.session, model, build, names, newer_only), values)
        loaded = self.session.identity_map.get(self.session.identity_key(model, key))
        if loaded is not None:  # the statement went past the ORM: what it holds of the row is stale
            self.session.expire(loaded)

    def hold(self, model: type, key: Any, **new: Any) -> Any:
        """The row at `key`, created from `new` if absent, locked until this transaction ends: two
        workers updating one row from different events (an application's filing and its on-the-spot
        completion, delivered together) take turns instead of one overwriting what the other read."""
        # one statement: ON CONFLICT DO UPDATE locks the existing row as an UPDATE would, and RETURNING
        # hands it back either way (setting the key to itself changes nothing)
        keys = _key_names(model)

        def build(insert: Any) -> Any:
            upsert = insert.on_conflict_do_update(index_elements=keys, set_={k: insert.excluded[k] for k in keys})
            return select(model).from_statement(upsert.returning(model))

        return self.session.execute(prepared(self.session, model, build), new,
                                    execution_options={"populate_existing": True}).scalar_one()

    def claim(self, statement: Any) -> bool:
        """Run a conditional UPDATE that only one worker can win (… WHERE flag IS NULL): True for the
        winner, whose transaction goes on; False, rolled back, for everyone else."""
        if self.session.execute(statement).rowcount == 1:
            return True
        self.rollback()
        return False

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Several events applied in this one transaction (on_event's batches): a commit or rollback one of
        them asks for would end the others' work with its own, so inside the batch it raises instead, and
        the batch's events are applied one by one."""
        self._in_batch = True
        try:
            yield
        finally:
            self._in_batch = False

    def _not_in_batch(self, what: str) -> None:
        if self._in_batch:
            raise BatchEnded(f"a handler asked to {what} in the middle of a batch of events")

    def answered_before(self) -> tuple[bool, Any]:
        """Whether this RPC's request was applied before (the broker handing it out again after the service
        died between its commit and its acknowledgement), and its first answer. A request applied whose
        answer was not kept (the service died in between) is refused with 409 `request_applied` rather
        than applied again."""
        assert self.request is not None
        request_id, method = self.request
        # one primary-key read in the transaction the use case then goes on in (read committed: it sees what
        # commits meanwhile), so a call pays no extra round trip to begin or end one
        row = self.session.execute(_answer_of(self._requests), {"request_id": request_id}).one_or_none()
        if row is None:
            return False, None
        if row.method != method:
            raise Conflict("this request id was used for another call", code="request_id_reused")
        if row.answer is None:
            raise Conflict("this request was applied, but its answer was lost; look the record up",
                           code="request_applied")
        return True, row.answer["value"]

    def keep_answer(self, answer: Any) -> None:
        """Add the answer to the request row the write committed with (its own small transaction), unless
        the use case handed it to the commit; one that cannot be kept is logged: the row still says the
        request was applied."""
        if self.request is None or not self._request_kept or self._answer_kept:
            return
        table = self._requests
        try:
            self.session.execute(update(table).where(table.c.request_id == self.request[0])
                                 .values(answer={"value": answer}))
            self.session.commit()
        except (DBAPIError, TypeError, ValueError):
            log.warning("could not keep the answer of request %s", self.request[0], exc_info=True)
            self.rollback()

    def commit(self, answer: Any = None) -> None:
        """Commit the transaction. A use case whose answer is known before its last commit (a filing's view)
        hands it over: an RPC that carries a request id then keeps the answer in the same transaction as the
        write, instead of in one of its own after the method returned (UnitOfWork.keep_answer)."""
        self._not_in_batch("commit")
        self.write_gathered()
        keeping = self.request is not None and not self._request_kept
        if keeping:  # the write and the request id that caused it commit together (a plain INSERT: a
            # second delivery of the same request racing this one fails on the key, its write with it)
            kept = None if answer is None else {"value": _wire(answer)}
            insert_rows(self.session, self._requests, [{"request_id": self.request[0], "method": self.request[1],
                                                        "answer": kept, "applied_at": utcnow()}])
        self.session.commit()
        self._request_kept = self._request_kept or keeping
        self._answer_kept = self._answer_kept or (keeping and answer is not None)
        for model, key in self._changed_copies:  # a worker may have read the old row meanwhile
            self.copies.forget(model, key)
        self._changed_copies = []
        if self._recorded and self._on_commit:
            self._on_commit()
        self._recorded = 0
        done, self._after_commit = self._after_commit, []
        for then in done:
            then()

    def after_commit(self, then: Callable[[], None]) -> None:
        """Run `then` once this transaction has committed (never if it rolls back): wake what acts on it."""
        self._after_commit.append(then)

    def rollback(self) -> None:
        """Undo the transaction; if the database already cut the connection (a restart), the session lets
        go of it instead (the server rolled back) — never an error of its own on top of the first."""
        self._not_in_batch("roll back")
        self._recorded = 0
        self._after_commit = []
        self._gathered = {}
        for model, key in self._changed_copies:  # a worker may have read this transaction's change meanwhile
            self.copies.forget(model, key)
        self._changed_copies = []
        try:
            self.session.rollback()
        except DBAPIError:
            log.warning("rollback failed on a lost database connection; discarding it", exc_info=True)
            self.session.close()

    def close(self) -> None:
        self.rollback()
        self.session.close()


class Repository:
    """What a service's use cases ask for rows through, named for the domain (`applications.add(app)`,
    `cases.due_before(day)`): one per aggregate or read model, in the service's `adapters/repositories.py`
    (or a package of that name, a module per family), handed out by the service's unit of work. It holds
    the SQL and its speed-ups (plain INSERTs, multi-row statements, locking order), so a use case reads
    like the rule it implements and never touches the session."""

    def __init__(self, uow: UnitOfWork):
        self.uow = uow

    @property
    def session(self) -> Session:
        return self.uow.session


R = TypeVar("R", bound=Repository)


class repository(Generic[R]):  # noqa: N801 - used like cached_property, which it is for a repository
    """A unit of work's repository, made on first use and kept for the transaction:
    `applications = repository(Applications)` in a service's unit of work."""

    def __init__(self, kind: type[R]):
        self.kind = kind

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, uow: None, owner: type) -> repository[R]: ...

    @overload
    def __get__(self, uow: UnitOfWork, owner: type) -> R: ...

    def __get__(self, uow: UnitOfWork | None, owner: type) -> R | repository[R]:
        if uow is None:
            return self
        made = uow.__dict__[self.name] = self.kind(uow)
        return made


UNIT_OF_WORK_INFO = "unit_of_work"  # metadata.info key: "module:Class" of the service's own unit of work


def unit_of_work_class(metadata: MetaData) -> type[UnitOfWork]:
    """The unit of work a service's database hands out: its own subclass, which hands out its repositories,
    named beside its tables (`MetaData(info={"unit_of_work": "services.intake.adapters.repositories:
    IntakeUnitOfWork"})`, a name rather than the class, since the repositories import the tables)."""
    name = metadata.info.get(UNIT_OF_WORK_INFO)
    if name is None:
        return UnitOfWork
    module, _, attribute = name.partition(":")
    found = getattr(importlib.import_module(module), attribute)
    assert issubclass(found, UnitOfWork), name
    return found


def _json_time(at: datetime) -> str:
    """A timezone-aware datetime as pydantic writes it in JSON (UTC as `Z`)."""
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@functools.cache
def _answer_of(requests: Any) -> Any:
    """The statement that reads a request's row, built once (every write asks it)."""
    return select(requests.c.method, requests.c.answer).where(requests.c.request_id == bindparam("request_id"))


def _wire(answer: Any) -> Any:
    """An answer as the RPC sends it: a contract as its JSON form (what the service method returns)."""
    return answer.model_dump(mode="json") if isinstance(answer, BaseModel) else answer


class ServiceDatabase:
    """The engine and session factory of one service's own database."""

    def __init__(self, service: str, metadata: MetaData, url: str):
        self.service = service
        self.metadata = metadata
        self.url = url
        self.unit_of_work_class = unit_of_work_class(metadata)
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.outbox_signal = threading.Event()
        self.copies = CopyCache()

    def unit_of_work(self, correlation_id: str | None = None) -> UnitOfWork:
        return self.unit_of_work_class(self.sessions(), self.service, self.metadata, correlation_id,
                                       on_commit=self.outbox_signal.set, copies=self.copies)

    def dispose(self) -> None:
        self.engine.dispose()


def database_url_for(config: dict[str, Any], service: str) -> str:
    urls = config.get("DB_URLS") or {}
    return urls.get(service) or get_settings().database_url(service)


REQUEST_ID_KEY = "request_id"  # travels as the AMQP header "nameko.request_id" (shared/rpc_client.py)
_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


class Database(DependencyProvider):
    """Hands each worker a UnitOfWork on the service's own database."""

    def __init__(self, metadata: MetaData):
        self.metadata = metadata
        self.db: ServiceDatabase | None = None
        self._open: dict[Any, UnitOfWork] = {}

    def setup(self) -> None:
        service = self.container.service_name
        self.db = ServiceDatabase(service, self.metadata, database_url_for(self.container.config, service))

    def stop(self) -> None:
        if self.db:
            self.db.dispose()

    def get_dependency(self, worker_ctx: Any) -> UnitOfWork:
        assert self.db is not None
        uow = self.db.unit_of_work(worker_ctx.data.get("correlation_id"))
        request_id = worker_ctx.data.get(REQUEST_ID_KEY)
        if isinstance(worker_ctx.entrypoint, Rpc) and isinstance(request_id, str) and _REQUEST_ID.match(request_id):
            uow.request = (request_id, worker_ctx.entrypoint.method_name)
        self._open[worker_ctx] = uow
        return uow

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        uow = self._open.get(worker_ctx)
        if uow is not None and exc_info is not None:
            uow.rollback()

    def worker_teardown(self, worker_ctx: Any) -> None:
        uow = self._open.pop(worker_ctx, None)
        if uow is not None:
            uow.close()
