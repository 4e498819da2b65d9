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
    select c.id, c.throttle_per_minute from public.campaigns c
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
                  when cc.enabled is not true then 'skipped_no_consent'
                  when s.id is not null then 'skipped_suppressed'
                  when r.address is null then 'skipped_no_address'
                  else 'queued' end as fate,
             z.tz,
             cc.consent_history_id
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
stable
security definer
set search_path = ''
as $$
  select r.id, r.address, r.attempt_started_at, c.content ->> 'text'
    from public.campaign_recipients r
    join public.campaigns c on c.id = r.campaign_id
   where r.status = 'in_doubt' and r.channel = in_doubt_lookups.channel
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
  done jsonb := '{}'::jsonb;
begin
  create temporary table if not exists pg_temp.in_doubt_decisions (id uuid primary key, decision text, provider_message_id text, why text) on commit drop;
  truncate pg_temp.in_doubt_decisions;
  insert into pg_temp.in_doubt_decisions
  select x.id, x.decision, x.pmid, x.why
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
        left join lateral (
          select (l ->> 'found')::boolean as found, l ->> 'provider_message_id' as provider_message_id
            from jsonb_array_elements(resolve_in_doubt.lookups) l
           where l ->> 'id' = r.id::text
           limit 1
        ) lk on true
    ) x
   where x.decision is not null;

  -- 1. sent: through complete_recipients, so logs, the timeline and overtaking events apply once
  update public.campaign_recipients r
     set status = 'sending', leased_by = me, lease_expires_at = clock_timestamp() + interval '60 seconds',
         resolution = d.why, updated_at = now()
    from pg_temp.in_doubt_decisions d
   where r.id = d.id and d.decision = 'sent';
  -- callbacks stored before we knew the SID name the recipient now
  update public.message_events e
     set recipient_id = r.id, campaign_id = r.campaign_id, customer_id = r.customer_id
    from pg_temp.in_doubt_decisions d
    join public.campaign_recipients r on r.id = d.id
   where d.decision = 'sent' and r.channel = 'sms' and e.provider = 'twilio' and e.recipient_id is null
     and ((e.payload ? '_recipient_id' and e.payload ->> '_recipient_id' = r.id::text)
          or (d.provider_message_id is not null and e.payload ->> 'MessageSid' = d.provider_message_id));
  select coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'outcome', 'sent', 'provider_message_id', d.provider_message_id)), '[]'::jsonb)
    into results
    from pg_temp.in_doubt_decisions d where d.decision = 'sent';
  if jsonb_array_length(results) > 0 then
    done := private.complete_recipients(me, results);
  end if;

  -- 2./3. resend (a cancelled campaign's rows are cancelled instead), or hold for review
  update public.campaign_recipients r
     set status = case when d.decision = 'hold' then 'held'
                       when c.status = 'cancelled' then 'cancelled' else 'queued' end,
         next_attempt_at = case when d.decision = 'resend' then clock_timestamp() else r.next_attempt_at end,
         resolution = d.why || case d.decision when 'hold' then ': held for review' else ': sent again' end,
         last_error = case when d.decision = 'hold' then format('in doubt since %s: %s; held for review', r.in_doubt_since, d.why) else r.last_error end,
         updated_at = now()
    from pg_temp.in_doubt_decisions d, public.campaigns c
   where r.id = d.id and d.decision in ('resend', 'hold') and c.id = r.campaign_id;

  select jsonb_build_object('sent', count(*) filter (where decision = 'sent'), 'resent', count(*) filter (where decision = 'resend'),
                            'held', count(*) filter (where decision = 'hold'))
    into counts from pg_temp.in_doubt_decisions;
  perform private.close_finished_campaigns(array(select distinct r.campaign_id from public.campaign_recipients r
                                                   join pg_temp.in_doubt_decisions d on d.id = r.id));
  return counts || jsonb_build_object('waiting', (select count(*) from public.campaign_recipients r
                                                   where r.status = 'in_doubt' and r.channel = resolve_in_doubt.channel));
end
$$;

-- A communicator's decision on held recipients: send them again, or record that they left.
create or replace function public.release_held_recipients(campaign_id uuid, action text)
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
  private.next_local_time(text, timestamptz, time), private.campaign_send_rules(uuid),
  private.set_campaign_local_time(uuid, jsonb), private.schedule_local_send(uuid)
  to authenticated, service_role;
revoke execute on function public.release_held_recipients(uuid, text) from public, anon;
grant execute on function public.release_held_recipients(uuid, text) to authenticated, service_role;
