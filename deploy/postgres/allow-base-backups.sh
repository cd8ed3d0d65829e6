#!/bin/sh
# Runs once when the PostgreSQL container initialises: the backup service takes base backups over a
# replication connection (pg_basebackup), which the image's pg_hba.conf allows only from the container itself.
set -eu
echo "host replication $POSTGRES_USER all scram-sha-256" >> "$PGDATA/pg_hba.conf"
