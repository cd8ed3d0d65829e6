"""The system as deployed, watched: every service and the gateway as processes on RabbitMQ + PostgreSQL,
a Prometheus (the OS's package) scraping each of them with the alert rules loaded, some market-day
traffic, then every Grafana panel's query run against that Prometheus and printed with what it returned.

    deploy/scripts/local-servers.sh start          # RabbitMQ, PostgreSQL, Prometheus from Debian's packages
    .venv/bin/python deploy/scripts/observe.py      # add --keep to leave it all running (Ctrl-C stops)

Environment: CUNBAN_TEST_AMQP_URI (default amqp://guest:guest@127.0.0.1:5672//) and CUNBAN_TEST_PG_URL
(default postgresql+psycopg://cunban:cunban@127.0.0.1:5432/postgres). Exits 1 when a panel the dashboards
rely on returned nothing."""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "deploy" / "grafana"))

from dashboards import DASHBOARDS  # noqa: E402

from cunban.registry import SERVICES  # noqa: E402

PASSWORD = "cunban-demo-2026"
PREFIX = "cunban_observe"  # its databases, made afresh and dropped at the end
NEEDED = {"Requests per second by route", "Gateway latency p99 by route", "Entrypoint latency p95 by service",
          "RPC round trips p99 by target service", "Outbox backlog", "Event lag p99 by consumer",
          "Events published and consumed", "Applications received this year", "Applications open, warned, overdue",
          "Complaints open, warned, overdue", "RabbitMQ messages ready"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def databases(admin_url: str, prefix: str, *, create: bool) -> str:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for name in SERVICES:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{prefix}_{name}" WITH (FORCE)'))
            if create:
                connection.execute(text(f'CREATE DATABASE "{prefix}_{name}"'))
    engine.dispose()
    one = make_url(admin_url).set(database=f"{prefix}_directory").render_as_string(hide_password=False)
    return one.replace(f"{prefix}_directory", f"{prefix}_{{service}}")  # a template: {service} per service


def traffic(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        def sign_in(user: str) -> dict[str, str]:
            token = client.post("/auth/login", json={"username": user, "password": PASSWORD}).json()["access_token"]
            return {"Authorization": f"Bearer {token}"}

        agent = sign_in("qs_agent1")
        filing = {"item_code": "YB-002", "channel": "station", "complete_now": True, "result_note": "当场办结",
                  "materials_provided": ["身份证", "户口簿"],
                  "applicant": {"name": "吴十", "phone": "13312345678", "id_card": "430124197506150021",
                                "village_code": "431099101002"}}
        wait(lambda: client.post("/applications", json=filing, headers=agent).status_code == 201, 60,
             "intake to know the demo county")
        for n in range(20):
            client.post("/applications", headers=agent, json={**filing, "complete_now": n % 2 == 0})
            client.get("/applications", headers=agent)
            client.get("/public/townships/431099101/catalogue")
        complaint = {"kind": "dispute", "network": "mediation", "category": "water", "channel": "hotline",
                     "village_code": "431099101006", "description": "灌溉渠被堵",
                     "complainant": {"name": "周九", "phone": "13912340000"}}
        wait(lambda: client.post("/complaints", json=complaint, headers=agent).status_code == 201, 60,
             "complaints to know the demo county")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="leave everything running until Ctrl-C")
    args = parser.parse_args()
    prometheus_binary = shutil.which("prometheus")
    if prometheus_binary is None:
        raise SystemExit("prometheus is not installed: run deploy/scripts/local-servers.sh start")
    amqp = os.environ.get("CUNBAN_TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672//")
    pg_admin = os.environ.get("CUNBAN_TEST_PG_URL", "postgresql+psycopg://cunban:cunban@127.0.0.1:5432/postgres")
    work = Path(tempfile.mkdtemp(prefix="cunban-observe-"))
    gateway_port = free_port()
    env = {"CUNBAN_AMQP_URI": amqp, "CUNBAN_DB_URL": databases(pg_admin, PREFIX, create=True),
           "CUNBAN_HTTP_PORT": str(gateway_port), "CUNBAN_SWEEP_SECONDS": "2", "CUNBAN_OUTBOX_POLL_SECONDS": "0.5"}
    cunban = [sys.executable, "-m", "cunban.cli"]
    ports = {name: free_port() for name in SERVICES}
    processes = [start(cunban + ["run-service", name], {**env, "CUNBAN_METRICS_PORT": str(ports[name])},
                       work / f"{name}.log") for name in SERVICES]
    processes.append(start(cunban + ["gateway"], env, work / "gateway.log"))
    base = f"http://127.0.0.1:{gateway_port}"
    try:
        wait(lambda: all(httpx.get(f"http://127.0.0.1:{p}/metrics", timeout=2).status_code == 200
                         for p in ports.values()), 120, "the services")
        wait(lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, 60, "the gateway")
        subprocess.run(cunban + ["bootstrap"], env={**os.environ, **env}, cwd=ROOT, check=True, capture_output=True)
        subprocess.run(cunban + ["seed-demo"], env={**os.environ, **env}, cwd=ROOT, check=True, capture_output=True)
        shutil.copy(ROOT / "deploy/prometheus/alerts.yml", work / "alerts.yml")
        rabbit = f"{make_url(amqp.replace('amqp://', 'http://')).host}:15692"
        (work / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "2s", "evaluation_interval": "2s"}, "rule_files": ["alerts.yml"],
            "scrape_configs": [
                {"job_name": "cunban-gateway", "static_configs": [{"targets": [f"127.0.0.1:{gateway_port}"]}]},
                {"job_name": "cunban-services", "static_configs": [
                    {"targets": [f"127.0.0.1:{port}"], "labels": {"service": name}} for name, port in ports.items()]},
                {"job_name": "rabbitmq", "static_configs": [{"targets": [rabbit]}]}]}))
        prometheus_port = free_port()
        processes.append(start([prometheus_binary, f"--config.file={work / 'prometheus.yml'}",
                                f"--storage.tsdb.path={work / 'tsdb'}",
                                f"--web.listen-address=127.0.0.1:{prometheus_port}"], {}, work / "prometheus.log"))
        api = f"http://127.0.0.1:{prometheus_port}/api/v1"

        def query(expr: str) -> list:
            return httpx.get(f"{api}/query", params={"query": expr}, timeout=10).json()["data"]["result"]

        wait(lambda: query('up{job="cunban-gateway"} == 1'), 60, "Prometheus to scrape the gateway")
        traffic(base)  # while Prometheus scrapes, so that rates see it

        wait(lambda: query("cunban_event_lag_seconds_count") and query("rabbitmq_queue_messages_ready"), 90,
             "Prometheus to scrape")
        time.sleep(4)  # a few more scrapes after the last request
        empty = []
        print(f"{'dashboard':<40} {'panel':<42} series  largest value")
        for dashboard in DASHBOARDS.values():
            for panel in dashboard["panels"]:
                for target in panel["targets"]:
                    result = query(target["expr"].replace("$township", ".*"))
                    values = [float(r["value"][1]) for r in result if r["value"][1] != "NaN"]
                    largest = f"{max(values):.4g}" if values else ("NaN" if result else "-")
                    print(f"{dashboard['title']:<40} {panel['title'][:42]:<42} {len(result):>6}  {largest}")
                    if panel["title"] in NEEDED and not result:
                        empty.append(panel["title"])
        rules = httpx.get(f"{api}/rules", timeout=10).json()["data"]["groups"]
        print(f"alert rules loaded: {sum(len(g['rules']) for g in rules)}; firing: "
              f"{[r['name'] for g in rules for r in g['rules'] if r.get('state') == 'firing'] or 'none'}")
        print(f"Prometheus: http://127.0.0.1:{prometheus_port}  gateway: {base}  logs: {work}")
        if args.keep:
            signal.pause()
        if empty:
            print(f"no data for: {sorted(set(empty))}", file=sys.stderr)
            return 1
        return 0
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        databases(pg_admin, PREFIX, create=False)


if __name__ == "__main__":
    sys.exit(main())
