"""Two gateway processes on one broker, with their default settings (a checked session or key remembered
for 10 s): an end of access made through one is refused by the other at once, not 10 s later."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from cunban.registry import SERVICES
from tests.support import ROOT, Process, database_template, free_port, login, wait_healthy, wait_until

pytestmark = pytest.mark.integration
QS, STATION = "431099101", "ST431099101001"
AT_ONCE = 5.0  # seconds: well inside the 10 s a gateway otherwise trusts what it checked (a loaded machine)


def _refused_at_once(client: httpx.Client, headers: dict[str, str], started: float) -> float:
    """Seconds from `started` until `client` refuses `headers` (401); fails past AT_ONCE."""
    while True:
        status = client.get("/auth/me", headers=headers).status_code
        elapsed = time.monotonic() - started
        if status == 401:
            return elapsed
        assert status == 200, status
        assert elapsed < AT_ONCE, f"still admitted {elapsed:.1f} s after the end of access"
        time.sleep(0.1)


def test_an_end_of_access_made_through_one_gateway_holds_at_once_on_the_other(amqp_uri, pg_database, tmp_path):
    env = {"CUNBAN_AMQP_URI": amqp_uri, "CUNBAN_DB_URL": database_template(pg_database),
           "CUNBAN_ADMIN_PASSWORD": "admin-password-1"}
    assert "directory" in SERVICES
    directory = Process(["run-service", "directory"], {**env, "CUNBAN_METRICS_PORT": str(free_port())},
                        tmp_path / "directory.log")
    ports = free_port(), free_port()
    gateways = [Process(["gateway"], {**env, "CUNBAN_HTTP_PORT": str(port), "CUNBAN_METRICS_PORT": str(free_port()),
                                      "CUNBAN_AUDIT_SPOOL": str(tmp_path / f"gateway-{n}-audit.jsonl")},
                        tmp_path / f"gateway-{n}.log") for n, port in enumerate(ports)]
    try:
        for port, gateway in zip(ports, gateways, strict=True):
            wait_healthy(f"http://127.0.0.1:{port}", gateway)
            wait_until(lambda g=gateway: "listening for ends of access" in g.log(), 30, "the access listener", gateway)
        subprocess.run([sys.executable, "-m", "cunban.cli", "bootstrap"], cwd=ROOT, env={**os.environ, **env},
                       check=True, capture_output=True, timeout=180)
        with httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", timeout=30) as a, \
                httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}", timeout=30) as b:
            admin = login(a, "sysadmin", "admin-password-1")
            for path, body in (("/townships", {"code": QS, "name": "青石镇"}),
                               ("/villages", {"code": f"{QS}001", "township_code": QS, "name": "石门村"}),
                               ("/stations", {"code": STATION, "village_code": f"{QS}001", "name": "石门村服务站"})):
                assert a.post(path, headers=admin, json=body).status_code == 201
            agent = a.post("/staff", headers=admin, json={
                "username": "qs_agent1", "full_name": "代办员", "role": "village_agent", "township_code": QS,
                "station_code": STATION, "password": "agent-password-1"}).json()

            def new_key() -> tuple[int, dict[str, str]]:
                issued = a.post(f"/stations/{STATION}/keys", headers=admin,
                                json={"staff_id": agent["id"], "label": "自助终端"}).json()
                return issued["id"], {"X-API-Key": issued["key"]}

            # a revoked key
            key_id, key = new_key()
            assert b.get("/auth/me", headers=key).status_code == 200  # b now remembers it
            assert a.post(f"/station-keys/{key_id}/revoke", headers=admin).status_code == 200
            _refused_at_once(b, key, time.monotonic())
            # a rotated key: the old one refused at once, the new one admitted
            key_id, key = new_key()
            assert b.get("/auth/me", headers=key).status_code == 200
            rotated = a.post(f"/station-keys/{key_id}/rotate", headers=admin).json()
            _refused_at_once(b, key, time.monotonic())
            assert b.get("/auth/me", headers={"X-API-Key": rotated["key"]}).status_code == 200
            # a signed-out token
            token = login(a, "qs_agent1", "agent-password-1")
            assert b.get("/auth/me", headers=token).status_code == 200
            assert a.post("/auth/logout", headers=token).status_code == 204
            _refused_at_once(b, token, time.monotonic())
            # a disabled account: its token and its key, and enabling it again brings back neither
            token = login(a, "qs_agent1", "agent-password-1")
            key = {"X-API-Key": rotated["key"]}
            assert b.get("/auth/me", headers=token).status_code == 200
            assert b.get("/auth/me", headers=key).status_code == 200
            assert a.patch(f"/staff/{agent['id']}", headers=admin, json={"active": False}).status_code == 200
            started = time.monotonic()
            _refused_at_once(b, token, started)
            _refused_at_once(b, key, started)
            assert a.patch(f"/staff/{agent['id']}", headers=admin, json={"active": True}).status_code == 200
            for client in (a, b):
                assert client.get("/auth/me", headers=key).status_code == 401
                assert client.get("/auth/me", headers=token).status_code == 401
            assert "access_revoked" in httpx.get(f"http://127.0.0.1:{ports[1]}/metrics", timeout=5).text
    finally:
        for gateway in gateways:
            gateway.stop()
        assert directory.stop() == 0, directory.log()[-3000:]
