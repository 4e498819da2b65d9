#!/usr/bin/env bash
# Recreate the database, apply every migration with the supabase CLI, then seed.sql.
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p "$ROOT/.db"

ADMIN_URL="postgresql://postgres:postgres@127.0.0.1:${DB_PORT}/template1"
psql "$ADMIN_URL" -X -q -o /dev/null -v ON_ERROR_STOP=1 <<'SQL'
select pg_terminate_backend(pid) from pg_stat_activity
 where datname = 'postgres' and pid <> pg_backend_pid() and backend_type = 'client backend';
SQL
# pg_cron's launcher holds a connection to the database; drop with force.
psql "$ADMIN_URL" -X -q -v ON_ERROR_STOP=1 -c 'drop database if exists postgres with (force)' -c 'create database postgres'
# pg_cron's scheduler exits when its database is dropped and only starts with the server: restart
# the server that is actually serving the port (it may be another checkout's), so cron runs again.
DATA_DIR="$(psql "$ADMIN_URL" -XAtc 'show data_directory')"
as_postgres "$PGBIN/pg_ctl" -D "$DATA_DIR" -l "$(dirname "$DATA_DIR")/postgres.log" -w -t 60 restart -m fast >/dev/null
psql_db -f "$ROOT/scripts/local-bootstrap.sql"
(cd "$ROOT" && supabase migration up --remote="$DB_URL" --yes >/dev/null 2>"$ROOT/.db/migrate.log") || { cat "$ROOT/.db/migrate.log"; exit 1; }
psql_db -o /dev/null -f "$ROOT/supabase/seed.sql"
echo "db:reset: $(ls "$ROOT"/supabase/migrations/*.sql | wc -l) migrations and seed.sql applied"
