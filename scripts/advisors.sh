#!/usr/bin/env bash
# Supabase's splinter advisors against the local database; any finding at warn or above fails.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
supabase db advisors --remote="$DB_URL" --yes --type all --level warn --fail-on warn
