#!/usr/bin/env bash
# Throughput and latency of the embedded system (cunban up: SQLite, in-process broker) under wrk.
# Prints one line per path and load: path, connections, requests/s, p50, p99.
# Usage: bench/embedded_http.sh [seconds-per-run]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
port=${BENCH_PORT:-8199}
data=$(mktemp -d)
CUNBAN_DATA_DIR=$data CUNBAN_LOG_LEVEL=WARNING .venv/bin/cunban up --port "$port" >"$data/cunban.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

printf "%-45s %5s %10s %9s %9s\n" path conns "req/s" p50 p99
for path in /healthz /public/townships/431099101/catalogue; do
  for conns in 1 16; do
    out=$(wrk -t"$(( conns > 1 ? 2 : 1 ))" -c"$conns" -d"${seconds}s" --latency "http://127.0.0.1:$port$path")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    printf "%-45s %5s %10s %9s %9s\n" "$path" "$conns" "$rps" "$p50" "$p99"
  done
done
