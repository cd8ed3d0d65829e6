"""Fault injection during market-day traffic: each service killed with SIGKILL and restarted, RabbitMQ
restarted, PostgreSQL restarted, and every consumer handed its events shuffled and doubled. After each,
once the system has caught up by itself, nothing the gateway acknowledged is lost, nothing is doubled,
every event reached every consumer and no dead letter is left (tests/faults/invariants.py).

The counts of each round are printed at the end (docs/RELIABILITY.md records a run)."""
from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text

from cunban.registry import SERVICES
from tests.faults.deployment import GATEWAY, Deployment, restart_postgresql, restart_rabbitmq
from tests.faults.invariants import Report, check, subscriptions, wait_for_quiescence
from tests.faults.redelivery import queues_of, shuffle_and_double
from tests.faults.traffic import Ledger, Traffic
from tests.support import database_template, fresh_databases, fresh_vhost, login, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.faults]

TRAFFIC_SECONDS = 2.5  # of traffic before a fault and after the system is back
SETTLE_SECONDS = 30.0  # how long violations may take to disappear once the queues read empty
WARM_UP = {"item_code": "YB-002", "channel": "station", "complete_now": True, "result_note": "当场办结",
           "materials_provided": ["身份证", "户口簿"],
           "applicant": {"name": "钱七", "phone": "13512345678", "id_card": "430124197506150021",
                         "village_code": "431099103001"}}
REPORTS: list[tuple[str, Report, float]] = []
# three stations retrying hard are not to be rate-limited; an RPC to a dead process gives up after 5 s
SYSTEM_ENV = {"CUNBAN_CLIENT_REQUESTS_PER_MINUTE": "1000000", "CUNBAN_ACCOUNT_REQUESTS_PER_MINUTE": "1000000",
              "CUNBAN_RPC_TIMEOUT_SECONDS": "5"}


@dataclass
class System:
    deployment: Deployment
    ledger: Ledger
    amqp_uri: str
    vhost: str
    rabbit_api: str
    rounds: int = 0

    def filed(self) -> int:
        with self.ledger.lock:
            return len(self.ledger.acknowledged_filings())

    def round(self, name: str, fault: Callable[[], None]) -> Report:
        """Traffic, the fault in the middle of it, traffic again; then wait until the system has caught up
        and check every invariant."""
        self.rounds += 1
        with Traffic(self.deployment.base_url, self.ledger, stations=3, seed=self.rounds):
            time.sleep(TRAFFIC_SECONDS)
            fault()
            time.sleep(TRAFFIC_SECONDS)
            # on a loaded machine a restarted process may take longer than the traffic: the round goes on
            # until the system files again, so that every round checks acknowledged work
            before, deadline = self.filed(), time.monotonic() + 60
            while self.filed() <= before and time.monotonic() < deadline:
                time.sleep(0.5)
        caught_up = wait_for_quiescence(self.deployment, self.rabbit_api, self.vhost)
        report = check(self.deployment, self.ledger)
        # RabbitMQ's management API samples queue lengths every few seconds, so "every queue empty" can be
        # read a moment early: the invariants must hold once caught up, so look again for a while first
        deadline = time.monotonic() + SETTLE_SECONDS
        while report.violations and time.monotonic() < deadline:
            time.sleep(2.0)
            wait_for_quiescence(self.deployment, self.rabbit_api, self.vhost)
            report = check(self.deployment, self.ledger)
        report.counts["processes_restarted_by_supervisor"] = len(self.deployment.restarts)
        REPORTS.append((name, report, caught_up))
        assert not report.violations, f"{name}: {report.line()}\n" + "\n".join(report.violations)
        return report


@pytest.fixture(scope="module")
def system(servers, tmp_path_factory) -> Iterator[System]:
    with fresh_vhost(servers) as (amqp_uri, vhost), fresh_databases(servers) as make_database:
        deployment = Deployment(amqp_uri, database_template(make_database), tmp_path_factory.mktemp("faults"),
                                env=SYSTEM_ENV)
        try:
            start_with_the_demo_county(deployment)
            yield System(deployment, Ledger(), amqp_uri, vhost, servers[1])
        finally:
            codes = deployment.stop_all()
            print(json.dumps(codes))


def start_with_the_demo_county(deployment: Deployment) -> None:
    """Every process started and supervised, the demo county loaded, and one filing through (the fault
    suites on other servers start theirs the same way)."""
    deployment.start_all()
    deployment.supervise()
    deployment.cli("bootstrap")
    deployment.cli("seed-demo")
    with httpx.Client(base_url=deployment.base_url, timeout=30) as client:
        # SMS go out at any hour of the run: the county's quiet hours off (00:00 to 00:00)
        quiet_off = client.put("/notifications/settings/431099", headers=login(client, "admin"),
                               json={"quiet_start": "00:00", "quiet_end": "00:00"})
        assert quiet_off.status_code == 200, quiet_off.text
        agent = {**login(client, "lk_agent1"), "Idempotency-Key": "warm-up-filing"}

        def file_one() -> bool:  # intake's read model fills from the directory's events first
            response = client.post("/applications", headers=agent, json=WARM_UP)
            assert response.status_code == 201, response.text
            return True

        wait_until(file_one, 60, "intake's read model")


@pytest.mark.parametrize("name", [*SERVICES, GATEWAY])
def test_kill_9_of_a_process_loses_and_doubles_nothing(system, name):
    def kill_and_restart() -> None:
        system.deployment.kill(name)
        time.sleep(1.0)  # requests pile up against the dead process
        system.deployment.restart(name)

    report = system.round(f"kill -9 {name}", kill_and_restart)
    assert report.counts["filings_acknowledged"] > 0


def test_a_rabbitmq_restart_loses_and_doubles_nothing(system):
    report = system.round("RabbitMQ restart", restart_rabbitmq)
    assert report.counts["applications_lost"] == 0 == report.counts["applications_doubled"]


def test_a_postgresql_restart_loses_and_doubles_nothing(system):
    report = system.round("PostgreSQL restart", restart_postgresql)
    assert report.counts["applications_lost"] == 0 == report.counts["applications_doubled"]


@pytest.mark.parametrize("consumer", sorted({s[0] for s in subscriptions()}))
def test_events_doubled_and_out_of_order_change_nothing(system, consumer):
    """The consumer stops; what it misses meanwhile waits in its queues, and is handed to it shuffled with a
    third of it twice, plus a sample of the events it already applied."""
    deployment = system.deployment
    rng = random.Random(consumer)

    def old_events(queues: list[str]) -> dict[str, list[dict]]:
        chosen: dict[str, list[dict]] = {}
        for queue in queues:  # evt-<source>-<event type>--<consumer>.<method>
            source, event_type = queue[len("evt-"):].split("--")[0].split("-", 1)
            with deployment.engine(source).connect() as connection:
                bodies = [row[0] for row in connection.execute(
                    text("SELECT body FROM outbox WHERE event_type = :t AND published_at IS NOT NULL"),
                    {"t": event_type})]
            chosen[queue] = rng.sample(bodies, min(10, len(bodies)))
        return chosen

    moved: dict[str, int] = {}

    def stop_shuffle_start() -> None:
        assert deployment.stop(consumer) == 0, deployment.logs(consumer)
        time.sleep(TRAFFIC_SECONDS)  # its events wait in its queues
        queues = queues_of(system.rabbit_api, system.vhost, consumer)
        moved.update(shuffle_and_double(system.amqp_uri, queues, old_events(queues), seed=rng.randrange(1000)))
        deployment.restart(consumer)

    system.round(f"{consumer}: events doubled, out of order", stop_shuffle_start)
    assert moved["put_back"] > moved["waiting"] >= 0


def test_report(system, capsys):
    """The counts of every round, as docs/RELIABILITY.md shows them."""
    with capsys.disabled():
        print("\nround | caught up (s) | " + " | ".join(REPORTS[-1][1].counts) if REPORTS else "no rounds ran")
        for name, report, seconds in REPORTS:
            print(f"{name} | {seconds:.1f} | " + " | ".join(str(v) for v in report.counts.values()))
    assert REPORTS
