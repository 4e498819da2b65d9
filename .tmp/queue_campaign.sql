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