-- Delivery: local time, quiet hours, in-doubt sends, one-click unsubscribe
--
-- When and whether a claimed message may leave: customers' time zones, campaign send
-- windows and local send times, SMS quiet hours, attempts recorded before the provider call and
-- in-doubt rows settled from provider evidence (or held for review), and signed one-click
-- unsubscribe links (RFC 8058).
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE private.country_time_zones (
    country_code text NOT NULL,
    region text DEFAULT ''::text NOT NULL,
    time_zone text NOT NULL,
    CONSTRAINT country_time_zones_pkey PRIMARY KEY (country_code, region)
);

insert into private.country_time_zones (country_code, region, time_zone) values
  ('AT', '', 'Europe/Vienna'),
  ('AU', 'new south wales', 'Australia/Sydney'),
  ('AU', 'nsw', 'Australia/Sydney'),
  ('AU', 'wa', 'Australia/Perth'),
  ('AU', 'western australia', 'Australia/Perth'),
  ('BE', '', 'Europe/Brussels'),
  ('CA', 'bc', 'America/Vancouver'),
  ('CA', 'british columbia', 'America/Vancouver'),
  ('CA', 'on', 'America/Toronto'),
  ('CA', 'ontario', 'America/Toronto'),
  ('CH', '', 'Europe/Zurich'),
  ('CN', '', 'Asia/Shanghai'),
  ('DE', '', 'Europe/Berlin'),
  ('DK', '', 'Europe/Copenhagen'),
  ('EE', '', 'Europe/Tallinn'),
  ('ES', '', 'Europe/Madrid'),
  ('ES', 'canarias', 'Atlantic/Canary'),
  ('ES', 'canary islands', 'Atlantic/Canary'),
  ('FI', '', 'Europe/Helsinki'),
  ('FJ', '', 'Pacific/Fiji'),
  ('FR', '', 'Europe/Paris'),
  ('GB', '', 'Europe/London'),
  ('IE', '', 'Europe/Dublin'),
  ('IN', '', 'Asia/Kolkata'),
  ('IS', '', 'Atlantic/Reykjavik'),
  ('IT', '', 'Europe/Rome'),
  ('JP', '', 'Asia/Tokyo'),
  ('KR', '', 'Asia/Seoul'),
  ('LT', '', 'Europe/Vilnius'),
  ('LV', '', 'Europe/Riga'),
  ('NL', '', 'Europe/Amsterdam'),
  ('NO', '', 'Europe/Oslo'),
  ('NZ', '', 'Pacific/Auckland'),
  ('PL', '', 'Europe/Warsaw'),
  ('PT', '', 'Europe/Lisbon'),
  ('PT', 'azores', 'Atlantic/Azores'),
  ('PT', 'açores', 'Atlantic/Azores'),
  ('SE', '', 'Europe/Stockholm'),
  ('SG', '', 'Asia/Singapore'),
  ('TO', '', 'Pacific/Tongatapu'),
  ('US', 'ak', 'America/Anchorage'),
  ('US', 'alaska', 'America/Anchorage'),
  ('US', 'ca', 'America/Los_Angeles'),
  ('US', 'california', 'America/Los_Angeles'),
  ('US', 'co', 'America/Denver'),
  ('US', 'colorado', 'America/Denver'),
  ('US', 'hawaii', 'Pacific/Honolulu'),
  ('US', 'hi', 'Pacific/Honolulu'),
  ('US', 'il', 'America/Chicago'),
  ('US', 'illinois', 'America/Chicago'),
  ('US', 'new york', 'America/New_York'),
  ('US', 'ny', 'America/New_York'),
  ('US', 'wa', 'America/Los_Angeles'),
  ('US', 'washington', 'America/Los_Angeles'),
  ('WS', '', 'Pacific/Apia'),
  ('ZA', '', 'Africa/Johannesburg')
on conflict do nothing;

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.campaign_send_rules(campaign_id uuid, OUT windowed boolean, OUT window_start time without time zone, OUT window_end time without time zone, OUT quiet_start time without time zone, OUT quiet_end time without time zone, OUT local_send_time time without time zone) RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  c public.campaigns;
  q record;
begin
  select * into c from public.campaigns x where x.id = campaign_send_rules.campaign_id;
  window_start := c.send_window_start;
  window_end := c.send_window_end;
  local_send_time := c.local_send_time;
  -- (h11) a double opt-in confirmation is sent because the customer just asked for it: no quiet hours
  if c.quiet_hours_override_reason is null and c.purpose is distinct from 'consent_confirmation' then
    q := private.channel_quiet_hours(c.channel);
    quiet_start := q.quiet_start;
    quiet_end := q.quiet_end;
  end if;
  windowed := window_start is not null or quiet_start is not null or local_send_time is not null;
end
$$;

CREATE FUNCTION private.channel_quiet_hours(channel text, OUT quiet_start time without time zone, OUT quiet_end time without time zone) RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v jsonb := private.messaging_setting('quiet_hours');
begin
  if v is not null and v ? channel_quiet_hours.channel then
    if v -> channel_quiet_hours.channel = 'null'::jsonb then return; end if;
    quiet_start := private.parse_local_time(v -> channel_quiet_hours.channel -> 'start');
    quiet_end := private.parse_local_time(v -> channel_quiet_hours.channel -> 'end');
  elsif channel_quiet_hours.channel = 'sms' then
    quiet_start := '21:00';
    quiet_end := '08:00';
  end if;
end
$$;

CREATE FUNCTION private.complete_late(worker text, results jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  n integer;
begin
  update public.campaign_recipients r
     set status = 'sending', leased_by = complete_late.worker, lease_expires_at = clock_timestamp() + interval '60 seconds',
         resolution = 'the attempt''s own worker answered late', updated_at = now()
    from jsonb_to_recordset(complete_late.results) as d(id uuid, outcome text)
   where r.id = d.id and r.status = 'in_doubt' and r.attempt_worker = complete_late.worker and d.outcome in ('sent', 'failed', 'retry');
  get diagnostics n = row_count;
  if n = 0 then
    return jsonb_build_object('late', 0);
  end if;
  return private.complete_recipients(complete_late.worker, complete_late.results) || jsonb_build_object('late', n);
end
$$;

CREATE FUNCTION private.customer_time_zone(time_zone text, country_code text, region text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select coalesce(customer_time_zone.time_zone,
                  (select z.time_zone from private.country_time_zones z
                    where z.country_code = upper(customer_time_zone.country_code) and z.region = lower(btrim(customer_time_zone.region))),
                  (select z.time_zone from private.country_time_zones z
                    where z.country_code = upper(customer_time_zone.country_code) and z.region = ''),
                  private.default_time_zone())
$$;

CREATE FUNCTION private.default_time_zone() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select coalesce(private.messaging_setting('default_time_zone') #>> '{}', 'Europe/Oslo')
$$;

CREATE FUNCTION private.in_doubt_lookups(channel text, max_rows integer DEFAULT 200) RETURNS TABLE(recipient_id uuid, address text, attempt_started_at timestamp with time zone, body_text text)
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select r.id, r.address, r.attempt_started_at, c.content ->> 'text'
    from public.campaign_recipients r
    join public.campaigns c on c.id = r.campaign_id
   where r.status = 'in_doubt' and r.channel = in_doubt_lookups.channel
     -- asked once the attempt has settled: a timed-out request may still be processed meanwhile
     and r.attempt_started_at <= clock_timestamp()
           - make_interval(secs => coalesce((private.messaging_setting('in_doubt') ->> 'settle_seconds')::numeric, 30))
   order by r.in_doubt_since
   limit in_doubt_lookups.max_rows
$$;

CREATE FUNCTION private.is_time_zone(name text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
begin
  if is_time_zone.name is null or is_time_zone.name !~ '^([A-Za-z_]+(/[A-Za-z0-9_+-]+)+|UTC)$' then
    return false;
  end if;
  perform now() at time zone is_time_zone.name;
  return true;
exception when invalid_parameter_value then
  return false;
end
$_$;

CREATE FUNCTION private.local_window_open(local_t time without time zone, window_start time without time zone, window_end time without time zone) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select case when local_window_open.window_start is null then true
              when local_window_open.window_start < local_window_open.window_end
                then local_window_open.local_t >= local_window_open.window_start and local_window_open.local_t < local_window_open.window_end
              else local_window_open.local_t >= local_window_open.window_start or local_window_open.local_t < local_window_open.window_end end
$$;

CREATE FUNCTION private.mark_attempt_unknown(worker text, results jsonb) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  with d as (select distinct on (x.id) x.* from jsonb_to_recordset(mark_attempt_unknown.results) as x(id uuid, error text))
  update public.campaign_recipients r
     set status = 'in_doubt', in_doubt_since = clock_timestamp(), last_error = left(d.error, 2000),
         leased_by = null, lease_expires_at = null, updated_at = now()
    from d
   where r.id = d.id and r.status = 'sending' and r.leased_by = mark_attempt_unknown.worker
  returning 1
$$;

CREATE FUNCTION private.next_local_time(tz text, at timestamp with time zone, local_t time without time zone) RETURNS timestamp with time zone
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select min(c.instant)
    from (select ((((next_local_time.at at time zone next_local_time.tz)::date + d) + next_local_time.local_t) at time zone next_local_time.tz) as instant
            from generate_series(0, 2) d) c
   where c.instant >= next_local_time.at
$$;

CREATE FUNCTION private.next_send_opening(tz text, at timestamp with time zone, window_start time without time zone, window_end time without time zone, quiet_start time without time zone, quiet_end time without time zone) RETURNS timestamp with time zone
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select case when private.send_allowed(next_send_opening.tz, next_send_opening.at, next_send_opening.window_start,
                                        next_send_opening.window_end, next_send_opening.quiet_start, next_send_opening.quiet_end)
              then next_send_opening.at
              else (select min(c.instant)
                      from (select ((((next_send_opening.at at time zone next_send_opening.tz)::date + d) + t) at time zone next_send_opening.tz) as instant
                              from generate_series(0, 2) d
                             cross join unnest(array[next_send_opening.window_start, next_send_opening.quiet_end]) t
                             where t is not null) c
                     where c.instant > next_send_opening.at
                       and private.send_allowed(next_send_opening.tz, c.instant, next_send_opening.window_start,
                                                next_send_opening.window_end, next_send_opening.quiet_start, next_send_opening.quiet_end)) end
$$;

CREATE FUNCTION private.parse_local_time(value jsonb) RETURNS time without time zone
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $_$
  select case when jsonb_typeof(parse_local_time.value) = 'string'
               and (parse_local_time.value #>> '{}') ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$'
              then (parse_local_time.value #>> '{}')::time end
$_$;

CREATE FUNCTION private.release_held_recipients(campaign_id uuid, action text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  n integer;
  results jsonb;
begin
  perform private.assert_staff('communications');
  if release_held_recipients.action is null or release_held_recipients.action not in ('resend', 'mark_sent', 'cancel') then
    raise exception using errcode = '22023', message = 'action: must be resend, mark_sent or cancel';
  end if;
  if not exists (select 1 from public.campaigns c where c.id = release_held_recipients.campaign_id) then
    raise exception using errcode = '22023', message = format('campaign_id: no campaign %s', release_held_recipients.campaign_id);
  end if;
  if release_held_recipients.action = 'mark_sent' then
    update public.campaign_recipients r
       set status = 'sending', leased_by = 'review', lease_expires_at = clock_timestamp() + interval '60 seconds', resolution = 'reviewed: it left'
     where r.campaign_id = release_held_recipients.campaign_id and r.status = 'held';
    get diagnostics n = row_count;
    select coalesce(jsonb_agg(jsonb_build_object('id', r.id, 'outcome', 'sent')), '[]'::jsonb) into results
      from public.campaign_recipients r where r.campaign_id = release_held_recipients.campaign_id and r.status = 'sending' and r.leased_by = 'review';
    if n > 0 then perform private.complete_recipients('review', results); end if;
  else
    update public.campaign_recipients r
       set status = case release_held_recipients.action when 'resend' then 'queued' else 'cancelled' end,
           next_attempt_at = clock_timestamp(), resolution = 'reviewed: ' || release_held_recipients.action, updated_at = now()
     where r.campaign_id = release_held_recipients.campaign_id and r.status = 'held';
    get diagnostics n = row_count;
    perform private.close_finished_campaigns(array[release_held_recipients.campaign_id]);
  end if;
  perform private.write_audit('release_held', 'campaigns', release_held_recipients.campaign_id::text, null,
                              jsonb_build_object('action', release_held_recipients.action, 'recipients', n));
  return jsonb_build_object('campaign_id', release_held_recipients.campaign_id, 'action', release_held_recipients.action, 'recipients', n);
end
$$;

CREATE FUNCTION private.resolve_in_doubt(worker text, channel text, lookups jsonb DEFAULT '[]'::jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  cfg jsonb := coalesce(private.messaging_setting('in_doubt'), '{}'::jsonb);
  wait_s numeric := coalesce((cfg -> resolve_in_doubt.channel ->> 'wait_seconds')::numeric,
                             case resolve_in_doubt.channel when 'push' then 120 else 300 end);
  then_do text := coalesce(cfg -> resolve_in_doubt.channel ->> 'then', case resolve_in_doubt.channel when 'sms' then 'hold' else 'resend' end);
  settle_s numeric := coalesce((cfg ->> 'settle_seconds')::numeric, 30);
  me text := 'reconcile:' || resolve_in_doubt.worker;
  results jsonb;
  counts jsonb;
  decisions jsonb;
begin
  -- the rows stay locked (skip locked: another worker settles others) until this transaction ends
  select coalesce(jsonb_agg(jsonb_build_object('id', x.id, 'decision', x.decision, 'provider_message_id', x.pmid, 'why', x.why)), '[]'::jsonb)
    into decisions
    from (
      select r.id,
             case when ev.pmid is not null or ev.event is not null or lk.found is true then 'sent'
                  when lk.found is false and clock_timestamp() >= r.attempt_started_at + make_interval(secs => settle_s) then 'resend'
                  when clock_timestamp() >= r.attempt_started_at + make_interval(secs => wait_s) then then_do
             end as decision,
             coalesce(lk.provider_message_id, ev.pmid) as pmid,
             case when ev.event is not null then format('evidence: %s %s event', case r.channel when 'email' then 'SendGrid' else 'Twilio' end, ev.event)
                  when lk.found is true then 'evidence: found in the provider''s message list'
                  when lk.found is false then 'evidence of absence: not in the provider''s message list'
                  else format('no evidence within %s s', wait_s) end as why
        from (select r0.* from public.campaign_recipients r0
               where r0.status = 'in_doubt' and r0.channel = resolve_in_doubt.channel
               order by r0.in_doubt_since
               limit 5000
               for update skip locked) r
        left join lateral (
          select e.event,
                 case when e.provider = 'sendgrid' then split_part(e.payload ->> 'sg_message_id', '.', 1) else e.payload ->> 'MessageSid' end as pmid
            from public.message_events e
           where ((e.recipient_id = r.id and e.provider = 'sendgrid'
                   and e.event in ('processed', 'delivered', 'deferred', 'bounce', 'dropped', 'open', 'click', 'spamreport', 'unsubscribe', 'group_unsubscribe'))
               or (r.channel = 'sms' and e.provider = 'twilio' and e.payload ? '_recipient_id' and e.payload ->> '_recipient_id' = r.id::text)
               or (r.channel = 'sms' and e.provider = 'twilio' and e.recipient_id = r.id))
             and e.occurred_at >= r.attempt_started_at - interval '5 minutes'
           order by e.occurred_at
           limit 1
        ) ev on true
        left join (select distinct on (l.id) l.* from jsonb_to_recordset(resolve_in_doubt.lookups) as l(id uuid, found boolean, provider_message_id text)) lk
          on lk.id = r.id
    ) x
   where x.decision is not null;

  -- 1. sent: through complete_recipients, so logs, the timeline and overtaking events apply once
  update public.campaign_recipients r
     set status = 'sending', leased_by = me, lease_expires_at = clock_timestamp() + interval '60 seconds',
         resolution = d.why, updated_at = now()
    from jsonb_to_recordset(decisions) as d(id uuid, decision text, provider_message_id text, why text)
   where r.id = d.id and d.decision = 'sent';
  -- callbacks stored before we knew the SID name the recipient now
  update public.message_events e
     set recipient_id = r.id, campaign_id = r.campaign_id, customer_id = r.customer_id
    from jsonb_to_recordset(decisions) as d(id uuid, decision text, provider_message_id text, why text)
    join public.campaign_recipients r on r.id = d.id
   where d.decision = 'sent' and r.channel = 'sms' and e.provider = 'twilio' and e.recipient_id is null
     and e.payload ? '_recipient_id' and e.payload ->> '_recipient_id' = r.id::text;
  update public.message_events e
     set recipient_id = r.id, campaign_id = r.campaign_id, customer_id = r.customer_id
    from jsonb_to_recordset(decisions) as d(id uuid, decision text, provider_message_id text, why text)
    join public.campaign_recipients r on r.id = d.id
   where d.decision = 'sent' and r.channel = 'sms' and d.provider_message_id is not null and e.recipient_id is null
     -- Twilio event ids are '<SID>:<status>': a range on the unique key finds them
     and e.provider = 'twilio' and e.provider_event_id > d.provider_message_id || ':' and e.provider_event_id < d.provider_message_id || ';';
  select coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'outcome', 'sent', 'provider_message_id', d.provider_message_id)), '[]'::jsonb)
    into results
    from jsonb_to_recordset(decisions) as d(id uuid, decision text, provider_message_id text, why text) where d.decision = 'sent';
  if jsonb_array_length(results) > 0 then
    perform private.complete_recipients(me, results);
  end if;

  -- 2./3. resend (a cancelled campaign's rows are cancelled instead), or hold for review
  update public.campaign_recipients r
     set status = case when d.decision = 'hold' then 'held'
                       when c.status = 'cancelled' then 'cancelled' else 'queued' end,
         next_attempt_at = case when d.decision = 'resend' then clock_timestamp() else r.next_attempt_at end,
         resolution = d.why || case d.decision when 'hold' then ': held for review' else ': sent again' end,
         last_error = case when d.decision = 'hold' then format('in doubt since %s: %s; held for review', r.in_doubt_since, d.why) else r.last_error end,
         updated_at = now()
    from jsonb_to_recordset(decisions) as d(id uuid, decision text, provider_message_id text, why text), public.campaigns c
   where r.id = d.id and d.decision in ('resend', 'hold') and c.id = r.campaign_id;

  select jsonb_build_object('sent', count(*) filter (where decision = 'sent'), 'resent', count(*) filter (where decision = 'resend'),
                            'held', count(*) filter (where decision = 'hold'))
    into counts from jsonb_to_recordset(decisions) as d(decision text);
  perform private.close_finished_campaigns(array(select distinct r.campaign_id from public.campaign_recipients r
                                                   join jsonb_to_recordset(decisions) as d(id uuid, decision text, provider_message_id text, why text) on d.id = r.id));
  return counts || jsonb_build_object('waiting', (select count(*) from public.campaign_recipients r
                                                   where r.status = 'in_doubt' and r.channel = resolve_in_doubt.channel));
end
$$;

CREATE FUNCTION private.return_tokens(bucket text, n integer, per_minute integer) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  update private.rate_buckets b
     set tokens = least(greatest(1, return_tokens.per_minute / 240.0), b.tokens + return_tokens.n)
   where b.key = return_tokens.bucket and return_tokens.n > 0
$$;

CREATE FUNCTION private.schedule_local_send(campaign_id uuid) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  rules record := private.campaign_send_rules(schedule_local_send.campaign_id);
  dtz text := private.default_time_zone();
  n integer;
begin
  if not rules.windowed then
    return 0;
  end if;
  -- zones resolved by joins and openings computed once per (zone, start), not once per row; only
  -- rows whose time changes are written
  with z as (
    select r.id, r.next_attempt_at as base,
           coalesce(u.time_zone, zr.time_zone, zc.time_zone, dtz) as tz
      from public.campaign_recipients r
      join public.users u on u.id = r.customer_id
      left join private.country_time_zones zr on zr.country_code = upper(u.country_code) and zr.region = lower(btrim(u.region))
      left join private.country_time_zones zc on zc.country_code = upper(u.country_code) and zc.region = ''
     where r.campaign_id = schedule_local_send.campaign_id and r.status = 'queued'
  ), o as (
    select d.tz, d.base,
           coalesce(private.next_send_opening(d.tz,
             case when rules.local_send_time is not null then private.next_local_time(d.tz, d.base, rules.local_send_time) else d.base end,
             rules.window_start, rules.window_end, rules.quiet_start, rules.quiet_end), 'infinity') as at
      from (select distinct z.tz, z.base from z) d
  )
  update public.campaign_recipients r
     set next_attempt_at = o.at
    from z join o on o.tz = z.tz and o.base is not distinct from z.base
   where r.id = z.id and r.next_attempt_at is distinct from o.at;
  get diagnostics n = row_count;
  return n;
end
$$;

CREATE FUNCTION private.send_allowed(tz text, at timestamp with time zone, window_start time without time zone, window_end time without time zone, quiet_start time without time zone, quiet_end time without time zone) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select private.local_window_open((send_allowed.at at time zone send_allowed.tz)::time, send_allowed.window_start, send_allowed.window_end)
     and (send_allowed.quiet_start is null
          or not private.local_window_open((send_allowed.at at time zone send_allowed.tz)::time, send_allowed.quiet_start, send_allowed.quiet_end))
$$;

CREATE FUNCTION private.set_campaign_local_time(campaign_id uuid, request jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  r jsonb := set_campaign_local_time.request;
  c public.campaigns;
  ws time;
  we time;
  lt time;
  reason text;
  q record;
begin
  select * into c from public.campaigns x where x.id = set_campaign_local_time.campaign_id;
  if r ? 'send_window' and r -> 'send_window' <> 'null'::jsonb then
    if jsonb_typeof(r -> 'send_window') <> 'object'
       or exists (select 1 from jsonb_object_keys(r -> 'send_window') k where k not in ('start', 'end')) then
      raise exception using errcode = '22023', message = 'send_window: must be {"start":"HH:MM","end":"HH:MM"} in the recipient''s local time';
    end if;
    ws := private.parse_local_time(r -> 'send_window' -> 'start');
    we := private.parse_local_time(r -> 'send_window' -> 'end');
    if ws is null or r -> 'send_window' ->> 'start' = '24:00' then
      raise exception using errcode = '22023', message = 'send_window.start: must be a local time HH:MM from 00:00 to 23:59';
    end if;
    if we is null then
      raise exception using errcode = '22023',
        message = 'send_window.end: must be a local time HH:MM from 00:00 to 24:00 (a window is at most 24 hours)';
    end if;
    if ws = we or (ws = '00:00' and we = '24:00') then
      raise exception using errcode = '22023',
        message = format('send_window: start and end are both %s: a window must be longer than 0 and shorter than 24 hours (omit it to send any time)',
                         r -> 'send_window' ->> 'start');
    end if;
  end if;
  if r ? 'local_send_time' and r -> 'local_send_time' <> 'null'::jsonb then
    lt := private.parse_local_time(r -> 'local_send_time');
    if lt is null or r ->> 'local_send_time' = '24:00' then
      raise exception using errcode = '22023', message = 'local_send_time: must be a local time HH:MM from 00:00 to 23:59';
    end if;
  end if;
  if r ? 'quiet_hours_override' and r -> 'quiet_hours_override' <> 'null'::jsonb then
    if jsonb_typeof(r -> 'quiet_hours_override') <> 'object'
       or exists (select 1 from jsonb_object_keys(r -> 'quiet_hours_override') k where k <> 'reason')
       or jsonb_typeof(r -> 'quiet_hours_override' -> 'reason') <> 'string'
       or char_length(btrim(r -> 'quiet_hours_override' ->> 'reason')) not between 10 and 500 then
      raise exception using errcode = '22023',
        message = 'quiet_hours_override: must be {"reason": "why this campaign may reach people in their quiet hours"} (10 to 500 characters)';
    end if;
    reason := btrim(r -> 'quiet_hours_override' ->> 'reason');
  end if;
  if reason is null then
    q := private.channel_quiet_hours(c.channel);
    -- a window that lies wholly inside the quiet hours never opens
    if ws is not null and q.quiet_start is not null and not exists (
         select 1 from generate_series(0, 1439) m
          where private.local_window_open(time '00:00' + make_interval(mins => m), ws, we)
            and not private.local_window_open(time '00:00' + make_interval(mins => m), q.quiet_start, q.quiet_end)) then
      raise exception using errcode = '22023',
        message = format('send_window: %s-%s lies inside the %s quiet hours %s-%s and would never open',
                         to_char(ws, 'HH24:MI'), to_char(we, 'HH24:MI'), c.channel, to_char(q.quiet_start, 'HH24:MI'), to_char(q.quiet_end, 'HH24:MI'));
    end if;
  end if;
  if ws is null and lt is null and reason is null then
    return;
  end if;
  update public.campaigns x
     set send_window_start = ws, send_window_end = we, local_send_time = lt,
         quiet_hours_override_reason = reason, quiet_hours_override_by = case when reason is not null then auth.uid() end
   where x.id = c.id;
  if reason is not null then
    perform private.write_audit('quiet_hours_override', 'campaigns', c.id::text, null,
      jsonb_build_object('channel', c.channel, 'reason', reason, 'quiet_hours', to_jsonb(private.channel_quiet_hours(c.channel))));
  end if;
end
$$;

CREATE FUNCTION private.tg_users__check_time_zone() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  if not private.is_time_zone(new.time_zone) then
    raise exception using errcode = '22023',
      message = format('time_zone: %s is not an IANA time zone (e.g. "Europe/Oslo", "Pacific/Auckland")', new.time_zone);
  end if;
  return new;
end
$$;

CREATE FUNCTION private.unsubscribe_from_link(recipient_id uuid, campaign_id uuid) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  r public.campaign_recipients;
  cur public.customer_consent;
begin
  select * into r from public.campaign_recipients x
   where x.id = unsubscribe_from_link.recipient_id and x.campaign_id = unsubscribe_from_link.campaign_id;
  if not found then
    return jsonb_build_object('found', false);
  end if;
  select * into cur from public.customer_consent cc where cc.customer_id = r.customer_id and cc.channel = r.channel for update;
  if not found or cur.enabled is not true then
    return jsonb_build_object('found', true, 'channel', r.channel, 'changed', false);
  end if;
  perform public.set_customer_consent(r.customer_id, r.channel, false, 'self_service',
                                      format('one-click unsubscribe link (campaign %s)', r.campaign_id));
  return jsonb_build_object('found', true, 'channel', r.channel, 'changed', true);
end
$$;

CREATE FUNCTION private.unsubscribe_link_ttl_days() RETURNS integer
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select coalesce((private.messaging_setting('unsubscribe') ->> 'link_ttl_days')::integer, 90)
$$;

CREATE FUNCTION private.validate_delivery_setting(key text, value jsonb) RETURNS void
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

CREATE FUNCTION public.release_held_recipients(campaign_id uuid, action text) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform private.require_role('communications');
  return private.release_held_recipients(release_held_recipients.campaign_id, release_held_recipients.action);
end
$$;

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _015_check_time_zone BEFORE INSERT OR UPDATE OF time_zone ON public.users FOR EACH ROW WHEN ((new.time_zone IS NOT NULL)) EXECUTE FUNCTION private.tg_users__check_time_zone();

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant execute on function
  private.campaign_send_rules(uuid),
  private.channel_quiet_hours(text),
  private.customer_time_zone(text,text,text),
  private.default_time_zone(),
  private.is_time_zone(text),
  private.local_window_open(time without time zone,time without time zone,time without time zone),
  private.next_local_time(text,timestamp with time zone,time without time zone),
  private.next_send_opening(text,timestamp with time zone,time without time zone,time without time zone,time without time zone,time without time zone),
  private.parse_local_time(jsonb),
  private.release_held_recipients(uuid,text),
  private.send_allowed(text,timestamp with time zone,time without time zone,time without time zone,time without time zone,time without time zone),
  private.validate_delivery_setting(text,jsonb),
  public.release_held_recipients(uuid,text)
to authenticated, service_role;
grant execute on function
  private.complete_late(text,jsonb),
  private.in_doubt_lookups(text,integer),
  private.mark_attempt_unknown(text,jsonb),
  private.resolve_in_doubt(text,text,jsonb),
  private.unsubscribe_from_link(uuid,uuid),
  private.unsubscribe_link_ttl_days()
to service_role;

reset search_path;
reset check_function_bodies;
