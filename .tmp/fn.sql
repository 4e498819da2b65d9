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
