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

CREATE FUNCTION private.customer_engagement(customer_ids uuid[]) RETURNS TABLE(customer_id uuid, last_engaged_at timestamp with time zone, engaged_campaigns_90d integer)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
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

CREATE FUNCTION private.customer_risk_scores(customer_ids uuid[]) RETURNS TABLE(customer_id uuid, risk_score numeric)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select e.customer_id, e.risk_score
    from private.effective_customer_scores e
   where e.customer_id = any (customer_risk_scores.customer_ids)
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

CREATE FUNCTION private.refresh_booking_facts(customer_ids uuid[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform private.lock_customer_facts(refresh_booking_facts.customer_ids);
  update public.customer_facts f
     set booking_count = coalesce(b.booking_count, 0),
         last_booking_at = b.last_booking_at,
         equipment_category = coalesce(c.slugs, '{}'),
         updated_at = now()
    from unnest(refresh_booking_facts.customer_ids) as ids(customer_id)
    left join lateral (
      select count(*)::integer as booking_count, max(bk.created_at) as last_booking_at
        from public.bookings bk
       where bk.customer_id = ids.customer_id and bk.status <> 'cancelled'
    ) b on true
    left join lateral (
      select array_agg(distinct ec.slug order by ec.slug) as slugs
        from public.bookings bk
        join public.booking_items bi on bi.booking_id = bk.id
        join public.equipment e on e.id = bi.equipment_id
        join public.equipment_categories ec on ec.id = e.category_id
       where bk.customer_id = ids.customer_id and bk.status <> 'cancelled'
    ) c on true
   where f.customer_id = ids.customer_id
     and (f.booking_count, f.last_booking_at, f.equipment_category)
         is distinct from (coalesce(b.booking_count, 0), b.last_booking_at, coalesce(c.slugs, '{}'));
end
$$;

CREATE FUNCTION private.refresh_consent_facts(customer_ids uuid[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform private.lock_customer_facts(refresh_consent_facts.customer_ids);
  update public.customer_facts f
     set consent_email = c.email, consent_sms = c.sms, consent_push = c.push, updated_at = now()
    from (
      select ids.customer_id,
             coalesce(bool_or(cc.enabled) filter (where cc.channel = 'email'), false) as email,
             coalesce(bool_or(cc.enabled) filter (where cc.channel = 'sms'), false) as sms,
             coalesce(bool_or(cc.enabled) filter (where cc.channel = 'push'), false) as push
        from unnest(refresh_consent_facts.customer_ids) as ids(customer_id)
        left join public.customer_consent cc on cc.customer_id = ids.customer_id
       group by ids.customer_id
    ) c
   where f.customer_id = c.customer_id
     and (f.consent_email, f.consent_sms, f.consent_push) is distinct from (c.email, c.sms, c.push);
end
$$;

CREATE FUNCTION private.refresh_customer_facts(customer_ids uuid[] DEFAULT NULL::uuid[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  ids uuid[] := refresh_customer_facts.customer_ids;
begin
  if ids is null then
    -- Set-based full rebuild: one pass per source instead of one lookup per customer.
    insert into public.customer_facts (customer_id, risk_score, lifetime_value, city, region, country_code, created_at)
    select u.id, u.risk_score, u.lifetime_value, u.city, u.region, u.country_code, u.created_at
      from public.users u
    on conflict (customer_id) do nothing;
    update public.customer_facts f
       set risk_score = r.risk_score, lifetime_value = u.lifetime_value, city = u.city, region = u.region,
           country_code = u.country_code, created_at = u.created_at,
           booking_count = coalesce(b.booking_count, 0), last_booking_at = b.last_booking_at,
           equipment_category = coalesce(c.slugs, '{}'),
           total_spend = coalesce(p.amount, 0) + coalesce(m.amount, 0),
           tag = coalesce(t.tags, '{}'),
           consent_email = coalesce(cc.email, false), consent_sms = coalesce(cc.sms, false),
           consent_push = coalesce(cc.push, false),
           updated_at = now()
      from public.users u
      left join private.customer_risk_scores((select array_agg(x.id) from public.users x)) r on r.customer_id = u.id
      left join (select bk.customer_id, count(*)::integer as booking_count, max(bk.created_at) as last_booking_at
                   from public.bookings bk where bk.status <> 'cancelled' group by bk.customer_id) b on b.customer_id = u.id
      left join (select bk.customer_id, array_agg(distinct ec.slug order by ec.slug) as slugs
                   from public.bookings bk
                   join public.booking_items bi on bi.booking_id = bk.id
                   join public.equipment e on e.id = bi.equipment_id
                   join public.equipment_categories ec on ec.id = e.category_id
                  where bk.status <> 'cancelled' group by bk.customer_id) c on c.customer_id = u.id
      left join (select x.customer_id, sum(x.amount) as amount from public.payments x
                  where x.status = 'succeeded' group by x.customer_id) p on p.customer_id = u.id
      left join (select x.customer_id, sum(x.amount) as amount from public.manual_payments x
                  group by x.customer_id) m on m.customer_id = u.id
      left join (select x.customer_id, array_agg(x.tag_id::text order by x.tag_id) as tags
                   from public.customer_tag_members x group by x.customer_id) t on t.customer_id = u.id
      left join (select x.customer_id,
                        bool_or(x.enabled) filter (where x.channel = 'email') as email,
                        bool_or(x.enabled) filter (where x.channel = 'sms') as sms,
                        bool_or(x.enabled) filter (where x.channel = 'push') as push
                   from public.customer_consent x group by x.customer_id) cc on cc.customer_id = u.id
     where f.customer_id = u.id;
    -- Engagement for everyone: clear who has none, set who has some.
    update public.customer_facts f
       set last_engaged_at = null, engaged_campaigns_90d = 0, updated_at = now()
     where (f.last_engaged_at is not null or f.engaged_campaigns_90d <> 0)
       and not exists (select 1 from private.customer_engagement(null) e where e.customer_id = f.customer_id);
    update public.customer_facts f
       set last_engaged_at = e.last_engaged_at, engaged_campaigns_90d = e.engaged_campaigns_90d, updated_at = now()
      from private.customer_engagement(null) e
     where f.customer_id = e.customer_id
       and (f.last_engaged_at, f.engaged_campaigns_90d) is distinct from (e.last_engaged_at, e.engaged_campaigns_90d);
    return;
  end if;
  perform private.refresh_profile_facts(ids);
  perform private.refresh_booking_facts(ids);
  perform private.refresh_spend_facts(ids);
  perform private.refresh_tag_facts(ids);
  perform private.refresh_consent_facts(ids);
  perform private.refresh_engagement_facts(ids);
end
$$;

CREATE FUNCTION private.refresh_engagement_facts(customer_ids uuid[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform private.lock_customer_facts(refresh_engagement_facts.customer_ids);
  update public.customer_facts f
     set last_engaged_at = e.last_engaged_at, engaged_campaigns_90d = coalesce(e.engaged_campaigns_90d, 0),
         updated_at = now()
    from unnest(refresh_engagement_facts.customer_ids) as ids(customer_id)
    left join private.customer_engagement(refresh_engagement_facts.customer_ids) e on e.customer_id = ids.customer_id
   where f.customer_id = ids.customer_id
     and (f.last_engaged_at, f.engaged_campaigns_90d) is distinct from (e.last_engaged_at, coalesce(e.engaged_campaigns_90d, 0));
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
  if cardinality(ids) = 0 then
    return;
  end if;
  case refresh_facts.facts
    when 'booking' then perform private.refresh_booking_facts(ids);
    when 'spend' then perform private.refresh_spend_facts(ids);
    when 'tag' then perform private.refresh_tag_facts(ids);
    when 'consent' then perform private.refresh_consent_facts(ids);
    when 'engagement' then perform private.refresh_engagement_facts(ids);
    when 'profile' then perform private.refresh_profile_facts(ids);
    when 'risk' then perform private.refresh_risk_facts(ids);
  end case;
end
$$;

CREATE FUNCTION private.refresh_profile_facts(customer_ids uuid[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  insert into public.customer_facts as f (customer_id, risk_score, lifetime_value, city, region, country_code, created_at)
  select u.id, r.risk_score, u.lifetime_value, u.city, u.region, u.country_code, u.created_at
    from public.users u
    left join private.customer_risk_scores(refresh_profile_facts.customer_ids) r on r.customer_id = u.id
   where u.id = any (refresh_profile_facts.customer_ids)
  on conflict (customer_id) do update
    set risk_score = excluded.risk_score, lifetime_value = excluded.lifetime_value, city = excluded.city,
        region = excluded.region, country_code = excluded.country_code, created_at = excluded.created_at,
        updated_at = now()
  where (f.risk_score, f.lifetime_value, f.city, f.region, f.country_code, f.created_at)
        is distinct from (excluded.risk_score, excluded.lifetime_value, excluded.city, excluded.region,
                          excluded.country_code, excluded.created_at);
end
$$;

CREATE FUNCTION private.refresh_risk_facts(customer_ids uuid[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform private.lock_customer_facts(refresh_risk_facts.customer_ids);
  update public.customer_facts f
     set risk_score = r.risk_score, updated_at = now()
    from private.customer_risk_scores(refresh_risk_facts.customer_ids) r
   where f.customer_id = r.customer_id and f.risk_score is distinct from r.risk_score;
end
$$;

CREATE FUNCTION private.refresh_spend_facts(customer_ids uuid[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform private.lock_customer_facts(refresh_spend_facts.customer_ids);
  update public.customer_facts f
     set total_spend = s.total_spend, updated_at = now()
    from (
      select ids.customer_id,
             coalesce((select sum(p.amount) from public.payments p
                        where p.customer_id = ids.customer_id and p.status = 'succeeded'), 0)
           + coalesce((select sum(m.amount) from public.manual_payments m
                        where m.customer_id = ids.customer_id), 0) as total_spend
        from unnest(refresh_spend_facts.customer_ids) as ids(customer_id)
    ) s
   where f.customer_id = s.customer_id and f.total_spend is distinct from s.total_spend;
end
$$;

CREATE FUNCTION private.refresh_tag_facts(customer_ids uuid[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform private.lock_customer_facts(refresh_tag_facts.customer_ids);
  update public.customer_facts f
     set tag = t.tags, updated_at = now()
    from (
      select ids.customer_id,
             coalesce((select array_agg(tm.tag_id::text order by tm.tag_id) from public.customer_tag_members tm
                        where tm.customer_id = ids.customer_id), '{}') as tags
        from unnest(refresh_tag_facts.customer_ids) as ids(customer_id)
    ) t
   where f.customer_id = t.customer_id and f.tag is distinct from t.tags;
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
