"""Backups of every service's PostgreSQL database: `cunban backup` (once, or every N hours as compose's
`backup` service), `cunban restore`. A backup set is one folder named by its UTC start time holding each
service's `pg_dump --format=custom` and a manifest (sizes, SHA-256, each database's alembic revision),
kept in a directory or an S3 bucket (MinIO in compose). The manifest is written last: a set without
one is unfinished and never restored or counted. Kubernetes backs up with CloudNativePG instead
(k8s/base/backup.yaml): continuous WAL archiving, so its restore point is the last WAL segment."""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from prometheus_client import Counter, Gauge
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

log = logging.getLogger("cunban.backup")

MANIFEST = "manifest.json"
SET_NAME = "%Y%m%dT%H%M%SZ"

last_success = Gauge("cunban_backup_last_success_timestamp_seconds",
                     "When the last complete backup set finished (Unix time); 0 before the first")
last_duration = Gauge("cunban_backup_last_duration_seconds", "How long the last complete backup set took")
last_size = Gauge("cunban_backup_last_size_bytes", "Bytes of the last complete backup set")
failures = Counter("cunban_backup_failures_total", "Backup runs that did not finish a set")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, for the operator."""


class Store(Protocol):
    """Where backup sets are kept: names are `<set>/<file>`."""

    def put(self, name: str, source: Path) -> None: ...
    def get(self, name: str, target: Path) -> None: ...
    def read(self, name: str) -> bytes: ...
    def names(self) -> list[str]: ...
    def delete(self, names: Iterable[str]) -> None: ...


class DirectoryStore:
    def __init__(self, root: Path):
        self.root = root

    def put(self, name: str, source: Path) -> None:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        with source.open("rb") as src, partial.open("wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        partial.replace(target)

    def get(self, name: str, target: Path) -> None:
        target.write_bytes((self.root / name).read_bytes())

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def names(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(str(p.relative_to(self.root)) for p in self.root.glob("*/*") if not p.name.endswith(".partial"))

    def delete(self, names: Iterable[str]) -> None:
        for name in names:
            (self.root / name).unlink(missing_ok=True)
        for folder in self.root.iterdir():
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


class S3Store:
    """An S3 bucket (MinIO in compose, or the county's object store) under a prefix: `s3://bucket/prefix`,
    the endpoint and keys from CUNBAN_BACKUP_S3_ENDPOINT (https://host:port), _ACCESS_KEY, _SECRET_KEY."""

    def __init__(self, url: str, endpoint: str, access_key: str, secret_key: str):
        from minio import Minio

        parts = urlsplit(url)
        self.bucket, self.prefix = parts.netloc, parts.path.strip("/")
        where = urlsplit(endpoint)
        self.client = Minio(where.netloc, access_key=access_key, secret_key=secret_key, secure=where.scheme == "https")
        if not self.client.bucket_exists(self.bucket):
            self.client.make_bucket(self.bucket)

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def put(self, name: str, source: Path) -> None:
        self.client.fput_object(self.bucket, self._key(name), str(source))

    def get(self, name: str, target: Path) -> None:
        self.client.fget_object(self.bucket, self._key(name), str(target))

    def read(self, name: str) -> bytes:
        response = self.client.get_object(self.bucket, self._key(name))
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def names(self) -> list[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        return sorted(o.object_name[len(start):] for o in
                      self.client.list_objects(self.bucket, prefix=start, recursive=True))

    def delete(self, names: Iterable[str]) -> None:
        from minio.deleteobjects import DeleteObject

        errors = list(self.client.remove_objects(self.bucket, [DeleteObject(self._key(n)) for n in names]))
        if errors:
            raise BackupError(f"could not delete old backups: {errors[0]}")


def open_store(target: str) -> Store:
    """`s3://bucket/prefix` (keys from the environment) or a directory path."""
    if target.startswith("s3://"):
        try:
            return S3Store(target, os.environ["CUNBAN_BACKUP_S3_ENDPOINT"], os.environ["CUNBAN_BACKUP_S3_ACCESS_KEY"],
                           os.environ["CUNBAN_BACKUP_S3_SECRET_KEY"])
        except KeyError as missing:
            raise BackupError(f"{target}: set {missing.args[0]}") from None
    return DirectoryStore(Path(target))


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore take it (no `+psycopg`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise BackupError(f"backups need PostgreSQL; {parsed.get_backend_name()} is not backed up by cunban backup "
                          "(the embedded system's SQLite files are copied with its data directory)")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-2000:]}")


def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 - a database never migrated has no revision to record
        return None
    finally:
        engine.dispose()


@dataclass(frozen=True)
class BackupSet:
    name: str
    manifest: dict

    @property
    def finished_at(self) -> datetime:
        return datetime.fromisoformat(self.manifest["finished_at"])


def back_up(urls: dict[str, str], store: Store, *, now: datetime | None = None) -> BackupSet:
    """Dump each service's database, one after the other, and write the set's manifest last."""
    started = now or datetime.now(UTC)
    name = started.strftime(SET_NAME)
    clock = time.monotonic()
    entries: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="cunban-backup-") as scratch:
        for service, url in urls.items():
            dump = Path(scratch) / f"{service}.dump"
            dumped_at = datetime.now(UTC)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}", libpq_url(url)])
            digest = hashlib.sha256(dump.read_bytes()).hexdigest()
            store.put(f"{name}/{service}.dump", dump)
            entries[service] = {"file": f"{service}.dump", "bytes": dump.stat().st_size, "sha256": digest,
                                "dumped_at": dumped_at.isoformat(), "alembic_revision": _revision(url)}
            log.info("backed up %s (%d bytes)", service, dump.stat().st_size)
        manifest = {"set": name, "started_at": started.isoformat(), "finished_at": datetime.now(UTC).isoformat(),
                    "seconds": round(time.monotonic() - clock, 3), "databases": entries}
        path = Path(scratch) / MANIFEST
        path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        store.put(f"{name}/{MANIFEST}", path)
    return BackupSet(name, manifest)


def backup_sets(store: Store) -> list[BackupSet]:
    """The finished sets (those with a manifest), oldest first."""
    names = store.names()
    return [BackupSet(n.split("/")[0], json.loads(store.read(n))) for n in names if n.endswith(f"/{MANIFEST}")]


def prune(store: Store, *, keep_days: float, keep_last: int, now: datetime) -> list[str]:
    """Retention: sets older than keep_days go, but never the newest keep_last finished sets; unfinished
    folders older than a day (a run that died) go too. Returns the set names deleted."""
    finished = backup_sets(store)
    kept = {s.name for s in finished[-keep_last:]} if keep_last > 0 else set()
    cutoff = now - timedelta(days=keep_days)
    finished_names = {s.name for s in finished}
    doomed = {s.name for s in finished if s.name not in kept and s.finished_at < cutoff}
    for name in {n.split("/")[0] for n in store.names()} - finished_names:
        if datetime.strptime(name, SET_NAME).replace(tzinfo=UTC) < now - timedelta(days=1):
            doomed.add(name)
    store.delete([n for n in store.names() if n.split("/")[0] in doomed])
    return sorted(doomed)


def run_once(urls: dict[str, str], store: Store, *, keep_days: float, keep_last: int) -> BackupSet:
    try:
        made = back_up(urls, store)
    except Exception:
        failures.inc()
        raise
    last_success.set(made.finished_at.timestamp())
    last_duration.set(made.manifest["seconds"])
    last_size.set(sum(d["bytes"] for d in made.manifest["databases"].values()))
    gone = prune(store, keep_days=keep_days, keep_last=keep_last, now=datetime.now(UTC))
    log.info("backup set %s finished in %s s; %d old sets deleted", made.name, made.manifest["seconds"], len(gone))
    return made


def restore(urls: dict[str, str], store: Store, set_name: str = "latest") -> BackupSet:
    """Restore each named service's database from a finished set: the database is created when it is gone,
    emptied of what it holds otherwise, and the dump loaded in one transaction; each dump's checksum is
    checked before anything is touched."""
    finished = backup_sets(store)
    if not finished:
        raise BackupError("no finished backup set in the store")
    chosen = finished[-1] if set_name == "latest" else next((s for s in finished if s.name == set_name), None)
    if chosen is None:
        raise BackupError(f"no finished backup set {set_name!r}; there are: {', '.join(s.name for s in finished)}")
    missing = sorted(set(urls) - set(chosen.manifest["databases"]))
    if missing:
        raise BackupError(f"set {chosen.name} has no dump of {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="cunban-restore-") as scratch:
        dumps = {}
        for service in urls:
            entry = chosen.manifest["databases"][service]
            dump = Path(scratch) / entry["file"]
            store.get(f"{chosen.name}/{entry['file']}", dump)
            if hashlib.sha256(dump.read_bytes()).hexdigest() != entry["sha256"]:
                raise BackupError(f"{chosen.name}/{entry['file']} does not match its checksum: not restored")
            dumps[service] = dump
        for service, url in urls.items():
            _recreate(url)
            _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
                  f"--dbname={libpq_url(url)}", str(dumps[service])])
            log.info("restored %s from %s", service, chosen.name)
    return chosen


def _recreate(url: str) -> None:
    """An empty database under the URL's name: dropped (its sessions ended) and created again."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = target.database
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def serve(urls: dict[str, str], store: Store, *, every: timedelta, keep_days: float, keep_last: int,
          metrics_port: int) -> None:
    """compose's backup service: a set now and every `every` after, metrics on metrics_port. A failed run
    is logged and counted (the stale-backup alert fires if they keep failing) and tried again next time."""
    from prometheus_client import start_http_server

    start_http_server(metrics_port)
    last_success.set(0)
    while True:
        try:
            run_once(urls, store, keep_days=keep_days, keep_last=keep_last)
        except Exception:  # noqa: BLE001 - the service keeps its schedule; the alert says when runs keep failing
            log.exception("backup run failed")
        time.sleep(every.total_seconds())


def manifest_text(backup: BackupSet) -> str:
    out = io.StringIO()
    out.write(f"{backup.name}: finished {backup.manifest['finished_at']} in {backup.manifest['seconds']} s\n")
    for service, entry in backup.manifest["databases"].items():
        out.write(f"  {service}: {entry['bytes']} bytes, revision {entry['alembic_revision']}\n")
    return out.getvalue()
