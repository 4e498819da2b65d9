#!/usr/bin/env bash
# Regenerates types/database.ts from the running database (`--check` compares instead).
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p "$ROOT/.db"
cd "$ROOT"
out="$(mktemp)"
supabase gen types typescript --remote="$DB_URL" --schema public > "$out" 2>"$ROOT/.db/gen-types.log" || { cat "$ROOT/.db/gen-types.log"; exit 1; }
if [ "${1:-}" = "--check" ]; then
  if ! diff -u types/database.ts "$out" > "$ROOT/.db/types.diff"; then
    echo "types: types/database.ts is stale; run npm run types. Diff:"; head -50 "$ROOT/.db/types.diff"; exit 1
  fi
  echo "types: types/database.ts matches the schema"
else
  mkdir -p types && mv "$out" types/database.ts && echo "types: wrote types/database.ts"
fi
# the lists and limits the edge functions share with SQL (supabase/functions/_shared/generated/constants.ts)
node "$ROOT/scripts/gen-constants.mjs" ${1:-}
# the functions' OpenAPI document, from their zod schemas, which are built on those constants (docs/functions.openapi.json)
"$ROOT/node_modules/.bin/deno" run --quiet --config "$ROOT/supabase/functions/deno.json" --allow-read --allow-write="$ROOT/docs" \
  "$ROOT/scripts/gen-functions-openapi.ts" ${1:-}
