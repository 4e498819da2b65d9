#!/usr/bin/env bash
# pgTAP through pg_prove: every supabase/tests/**/*.test.sql (or the paths given), after the shared helpers.
set -euo pipefail
source "$(dirname "$0")/env.sh"
psql_db -f "$ROOT/supabase/tests/helpers.sql" >/dev/null
mapfile -t files < <(find "${@:-$ROOT/supabase/tests}" -name '*.test.sql' | sort)
PGPASSWORD=postgres pg_prove -h 127.0.0.1 -p "$DB_PORT" -U postgres -d postgres \
  ${PGTAP_JOBS:+-j "$PGTAP_JOBS"} "${files[@]}"
