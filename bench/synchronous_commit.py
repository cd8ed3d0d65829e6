"""What synchronous replication costs a commit (docs/RELIABILITY.md, docs/PERFORMANCE.md): a PostgreSQL
primary with a streaming standby of its own on this machine (tests/faults/postgres_pair.py), and a
filing-shaped transaction — an application row with its JSON, its outbox event — committed again and again
with `synchronous_commit` at

  off     the commit returns before its WAL is on disk (never used by cunban: shown as the floor)
  local   its WAL flushed on the primary only: what a lone server gives
  on      flushed on the primary and on the synchronous standby too (ANY 1): what the deployments run

one connection per mode, the modes taking turns commit by commit (latency: p50, p99), and from 8
connections at once (commits per second, the median of three rounds taken in turn). A filing's
201 waits for intake's one commit; approvals' and evaluation's commits follow from events, after the answer.
Usage: .venv/bin/python bench/synchronous_commit.py [commits per measurement, default 2000]
"""
from __future__ import annotations

import json
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.faults.postgres_pair import PostgresPair  # noqa: E402

MODES = ("off", "local", "on")
CONCURRENT = 8
ROUNDS = 3
BODY = json.dumps({"applicant": {"name": "钱七", "phone": "135" + "0" * 8, "village_code": "431099103001"},
                   "materials_provided": ["申请书", "身份证", "户口簿", "家庭收入情况说明"], "note": "x" * 600})
SCHEMA = """
CREATE TABLE applications (id uuid PRIMARY KEY, receipt_no text UNIQUE, body jsonb, filed_at timestamptz);
CREATE TABLE outbox (event_id uuid PRIMARY KEY, event_type text, body jsonb, created_at timestamptz,
                     published_at timestamptz);
"""


def file_once(connection: psycopg.Connection) -> float:
    started = time.perf_counter()
    with connection.transaction():
        application = uuid.uuid4()
        connection.execute("INSERT INTO applications VALUES (%s, %s, %s, now())",
                           (application, application.hex[:16], BODY))
        connection.execute("INSERT INTO outbox VALUES (%s, 'application_filed', %s, now(), NULL)",
                           (uuid.uuid4(), BODY))
    return time.perf_counter() - started


def connect(pair: PostgresPair, mode: str) -> psycopg.Connection:
    connection = pair.primary.connect("bench")
    connection.execute(f"SET synchronous_commit = {mode}")
    return connection


def sequential(pair: PostgresPair, commits: int) -> dict[str, list[float]]:
    """Commit latencies of each mode, the modes taking turns commit by commit: a machine whose load comes and
    goes (this one is shared) then weighs on each alike."""
    connections = {mode: connect(pair, mode) for mode in MODES}
    latencies: dict[str, list[float]] = {mode: [] for mode in MODES}
    for n in range(commits + commits // 10):
        for mode, connection in connections.items():
            elapsed = file_once(connection)
            if n >= commits // 10:  # after a warm-up
                latencies[mode].append(elapsed)
    for connection in connections.values():
        connection.close()
    return {mode: sorted(values) for mode, values in latencies.items()}


def concurrent(pair: PostgresPair, mode: str, commits: int) -> float:
    connections = [connect(pair, mode) for _ in range(CONCURRENT)]
    each = commits // CONCURRENT

    def work(connection: psycopg.Connection) -> None:
        for _ in range(each):
            file_once(connection)

    threads = [threading.Thread(target=work, args=(c,)) for c in connections]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return each * CONCURRENT / elapsed


def main() -> None:
    commits = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with PostgresPair(synchronous=True) as pair:
        print(f"standby: {pair.wait_streaming()} (synchronous_standby_names = 'ANY 1 (*)')")
        pair.create_database("bench")
        with pair.primary.connect("bench") as connection:
            connection.execute(SCHEMA)
        latencies = sequential(pair, commits)
        rates: dict[str, list[float]] = {mode: [] for mode in MODES}
        for _ in range(ROUNDS):  # the modes in turn again, each round's rate kept: the median is shown
            for mode in MODES:
                rates[mode].append(concurrent(pair, mode, commits // ROUNDS))
        rows = [(mode, statistics.median(latencies[mode]) * 1000,
                 latencies[mode][int(len(latencies[mode]) * 0.99)] * 1000, statistics.median(rates[mode]))
                for mode in MODES]
        local = next(r for r in rows if r[0] == "local")
        print(f"\n{commits} commits in each mode, the modes in turn; then {CONCURRENT} connections at once")
        print("synchronous_commit | p50 ms | p99 ms | commits/s | p50 vs local")
        for mode, p50, p99, rate in rows:
            print(f"{mode} | {p50:.2f} | {p99:.2f} | {rate:.0f} | {p50 - local[1]:+.2f} ms")


if __name__ == "__main__":
    main()
