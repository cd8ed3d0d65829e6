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

import pytest

from tests.faults.cluster import RabbitCluster
from tests.faults.deployment import Deployment
from tests.faults.test_faults import REPORTS, SYSTEM_ENV, System, start_with_the_demo_county
from tests.faults.traffic import Ledger
from tests.support import database_template, fresh_databases, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.faults]

VHOST = "cunban"
TRAFFIC_SECONDS = 3.5  # of traffic before the kill, beside the round's own
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
def system(servers, cluster, tmp_path_factory) -> Iterator[System]:
    with fresh_databases(servers) as make_database:
        deployment = Deployment(cluster.amqp_uris(VHOST), database_template(make_database),
                                tmp_path_factory.mktemp("node-loss"), env=SYSTEM_ENV)
        try:
            start_with_the_demo_county(deployment)
            yield System(deployment, Ledger(), cluster.amqp_uris(VHOST), VHOST, cluster.api(cluster.live()))
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


def test_killing_the_node_that_leads_the_busiest_queues_loses_and_doubles_nothing(cluster, system, capsys):
    queues = cluster.queues(VHOST)
    durable = [q for q in queues if q["durable"] and not q["name"].startswith("rpc.reply-")]
    assert durable and all(q["type"] == "quorum" for q in durable), [(q["name"], q["type"]) for q in durable]
    assert all(len(q.get("members", [])) == 3 for q in durable)
    before = published(cluster)
    figures: dict = {}

    def kill_the_busiest_leader_and_start_it_again() -> None:
        time.sleep(TRAFFIC_SECONDS)  # more traffic first, so that the busiest queues stand out
        figures["leader"], figures["led"] = busiest_leader(cluster, before)
        victim = cluster.node_named(figures["leader"])
        acknowledged_at_kill = figures["acknowledged_at_kill"] = system.filed()
        killed_at = time.monotonic()
        cluster.kill(victim)
        system.rabbit_api = cluster.api(cluster.live())  # the round reads the queues from a node still up
        # recovered: the first filing acknowledged after the kill (the stations kept sending throughout)
        wait_until(lambda: system.filed() > acknowledged_at_kill + 1, 120, "a filing acknowledged with the node dead")
        figures["recovered"] = time.monotonic() - killed_at
        time.sleep(max(0.0, DOWN_SECONDS - figures["recovered"]))
        cluster.start_node(victim)
        cluster.wait_all_running()

    report = system.round("RabbitMQ node killed", kill_the_busiest_leader_and_start_it_again)
    with capsys.disabled():
        print(f"\nnode loss: killed {figures['leader']} (leader of {', '.join(figures['led'])}: messages taken "
              f"in the traffic before); first filing acknowledged {figures['recovered']:.1f} s after the kill; "
              f"caught up {REPORTS[-1][2]:.1f} s after the traffic\n{report.line()}\n"
              f"answers: {dict(system.ledger.statuses)}")
    assert report.counts["filings_acknowledged"] > figures["acknowledged_at_kill"]
    assert report.counts["applications_lost"] == 0 == report.counts["applications_doubled"]
