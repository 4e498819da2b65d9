-- Messaging, the verbs: freeze an audience, queue a campaign (one set-based statement decides
-- every member's fate), claim due recipients under a lease, complete them, and pause, resume or
-- cancel a campaign.

-- Inside security definer code current_user is the owner, so the caller is judged by the
-- request's role and claims: API callers need the staff role; server-side callers pass.
create or replace function private.assert_staff(role_name text)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if current_setting('role', true) in ('anon', 'authenticated') or coalesce(auth.role(), '') in ('anon', 'authenticated') then
    if auth.uid() is null or not private.has_role('admin')
       or (assert_staff.role_name <> 'admin' and not private.has_role(assert_staff.role_name)) then
      raise exception using errcode = '42501',
        message = format('permission denied: the %s role is required', assert_staff.role_name);
    end if;
  end if;
end
$$;

-- The fate of one audience member, checked in this order (CONTRACT §8). The set-based statements
-- below inline this CASE (a call per row would dominate at a million); fate_order.test.sql holds
-- them to it for every combination.
create or replace function private.recipient_fate(consent_enabled boolean, suppressed boolean, address text, capped boolean)
returns text
language sql
immutable
set search_path = ''
as $$
  select case when recipient_fate.consent_enabled is not true then 'skipped_no_consent'
              when recipient_fate.suppressed then 'skipped_suppressed'
              when recipient_fate.address is null then 'skipped_no_address'
              when recipient_fate.capped then 'skipped_frequency_cap'
              else 'queued' end
$$;

-- Eligibility counts of a frozen audience, per channel.
create or replace function private.audience_counts(audience_id uuid, channels text[] default array['email', 'sms', 'push'])
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(jsonb_object_agg(ch, counts), '{}'::jsonb)
    from unnest(audience_counts.channels) ch
    cross join lateral (
      select jsonb_build_object(
               'eligible', count(*) filter (where fate = 'queued'),
               'no_consent', count(*) filter (where fate = 'skipped_no_consent'),
               'suppressed', count(*) filter (where fate = 'skipped_suppressed'),
               'no_address', count(*) filter (where fate = 'skipped_no_address')) as counts
        from (select case when cc.enabled is not true then 'skipped_no_consent'
                          when s.id is not null then 'skipped_suppressed'
                          when a.address is null then 'skipped_no_address'
                          else 'queued' end as fate
                from public.campaign_audience_members m
                join public.users u on u.id = m.customer_id
                left join public.customer_consent cc on cc.customer_id = m.customer_id and cc.channel = ch
                cross join lateral (select nullif(btrim(case ch when 'email' then u.email when 'sms' then u.phone
                         else (select t.token from public.customer_push_tokens t
                                where t.customer_id = m.customer_id and t.disabled_at is null
                                order by t.last_seen_at desc limit 1) end), '') as address) a
                left join public.suppressions s on s.channel = ch and s.address_key = lower(a.address)
               where m.audience_id = audience_counts.audience_id) f
    ) c
$$;

-- Freezes {segment_id | definition | customer_ids} into campaign_audiences + members; returns its id.
create or replace function private.freeze_audience(audience jsonb, campaign_id uuid default null, channels text[] default array['email', 'sms', 'push'])
returns uuid
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  kinds text[];
  kind text;
  seg_id uuid;
  seg_def jsonb;
  ids uuid[];
  bad text;
  unknown_ids uuid[];
  new_id uuid := gen_random_uuid();
  member_count integer;
begin
  perform private.assert_staff('communications');
  if jsonb_typeof(freeze_audience.audience) is distinct from 'object' then
    raise exception using errcode = '22023', message = 'audience: must be an object with one of segment_id, definition, customer_ids';
  end if;
  kinds := array(select jsonb_object_keys(freeze_audience.audience));
  if cardinality(kinds) <> 1 or not kinds[1] = any(array['segment_id', 'definition', 'customer_ids']) then
    raise exception using errcode = '22023',
      message = format('audience: give exactly one of segment_id, definition, customer_ids; got %s',
                       coalesce(nullif(array_to_string(kinds, ', '), ''), 'nothing'));
  end if;
  kind := kinds[1];

  insert into public.campaign_audiences (id, campaign_id, segment_snapshot, count, created_by)
  values (new_id, freeze_audience.campaign_id, '{}'::jsonb, 0, auth.uid());

  if kind = 'segment_id' then
    if jsonb_typeof(freeze_audience.audience -> 'segment_id') <> 'string'
       or (freeze_audience.audience ->> 'segment_id') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
      raise exception using errcode = '22023', message = 'audience.segment_id: must be a uuid';
    end if;
    seg_id := (freeze_audience.audience ->> 'segment_id')::uuid;
    select s.definition into seg_def from public.customer_segments s where s.id = seg_id;
    if not found then
      raise exception using errcode = '22023', message = format('audience.segment_id: no segment %s', seg_id);
    end if;
  elsif kind = 'definition' then
    seg_def := freeze_audience.audience -> 'definition';
  end if;

  if seg_def is not null then
    begin
      insert into public.campaign_audience_members (audience_id, customer_id)
      select new_id, m from private.segment_member_ids(seg_def) m;
    exception when sqlstate '22023' then
      raise exception using errcode = '22023', message = format('audience.%s: %s', kind, sqlerrm);
    end;
  else
    if jsonb_typeof(freeze_audience.audience -> 'customer_ids') <> 'array' then
      raise exception using errcode = '22023', message = 'audience.customer_ids: must be an array of uuids';
    end if;
    if jsonb_array_length(freeze_audience.audience -> 'customer_ids') not between 1 and 100000 then
      raise exception using errcode = '22023', message = 'audience.customer_ids: must hold 1 to 100000 ids';
    end if;
    select format('audience.customer_ids[%s]: must be a uuid', ord - 1) into bad
      from jsonb_array_elements(freeze_audience.audience -> 'customer_ids') with ordinality e(v, ord)
     where jsonb_typeof(v) <> 'string' or (v #>> '{}') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
     order by ord limit 1;
    if bad is not null then
      raise exception using errcode = '22023', message = bad;
    end if;
    ids := array(select distinct (v #>> '{}')::uuid from jsonb_array_elements(freeze_audience.audience -> 'customer_ids') v);
    unknown_ids := array(select i from unnest(ids) i where not exists (select 1 from public.users u where u.id = i) limit 5);
    if cardinality(unknown_ids) > 0 then
      raise exception using errcode = '22023',
        message = format('audience.customer_ids: no customer %s', array_to_string(unknown_ids, ', '));
    end if;
    insert into public.campaign_audience_members (audience_id, customer_id) select new_id, i from unnest(ids) i;
  end if;

  get diagnostics member_count = row_count;
  update public.campaign_audiences a
     set count = member_count,
         segment_snapshot = jsonb_strip_nulls(jsonb_build_object(
           'kind', kind,
           'segment_id', seg_id,
           'definition', seg_def,
           'version', coalesce((seg_def ->> 'version')::integer, case when seg_def is null then null else 1 end),
           'hash', encode(sha256(convert_to(coalesce(seg_def::text, array_to_string(array(select unnest(ids) order by 1), ',')), 'UTF8')), 'hex'),
           'counts', private.audience_counts(new_id, freeze_audience.channels)))
   where a.id = new_id;
  return new_id;
end
$$;

-- The one set-based statement that decides every member's fate and queues the eligible.
create or replace function private.enqueue_recipients(campaign_id uuid, audience_id uuid)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  c public.campaigns;
  cap_max integer;
  cap_days integer;
  result jsonb;
begin
  select * into c from public.campaigns where id = enqueue_recipients.campaign_id;
  -- a large audience was just written: fresh statistics let the planner hash-join it
  if (select a.count from public.campaign_audiences a where a.id = enqueue_recipients.audience_id) > 10000 then
    analyze public.campaign_audience_members;
  end if;
  select (s.value -> c.channel ->> 'max')::integer, (s.value -> c.channel ->> 'days')::integer
    into cap_max, cap_days
    from public.messaging_settings s where s.key = 'frequency_cap' and s.value ? c.channel;

  with recent as (
    select r.customer_id, count(*) as n
      from public.campaign_recipients r
     where cap_max is not null
       and r.channel = c.channel
       and r.created_at > now() - make_interval(days => cap_days)
       and r.status in ('queued', 'sending', 'sent', 'delivered', 'deferred', 'opened', 'clicked', 'bounced', 'unsubscribed', 'spam_reported')
     group by r.customer_id
  ), inserted as (
    insert into public.campaign_recipients (campaign_id, customer_id, channel, address, status, consent_history_id, next_attempt_at, queued_at)
    select c.id, m.customer_id, c.channel, a.address,
           -- private.recipient_fate, inlined: a function call per member would dominate at a million
           case when cc.enabled is not true then 'skipped_no_consent'
                when s.id is not null then 'skipped_suppressed'
                when a.address is null then 'skipped_no_address'
                when coalesce(recent.n, 0) >= cap_max then 'skipped_frequency_cap'
                else 'queued' end,
           cc.consent_history_id,
           coalesce(c.scheduled_at, now()),
           now()
      from public.campaign_audience_members m
      join public.users u on u.id = m.customer_id
      left join public.customer_consent cc on cc.customer_id = m.customer_id and cc.channel = c.channel
      cross join lateral (select nullif(btrim(case c.channel when 'email' then u.email when 'sms' then u.phone
               else (select t.token from public.customer_push_tokens t
                      where t.customer_id = m.customer_id and t.disabled_at is null
                      order by t.last_seen_at desc limit 1) end), '') as address) a
      left join public.suppressions s on s.channel = c.channel and s.address_key = lower(a.address)
      left join recent on recent.customer_id = m.customer_id
     where m.audience_id = enqueue_recipients.audience_id
     -- in key order, the unique and per-customer indexes are filled front to back, not scattered
     order by m.customer_id
    returning status
  )
  select jsonb_build_object(
           'audience_count', count(*),
           'queued', count(*) filter (where status = 'queued'),
           'skipped', jsonb_build_object(
             'no_consent', count(*) filter (where status = 'skipped_no_consent'),
             'suppressed', count(*) filter (where status = 'skipped_suppressed'),
             'no_address', count(*) filter (where status = 'skipped_no_address'),
             'frequency_cap', count(*) filter (where status = 'skipped_frequency_cap')))
    into result
    from inserted;
  return result;
end
$$;

-- Closes campaigns that have nothing left to send.
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
     and not exists (select 1 from public.campaign_recipients r where r.campaign_id = c.id and r.status in ('queued', 'sending'))
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
   where k not in ('name', 'channel', 'template_id', 'content', 'audience', 'scheduled_at', 'throttle_per_minute') limit 1;
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

  audience_id := private.freeze_audience(r -> 'audience', campaign_id, array[ch]);
  counts := private.enqueue_recipients(campaign_id, audience_id);

  final_status := case when sched > now() then 'scheduled' else 'sending' end;
  update public.campaigns set status = final_status where id = campaign_id;
  perform private.close_finished_campaigns(array[campaign_id]);

  return jsonb_build_object('campaign_id', campaign_id, 'audience_id', audience_id,
                            'status', (select c.status from public.campaigns c where c.id = campaign_id)) || counts;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Dispatch (service role only)
-- ---------------------------------------------------------------------------------------------

-- Claims up to max_batch due recipients of one channel under a lease. Consent and suppression are
-- checked again here, at the moment of sending; failures become skipped_* and are not returned.
-- Throttled campaigns take tokens from their shared bucket; a provider that said 429 is left alone
-- until its back-off ends.
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
  budget integer := claim_recipients.max_batch;
  wanted integer;
  lease interval := make_interval(secs => coalesce(claim_recipients.lease_seconds, private.dispatch_setting('lease_seconds', 60)));
  claimed uuid[] := array[]::uuid[];
  batch uuid[];
begin
  if exists (select 1 from private.rate_buckets b where b.key = 'provider:' || claim_recipients.channel and b.blocked_until > clock_timestamp()) then
    return;
  end if;
  update public.campaigns c set status = 'sending'
   where c.status = 'scheduled' and c.channel = claim_recipients.channel and c.scheduled_at <= now();

  for camp in
    select c.id, c.throttle_per_minute from public.campaigns c
     where c.status = 'sending' and c.channel = claim_recipients.channel
     order by c.created_at
  loop
    exit when budget <= 0;
    wanted := budget;
    if camp.throttle_per_minute is not null then
      -- never take more tokens than there is due work
      wanted := least(wanted, (select count(*) from (
                  select 1 from public.campaign_recipients r
                   where r.campaign_id = camp.id
                     and ((r.status = 'queued' and r.next_attempt_at <= now()) or (r.status = 'sending' and r.lease_expires_at < clock_timestamp()))
                   limit budget) d)::integer);
      continue when wanted = 0;
      wanted := private.take_tokens('campaign:' || camp.id, wanted, camp.throttle_per_minute);
      continue when wanted = 0;
    end if;

    with due as (
      select r.id from public.campaign_recipients r
       where r.campaign_id = camp.id
         and ((r.status = 'queued' and r.next_attempt_at <= now()) or (r.status = 'sending' and r.lease_expires_at < clock_timestamp()))
       order by r.next_attempt_at
       limit wanted
       for update skip locked
    ), checked as (
      select d.id,
             case when cc.enabled is not true then 'skipped_no_consent'
                  when s.id is not null then 'skipped_suppressed'
                  when r.address is null then 'skipped_no_address'
                  else 'queued' end as fate,
             cc.consent_history_id
        from due d
        join public.campaign_recipients r on r.id = d.id
        left join public.customer_consent cc on cc.customer_id = r.customer_id and cc.channel = r.channel
        left join public.suppressions s on s.channel = r.channel and s.address_key = lower(r.address)
    ), updated as (
      update public.campaign_recipients r
         set status = case when ch.fate = 'queued' then 'sending' else ch.fate end,
             consent_history_id = ch.consent_history_id,
             attempts = r.attempts + case when ch.fate = 'queued' then 1 else 0 end,
             lease_expires_at = case when ch.fate = 'queued' then clock_timestamp() + lease end,
             leased_by = case when ch.fate = 'queued' then claim_recipients.worker end,
             updated_at = now()
        from checked ch
       where r.id = ch.id
      returning r.id, r.status
    )
    select coalesce(array_agg(u.id) filter (where u.status = 'sending'), array[]::uuid[]), count(*)::integer
      into batch, wanted
      from updated u;
    claimed := claimed || batch;
    budget := budget - wanted;
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

-- Records what the provider said for each claimed recipient:
--   results = [{"id", "outcome": "sent"|"retry"|"failed", "provider_message_id", "error", "retry_after_seconds"}]
-- Only rows still leased by this worker change: a worker whose lease ran out is ignored.
create or replace function private.complete_recipients(worker text, results jsonb)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  max_attempts integer := private.dispatch_setting('max_attempts', 5)::integer;
  base_backoff numeric := private.dispatch_setting('base_backoff_seconds', 5);
  max_backoff numeric := private.dispatch_setting('max_backoff_seconds', 300);
  provider_wait numeric;
  ch text;
  counts jsonb;
  campaign_ids uuid[];
  sent_ids uuid[];
begin
  with mine as (
    select r.id, r.campaign_id, r.customer_id, r.channel, r.address, r.attempts, d.outcome, d.provider_message_id, left(d.error, 2000) as error,
           d.retry_after_seconds
      from (select distinct on (x.id) x.* from jsonb_to_recordset(complete_recipients.results)
              as x(id uuid, outcome text, provider_message_id text, error text, retry_after_seconds numeric)) d
      join public.campaign_recipients r on r.id = d.id
     where r.status = 'sending' and r.leased_by = complete_recipients.worker
     for update of r
  ), updated as (
    update public.campaign_recipients r
       set status = case when m.outcome = 'sent' then 'sent'
                         when m.outcome = 'retry' and m.attempts < max_attempts then 'queued'
                         else 'failed' end,
           provider_message_id = coalesce(m.provider_message_id, r.provider_message_id),
           last_error = case when m.outcome = 'sent' then r.last_error else m.error end,
           sent_at = case when m.outcome = 'sent' then now() else r.sent_at end,
           failed_at = case when m.outcome <> 'sent' and not (m.outcome = 'retry' and m.attempts < max_attempts) then now() end,
           next_attempt_at = case when m.outcome = 'retry' and m.attempts < max_attempts then
             clock_timestamp() + make_interval(secs =>
               case when m.retry_after_seconds is not null
                    then m.retry_after_seconds * (1 + random() * 0.2)
                    else least(max_backoff, base_backoff * 2 ^ (m.attempts - 1)) * (0.5 + random() * 0.5) end)
             else r.next_attempt_at end,
           lease_expires_at = null,
           leased_by = null,
           updated_at = now()
      from mine m
     where r.id = m.id
    returning r.id, r.campaign_id, r.customer_id, r.channel, r.address, r.status, r.provider_message_id, r.sent_at
  ), email_logged as (
    insert into public.email_logs (customer_id, to_email, subject, status, provider_message_id, campaign_id, recipient_id, created_at)
    select u.customer_id, u.address, c.content ->> 'subject', 'sent', u.provider_message_id, u.campaign_id, u.id, u.sent_at
      from updated u join public.campaigns c on c.id = u.campaign_id
     where u.status = 'sent' and u.channel = 'email'
    returning 1
  ), sms_logged as (
    insert into public.sms_logs (customer_id, to_phone, body, status, provider_message_id, campaign_id, recipient_id, created_at)
    select u.customer_id, u.address, c.content ->> 'text', 'sent', u.provider_message_id, u.campaign_id, u.id, u.sent_at
      from updated u join public.campaigns c on c.id = u.campaign_id
     where u.status = 'sent' and u.channel = 'sms'
    returning 1
  ), push_logged as (
    insert into public.push_logs (customer_id, to_token, title, status, provider_message_id, campaign_id, recipient_id, created_at)
    select u.customer_id, u.address, coalesce(c.content ->> 'title', c.name), 'sent', u.provider_message_id, u.campaign_id, u.id, u.sent_at
      from updated u join public.campaigns c on c.id = u.campaign_id
     where u.status = 'sent' and u.channel = 'push'
    returning 1
  ), timeline as (
    select private.record_timeline_event(
             u.customer_id, 'campaign', 'campaign_recipients', u.id, 'sent', u.sent_at,
             format('%s sent: %s', case u.channel when 'email' then 'Email' when 'sms' then 'SMS' else 'Push' end, c.name),
             jsonb_build_object('action', 'sent', 'campaign_id', u.campaign_id, 'campaign_name', c.name, 'channel', u.channel,
                                'subject', c.content ->> 'subject',
                                'address', u.address, 'provider_message_id', u.provider_message_id))
      from updated u join public.campaigns c on c.id = u.campaign_id
     -- email: the email_logs row's own timeline trigger writes the event
     where u.status = 'sent' and u.channel <> 'email'
  )
  select jsonb_build_object(
           'sent', count(*) filter (where u.status = 'sent'),
           'retry', count(*) filter (where u.status = 'queued'),
           'failed', count(*) filter (where u.status = 'failed'),
           'logged', (select count(*) from email_logged) + (select count(*) from sms_logged) + (select count(*) from push_logged),
           'timeline', (select count(*) from timeline)),
         array_agg(distinct u.campaign_id),
         array_agg(u.id) filter (where u.status = 'sent')
    into counts, campaign_ids, sent_ids
    from updated u;

  -- a provider event that overtook its own send (possible with fast webhooks) applies now, once
  -- the send and its log rows are recorded
  perform private.apply_recipient_events(array(
    select x from unnest(coalesce(sent_ids, array[]::uuid[])) x
     where exists (select 1 from public.message_events e where e.recipient_id = x)));

  -- A provider's rate limit holds back every worker of that channel.
  select max(d.retry_after_seconds), max(r.channel) into provider_wait, ch
    from jsonb_to_recordset(complete_recipients.results) as d(id uuid, outcome text, retry_after_seconds numeric)
    join public.campaign_recipients r on r.id = d.id
   where d.outcome = 'retry' and d.retry_after_seconds is not null;
  if provider_wait is not null then
    insert into private.rate_buckets (key, tokens, blocked_until)
    values ('provider:' || ch, 0, clock_timestamp() + make_interval(secs => provider_wait))
    on conflict (key) do update set blocked_until = greatest(private.rate_buckets.blocked_until, excluded.blocked_until);
  end if;

  perform private.close_finished_campaigns(coalesce(campaign_ids, '{}'));
  return counts || jsonb_build_object('ignored', jsonb_array_length(complete_recipients.results) - (
    coalesce((counts ->> 'sent')::integer, 0) + coalesce((counts ->> 'retry')::integer, 0) + coalesce((counts ->> 'failed')::integer, 0)));
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Campaign control
-- ---------------------------------------------------------------------------------------------

create or replace function private.set_campaign_state(campaign_id uuid, action text)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  c public.campaigns;
  stopped integer := 0;
begin
  perform private.assert_staff('communications');
  select * into c from public.campaigns where id = set_campaign_state.campaign_id for update;
  if not found then
    raise exception using errcode = 'P0002', message = format('campaign_id: no campaign %s', set_campaign_state.campaign_id);
  end if;
  case set_campaign_state.action
    when 'pause' then
      update public.campaigns set status = 'paused' where id = c.id;
    when 'resume' then
      update public.campaigns set status = case when c.scheduled_at > now() then 'scheduled' else 'sending' end where id = c.id;
      perform private.close_finished_campaigns(array[c.id]);
    when 'cancel' then
      update public.campaigns set status = 'cancelled' where id = c.id;
      -- everything that has not left: queued, and leases whose worker is gone
      update public.campaign_recipients r set status = 'cancelled', lease_expires_at = null, leased_by = null, updated_at = now()
       where r.campaign_id = c.id and (r.status = 'queued' or (r.status = 'sending' and r.lease_expires_at < clock_timestamp()));
      get diagnostics stopped = row_count;
  end case;
  return jsonb_build_object('campaign_id', c.id, 'status', (select x.status from public.campaigns x where x.id = c.id),
                            'cancelled_recipients', stopped);
end
$$;

create or replace function public.pause_campaign(campaign_id uuid)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform private.require_role('communications');
  return private.set_campaign_state(pause_campaign.campaign_id, 'pause');
end
$$;

create or replace function public.resume_campaign(campaign_id uuid)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform private.require_role('communications');
  return private.set_campaign_state(resume_campaign.campaign_id, 'resume');
end
$$;

create or replace function public.cancel_campaign(campaign_id uuid)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform private.require_role('communications');
  return private.set_campaign_state(cancel_campaign.campaign_id, 'cancel');
end
$$;

-- The bulk-message RPC, callable directly too: supabase.rpc('queue_bulk_message', { request }).
create or replace function public.queue_bulk_message(request jsonb)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform private.require_role('communications');
  return private.queue_campaign(queue_bulk_message.request);
end
$$;

-- communications-audience: freeze an audience, optionally for a draft campaign; report counts by channel.
create or replace function public.freeze_campaign_audience(audience jsonb, campaign_id uuid default null)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  audience_id uuid;
begin
  perform private.require_role('communications');
  audience_id := private.freeze_audience(freeze_campaign_audience.audience, freeze_campaign_audience.campaign_id);
  return (select jsonb_build_object('audience_id', a.id, 'campaign_id', a.campaign_id, 'generated_at', a.generated_at,
                                    'count', a.count, 'snapshot', a.segment_snapshot)
            from public.campaign_audiences a where a.id = audience_id);
end
$$;

-- message-preview: what one customer would receive (variables resolved in the function).
create or replace function public.message_preview_context(customer_id uuid, template_id uuid default null)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  u public.users;
  t public.message_templates;
begin
  perform private.require_role('communications');
  select * into u from public.users where id = message_preview_context.customer_id;
  if not found then
    raise exception using errcode = 'P0002', message = format('customer_id: no customer %s', message_preview_context.customer_id);
  end if;
  if message_preview_context.template_id is not null then
    select * into t from public.message_templates where id = message_preview_context.template_id;
    if not found then
      raise exception using errcode = 'P0002', message = format('template_id: no template %s', message_preview_context.template_id);
    end if;
  end if;
  return jsonb_build_object(
    'vars', jsonb_build_object('first_name', split_part(coalesce(u.full_name, ''), ' ', 1), 'full_name', coalesce(u.full_name, ''),
                               'city', coalesce(u.city, ''), 'region', coalesce(u.region, ''), 'email', coalesce(u.email, '')),
    'template', case when t.id is null then null else jsonb_strip_nulls(jsonb_build_object(
      'id', t.id, 'channel', t.channel, 'version', t.version, 'subject', t.subject, 'text', t.body_text, 'html', t.body_html)) end);
end
$$;

revoke execute on function private.claim_recipients(text, text, integer, integer), private.complete_recipients(text, jsonb)
  from authenticated;
grant execute on function private.claim_recipients(text, text, integer, integer), private.complete_recipients(text, jsonb)
  to service_role;
grant execute on function private.assert_staff(text), private.queue_campaign(jsonb), private.freeze_audience(jsonb, uuid, text[]),
  private.set_campaign_state(uuid, text), private.check_message_content(text, text, text, text, text[]),
  private.template_variables_used(text), private.message_variables(),
  private.recipient_fate(boolean, boolean, text, boolean), private.dispatch_setting(text, numeric)
  to authenticated, service_role;
grant execute on function public.pause_campaign(uuid), public.resume_campaign(uuid), public.cancel_campaign(uuid),
  public.queue_bulk_message(jsonb), public.freeze_campaign_audience(jsonb, uuid), public.message_preview_context(uuid, uuid)
  to authenticated, service_role;
