-- Issue 13, one place per feature (functions, triggers and cron targets):
-- * private.tg_delete_dependents(column, table...) is the one trigger function that deletes the rows
--   naming deleted campaigns or users; it replaces four copies of the same delete.
-- * private.channel_setting_rules(key, value) is the one check of a setting keyed by channel
--   (frequency_cap, quiet_hours).
-- * private.segment_page(q, page_size, after) is the one keyset page of segment members (evaluate_segment,
--   list_customers); private.check_segment_page_size(page_size) their one page_size check.
-- * the cron targets expire_risk_overrides and prune_cron_history are single statements (sql).
-- customer_score_history is written as LIKE customer_scores in the schema file: same catalog, no change here.

set check_function_bodies = off;

-- ------------------------------------------------------------------------------------------------
-- one trigger function for the rows that name deleted campaigns or users
-- ------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION private.tg_delete_dependents() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  -- after a statement deleted rows (REFERENCING OLD TABLE AS old_rows), delete the rows that name
  -- them in column tg_argv[0] of each table tg_argv[1..]
  for i in 1 .. tg_nargs - 1 loop
    execute format('delete from %s d where d.%I in (select o.id from old_rows o)', tg_argv[i]::regclass, tg_argv[0]);
  end loop;
  return null;
end
$$;

revoke all on function private.tg_delete_dependents() from public, anon, authenticated, service_role;

DROP TRIGGER _050_delete_recipients ON public.campaigns;
DROP TRIGGER _050_delete_recipients ON public.users;
DROP TRIGGER _800_erase_scores ON public.users;
DROP TRIGGER _810_erase_score_alert_states ON public.users;

CREATE TRIGGER _050_delete_recipients AFTER DELETE ON public.campaigns REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_delete_dependents('campaign_id', 'public.campaign_recipients');

CREATE TRIGGER _050_delete_recipients AFTER DELETE ON public.users REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_delete_dependents('customer_id', 'public.campaign_recipients');

CREATE TRIGGER _800_erase_scores AFTER DELETE ON public.users REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_delete_dependents('customer_id', 'public.customer_scores', 'public.customer_score_history');

CREATE TRIGGER _810_erase_score_alert_states AFTER DELETE ON public.users REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_delete_dependents('customer_id', 'private.score_alert_states');

DROP FUNCTION private.tg_campaigns__delete_recipients();
DROP FUNCTION private.tg_users__delete_recipients();
DROP FUNCTION private.tg_users__erase_scores();
DROP FUNCTION private.tg_users__erase_score_alert_states();

-- ------------------------------------------------------------------------------------------------
-- one check of the settings keyed by channel
-- ------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION private.channel_setting_rules(key text, value jsonb) RETURNS TABLE(channel text, rule jsonb)
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
declare
  stray text;
begin
  -- the settings keyed by channel (frequency_cap, quiet_hours): an object of channel -> rule
  if jsonb_typeof(channel_setting_rules.value) <> 'object' then
    raise exception using errcode = '22023', message = format('value: %s must be an object keyed by channel', channel_setting_rules.key);
  end if;
  select k into stray from jsonb_object_keys(channel_setting_rules.value) k where k not in ('email', 'sms', 'push') limit 1;
  if stray is not null then
    raise exception using errcode = '22023', message = format('value.%s: not a channel; use email, sms or push', stray);
  end if;
  return query select e.key, e.value from jsonb_each(channel_setting_rules.value) e;
end
$$;

revoke all on function private.channel_setting_rules(text,jsonb) from public, anon, authenticated, service_role;
grant execute on function private.channel_setting_rules(text,jsonb) to authenticated, service_role;

CREATE OR REPLACE FUNCTION private.tg_messaging_settings__validate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  ch text;
  rule jsonb;
begin
  if new.key = 'frequency_cap' then
    for ch, rule in select * from private.channel_setting_rules(new.key, new.value) loop
      if jsonb_typeof(rule -> 'max') <> 'number' or (rule ->> 'max')::numeric < 1 or (rule ->> 'max')::numeric <> trunc((rule ->> 'max')::numeric)
         or jsonb_typeof(rule -> 'days') <> 'number' or (rule ->> 'days')::numeric not between 1 and 365
         or (rule ->> 'days')::numeric <> trunc((rule ->> 'days')::numeric) then
        raise exception using errcode = '22023',
          message = format('value.%s: must be {"max": integer >= 1, "days": integer 1..365}', ch);
      end if;
    end loop;
  elsif new.key = 'dispatch' then
    if jsonb_typeof(new.value) <> 'object' or exists (
         select 1 from jsonb_each(new.value) e(k, v)
          where k not in ('max_attempts', 'lease_seconds', 'base_backoff_seconds', 'max_backoff_seconds')
             or jsonb_typeof(v) <> 'number' or (v #>> '{}')::numeric <= 0) then
      raise exception using errcode = '22023',
        message = 'value: dispatch takes positive numbers max_attempts, lease_seconds, base_backoff_seconds, max_backoff_seconds';
    end if;
  elsif new.key in ('quiet_hours', 'default_time_zone', 'in_doubt', 'unsubscribe') then
    perform private.validate_delivery_setting(new.key, new.value);
  end if;
  new.updated_by := auth.uid();
  new.updated_at := now();
  return new;
end
$$;

CREATE OR REPLACE FUNCTION private.validate_delivery_setting(key text, value jsonb) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  ch text;
  rule jsonb;
begin
  if validate_delivery_setting.key = 'quiet_hours' then
    for ch, rule in select * from private.channel_setting_rules(validate_delivery_setting.key, validate_delivery_setting.value) loop
      continue when rule = 'null'::jsonb;
      if jsonb_typeof(rule) <> 'object' or exists (select 1 from jsonb_object_keys(rule) k where k not in ('start', 'end'))
         or private.parse_local_time(rule -> 'start') is null or private.parse_local_time(rule -> 'end') is null
         or rule ->> 'start' = '24:00' then
        raise exception using errcode = '22023',
          message = format('value.%s: quiet hours are {"start":"HH:MM","end":"HH:MM"} in local time, or null for none', ch);
      end if;
      if private.parse_local_time(rule -> 'start') = private.parse_local_time(rule -> 'end') then
        raise exception using errcode = '22023', message = format('value.%s: start and end must differ', ch);
      end if;
    end loop;
  elsif validate_delivery_setting.key = 'default_time_zone' then
    if jsonb_typeof(validate_delivery_setting.value) <> 'string' or not private.is_time_zone(validate_delivery_setting.value #>> '{}') then
      raise exception using errcode = '22023',
        message = format('value: %s is not an IANA time zone (e.g. "Europe/Oslo")', validate_delivery_setting.value);
    end if;
  elsif validate_delivery_setting.key = 'in_doubt' then
    if jsonb_typeof(validate_delivery_setting.value) <> 'object' then
      raise exception using errcode = '22023', message = 'value: in_doubt must be an object';
    end if;
    for ch, rule in select * from jsonb_each(validate_delivery_setting.value) loop
      if ch = 'settle_seconds' then
        if jsonb_typeof(rule) <> 'number' or (rule #>> '{}')::numeric not between 0 and 3600 then
          raise exception using errcode = '22023', message = 'value.settle_seconds: must be a number of seconds 0..3600';
        end if;
        continue;
      end if;
      if ch not in ('email', 'sms', 'push') then
        raise exception using errcode = '22023', message = format('value.%s: not a channel; use email, sms, push or settle_seconds', ch);
      end if;
      if jsonb_typeof(rule) <> 'object' or exists (select 1 from jsonb_object_keys(rule) k where k not in ('wait_seconds', 'then'))
         or (rule ? 'wait_seconds' and (jsonb_typeof(rule -> 'wait_seconds') <> 'number' or (rule ->> 'wait_seconds')::numeric not between 0.1 and 604800))
         or (rule ? 'then' and (rule ->> 'then') is distinct from 'resend' and (rule ->> 'then') is distinct from 'hold') then
        raise exception using errcode = '22023',
          message = format('value.%s: must be {"wait_seconds": 0.1..604800, "then": "resend"|"hold"}', ch);
      end if;
    end loop;
  elsif validate_delivery_setting.key = 'unsubscribe' then
    if jsonb_typeof(validate_delivery_setting.value) <> 'object'
       or exists (select 1 from jsonb_object_keys(validate_delivery_setting.value) k where k <> 'link_ttl_days')
       or jsonb_typeof(validate_delivery_setting.value -> 'link_ttl_days') <> 'number'
       or (validate_delivery_setting.value ->> 'link_ttl_days')::numeric not between 30 and 3650
       or (validate_delivery_setting.value ->> 'link_ttl_days')::numeric <> trunc((validate_delivery_setting.value ->> 'link_ttl_days')::numeric) then
      raise exception using errcode = '22023',
        message = 'value: unsubscribe is {"link_ttl_days": integer 30..3650} (links must work at least 30 days)';
    end if;
  end if;
end
$$;

-- ------------------------------------------------------------------------------------------------
-- cron targets: one statement each
-- ------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION private.expire_risk_overrides() RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  with expired as (delete from public.customer_risk_overrides o where o.expires_at <= now() returning 1)
  select count(*)::integer from expired
$$;

CREATE OR REPLACE FUNCTION private.prune_cron_history(keep interval DEFAULT '7 days'::interval) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  with pruned as (delete from cron.job_run_details d where d.start_time < now() - prune_cron_history.keep returning 1)
  select count(*)::integer from pruned
$$;

-- ------------------------------------------------------------------------------------------------
-- one keyset page of segment members, one page_size check
-- ------------------------------------------------------------------------------------------------


CREATE OR REPLACE FUNCTION private.check_segment_page_size(page_size integer) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
begin
  if check_segment_page_size.page_size is null or check_segment_page_size.page_size not between 1 and 1000 then
    raise exception using errcode = '22023',
      message = format('page_size: must be between 1 and 1000; got %s', coalesce(check_segment_page_size.page_size::text, 'null'));
  end if;
end
$$;

revoke all on function private.check_segment_page_size(integer) from public, anon, authenticated, service_role;
grant execute on function private.check_segment_page_size(integer) to authenticated, service_role;

CREATE OR REPLACE FUNCTION private.segment_page(q private.segment_query, page_size integer, after uuid, OUT customer_ids uuid[], OUT next_after uuid) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
begin
  -- by customer_id after `after`; one row more than the page tells whether a next page exists
  execute format($sql$
    select coalesce(array_agg(p.customer_id order by p.customer_id) filter (where p.n < $6), '{}'::uuid[]),
           case when count(*) = $6 then (array_agg(p.customer_id) filter (where p.n = $6 - 1))[1] end
      from (select f.customer_id, row_number() over (order by f.customer_id) as n
              from public.customer_facts f
             where %s and ($5::uuid is null or f.customer_id > $5)
             order by f.customer_id
             limit $6) p
  $sql$, segment_page.q.predicate)
     into customer_ids, next_after
    using segment_page.q.texts, segment_page.q.ints, segment_page.q.nums, segment_page.q.times, segment_page.after, segment_page.page_size + 1;
end
$_$;

revoke all on function private.segment_page(private.segment_query,integer,uuid) from public, anon, authenticated, service_role;
grant execute on function private.segment_page(private.segment_query,integer,uuid) to authenticated, service_role;

CREATE OR REPLACE FUNCTION public.evaluate_segment(definition jsonb, page_size integer DEFAULT 50, after uuid DEFAULT NULL::uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET statement_timeout TO '10s'
    AS $_$
declare
  q private.segment_query;
  total bigint;
  page record;
  members jsonb;
begin
  perform private.require_role('admin');
  perform private.check_segment_page_size(evaluate_segment.page_size);
  begin
    q := private.compile_segment(evaluate_segment.definition);
    execute format('select count(*) from public.customer_facts f where %s', q.predicate)
       into total using q.texts, q.ints, q.nums, q.times;
    page := private.segment_page(q, evaluate_segment.page_size, evaluate_segment.after);
    select coalesce(jsonb_agg(private.segment_member_json(m.customer_id) order by m.customer_id), '[]'::jsonb) into members
      from unnest(page.customer_ids) m(customer_id);
  exception when query_canceled then
    raise exception using errcode = '54001', message = private.segment_timeout_message(), detail = 'query_canceled (57014) by statement_timeout';
  end;
  return jsonb_build_object('total', total, 'members', members, 'next_after', page.next_after);
end
$_$;

CREATE OR REPLACE FUNCTION public.list_customers(definition jsonb DEFAULT NULL::jsonb, page_size integer DEFAULT 50, after uuid DEFAULT NULL::uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET statement_timeout TO '10s'
    AS $_$
declare
  q private.segment_query := row('true', '{}'::text[], '{}'::bigint[], '{}'::numeric[], '{}'::timestamptz[]);
  page record;
  customers jsonb;
begin
  perform private.require_role('admin');
  perform private.check_segment_page_size(list_customers.page_size);
  begin
    if list_customers.definition is not null then
      q := private.compile_segment(list_customers.definition);
    end if;
    page := private.segment_page(q, list_customers.page_size, list_customers.after);
    select coalesce(jsonb_agg(to_jsonb(c) order by c.customer_id), '[]'::jsonb) into customers
      from public.admin_customers c where c.customer_id = any (page.customer_ids);
  exception when query_canceled then
    raise exception using errcode = '54001', message = private.segment_timeout_message(), detail = 'query_canceled (57014) by statement_timeout';
  end;
  return jsonb_build_object('customers', customers, 'next_after', page.next_after);
end
$_$;

-- create or replace set the functions' statement_timeout back to 10s: keep the configured one
do $$
declare
  t text := (select s.value from private.segment_settings s where s.key = 'statement_timeout');
begin
  if t is not null then
    execute format('alter function public.evaluate_segment(jsonb, integer, uuid) set statement_timeout = %L', t);
    execute format('alter function public.list_customers(jsonb, integer, uuid) set statement_timeout = %L', t);
  end if;
end
$$;

reset check_function_bodies;
