
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
  if c.quiet_hours_override_reason is null then
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
  n integer;
begin
  if not rules.windowed then
    return 0;
  end if;
  update public.campaign_recipients r
     set next_attempt_at = coalesce(private.next_send_opening(z.tz,
           case when rules.local_send_time is not null then private.next_local_time(z.tz, r.next_attempt_at, rules.local_send_time)
                else r.next_attempt_at end,
           rules.window_start, rules.window_end, rules.quiet_start, rules.quiet_end), 'infinity')
    from public.users u
   cross join lateral (select private.customer_time_zone(u.time_zone, u.country_code, u.region) as tz) z
   where r.campaign_id = schedule_local_send.campaign_id and r.status = 'queued' and u.id = r.customer_id;
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
