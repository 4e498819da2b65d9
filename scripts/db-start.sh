#!/usr/bin/env bash
# Start the project-local Postgres 15 (pg_cron, pgTAP, plpgsql_check) on 127.0.0.1:54322.
# Installs what is missing, creates the cluster once, applies the local Supabase bootstrap.
# Running it again is harmless and quick.
set -euo pipefail
source "$(dirname "$0")/env.sh"

need=()
for pkg in postgresql-15 postgresql-15-cron postgresql-15-pgtap postgresql-15-plpgsql-check libtap-parser-sourcehandler-pgtap-perl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "db:start: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$DB_PORT"; then
  mkdir -p "$ROOT/.db" "$PGRUN_DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$ROOT/.db" "$PGRUN_DIR"
  if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    echo "db:start: creating cluster in $PGDATA_DIR"
    pwfile="$(mktemp)"; echo postgres > "$pwfile"; chmod 644 "$pwfile"
    as_postgres "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres --pwfile="$pwfile" \
      --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    as_postgres tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null <<CONF
# --- rental-crm local stack ---
listen_addresses = '127.0.0.1'
port = $DB_PORT
unix_socket_directories = '$PGRUN_DIR'
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.timezone = 'UTC'
timezone = 'UTC'
log_timezone = 'UTC'
max_connections = 200
shared_buffers = 2GB
work_mem = 64MB
maintenance_work_mem = 1GB
effective_cache_size = 12GB
max_wal_size = 8GB
checkpoint_timeout = 15min
random_page_cost = 1.1
jit = off
CONF
  fi
  as_postgres "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$ROOT/.db/postgres.log" -w -t 60 start >/dev/null
fi

for _ in $(seq 1 60); do
  "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$DB_PORT" && break
  sleep 0.5
done
psql_db -f "$ROOT/scripts/local-bootstrap.sql"
echo "db:start: Postgres 15 ready at $DB_URL"
