"""A RabbitMQ node dies under market-day traffic. Three nodes of a cluster of the test's own run on this
machine; every service and the gateway get all three in CUNBAN_AMQP_URI; stations file, act on cases and
rate while the node leading the busiest quorum queues is killed with SIGKILL and, a little later, started
again. Once the system has caught up by itself: every acknowledged filing is in intake and approvals once
and counted once in evaluation, nothing is doubled, every event reached every consumer, and no dead letter
is left (tests/faults/invariants.py, as in the rest of the suite).

The figures (acknowledged, lost, doubled, time to recover) are printed; docs/RELIABILITY.md records a run."""
from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from tests.faults.cluster import RabbitCluster
from tests.faults.deployment import Deployment
from tests.faults.invariants import check, wait_for_quiescence
from tests.faults.test_faults import SETTLE_SECONDS, WARM_UP
from tests.faults.traffic import Ledger, Traffic
from tests.support import database_template, fresh_databases, login, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.faults]

VHOST = "cunban"
TRAFFIC_SECONDS = 6.0  # of traffic before the kill, and again once the node is back
DOWN_SECONDS = 8.0  # how long the node stays dead, traffic going on


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[RabbitCluster]:
    cluster = RabbitCluster(tmp_path_factory.mktemp("rabbit-cluster"))
    try:
        cluster.start()
        cluster.add_vhost(VHOST)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def deployment(servers, cluster, tmp_path_factory) -> Iterator[Deployment]:
    with fresh_databases(servers) as make_database:
        deployment = Deployment(cluster.amqp_uris(VHOST), database_template(make_database),
                                tmp_path_factory.mktemp("node-loss"), env={
                                    "CUNBAN_CLIENT_REQUESTS_PER_MINUTE": "1000000",
                                    "CUNBAN_ACCOUNT_REQUESTS_PER_MINUTE": "1000000",
                                    "CUNBAN_RPC_TIMEOUT_SECONDS": "5"})
        try:
            deployment.start_all()
            deployment.supervise()
            deployment.cli("bootstrap")
            deployment.cli("seed-demo")
            with httpx.Client(base_url=deployment.base_url, timeout=30) as client:
                quiet_off = client.put("/notifications/settings/431099", headers=login(client, "admin"),
                                       json={"quiet_start": "00:00", "quiet_end": "00:00"})
                assert quiet_off.status_code == 200, quiet_off.text
                agent = {**login(client, "lk_agent1"), "Idempotency-Key": "warm-up-filing"}
                wait_until(lambda: client.post("/applications", headers=agent, json=WARM_UP).status_code == 201,
                           60, "intake's read model")
            yield deployment
        finally:
            print(json.dumps(deployment.stop_all()))


def published(cluster: RabbitCluster) -> dict[str, int]:
    """How many messages each quorum queue has taken so far."""
    return {q["name"]: q.get("message_stats", {}).get("publish", 0) for q in cluster.queues(VHOST)
            if q.get("type") == "quorum"}


def busiest_leader(cluster: RabbitCluster, before: dict[str, int]) -> tuple[str, list[str]]:
    """The node that leads most of the five quorum queues that took the most messages since `before`."""
    queues = [q for q in cluster.queues(VHOST) if q.get("type") == "quorum"]
    taken = {q["name"]: q.get("message_stats", {}).get("publish", 0) - before.get(q["name"], 0) for q in queues}
    top = sorted(queues, key=lambda q: taken[q["name"]], reverse=True)[:5]
    leader, _ = Counter(q["leader"] for q in top).most_common(1)[0]
    return leader, [f"{q['name']} ({taken[q['name']]})" for q in top if q["leader"] == leader]


def test_killing_the_node_that_leads_the_busiest_queues_loses_and_doubles_nothing(cluster, deployment):
    queues = cluster.queues(VHOST)
    durable = [q for q in queues if q["durable"] and not q["name"].startswith("rpc.reply-")]
    assert durable and all(q["type"] == "quorum" for q in durable), [(q["name"], q["type"]) for q in durable]
    assert all(len(q.get("members", [])) == 3 for q in durable)

    ledger = Ledger()
    before = published(cluster)
    with Traffic(deployment.base_url, ledger, stations=3, seed=24):
        time.sleep(TRAFFIC_SECONDS)
        leader, led = busiest_leader(cluster, before)
        victim = cluster.node_named(leader)
        acknowledged_at_kill = len(ledger.acknowledged_filings())
        killed_at = time.monotonic()
        cluster.kill(victim)
        # recovered: the first filing acknowledged after the kill (the stations kept sending throughout)
        wait_until(lambda: len(ledger.acknowledged_filings()) > acknowledged_at_kill + 1, 120,
                   "a filing acknowledged with the node dead")
        recovered = time.monotonic() - killed_at
        time.sleep(max(0.0, DOWN_SECONDS - recovered))
        cluster.start_node(victim)
        cluster.wait_all_running()
        time.sleep(TRAFFIC_SECONDS)
    caught_up = wait_for_quiescence(deployment, cluster.api(cluster.live()), VHOST)
    report = check(deployment, ledger)
    deadline = time.monotonic() + SETTLE_SECONDS  # the management API samples queue lengths now and then
    while report.violations and time.monotonic() < deadline:
        time.sleep(2.0)
        wait_for_quiescence(deployment, cluster.api(cluster.live()), VHOST)
        report = check(deployment, ledger)
    report.counts |= {"restarts": len(deployment.restarts)}
    print(f"\nnode loss: killed {leader} (leader of {', '.join(led)}: messages taken in the traffic before); "
          f"first filing acknowledged "
          f"{recovered:.1f} s after the kill; caught up {caught_up:.1f} s after the traffic\n{report.line()}\n"
          f"answers: {dict(ledger.statuses)}")
    assert not report.violations, report.line() + "\n" + "\n".join(report.violations)
    assert report.counts["filings_acknowledged"] > acknowledged_at_kill
    assert report.counts["applications_lost"] == 0 == report.counts["applications_doubled"]
