-- Issue 12 (h12a): no duplicate when a dispatcher dies after the provider accepted, quiet hours and
-- send windows in the recipient's local time, and the settings behind both.
--
-- Redefines (from their latest definitions): private.tg_messaging_settings__validate (one branch
-- added), private.claim_recipients (in-doubt marking, attempt record, send window, token refund;
-- carries h11's consent_confirmation rule and consent_checked_at from 20261203030200),
-- private.close_finished_campaigns (in_doubt and held rows keep a campaign open),
-- private.queue_campaign (three lines: new keys, set_campaign_local_time, schedule_local_send).
-- Replaces constraints messaging_settings_key_is_known and campaign_recipients_status_is_known.

-- ---------------------------------------------------------------------------------------------
-- Settings: quiet_hours, default_time_zone, in_doubt, unsubscribe
-- ---------------------------------------------------------------------------------------------

alter table public.messaging_settings drop constraint messaging_settings_key_is_known;
alter table public.messaging_settings add constraint messaging_settings_key_is_known
  check (key in ('frequency_cap', 'dispatch', 'quiet_hours', 'default_time_zone', 'in_doubt', 'unsubscribe'));
comment on table public.messaging_settings is
  'frequency_cap: {"email":{"max":3,"days":7},...} (off unless set); dispatch: {"max_attempts":5,"lease_seconds":60,"base_backoff_seconds":5}; '
  'quiet_hours: {"sms":{"start":"21:00","end":"08:00"}} (the default; "sms":null turns it off); default_time_zone: "Europe/Oslo"; '
  'in_doubt: {"email":{"wait_seconds":300,"then":"resend"},"sms":{"wait_seconds":300,"then":"hold"},"push":{...},"settle_seconds":30}; '
  'unsubscribe: {"link_ttl_days":90}';

-- An IANA time zone name the server knows (Area/Location, or UTC), not an abbreviation or a POSIX
-- offset string; asking the server is ~100x cheaper than scanning pg_timezone_names.
create or replace function private.is_time_zone(name text)
returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  if is_time_zone.name is null or is_time_zone.name !~ '^([A-Za-z_]+(/[A-Za-z0-9_+-]+)+|UTC)$' then
    return false;
  end if;
  perform now() at time zone is_time_zone.name;
  return true;
exception when invalid_parameter_value then
  return false;
end
$$;

-- 'HH:MM' (00:00-24:00) as a time, or null when it is not one.
create or replace function private.parse_local_time(value jsonb)
returns time
language sql
immutable
set search_path = ''
as $$
  select case when jsonb_typeof(parse_local_time.value) = 'string'
               and (parse_local_time.value #>> '{}') ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$'
              then (parse_local_time.value #>> '{}')::time end
$$;

-- Validates the h12a settings; raises 22023 naming the key.
create or replace function private.validate_delivery_setting(key text, value jsonb)
returns void
language plpgsql
stable
set search_path = ''
as $$
declare
  ch text;
  rule jsonb;
begin
  if validate_delivery_setting.key = 'quiet_hours' then
    if jsonb_typeof(validate_delivery_setting.value) <> 'object' then
      raise exception using errcode = '22023', message = 'value: quiet_hours must be an object keyed by channel';
    end if;
    for ch, rule in select * from jsonb_each(validate_delivery_setting.value) loop
      if ch not in ('email', 'sms', 'push') then
        raise exception using errcode = '22023', message = format('value.%s: not a channel; use email, sms or push', ch);
      end if;
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

create or replace function private.tg_messaging_settings__validate()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  ch text;
  rule jsonb;
begin
  if new.key = 'frequency_cap' then
    if jsonb_typeof(new.value) <> 'object' then
      raise exception using errcode = '22023', message = 'value: frequency_cap must be an object keyed by channel';
    end if;
    for ch, rule in select * from jsonb_each(new.value) loop
      if ch not in ('email', 'sms', 'push') then
        raise exception using errcode = '22023', message = format('value.%s: not a channel; use email, sms or push', ch);
      end if;
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

create or replace function private.messaging_setting(key text)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select s.value from public.messaging_settings s where s.key = messaging_setting.key
$$;

-- Quiet hours of a channel: the setting, else 21:00-08:00 for SMS (on by default), else none.
create or replace function private.channel_quiet_hours(channel text, out quiet_start time, out quiet_end time)
language plpgsql
stable
security definer
set search_path = ''
as $$
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

create or replace function private.default_time_zone()
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(private.messaging_setting('default_time_zone') #>> '{}', 'Europe/Oslo')
$$;

-- ---------------------------------------------------------------------------------------------
-- Customers' time zones
-- ---------------------------------------------------------------------------------------------

alter table public.users add column if not exists time_zone text;
comment on column public.users.time_zone is
  'IANA time zone (e.g. Europe/Oslo); null: derived from country_code/region where one zone fits, else the default_time_zone setting.';

create or replace function private.tg_users__check_time_zone()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not private.is_time_zone(new.time_zone) then
    raise exception using errcode = '22023',
      message = format('time_zone: %s is not an IANA time zone (e.g. "Europe/Oslo", "Pacific/Auckland")', new.time_zone);
  end if;
  return new;
end
$$;

create trigger _015_check_time_zone before insert or update of time_zone on public.users
  for each row when (new.time_zone is not null) execute function private.tg_users__check_time_zone();

-- Where one zone fits a country (region ''), or a region of a country with several.
create table private.country_time_zones (
  country_code text not null,
  region text not null default '',
  time_zone text not null,
  primary key (country_code, region)
);
insert into private.country_time_zones (country_code, region, time_zone) values
  ('NO', '', 'Europe/Oslo'), ('SE', '', 'Europe/Stockholm'), ('DK', '', 'Europe/Copenhagen'), ('FI', '', 'Europe/Helsinki'),
  ('IS', '', 'Atlantic/Reykjavik'), ('DE', '', 'Europe/Berlin'), ('NL', '', 'Europe/Amsterdam'), ('BE', '', 'Europe/Brussels'),
  ('FR', '', 'Europe/Paris'), ('IT', '', 'Europe/Rome'), ('PL', '', 'Europe/Warsaw'), ('AT', '', 'Europe/Vienna'),
  ('CH', '', 'Europe/Zurich'), ('GB', '', 'Europe/London'), ('IE', '', 'Europe/Dublin'), ('EE', '', 'Europe/Tallinn'),
  ('LV', '', 'Europe/Riga'), ('LT', '', 'Europe/Vilnius'), ('JP', '', 'Asia/Tokyo'), ('KR', '', 'Asia/Seoul'),
  ('SG', '', 'Asia/Singapore'), ('IN', '', 'Asia/Kolkata'), ('CN', '', 'Asia/Shanghai'), ('NZ', '', 'Pacific/Auckland'),
  ('WS', '', 'Pacific/Apia'), ('TO', '', 'Pacific/Tongatapu'), ('FJ', '', 'Pacific/Fiji'), ('ZA', '', 'Africa/Johannesburg'),
  ('ES', 'canarias', 'Atlantic/Canary'), ('ES', 'canary islands', 'Atlantic/Canary'),
  ('PT', 'açores', 'Atlantic/Azores'), ('PT', 'azores', 'Atlantic/Azores'),
  ('US', 'hi', 'Pacific/Honolulu'), ('US', 'hawaii', 'Pacific/Honolulu'), ('US', 'ak', 'America/Anchorage'),
  ('US', 'alaska', 'America/Anchorage'), ('US', 'ca', 'America/Los_Angeles'), ('US', 'california', 'America/Los_Angeles'),
  ('US', 'wa', 'America/Los_Angeles'), ('US', 'washington', 'America/Los_Angeles'), ('US', 'ny', 'America/New_York'),
  ('US', 'new york', 'America/New_York'), ('US', 'il', 'America/Chicago'), ('US', 'illinois', 'America/Chicago'),
  ('US', 'co', 'America/Denver'), ('US', 'colorado', 'America/Denver'), ('CA', 'bc', 'America/Vancouver'),
  ('CA', 'british columbia', 'America/Vancouver'), ('CA', 'on', 'America/Toronto'), ('CA', 'ontario', 'America/Toronto'),
  ('AU', 'nsw', 'Australia/Sydney'), ('AU', 'new south wales', 'Australia/Sydney'), ('AU', 'wa', 'Australia/Perth'),
  ('AU', 'western australia', 'Australia/Perth');
-- Spain and Portugal have island zones: mainland by default
insert into private.country_time_zones (country_code, region, time_zone) values ('ES', '', 'Europe/Madrid'), ('PT', '', 'Europe/Lisbon');

-- The zone a customer's local time is read in: their own, else their country's (or region's), else the default.
create or replace function private.customer_time_zone(time_zone text, country_code text, region text)
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(customer_time_zone.time_zone,
                  (select z.time_zone from private.country_time_zones z
                    where z.country_code = upper(customer_time_zone.country_code) and z.region = lower(btrim(customer_time_zone.region))),
                  (select z.time_zone from private.country_time_zones z
                    where z.country_code = upper(customer_time_zone.country_code) and z.region = ''),
                  private.default_time_zone())
$$;

-- ---------------------------------------------------------------------------------------------
-- Local-time windows
-- ---------------------------------------------------------------------------------------------

-- Whether a local time lies in [start, end), a window that may cross midnight; no window: always.
create or replace function private.local_window_open(local_t time, window_start time, window_end time)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select case when local_window_open.window_start is null then true
              when local_window_open.window_start < local_window_open.window_end
                then local_window_open.local_t >= local_window_open.window_start and local_window_open.local_t < local_window_open.window_end
              else local_window_open.local_t >= local_window_open.window_start or local_window_open.local_t < local_window_open.window_end end
$$;

-- Whether a message may leave at instant `at` for a recipient in zone tz: inside the campaign's
-- window and outside the channel's quiet hours.
create or replace function private.send_allowed(tz text, at timestamptz, window_start time, window_end time, quiet_start time, quiet_end time)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select private.local_window_open((send_allowed.at at time zone send_allowed.tz)::time, send_allowed.window_start, send_allowed.window_end)
     and (send_allowed.quiet_start is null
          or not private.local_window_open((send_allowed.at at time zone send_allowed.tz)::time, send_allowed.quiet_start, send_allowed.quiet_end))
$$;

-- The first instant at or after `at` when send_allowed holds, or null when it never does. The
-- allowed set is an intersection of daily intervals, so it opens at a window start or a quiet-hours
-- end: those local times on the surrounding days, turned into instants in the zone (DST-aware; a
-- local time that does not exist on a spring-forward day is read as the instant after the gap).
create or replace function private.next_send_opening(tz text, at timestamptz, window_start time, window_end time, quiet_start time, quiet_end time)
returns timestamptz
language sql
immutable
set search_path = ''
as $$
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

-- The first instant at or after `at` whose local time in tz is `local_t` ("10:00 for each recipient").
create or replace function private.next_local_time(tz text, at timestamptz, local_t time)
returns timestamptz
language sql
immutable
set search_path = ''
as $$
  select min(c.instant)
    from (select ((((next_local_time.at at time zone next_local_time.tz)::date + d) + next_local_time.local_t) at time zone next_local_time.tz) as instant
            from generate_series(0, 2) d) c
   where c.instant >= next_local_time.at
$$;

-- ---------------------------------------------------------------------------------------------
-- Campaigns: send window, local send time, audited quiet-hours override
-- ---------------------------------------------------------------------------------------------

alter table public.campaigns
  add column send_window_start time,
  add column send_window_end time,
  add column local_send_time time,
  add column quiet_hours_override_reason text,
  add column quiet_hours_override_by uuid references public.users (id) on delete set null,
  add constraint campaigns_send_window_start_and_end check ((send_window_start is null) = (send_window_end is null)),
  add constraint campaigns_send_window_not_empty check (send_window_start is distinct from send_window_end or send_window_start is null);
comment on column public.campaigns.send_window_start is 'Send only between send_window_start and send_window_end in each recipient''s local time (may cross midnight).';
comment on column public.campaigns.local_send_time is 'Send at this local time for each recipient (the first such time at or after scheduled_at).';
comment on column public.campaigns.quiet_hours_override_reason is 'Set when the campaign ignores the channel''s quiet hours (audited).';
create index campaigns_quiet_hours_override_by_idx on public.campaigns (quiet_hours_override_by);

-- Validates and stores {send_window, local_send_time, quiet_hours_override} of a bulk-message request.
create or replace function private.set_campaign_local_time(campaign_id uuid, request jsonb)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
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

-- The window parameters a campaign's recipients are held to.
create or replace function private.campaign_send_rules(campaign_id uuid,
  out windowed boolean, out window_start time, out window_end time, out quiet_start time, out quiet_end time, out local_send_time time)
language plpgsql
stable
security definer
set search_path = ''
as $$
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

-- After queueing: each recipient's first attempt waits for its local send time and window.
create or replace function private.schedule_local_send(campaign_id uuid)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
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

create or replace function private.queue_campaign(request jsonb)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  r jsonb := queue_campaign.request;
  unknown_key text;
  ch text;
  content jsonb;
  tmpl public.message_templates;
  sched timestamptz;
  throttle integer;
  campaign_id uuid;
  audience_id uuid;
  counts jsonb;
  final_status text;
begin
  perform private.assert_staff('communications');
  if jsonb_typeof(r) is distinct from 'object' then
    raise exception using errcode = '22023', message = 'body: must be a JSON object';
  end if;
  select k into unknown_key from jsonb_object_keys(r) k
   where k not in ('name', 'channel', 'template_id', 'content', 'audience', 'scheduled_at', 'throttle_per_minute',
                   'send_window', 'local_send_time', 'quiet_hours_override') limit 1;
  if unknown_key is not null then
    raise exception using errcode = '22023', message = format('%s: unknown field', unknown_key);
  end if;
  if jsonb_typeof(r -> 'name') <> 'string' or char_length(btrim(r ->> 'name')) not between 1 and 200 then
    raise exception using errcode = '22023', message = 'name: must be 1 to 200 characters';
  end if;
  ch := r ->> 'channel';
  if jsonb_typeof(r -> 'channel') is distinct from 'string' or ch not in ('email', 'sms', 'push') then
    raise exception using errcode = '22023', message = 'channel: must be one of email, sms, push';
  end if;
  if (r ? 'template_id') = (r ? 'content') then
    raise exception using errcode = '22023', message = 'template_id: give exactly one of template_id and content';
  end if;

  if r ? 'template_id' then
    if jsonb_typeof(r -> 'template_id') <> 'string'
       or (r ->> 'template_id') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
      raise exception using errcode = '22023', message = 'template_id: must be a uuid';
    end if;
    select * into tmpl from public.message_templates t where t.id = (r ->> 'template_id')::uuid;
    if not found then
      raise exception using errcode = '22023', message = format('template_id: no template %s', r ->> 'template_id');
    end if;
    if tmpl.channel <> ch then
      raise exception using errcode = '22023', message = format('template_id: the template is for %s, not %s', tmpl.channel, ch);
    end if;
    content := jsonb_strip_nulls(jsonb_build_object('subject', tmpl.subject, 'text', tmpl.body_text, 'html', tmpl.body_html));
  else
    content := r -> 'content';
    if jsonb_typeof(content) is distinct from 'object' then
      raise exception using errcode = '22023', message = 'content: must be an object';
    end if;
    select k into unknown_key from jsonb_object_keys(content) k
     where k not in ('subject', 'text', 'html', 'title') or (ch <> 'email' and k in ('subject', 'html')) or (ch <> 'push' and k = 'title')
     limit 1;
    if unknown_key is not null then
      raise exception using errcode = '22023', message = format('content.%s: not part of %s content', unknown_key, ch);
    end if;
    if jsonb_typeof(content -> 'text') is distinct from 'string' then
      raise exception using errcode = '22023', message = 'content.text: is required';
    end if;
    begin
      perform private.check_message_content(ch, content ->> 'subject', content ->> 'text', content ->> 'html', null);
    exception when sqlstate '22023' then
      raise exception using errcode = '22023',
        message = 'content.' || replace(replace(sqlerrm, 'body_text:', 'text:'), 'body_html:', 'html:');
    end;
  end if;

  if r ? 'scheduled_at' and r -> 'scheduled_at' <> 'null'::jsonb then
    begin
      sched := (r ->> 'scheduled_at')::timestamptz;
    exception when others then
      raise exception using errcode = '22023', message = 'scheduled_at: must be an ISO 8601 timestamp';
    end;
  end if;
  if r ? 'throttle_per_minute' and r -> 'throttle_per_minute' <> 'null'::jsonb then
    if jsonb_typeof(r -> 'throttle_per_minute') <> 'number' or (r ->> 'throttle_per_minute')::numeric not between 1 and 100000
       or (r ->> 'throttle_per_minute')::numeric <> trunc((r ->> 'throttle_per_minute')::numeric) then
      raise exception using errcode = '22023', message = 'throttle_per_minute: must be an integer from 1 to 100000';
    end if;
    throttle := (r ->> 'throttle_per_minute')::integer;
  end if;

  insert into public.campaigns (name, channel, status, template_id, template_version, content, audience, segment_id,
                                scheduled_at, throttle_per_minute, created_by)
  values (btrim(r ->> 'name'), ch, 'draft', tmpl.id, tmpl.version, content, coalesce(r -> 'audience', 'null'::jsonb),
          case when r -> 'audience' ? 'segment_id' and (r -> 'audience' ->> 'segment_id') ~* '^[0-9a-f-]{36}$'
               then (select s.id from public.customer_segments s where s.id::text = lower(r -> 'audience' ->> 'segment_id')) end,
          sched, throttle, auth.uid())
  returning id into campaign_id;
  -- send window, local send time, quiet-hours override (h12a): validated, stored, audited
  perform private.set_campaign_local_time(campaign_id, r);

  audience_id := private.freeze_audience(r -> 'audience', campaign_id, array[ch]);
  counts := private.enqueue_recipients(campaign_id, audience_id);
  perform private.schedule_local_send(campaign_id);

  final_status := case when sched > now() then 'scheduled' else 'sending' end;
  update public.campaigns set status = final_status where id = campaign_id;
  perform private.close_finished_campaigns(array[campaign_id]);

  return jsonb_build_object('campaign_id', campaign_id, 'audience_id', audience_id,
                            'status', (select c.status from public.campaigns c where c.id = campaign_id)) || counts;
end
$$;
-- ---------------------------------------------------------------------------------------------
-- Recipients: the attempt recorded before the provider call; in_doubt and held
-- ---------------------------------------------------------------------------------------------

alter table public.campaign_recipients
  add column attempt_id uuid,
  add column attempt_started_at timestamptz,
  add column attempt_worker text,
  add column in_doubt_since timestamptz,
  add column resolution text;
comment on column public.campaign_recipients.attempt_id is
  'The last attempt, recorded (committed) before the provider call: a row whose worker died is in doubt, not unclaimed.';
comment on column public.campaign_recipients.resolution is 'How an in-doubt attempt was resolved, from which evidence.';

alter table public.campaign_recipients drop constraint campaign_recipients_status_is_known;
alter table public.campaign_recipients add constraint campaign_recipients_status_is_known check (status in (
    'queued', 'sending', 'in_doubt', 'held', 'sent', 'delivered', 'deferred', 'opened', 'clicked', 'bounced', 'dropped', 'failed',
    'unsubscribed', 'spam_reported', 'cancelled',
    'skipped_no_consent', 'skipped_suppressed', 'skipped_no_address', 'skipped_frequency_cap'));
create index campaign_recipients_in_doubt_idx on public.campaign_recipients (channel, in_doubt_since) where status in ('in_doubt', 'held');

-- Twilio status callbacks carry our recipient id in the callback URL (?rid=), kept as _recipient_id.
create index message_events_twilio_recipient_idx on public.message_events ((payload ->> '_recipient_id'))
  where provider = 'twilio' and payload ? '_recipient_id';

-- Gives back tokens taken but not used (rows deferred to their window, or skipped).
create or replace function private.return_tokens(bucket text, n integer, per_minute integer)
returns void
language sql
volatile
set search_path = ''
as $$
  update private.rate_buckets b
     set tokens = least(greatest(1, return_tokens.per_minute / 240.0), b.tokens + return_tokens.n)
   where b.key = return_tokens.bucket and return_tokens.n > 0
$$;

-- Claims up to max_batch due recipients of one channel under a lease and records the attempt
-- (id, time, worker) in the same commit, before anything reaches the provider. Leases that expired
-- with an attempt recorded are not claimed again: those rows are in doubt and wait for
-- resolve_in_doubt. Rows outside their send window or in quiet hours (recipient's local time)
-- wait for the next opening. Consent and suppression are checked again here; failures become
-- skipped_* and are not returned. Throttled campaigns take tokens from their shared bucket and give
-- back what they did not use; a provider that said 429 is left alone until its back-off ends.
create or replace function private.claim_recipients(worker text, channel text, max_batch integer default 1000, lease_seconds integer default null)
returns table (recipient_id uuid, campaign_id uuid, customer_id uuid, address text, attempts integer, subject text,
               body_text text, body_html text, title text, vars jsonb)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  camp record;
  rules record;
  budget integer := claim_recipients.max_batch;
  wanted integer;
  granted integer;
  sending integer;
  lease interval := make_interval(secs => coalesce(claim_recipients.lease_seconds, private.dispatch_setting('lease_seconds', 60)));
  claimed uuid[] := array[]::uuid[];
  batch uuid[];
  attempt uuid := gen_random_uuid();
begin
  -- a lease that ran out after its attempt was recorded: the provider may have it
  update public.campaign_recipients r
     set status = case when r.attempt_id is null then 'queued' else 'in_doubt' end,
         in_doubt_since = case when r.attempt_id is null then null else clock_timestamp() end,
         leased_by = null, lease_expires_at = null, updated_at = now()
   where r.status = 'sending' and r.channel = claim_recipients.channel and r.lease_expires_at < clock_timestamp();

  if exists (select 1 from private.rate_buckets b where b.key = 'provider:' || claim_recipients.channel and b.blocked_until > clock_timestamp()) then
    return;
  end if;
  update public.campaigns c set status = 'sending'
   where c.status = 'scheduled' and c.channel = claim_recipients.channel and c.scheduled_at <= now();

  for camp in
    select c.id, c.throttle_per_minute, c.purpose from public.campaigns c
     where c.status = 'sending' and c.channel = claim_recipients.channel
     order by c.created_at
  loop
    exit when budget <= 0;
    wanted := budget;
    granted := null;
    if camp.throttle_per_minute is not null then
      -- never take more tokens than there is due work
      wanted := least(wanted, (select count(*) from (
                  select 1 from public.campaign_recipients r
                   where r.campaign_id = camp.id and r.status = 'queued' and r.next_attempt_at <= now()
                   limit budget) d)::integer);
      continue when wanted = 0;
      wanted := private.take_tokens('campaign:' || camp.id, wanted, camp.throttle_per_minute);
      continue when wanted = 0;
      granted := wanted;
    end if;
    rules := private.campaign_send_rules(camp.id);

    with due as (
      select r.id from public.campaign_recipients r
       where r.campaign_id = camp.id and r.status = 'queued' and r.next_attempt_at <= now()
       order by r.next_attempt_at
       limit wanted
       for update skip locked
    ), checked as (
      select d.id,
             case when rules.windowed and not private.send_allowed(z.tz, clock_timestamp(), rules.window_start, rules.window_end,
                                                                     rules.quiet_start, rules.quiet_end) then 'deferred'
                  when camp.purpose = 'consent_confirmation' then
                    -- (h11) transactional: the request must still be pending; suppressions still apply
                    case when not exists (select 1 from public.consent_confirmations k
                                           where k.recipient_id = d.id and k.status = 'pending' and k.expires_at > now()) then 'cancelled'
                         when s.id is not null then 'skipped_suppressed'
                         when r.address is null then 'skipped_no_address'
                         else 'queued' end
                  when cc.enabled is not true then 'skipped_no_consent'
                  when s.id is not null then 'skipped_suppressed'
                  when r.address is null then 'skipped_no_address'
                  else 'queued' end as fate,
             z.tz,
             case when camp.purpose = 'consent_confirmation' then null else cc.consent_history_id end as consent_history_id
        from due d
        join public.campaign_recipients r on r.id = d.id
        join public.users u on u.id = r.customer_id
        cross join lateral (select case when rules.windowed then private.customer_time_zone(u.time_zone, u.country_code, u.region) end as tz) z
        left join public.customer_consent cc on cc.customer_id = r.customer_id and cc.channel = r.channel
        left join public.suppressions s on s.channel = r.channel and s.address_key = lower(r.address)
    ), updated as (
      update public.campaign_recipients r
         set status = case when ch.fate in ('queued', 'deferred') then case when ch.fate = 'queued' then 'sending' else 'queued' end
                           else ch.fate end,
             consent_history_id = case when ch.fate = 'deferred' then r.consent_history_id else ch.consent_history_id end,
             consent_checked_at = case when ch.fate = 'deferred' then r.consent_checked_at else clock_timestamp() end,
             attempts = r.attempts + case when ch.fate = 'queued' then 1 else 0 end,
             next_attempt_at = case when ch.fate = 'deferred'
               then coalesce(private.next_send_opening(ch.tz, clock_timestamp(), rules.window_start, rules.window_end, rules.quiet_start, rules.quiet_end), 'infinity')
               else r.next_attempt_at end,
             lease_expires_at = case when ch.fate = 'queued' then clock_timestamp() + lease end,
             leased_by = case when ch.fate = 'queued' then claim_recipients.worker end,
             attempt_id = case when ch.fate = 'queued' then attempt else r.attempt_id end,
             attempt_started_at = case when ch.fate = 'queued' then clock_timestamp() else r.attempt_started_at end,
             attempt_worker = case when ch.fate = 'queued' then claim_recipients.worker else r.attempt_worker end,
             updated_at = now()
        from checked ch
       where r.id = ch.id
      returning r.id, r.status, ch.fate
    )
    select coalesce(array_agg(u.id) filter (where u.status = 'sending'), array[]::uuid[]),
           (count(*) filter (where u.fate <> 'deferred'))::integer,
           (count(*) filter (where u.status = 'sending'))::integer
      into batch, wanted, sending
      from updated u;
    if granted is not null then
      perform private.return_tokens('campaign:' || camp.id, granted - sending, camp.throttle_per_minute);
    end if;
    claimed := claimed || batch;
    budget := budget - wanted;
    if camp.purpose = 'consent_confirmation' then
      perform private.close_finished_campaigns(array[camp.id]);
    end if;
  end loop;

  return query
    select r.id, r.campaign_id, r.customer_id, r.address, r.attempts,
           c.content ->> 'subject', c.content ->> 'text', c.content ->> 'html', c.content ->> 'title',
           jsonb_build_object('first_name', split_part(coalesce(u.full_name, ''), ' ', 1), 'full_name', coalesce(u.full_name, ''),
                              'city', coalesce(u.city, ''), 'region', coalesce(u.region, ''), 'email', coalesce(u.email, ''))
      from public.campaign_recipients r
      join public.campaigns c on c.id = r.campaign_id
      join public.users u on u.id = r.customer_id
     where r.id = any(claimed)
     order by r.campaign_id, r.id;
end
$$;

-- Closes campaigns that have nothing left to send (in-doubt and held rows are not settled yet).
create or replace function private.close_finished_campaigns(campaign_ids uuid[])
returns void
language sql
volatile
security definer
set search_path = ''
as $$
  update public.campaigns c set status = 'sent'
   where c.id = any(close_finished_campaigns.campaign_ids)
     and c.status = 'sending'
     and not exists (select 1 from public.campaign_recipients r
                      where r.campaign_id = c.id and r.status in ('queued', 'sending', 'in_doubt', 'held'))
$$;

-- ---------------------------------------------------------------------------------------------
-- In doubt: resolved from the provider's evidence before anything is sent again
-- ---------------------------------------------------------------------------------------------

-- The worker's provider call ended without an answer it can trust (timeout, connection lost
-- after the request was written): the provider may have it.
create or replace function private.mark_attempt_unknown(worker text, results jsonb)
returns integer
language sql
volatile
security definer
set search_path = ''
as $$
  with d as (select distinct on (x.id) x.* from jsonb_to_recordset(mark_attempt_unknown.results) as x(id uuid, error text))
  update public.campaign_recipients r
     set status = 'in_doubt', in_doubt_since = clock_timestamp(), last_error = left(d.error, 2000),
         leased_by = null, lease_expires_at = null, updated_at = now()
    from d
   where r.id = d.id and r.status = 'sending' and r.leased_by = mark_attempt_unknown.worker
  returning 1
$$;

-- A worker whose lease ran out still has the provider's answer: it is the best evidence there is.
-- Rows of its own attempt that were declared in doubt meanwhile take the answer.
create or replace function private.complete_late(worker text, results jsonb)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
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

-- In-doubt rows of a channel that an outside lookup could settle (Twilio's Messages list).
create or replace function private.in_doubt_lookups(channel text, max_rows integer default 200)
returns table (recipient_id uuid, address text, attempt_started_at timestamptz, body_text text)
language sql
volatile
security definer
set search_path = ''
as $$
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

-- Settles in-doubt rows of a channel, in this order:
--   1. evidence that it left: a provider event naming the recipient (SendGrid processed, delivered,
--      deferred, bounce, dropped, ...; a Twilio status callback whose URL carried our id) or a
--      message found by the worker's lookup  -> sent (logged and on the timeline, once)
--   2. evidence that it did not: the lookup answered and found nothing, settle_seconds after the
--      attempt                                                                -> queued again
--   3. no evidence after the channel's wait_seconds: its `then`, resend (queued) or hold (held)
-- lookups = [{"id", "found": true|false, "provider_message_id"}] from the worker.
create or replace function private.resolve_in_doubt(worker text, channel text, lookups jsonb default '[]'::jsonb)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
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

-- A communicator's decision on held recipients: send them again, or record that they left.
create or replace function private.release_held_recipients(campaign_id uuid, action text)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
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

-- ---------------------------------------------------------------------------------------------
-- One-click unsubscribe (RFC 8058): replaying a link changes nothing
-- ---------------------------------------------------------------------------------------------

create or replace function private.unsubscribe_link_ttl_days()
returns integer
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce((private.messaging_setting('unsubscribe') ->> 'link_ttl_days')::integer, 90)
$$;

-- Revokes the consent of the link's recipient for its channel, once: the consent row is locked, so
-- concurrent and repeated POSTs of one link write one history row and one audit row.
create or replace function private.unsubscribe_from_link(recipient_id uuid, campaign_id uuid)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
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

-- ---------------------------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------------------------

revoke execute on function private.mark_attempt_unknown(text, jsonb), private.complete_late(text, jsonb),
  private.in_doubt_lookups(text, integer), private.resolve_in_doubt(text, text, jsonb), private.unsubscribe_from_link(uuid, uuid),
  private.return_tokens(text, integer, integer), private.schedule_local_send(uuid), private.set_campaign_local_time(uuid, jsonb)
  from public, anon, authenticated;
grant execute on function private.mark_attempt_unknown(text, jsonb), private.complete_late(text, jsonb),
  private.in_doubt_lookups(text, integer), private.resolve_in_doubt(text, text, jsonb), private.unsubscribe_from_link(uuid, uuid),
  private.unsubscribe_link_ttl_days() to service_role;
grant execute on function private.is_time_zone(text), private.parse_local_time(jsonb), private.validate_delivery_setting(text, jsonb),
  private.messaging_setting(text), private.channel_quiet_hours(text), private.default_time_zone(),
  private.customer_time_zone(text, text, text), private.local_window_open(time, time, time),
  private.send_allowed(text, timestamptz, time, time, time, time), private.next_send_opening(text, timestamptz, time, time, time, time),
  private.next_local_time(text, timestamptz, time), private.campaign_send_rules(uuid)
  to authenticated, service_role;

create or replace function public.release_held_recipients(campaign_id uuid, action text)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform private.require_role('communications');
  return private.release_held_recipients(release_held_recipients.campaign_id, release_held_recipients.action);
end
$$;

grant execute on function private.release_held_recipients(uuid, text) to authenticated, service_role;
grant execute on function public.release_held_recipients(uuid, text) to authenticated, service_role;
