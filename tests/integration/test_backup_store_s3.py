"""Backup sets in an S3 bucket (MinIO in compose), spoken to over HTTP with the MinIO client as
`cunban backup` does. No MinIO server can be installed on these machines: moto's S3 server, a separate
process answering the S3 API, stands in for it (as tests/sms_stand_in.py does for the SMS providers)."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from cunban import backup
from tests.support import Process, free_port, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def endpoint(tmp_path) -> Iterator[str]:
    port = free_port()
    server = Process.of([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                        tmp_path / "s3.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(url, timeout=2).status_code < 500, 60, "the S3 stand-in", server)
        yield url
    finally:
        server.stop()


def _settings(endpoint: str) -> SimpleNamespace:
    return SimpleNamespace(backup_s3_endpoint=endpoint, backup_s3_access_key="cunban-backup",
                           backup_s3_secret_key="stand-in-secret")


def _finished_set(store: backup.Store, tmp_path: Path, when: datetime) -> str:
    name = when.strftime(backup.SET_NAME)
    base = tmp_path / f"{name}.tar.gz"
    base.write_bytes(b"base backup of " + name.encode())
    store.put(f"{name}/base.tar.gz", base)
    manifest = tmp_path / f"{name}.json"
    manifest.write_text(f'{{"set": "{name}", "finished_at": "{when.isoformat()}", "seconds": 1, '
                        f'"files": {{"base.tar.gz": {{"bytes": {base.stat().st_size}, "sha256": ""}}}}, '
                        f'"alembic_revisions": {{}}}}')
    store.put(f"{name}/{backup.MANIFEST}", manifest)
    return name


def test_sets_go_to_the_bucket_under_the_county_s_prefix_and_old_ones_are_deleted(endpoint, tmp_path):
    store = backup.open_store("s3://cunban-backups/431099", _settings(endpoint))
    other = backup.open_store("s3://cunban-backups/431022", _settings(endpoint))  # another county's sets
    now = datetime.now(UTC)
    old = _finished_set(store, tmp_path, now - timedelta(days=30))
    kept = _finished_set(store, tmp_path, now - timedelta(days=1))
    theirs = _finished_set(other, tmp_path, now - timedelta(days=30))

    assert [s.name for s in backup.backup_sets(store)] == [old, kept]
    back = tmp_path / "back.tar.gz"
    store.get(f"{kept}/base.tar.gz", back)
    assert back.read_bytes() == f"base backup of {kept}".encode()

    assert backup.prune(store, keep_days=14, keep_last=1, now=now) == [old]
    assert store.names() == [f"{kept}/base.tar.gz", f"{kept}/{backup.MANIFEST}"]
    assert [s.name for s in backup.backup_sets(other)] == [theirs]  # the prefix keeps counties apart
