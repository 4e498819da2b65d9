-- Issue 12 (h12a): no duplicate when a dispatcher dies after the provider accepted, quiet hours and
-- send windows in the recipient's local time, and the settings behind both.
--
-- Redefines (from their latest definitions): private.tg_messaging_settings__validate (one branch
-- added), private.claim_recipients (in-doubt marking, attempt record, send window, token refund),
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

-- An IANA time zone name the server knows (not an abbreviation or a POSIX offset string).
create or replace function private.is_time_zone(name text)
returns boolean
language sql
stable
set search_path = ''
as $$
  select is_time_zone.name is not null and is_time_zone.name !~ '^[+-]?[0-9]' and is_time_zone.name ~ '/|^UTC$'
     and exists (select 1 from pg_catalog.pg_timezone_names z where z.name = is_time_zone.name)
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
