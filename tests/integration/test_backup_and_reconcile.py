"""Backup sets on PostgreSQL (cunban/backup.py) and what `cunban reconcile` finds after a restore
(cunban/reconcile.py), on databases migrated as deployed. The whole drill, under traffic with the
services running, is tests/faults/test_restore_drill.py."""
from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, insert, select

from cunban import backup
from cunban.reconcile import Databases, find_gaps, republish, subscriptions
from cunban.registry import SERVICES
from shared.contracts.envelope import EventEnvelope
from shared.migrate import upgrade
from tests.private_postgres import private_postgres
from tests.upgrade.release import scripts

pytestmark = pytest.mark.integration
HEADS = {name: scripts(name).get_current_head() for name in SERVICES}


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


@pytest.fixture
def server():
    with private_postgres() as made:
        yield made


def _migrated(server, services) -> dict[str, str]:
    made = {name: server.create_database(f"cunban_{name}") for name in services}
    for name, url in made.items():
        upgrade(name, url)
    return made


def test_a_set_brings_every_database_back_as_of_one_moment(server, tmp_path):
    urls = _migrated(server, SERVICES)
    store = backup.DirectoryStore(tmp_path / "sets")
    before = _announce(urls["intake"], "intake", "activity_recorded", {"kind": "training"})
    made = backup.back_up(urls, store)
    assert made.manifest["alembic_revisions"] == {name: HEADS[name] for name in SERVICES}
    after = _announce(urls["intake"], "intake", "activity_recorded", {"kind": "clinic"})
    server.stop("immediate")  # the server is lost with its files
    shutil.rmtree(server.data)

    restored = backup.restore(store, server.data)
    server.start()

    assert restored.name == made.name
    ids = _outbox_ids(urls["intake"], "intake")
    assert before in ids and after not in ids
    assert all(_outbox_ids(url, name) is not None for name, url in urls.items())


def test_a_set_that_does_not_match_its_checksums_is_not_restored(server, tmp_path):
    urls = _migrated(server, ["intake"])
    store = backup.DirectoryStore(tmp_path / "sets")
    made = backup.back_up(urls, store)
    with (tmp_path / "sets" / made.name / "base.tar.gz").open("ab") as dump:
        dump.write(b"\0")

    with pytest.raises(backup.BackupError, match="checksum"):
        backup.restore(store, tmp_path / "pgdata")
    assert not (tmp_path / "pgdata").exists()


def test_a_restore_never_lays_a_set_over_a_data_directory_in_use(server, tmp_path):
    urls = _migrated(server, ["intake"])
    store = backup.DirectoryStore(tmp_path / "sets")
    backup.back_up(urls, store)
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(store, server.data)


def test_retention_keeps_the_newest_sets_and_drops_old_and_unfinished_ones(server, tmp_path):
    one = _migrated(server, ["directory"])
    store = backup.DirectoryStore(tmp_path / "sets")
    now = datetime.now(UTC)
    old = [backup.back_up(one, store, now=now - timedelta(days=d)) for d in (30, 20, 10)]
    for made in old:  # as finished then
        manifest = dict(made.manifest, finished_at=datetime.strptime(made.name, backup.SET_NAME)
                        .replace(tzinfo=UTC).isoformat())
        (tmp_path / "sets" / made.name / backup.MANIFEST).write_text(json.dumps(manifest))
    unfinished = (now - timedelta(days=3)).strftime(backup.SET_NAME)
    (tmp_path / "sets" / unfinished).mkdir()
    (tmp_path / "sets" / unfinished / "base.tar.gz").write_bytes(b"partial")
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
