"""deploy/scripts/observe.py, as an operator runs it: every process on RabbitMQ + PostgreSQL, a Prometheus
scraping them, and every dashboard query answered (the script fails when a panel it relies on is empty)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.support import ROOT, alert_rule_count

pytestmark = pytest.mark.integration


def test_the_observe_script_shows_every_dashboard_query_returning_data(amqp_uri, servers):
    assert shutil.which("prometheus"), "Prometheus comes with deploy/scripts/local-servers.sh"
    done = subprocess.run([sys.executable, "deploy/scripts/observe.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=400, env={**os.environ, "CUNBAN_TEST_AMQP_URI": amqp_uri,
                                            "CUNBAN_TEST_PG_URL": servers[2]})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Requests per second by route" in done.stdout and f"alert rules loaded: {alert_rule_count()};" in done.stdout
