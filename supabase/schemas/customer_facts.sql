-- Customer facts
--
-- One row of derived facts per customer (profile, bookings, spend, tags, consent,
-- engagement, risk), kept current by triggers; what segments filter on.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE public.customer_facts (
    customer_id uuid NOT NULL,
    booking_count integer DEFAULT 0 NOT NULL,
    last_booking_at timestamp with time zone,
    equipment_category text[] DEFAULT '{}'::text[] NOT NULL,
    total_spend numeric(14,2) DEFAULT 0 NOT NULL,
    tag text[] DEFAULT '{}'::text[] NOT NULL,
    risk_score numeric(5,2),
    lifetime_value numeric(12,2),
    city text,
    region text,
    country_code text,
    created_at timestamp with time zone NOT NULL,
    consent_email boolean DEFAULT false NOT NULL,
    consent_sms boolean DEFAULT false NOT NULL,
    consent_push boolean DEFAULT false NOT NULL,
    last_engaged_at timestamp with time zone,
    engaged_campaigns_90d integer DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT customer_facts_pkey PRIMARY KEY (customer_id),
    CONSTRAINT customer_facts_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE
);

COMMENT ON TABLE public.customer_facts IS 'One row per customer with the facts of docs/api.md §5, written only by triggers on the sources (same transaction). Read by segments and the admin list.';

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.booking_facts(customer_ids uuid[]) RETURNS TABLE(customer_id uuid, booking_count integer, last_booking_at timestamp with time zone, equipment_category text[])
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
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
$$;

CREATE FUNCTION private.consent_facts(customer_ids uuid[]) RETURNS TABLE(customer_id uuid, consent_email boolean, consent_sms boolean, consent_push boolean)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
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
$$;

CREATE FUNCTION private.customer_engagement(customer_ids uuid[]) RETURNS TABLE(customer_id uuid, last_engaged_at timestamp with time zone, engaged_campaigns_90d integer)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
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
$$;

CREATE FUNCTION private.customer_risk_scores(customer_ids uuid[]) RETURNS TABLE(customer_id uuid, risk_score numeric)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
begin
  return query
  select e.customer_id, e.risk_score
    from private.effective_customer_scores e
   where customer_risk_scores.customer_ids is null or e.customer_id = any (customer_risk_scores.customer_ids);
end
$$;

CREATE FUNCTION private.engagement_events() RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  -- the message events that count as engagement: opens, clicks and reads, and machine opens or
  -- automated clicks while the settings count them (docs/webhooks.md)
  select array['open', 'click', 'read']
         || case when coalesce((private.engagement_setting('count_machine_opens') #>> '{}')::boolean, false) then array['machine_open'] else array[]::text[] end
         || case when coalesce((private.engagement_setting('count_bot_clicks') #>> '{}')::boolean, false) then array['bot_click'] else array[]::text[] end
$$;

CREATE FUNCTION private.engagement_facts(customer_ids uuid[]) RETURNS TABLE(customer_id uuid, last_engaged_at timestamp with time zone, engaged_campaigns_90d integer)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
begin
  return query
  select u.id, e.last_engaged_at, coalesce(e.engaged_campaigns_90d, 0)
    from public.users u
    left join private.customer_engagement(engagement_facts.customer_ids) e on e.customer_id = u.id
   where engagement_facts.customer_ids is null or u.id = any (engagement_facts.customer_ids);
end
$$;

CREATE FUNCTION private.facts_rules() RETURNS TABLE(facts text, rule regprocedure)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
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
$$;

CREATE FUNCTION private.lock_customer_facts(customer_ids uuid[]) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select 1 from public.customer_facts f
   where f.customer_id = any (lock_customer_facts.customer_ids)
   order by f.customer_id
     for update
$$;

CREATE FUNCTION private.profile_facts(customer_ids uuid[]) RETURNS TABLE(customer_id uuid, risk_score numeric, lifetime_value numeric, city text, region text, country_code text, created_at timestamp with time zone)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
begin
  return query
  select u.id, r.risk_score, u.lifetime_value, u.city, u.region, u.country_code, u.created_at
    from public.users u
    left join private.customer_risk_scores(profile_facts.customer_ids) r on r.customer_id = u.id
   where profile_facts.customer_ids is null or u.id = any (profile_facts.customer_ids);
end
$$;

CREATE FUNCTION private.refresh_customer_facts(customer_ids uuid[] DEFAULT NULL::uuid[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
-- every kind of facts for those customers; null: the rebuild of every row (the generator's last
-- step), set-based, one pass per kind
declare
  kind text;
begin
  for kind in select r.facts from private.facts_rules() r loop
    perform private.write_facts(kind, refresh_customer_facts.customer_ids);
  end loop;
end
$$;

CREATE FUNCTION private.refresh_facts(facts text, customer_ids uuid[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
-- The facts triggers' entry: one kind of facts for the customers a statement touched (once each)
declare
  ids uuid[] := array(select distinct x.id from unnest(refresh_facts.customer_ids) x(id) where x.id is not null);
begin
  if cardinality(ids) > 0 then
    perform private.write_facts(refresh_facts.facts, ids);
  end if;
end
$$;

CREATE FUNCTION private.spend_facts(customer_ids uuid[]) RETURNS TABLE(customer_id uuid, total_spend numeric)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
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
$$;

CREATE FUNCTION private.tag_facts(customer_ids uuid[]) RETURNS TABLE(customer_id uuid, tag text[])
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
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
$$;

CREATE FUNCTION private.tg_booking_items__facts() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if tg_op = 'INSERT' then
    perform private.refresh_facts('booking', array(
      select bk.customer_id from public.bookings bk where bk.id in (select n.booking_id from new_rows n)));
  elsif tg_op = 'DELETE' then
    perform private.refresh_facts('booking', array(
      select bk.customer_id from public.bookings bk where bk.id in (select o.booking_id from old_rows o)));
  else
    perform private.refresh_facts('booking', array(
      select bk.customer_id from public.bookings bk
       where bk.id in (select booking_id from new_rows union select booking_id from old_rows)));
  end if;
  return null;
end
$$;

CREATE FUNCTION private.tg_equipment__facts() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform private.refresh_facts('booking', array(
    select bk.customer_id
      from public.booking_items bi
      join public.bookings bk on bk.id = bi.booking_id
     where bi.equipment_id in (select n.id from new_rows n join old_rows o on o.id = n.id
                                where n.category_id is distinct from o.category_id)));
  return null;
end
$$;

CREATE FUNCTION private.tg_equipment_categories__facts() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform private.refresh_facts('booking', array(
    select bk.customer_id
      from public.equipment e
      join public.booking_items bi on bi.equipment_id = e.id
      join public.bookings bk on bk.id = bi.booking_id
     where e.category_id in (select n.id from new_rows n join old_rows o on o.id = n.id where n.slug is distinct from o.slug)));
  return null;
end
$$;

CREATE FUNCTION private.tg_message_events__facts() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  counted text[] := private.engagement_events();
begin
  -- only events that count as engagement can change the facts
  perform private.refresh_facts('engagement', array(
    select n.customer_id from new_rows n where n.customer_id is not null and n.event = any (counted)));
  return null;
end
$$;

CREATE FUNCTION private.tg_refresh_customer_facts() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
-- The facts trigger of a table whose rows name their customer: tg_argv[0] names the facts to
-- refresh; on update, tg_argv[1:] the columns whose change matters to them (none: any change).
begin
  if tg_op = 'INSERT' then
    perform private.refresh_facts(tg_argv[0], array(select n.customer_id from new_rows n));
  elsif tg_op = 'DELETE' then
    perform private.refresh_facts(tg_argv[0], array(select o.customer_id from old_rows o));
  elsif tg_nargs = 1 then
    perform private.refresh_facts(tg_argv[0], array(select customer_id from new_rows union select customer_id from old_rows));
  else
    -- a row that moved to another customer changes the facts of both
    perform private.refresh_facts(tg_argv[0], array(
      select x.customer_id
        from new_rows n join old_rows o on o.id = n.id
       cross join lateral (select to_jsonb(n) as new_row, to_jsonb(o) as old_row) j
       cross join lateral (values (n.customer_id), (o.customer_id)) x(customer_id)
       where exists (select 1 from unnest(tg_argv[1:]) c where j.new_row -> c is distinct from j.old_row -> c)));
  end if;
  return null;
end
$$;

CREATE FUNCTION private.tg_users__facts() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if tg_op = 'INSERT' then
    perform private.refresh_facts('profile', array(select n.id from new_rows n));
  else
    perform private.refresh_facts('profile', array(
      select n.id
        from new_rows n join old_rows o on o.id = n.id
       where (n.risk_score, n.lifetime_value, n.city, n.region, n.country_code, n.created_at)
             is distinct from (o.risk_score, o.lifetime_value, o.city, o.region, o.country_code, o.created_at)));
  end if;
  return null;
end
$$;

CREATE FUNCTION private.write_facts(facts text, customer_ids uuid[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _200_facts_delete AFTER DELETE ON public.booking_items REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_booking_items__facts();

CREATE TRIGGER _200_facts_delete AFTER DELETE ON public.bookings REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('booking');

CREATE TRIGGER _200_facts_delete AFTER DELETE ON public.customer_consent REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('consent');

CREATE TRIGGER _200_facts_delete AFTER DELETE ON public.customer_tag_members REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('tag');

CREATE TRIGGER _200_facts_delete AFTER DELETE ON public.manual_payments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('spend');

CREATE TRIGGER _200_facts_delete AFTER DELETE ON public.payments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('spend');

CREATE TRIGGER _200_facts_insert AFTER INSERT ON public.booking_items REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_booking_items__facts();

CREATE TRIGGER _200_facts_insert AFTER INSERT ON public.bookings REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('booking');

CREATE TRIGGER _200_facts_insert AFTER INSERT ON public.customer_consent REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('consent');

CREATE TRIGGER _200_facts_insert AFTER INSERT ON public.customer_tag_members REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('tag');

CREATE TRIGGER _200_facts_insert AFTER INSERT ON public.manual_payments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('spend');

CREATE TRIGGER _200_facts_insert AFTER INSERT ON public.payments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('spend');

CREATE TRIGGER _200_facts_insert AFTER INSERT ON public.users REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_users__facts();

CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.booking_items REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_booking_items__facts();

CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.bookings REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('booking', 'customer_id', 'status', 'created_at');

CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.customer_consent REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('consent');

CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.customer_tag_members REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('tag');

CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.equipment REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_equipment__facts();

CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.equipment_categories REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_equipment_categories__facts();

CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.manual_payments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('spend', 'customer_id', 'amount');

CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.payments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('spend', 'customer_id', 'status', 'amount');

CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_users__facts();

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

call private.staff_access('public.customer_facts', read_by => 'admin');

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select on table public.customer_facts to service_role;

reset search_path;
reset check_function_bodies;
