#!/usr/bin/env bash
# Drift check: the migrations and the schema files must describe the same database.
# Applies supabase/migrations/ to one fresh database and supabase/schemas/ (in the order of
# schema_paths in supabase/config.toml) to another, then requires `supabase db diff` between them
# to be empty, and the rows of every table (settings, lookup tables) and the pg_cron schedules
# to be equal. On failure it prints the difference and keeps both databases for inspection.
#   drift-check.sh                    the check (npm test runs it)
#   drift-check.sh --migration NAME   after changing supabase/schemas/: writes the draft of the
#                                     migration (what turns the migrations' database into the schema
#                                     files' one) to supabase/migrations/<UTC timestamp>_NAME.sql;
#                                     read it, complete it (data, backfills), then run the check
set -euo pipefail
draft=""
if [ "${1:-}" = "--migration" ]; then
  [[ "${2:-}" =~ ^[a-z0-9_]+$ ]] || { echo "drift: --migration takes a snake_case name" >&2; exit 2; }
  draft="$2"
fi
source "$(dirname "$0")/../env.sh"
cd "$ROOT"
BASE="${DB_URL%/*}"
MIG=crm_drift_migrations SCH=crm_drift_schemas
OUT="$ROOT/.db/drift"; mkdir -p "$OUT"
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

bash scripts/schema/scratch-db.sh "$MIG" "$SCH"
supabase migration up --remote="$BASE/$MIG" --yes >"$OUT/migrate.log" 2>&1 || { cat "$OUT/migrate.log"; exit 1; }
mapfile -t files < <(sed -n '/^schema_paths = \[/,/^\]/p' supabase/config.toml | grep -o '"[^"]*"' | tr -d '"')
[ ${#files[@]} -gt 0 ] || { echo "drift: schema_paths in supabase/config.toml lists no schema file"; exit 1; }
for f in "${files[@]}"; do
  psql "$BASE/$SCH" -X -q -v ON_ERROR_STOP=1 -o /dev/null -1 -f "supabase/$f" 2>"$OUT/schema.log" \
    || { echo "drift: supabase/$f does not apply after the files before it:"; cat "$OUT/schema.log"; exit 1; }
done

if [ -n "$draft" ]; then
  file="supabase/migrations/$(date -u +%Y%m%d%H%M%S)_${draft}.sql"
  supabase db diff --from "$BASE/$MIG" --to "$BASE/$SCH" 2>"$OUT/diff.log" \
    | grep -v -E '^(│|▲|●|◆|└|┌)|supabase issue feature' >"$OUT/draft.sql" || true
  if [ -s "$OUT/draft.sql" ]; then cp "$OUT/draft.sql" "$file"; echo "drift: wrote $file (a draft: read it)"; else echo "drift: nothing to migrate"; fi
  exit 0
fi

status=0
supabase db diff --from "$BASE/$SCH" --to "$BASE/$MIG" >"$OUT/diff.raw" 2>"$OUT/diff.log" || { cat "$OUT/diff.log"; exit 1; }
# pg-delta prints notes (box-drawn lines: kinds it does not manage, such as parameter ACLs) on stdout
grep -v -E '^(│|▲|●|◆|└|┌)|supabase issue feature|^[[:space:]]*$' "$OUT/diff.raw" >"$OUT/diff.sql" || true
if [ -s "$OUT/diff.sql" ]; then
  echo "drift: the migrations and the schema files differ; what turns the schema files' database into the migrations' ($OUT/diff.sql):"
  head -c 6000 "$OUT/diff.sql"; echo; status=1
fi
facts() {
  # audit_log is left out: its rows record how the settings rows got there (a migration may insert
  # them after the audit trigger exists, a schema file inserts them before), not what they are
  "$PGBIN/pg_dump" --data-only --inserts -n public -n private -T public.audit_log "$BASE/$1" 2>/dev/null | grep '^INSERT' \
    | sed -E "s/'[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+\+00'/'<timestamp>'/g" | sort
  psql "$BASE/$1" -XAtc "select jobname, schedule, command, active from cron.job order by jobname"
}
facts "$MIG" >"$OUT/migrations.rows"; facts "$SCH" >"$OUT/schemas.rows"
if ! diff -u "$OUT/migrations.rows" "$OUT/schemas.rows" >"$OUT/rows.diff"; then
  echo "drift: rows or cron schedules differ (- migrations, + schema files):"; head -50 "$OUT/rows.diff"; status=1
fi
if [ $status = 0 ]; then
  psql "$BASE/template1" -X -q -c "drop database if exists $MIG with (force)" -c "drop database if exists $SCH with (force)"
  echo "drift: none (${#files[@]} schema files = $(ls supabase/migrations/*.sql | wc -l) migrations)"
fi
exit $status
