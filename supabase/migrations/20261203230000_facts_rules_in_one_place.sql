-- Each customer fact's rule in one place (supabase/schemas/customer_facts.sql): a rule function
-- per kind of facts (null: every customer), listed in private.facts_rules(), and one writer,
-- private.write_facts, that the facts triggers and the full rebuild both use. Before, the rebuild
-- repeated every rule of the seven per-kind refreshers, which are gone.
SET local check_function_bodies = off;

DROP FUNCTION "private"."customer_risk_scores"(uuid[]);

DROP FUNCTION "private"."refresh_booking_facts"(uuid[]);

DROP FUNCTION "private"."refresh_consent_facts"(uuid[]);

DROP FUNCTION "private"."refresh_customer_facts"(uuid[]);

DROP FUNCTION "private"."refresh_engagement_facts"(uuid[]);

DROP FUNCTION "private"."refresh_profile_facts"(uuid[]);

DROP FUNCTION "private"."refresh_risk_facts"(uuid[]);

DROP FUNCTION "private"."refresh_spend_facts"(uuid[]);

DROP FUNCTION "private"."refresh_tag_facts"(uuid[]);

CREATE OR REPLACE FUNCTION private.booking_facts (
  customer_ids uuid[]
)
  RETURNS TABLE (
    customer_id        uuid,
    booking_count      integer,
    last_booking_at    timestamp with time zone,
    equipment_category text[]
  )
  LANGUAGE plpgsql
  STABLE
  SET search_path TO ''
  AS $function$
begin
  -- bookings that are not cancelled: how many, the latest, and the categories of their equipment
  return query
  select u.id, coalesce(b.booking_count, 0), b.last_booking_at, coalesce(c.slugs, '{}')
    from public.users u
    left join (
      select bk.customer_id, count(*)::integer as booking_count, max(bk.created_at) as last_booking_at
        from public.bookings bk
       where bk.status <> 'cancelled'
         and (booking_facts.customer_ids is null or bk.customer_id = any (booking_facts.customer_ids))
       group by bk.customer_id
    ) b on b.customer_id = u.id
    left join (
      select bk.customer_id, array_agg(distinct ec.slug order by ec.slug) as slugs
        from public.bookings bk
        join public.booking_items bi on bi.booking_id = bk.id
        join public.equipment e on e.id = bi.equipment_id
        join public.equipment_categories ec on ec.id = e.category_id
       where bk.status <> 'cancelled'
         and (booking_facts.customer_ids is null or bk.customer_id = any (booking_facts.customer_ids))
       group by bk.customer_id
    ) c on c.customer_id = u.id
   where booking_facts.customer_ids is null or u.id = any (booking_facts.customer_ids);
end
$function$;

CREATE OR REPLACE FUNCTION private.consent_facts (
  customer_ids uuid[]
)
  RETURNS TABLE (
    customer_id   uuid,
    consent_email boolean,
    consent_sms   boolean,
    consent_push  boolean
  )
  LANGUAGE plpgsql
  STABLE
  SET search_path TO ''
  AS $function$
begin
  -- a channel is consented when the customer's consent row for it is enabled
  return query
  select u.id, coalesce(c.email, false), coalesce(c.sms, false), coalesce(c.push, false)
    from public.users u
    left join (
      select cc.customer_id,
             bool_or(cc.enabled) filter (where cc.channel = 'email') as email,
             bool_or(cc.enabled) filter (where cc.channel = 'sms') as sms,
             bool_or(cc.enabled) filter (where cc.channel = 'push') as push
        from public.customer_consent cc
       where consent_facts.customer_ids is null or cc.customer_id = any (consent_facts.customer_ids)
       group by cc.customer_id
    ) c on c.customer_id = u.id
   where consent_facts.customer_ids is null or u.id = any (consent_facts.customer_ids);
end
$function$;

CREATE OR REPLACE FUNCTION private.customer_risk_scores (
  customer_ids uuid[]
)
  RETURNS TABLE (
    customer_id uuid,
    risk_score  numeric
  )
  LANGUAGE plpgsql
  STABLE
  SET search_path TO ''
  AS $function$
begin
  return query
  select e.customer_id, e.risk_score
    from private.effective_customer_scores e
   where customer_risk_scores.customer_ids is null or e.customer_id = any (customer_risk_scores.customer_ids);
end
$function$;

CREATE OR REPLACE FUNCTION private.engagement_facts (
  customer_ids uuid[]
)
  RETURNS TABLE (
    customer_id           uuid,
    last_engaged_at       timestamp with time zone,
    engaged_campaigns_90d integer
  )
  LANGUAGE plpgsql
  STABLE
  SET search_path TO ''
  AS $function$
begin
  return query
  select u.id, e.last_engaged_at, coalesce(e.engaged_campaigns_90d, 0)
    from public.users u
    left join private.customer_engagement(engagement_facts.customer_ids) e on e.customer_id = u.id
   where engagement_facts.customer_ids is null or u.id = any (engagement_facts.customer_ids);
end
$function$;

CREATE OR REPLACE FUNCTION private.facts_rules()
  RETURNS TABLE (
    facts text,
    rule  regprocedure
  )
  LANGUAGE sql
  STABLE
  SET search_path TO ''
  AS $function$
  -- Every kind of facts and the function that holds its rule. A rule takes customer ids (null:
  -- every customer) and returns one row per customer, named after the customer_facts columns it
  -- decides; where two kinds decide a column (risk_score), the first one listed writes it.
  values ('profile', 'private.profile_facts(uuid[])'::regprocedure),
         ('risk', 'private.customer_risk_scores(uuid[])'::regprocedure),
         ('booking', 'private.booking_facts(uuid[])'::regprocedure),
         ('spend', 'private.spend_facts(uuid[])'::regprocedure),
         ('tag', 'private.tag_facts(uuid[])'::regprocedure),
         ('consent', 'private.consent_facts(uuid[])'::regprocedure),
         ('engagement', 'private.engagement_facts(uuid[])'::regprocedure)
$function$;

CREATE OR REPLACE FUNCTION private.profile_facts (
  customer_ids uuid[]
)
  RETURNS TABLE (
    customer_id    uuid,
    risk_score     numeric,
    lifetime_value numeric,
    city           text,
    region         text,
    country_code   text,
    created_at     timestamp with time zone
  )
  LANGUAGE plpgsql
  STABLE
  SET search_path TO ''
  AS $function$
begin
  return query
  select u.id, r.risk_score, u.lifetime_value, u.city, u.region, u.country_code, u.created_at
    from public.users u
    left join private.customer_risk_scores(profile_facts.customer_ids) r on r.customer_id = u.id
   where profile_facts.customer_ids is null or u.id = any (profile_facts.customer_ids);
end
$function$;

CREATE OR REPLACE FUNCTION private.refresh_auto_segments()
  RETURNS integer
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
declare
  seg record;
  refreshed integer := 0;
  ids uuid[];
begin
  -- Everyone with engagement now or in the facts: the 90-day window moved, and events recorded
  -- without a refresh are caught here.
  select array_agg(x.customer_id) into ids from (
    select e.customer_id from private.customer_engagement(null) e
    union
    select f.customer_id from public.customer_facts f where f.engaged_campaigns_90d > 0 or f.last_engaged_at is not null
  ) x;
  if ids is not null then
    perform private.refresh_facts('engagement', ids);
  end if;
  for seg in select s.id from public.customer_segments s where s.auto_refresh order by s.id loop
    begin
      perform private.apply_segment_refresh(seg.id);
      refreshed := refreshed + 1;
    exception when others then
      raise warning 'crm_refresh_segments: segment % failed: % (%)', seg.id, sqlerrm, sqlstate;
      perform private.write_audit('refresh_failed', 'customer_segments', seg.id::text, null, null,
                                  jsonb_build_object('sqlstate', sqlstate, 'message', sqlerrm));
    end;
  end loop;
  return refreshed;
end
$function$;

CREATE OR REPLACE FUNCTION private.refresh_customer_facts (
  customer_ids uuid[] DEFAULT NULL::uuid[]
)
  RETURNS void
  LANGUAGE sql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
  -- every kind of facts for those customers; null: the rebuild of every row (the generator's
  -- last step), one statement over every source
  select private.write_facts(array(select r.facts from private.facts_rules() r), refresh_customer_facts.customer_ids)
$function$;

CREATE OR REPLACE FUNCTION private.refresh_facts (
  facts        text,
  customer_ids uuid[]
)
  RETURNS void
  LANGUAGE plpgsql
  SET search_path TO ''
  AS $function$
-- The facts triggers' entry: one kind of facts for the customers a statement touched (once each)
declare
  ids uuid[] := array(select distinct x.id from unnest(refresh_facts.customer_ids) x(id) where x.id is not null);
begin
  if cardinality(ids) > 0 then
    perform private.write_facts(array[refresh_facts.facts], ids);
  end if;
end
$function$;

CREATE OR REPLACE FUNCTION private.spend_facts (
  customer_ids uuid[]
)
  RETURNS TABLE (
    customer_id uuid,
    total_spend numeric
  )
  LANGUAGE plpgsql
  STABLE
  SET search_path TO ''
  AS $function$
begin
  -- succeeded card payments and every manual payment
  return query
  select u.id, coalesce(p.amount, 0) + coalesce(m.amount, 0)
    from public.users u
    left join (
      select x.customer_id, sum(x.amount) as amount
        from public.payments x
       where x.status = 'succeeded'
         and (spend_facts.customer_ids is null or x.customer_id = any (spend_facts.customer_ids))
       group by x.customer_id
    ) p on p.customer_id = u.id
    left join (
      select x.customer_id, sum(x.amount) as amount
        from public.manual_payments x
       where spend_facts.customer_ids is null or x.customer_id = any (spend_facts.customer_ids)
       group by x.customer_id
    ) m on m.customer_id = u.id
   where spend_facts.customer_ids is null or u.id = any (spend_facts.customer_ids);
end
$function$;

CREATE OR REPLACE FUNCTION private.tag_facts (
  customer_ids uuid[]
)
  RETURNS TABLE (
    customer_id uuid,
    tag         text[]
  )
  LANGUAGE plpgsql
  STABLE
  SET search_path TO ''
  AS $function$
begin
  return query
  select u.id, coalesce(t.tags, '{}')
    from public.users u
    left join (
      select x.customer_id, array_agg(x.tag_id::text order by x.tag_id) as tags
        from public.customer_tag_members x
       where tag_facts.customer_ids is null or x.customer_id = any (tag_facts.customer_ids)
       group by x.customer_id
    ) t on t.customer_id = u.id
   where tag_facts.customer_ids is null or u.id = any (tag_facts.customer_ids);
end
$function$;

CREATE OR REPLACE FUNCTION private.tg_engagement_settings__refresh_facts()
  RETURNS TRIGGER
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
declare
  ids uuid[];
begin
  if new.key in ('count_machine_opens', 'count_bot_clicks') and new.value is distinct from old.value then
    select array_agg(distinct e.customer_id) into ids
      from public.message_events e
     where e.event in ('machine_open', 'bot_click') and e.customer_id is not null;
    if ids is not null then
      perform private.refresh_facts('engagement', ids);
    end if;
  end if;
  return null;
end
$function$;

CREATE OR REPLACE FUNCTION private.write_facts (
  facts        text[],
  customer_ids uuid[]
)
  RETURNS void
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
-- The one writer of customer_facts: applies the rules of the given kinds of facts
-- (private.facts_rules()) to the given customers (null: every customer) in one statement, and
-- writes only the rows whose facts changed; with 'profile' it also creates new customers' rows.
-- It first locks the customers' rows in key order, so two transactions writing facts for the
-- same customer serialise and the second reads what the first committed (docs/segments.md).
declare
  rule record;
  fresh text[];
  cols text[] := '{}'::text[];
  vals text[] := '{}'::text[];
  sources text;
  n integer := 0;
  unknown text;
begin
  select k into unknown from unnest(write_facts.facts) k
   where k not in (select r.facts from private.facts_rules() r) limit 1;
  if unknown is not null or cardinality(write_facts.facts) = 0 then
    raise exception using errcode = '22023', message = format('facts: %s is not a kind of facts', coalesce(unknown, 'nothing'));
  end if;
  for rule in
    select r.rule::regproc as fn,
           array(select a.name from unnest(p.proargnames, p.proargmodes) with ordinality a(name, mode, i)
                  where a.mode = 't' and a.name <> 'customer_id' order by a.i) as columns
      from private.facts_rules() with ordinality r(facts, rule, i)
      join pg_catalog.pg_proc p on p.oid = r.rule
     where r.facts = any (write_facts.facts)
     order by r.i
  loop
    fresh := array(select c from unnest(rule.columns) with ordinality x(c, i) where c <> all (cols) order by x.i);
    continue when cardinality(fresh) = 0;
    n := n + 1;
    sources := case when n = 1 then format('%s($1) r1', rule.fn)
                    else format('%s join %s($1) r%s on r%s.customer_id = r1.customer_id', sources, rule.fn, n, n) end;
    cols := cols || fresh;
    vals := vals || array(select format('r%s.%I', n, c) from unnest(fresh) with ordinality x(c, i) order by x.i);
  end loop;
  if write_facts.customer_ids is not null then
    perform private.lock_customer_facts(write_facts.customer_ids);
  end if;
  if 'profile' = any (write_facts.facts) then
    execute format(
      'insert into public.customer_facts as f (customer_id, %1$s) select r1.customer_id, %2$s from %3$s
       on conflict (customer_id) do update set (%1$s, updated_at) = row(%4$s, now())
        where (%5$s) is distinct from (%4$s)',
      array_to_string(array(select format('%I', c) from unnest(cols) c), ', '), array_to_string(vals, ', '), sources,
      array_to_string(array(select format('excluded.%I', c) from unnest(cols) c), ', '),
      array_to_string(array(select format('f.%I', c) from unnest(cols) c), ', '))
    using write_facts.customer_ids;
  else
    execute format(
      'update public.customer_facts f set (%1$s, updated_at) = row(%2$s, now()) from %3$s
        where f.customer_id = r1.customer_id and (%4$s) is distinct from (%2$s)',
      array_to_string(array(select format('%I', c) from unnest(cols) c), ', '), array_to_string(vals, ', '), sources,
      array_to_string(array(select format('f.%I', c) from unnest(cols) c), ', '))
    using write_facts.customer_ids;
  end if;
end
$function$;
