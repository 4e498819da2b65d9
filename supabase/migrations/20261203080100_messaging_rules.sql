-- One rule in one place (issue 13): every limit of a message request lives in
-- private.messaging_rules(); the RPCs enforce it, and the edge functions' zod schemas are built
-- from the same document (supabase/functions/_shared/generated/constants.ts, generated from this
-- database by scripts/gen-constants.mjs and checked for freshness with the types).
--
-- Redefines: private.check_message_content (limits per channel from the rules; blank means only
-- whitespace, the same whitespace JavaScript's trim() removes) and private.queue_campaign (content
-- checked by the new private.check_campaign_content, shared with message-preview; name measured
-- untrimmed like zod). It carries h12a's local-time fields (send_window, local_send_time,
-- quiet_hours_override: private.set_campaign_local_time and private.schedule_local_send), called
-- when those functions exist, so this later migration keeps them once the branches are merged.

create or replace function private.messaging_rules()
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'channels', jsonb_build_array('email', 'sms', 'push'),
    'variables', to_jsonb(private.message_variables()),
    -- what "blank" means, for SQL (btrim with these) and TypeScript (String.prototype.trim)
    'blank_characters', chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(32) || chr(160) || chr(5760)
                        || chr(8192) || chr(8193) || chr(8194) || chr(8195) || chr(8196) || chr(8197) || chr(8198)
                        || chr(8199) || chr(8200) || chr(8201) || chr(8202) || chr(8232) || chr(8233) || chr(8239)
                        || chr(8287) || chr(12288) || chr(65279),
    'request', jsonb_build_object(
      'name', jsonb_build_object('required', true, 'max_chars', 200),
      'customer_ids', jsonb_build_object('min_items', 1, 'max_items', 100000),
      'throttle_per_minute', jsonb_build_object('min', 1, 'max', 100000),
      'idempotency_key', jsonb_build_object('max_chars', 255)),
    -- per channel, the content fields it takes; max_chars counts characters as stored (untrimmed)
    'content', jsonb_build_object(
      'email', jsonb_build_object(
        'subject', jsonb_build_object('required', true, 'max_chars', 300),
        'text', jsonb_build_object('required', true, 'max_chars', 100000),
        'html', jsonb_build_object('required', false, 'max_chars', 500000)),
      'sms', jsonb_build_object(
        'text', jsonb_build_object('required', true, 'max_chars', 1600)),
      'push', jsonb_build_object(
        'title', jsonb_build_object('required', false, 'max_chars', 200),
        'text', jsonb_build_object('required', true, 'max_chars', 4000))))
$$;
comment on function private.messaging_rules() is
  'The limits of message requests and templates, enforced here and read by the edge functions (generated constants).';

-- Blank: empty, or only the whitespace of messaging_rules().blank_characters.
create or replace function private.is_blank(value text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select coalesce(btrim(is_blank.value, private.messaging_rules() ->> 'blank_characters'), '') = ''
$$;

-- Raises 22023 naming the field when content uses a variable outside the whitelist or not
-- declared, misses a required field, or exceeds its channel's limit (templates and campaigns).
create or replace function private.check_message_content(
  channel text, subject text, body_text text, body_html text, declared text[]
)
returns void
language plpgsql
immutable
set search_path = ''
as $$
declare
  field text;
  body text;
  v text;
  allowed text[] := private.message_variables();
  rules jsonb := private.messaging_rules() -> 'content' -> check_message_content.channel;
  rule jsonb;
begin
  foreach v in array coalesce(check_message_content.declared, '{}') loop
    if not v = any(allowed) then
      raise exception using errcode = '22023',
        message = format('variables: %s is not a known variable; use %s', quote_literal(v), array_to_string(allowed, ', '));
    end if;
  end loop;
  for field, body in values ('subject', check_message_content.subject), ('body_text', check_message_content.body_text),
                            ('body_html', check_message_content.body_html) loop
    foreach v in array private.template_variables_used(body) loop
      if not v = any(allowed) then
        raise exception using errcode = '22023',
          message = format('%s: unknown variable {{%s}}; use %s', field, v, array_to_string(allowed, ', '));
      end if;
      if check_message_content.declared is not null and not v = any(check_message_content.declared) then
        raise exception using errcode = '22023',
          message = format('%s: uses {{%s}}, which is not declared in variables', field, v);
      end if;
    end loop;
  end loop;
  if rules is null then
    return; -- not a channel: the table's check constraint (23514) or the caller names it
  end if;
  if check_message_content.channel = 'email' and private.is_blank(check_message_content.subject) then
    raise exception using errcode = '22023', message = 'subject: an email needs a subject';
  end if;
  if private.is_blank(check_message_content.body_text) then
    raise exception using errcode = '22023', message = 'body_text: must not be empty';
  end if;
  if check_message_content.channel <> 'email' and check_message_content.body_html is not null then
    raise exception using errcode = '22023', message = format('body_html: only email has an HTML body, not %s', check_message_content.channel);
  end if;
  if check_message_content.channel <> 'email' and check_message_content.subject is not null then
    raise exception using errcode = '22023', message = format('subject: only email has a subject, not %s', check_message_content.channel);
  end if;
  for field, body, rule in values ('subject', check_message_content.subject, rules -> 'subject'),
                                  ('body_text', check_message_content.body_text, rules -> 'text'),
                                  ('body_html', check_message_content.body_html, rules -> 'html') loop
    if rule is not null and char_length(body) > (rule ->> 'max_chars')::integer then
      raise exception using errcode = '22023',
        message = format('%s: %s is at most %s characters', field,
                         case field when 'subject' then 'an email subject' when 'body_html' then 'an email HTML body'
                           else case check_message_content.channel when 'email' then 'an email text' when 'sms' then 'an SMS'
                                  else 'a push text' end end,
                         rule ->> 'max_chars');
    end if;
  end loop;
end
$$;

-- The content of a campaign or a preview: {subject?, text, html?, title?} as the channel takes
-- it, every field a string within its limit. 22023 naming content.<field>.
create or replace function private.check_campaign_content(channel text, content jsonb)
returns void
language plpgsql
immutable
set search_path = ''
as $$
declare
  rules jsonb := private.messaging_rules() -> 'content' -> check_campaign_content.channel;
  c jsonb := check_campaign_content.content;
  k text;
  rule jsonb;
begin
  if rules is null then
    raise exception using errcode = '22023', message = 'channel: must be one of email, sms, push';
  end if;
  if jsonb_typeof(c) is distinct from 'object' then
    raise exception using errcode = '22023', message = 'content: must be an object';
  end if;
  select x into k from jsonb_object_keys(c) x where not rules ? x order by x limit 1;
  if k is not null then
    raise exception using errcode = '22023',
      message = format('content.%s: not part of %s content; use %s', k, check_campaign_content.channel,
                       (select string_agg(f, ', ') from jsonb_object_keys(rules) f));
  end if;
  for k, rule in select * from jsonb_each(rules) loop
    if c ? k and jsonb_typeof(c -> k) <> 'string' then
      raise exception using errcode = '22023', message = format('content.%s: must be a string', k);
    end if;
    if (rule ->> 'required')::boolean and private.is_blank(c ->> k) then
      raise exception using errcode = '22023', message = case
        when k = 'subject' then 'content.subject: an email needs a subject'
        else format('content.%s: is required', k) end;
    end if;
  end loop;
  begin
    perform private.check_message_content(check_campaign_content.channel, c ->> 'subject', c ->> 'text', c ->> 'html', null);
  exception when sqlstate '22023' then
    raise exception using errcode = '22023',
      message = 'content.' || replace(replace(sqlerrm, 'body_text:', 'text:'), 'body_html:', 'html:');
  end;
  if c ? 'title' and char_length(c ->> 'title') > (rules -> 'title' ->> 'max_chars')::integer then
    raise exception using errcode = '22023',
      message = format('content.title: a %s title is at most %s characters', check_campaign_content.channel, rules -> 'title' ->> 'max_chars');
  end if;
end
$$;

-- bulk-message's body (CONTRACT §8), checked again here so a direct RPC call is as safe.
create or replace function private.queue_campaign(request jsonb)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  r jsonb := queue_campaign.request;
  rules jsonb := private.messaging_rules() -> 'request';
  -- quiet hours and local send times (h12a's migration 20261203040100) when merged with it
  local_time regprocedure := to_regprocedure('private.set_campaign_local_time(uuid, jsonb)');
  local_send regprocedure := to_regprocedure('private.schedule_local_send(uuid)');
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
   where k not in ('name', 'channel', 'template_id', 'content', 'audience', 'scheduled_at', 'throttle_per_minute')
     -- the local-time fields of quiet hours (branch h12a), where its functions are installed
     and not (k in ('send_window', 'local_send_time', 'quiet_hours_override') and local_time is not null)
   limit 1;
  if unknown_key is not null then
    raise exception using errcode = '22023', message = format('%s: unknown field', unknown_key);
  end if;
  if jsonb_typeof(r -> 'name') is distinct from 'string' or private.is_blank(r ->> 'name')
     or char_length(r ->> 'name') > (rules -> 'name' ->> 'max_chars')::integer then
    raise exception using errcode = '22023', message = format('name: must be 1 to %s characters', rules -> 'name' ->> 'max_chars');
  end if;
  ch := r ->> 'channel';
  if jsonb_typeof(r -> 'channel') is distinct from 'string' or not (private.messaging_rules() -> 'channels') ? ch then
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
    perform private.check_campaign_content(ch, content);
  end if;

  if r ? 'scheduled_at' and r -> 'scheduled_at' <> 'null'::jsonb then
    begin
      sched := (r ->> 'scheduled_at')::timestamptz;
    exception when others then
      raise exception using errcode = '22023', message = 'scheduled_at: must be an ISO 8601 timestamp';
    end;
  end if;
  if r ? 'throttle_per_minute' and r -> 'throttle_per_minute' <> 'null'::jsonb then
    if jsonb_typeof(r -> 'throttle_per_minute') <> 'number'
       or (r ->> 'throttle_per_minute')::numeric not between (rules -> 'throttle_per_minute' ->> 'min')::numeric
                                                        and (rules -> 'throttle_per_minute' ->> 'max')::numeric
       or (r ->> 'throttle_per_minute')::numeric <> trunc((r ->> 'throttle_per_minute')::numeric) then
      raise exception using errcode = '22023', message = format('throttle_per_minute: must be an integer from %s to %s',
        rules -> 'throttle_per_minute' ->> 'min', rules -> 'throttle_per_minute' ->> 'max');
    end if;
    throttle := (r ->> 'throttle_per_minute')::integer;
  end if;

  insert into public.campaigns (name, channel, status, template_id, template_version, content, audience, segment_id,
                                scheduled_at, throttle_per_minute, created_by)
  values (btrim(r ->> 'name', private.messaging_rules() ->> 'blank_characters'), ch, 'draft', tmpl.id, tmpl.version, content,
          coalesce(r -> 'audience', 'null'::jsonb),
          case when r -> 'audience' ? 'segment_id' and (r -> 'audience' ->> 'segment_id') ~* '^[0-9a-f-]{36}$'
               then (select s.id from public.customer_segments s where s.id::text = lower(r -> 'audience' ->> 'segment_id')) end,
          sched, throttle, auth.uid())
  returning id into campaign_id;
  -- send window, local send time, quiet-hours override (h12a): validated, stored, audited
  if local_time is not null then
    execute format('select %s($1, $2)', local_time::oid::regproc) using campaign_id, r;
  end if;

  audience_id := private.freeze_audience(r -> 'audience', campaign_id, array[ch]);
  counts := private.enqueue_recipients(campaign_id, audience_id);
  if local_send is not null then
    execute format('select %s($1)', local_send::oid::regproc) using campaign_id;
  end if;

  final_status := case when sched > now() then 'scheduled' else 'sending' end;
  update public.campaigns set status = final_status where id = campaign_id;
  perform private.close_finished_campaigns(array[campaign_id]);

  return jsonb_build_object('campaign_id', campaign_id, 'audience_id', audience_id,
                            'status', (select c.status from public.campaigns c where c.id = campaign_id)) || counts;
end
$$;

-- message-preview checks ad-hoc content with the same rules as bulk-message.
create or replace function public.check_message_content(channel text, content jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
begin
  perform private.check_campaign_content(check_message_content.channel, check_message_content.content);
  return jsonb_build_object('ok', true);
end
$$;
comment on function public.check_message_content(text, jsonb) is
  'Validates ad-hoc message content for a channel as queue_bulk_message does; 22023 naming content.<field>.';

-- The rules, for frontends that want to show limits before a request fails.
create or replace function public.messaging_rules()
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select private.messaging_rules()
$$;

grant execute on function private.messaging_rules(), private.is_blank(text), private.check_campaign_content(text, jsonb)
  to authenticated, service_role;
grant execute on function public.check_message_content(text, jsonb), public.messaging_rules() to authenticated, service_role;
