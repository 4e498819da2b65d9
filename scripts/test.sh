#!/usr/bin/env bash
# The one command that proves everything, in CI's order: database up and reset (hosted roles:
# postgres is not a superuser), pgTAP, TypeScript tests on Node 22 (the global setup starts the real
# PostgREST and the API gateway on the test ports; supabase-js runs through them), advisors (fail
# on warn), plpgsql_check lint, types freshness, schema drift.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
require_node22
t0=$SECONDS
step() { echo; echo "==> $* ($((SECONDS - t0))s)"; }

step "db:start"; bash scripts/db-start.sh
step "db:reset"; bash scripts/db-reset.sh
# what the tests leave is not anyone's data: the next `npm start` starts from the seed again
psql_db -c "comment on database postgres is 'npm test'"
step "pgTAP"; bash scripts/test-db.sh
step "typecheck"; tsc --noEmit -p tsconfig.json
step "console: Chromium for the browser tests, typecheck"; bash scripts/ensure-chromium.sh >/dev/null; tsc --noEmit -p console/tsconfig.json
step "TypeScript tests (vitest, with the console's browser tests)"; vitest run
step "advisors"; bash scripts/advisors.sh
step "lint (plpgsql_check)"; bash scripts/lint.sh
step "types freshness"; bash scripts/gen-types.sh --check
step "schema drift (migrations = supabase/schemas)"; bash scripts/schema/drift-check.sh
echo; echo "npm test: all green in $((SECONDS - t0))s"
