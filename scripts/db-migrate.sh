#!/usr/bin/env bash
# Apply the migrations the database does not have yet (`supabase migration up`), keeping its rows.
# A database that has a migration this checkout lacks (made on another branch) is left alone:
# `npm run db:reset` starts it again from the migrations and the seed. Migrations older than the
# database's newest (a merged branch's) wait for `npm run db:migrate -- --include-all`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p "$ROOT/.db"

applied() {
  if [ "$(psql_db -XAtc "select to_regclass('supabase_migrations.schema_migrations') is not null")" = t ]; then
    psql_db -XAtc "select count(*) from supabase_migrations.schema_migrations"
  else
    echo 0
  fi
}
before="$(applied)"
if ! (cd "$ROOT" && supabase migration up --remote="$DB_URL" --yes "$@" >/dev/null 2>"$ROOT/.db/migrate.log"); then
  cat "$ROOT/.db/migrate.log" >&2
  echo "db:migrate: supabase migration up failed (above); the failing migration is not applied and the rows are kept." >&2
  echo "  Migrations older than the database's newest (a merged branch's): npm run db:migrate -- --include-all." >&2
  echo "  A history with migrations this checkout lacks: npm run db:reset (or npm start -- --reset) starts it again from the migrations and the seed: its rows are lost." >&2
  exit 1
fi
psql_db -c "notify pgrst, 'reload schema'"
echo "db:migrate: $(( $(applied) - before )) new migration(s) applied; the database keeps its rows"
