#!/usr/bin/env bash
# The whole local stack: database (reset and seeded), edge functions gateway, fake provider,
# and the local dispatch loop. Prints what runs where and JWTs ready for curl.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

bash scripts/db-start.sh
bash scripts/db-reset.sh

[ -f supabase/functions/.env ] || cp supabase/functions/.env.example supabase/functions/.env
# Locally there is no SendGrid to copy a webhook key from: make a key pair once, keep the private
# half in .db/ so local scripts can sign test events for sendgrid-events.
if grep -q '^SENDGRID_WEBHOOK_PUBLIC_KEY=$' supabase/functions/.env; then
  key="$(node -e '
    const { generateKeyPairSync } = require("node:crypto");
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    require("node:fs").writeFileSync(".db/sendgrid-webhook-private.pem", privateKey.export({ format: "pem", type: "pkcs8" }));
    process.stdout.write(publicKey.export({ format: "der", type: "spki" }).toString("base64"));')"
  sed -i "s|^SENDGRID_WEBHOOK_PUBLIC_KEY=$|SENDGRID_WEBHOOK_PUBLIC_KEY=$key|" supabase/functions/.env
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

DENO="deno run --allow-net --allow-env --allow-read --allow-sys --config supabase/functions/deno.json"
FAKE_PROVIDER_PORT=$FAKE_PROVIDER_PORT $DENO scripts/fake-provider.ts &
pids+=($!)
FUNCTIONS_PORT=$FUNCTIONS_PORT $DENO scripts/functions-gateway.ts &
pids+=($!)
if [ -f scripts/dispatch-loop.ts ]; then
  $DENO scripts/dispatch-loop.ts &
  pids+=($!)
fi

for _ in $(seq 1 120); do
  curl -s -o /dev/null "http://127.0.0.1:$FUNCTIONS_PORT/functions/v1/health" && break
  sleep 0.5
done

SERVICE_JWT="$(node scripts/mint-jwt.mjs service_role)"
ADMIN_ID="$(psql_db -At -c "select id from public.users where email = 'ada.admin@rental.test'")"
ADMIN_JWT="$(node scripts/mint-jwt.mjs authenticated "$ADMIN_ID")"
CUSTOMER_ID="$(psql_db -At -c "select id from public.users where email = 'cora.customer@rental.test'")"
FN="http://127.0.0.1:$FUNCTIONS_PORT/functions/v1"

cat <<INFO

  Rental CRM local stack
  ----------------------
  Postgres 15 (pg_cron, pgTAP)   $DB_URL
  Edge functions                 $FN/<name>
  Fake SendGrid/Twilio/Expo      http://127.0.0.1:$FAKE_PROVIDER_PORT   (recorded requests: /__requests)

  SERVICE_JWT=$SERVICE_JWT
  ADMIN_JWT=$ADMIN_JWT     (ada.admin@rental.test: admin + communications)

  curl -s -H "Authorization: Bearer \$ADMIN_JWT" $FN/health
INFO
SEGMENT_ID="$(psql_db -At -c "select id from public.customer_segments where name = 'Newsletter readers'")"
cat <<CURLS
  curl -s -H "Authorization: Bearer \$ADMIN_JWT" "$FN/timeline-export?customer_id=$CUSTOMER_ID"
  curl -s -X POST -H "Authorization: Bearer \$ADMIN_JWT" -H 'Content-Type: application/json' \\
    -d '{"audience":{"definition":{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"Oslo"}]}}}' \\
    $FN/communications-audience
  curl -s -X POST -H "Authorization: Bearer \$ADMIN_JWT" -H 'Content-Type: application/json' \\
    -d '{"name":"Winter offers","channel":"email","content":{"subject":"Winter offers, {{first_name}}","text":"Hello {{full_name}}"},"audience":{"segment_id":"$SEGMENT_ID"}}' \\
    $FN/bulk-message
  curl -s http://127.0.0.1:$FAKE_PROVIDER_PORT/__requests     # what the fake SendGrid received
CURLS
echo
# --- Admin console (issue 14, docs/console.md): builds console/ and serves it on CONSOLE_PORT.
export CONSOLE_PORT="${CONSOLE_PORT:-54323}"
bash scripts/console.sh &
pids+=($!)
echo "  Admin console                  http://127.0.0.1:$CONSOLE_PORT   (sign in by picking a seeded login)"
# ---
echo
echo "  Ctrl-C stops everything (the database keeps running; it is project-local in .db/)."
wait
