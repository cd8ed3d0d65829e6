#!/bin/sh
# Runs once when the primary's container initialises: from its first real start, a commit is acknowledged
# only once the standby (postgres-standby) has it too, so losing the primary's disk or container loses no
# acknowledged filing (as CloudNativePG's `postgresql.synchronous` does in k8s/). Set with ALTER SYSTEM, read
# at the next start: the initialisation's own server, with no standby yet, would wait for one for ever.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -c "ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (*)'"
