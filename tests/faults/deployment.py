"""The system as deployed for the fault-injection suite: every service its own process on RabbitMQ +
PostgreSQL, the gateway apart, each process killable with SIGKILL and restartable; and the two servers
themselves restartable from under it."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import Engine, create_engine

from cunban.registry import SERVICES
from tests.support import CUNBAN, ROOT, Process, free_port, wait_healthy, wait_until

GATEWAY = "gateway"


def _as_root(command: list[str]) -> list[str]:
    return command if os.geteuid() == 0 else ["sudo", "-n", *command]


class Deployment:
    """Six services and a gateway, started, killed and restarted by name."""

    def __init__(self, amqp_uri: str, db_template: str, log_dir: Path, env: dict[str, str] | None = None):
        self.amqp_uri, self.db_template, self.log_dir = amqp_uri, db_template, log_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        # the gateway's audit spool on a path every incarnation of it shares, as a volume would
        self.audit_spool = log_dir / "gateway-audit.jsonl"
        self.env = {"CUNBAN_AMQP_URI": amqp_uri, "CUNBAN_DB_URL": db_template, "CUNBAN_HTTP_PORT": str(self.port),
                    "CUNBAN_AUDIT_SPOOL": str(self.audit_spool), **(env or {})}
        self.metrics_ports = {name: free_port() for name in SERVICES}
        self.processes: dict[str, Process] = {}
        self.incarnations: dict[str, int] = {}
        self.held_down: set[str] = set()  # stopped or killed on purpose: not restarted by supervise()
        self.restarts: list[tuple[str, int | None]] = []  # processes that exited by themselves, with their code
        self._supervising = threading.Event()
        self._engines: dict[str, Engine] = {}

    # ---- processes --------------------------------------------------------------------------------------
    def start(self, name: str) -> Process:
        self.incarnations[name] = self.incarnations.get(name, 0) + 1
        log = self.log_dir / f"{name}.{self.incarnations[name]}.log"
        if name == GATEWAY:
            process = Process(["gateway"], self.env, log)
        else:
            process = Process(["run-service", name], {**self.env, "CUNBAN_METRICS_PORT": str(self.metrics_ports[name])},
                              log)
        self.processes[name] = process
        return process

    def audit_spooled(self) -> int:
        """Bytes of audit entries the gateway holds that the broker has not confirmed (0 once all went)."""
        return self.audit_spool.stat().st_size if self.audit_spool.exists() else 0

    def wait_up(self, name: str, timeout: float = 90) -> None:
        process = self.processes[name]
        if name == GATEWAY:
            wait_healthy(self.base_url, process, timeout)
            return
        url = f"http://127.0.0.1:{self.metrics_ports[name]}/metrics"
        wait_until(lambda: httpx.get(url, timeout=2).status_code == 200, timeout, f"{name}'s metrics", process)

    def start_all(self) -> None:
        for name in [*SERVICES, GATEWAY]:
            self.start(name)
        for name in [*SERVICES, GATEWAY]:
            self.wait_up(name)

    def supervise(self) -> None:
        """Restart a process that exited by itself, as docker-compose's `restart: unless-stopped` and
        Kubernetes do; each such restart is recorded."""
        self._supervising.set()

        def watch() -> None:
            while self._supervising.is_set():
                for name, process in list(self.processes.items()):
                    if name not in self.held_down and not process.alive():
                        self.restarts.append((name, process.proc.returncode))
                        process.stop()
                        self.start(name)
                time.sleep(0.5)

        threading.Thread(target=watch, daemon=True).start()

    def stop(self, name: str) -> int:
        """SIGTERM, as an orchestrator stops a process; held down until restart()."""
        self.held_down.add(name)
        return self.processes[name].stop()

    def kill(self, name: str) -> None:
        """kill -9: no shutdown handler runs, in-flight work and unacknowledged messages are left as they are."""
        self.held_down.add(name)
        process = self.processes[name]
        os.killpg(process.proc.pid, signal.SIGKILL)
        process.proc.wait(timeout=10)
        process.stop()  # closes the log

    def restart(self, name: str) -> None:
        self.start(name)
        self.held_down.discard(name)
        self.wait_up(name)

    def stop_all(self) -> dict[str, int]:
        self._supervising.clear()
        self.held_down.update(self.processes)
        codes = {name: process.stop() for name, process in self.processes.items()}
        for engine in self._engines.values():
            engine.dispose()
        return codes

    def cli(self, *args: str) -> str:
        result = subprocess.run([*CUNBAN, *args], cwd=ROOT, env={**os.environ, **self.env},
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def logs(self, name: str) -> str:
        return "\n".join((self.log_dir / f"{name}.{n}.log").read_text(errors="replace")[-3000:]
                         for n in range(1, self.incarnations.get(name, 0) + 1))

    # ---- the databases, read directly (what was stored, not what was said) ------------------------------------
    def engine(self, service: str) -> Engine:
        if service not in self._engines:
            self._engines[service] = create_engine(self.db_template.replace("{service}", service),
                                                   pool_pre_ping=True, pool_size=2)
        return self._engines[service]


# ---- the servers beneath -------------------------------------------------------------------------------------

def restart_rabbitmq(down_seconds: float = 2.0) -> None:
    """Stop the RabbitMQ application (every connection drops) and start it again; durable queues and
    persistent messages survive it, as they survive a node restart."""
    subprocess.run(_as_root(["rabbitmqctl", "-q", "stop_app"]), check=True, capture_output=True, timeout=120)
    time.sleep(down_seconds)
    subprocess.run(_as_root(["rabbitmqctl", "-q", "start_app"]), check=True, capture_output=True, timeout=120)
    subprocess.run(_as_root(["rabbitmqctl", "-q", "await_startup"]), check=True, capture_output=True, timeout=120)


def restart_postgresql() -> None:
    """Restart the PostgreSQL cluster (fast shutdown: every session is cut, open transactions roll back)."""
    clusters = subprocess.run(["pg_lsclusters", "-h"], check=True, capture_output=True, text=True).stdout.split()
    version, cluster = clusters[0], clusters[1]
    subprocess.run(_as_root(["pg_ctlcluster", version, cluster, "restart", "-m", "fast"]), check=True,
                   capture_output=True, timeout=120)
