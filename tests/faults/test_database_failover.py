"""Losing the PostgreSQL primary in the middle of market-day traffic: every service and the gateway run on
a primary with a synchronous streaming standby of its own (tests/faults/postgres_pair.py), reached through
one multi-host URL (`target_session_attrs=read-write`). The primary is killed with SIGKILL and the standby
promoted, as CloudNativePG does; nothing is restarted. Once the system has caught up by itself, the
invariants of the fault suite hold (tests/faults/invariants.py): every acknowledged filing exists once in
intake and approvals and is counted once in evaluation, nothing is doubled, no dead letter is left.

The counts and the time the county could not file are printed at the end (docs/RELIABILITY.md)."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from cunban.registry import SERVICES
from tests.faults.deployment import Deployment
from tests.faults.postgres_pair import PostgresPair
from tests.faults.test_faults import REPORTS, SYSTEM_ENV, System, start_with_the_demo_county
from tests.faults.traffic import Ledger
from tests.support import fresh_vhost, login, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.faults]

FILINGS_BEFORE = 20
DOWN_SECONDS = 3.0  # from the kill to the promotion: no server takes writes meanwhile
PROBE = {"item_code": "YB-002", "channel": "station", "complete_now": True, "result_note": "当场办结",
         "materials_provided": ["身份证", "户口簿"],
         "applicant": {"name": "钱七", "phone": "13512345679", "id_card": "430124197506150021",
                       "village_code": "431099103002"}}


@pytest.fixture(scope="module")
def pair(servers) -> Iterator[PostgresPair]:
    with PostgresPair(synchronous=True) as pair:
        yield pair


@pytest.fixture(scope="module")
def system(servers, pair, tmp_path_factory) -> Iterator[System]:
    prefix = f"cunban_failover_{uuid.uuid4().hex[:8]}"
    for service in SERVICES:
        pair.create_database(f"{prefix}_{service}")
    with fresh_vhost(servers) as (amqp_uri, vhost):
        deployment = Deployment(amqp_uri, pair.url(f"{prefix}_{{service}}"), tmp_path_factory.mktemp("failover"),
                                env=SYSTEM_ENV)
        try:
            start_with_the_demo_county(deployment)
            yield System(deployment, Ledger(), amqp_uri, vhost, servers[1])
        finally:
            deployment.stop_all()


def file_until_acknowledged(system: System, signed_in: dict[str, str], started: float) -> float:
    """One filing sent as a station sends it (the same key until answered), kept in the ledger like the
    others; the seconds from `started` until it was acknowledged."""
    key = f"probe-{uuid.uuid4().hex}"
    record: dict = {"request": PROBE, "receipt_no": None}
    system.ledger.filings[key] = record
    with httpx.Client(base_url=system.deployment.base_url, timeout=15) as client:
        headers = {**signed_in, "Idempotency-Key": key}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                response = client.post("/applications", headers=headers, json=PROBE)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 201:
                record["receipt_no"] = response.json()["receipt_no"]
                return time.monotonic() - started
            assert response is None or response.status_code >= 500 or response.status_code == 429, response.text
            time.sleep(0.2)
    raise AssertionError("no filing was acknowledged within 120 s of the failover")


@pytest.mark.timeout(600)  # the pair, every process and the demo county start in this test's set-up
def test_losing_the_primary_loses_and_doubles_nothing_and_the_services_reconnect(system, pair, capsys):
    assert pair.wait_streaming() in ("quorum", "sync")  # every commit waits for the standby
    figures: dict[str, float] = {}
    with httpx.Client(base_url=system.deployment.base_url, timeout=15) as client:
        signed_in = login(client, "lk_agent1")  # before the loss: signing in writes to the directory too

    def kill_the_primary_and_promote_the_standby() -> None:
        # the stations sign in first (a second or two each on a busy machine): the loss comes amid filings
        wait_until(lambda: len(system.ledger.acknowledged_filings()) >= FILINGS_BEFORE, 120, "filings before the loss")
        figures["acknowledged_before"] = len(system.ledger.acknowledged_filings())
        started = time.monotonic()
        figures["promoted_after"] = pair.fail_over(down_seconds=DOWN_SECONDS)
        figures["filing_again_after"] = file_until_acknowledged(system, signed_in, started)
        # and the stations go on until they too have filed as many again
        wait_until(lambda: len(system.ledger.acknowledged_filings()) >= 2 * figures["acknowledged_before"] + 1, 120,
                   "filings after the promotion")

    report = system.round("PostgreSQL primary killed, standby promoted", kill_the_primary_and_promote_the_standby)
    counts = report.counts
    with capsys.disabled():
        print(f"\nPostgreSQL failover: {report.line()}; {figures['acknowledged_before']:.0f} filings acknowledged "
              f"before the kill; standby promoted after {figures['promoted_after']:.1f} s, "
              f"a filing acknowledged again {figures['filing_again_after']:.1f} s after the kill; caught up "
              f"{REPORTS[-1][2]:.1f} s after the traffic; "
              f"answers seen: {dict(system.ledger.statuses)}")
    assert counts["filings_acknowledged"] > 2 * FILINGS_BEFORE
    assert counts["applications_lost"] == 0 == counts["applications_doubled"]
    assert counts["complaints_lost"] == 0 == counts["complaints_doubled"]
    assert counts["actions_lost"] == 0 == counts["actions_doubled"]
    # the services found the new primary by themselves: none exited to be started again
    assert system.deployment.restarts == [], system.deployment.restarts
    with pair.standby.connect() as connection:  # and they write there
        assert not connection.execute("SELECT pg_is_in_recovery()").fetchone()[0]
