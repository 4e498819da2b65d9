# Shared settings of the local stack; sourced by the other scripts.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
export PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
export PGDATA_DIR="${PGDATA_DIR:-$ROOT/.db/data}"
export PGRUN_DIR="$ROOT/.db/run"
export DB_PORT="${DB_PORT:-54322}"
export DB_URL="${DB_URL:-postgresql://postgres:postgres@127.0.0.1:${DB_PORT}/postgres}"
export SUPABASE_DB_URL="${SUPABASE_DB_URL:-$DB_URL}"
export FUNCTIONS_PORT="${FUNCTIONS_PORT:-54321}"
export FAKE_PROVIDER_PORT="${FAKE_PROVIDER_PORT:-54329}"
export SUPABASE_JWT_SECRET="${SUPABASE_JWT_SECRET:-super-secret-jwt-token-with-at-least-32-characters-long}"
export PGSSLMODE=disable
export PATH="$ROOT/node_modules/.bin:$PATH"

# Run a command as the postgres OS user (Postgres refuses to run as root).
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

psql_db() { psql "$DB_URL" -v ON_ERROR_STOP=1 -X -q "$@"; }
