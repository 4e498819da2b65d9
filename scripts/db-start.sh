#!/usr/bin/env bash
# Start the local Postgres 15 (pg_cron, pgTAP, plpgsql_check) on 127.0.0.1:$DB_PORT with Supabase's
# hosted roles: superuser supabase_admin, a demoted postgres. Installs what is missing, creates the
# cluster once (outside the checkout, see DB_HOME in env.sh), applies the local platform bootstrap.
# A cluster made by the earlier scripts (postgres as its bootstrap superuser, data in .db/data)
# cannot be demoted: it is stopped and replaced. Running this again is harmless and quick.
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

pg_ctl_as_postgres() { (cd / && as_postgres "$PGBIN/pg_ctl" "$@"); }

# A server of the old layout on our port: postgres is its bootstrap superuser (oid 10).
if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$DB_PORT"; then
  old="$(PGPASSWORD=postgres psql -h 127.0.0.1 -p "$DB_PORT" -U postgres -d postgres -XAtc \
    "select current_setting('data_directory') from pg_roles where rolname = 'postgres' and oid = 10 and rolsuper" 2>/dev/null || true)"
  if [ -n "$old" ]; then
    echo "db:start: the server on port $DB_PORT (data in $old) has postgres as its superuser, unlike Supabase;"
    echo "db:start: stopping it and creating a cluster with supabase_admin as superuser in $PGDATA_DIR"
    pg_ctl_as_postgres -D "$old" -m fast -w stop >/dev/null
    if [ "$old" = "$ROOT/.db/data" ]; then rm -rf "$ROOT/.db/data" "$ROOT/.db/run"; fi
  fi
fi
if [ -f "$ROOT/.db/data/PG_VERSION" ] && [ "$PGDATA_DIR" != "$ROOT/.db/data" ]; then
  echo "db:start: removing the cluster of the earlier layout in .db/data (the database is rebuilt by db:reset)"
  pg_ctl_as_postgres -D "$ROOT/.db/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$ROOT/.db/data" "$ROOT/.db/run"
fi

if ! "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$DB_PORT"; then
  mkdir -p "$ROOT/.db"
  if [ "$(id -u)" = 0 ]; then
    install -d -o postgres -g postgres -m 0755 "$(dirname "$DB_HOME")"
    install -d -o postgres -g postgres -m 0700 "$DB_HOME"
  fi
  as_postgres mkdir -p "$PGRUN_DIR"
  if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    echo "db:start: creating cluster in $PGDATA_DIR (superuser supabase_admin)"
    pwfile="$(mktemp)"; echo postgres > "$pwfile"; chmod 644 "$pwfile"
    (cd / && as_postgres "$PGBIN/initdb" -D "$PGDATA_DIR" -U supabase_admin --pwfile="$pwfile" \
      --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null)
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
  pg_ctl_as_postgres -D "$PGDATA_DIR" -l "$PGLOG" -o "-p $DB_PORT" -w -t 60 start >/dev/null
fi

for _ in $(seq 1 60); do
  "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$DB_PORT" && break
  sleep 0.5
done
# The server on DB_PORT must be this checkout's cluster: another checkout's would get this one's
# migrations, resets and tests (and lose its rows to them).
serving="$(psql_admin -XAtc 'show data_directory' 2>/dev/null || true)"
if [ "$serving" != "$PGDATA_DIR" ]; then
  echo "db:start: port $DB_PORT is served by another cluster (${serving:-unknown: not a cluster of this project}), not this checkout's ($PGDATA_DIR)." >&2
  echo "  Stop that server, or give this checkout another port: DB_PORT=<port> (scripts/env.sh)." >&2
  exit 1
fi
psql_admin -f "$ROOT/scripts/local-bootstrap.sql"
echo "db:start: Postgres 15 ready at $DB_URL (superuser: supabase_admin; postgres as on Supabase)"
