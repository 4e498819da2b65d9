#!/usr/bin/env bash
# The console's browser tests drive Debian's Chromium (the registry's browser downloads are not
# reachable here). Installs it when missing; prints its path.
set -euo pipefail
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "console: installing chromium (apt)" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  for i in $(seq 1 60); do
    if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2; then break; fi
    # another apt run holds the lock, or the package lists are stale
    [ "$i" = 1 ] && $SUDO apt-get update -q >&2 || true
    sleep 5
  done
fi
[ -x "$CHROMIUM" ] || { echo "console: chromium is missing at $CHROMIUM" >&2; exit 1; }
echo "$CHROMIUM"
