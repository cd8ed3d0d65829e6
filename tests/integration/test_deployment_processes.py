"""The system as deployed: each service its own process on RabbitMQ + PostgreSQL, the gateway apart;
and `cunban up` pointed at the same servers. Both run the code the embedded system runs."""
from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from cunban.registry import SERVICES, service_class
from shared.clock import utcnow
from shared.contracts.envelope import EventEnvelope
from shared.copies import KeepsVillages
from shared.messaging import EventPublisher
from tests.support import ROOT, Process, database_template, free_port, login, wait_healthy, wait_until

pytestmark = pytest.mark.integration


def _cli(args: list[str], env: dict[str, str]) -> str:
    import os

    result = subprocess.run([sys.executable, "-m", "cunban.cli", *args], cwd=ROOT, env={**os.environ, **env},
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_services_and_gateway_as_separate_processes(amqp_uri, pg_database, tmp_path):
    gateway_port, metrics_port = free_port(), free_port()
    env = {"CUNBAN_AMQP_URI": amqp_uri, "CUNBAN_DB_URL": database_template(pg_database),
           "CUNBAN_HTTP_PORT": str(gateway_port), "CUNBAN_METRICS_PORT": str(metrics_port)}
    metrics_ports = {name: (metrics_port if name == "directory" else free_port()) for name in SERVICES}
    services = {name: Process(["run-service", name], {**env, "CUNBAN_METRICS_PORT": str(metrics_ports[name])},
                              tmp_path / f"{name}.log") for name in SERVICES}
    service = services["directory"]
    gateway = Process(["gateway"], env, tmp_path / "gateway.log")
    base = f"http://127.0.0.1:{gateway_port}"
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).status_code == 200,
                   90, "the service's metrics endpoint", service)
        wait_healthy(base, gateway)
        # the image's entrypoint and healthcheck commands, against the real servers and processes
        assert _cli(["wait", "--service", "intake", "--timeout", "30"], env).split("\n")[:2] == [
            "the broker is up", "the intake database is up"]
        _cli(["healthcheck"], env)  # the gateway's /healthz on CUNBAN_HTTP_PORT
        assert "official calendar days added" in _cli(["bootstrap"], env)
        assert _cli(["seed-demo"], env).strip() == "demo county loaded"
        assert _cli(["seed-demo"], env).strip() == "demo county already present"
        with httpx.Client(base_url=base, timeout=30) as client:
            assert client.get("/readyz").json() == {"status": "ready"}
            assert len(client.get("/public/townships/431099103/catalogue").json()) == 10
            supervisor = login(client, "lk_supervisor")
            assert [t["code"] for t in client.get("/townships", headers=supervisor).json()] == ["431099103"]
            assert client.get("/townships/431099101", headers=supervisor).status_code == 404
            # intake fills its read model from the directory's events, then files against it
            agent = login(client, "lk_agent1")
            filing = {"item_code": "WT-005", "channel": "station", "materials_provided": ["活动说明"],
                      "applicant": {"name": "钱七", "phone": "13512345678", "id_card": "430124197506150021",
                                    "village_code": "431099103002"}}
            response = wait_until(lambda: (r := client.post("/applications", json=filing, headers=agent))
                                  .status_code == 201 and r, 60, "intake's read model to fill", services["intake"])
            assert response.json()["receipt_no"].startswith("431099103-")
            # a complaint on its own service and database, dispatched and signed for
            complaint = {"kind": "dispute", "network": "mediation", "category": "land", "channel": "hotline",
                         "village_code": "431099103002", "description": "山林界址纠纷",
                         "complainant": {"name": "孙八", "phone": "13712345678"}}
            registered = wait_until(lambda: (r := client.post("/complaints", json=complaint, headers=agent))
                                    .status_code == 201 and r.json(), 60, "complaints' read model to fill",
                                    services["complaints"])
            ref = registered["complaint"]["receipt_no"]
            cadre = login(client, "lk_cadre1")
            me = client.get("/auth/me", headers=cadre).json()["id"]
            assigned = client.post(f"/complaints/{ref}/actions", json={"action": "assign", "staff_id": me},
                                   headers=supervisor)
            assert assigned.status_code == 200, assigned.text
            signed = client.post(f"/complaints/{ref}/actions", json={"action": "sign"}, headers=cadre).json()
            assert signed["status"] == "signed" and signed["complainant_name"] == "孙八"
            # evaluation counts the filing from intake's event, across the broker
            counted = wait_until(lambda: client.get("/figures", headers=supervisor, params={
                "level": "township", "unit": "431099103"}).json()["counts"]["received"] >= 1, 60,
                "evaluation to count the filing", services["evaluation"])
            assert counted
            # the audit log: the filing's entry crosses the broker into the directory's PostgreSQL table,
            # which refuses to change it; a signed-out token is refused at once
            admin = login(client, "admin")
            entries = wait_until(lambda: client.get("/audit-log", headers=admin, params={
                "action": "file_application"}).json(), 30, "the filing's audit entry", services["directory"])
            assert entries[0]["username"] == "lk_agent1" and entries[0]["outcome"] == 201
            engine = create_engine(env["CUNBAN_DB_URL"].replace("{service}", "directory"))
            try:
                with engine.begin() as connection, pytest.raises(DBAPIError, match="append-only"):
                    connection.execute(text("DELETE FROM audit_log"))
            finally:
                engine.dispose()
            assert client.post("/auth/logout", headers=agent).status_code == 204
            assert client.get("/auth/me", headers=agent).json()["error"]["code"] == "session_ended"
            # a malformed event is retried, then kept as a dead letter by every service that keeps villages
            # (dead letters are the system administrator's)
            sysadmin = login(client, "sysadmin")
            poison = EventEnvelope(source="directory", type="village_changed", occurred_at=utcnow(),
                                   payload={"code": "not-a-village"}).model_dump(mode="json")
            EventPublisher(amqp_uri, "directory")(poison)
            # each service that keeps a copy of the villages tries three times, then keeps it
            keepers = {name for name in SERVICES if issubclass(service_class(name), KeepsVillages)}
            assert {"intake", "scheduling", "complaints", "notifications"} <= keepers
            letters = wait_until(lambda: (found := [d for d in client.get("/dead-letters", headers=sysadmin).json()
                                                    if d["event_id"] == poison["event_id"]])
                                 and {d["service"] for d in found} == keepers and found, 30, "the dead letters",
                                 services["intake"])
            assert all(d["attempts"] == 3 and "KeyError" in d["error"] for d in letters)
            assert poison["event_id"] in _cli(["dlq", "list", "--service", "intake"], env)
            replayed = client.post("/dead-letters/replay", headers=sysadmin, json={"service": "intake"}).json()
            assert replayed[0]["replayed"] == [] and len(replayed[0]["failed"]) == 1  # still malformed
            # the relay refreshes its gauges at most once a second
            wait_until(lambda: 'cunban_dead_letters_waiting{service="intake"} 1.0' in httpx.get(
                f"http://127.0.0.1:{metrics_ports['intake']}/metrics", timeout=5).text, 10,
                "the dead-letter gauge", services["intake"])
        text_ = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        assert 'cunban_entrypoint_calls_total{entrypoint="create_township",outcome="ok",service="directory"}' in text_
    finally:  # every process stopped before any is judged: one that hangs leaves none running on
        gateway.stop()
        codes = {name: process.stop() for name, process in services.items()}
    assert codes == dict.fromkeys(services, 0), {name: services[name].log()[-6000:] for name, code in codes.items()
                                                  if code != 0}
    for process in services.values():  # each said it stopped, and how soon (cunban/stopping.py)
        assert " service stopped in " in process.log(), process.log()[-3000:]
    for process in (gateway, *services.values()):  # as deployed, each process writes JSON lines only
        for line in process.log().splitlines():
            assert isinstance(json.loads(line), dict), (process.log_path.name, line)


def test_cunban_up_runs_on_rabbitmq_and_postgresql(amqp_uri, pg_database, tmp_path):
    port = free_port()
    process = Process(["up", "--port", str(port), "--amqp-uri", amqp_uri, "--db-url", database_template(pg_database)],
                      {"CUNBAN_DATA_DIR": str(tmp_path)}, tmp_path / "up.log")  # its own data dir (the lock)
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
