"""How a process on eventlet stops (cunban/stopping.py): a stop signal starts the stop from a green thread, and
a stop that is stuck is logged with every green thread's stack and ends the process."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

from tests.support import ROOT

PRELUDE = """
import eventlet
eventlet.monkey_patch()
from cunban import stopping
from shared.logs import configure_logging
configure_logging()
stopping.STOP_SECONDS = 1.0
"""


def _run(body: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", PRELUDE + body], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _lines(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_a_stop_signal_stops_the_process_from_a_green_thread():
    process = _run("""
stopped = eventlet.Event()
stopping.on_stop_signal(lambda name: stopped.send(name))
print("ready", flush=True)
name = stopped.wait()
stopping.stop_watched(lambda: eventlet.sleep(0.1), "the test service")
print(name, flush=True)
""")
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert out.strip() == "SIGTERM"
    assert any(re.fullmatch(r"the test service stopped in \d+\.\d s", line["message"]) for line in _lines(err)), err


def test_a_stuck_stop_logs_what_each_green_thread_was_doing_and_exits_1():
    started = time.monotonic()
    process = _run("""
import gc

def a_consumer_made_at_start():
    eventlet.sleep(60)

def wait_for_a_consumer_that_never_lets_go():
    eventlet.sleep(60)

eventlet.spawn(a_consumer_made_at_start)
eventlet.sleep(0)
gc.collect()
gc.freeze()  # as run-service does once started: frozen objects are not in gc.get_objects()
stopping.stop_watched(wait_for_a_consumer_that_never_lets_go, "the test service")
""")
    _, err = process.communicate(timeout=30)
    assert process.returncode == 1, err
    assert time.monotonic() - started < 20
    first, *stacks = [line["message"] for line in _lines(err) if line["level"] == "ERROR"]
    assert first.startswith("the test service did not stop within 1 s; exiting.")
    assert all(stack.startswith("the test service, stuck: ") for stack in stacks)
    assert any("wait_for_a_consumer_that_never_lets_go" in stack for stack in stacks)  # the stop itself
    assert any("a_consumer_made_at_start" in stack for stack in stacks)  # a green thread from before the freeze
