"""Backup sets on PostgreSQL (cunban/backup.py) and what `cunban reconcile` finds after a restore
(cunban/reconcile.py), on databases migrated as deployed. The whole drill, under traffic with the
services running, is tests/faults/test_restore_drill.py."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from cunban import backup
from cunban.reconcile import Databases, find_gaps, republish, subscriptions
from cunban.registry import SERVICES
from shared.contracts.envelope import EventEnvelope
from shared.migrate import upgrade

pytestmark = pytest.mark.integration


@pytest.fixture
def urls(pg_database) -> dict[str, str]:
    made = {name: pg_database(name) for name in SERVICES}
    for name, url in made.items():
        upgrade(name, url)
    return made


def _announce(url: str, source: str, event_type: str, payload: dict) -> str:
    """An outbox row as a service's unit of work writes it, already published."""
    envelope = EventEnvelope(source=source, type=event_type, version=1, occurred_at=datetime.now(UTC),
                             payload=payload)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(Databases.table(source, "outbox")).values(
            event_id=envelope.event_id, event_type=event_type, body=envelope.model_dump(mode="json"),
            created_at=envelope.occurred_at, published_at=envelope.occurred_at, attempts=1))
    engine.dispose()
    return envelope.event_id


def _mark_applied(url: str, service: str, handler: str, event_id: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(Databases.table(service, "inbox")).values(
            event_id=event_id, handler=handler, processed_at=datetime.now(UTC)))
    engine.dispose()


def _outbox_ids(url: str, service: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        ids = list(connection.execute(select(Databases.table(service, "outbox").c.event_id)).scalars())
    engine.dispose()
    return ids


def test_a_set_restores_every_database_as_it_was_at_its_dump(urls, tmp_path):
    store = backup.DirectoryStore(tmp_path / "sets")
    before = _announce(urls["intake"], "intake", "activity_recorded", {"kind": "training"})
    made = backup.back_up(urls, store)
    assert set(made.manifest["databases"]) == set(SERVICES)
    assert all(entry["alembic_revision"] for entry in made.manifest["databases"].values())
    after = _announce(urls["intake"], "intake", "activity_recorded", {"kind": "clinic"})
    lost = make_url(urls["intake"])
    engine = create_engine(lost.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:  # the database is lost
        connection.execute(text(f'DROP DATABASE "{lost.database}" WITH (FORCE)'))
    engine.dispose()

    restored = backup.restore({"intake": urls["intake"]}, store)

    assert restored.name == made.name
    ids = _outbox_ids(urls["intake"], "intake")
    assert before in ids and after not in ids


def test_a_dump_that_does_not_match_its_checksum_is_not_restored(urls, tmp_path):
    store = backup.DirectoryStore(tmp_path / "sets")
    made = backup.back_up({"intake": urls["intake"]}, store)
    kept = _announce(urls["intake"], "intake", "activity_recorded", {"kind": "training"})
    with (tmp_path / "sets" / made.name / "intake.dump").open("ab") as dump:
        dump.write(b"\0")

    with pytest.raises(backup.BackupError, match="checksum"):
        backup.restore({"intake": urls["intake"]}, store)
    assert kept in _outbox_ids(urls["intake"], "intake")  # nothing was touched


def test_retention_keeps_the_newest_sets_and_drops_old_and_unfinished_ones(urls, tmp_path):
    store = backup.DirectoryStore(tmp_path / "sets")
    one = {"directory": urls["directory"]}
    now = datetime.now(UTC)
    old = [backup.back_up(one, store, now=now - timedelta(days=d)) for d in (30, 20, 10)]
    for made in old:  # as finished then
        manifest = dict(made.manifest, finished_at=datetime.strptime(made.name, backup.SET_NAME)
                        .replace(tzinfo=UTC).isoformat())
        (tmp_path / "sets" / made.name / backup.MANIFEST).write_text(json.dumps(manifest))
    unfinished = (now - timedelta(days=3)).strftime(backup.SET_NAME)
    (tmp_path / "sets" / unfinished).mkdir()
    (tmp_path / "sets" / unfinished / "directory.dump").write_bytes(b"partial")
    fresh = backup.back_up(one, store)

    gone = backup.prune(store, keep_days=14, keep_last=2, now=now)

    assert gone == sorted([old[0].name, old[1].name, unfinished])
    assert [s.name for s in backup.backup_sets(store)] == [old[2].name, fresh.name]


def test_reconcile_finds_events_a_consumer_lacks_and_events_a_producer_lost(urls):
    filed = _announce(urls["intake"], "intake", "application_filed",
                      {"application_id": "a1", "township_code": "431099101"})
    consumers = [s for s in subscriptions() if s.source == "intake" and s.event_type == "application_filed"]
    assert {s.consumer for s in consumers} >= {"approvals", "evaluation", "scheduling"}
    for sub in consumers:  # every consumer that keeps an inbox has it, but approvals
        if sub.once and sub.consumer != "approvals":
            _mark_applied(urls[sub.consumer], sub.consumer, sub.handler, filed)
    lost = "f" * 32  # approvals applied an event intake's restored database never recorded
    approvals_handler = next(s.handler for s in consumers if s.consumer == "approvals")
    _mark_applied(urls["approvals"], "approvals", approvals_handler, lost)
    dbs = Databases(urls)
    try:
        gaps = find_gaps(dbs)
        assert gaps.missing == {"intake": {filed}}  # approvals lacks it; evaluation's log too
        assert gaps.orphans == {approvals_handler: [lost]}

        assert republish(dbs, gaps.missing) == 1
        outbox = Databases.table("intake", "outbox")
        with dbs.engine("intake").connect() as connection:
            assert connection.execute(select(outbox.c.published_at).where(outbox.c.event_id == filed)).scalar() is None
    finally:
        dbs.close()
