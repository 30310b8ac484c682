#!/bin/sh
# Makes the database cluster at the first start (password from the environment, through a file
# only the postgres user reads), then runs PostgreSQL on 127.0.0.1:$POSTGRES_PORT.
set -eu
: "${POSTGRES_USER:?set POSTGRES_USER}"
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
data=/data/pgdata
if [ ! -s "$data/PG_VERSION" ]; then
  umask 077
  pw="$(mktemp /tmp/pw.XXXXXX)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pw"
  initdb -D "$data" -U "$POSTGRES_USER" --pwfile="$pw" --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pw"
  pg_ctl -D "$data" -o "-c listen_addresses='' -c unix_socket_directories=/run/postgresql" -w start >/dev/null
  PGPASSWORD="$POSTGRES_PASSWORD" createdb -h /run/postgresql -U "$POSTGRES_USER" "${POSTGRES_DB:-torpor}"
  pg_ctl -D "$data" -m fast -w stop >/dev/null
  echo "postgres-start: made the cluster and database ${POSTGRES_DB:-torpor}"
fi
exec postgres -D "$data" -c listen_addresses=127.0.0.1 -c port="$POSTGRES_PORT" \
  -c unix_socket_directories=/run/postgresql -c max_connections=200
