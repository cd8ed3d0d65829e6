"""A PostgreSQL primary and a synchronous streaming standby of its own on this machine, from the OS's
packages (initdb, pg_basebackup, pg_ctl): killed with SIGKILL and promoted as a failover does it. Private
to the test or benchmark that starts it (its own ports and data directories, never the shared cluster).

The standby is made with `pg_basebackup -R` and the primary waits for it at every commit
(`synchronous_standby_names = 'ANY 1 (*)'`, `synchronous_commit = on`): what a client saw committed is on
both, as CloudNativePG's `postgresql.synchronous` (method any, number 1) keeps it in k8s/."""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.support import free_port

USER, PASSWORD = "cunban", "cunban"
SYSTEM_USER = "postgres"  # initdb and the server refuse to run as root


def _bin(program: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError(f"{program} not found: install PostgreSQL from the OS's packages (apt-get install "
                           "postgresql)")
    return found[-1]


def _run(*command: str, timeout: float = 120) -> str:
    as_user = ["runuser", "-u", SYSTEM_USER, "--"] if os.geteuid() == 0 else []
    result = subprocess.run([*as_user, *command], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


class Node:
    """One PostgreSQL server: its data directory and port."""

    def __init__(self, data: Path, port: int):
        self.data, self.port = data, port

    def start(self) -> None:
        _run(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.data / "server.log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            _run(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def kill(self) -> None:
        """SIGKILL to the postmaster, as a machine that dies: no checkpoint, no goodbye to clients. Its
        backends, left without their postmaster, end at their next look at it; a machine's loss ends them
        at once, so they are killed too."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        os.kill(pid, signal.SIGKILL)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(child), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(int(p)) for p in [pid, *children]):
            time.sleep(0.05)
        (self.data / "postmaster.pid").unlink(missing_ok=True)

    def promote(self) -> None:
        _run(_bin("pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "promote")

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=USER, password=PASSWORD, dbname=dbname,
                               autocommit=True, connect_timeout=5)

    def log(self) -> str:
        path = self.data / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (our child no more: pg_ctl started it) counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


PRIMARY_SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{sockets}'
wal_level = replica
max_wal_senders = 5
wal_keep_size = '256MB'
hot_standby = on
synchronous_commit = on
max_connections = 300
shared_buffers = '64MB'
fsync = on
"""


class PostgresPair:
    """A primary and its synchronous standby in a temporary directory; `url` names both (libpq multi-host,
    `target_session_attrs=read-write`) so a client always reaches whichever is the primary now."""

    def __init__(self, synchronous: bool = True):
        self.synchronous = synchronous
        self.root = Path(tempfile.mkdtemp(prefix="cunban-pg-pair-"))
        self.primary = Node(self.root / "a", free_port())
        self.standby = Node(self.root / "b", free_port())

    def __enter__(self) -> PostgresPair:
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create(self) -> None:
        sockets = self.root / "sockets"
        sockets.mkdir()
        if os.geteuid() == 0:
            for path in (self.root, sockets):
                shutil.chown(path, SYSTEM_USER)
        _run(_bin("initdb"), "-D", str(self.primary.data), "-U", SYSTEM_USER, "--auth-local=trust",
             "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
        settings = PRIMARY_SETTINGS.format(sockets=sockets)
        self._append(self.primary, f"{settings}port = {self.primary.port}\n", "postgresql.conf")
        self._append(self.primary, "host replication all 127.0.0.1/32 scram-sha-256\n", "pg_hba.conf")
        self.primary.start()
        self.superuser_sql(self.primary, f"CREATE ROLE {USER} LOGIN CREATEDB REPLICATION PASSWORD '{PASSWORD}'",
                           f"GRANT pg_signal_backend TO {USER}")
        _run("env", f"PGPASSWORD={PASSWORD}", _bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary.port),
             "-U", USER, "-D", str(self.standby.data), "-X", "stream", "-R", "-c", "fast", timeout=300)
        # the standby's own port; -R wrote primary_conninfo and standby.signal
        self._append(self.standby, f"port = {self.standby.port}\n", "postgresql.auto.conf")
        self.standby.start()
        if self.synchronous:  # only now: with no standby yet, every commit would wait for one
            self.superuser_sql(self.primary, "ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (*)'",
                               "SELECT pg_reload_conf()")
        self.wait_streaming()

    def wait_streaming(self, timeout: float = 60) -> str:
        """Until the standby streams from the primary (and, synchronous, counts for commits); its state."""
        wanted = {"quorum", "sync"} if self.synchronous else {"async"}
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            row = self.superuser_sql(self.primary, "SELECT state, sync_state FROM pg_stat_replication").split("|")
            state = row[-1].strip()
            if row[0] == "streaming" and state in wanted:
                return state
            time.sleep(0.2)
        raise AssertionError(f"the standby did not stream ({state}): {self.standby.log()}")

    def superuser_sql(self, node: Node, *statements: str) -> str:
        command = [_bin("psql"), "-h", str(self.root / "sockets"), "-p", str(node.port), "-U", SYSTEM_USER, "-qAt",
                   "-v", "ON_ERROR_STOP=1", "-d", "postgres"]
        return _run(*command, *(arg for statement in statements for arg in ("-c", statement)))

    @staticmethod
    def _append(node: Node, text: str, name: str) -> None:
        with open(node.data / name, "a") as f:
            f.write(text)

    def create_database(self, name: str) -> None:
        with self.primary.connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of `database` on whichever node is the primary (SQLAlchemy's form of libpq's
        multi-host list: one `host=` per node)."""
        return (f"postgresql+psycopg://{USER}:{PASSWORD}@/{database}?host=127.0.0.1:{self.primary.port}"
                f"&host=127.0.0.1:{self.standby.port}&target_session_attrs=read-write")

    def fail_over(self, down_seconds: float = 0.0) -> float:
        """kill -9 the primary, then, `down_seconds` later (an operator notices: CloudNativePG's is seconds
        to tens of seconds), promote the standby; the seconds from the kill until the standby takes writes."""
        started = time.monotonic()
        self.primary.kill()
        time.sleep(down_seconds)
        self.standby.promote()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with self.standby.connect() as connection:
                if not connection.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"the standby was not promoted: {self.standby.log()}")

    def close(self) -> None:
        for node in (self.standby, self.primary):
            with contextlib.suppress(Exception):  # already dead or never started: clean up the rest anyway
                node.stop()
        shutil.rmtree(self.root, ignore_errors=True)
