#!/usr/bin/env bash
# npm run bench:segments — runs scripts/bench-segments.ts (Deno) against the running database and
# keeps a copy of the output in bench-results/ (gitignored). Generate the world first:
# npm run generate -- --customers 1000000
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
mkdir -p bench-results
out="bench-results/segments-$(date -u +%Y%m%dT%H%M%SZ).txt"
DB_URL="$DB_URL" deno run --allow-net --allow-env --allow-sys --allow-read --config supabase/functions/deno.json \
  scripts/bench-segments.ts "$@" | tee "$out"
echo "bench:segments: output kept in $out"
