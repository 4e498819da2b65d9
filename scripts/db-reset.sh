#!/usr/bin/env bash
# Recreate the database, apply the platform bootstrap (as supabase_admin), every migration
# (scripts/db-migrate.sh: the supabase CLI) and then seed.sql (as postgres, like `supabase db reset` against the platform).
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p "$ROOT/.db"

TEMPLATE_URL="${ADMIN_DB_URL%/*}/template1"
psql "$TEMPLATE_URL" -X -q -o /dev/null -v ON_ERROR_STOP=1 <<'SQL'
select pg_terminate_backend(pid) from pg_stat_activity
 where datname = 'postgres' and pid <> pg_backend_pid() and backend_type = 'client backend';
SQL
# pg_cron's launcher holds a connection to the database; drop with force. As on the platform, the
# database belongs to postgres (so does its public schema).
psql "$TEMPLATE_URL" -X -q -v ON_ERROR_STOP=1 -c 'drop database if exists postgres with (force)' -c 'create database postgres owner postgres'
# pg_cron's scheduler exits when its database is dropped and only starts with the server: restart
# the server that is actually serving the port (it may be another checkout's), so cron runs again.
DATA_DIR="$(psql "$TEMPLATE_URL" -XAtc 'show data_directory')"
LOG="$PGLOG"; [ "$DATA_DIR" = "$PGDATA_DIR" ] || LOG="$(dirname "$DATA_DIR")/postgres.log"
(cd / && as_postgres "$PGBIN/pg_ctl" -D "$DATA_DIR" -l "$LOG" -w -t 60 restart -m fast >/dev/null)
psql_admin -f "$ROOT/scripts/local-bootstrap.sql"
bash "$ROOT/scripts/db-migrate.sh" >/dev/null
psql_db -o /dev/null -f "$ROOT/supabase/seed.sql"
# PostgREST, when it runs, reloads its schema cache.
psql_db -c "notify pgrst, 'reload schema'"
echo "db:reset: $(ls "$ROOT"/supabase/migrations/*.sql | wc -l) migrations and seed.sql applied"
