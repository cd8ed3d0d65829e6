"""The system as deployed: each service its own process on RabbitMQ + PostgreSQL, the gateway apart;
and `cunban up` pointed at the same servers. Both run the code the embedded system runs."""
from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.support import ROOT, Process, free_port, login, wait_healthy, wait_until

pytestmark = pytest.mark.integration


def _cli(args: list[str], env: dict[str, str]) -> str:
    import os

    result = subprocess.run([sys.executable, "-m", "cunban.cli", *args], cwd=ROOT, env={**os.environ, **env},
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _db_template(pg_database) -> str:
    url = pg_database("directory")  # the database of the one service there is; {service} picks it
    return url.replace("_directory", "_{service}")


def test_services_and_gateway_as_separate_processes(amqp_uri, pg_database, tmp_path):
    gateway_port, metrics_port = free_port(), free_port()
    env = {"CUNBAN_AMQP_URI": amqp_uri, "CUNBAN_DB_URL": _db_template(pg_database),
           "CUNBAN_HTTP_PORT": str(gateway_port), "CUNBAN_METRICS_PORT": str(metrics_port)}
    service = Process(["run-service", "directory"], env, tmp_path / "directory.log")
    gateway = Process(["gateway"], env, tmp_path / "gateway.log")
    base = f"http://127.0.0.1:{gateway_port}"
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).status_code == 200,
                   90, "the service's metrics endpoint", service)
        wait_healthy(base, gateway)
        assert "official calendar days added" in _cli(["bootstrap"], env)
        assert _cli(["seed-demo"], env).strip() == "demo county loaded"
        assert _cli(["seed-demo"], env).strip() == "demo county already present"
        with httpx.Client(base_url=base, timeout=30) as client:
            assert client.get("/readyz").json() == {"status": "ready"}
            assert len(client.get("/public/townships/431099103/catalogue").json()) == 10
            supervisor = login(client, "lk_supervisor")
            assert [t["code"] for t in client.get("/townships", headers=supervisor).json()] == ["431099103"]
            assert client.get("/townships/431099101", headers=supervisor).status_code == 404
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        assert 'cunban_entrypoint_calls_total{entrypoint="create_township",outcome="ok",service="directory"}' in text
    finally:
        gateway.stop()
        assert service.stop() == 0, service.log()[-3000:]


def test_cunban_up_runs_on_rabbitmq_and_postgresql(amqp_uri, pg_database, tmp_path):
    port = free_port()
    process = Process(["up", "--port", str(port), "--amqp-uri", amqp_uri, "--db-url", _db_template(pg_database)],
                      {}, tmp_path / "up.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process, timeout=120)
        with httpx.Client(base_url=base, timeout=30) as client:
            admin = login(client, "admin")
            assert len(client.get("/townships", headers=admin).json()) == 3
            assert client.get("/readyz").json() == {"status": "ready"}
    finally:
        assert process.stop() == 0, process.log()[-3000:]


def test_the_gateway_reports_not_ready_without_a_broker(tmp_path):
    port = free_port()
    dead_broker = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    gateway = Process(["gateway"], {"CUNBAN_AMQP_URI": dead_broker, "CUNBAN_HTTP_PORT": str(port)},
                      tmp_path / "gateway.log")
    try:
        wait_healthy(f"http://127.0.0.1:{port}", gateway)
        response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30)
        assert response.status_code == 503 and response.json()["error"]["code"] == "broker_unavailable"
        response = httpx.get(f"http://127.0.0.1:{port}/public/townships/431099101/catalogue", timeout=30)
        assert response.status_code == 503
    finally:
        gateway.stop()
