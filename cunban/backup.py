"""Backups of the PostgreSQL server holding every service's database: `cunban backup` (once, or every N
hours as compose's `backup` service) and `cunban restore`. A backup set is one `pg_basebackup` of the
whole server (tar, gzip, with the WAL it needs and PostgreSQL's own backup manifest), so every service's
database comes back as of ONE moment: an event a consumer applied is never newer than its producer's
record of it (dumps of each database taken one after the other under traffic would hand consumers events
their restored producer never made). Each set is a folder named by its UTC start time with a
manifest.json (sizes, SHA-256, each service's alembic revision) written last: a folder without one is
unfinished and never restored or counted. Sets go to a directory or an S3 bucket (MinIO in compose).
Kubernetes backs up with CloudNativePG instead (k8s/base/backup.yaml): base backups plus continuous WAL
archiving."""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

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
    """An S3 bucket (MinIO in compose, or the county's object store) under a prefix: `s3://bucket/prefix`;
    the endpoint is `http(s)://host:port`."""

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


def open_store(target: str, settings: Any) -> Store:
    """`s3://bucket/prefix` (endpoint and keys from CUNBAN_BACKUP_S3_*) or a directory path."""
    if target.startswith("s3://"):
        for name in ("backup_s3_endpoint", "backup_s3_access_key", "backup_s3_secret_key"):
            if not getattr(settings, name):
                raise BackupError(f"{target}: set CUNBAN_{name.upper()}")
        return S3Store(target, settings.backup_s3_endpoint, settings.backup_s3_access_key,
                       settings.backup_s3_secret_key)
    return DirectoryStore(Path(target))


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore take it (no `+psycopg`). SQLAlchemy writes several servers
    as `?host=a:5432&host=b:5432`; libpq as `a:5432,b:5432` (it would read `host=` twice as one server)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise BackupError(f"backups need PostgreSQL; {parsed.get_backend_name()} is not backed up by cunban backup "
                          "(the embedded system's SQLite files are copied with its data directory)")
    hosts = parsed.query.get("host")
    if not isinstance(hosts, tuple):
        return parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    user = quote(parsed.username or "", safe="")
    if parsed.password is not None:
        user += ":" + quote(str(parsed.password), safe="")
    query = urlencode({k: v for k, v in parsed.query.items() if k != "host"}, doseq=True)
    return f"postgresql://{user}{'@' if user else ''}{','.join(hosts)}/{parsed.database or ''}" + (
        f"?{query}" if query else "")


def _tool(name: str) -> str:
    """A PostgreSQL client program: on the PATH (the postgres image), or in Debian's versioned folder."""
    if found := shutil.which(name):
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if not versions:
        raise BackupError(f"{name} is not installed (PostgreSQL's client programs)")
    return str(versions[-1])


def _run(command: list[str]) -> None:
    command = [_tool(command[0]), *command[1:]]
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


def server_url(urls: dict[str, str]) -> str:
    """The one server the service databases live on, as pg_basebackup connects to it."""
    servers = {libpq_url(make_url(u).set(database="postgres").render_as_string(hide_password=False))
               for u in urls.values()}
    if len(servers) != 1:
        raise BackupError("the services' databases are on several servers; back up each server with its own set")
    return servers.pop()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class BackupSet:
    name: str
    manifest: dict

    @property
    def finished_at(self) -> datetime:
        return datetime.fromisoformat(self.manifest["finished_at"])


def back_up(urls: dict[str, str], store: Store, *, now: datetime | None = None) -> BackupSet:
    """A base backup of the server holding these databases, stored file by file, the manifest last."""
    started = now or datetime.now(UTC)
    name = started.strftime(SET_NAME)
    clock = time.monotonic()
    revisions = {service: _revision(url) for service, url in urls.items()}
    with tempfile.TemporaryDirectory(prefix="cunban-backup-") as scratch:
        folder = Path(scratch) / name
        _run(["pg_basebackup", f"--dbname={server_url(urls)}", f"--pgdata={folder}", "--format=tar", "--gzip",
              "--wal-method=stream", "--checkpoint=fast", "--manifest-checksums=SHA256", "--no-password",
              f"--label=cunban {name}"])
        files = {}
        for path in sorted(folder.iterdir()):
            files[path.name] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
            store.put(f"{name}/{path.name}", path)
        manifest = {"set": name, "kind": "pg_basebackup", "started_at": started.isoformat(),
                    "finished_at": datetime.now(UTC).isoformat(), "seconds": round(time.monotonic() - clock, 3),
                    "files": files, "alembic_revisions": revisions}
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
    last_size.set(sum(f["bytes"] for f in made.manifest["files"].values()))
    gone = prune(store, keep_days=keep_days, keep_last=keep_last, now=datetime.now(UTC))
    log.info("backup set %s finished in %s s; %d old sets deleted", made.name, made.manifest["seconds"], len(gone))
    return made


def restore(store: Store, data_dir: Path, set_name: str = "latest") -> BackupSet:
    """Lay a finished set out as a PostgreSQL data directory, which must be empty or absent (the server
    stopped, its old files moved away), after checking each file's checksum; then check the result against
    PostgreSQL's own backup manifest (pg_verifybackup). The server started on it replays the WAL to the
    backup's end: every database as of the same moment."""
    finished = backup_sets(store)
    if not finished:
        raise BackupError("no finished backup set in the store")
    chosen = finished[-1] if set_name == "latest" else next((s for s in finished if s.name == set_name), None)
    if chosen is None:
        raise BackupError(f"no finished backup set {set_name!r}; there are: {', '.join(s.name for s in finished)}")
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(f"{data_dir} is not empty: stop the server and move its files away first")
    with tempfile.TemporaryDirectory(prefix="cunban-restore-") as scratch:
        fetched = {}
        for file, entry in chosen.manifest["files"].items():
            path = Path(scratch) / file
            store.get(f"{chosen.name}/{file}", path)
            if _sha256(path) != entry["sha256"]:
                raise BackupError(f"{chosen.name}/{file} does not match its checksum: nothing restored")
            fetched[file] = path
        data_dir.mkdir(parents=True, exist_ok=True)
        data_dir.chmod(0o700)
        with tarfile.open(fetched["base.tar.gz"]) as base:
            base.extractall(data_dir, filter="tar")
        with tarfile.open(fetched["pg_wal.tar.gz"]) as wal:
            wal.extractall(data_dir / "pg_wal", filter="tar")
        (data_dir / "backup_manifest").write_bytes(fetched["backup_manifest"].read_bytes())
    _run(["pg_verifybackup", str(data_dir)])
    (data_dir / "backup_manifest").unlink()
    log.info("restored %s into %s", chosen.name, data_dir)
    return chosen


def serve(urls: dict[str, str], store: Store, *, every: timedelta, keep_days: float, keep_last: int,
          metrics_port: int) -> None:
    """compose's backup service: a set now and every `every` after, metrics on metrics_port. A failed run
    is logged and counted (the stale-backup alert fires if they keep failing) and tried again next time."""
    from prometheus_client import start_http_server

    start_http_server(metrics_port)
    try:  # a restarted service reports the store's newest set, not 0, until its own first run
        finished = backup_sets(store)
        last_success.set(finished[-1].finished_at.timestamp() if finished else 0)
    except Exception:  # noqa: BLE001 - the store is away: the first run says why
        log.exception("could not list the backup sets")
    while True:
        try:
            run_once(urls, store, keep_days=keep_days, keep_last=keep_last)
        except Exception:  # noqa: BLE001 - the service keeps its schedule; the alert says when runs keep failing
            log.exception("backup run failed")
        time.sleep(every.total_seconds())


def manifest_text(backup: BackupSet) -> str:
    out = io.StringIO()
    size = sum(f["bytes"] for f in backup.manifest["files"].values())
    out.write(f"{backup.name}: finished {backup.manifest['finished_at']} in {backup.manifest['seconds']} s, "
              f"{size} bytes\n")
    for service, revision in backup.manifest["alembic_revisions"].items():
        out.write(f"  {service}: revision {revision}\n")
    return out.getvalue()
