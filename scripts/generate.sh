#!/usr/bin/env bash
# npm run generate -- --customers N [--chunk 100000] [--force]
# A believable, deterministic world at scale in the running database: N customers (auth.users +
# public.users) with bookings, items, payments, tickets, insurance, tags and consents. Set-based,
# in chunks (progress per chunk); triggers are skipped during the bulk load and customer facts
# are rebuilt once at the end. Refuses to run twice unless --force (then it adds nothing twice:
# chunks already present are skipped).
set -euo pipefail
source "$(dirname "$0")/env.sh"

customers=10000; chunk=100000; force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --customers) customers="$2"; shift 2 ;;
    --customers=*) customers="${1#*=}"; shift ;;
    --chunk) chunk="$2"; shift 2 ;;
    --force) force=1; shift ;;
    *) echo "generate: unknown argument $1 (use --customers N [--chunk N] [--force])" >&2; exit 2 ;;
  esac
done
[[ "$customers" =~ ^[0-9]+$ ]] && [ "$customers" -ge 1 ] || { echo "generate: --customers must be a positive integer" >&2; exit 2; }

existing=$(psql_db -At -c "select count(*) from public.users where email like '%@gen.example.test'")
if [ "$existing" -gt 0 ] && [ "$force" = 0 ]; then
  echo "generate: $existing generated customers exist already; run npm run db:reset first, or pass --force to add the missing chunks" >&2
  exit 1
fi

# a generated world is someone's data: npm start keeps it (even on what npm test left)
psql_db -q -c "comment on database postgres is null"
t0=$(date +%s%N)
secs_since() { local d=$(( ($(date +%s%N) - $1) / 100000000 )); echo "$(( d / 10 )).$(( d % 10 ))"; }
elapsed() { secs_since "$t0"; }
today=$(psql_db -At -c "select date_trunc('day', now())::text")

# Reference data the world needs (the seed has the same; created only where absent).
psql_db -o /dev/null <<'SQL'
insert into public.equipment_categories (slug, name)
select v.slug, v.name from (values ('excavators', 'Excavators'), ('scaffolding', 'Scaffolding'), ('generators', 'Generators'),
  ('lifts', 'Aerial lifts'), ('compactors', 'Compactors'), ('power-tools', 'Power tools')) v(slug, name)
 where not exists (select 1 from public.equipment_categories c where c.slug = v.slug);
insert into public.equipment (category_id, name)
select c.id, c.name || ' model ' || chr(64 + n) from public.equipment_categories c cross join generate_series(1, 3) n
 where not exists (select 1 from public.equipment e where e.category_id = c.id);
insert into public.customer_tags (name, color, description)
select v.name, v.color, v.description from (values
  ('VIP', '#D4AF37', 'High-value customers'), ('Construction firm', '#F97316', 'Professional builders'),
  ('Event planner', '#8B5CF6', 'Events and festivals'), ('Late payer', '#DC2626', 'Has paid late more than once'),
  ('Newsletter', '#0EA5E9', 'Asked for the newsletter'), ('Landscaping', '#16A34A', 'Gardens and landscaping'),
  ('Municipality', '#475569', 'Public sector buyer'), ('Homeowner', '#A16207', 'Private renovation'),
  ('Film production', '#DB2777', 'Film and TV sets'), ('Repeat renter', '#0D9488', 'Rents every season')) v(name, color, description)
 where not exists (select 1 from public.customer_tags t where lower(t.name) = lower(v.name));
SQL

echo "generate: $customers customers in chunks of $chunk (triggers off during load; facts rebuilt at the end)"
lo=1
while [ "$lo" -le "$customers" ]; do
  hi=$(( lo + chunk )); [ "$hi" -gt $(( customers + 1 )) ] && hi=$(( customers + 1 ))
  if [ "$force" = 1 ] && [ "$(psql_db -At -c "select count(*) from public.users where id = md5('gen-customer-$lo')::uuid")" = 1 ]; then
    echo "  customers $lo..$((hi - 1)): present, skipped"
  else
    psql_db -v lo="$lo" -v hi="$hi" -v today="$today" -f "$ROOT/scripts/generate-setup.sql" -f "$ROOT/scripts/generate.sql" >/dev/null
    done_n=$(( hi - 1 ))
    printf '  customers %s..%s done  (%d%%, %ss)\n' "$lo" "$done_n" $(( done_n * 100 / customers )) "$(elapsed)"
  fi
  lo=$hi
done

echo "generate: rebuilding customer facts ($(elapsed)s)"
fstart=$(date +%s%N)
psql_db -o /dev/null -c "select private.refresh_customer_facts(null)"
frebuild=$(secs_since "$fstart")
echo "generate: analyze ($(elapsed)s)"
psql_db -o /dev/null -c "set client_min_messages = error" -c "analyze"  # as postgres: shared catalogs are the superuser's
psql_db -c "select (select count(*) from public.users) as users, (select count(*) from public.bookings) as bookings,
  (select count(*) from public.booking_items) as booking_items, (select count(*) from public.payments) as payments,
  (select count(*) from public.manual_payments) as manual_payments, (select count(*) from public.support_tickets) as tickets,
  (select count(*) from public.support_messages) as messages, (select count(*) from public.insurance_documents) as insurance,
  (select count(*) from public.customer_tag_members) as tag_members, (select count(*) from public.customer_consent) as consents,
  (select count(*) from public.customer_facts) as facts"
echo "{\"figure\":\"facts_full_rebuild_seconds\",\"customers\":$customers,\"value\":$frebuild}"
echo "generate: done in $(elapsed)s (full facts rebuild: ${frebuild}s)"
