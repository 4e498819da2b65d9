-- Messaging queue
--
-- Queueing bulk messages, the dispatcher's claim/complete protocol with leases, provider
-- rate buckets, and the dispatch settings.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE private.bulk_message_requests (
    caller uuid NOT NULL,
    idempotency_key text NOT NULL,
    request_hash text NOT NULL,
    response jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT bulk_message_requests_pkey PRIMARY KEY (caller, idempotency_key)
);

COMMENT ON TABLE private.bulk_message_requests IS 'The first answer per (caller, Idempotency-Key), kept 24 hours; a repeat of the same request gets it again.';

CREATE TABLE private.rate_buckets (
    key text NOT NULL,
    tokens double precision NOT NULL,
    refilled_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    blocked_until timestamp with time zone,
    CONSTRAINT rate_buckets_pkey PRIMARY KEY (key)
);

CREATE TABLE public.messaging_settings (
    key text NOT NULL,
    value jsonb NOT NULL,
    updated_by uuid DEFAULT auth.uid(),
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT messaging_settings_key_is_known CHECK ((key = ANY (ARRAY['frequency_cap'::text, 'dispatch'::text, 'quiet_hours'::text, 'default_time_zone'::text, 'in_doubt'::text, 'unsubscribe'::text]))),
    CONSTRAINT messaging_settings_pkey PRIMARY KEY (key),
    CONSTRAINT messaging_settings_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES public.users(id) ON DELETE SET NULL
);

COMMENT ON TABLE public.messaging_settings IS 'frequency_cap: {"email":{"max":3,"days":7},...} (off unless set); dispatch: {"max_attempts":5,"lease_seconds":60,"base_backoff_seconds":5}; quiet_hours: {"sms":{"start":"21:00","end":"08:00"}} (the default; "sms":null turns it off); default_time_zone: "Europe/Oslo"; in_doubt: {"email":{"wait_seconds":300,"then":"resend"},"sms":{"wait_seconds":300,"then":"hold"},"push":{...},"settle_seconds":30}; unsubscribe: {"link_ttl_days":90}';

CREATE INDEX bulk_message_requests_created_at_idx ON private.bulk_message_requests USING btree (created_at);

CREATE INDEX messaging_settings_updated_by_idx ON public.messaging_settings USING btree (updated_by);

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.channel_setting_rules(key text, value jsonb) RETURNS TABLE(channel text, rule jsonb)
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

CREATE FUNCTION private.claim_recipients(worker text, channel text, max_batch integer DEFAULT 1000, lease_seconds integer DEFAULT NULL::integer) RETURNS TABLE(recipient_id uuid, campaign_id uuid, customer_id uuid, address text, attempts integer, subject text, body_text text, body_html text, title text, vars jsonb)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
             -- an opt-out for this address was acknowledged and is not applied yet (docs/webhooks.md): wait for it
             case when o.held then 'deferred'
                  when rules.windowed and not private.send_allowed(z.tz, clock_timestamp(), rules.window_start, rules.window_end,
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
             z.tz, o.held,
             case when camp.purpose = 'consent_confirmation' then null else cc.consent_history_id end as consent_history_id
        from due d
        join public.campaign_recipients r on r.id = d.id
        join public.users u on u.id = r.customer_id
        cross join lateral (select case when rules.windowed then private.customer_time_zone(u.time_zone, u.country_code, u.region) end as tz) z
        left join public.customer_consent cc on cc.customer_id = r.customer_id and cc.channel = r.channel
        left join public.suppressions s on s.channel = r.channel and s.address_key = lower(r.address)
        cross join lateral (select exists (select 1 from private.webhook_opt_outs w
                                            where w.channel = r.channel and w.address_key = lower(r.address)) as held) o
    ), updated as (
      update public.campaign_recipients r
         set status = case when ch.fate in ('queued', 'deferred') then case when ch.fate = 'queued' then 'sending' else 'queued' end
                           else ch.fate end,
             consent_history_id = case when ch.fate = 'deferred' then r.consent_history_id else ch.consent_history_id end,
             consent_checked_at = case when ch.fate = 'deferred' then r.consent_checked_at else clock_timestamp() end,
             attempts = r.attempts + case when ch.fate = 'queued' then 1 else 0 end,
             next_attempt_at = case when ch.fate = 'deferred' and ch.held
               then clock_timestamp() + make_interval(secs => private.dispatch_setting('base_backoff_seconds', 5))
               when ch.fate = 'deferred'
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

CREATE FUNCTION private.close_finished_campaigns(campaign_ids uuid[]) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  update public.campaigns c set status = 'sent'
   where c.id = any(close_finished_campaigns.campaign_ids)
     and c.status = 'sending'
     and not exists (select 1 from public.campaign_recipients r
                      where r.campaign_id = c.id and r.status in ('queued', 'sending', 'in_doubt', 'held'))
$$;

CREATE FUNCTION private.complete_recipients(worker text, results jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION private.dispatch_setting(name text, fallback numeric) RETURNS numeric
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select coalesce((select (s.value ->> dispatch_setting.name)::numeric from public.messaging_settings s where s.key = 'dispatch'),
                  dispatch_setting.fallback)
$$;

CREATE FUNCTION private.enqueue_recipients(campaign_id uuid, audience_id uuid) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  -- up to this many members, the cap locks each (customer, channel); above, the whole channel
  per_customer_lock_limit constant integer := 100;
  c public.campaigns;
  cap_max integer;
  cap_days integer;
  member_count integer;
  result jsonb;
begin
  select * into c from public.campaigns where id = enqueue_recipients.campaign_id;
  select a.count into member_count from public.campaign_audiences a where a.id = enqueue_recipients.audience_id;
  -- a large audience was just written: fresh statistics let the planner hash-join it
  if member_count > 10000 then
    analyze public.campaign_audience_members;
  end if;
  select (s.value -> c.channel ->> 'max')::integer, (s.value -> c.channel ->> 'days')::integer
    into cap_max, cap_days
    from public.messaging_settings s where s.key = 'frequency_cap' and s.value ? c.channel;

  -- The cap is decided under a lock per customer and channel held to commit: a parallel campaign
  -- waits here, then counts what this one queued (each statement sees what committed before it).
  -- Large audiences take the channel exclusively instead (the lock table is finite); small ones
  -- hold it shared, so the two kinds exclude each other. Keys in order: no deadlock.
  if cap_max is not null then
    if member_count <= per_customer_lock_limit then
      perform pg_advisory_xact_lock_shared(hashtextextended('crm.frequency_cap:' || c.channel, 0));
      perform pg_advisory_xact_lock(hashtext('crm.frequency_cap:' || c.channel), k.key)
         from (select distinct hashtext(m.customer_id::text) as key from public.campaign_audience_members m
                where m.audience_id = enqueue_recipients.audience_id order by 1) k;
    else
      perform pg_advisory_xact_lock(hashtextextended('crm.frequency_cap:' || c.channel, 0));
    end if;
  end if;

  with recent as (
    select r.customer_id, count(*) as n
      from public.campaign_recipients r
     where cap_max is not null
       and r.channel = c.channel
       and r.created_at > now() - make_interval(days => cap_days)
       -- in_doubt and held rows may have left: they count
       and r.status in ('queued', 'sending', 'in_doubt', 'held', 'sent', 'delivered', 'deferred', 'opened', 'clicked', 'bounced',
                        'unsubscribed', 'spam_reported')
     group by r.customer_id
  ), members as (
    select m.customer_id, a.address, cc.enabled, cc.consent_history_id, s.id as suppression_id,
           coalesce(recent.n, 0) >= cap_max as capped,
           (cc.enabled is true and s.id is null and a.address is not null) as reachable
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
  ), ranked as (
    -- of the reachable members sharing an address, one gets the message: one not capped first
    select m.*,
           row_number() over w as address_rank,
           first_value(m.customer_id) over w as address_winner
      from members m
    window w as (partition by m.reachable, case when m.reachable then private.address_key(c.channel, m.address) end
                 order by m.capped nulls first, m.customer_id)
  ), inserted as (
    insert into public.campaign_recipients (campaign_id, customer_id, channel, address, status, consent_history_id,
                                            next_attempt_at, queued_at, last_error)
    select c.id, m.customer_id, c.channel, m.address,
           -- private.recipient_fate, inlined: a function call per member would dominate at a million
           case when m.enabled is not true then 'skipped_no_consent'
                when m.suppression_id is not null then 'skipped_suppressed'
                when m.address is null then 'skipped_no_address'
                when m.address_rank > 1 then 'skipped_duplicate_address'
                when m.capped then 'skipped_frequency_cap'
                else 'queued' end,
           m.consent_history_id,
           coalesce(c.scheduled_at, now()),
           now(),
           case when m.reachable and m.address_rank > 1
                then format('address shared with customer %s, who gets this campaign''s message', m.address_winner) end
      from ranked m
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
             'duplicate_address', count(*) filter (where status = 'skipped_duplicate_address'),
             'frequency_cap', count(*) filter (where status = 'skipped_frequency_cap')))
    into result
    from inserted;
  return result;
end
$$;

CREATE FUNCTION private.messaging_setting(key text) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select s.value from public.messaging_settings s where s.key = messaging_setting.key
$$;

CREATE FUNCTION private.queue_campaign(request jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  r jsonb := queue_campaign.request;
  rules jsonb := private.messaging_rules() -> 'request';
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
     -- the local-time fields of quiet hours (delivery.sql)
     and k not in ('send_window', 'local_send_time', 'quiet_hours_override')
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
  -- send window, local send time, quiet-hours override: validated, stored, audited
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
$_$;

CREATE FUNCTION private.queue_campaign_once(request jsonb, idempotency_key text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  keep constant interval := interval '24 hours';
  max_chars integer := (private.messaging_rules() -> 'request' -> 'idempotency_key' ->> 'max_chars')::integer;
  caller_id uuid := coalesce(auth.uid(), '00000000-0000-0000-0000-000000000000');
  hash text := encode(sha256(convert_to(coalesce(queue_campaign_once.request::text, 'null'), 'UTF8')), 'hex');
  prior private.bulk_message_requests;
  claimed boolean;
  result jsonb;
begin
  perform private.assert_staff('communications');
  if queue_campaign_once.idempotency_key is null then
    return private.queue_campaign(queue_campaign_once.request);
  end if;
  if private.is_blank(queue_campaign_once.idempotency_key) or char_length(queue_campaign_once.idempotency_key) > max_chars
     or queue_campaign_once.idempotency_key !~ '^[\x21-\x7e]+$' then
    raise exception using errcode = '22023',
      message = format('idempotency_key: must be 1 to %s visible ASCII characters (a UUID is a good key)', max_chars);
  end if;
  -- expired keys go a few at a time, never waiting on a row another request holds
  delete from private.bulk_message_requests b
   where (b.caller, b.idempotency_key) in (
     select x.caller, x.idempotency_key from private.bulk_message_requests x
      where x.created_at < now() - keep order by x.created_at limit 100 for update skip locked);
  insert into private.bulk_message_requests (caller, idempotency_key, request_hash)
  values (caller_id, queue_campaign_once.idempotency_key, hash)
  on conflict do nothing
  returning true into claimed;
  if claimed is null then
    select * into prior from private.bulk_message_requests b
     where b.caller = caller_id and b.idempotency_key = queue_campaign_once.idempotency_key;
    if prior.request_hash <> hash then
      raise exception using errcode = 'PT422',
        message = 'idempotency_key: this key was already used for a different request; use a new key for a new request',
        detail = format('first used at %s', prior.created_at);
    end if;
    return prior.response;
  end if;
  result := private.queue_campaign(queue_campaign_once.request);
  update private.bulk_message_requests b set response = result
   where b.caller = caller_id and b.idempotency_key = queue_campaign_once.idempotency_key;
  return result;
end
$_$;

CREATE FUNCTION private.take_tokens(bucket text, wanted integer, per_minute integer) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  capacity double precision := greatest(1, take_tokens.per_minute / 240.0);
  b private.rate_buckets;
  available double precision;
  granted integer;
begin
  insert into private.rate_buckets (key, tokens) values (take_tokens.bucket, capacity) on conflict (key) do nothing;
  select * into b from private.rate_buckets where key = take_tokens.bucket for update;
  available := least(capacity, b.tokens + extract(epoch from clock_timestamp() - b.refilled_at) * take_tokens.per_minute / 60.0);
  granted := least(take_tokens.wanted, floor(available))::integer;
  update private.rate_buckets set tokens = available - granted, refilled_at = clock_timestamp() where key = take_tokens.bucket;
  return greatest(granted, 0);
end
$$;

CREATE FUNCTION private.tg_messaging_settings__validate() RETURNS trigger
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

CREATE FUNCTION public.message_preview_context(customer_id uuid, template_id uuid DEFAULT NULL::uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  u public.users;
  t public.message_templates;
begin
  perform private.require_role('communications');
  select * into u from public.users where id = message_preview_context.customer_id;
  if not found then
    raise sqlstate 'PT404' using detail = 'no_data_found (P0002)', message = format('customer_id: no customer %s', message_preview_context.customer_id);
  end if;
  if message_preview_context.template_id is not null then
    select * into t from public.message_templates where id = message_preview_context.template_id;
    if not found then
      raise sqlstate 'PT404' using detail = 'no_data_found (P0002)', message = format('template_id: no template %s', message_preview_context.template_id);
    end if;
  end if;
  return jsonb_build_object(
    'vars', jsonb_build_object('first_name', split_part(coalesce(u.full_name, ''), ' ', 1), 'full_name', coalesce(u.full_name, ''),
                               'city', coalesce(u.city, ''), 'region', coalesce(u.region, ''), 'email', coalesce(u.email, '')),
    'template', case when t.id is null then null else jsonb_strip_nulls(jsonb_build_object(
      'id', t.id, 'channel', t.channel, 'version', t.version, 'subject', t.subject, 'text', t.body_text, 'html', t.body_html)) end);
end
$$;

CREATE FUNCTION public.queue_bulk_message(request jsonb, idempotency_key text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform private.require_role('communications');
  return private.queue_campaign_once(queue_bulk_message.request, queue_bulk_message.idempotency_key);
end
$$;

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _010_validate BEFORE INSERT OR UPDATE ON public.messaging_settings FOR EACH ROW EXECUTE FUNCTION private.tg_messaging_settings__validate();

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON public.messaging_settings FOR EACH ROW EXECUTE FUNCTION private.tg_audit('key');

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

call private.staff_access('public.messaging_settings', read_by => 'admin', write_by => 'communicator');

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select, insert, update, delete on table public.messaging_settings to service_role;
grant execute on function
  private.claim_recipients(text,text,integer,integer),
  private.complete_recipients(text,jsonb)
to service_role;
grant execute on function
  private.channel_setting_rules(text,jsonb),
  private.dispatch_setting(text,numeric),
  private.messaging_setting(text),
  private.queue_campaign_once(jsonb,text),
  private.queue_campaign(jsonb),
  public.message_preview_context(uuid,uuid),
  public.queue_bulk_message(jsonb,text)
to authenticated, service_role;

reset search_path;
reset check_function_bodies;
