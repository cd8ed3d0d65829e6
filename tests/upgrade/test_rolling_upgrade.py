"""A rolling update from the previous release (tests/upgrade/release.json), on RabbitMQ and PostgreSQL.

The previous release's code (`git archive` of its commit) builds its schema and fills it under market-day
traffic; the new release migrates the databases to head WHILE the previous release keeps serving; the new
release's services and gateway then run beside the old ones on the same queues and databases, both taking
traffic; the old processes stop (the update is done), and once the system has caught up nothing either
version acknowledged is lost or doubled and every event reached every consumer. Last the rollback: the old
release alone again on the new schema (no downgrade: the schema only expanded) takes traffic as before."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cunban.registry import SERVICES
from tests.faults.deployment import GATEWAY, Deployment
from tests.faults.invariants import check, wait_for_quiescence
from tests.faults.test_restore_drill import _warm_up
from tests.faults.traffic import Ledger, Traffic
from tests.support import ROOT, Process, database_template, fresh_databases, fresh_vhost
from tests.upgrade.release import PREVIOUS

pytestmark = [pytest.mark.integration, pytest.mark.faults]

TRAFFIC_SECONDS = 5.0
SETTINGS = {"CUNBAN_CLIENT_REQUESTS_PER_MINUTE": "1000000", "CUNBAN_ACCOUNT_REQUESTS_PER_MINUTE": "1000000",
            "CUNBAN_RPC_TIMEOUT_SECONDS": "5"}


class ReleaseDeployment(Deployment):
    """A Deployment of another release's code: its files on PYTHONPATH, and `-P` so that the current
    folder (this release) is not put before them."""

    def __init__(self, code: Path, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.command = [sys.executable, "-P", "-m", "cunban.cli"]
        self.env["PYTHONPATH"] = str(code)
        self.migrate_at_start = True  # off once the schema is newer than this release knows (a rollback)

    def start(self, name: str) -> Process:
        self.incarnations[name] = self.incarnations.get(name, 0) + 1
        log = self.log_dir / f"old-{name}.{self.incarnations[name]}.log"
        args = ["gateway"] if name == GATEWAY else \
            ["run-service", name, *([] if self.migrate_at_start else ["--no-migrate"])]
        env = self.env if name == GATEWAY else {**self.env, "CUNBAN_METRICS_PORT": str(self.metrics_ports[name])}
        self.processes[name] = Process(args, env, log, command=self.command)
        return self.processes[name]

    def logs(self, name: str) -> str:
        return "\n".join((self.log_dir / f"old-{name}.{n}.log").read_text(errors="replace")[-3000:]
                         for n in range(1, self.incarnations.get(name, 0) + 1))

    def cli(self, *args: str) -> str:
        result = subprocess.run([*self.command, *args], cwd=ROOT, env={**os.environ, **self.env},
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout


@pytest.fixture
def previous_release(tmp_path) -> Path:
    folder = tmp_path / f"release-{PREVIOUS['commit']}"
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", PREVIOUS["commit"]],
                             capture_output=True, timeout=120)
    assert archive.returncode == 0, (f"the previous release's commit {PREVIOUS['commit']} is not in this clone "
                                     f"(a shallow clone? fetch the history): {archive.stderr.decode()[-500:]}")
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True, timeout=120)
    return folder


def _revisions(template: str) -> dict[str, str]:
    found = {}
    for name in SERVICES:
        engine = create_engine(template.replace("{service}", name))
        with engine.connect() as connection:
            found[name] = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        engine.dispose()
    return found


@pytest.mark.timeout(900)  # several minutes on a busy machine: each phase waits for the system
def test_a_rolling_update_from_the_previous_release_loses_and_doubles_nothing(servers, previous_release, tmp_path):
    with fresh_vhost(servers) as (amqp_uri, vhost), fresh_databases(servers) as make_database:
        template = database_template(make_database)
        old = ReleaseDeployment(previous_release, amqp_uri, template, tmp_path, env=SETTINGS)
        new = Deployment(amqp_uri, template, tmp_path, env=SETTINGS)
        ledger = Ledger()
        try:
            old.cli("migrate")
            assert _revisions(template) == PREVIOUS["heads"]  # the previous release's schema
            old.start_all()
            old.cli("bootstrap")
            old.cli("seed-demo")
            _warm_up(old)
            with Traffic(old.base_url, ledger, stations=2, seed=1):
                time.sleep(TRAFFIC_SECONDS)
                new.cli("migrate")  # under the old release's traffic: the migrations only expand
                heads = _revisions(template)
                # the new release beside the old, on the same queues and databases: the services that consume
                # an event new in this release (notifications: case_waiting) before those that make it, so
                # that its queue is there when the first comes (OPERATIONS.md, "Upgrades and rollbacks")
                for name in [*reversed(SERVICES), GATEWAY]:
                    new.start(name)
                    new.wait_up(name)
                with Traffic(new.base_url, ledger, stations=2, seed=2):
                    time.sleep(TRAFFIC_SECONDS)
            old.stop(GATEWAY)  # the update is done: the old processes go (uvicorn ends by its SIGTERM again)
            for name in SERVICES:
                assert old.stop(name) == 0, old.logs(name)
            wait_for_quiescence(new, servers[1], vhost)
            # this release's note: evaluation counts each county apart, and what the previous release applied
            # during the update went to its single county unit only, so the figures are counted again once
            new.cli("rebuild-figures")
            report = check(new, ledger)
            assert not report.violations, f"{report.line()}\n" + "\n".join(report.violations)

            # the rollback: the new release stops, the old one runs again on the expanded schema
            new.stop(GATEWAY)
            for name in SERVICES:
                assert new.stop(name) == 0, new.logs(name)
            old.migrate_at_start = False  # its migrations know none of the newer revisions (OPERATIONS.md)
            for name in [*SERVICES, GATEWAY]:
                old.restart(name)
            with Traffic(old.base_url, ledger, stations=2, seed=3):
                time.sleep(TRAFFIC_SECONDS)
            wait_for_quiescence(old, servers[1], vhost)
            rolled_back = check(old, ledger, counties=False)  # that release keeps one county unit only
            print("\nrolling update: " + json.dumps({"heads": heads, **report.counts}))
            assert not rolled_back.violations, f"{rolled_back.line()}\n" + "\n".join(rolled_back.violations)
            assert report.counts["filings_acknowledged"] > 0
        finally:
            new.stop_all()
            old.stop_all()
