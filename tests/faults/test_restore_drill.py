"""The restore drill, on a PostgreSQL server of its own: market-day traffic; `cunban backup` taken while it
runs, with evaluation down (what it has not applied waits in its queues, and is applied after the set is
taken); more traffic; the server lost with its files, and the services' queues with it (what they held
belongs to the time after the backup); `cunban restore`, the services started again and `cunban
reconcile`. Then, once the system has caught up: everything the gateway acknowledged before the backup
began is there, nothing is doubled, every event each service recorded reached every consumer once
(evaluation's missed ones only through the reconciliation), no dead letter, and evaluation's figures equal
a recount from its log. What was acknowledged after the backup is gone with the lost server (the backup
schedule is the most a compose installation can lose; CloudNativePG's WAL archive narrows it to seconds):
counted in the report, as the timings are (docs/RELIABILITY.md records a run)."""
from __future__ import annotations

import copy
import json
import re
import shutil
import time
from urllib.parse import quote

import httpx
import pytest

from cunban.registry import SERVICES
from tests.faults.deployment import GATEWAY, Deployment
from tests.faults.invariants import _rows, check, wait_for_quiescence
from tests.faults.test_faults import WARM_UP
from tests.faults.traffic import Ledger, Traffic
from tests.private_postgres import private_postgres
from tests.support import fresh_vhost, login, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.faults]

TRAFFIC_SECONDS = 6.0
# down when the backup is taken: what it had not applied then is in no database of the set, and after the
# restore only `cunban reconcile` brings it back
BEHIND = "evaluation"
TOTALS = "SELECT level, unit, day, metric, records, total FROM daily_totals ORDER BY 1, 2, 3, 4"


def _purge_event_queues(rabbit_api: str, vhost: str) -> int:
    """What the services had not yet consumed when the server was lost came from after the backup."""
    url = httpx.URL(rabbit_api)
    auth = (url.username or "guest", url.password or "guest")
    base = f"{url.scheme}://{url.host}:{url.port}/api/queues/{quote(vhost, safe='')}"
    purged = 0
    for queue in httpx.get(base, auth=auth, timeout=10).json():
        if queue["name"].startswith("evt-"):
            purged += queue.get("messages", 0)
            httpx.delete(f"{base}/{quote(queue['name'], safe='')}/contents", auth=auth, timeout=10).raise_for_status()
    return purged


def _waiting(rabbit_api: str, vhost: str, service: str) -> int:
    url = httpx.URL(rabbit_api)
    queues = httpx.get(f"{url.scheme}://{url.host}:{url.port}/api/queues/{quote(vhost, safe='')}",
                       auth=(url.username or "guest", url.password or "guest"), timeout=10).json()
    return sum(q.get("messages", 0) for q in queues if q["name"].startswith("evt-") and f"--{service}." in q["name"])


def _warm_up(deployment: Deployment) -> None:
    with httpx.Client(base_url=deployment.base_url, timeout=30) as client:
        quiet_off = client.put("/notifications/settings/431099", headers=login(client, "admin"),
                               json={"quiet_start": "00:00", "quiet_end": "00:00"})
        assert quiet_off.status_code == 200, quiet_off.text
        agent = {**login(client, "lk_agent1"), "Idempotency-Key": "warm-up-filing"}

        def file_one() -> bool:
            response = client.post("/applications", headers=agent, json=WARM_UP)
            assert response.status_code == 201, response.text
            return True

        wait_until(file_one, 60, "intake's read model")


@pytest.mark.timeout(900)  # several minutes on a busy machine: each phase waits for the system
def test_a_lost_server_restored_from_a_backup_taken_under_traffic_is_whole_again(servers, tmp_path):
    timings: dict[str, float] = {}
    with private_postgres() as server, fresh_vhost(servers) as (amqp_uri, vhost):
        for name in SERVICES:
            server.create_database(f"cunban_{name}")
        template = server.url.rsplit("/", 1)[0] + "/cunban_{service}"
        deployment = Deployment(amqp_uri, template, tmp_path, env={
            "CUNBAN_CLIENT_REQUESTS_PER_MINUTE": "1000000", "CUNBAN_ACCOUNT_REQUESTS_PER_MINUTE": "1000000",
            "CUNBAN_RPC_TIMEOUT_SECONDS": "5"})
        store = tmp_path / "backups"
        try:
            deployment.start_all()
            deployment.cli("bootstrap")
            deployment.cli("seed-demo")
            _warm_up(deployment)
            ledger = Ledger()
            with Traffic(deployment.base_url, ledger, stations=3, seed=1):
                time.sleep(TRAFFIC_SECONDS)
                deployment.stop(BEHIND)
                wait_until(lambda: _waiting(servers[1], vhost, BEHIND), 60, f"events waiting for {BEHIND}")
                with ledger.lock:  # what the system had promised when the backup began
                    # (not the audit: an entry of a write answered just before may reach the directory after)
                    promised = copy.deepcopy(Ledger(filings=ledger.filings, complaints=ledger.complaints,
                                                    actions=ledger.actions, ratings=ledger.ratings,
                                                    keyless=ledger.keyless))
                started = time.monotonic()
                deployment.cli("backup", "--to", str(store))
                timings["backup_seconds"] = time.monotonic() - started
                deployment.restart(BEHIND)  # it catches up on what waited: applied after the set was taken
                time.sleep(TRAFFIC_SECONDS)
            acknowledged_after = len(ledger.acknowledged_filings()) - len(promised.acknowledged_filings())

            # the server is lost, files and all, while the services run
            server.stop("immediate")
            shutil.rmtree(server.data)
            for name in [GATEWAY, *SERVICES]:
                deployment.stop(name)
            purged = _purge_event_queues(servers[1], vhost)

            started = time.monotonic()
            deployment.cli("restore", "--from", str(store), "--pgdata", str(server.data))
            server.start()  # replays the backup's WAL
            timings["restore_seconds"] = time.monotonic() - started
            started = time.monotonic()
            for name in [*SERVICES, GATEWAY]:
                deployment.start(name)
            for name in [*SERVICES, GATEWAY]:
                deployment.wait_up(name)
            timings["services_up_seconds"] = time.monotonic() - started
            started = time.monotonic()
            reconciled = deployment.cli("reconcile", "--no-rebuild", "--wait", "120")
            timings["reconcile_seconds"] = time.monotonic() - started
            timings["caught_up_seconds"] = wait_for_quiescence(deployment, servers[1], vhost)

            report = check(deployment, promised)
            counted = _rows(deployment, "evaluation", TOTALS)
            deployment.cli("rebuild-figures")
            recounted = _rows(deployment, "evaluation", TOTALS)
            republished = int(re.search(r"(\d+) set to be published again", reconciled).group(1))
            print("\nrestore drill: " + json.dumps({
                **{k: round(v, 1) for k, v in timings.items()}, **report.counts,
                "acknowledged_after_the_backup": acknowledged_after, "queued_events_purged": purged,
                "events_republished_by_reconcile": republished,
                "set_bytes": sum(f["bytes"] for m in store.glob("*/manifest.json")
                                 for f in json.loads(m.read_text())["files"].values())}))
            assert not report.violations, f"{report.line()}\n" + "\n".join(report.violations) + f"\n{reconciled}"
            assert "no longer has" not in reconciled  # one moment for every database: no consumer ahead
            assert republished > 0  # what evaluation lacked came back by the reconciliation
            assert counted == recounted
            assert report.counts["filings_acknowledged"] > 0
        finally:
            deployment.stop_all()
