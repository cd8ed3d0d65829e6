#!/usr/bin/env bash
# Start RabbitMQ and PostgreSQL from the OS's packages (Debian) where no Docker engine runs, as in CI, and
# install Prometheus' binaries (promtool, prometheus) for the operations tests and a browser (chromium, a
# CJK font, poppler's PDF tools) for the page journeys.
# Idempotent: installs what is missing, starts what is not running, creates the cunban role.
# Usage: deploy/scripts/local-servers.sh [start|stop]
set -euo pipefail

PG_USER=${CUNBAN_PG_USER:-cunban}
PG_PASSWORD=${CUNBAN_PG_PASSWORD:-cunban}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

apt_updated=0
need() {  # need PACKAGE COMMAND: install PACKAGE unless COMMAND exists
  if ! command -v "$2" >/dev/null 2>&1 && [ ! -e "$2" ]; then
    if [ $apt_updated -eq 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$1" >/dev/null
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_rabbitmq() {
  need rabbitmq-server /usr/sbin/rabbitmq-server
  if ! port_open 5672; then
    $SUDO chown -R rabbitmq:rabbitmq /var/lib/rabbitmq /var/log/rabbitmq
    $SUDO su -s /bin/sh rabbitmq -c 'HOME=/var/lib/rabbitmq rabbitmq-server -detached' >/dev/null 2>&1
  fi
  for _ in $(seq 1 300); do
    if port_open 5672 && $SUDO rabbitmq-diagnostics -q check_running >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
  port_open 5672 || { echo "RabbitMQ did not start" >&2; exit 1; }
  $SUDO rabbitmq-plugins enable -q rabbitmq_management rabbitmq_prometheus >/dev/null
  for _ in $(seq 1 150); do port_open 15672 && break; sleep 0.2; done
  port_open 15672 || { echo "RabbitMQ management API did not start" >&2; exit 1; }
}

start_postgres() {
  need postgresql /usr/bin/pg_lsclusters
  local version cluster
  version=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
  cluster=$(pg_lsclusters -h | awk 'NR==1 {print $2}')
  if [ -z "$version" ]; then
    version=$(ls /usr/lib/postgresql | sort -n | tail -1)
    cluster=main
    $SUDO pg_createcluster "$version" "$cluster" >/dev/null
  fi
  if ! port_open 5432; then
    $SUDO pg_ctlcluster "$version" "$cluster" start
  fi
  for _ in $(seq 1 150); do port_open 5432 && break; sleep 0.2; done
  $SUDO su -s /bin/sh postgres -c "psql -q -v ON_ERROR_STOP=1" <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
END \$\$;
-- DROP DATABASE ... WITH (FORCE) of a scratch database must also end an autovacuum worker busy in it,
-- and PostgreSQL asks for pg_signal_backend to do that (such a worker belongs to no role).
GRANT pg_signal_backend TO $PG_USER;
SQL
}

tools() {  # Prometheus' own binaries: promtool checks the alert rules, prometheus scrapes in the ops tests;
  # a browser, a Chinese font and PDF tools for the page journeys (tests/browser)
  need prometheus /usr/bin/promtool
  need kubernetes-client kubectl  # renders the overlays with its built-in kustomize (tests/unit/test_kubernetes.py)
  need chromium /usr/bin/chromium
  need fonts-wqy-microhei /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
  need poppler-utils /usr/bin/pdftoppm
}

case "${1:-start}" in
  start) start_rabbitmq; start_postgres; tools ;;
  stop)
    $SUDO rabbitmqctl -q stop >/dev/null 2>&1 || true
    for c in $(pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}'); do $SUDO pg_ctlcluster "${c%/*}" "${c#*/}" stop || true; done ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
