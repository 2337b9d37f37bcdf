#!/bin/sh
# Entry point of the CI stand-in for the official postgres image (postgres.Dockerfile):
# initialises an empty data directory once, then runs the server in the foreground.
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb --pgdata="$PGDATA" --username="$user" --auth=trust --encoding=UTF8 --locale=C >/dev/null
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  printf 'host all all 0.0.0.0/0 trust\nhost all all ::/0 trust\n' >>"$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    echo "CREATE DATABASE \"$db\"" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "initialised $PGDATA (user $user, database $db)"
fi
exec postgres -D "$PGDATA" "$@"
