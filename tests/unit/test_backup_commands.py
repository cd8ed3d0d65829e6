"""What `cunban backup`, `restore` and `reconcile` refuse before touching anything (the work itself runs on
PostgreSQL: tests/integration/test_backup_and_reconcile.py and tests/faults/test_restore_drill.py)."""
from __future__ import annotations

import pytest

from cunban import backup
from cunban.cli import main
from cunban.reconcile import subscriptions
from cunban.registry import SERVICES


def test_backup_and_restore_say_where_they_need_to_go(monkeypatch, capsys):
    monkeypatch.delenv("CUNBAN_BACKUP_TARGET", raising=False)
    assert main(["backup"]) == 2
    assert main(["restore", "--list"]) == 2
    assert "CUNBAN_BACKUP_TARGET" in capsys.readouterr().err


def test_an_s3_target_without_its_keys_is_refused_by_name(monkeypatch, capsys):
    monkeypatch.delenv("CUNBAN_BACKUP_S3_ENDPOINT", raising=False)
    assert main(["restore", "--list", "--from", "s3://cunban-backups/431099"]) == 1
    assert "CUNBAN_BACKUP_S3_ENDPOINT" in capsys.readouterr().err


def test_a_restore_needs_the_data_directory_it_lays_out(tmp_path, capsys):
    assert main(["restore", "--from", str(tmp_path)]) == 2
    assert "--pgdata" in capsys.readouterr().err


def test_a_restore_from_an_empty_store_says_so(tmp_path, capsys):
    assert main(["restore", "--from", str(tmp_path), "--pgdata", str(tmp_path / "pgdata")]) == 1
    assert "no finished backup set" in capsys.readouterr().err


def test_the_embedded_system_s_sqlite_files_are_not_what_cunban_backup_copies():
    with pytest.raises(backup.BackupError, match="PostgreSQL"):
        backup.libpq_url("sqlite:///data/intake.db")
    assert backup.libpq_url("postgresql+psycopg://u:p@h:5432/cunban_intake") == "postgresql://u:p@h:5432/cunban_intake"


def test_a_primary_and_its_standby_in_one_url_are_written_as_libpq_lists_them():
    """CUNBAN_DB_URL may name a primary and its standby (docker-compose.yml); pg_dump, pg_restore and
    pg_basebackup then reach whichever takes writes, as the services do."""
    url = ("postgresql+psycopg://cunban:p%40ss@/cunban_intake?host=postgres:5432&host=postgres-standby:5432"
           "&target_session_attrs=read-write")
    assert backup.libpq_url(url) == ("postgresql://cunban:p%40ss@postgres:5432,postgres-standby:5432/cunban_intake"
                                     "?target_session_attrs=read-write")
    both = {s: url.replace("cunban_intake", f"cunban_{s}") for s in ("intake", "approvals")}
    assert backup.server_url(both) == ("postgresql://cunban:p%40ss@postgres:5432,postgres-standby:5432/postgres"
                                       "?target_session_attrs=read-write")


def test_databases_on_several_servers_are_not_one_set():
    with pytest.raises(backup.BackupError, match="several servers"):
        backup.server_url({"intake": "postgresql+psycopg://u@a/cunban_intake",
                           "approvals": "postgresql+psycopg://u@b/cunban_approvals"})


def test_reconcile_wants_a_since_with_its_time_zone(capsys):
    assert main(["reconcile", "--since", "2026-12-04T08:00:00"]) == 2
    assert "time zone" in capsys.readouterr().err


def test_reconcile_knows_every_consumer_of_another_service_s_events():
    found = subscriptions()
    assert {s.consumer for s in found} >= {"intake", "approvals", "evaluation", "notifications", "scheduling"}
    assert all(s.source in SERVICES and s.handler.startswith(f"{s.consumer}.") for s in found)
    assert {s.consumer for s in found if not s.once} == {"evaluation"}  # its event log stands for the inbox
