#!/bin/sh
# Runs once when the PostgreSQL container initialises: one database per service, owned by the app role.
set -eu
for db in $CUNBAN_DATABASES; do
  echo "creating database $db"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\""
done
