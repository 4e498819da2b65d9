-- Each customer fact's rule in one place (supabase/schemas/customer_facts.sql): a rule function
-- per kind of facts (null: every customer), listed in private.facts_rules(), and one writer,
-- private.write_facts, that the facts triggers and the full rebuild both use. Before, the rebuild
-- repeated every rule of the seven per-kind refreshers, which are gone.
SET local check_function_bodies = off;

DROP FUNCTION "private"."customer_risk_scores"(uuid[]);

DROP FUNCTION "private"."refresh_booking_facts"(uuid[]);

DROP FUNCTION "private"."refresh_consent_facts"(uuid[]);

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
  SET plan_cache_mode TO 'force_custom_plan'
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
  SET plan_cache_mode TO 'force_custom_plan'
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

CREATE OR REPLACE FUNCTION private.customer_engagement (
  customer_ids uuid[]
)
  RETURNS TABLE (
    customer_id           uuid,
    last_engaged_at       timestamp with time zone,
    engaged_campaigns_90d integer
  )
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path TO ''
  SET plan_cache_mode TO 'force_custom_plan'
  AS $function$
declare
  counted text[] := private.engagement_events();
begin
  return query
  select e.customer_id, max(e.occurred_at),
         (count(distinct e.campaign_id) filter (where e.occurred_at >= now() - interval '90 days'))::integer
    from public.message_events e
   where e.event in ('open', 'click', 'read', 'machine_open', 'bot_click') -- the engagement index's predicate
     and e.event = any (counted)
     and e.customer_id is not null
     and (customer_engagement.customer_ids is null or e.customer_id = any (customer_engagement.customer_ids))
   group by e.customer_id;
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
  SET plan_cache_mode TO 'force_custom_plan'
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
  SET plan_cache_mode TO 'force_custom_plan'
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
  -- every customer) and returns one row per customer, its columns named after the customer_facts
  -- columns it decides (risk_score is also part of the profile). private.write_facts writes each
  -- kind; 'profile' comes first because it creates the rows. Rules are planned for the customers
  -- of each call (plan_cache_mode force_custom_plan): a cached generic plan cannot drop the
  -- "null: everyone" test, and after a few bulk writes one scanned whole tables for every row.
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
  SET plan_cache_mode TO 'force_custom_plan'
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
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
-- every kind of facts for those customers; null: the rebuild of every row (the generator's last
-- step), set-based, one pass per kind
declare
  kind text;
begin
  for kind in select r.facts from private.facts_rules() r loop
    perform private.write_facts(kind, refresh_customer_facts.customer_ids);
  end loop;
end
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
    perform private.write_facts(refresh_facts.facts, ids);
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
  SET plan_cache_mode TO 'force_custom_plan'
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
  SET plan_cache_mode TO 'force_custom_plan'
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
  facts        text,
  customer_ids uuid[]
)
  RETURNS void
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
-- The one writer of customer_facts: applies the rule of one kind of facts (private.facts_rules())
-- to the given customers (null: every customer) and writes only the rows whose facts changed;
-- 'profile' also creates new customers' rows. It first locks the customers' rows in key order, so
-- two transactions writing facts for the same customer serialise and the second reads what the
-- first committed (docs/segments.md). Static statements: the facts triggers call it on every
-- write, and a statement built per call cost three times as much (docs/segments.md).
declare
  ids uuid[] := write_facts.customer_ids;
begin
  if ids is not null then
    perform private.lock_customer_facts(ids);
  end if;
  case write_facts.facts
    when 'profile' then
      insert into public.customer_facts as f (customer_id, risk_score, lifetime_value, city, region, country_code, created_at)
      select n.customer_id, n.risk_score, n.lifetime_value, n.city, n.region, n.country_code, n.created_at
        from private.profile_facts(ids) n
      on conflict (customer_id) do update
        set (risk_score, lifetime_value, city, region, country_code, created_at, updated_at)
          = row(excluded.risk_score, excluded.lifetime_value, excluded.city, excluded.region, excluded.country_code,
                excluded.created_at, now())
      where (f.risk_score, f.lifetime_value, f.city, f.region, f.country_code, f.created_at)
            is distinct from (excluded.risk_score, excluded.lifetime_value, excluded.city, excluded.region,
                              excluded.country_code, excluded.created_at);
    when 'risk' then
      update public.customer_facts f set (risk_score, updated_at) = row(n.risk_score, now())
        from private.customer_risk_scores(ids) n
       where f.customer_id = n.customer_id and f.risk_score is distinct from n.risk_score;
    when 'booking' then
      update public.customer_facts f
         set (booking_count, last_booking_at, equipment_category, updated_at)
           = row(n.booking_count, n.last_booking_at, n.equipment_category, now())
        from private.booking_facts(ids) n
       where f.customer_id = n.customer_id
         and (f.booking_count, f.last_booking_at, f.equipment_category)
             is distinct from (n.booking_count, n.last_booking_at, n.equipment_category);
    when 'spend' then
      update public.customer_facts f set (total_spend, updated_at) = row(n.total_spend, now())
        from private.spend_facts(ids) n
       where f.customer_id = n.customer_id and f.total_spend is distinct from n.total_spend;
    when 'tag' then
      update public.customer_facts f set (tag, updated_at) = row(n.tag, now())
        from private.tag_facts(ids) n
       where f.customer_id = n.customer_id and f.tag is distinct from n.tag;
    when 'consent' then
      update public.customer_facts f
         set (consent_email, consent_sms, consent_push, updated_at) = row(n.consent_email, n.consent_sms, n.consent_push, now())
        from private.consent_facts(ids) n
       where f.customer_id = n.customer_id
         and (f.consent_email, f.consent_sms, f.consent_push) is distinct from (n.consent_email, n.consent_sms, n.consent_push);
    when 'engagement' then
      update public.customer_facts f
         set (last_engaged_at, engaged_campaigns_90d, updated_at) = row(n.last_engaged_at, n.engaged_campaigns_90d, now())
        from private.engagement_facts(ids) n
       where f.customer_id = n.customer_id
         and (f.last_engaged_at, f.engaged_campaigns_90d) is distinct from (n.last_engaged_at, n.engaged_campaigns_90d);
    else
      raise exception using errcode = '22023', message = format('facts: %s is not a kind of facts', coalesce(write_facts.facts, 'null'));
  end case;
end
$function$;
