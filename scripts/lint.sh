#!/usr/bin/env bash
# plpgsql_check over every function of the project's schemas; any warning fails.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
supabase db lint --remote="$DB_URL" --yes --schema public,private --level warning --fail-on warning
