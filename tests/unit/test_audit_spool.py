"""The gateway's audit spool: what was appended is there for the next process until confirmed, a line cut
short by a kill goes, and an emptied spool starts again from nothing."""
from __future__ import annotations

import uuid

from gateway.audit_spool import AuditSpool
from shared.clock import utcnow
from shared.contracts.caller import Role
from shared.contracts.directory import AuditEntry


def entry() -> AuditEntry:
    return AuditEntry(id=uuid.uuid4().hex, at=utcnow(), correlation_id=None, staff_id=7, username="lk_agent1",
                      role=Role.VILLAGE_AGENT, township_code="431099103", station_code=None,
                      action="file_application", method="POST", target="/applications", outcome=201,
                      client="10.0.0.9", personal_data=False)


def test_entries_not_confirmed_are_there_for_the_next_process(tmp_path):
    path = tmp_path / "spool" / "audit.jsonl"
    first = AuditSpool(path)
    kept = [entry() for _ in range(5)]
    for e in kept:
        first.append(e)
    sent, upto = first.pending(2)
    assert sent == kept[:2]
    first.confirm(upto)
    first.close()  # killed here: the file as it is, its lock gone with the process
    again = AuditSpool(path)
    assert again.waiting()
    assert again.pending(100)[0] == kept[2:]


def test_a_line_cut_short_by_a_kill_is_dropped_and_the_next_entry_is_whole(tmp_path):
    path = tmp_path / "audit.jsonl"
    spool = AuditSpool(path)
    whole = entry()
    spool.append(whole)
    with open(path, "ab") as file:
        file.write(entry().model_dump_json().encode()[:40])  # never synced, never answered
    spool.close()
    again = AuditSpool(path)
    later = entry()
    again.append(later)
    assert again.pending(100)[0] == [whole, later]


def test_a_spool_sent_to_the_end_starts_again_empty(tmp_path):
    path = tmp_path / "audit.jsonl"
    spool = AuditSpool(path)
    for _ in range(3):
        spool.append(entry())
    spool.confirm(spool.pending(100)[1])
    assert not spool.waiting() and path.stat().st_size == 0
    spool.close()
    assert not AuditSpool(path).waiting()


def test_an_unreadable_line_is_skipped_not_sent_forever(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"not": "an entry"}\n')
    spool = AuditSpool(path)
    good = entry()
    spool.append(good)
    entries, upto = spool.pending(100)
    assert entries == [good] and upto == path.stat().st_size


def test_without_a_file_entries_wait_in_memory():
    spool = AuditSpool()
    e = entry()
    spool.append(e)
    entries, upto = spool.pending(10)
    assert entries == [e]
    spool.confirm(upto)
    assert not spool.waiting()


def test_a_spool_is_one_gateways(tmp_path):
    import pytest

    from gateway.audit_spool import SpoolInUse

    path = tmp_path / "audit.jsonl"
    held = AuditSpool(path)
    with pytest.raises(SpoolInUse):
        AuditSpool(path)
    held.close()
    AuditSpool(path).close()
