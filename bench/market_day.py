"""cunban beside its baselines, in one run on this machine, printed as one table (docs/PERFORMANCE.md):

  ceilings  a raw kombu request/reply round trip on the same RabbitMQ; the gateway's /healthz under wrk
  peer      bench/monolith.py: one FastAPI + SQLAlchemy process doing the same filing on the same PostgreSQL
  cunban    filing through the gateway at 1, 16 and 64 connections; a market-day mix; the event lag from a
            filing's 201 to evaluation counting it (cunban_event_lag_seconds, p50 and p99)
  ratios    cunban filing ÷ monolith, cunban filing ÷ raw broker round trips

Every service runs as its own process on RabbitMQ + PostgreSQL, as deployed (tests/faults/deployment.py).
Usage: .venv/bin/python bench/market_day.py [seconds per measurement, default 10] [--profile] [--quick]
--profile samples every service and the gateway with py-spy (pip install -e '.[bench]') while filing;
--quick measures filing at c=16 only (--quick=N: at N connections; --quick=N,P: each pausing P ms between
filings), for trying a change; --backlog only the filing path with the consumers stopped, and how fast
they work off the backlog once started again. Each filing load also prints the CPU milliseconds each
process (services, gateway, RabbitMQ, PostgreSQL) spent per filing, and how many events approvals' and
evaluation's handlers took per batch.
Starts RabbitMQ and PostgreSQL from the OS's packages if needed (deploy/scripts/local-servers.sh) and
installs wrk. CUNBAN_TEST_AMQP_HOST, CUNBAN_TEST_RABBIT_API and CUNBAN_TEST_PG_URL point elsewhere.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.broker_ceiling import measure as broker_round_trips  # noqa: E402
from services.intake.adapters.orm import Base as IntakeBase  # noqa: E402
from shared.migrate import upgrade  # noqa: E402
from tests.faults.deployment import Deployment  # noqa: E402
from tests.faults.invariants import wait_for_quiescence  # noqa: E402
from tests.support import (  # noqa: E402
    Process,
    database_template,
    free_port,
    fresh_databases,
    fresh_vhost,
    login,
    wait_until,
)

# a village-level item with a limit of three working days: the filing opens an approval case that waits for
# 受理 (a 0-day item filed without completing it would be due, and warned about, on the day it is filed)
FILING = {"item_code": "NZ-003", "channel": "station", "materials_provided": ["购买清单"],
          "applicant": {"name": "钱七", "phone": "13512345678", "id_card": "430124197506150021",
                        "village_code": "431099103002"}}
CASE = {"item_code": "DB-001", "channel": "station",
        "materials_provided": ["申请书", "身份证", "户口簿", "家庭收入情况说明"],
        "applicant": {"name": "周九", "phone": "13212345678", "id_card": "430124197506150021",
                      "village_code": "431099103001"}}
COMPLAINT = {"kind": "dispute", "network": "mediation", "category": "land", "channel": "hotline",
             "village_code": "431099103002", "description": "山林界址纠纷",
             "complainant": {"name": "孙八", "phone": "13712345678"}}
SERVERS = (os.environ.get("CUNBAN_TEST_AMQP_HOST", "127.0.0.1"),  # the broker's host, its API, PostgreSQL
           os.environ.get("CUNBAN_TEST_RABBIT_API", "http://guest:guest@127.0.0.1:15672"),
           os.environ.get("CUNBAN_TEST_PG_URL", "postgresql+psycopg://cunban:cunban@127.0.0.1:5432/postgres"))
PAUSE_MS = 500  # the paced load: 16 stations, each filing again 500 ms after its answer (≈ 30 filings/s offered)
UNLIMITED = {"CUNBAN_CLIENT_REQUESTS_PER_MINUTE": "100000000", "CUNBAN_ACCOUNT_REQUESTS_PER_MINUTE": "100000000",
             "CUNBAN_LOG_LEVEL": "WARNING"}


def wrk(url: str, connections: int, seconds: int, script: str | None = None, env: dict[str, str] | None = None,
        ) -> dict[str, float]:
    """wrk's requests/s, p50 and p99 (ms) and non-2xx answers for one load."""
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        command += ["-s", str(ROOT / "bench" / "wrk" / script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {}), "CUNBAN_BENCH_THREADS": str(min(2, connections))}).stdout
    latency = {q: _ms(v, unit) for q, v, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)}
    if set(latency) != {"50", "99"}:
        raise RuntimeError(f"wrk printed no latency distribution:\n{out}")
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": latency["50"],
            "p99": latency["99"], "non_2xx": float(failed.group(1)) if failed else 0.0,
            "socket_errors": float(sum(map(int, errors.groups()))) if errors else 0.0}


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def buckets(url: str, metric: str, labels: str) -> dict[float, float]:
    """One histogram's cumulative bucket counts from a /metrics page: the series whose labels include
    `labels` (written as Prometheus prints them, in any order), summed."""
    wanted = set(re.findall(r'\w+="[^"]*"', labels))
    found: dict[float, float] = {}
    for series, count in re.findall(rf"^{metric}_bucket\{{([^}}]*)\}} (\S+)$", httpx.get(url, timeout=5).text, re.M):
        pairs = set(re.findall(r'\w+="[^"]*"', series))
        le = next(p for p in pairs if p.startswith("le="))
        if wanted <= pairs:
            found[float(le[4:-1])] = found.get(float(le[4:-1]), 0.0) + float(count)
    return found


def lag_buckets(metrics_port: int) -> dict[float, float]:
    return buckets(f"http://127.0.0.1:{metrics_port}/metrics", "cunban_event_lag_seconds",
                   'service="evaluation",type="application_filed"')


def batch_sizes(deployment: Deployment) -> dict[str, tuple[float, float]]:
    """How many application_filed events approvals' and evaluation's handlers have been handed, and in how
    many batches (cunban_event_batch_size_events's sum and count, since each process started)."""
    found = {}
    for service in ("approvals", "evaluation"):
        page = httpx.get(f"http://127.0.0.1:{deployment.metrics_ports[service]}/metrics", timeout=5).text
        series = r'\{[^}]*type="application_filed"[^}]*\} (\S+)$'
        events = re.search(rf"^cunban_event_batch_size_events_sum{series}", page, re.M)
        batches = re.search(rf"^cunban_event_batch_size_events_count{series}", page, re.M)
        found[service] = (float(events[1]) if events else 0.0, float(batches[1]) if batches else 0.0)
    return found


def per_batch(before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]) -> str:
    shares = []
    for service, (events, batches) in after.items():
        events_before, batches_before = before.get(service, (0.0, 0.0))
        shares.append(f"{service} {(events - events_before) / max(1.0, batches - batches_before):.1f}")
    return "events per batch (application_filed): " + ", ".join(shares)


def hops(deployment: Deployment) -> dict[str, tuple[str, str, str]]:
    """Where a filing's time goes, outermost first: the gateway's whole request, its RPC round trip to
    intake, intake's handler (worker set-up to result, its transaction inside)."""
    intake = f"http://127.0.0.1:{deployment.metrics_ports['intake']}/metrics"
    return {"gateway request": (f"{deployment.base_url}/metrics", "cunban_http_request_duration_seconds",
                                'method="POST",route="/applications"'),
            "RPC round trip": (f"{deployment.base_url}/metrics", "cunban_rpc_client_duration_seconds",
                               'outcome="ok",service="intake"'),
            "intake handler": (intake, "cunban_entrypoint_duration_seconds",
                               'entrypoint="file_application",service="intake"')}


def slow_shares(before: dict[str, dict[float, float]], after: dict[str, dict[float, float]]) -> str:
    """For each hop, how many filings took longer than 50, 100 and 250 ms there."""
    parts = []
    for hop, counts in after.items():
        total = counts.get(float("inf"), 0.0) - before[hop].get(float("inf"), 0.0)
        over = [total - (counts.get(le, 0.0) - before[hop].get(le, 0.0)) for le in (0.05, 0.1, 0.25)]
        parts.append(f"{hop} {total:.0f}: " + " / ".join(f"{n:.0f}" for n in over))
    return "over 50 / 100 / 250 ms — " + "; ".join(parts)


def quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float:
    """Prometheus' histogram_quantile over the observations between two scrapes (linear in a bucket), ms."""
    counts = sorted((le, after[le] - before.get(le, 0.0)) for le in after)
    total = counts[-1][1]
    if total == 0:
        return float("nan")
    rank, lower, below = q * total, 0.0, 0.0
    for le, cumulative in counts:
        if cumulative >= rank:
            if le == float("inf"):
                return lower * 1000
            return (lower + (le - lower) * (rank - below) / max(cumulative - below, 1e-9)) * 1000
        lower, below = le, cumulative
    return lower * 1000


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: dict[str, list[int]]) -> dict[str, float]:
    """User + system CPU seconds each named group of processes has used so far (from /proc)."""
    used: dict[str, float] = {}
    for name, members in pids.items():
        total = 0
        for pid in members:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue  # ended meanwhile (a PostgreSQL backend)
            total += int(fields[11]) + int(fields[12])
        used[name] = total / TICKS
    return used


def processes(deployment: Deployment) -> dict[str, list[int]]:
    """The system's processes by name: each service, the gateway, RabbitMQ and PostgreSQL."""
    found = {name: [process.proc.pid] for name, process in deployment.processes.items()}
    for name, command in (("rabbitmq", "beam.smp"), ("postgresql", "postgres")):
        out = subprocess.run(["pgrep", "-x", command], capture_output=True, text=True).stdout
        found[name] = [int(pid) for pid in out.split()]
    return found


def cpu_per_request(deployment: Deployment, before: dict[str, float], requests: float,
                    idle: dict[str, float] | None = None, elapsed: float = 0.0) -> dict[str, float]:
    """CPU milliseconds each process spent per request since `before`, most first; with `idle` (ms per
    second, idle_cpu) what the process would have spent without load over `elapsed` seconds is left out."""
    after = cpu_seconds(processes(deployment))
    idle = idle or {}
    spent = {name: max(0.0, 1000 * (after[name] - before.get(name, after[name])) - idle.get(name, 0.0) * elapsed)
             / max(requests, 1) for name in after}
    return dict(sorted(spent.items(), key=lambda item: -item[1]))


def calendar_applied(deployment: Deployment) -> bool:
    with deployment.engine("approvals").connect() as connection:
        return bool(connection.execute(text("SELECT applied = changed FROM calendar_state WHERE id = 1")).scalar())


def idle_cpu(deployment: Deployment, seconds: int) -> dict[str, float]:
    """CPU milliseconds per second each process spends with no load (timers, the relays' polls)."""
    before = cpu_seconds(processes(deployment))
    time.sleep(seconds)
    return cpu_per_request(deployment, before, seconds)


def ensure_py_spy() -> None:
    """py-spy, from the project's `bench` extra, installed if it is not yet."""
    if not (Path(sys.executable).parent / "py-spy").exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", f"{ROOT}[bench]"], check=True)


def profile_while(pids: dict[str, int], seconds: int, out: Path, tag: str) -> list[subprocess.Popen]:
    """py-spy samples each process (raw collapsed stacks) for `seconds`, only while it holds the GIL: what
    the samples show is Python running, not waiting on a socket or being scheduled out."""
    py_spy = str(Path(sys.executable).parent / "py-spy")
    return [subprocess.Popen([py_spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250",
                              "--format", "raw", "--gil", "--nonblocking", "-o", str(out / f"{name}-{tag}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name, pid in pids.items()]


def hot_spots(path: Path, top: int = 12) -> list[str]:
    """The functions most often on the stack (inclusive share of samples), the project's own and the
    libraries', with where the process spent its time at the leaf."""
    inclusive: dict[str, int] = {}
    leaf: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames, n = stack.split(";"), int(count)
        total += n
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
        leaf[frames[-1]] = leaf.get(frames[-1], 0) + n
    lines = [f"{path.stem}: {total} samples"]
    lines += [f"  {100 * n / total:5.1f}% on stack  {frame}" for frame, n in
              sorted(inclusive.items(), key=lambda item: -item[1]) if "(/work" in frame or "(shared" in frame
              or "(services" in frame or "(gateway" in frame][:top]
    lines += [f"  {100 * n / total:5.1f}% at leaf   {frame}" for frame, n in
              sorted(leaf.items(), key=lambda item: -item[1])[:top]]
    return lines


def main(seconds: int, profile: bool = False, quick: tuple[int, int] | None = None, backlog: bool = False) -> None:
    subprocess.run([str(ROOT / "deploy/scripts/local-servers.sh"), "start"], check=True, stdout=subprocess.DEVNULL)
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    if profile:
        ensure_py_spy()
    servers = SERVERS
    rows: list[tuple[str, dict[str, float]]] = []
    costs: list[tuple[str, str, dict[str, float]]] = []
    logs = Path(tempfile.mkdtemp(prefix="cunban-bench-"))
    with fresh_vhost(servers) as (amqp_uri, vhost), fresh_databases(servers) as make_database:
        template = database_template(make_database)
        deployment = Deployment(amqp_uri, template, logs, env=UNLIMITED)
        monolith: Process | None = None
        try:
            deployment.start_all()
            deployment.cli("bootstrap")
            deployment.cli("seed-demo")
            base = deployment.base_url
            with httpx.Client(base_url=base, timeout=30) as client:
                agent, supervisor = login(client, "lk_agent1"), login(client, "lk_supervisor")
                wait_until(lambda: client.post("/applications", json=FILING, headers=agent).status_code == 201, 60,
                           "intake's read model")
                wait_until(lambda: client.post("/complaints", json=COMPLAINT, headers=agent).status_code == 201, 60,
                           "complaints' read model")
            # the seeded calendar moves every open deadline once, at approvals' next sweep: let that pass first
            wait_until(lambda: calendar_applied(deployment), 90, "approvals applying the seeded calendar")
            token = agent["Authorization"].removeprefix("Bearer ")
            filing_env = {"CUNBAN_BENCH_TOKEN": token, "CUNBAN_BENCH_FILING": json.dumps(FILING)}
            print(f"system up; {seconds} s per measurement; logs in {logs}", flush=True)

            if quick or backlog:  # for trying a change: a warm-up, then one filing load or the backlog only
                wrk(base, quick[0] if quick else 16, 3, "filing.lua",
                    {**filing_env, "CUNBAN_BENCH_RUN": uuid.uuid4().hex[:8]})
                wait_for_quiescence(deployment, servers[1], vhost, timeout=600)
                if backlog:
                    rows.append(("cunban filing, c=16, downstream consumers stopped",
                                 consumers_stopped(deployment, base, filing_env, seconds, servers[1], vhost)))
                    finish(rows, costs, None)
                    return
            else:
                rate, p50, p99 = broker_round_trips(amqp_uri, 3000, 1)
                rows.append(("raw kombu request/reply, 1 client", {"rps": rate, "p50": p50, "p99": p99}))
                rate16, p50_16, p99_16 = broker_round_trips(amqp_uri, 8000, 16)
                rows.append(("raw kombu request/reply, 16 clients", {"rps": rate16, "p50": p50_16, "p99": p99_16}))
                rows.append(("gateway GET /healthz, c=16", wrk(f"{base}/healthz", 16, seconds)))
            idle = idle_cpu(deployment, seconds)
            print("idle: CPU ms per second, by process: "
                  + ", ".join(f"{name} {ms:.1f}" for name, ms in idle.items()), flush=True)

            loads = [quick] if quick else [(1, 0), (16, 0), (64, 0), (16, PAUSE_MS)]
            for connections, pause in loads:
                before = lag_buckets(deployment.metrics_ports["evaluation"])
                hop_before = {hop: buckets(*where) for hop, where in hops(deployment).items()}
                batched_before = batch_sizes(deployment)
                cpu_before, window = cpu_seconds(processes(deployment)), time.monotonic()
                sampled = {name: process.proc.pid for name, process in deployment.processes.items()}
                tag = f"c{connections}" + (f"-eachpausing{pause}ms" if pause else "")
                samplers = profile_while(sampled, seconds, logs, tag) if profile else []
                result = wrk(base, connections, seconds, "filing.lua",
                             {**filing_env, "CUNBAN_BENCH_RUN": f"c{connections}-{uuid.uuid4().hex[:6]}",
                              "CUNBAN_BENCH_PAUSE_MS": str(pause)})
                caught_up = wait_for_quiescence(deployment, servers[1], vhost, timeout=600)
                after = lag_buckets(deployment.metrics_ports["evaluation"])
                print(f"  {slow_shares(hop_before, {hop: buckets(*where) for hop, where in hops(deployment).items()})}",
                      flush=True)
                print(f"  {per_batch(batched_before, batch_sizes(deployment))}", flush=True)
                result |= {"lag_p50": quantile(0.5, before, after), "lag_p99": quantile(0.99, before, after),
                           "catch_up_s": caught_up}
                for sampler in samplers:
                    sampler.wait(timeout=60)
                label = f"c={connections}" + (f", each pausing {pause // 2}–{pause * 3 // 2} ms" if pause else "")
                rows.append((f"cunban filing, {label}", result))
                cost = cpu_per_request(deployment, cpu_before, result["rps"] * seconds, idle,
                                       time.monotonic() - window)
                costs.append((label, tag, cost))
                print(f"  filing {label}: {result}", flush=True)
            if quick:
                finish(rows, costs, logs if profile else None)
                return

            rows.append(("cunban filing, c=16, downstream consumers stopped",
                         consumers_stopped(deployment, base, filing_env, seconds, servers[1], vhost)))

            rows.append(("cunban market-day mix, c=16", market_day_mix(base, agent, supervisor, token, seconds)))

            monolith_url = make_database("monolith")
            prepare_monolith(template.replace("{service}", "intake"), monolith_url)
            port = free_port()
            monolith = Process([], {"CUNBAN_BENCH_MONOLITH_DB": monolith_url}, logs / "monolith.log",
                               command=[sys.executable, str(ROOT / "bench" / "monolith.py"), str(port)])
            wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200, 60,
                       "the monolith", monolith)
            for connections, pause in ((1, 0), (16, 0), (64, 0), (16, PAUSE_MS)):
                label = f"c={connections}" + (f", each pausing {pause // 2}–{pause * 3 // 2} ms" if pause else "")
                rows.append((f"monolith filing, {label}", wrk(
                    f"http://127.0.0.1:{port}", connections, seconds, "filing.lua",
                    {**filing_env, "CUNBAN_BENCH_RUN": f"m{connections}-{uuid.uuid4().hex[:6]}",
                     "CUNBAN_BENCH_PAUSE_MS": str(pause)})))
        finally:
            if monolith is not None:
                monolith.stop()
            deployment.stop_all()
    finish(rows, costs, logs if profile else None)


def consumers_stopped(deployment: Deployment, base: str, filing_env: dict[str, str], seconds: int, rabbit_api: str,
                      vhost: str) -> dict[str, float]:
    """The synchronous path alone: the consumers that do the downstream work (approval cases, figures,
    market-day links) stopped, their events waiting in their queues; then how fast they work the backlog
    off once started again (events_per_s: filings a second)."""
    downstream = ("approvals", "scheduling", "evaluation")
    for name in downstream:
        deployment.stop(name)
    result = wrk(base, 16, seconds, "filing.lua", {**filing_env, "CUNBAN_BENCH_RUN": uuid.uuid4().hex[:8]})
    started = time.monotonic()
    for name in downstream:
        deployment.restart(name)
    wait_for_quiescence(deployment, rabbit_api, vhost, timeout=900)
    result["catch_up_s"] = time.monotonic() - started
    result["events_per_s"] = result["rps"] * seconds / result["catch_up_s"]
    print(f"  filing alone: {result}; after the restart, {per_batch({}, batch_sizes(deployment))}", flush=True)
    return result


def finish(rows: list[tuple[str, dict[str, float]]], costs: list[tuple[str, str, dict[str, float]]],
           profiles: Path | None) -> None:
    report(rows)
    print("\nCPU ms per filing, by process (user + system from /proc, less the idle rate over the window):")
    for label, _, cost in costs:
        parts = ", ".join(f"{name} {ms:.1f}" for name, ms in cost.items())
        print(f"{label}: total {sum(cost.values()):.1f} — {parts}")
    if profiles is not None:
        for _, tag, cost in costs:
            for name in cost:
                path = profiles / f"{name}-{tag}.txt"
                if path.exists():
                    print("\n".join(hot_spots(path)))


def market_day_mix(base: str, agent: dict[str, str], supervisor: dict[str, str], token: str,
                   seconds: int) -> dict[str, float]:
    """Cases waiting for acceptance and receipts to look up, filed first; then the mix under wrk."""
    receipts = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(400):
            response = client.post("/applications", json=CASE, headers=agent)
            response.raise_for_status()
            receipts.append(response.json()["receipt_no"])
        wait_until(lambda: client.get(f"/applications/{receipts[-1]}/approval", headers=supervisor).status_code
                   == 200, 120, "approvals to open the cases")
    files = Path(tempfile.mkdtemp(prefix="cunban-mix-"))
    (files / "receipts").write_text("\n".join(receipts) + "\n")
    (files / "cases").write_text("\n".join(receipts) + "\n")
    return wrk(base, 16, seconds, "market_day.lua", {
        "CUNBAN_BENCH_TOKEN": token, "CUNBAN_BENCH_SUPERVISOR_TOKEN": supervisor["Authorization"][7:],
        "CUNBAN_BENCH_FILING": json.dumps(FILING), "CUNBAN_BENCH_COMPLAINT": json.dumps(COMPLAINT),
        "CUNBAN_BENCH_RUN": uuid.uuid4().hex[:8], "CUNBAN_BENCH_RECEIPTS": str(files / "receipts"),
        "CUNBAN_BENCH_CASES": str(files / "cases")})


def prepare_monolith(intake_url: str, monolith_url: str) -> None:
    """intake's schema, and the catalogue, villages and stations intake learnt from the directory."""
    upgrade("intake", monolith_url)
    source, target = create_engine(intake_url), create_engine(monolith_url)
    with source.connect() as reading, target.begin() as writing:
        for name in ("rm_catalogue_items", "rm_villages", "rm_stations"):
            table = IntakeBase.metadata.tables[name]
            rows = [dict(r) for r in reading.execute(select(table)).mappings()]
            if rows:
                writing.execute(insert(table), rows)
    source.dispose()
    target.dispose()


def report(rows: list[tuple[str, dict[str, float]]]) -> None:
    print("\n| measurement | req/s | p50 ms | p99 ms | non-2xx | event lag p50 ms | event lag p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        lag = (f"{r['lag_p50']:.0f} | {r['lag_p99']:.0f}" if "lag_p50" in r else " | ")
        print(f"| {name} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r.get('non_2xx', 0):.0f} | {lag} |")
    for name, r in rows:
        if "catch_up_s" in r:
            print(f"{name}: caught up {r['catch_up_s']:.1f} s after the load"
                  + (f" ({r['events_per_s']:.0f} filings/s downstream)" if "events_per_s" in r else ""))
    by = dict(rows)
    if "monolith filing, c=16" not in by:
        return
    broker = by["raw kombu request/reply, 16 clients"]["rps"]
    print()
    for connections in (1, 16, 64):
        cunban, peer = by[f"cunban filing, c={connections}"], by[f"monolith filing, c={connections}"]
        print(f"c={connections}: cunban filing ÷ monolith = {cunban['rps'] / peer['rps']:.2f}; "
              f"÷ raw broker round trips (16 clients) = {cunban['rps'] / broker:.2f}")


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick = next(((int(c or 16), int(p or 0)) for a in sys.argv if a.startswith("--quick")
                  for c, _, p in [a.partition("=")[2].partition(",")]), None)
    main(int(arguments[0]) if arguments else 10, profile="--profile" in sys.argv, quick=quick,
         backlog="--backlog" in sys.argv)
