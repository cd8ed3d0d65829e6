"""What the embedded system (`cunban up`: SQLite files, the in-process broker, every service and the gateway
in one process) costs with nothing to do, and how fast it still reacts (docs/PERFORMANCE.md, issue 25).

Starts `cunban up` on a fresh data folder with the demo county, lets it settle, then measures:
  idle       the process's CPU (user + system from /proc) over `seconds`, as a share of one core
  reaction   filings sent one at a time, one every 200 ms (a station's pace): the filing's round trip and
             the event lag of evaluation counting it (cunban_event_lag_seconds, p50 and p99 from the
             histogram's buckets, interpolated as Prometheus does)

Usage: .venv/bin/python bench/idle.py [seconds, default 20] [filings, default 50]
       .venv/bin/python bench/idle.py --deployed [seconds, default 60] [--profile]
--deployed measures the system as deployed instead (every service and the gateway its own process on RabbitMQ
and PostgreSQL, tests/faults/deployment.py): after the demo county is seeded, a few filings made and 30 s of
settling, the CPU milliseconds per second of each process over `seconds`; --profile then samples each
process with py-spy for the same time, as market_day.py does (only while it holds the GIL: what it shows is
Python running), and prints where the idle processes spend it.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.market_day import FILING, buckets, quantile  # noqa: E402
from tests.support import embedded_system, login, wait_until  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def lag(base: str) -> dict[float, float]:
    return buckets(f"{base}/metrics", "cunban_event_lag_seconds", 'service="evaluation",type="application_filed"')


def main(seconds: int, filings: int) -> None:
    quiet = {"CUNBAN_LOG_LEVEL": "WARNING", "CUNBAN_SWEEP_SECONDS": "30"}  # the sweep as deployed, not as tested
    with tempfile.TemporaryDirectory(prefix="cunban-idle-") as data, \
            embedded_system(Path(data), env=quiet) as (base, process), \
            httpx.Client(base_url=base, timeout=30) as client:
        agent = login(client, "lk_agent1")
        wait_until(lambda: client.post("/applications", json=FILING, headers=agent).status_code == 201, 60,
                   "intake's read model")
        time.sleep(20)  # what the start-up set going (the demo county's events, the first sweeps) settles
        before, started = cpu_seconds(process.proc.pid), time.monotonic()
        time.sleep(seconds)
        idle = (cpu_seconds(process.proc.pid) - before) / (time.monotonic() - started)
        print(f"embedded system idle: {100 * idle:.2f} % of one core ({1000 * idle:.1f} ms CPU per second) "
              f"over {seconds} s", flush=True)

        lag_before, round_trips = lag(base), []
        for _ in range(filings):
            sent = time.monotonic()
            response = client.post("/applications", json=FILING, headers=agent)
            assert response.status_code == 201, response.text
            round_trips.append(1000 * (time.monotonic() - sent))
            time.sleep(0.2)
        time.sleep(1)
        lag_after = lag(base)
        p50, p99 = quantile(0.5, lag_before, lag_after), quantile(0.99, lag_before, lag_after)
        print(f"reaction, {filings} filings one every 200 ms: round trip p50 "
              f"{statistics.median(round_trips):.1f} ms, max {max(round_trips):.1f} ms; "
              f"event lag p50 {p50:.1f} ms, p99 {p99:.1f} ms", flush=True)


def deployed(seconds: int, profile: bool) -> None:
    import subprocess

    from bench.market_day import SERVERS, UNLIMITED, ensure_py_spy, hot_spots, idle_cpu, profile_while
    from tests.faults.deployment import Deployment
    from tests.support import database_template, fresh_databases, fresh_vhost

    subprocess.run([str(ROOT / "deploy/scripts/local-servers.sh"), "start"], check=True, stdout=subprocess.DEVNULL)
    logs = Path(tempfile.mkdtemp(prefix="cunban-idle-"))
    quiet = {**UNLIMITED, "CUNBAN_SWEEP_SECONDS": "30"}  # the sweep as deployed, not as tested
    with fresh_vhost(SERVERS) as (amqp_uri, _), fresh_databases(SERVERS) as make_database:
        deployment = Deployment(amqp_uri, database_template(make_database), logs, env=quiet)
        try:
            deployment.start_all()
            deployment.cli("bootstrap")
            deployment.cli("seed-demo")
            with httpx.Client(base_url=deployment.base_url, timeout=30) as client:
                agent = login(client, "lk_agent1")
                wait_until(lambda: client.post("/applications", json=FILING, headers=agent).status_code == 201,
                           60, "intake's read model")
                for _ in range(10):
                    assert client.post("/applications", json=FILING, headers=agent).status_code == 201
            time.sleep(30)  # the filings' events, the first sweeps and the relays' gauges settle
            idle = idle_cpu(deployment, seconds)
            print(f"deployed, idle over {seconds} s: CPU ms per second, by process: "
                  + ", ".join(f"{name} {ms:.1f}" for name, ms in idle.items()), flush=True)
            if profile:
                ensure_py_spy()
                pids = {name: process.proc.pid for name, process in deployment.processes.items()}
                for sampler in profile_while(pids, seconds, logs, "idle"):
                    sampler.wait()
                for name in pids:
                    print("\n".join(hot_spots(logs / f"{name}-idle.txt")), flush=True)
        finally:
            deployment.stop_all()


if __name__ == "__main__":
    if "--deployed" in sys.argv:
        numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]
        deployed(numbers[0] if numbers else 60, "--profile" in sys.argv)
    else:
        arguments = [int(a) for a in sys.argv[1:]]
        main(*(arguments + [20, 50][len(arguments):]))
