"""`cunban dlq` on a real broker where the service it asks is not running says so at once, in one line, rather
than wait for an answer that cannot come (issue 23, item 10)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.integration


def test_dlq_names_the_service_that_is_not_running(amqp_uri):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUNBAN_")}
    # the timeout guards the test run only: the answer does not wait for a reply
    result = subprocess.run([sys.executable, "-m", "cunban.cli", "dlq", "list", "--service", "intake",
                             "--amqp-uri", amqp_uri], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    said = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    assert len(said) == 1, result.stderr
    assert said[0].startswith("cunban dlq: the intake service is not running on the broker at amqp://")
    assert "cunban run-service intake" in said[0]
    password = amqp_uri.split("@")[0].split(":")[-1]
    assert f":{password}@" not in said[0] and ":**@" in said[0]  # the password is not shown


@pytest.mark.parametrize("command", ["bootstrap", "seed-demo"])
def test_setting_up_a_county_needs_the_directory_running(amqp_uri, command):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUNBAN_")}
    result = subprocess.run([sys.executable, "-m", "cunban.cli", command, "--amqp-uri", amqp_uri], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    said = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    assert said == [said[0]] and said[0].startswith(f"cunban {command}: the directory service is not running")
