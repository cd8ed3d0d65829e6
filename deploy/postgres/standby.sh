#!/bin/sh
# The entrypoint of compose's standby: the first time, a copy of the primary (pg_basebackup -R, which also
# writes how to follow it), then a hot standby streaming from it. Promoted (docs/OPERATIONS.md), it runs
# alone, waiting for no standby of its own: a second one is made from it, not from the lost primary
# (PRIMARY_HOST: the server to copy and follow).
set -eu
primary="${PRIMARY_HOST:-postgres}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -q -h "$primary" -U "$POSTGRES_USER" -d postgres; do sleep 1; done
  PGPASSWORD="$POSTGRES_PASSWORD" pg_basebackup -h "$primary" -U "$POSTGRES_USER" -D "$PGDATA" \
    --wal-method=stream --write-recovery-conf --checkpoint=fast
  echo "synchronous_standby_names = ''" >> "$PGDATA/postgresql.auto.conf"
  chmod 0700 "$PGDATA"
fi
exec postgres
