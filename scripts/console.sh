#!/usr/bin/env bash
# The admin console (console/, docs/console.md): builds it and serves it on CONSOLE_PORT with the
# local sign-in, against the API gateway on FUNCTIONS_PORT (/rest/v1, /functions/v1). Called by
# scripts/start.sh once the gateway is up; runs in the foreground until killed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
export CONSOLE_PORT="${CONSOLE_PORT:-54323}"
vite build -c console/vite.config.ts --logLevel warn
exec node scripts/console-server.mjs
