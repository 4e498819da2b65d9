-- What providers tell us: SendGrid events and Twilio status/inbound messages, deduplicated on
-- the provider's event id, applied to recipients (ranked, so order does not matter), email and
-- SMS logs, consent (opt-outs) and suppressions; campaign analytics over them.

create table public.message_events (
  id bigint generated always as identity primary key,
  provider text not null constraint message_events_provider_is_known check (provider in ('sendgrid', 'twilio', 'expo')),
  provider_event_id text not null,
  event text not null,
  recipient_id uuid references public.campaign_recipients (id) on delete set null,
  campaign_id uuid references public.campaigns (id) on delete set null,
  customer_id uuid references public.users (id) on delete set null,
  address text,
  url text,
  reason text,
  occurred_at timestamptz not null,
  payload jsonb not null,
  received_at timestamptz not null default now(),
  constraint message_events_provider_event_key unique (provider, provider_event_id)
);
comment on table public.message_events is 'Every provider event once (unique provider event id); unknown event types are kept and otherwise ignored.';
create index message_events_recipient_idx on public.message_events (recipient_id, event);
create index message_events_campaign_idx on public.message_events (campaign_id, event);
create index message_events_customer_idx on public.message_events (customer_id, occurred_at desc) where event in ('open', 'click');

alter table public.message_events enable row level security;
revoke all on public.message_events from anon, authenticated, service_role;
grant select on public.message_events to authenticated;
grant select, insert, update, delete on public.message_events to service_role;
create policy message_events_select_admin on public.message_events
  for select to authenticated using ((select private.is_admin()));

-- When each source last synced (suppression lists).
create table private.provider_sync_state (
  key text primary key,
  synced_until timestamptz not null,
  updated_at timestamptz not null default now()
);

-- Rank of a recipient status: a lower-ranked late event never overwrites a higher one. Lookup
-- tables rather than functions, so the hot paths join them instead of calling per row.
create table private.recipient_status_ranks (
  status text primary key,
  rank integer not null
);
insert into private.recipient_status_ranks (status, rank) values
  ('sent', 10), ('deferred', 12), ('delivered', 20), ('bounced', 25), ('dropped', 25), ('failed', 25),
  ('opened', 30), ('clicked', 40), ('unsubscribed', 50), ('spam_reported', 60);

-- The recipient status each provider event means; events not listed change no status.
create table private.provider_event_statuses (
  provider text not null,
  event text not null,
  status text not null references private.recipient_status_ranks (status),
  primary key (provider, event)
);
insert into private.provider_event_statuses (provider, event, status) values
  ('sendgrid', 'delivered', 'delivered'), ('sendgrid', 'open', 'opened'), ('sendgrid', 'click', 'clicked'),
  ('sendgrid', 'bounce', 'bounced'), ('sendgrid', 'dropped', 'dropped'), ('sendgrid', 'deferred', 'deferred'),
  ('sendgrid', 'spamreport', 'spam_reported'), ('sendgrid', 'unsubscribe', 'unsubscribed'),
  ('sendgrid', 'group_unsubscribe', 'unsubscribed'),
  ('twilio', 'sent', 'sent'), ('twilio', 'delivered', 'delivered'), ('twilio', 'read', 'opened'),
  ('twilio', 'undelivered', 'failed'), ('twilio', 'failed', 'failed');

-- Brings recipients (and their email/SMS logs) up through every status their events reach, one
-- rank at a time, so the logs (and the timeline written from them) show delivered, opened and
-- clicked once each even when all arrive in one batch; a lower-ranked late event changes nothing.
-- Rows still being sent are left alone; complete_recipients' trigger applies their events once
-- the send is recorded, so an event that overtakes its own send is applied all the same.
create or replace function private.apply_recipient_events(recipient_ids uuid[])
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  lvl record;
  n integer;
  changed integer := 0;
begin
  for lvl in
    select distinct m.status, rk.rank
      from public.message_events e
      join private.provider_event_statuses m on m.provider = e.provider and m.event = e.event
      join private.recipient_status_ranks rk on rk.status = m.status
     where e.recipient_id = any(apply_recipient_events.recipient_ids)
     order by rk.rank, m.status
  loop
    with hits as (
      select e.recipient_id, min(e.occurred_at) as at, min(e.reason) as reason
        from public.message_events e
        join private.provider_event_statuses m on m.provider = e.provider and m.event = e.event
       where e.recipient_id = any(apply_recipient_events.recipient_ids) and m.status = lvl.status
       group by e.recipient_id
    ), updated as (
      update public.campaign_recipients r
         set status = lvl.status,
             delivered_at = case when lvl.status in ('delivered', 'opened', 'clicked') then coalesce(r.delivered_at, h.at) else r.delivered_at end,
             failed_at = case when lvl.status in ('bounced', 'dropped', 'failed') then coalesce(r.failed_at, h.at) else r.failed_at end,
             last_error = case when lvl.status in ('bounced', 'dropped', 'failed') then coalesce(h.reason, r.last_error) else r.last_error end,
             updated_at = now()
        from hits h, private.recipient_status_ranks cur
       where r.id = h.recipient_id
         and cur.status = r.status
         and cur.rank < lvl.rank
      returning r.id, r.channel
    ), emails as (
      update public.email_logs l set status = lvl.status
        from updated u
       where l.recipient_id = u.id and u.channel = 'email' and l.status is distinct from lvl.status
      returning 1
    ), sms as (
      update public.sms_logs l set status = lvl.status, updated_at = now()
        from updated u
       where l.recipient_id = u.id and u.channel = 'sms' and l.status is distinct from lvl.status
      returning 1
    )
    select count(*) into n from updated;
    changed := changed + n;
  end loop;
  return changed;
end
$$;

-- Revokes (or grants) consent from provider events, newest per customer and channel wins, and
-- an event older than the current state is ignored (order-proof).
create or replace function private.apply_provider_consent(changes jsonb)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  applied integer;
begin
  with c as (
    select distinct on (x.customer_id, x.channel) x.*
      from jsonb_to_recordset(apply_provider_consent.changes)
           as x(customer_id uuid, channel text, enabled boolean, source text, note text, occurred_at timestamptz)
     where x.customer_id is not null
     order by x.customer_id, x.channel, x.occurred_at desc
  ), upserted as (
    insert into public.customer_consent as cc (customer_id, channel, enabled, source, note)
    select c.customer_id, c.channel, c.enabled, c.source, left(c.note, 2000) from c
     where exists (select 1 from public.users u where u.id = c.customer_id)
    on conflict on constraint customer_consent_pkey do update
      set enabled = excluded.enabled, source = excluded.source, note = excluded.note
      where cc.enabled is distinct from excluded.enabled
        -- provider times have one-second resolution: an opt-out within the same second as the
        -- last change counts as newer (when in doubt, do not send); an opt-in must be newer
        and cc.updated_at <= (select c2.occurred_at + case when c2.enabled then interval '0' else interval '1 second' end
                                from c c2 where c2.customer_id = excluded.customer_id and c2.channel = excluded.channel)
    returning 1
  )
  select count(*) into applied from upserted;
  return applied;
end
$$;

-- Ingests a SendGrid Event Webhook batch (already signature-checked): dedupe, store, apply.
create or replace function private.ingest_sendgrid_events(events jsonb)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  received integer := jsonb_array_length(ingest_sendgrid_events.events);
  fresh integer;
  recipients uuid[];
  consent_changes jsonb;
  suppressed integer;
  consent_applied integer;
  status_changed integer;
begin
  with parsed as (
    select e,
           coalesce(e ->> 'sg_event_id', md5(e::text)) as event_id,
           case when (e ->> 'recipient_id') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                then (e ->> 'recipient_id')::uuid end as recipient_id,
           to_timestamp(coalesce((e ->> 'timestamp')::double precision, extract(epoch from now()))) as occurred_at
      from jsonb_array_elements(ingest_sendgrid_events.events) e
     where jsonb_typeof(e) = 'object'
  ), inserted as (
    insert into public.message_events (provider, provider_event_id, event, recipient_id, campaign_id, customer_id, address, url, reason, occurred_at, payload)
    select 'sendgrid', p.event_id, coalesce(p.e ->> 'event', 'unknown'), r.id, r.campaign_id,
           coalesce(r.customer_id, (select u.id from public.users u where lower(u.email) = lower(p.e ->> 'email') limit 1)),
           p.e ->> 'email', p.e ->> 'url',
           nullif(concat_ws(': ', p.e ->> 'reason', p.e ->> 'response', p.e ->> 'type'), ''),
           p.occurred_at, p.e
      from parsed p
      left join public.campaign_recipients r on r.id = p.recipient_id
    on conflict on constraint message_events_provider_event_key do nothing
    returning recipient_id, customer_id, event, address, reason, occurred_at, payload
  ), new_events as (
    select * from inserted
  ), suppress as (
    insert into public.suppressions (channel, address, reason, source, details)
    select distinct on (lower(n.address)) 'email', n.address,
           case n.event when 'bounce' then 'bounce' when 'spamreport' then 'spamreport' else 'invalid' end,
           'sendgrid', jsonb_build_object('event', n.event, 'reason', n.reason, 'at', n.occurred_at)
      from new_events n
     where n.address is not null
       and (n.event in ('bounce', 'spamreport') or (n.event = 'dropped' and n.reason ~* 'invalid|bounced'))
     order by lower(n.address), n.occurred_at desc
    on conflict on constraint suppressions_channel_address_key do nothing
    returning 1
  )
  select count(*),
         array_agg(distinct n.recipient_id) filter (where n.recipient_id is not null),
         coalesce(jsonb_agg(jsonb_build_object(
           'customer_id', n.customer_id, 'channel', 'email',
           'enabled', n.event = 'group_resubscribe', 'source', 'sendgrid',
           'note', case n.event when 'spamreport' then 'SendGrid: marked as spam'
                                when 'unsubscribe' then 'SendGrid: unsubscribed'
                                when 'group_unsubscribe' then format('SendGrid: unsubscribed from group %s', n.payload ->> 'asm_group_id')
                                else format('SendGrid: resubscribed to group %s', n.payload ->> 'asm_group_id') end,
           'occurred_at', n.occurred_at))
           filter (where n.event in ('unsubscribe', 'spamreport', 'group_unsubscribe', 'group_resubscribe') and n.customer_id is not null),
           '[]'::jsonb),
         (select count(*) from suppress)
    into fresh, recipients, consent_changes, suppressed
    from new_events n;

  status_changed := private.apply_recipient_events(coalesce(recipients, array[]::uuid[]));
  consent_applied := private.apply_provider_consent(consent_changes);
  return jsonb_build_object('received', received, 'new', fresh, 'duplicates', received - fresh,
                            'status_changed', status_changed, 'consent_changed', consent_applied, 'suppressed', suppressed);
end
$$;

-- Twilio status callback (already signature-checked).
create or replace function private.ingest_twilio_status(params jsonb)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  sid text := ingest_twilio_status.params ->> 'MessageSid';
  status text := lower(ingest_twilio_status.params ->> 'MessageStatus');
  error_code text := nullif(ingest_twilio_status.params ->> 'ErrorCode', '');
  r public.campaign_recipients;
  fresh integer;
  changed integer := 0;
  consent integer := 0;
begin
  if sid is null or status is null then
    raise exception using errcode = '22023', message = 'MessageSid and MessageStatus are required';
  end if;
  select * into r from public.campaign_recipients x where x.provider_message_id = sid limit 1;
  insert into public.message_events (provider, provider_event_id, event, recipient_id, campaign_id, customer_id, address, reason, occurred_at, payload)
  values ('twilio', sid || ':' || status || coalesce(':' || error_code, ''), status, r.id, r.campaign_id, r.customer_id,
          ingest_twilio_status.params ->> 'To', case when error_code is not null then 'twilio error ' || error_code end, now(),
          ingest_twilio_status.params)
  on conflict on constraint message_events_provider_event_key do nothing;
  get diagnostics fresh = row_count;
  if fresh = 1 and r.id is not null then
    changed := private.apply_recipient_events(array[r.id]);
    if status in ('delivered', 'undelivered', 'failed') then
      perform private.record_timeline_event(r.customer_id, 'campaign', 'campaign_recipients', r.id, 'sms:' || status, now(),
        format('SMS %s: %s', case status when 'delivered' then 'delivered' else 'not delivered' end,
               (select c.name from public.campaigns c where c.id = r.campaign_id)),
        jsonb_build_object('action', status, 'campaign_id', r.campaign_id, 'error_code', error_code));
    end if;
  end if;
  -- 21610: the recipient replied STOP; the carrier will refuse further messages
  if fresh = 1 and error_code = '21610' then
    consent := private.apply_provider_consent(jsonb_build_array(jsonb_build_object(
      'customer_id', coalesce(r.customer_id, (select u.id from public.users u where u.phone = ingest_twilio_status.params ->> 'To' limit 1)),
      'channel', 'sms', 'enabled', false, 'source', 'twilio_status', 'note', 'Twilio 21610: the number unsubscribed (STOP)',
      'occurred_at', now())));
  end if;
  return jsonb_build_object('new', fresh, 'status_changed', changed, 'consent_changed', consent);
end
$$;

-- Twilio inbound SMS (already signature-checked): the STOP family revokes SMS consent,
-- START/YES/UNSTOP grants it again, HELP and anything else change nothing.
create or replace function private.ingest_twilio_inbound(params jsonb)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  keyword text := upper(btrim(regexp_replace(coalesce(ingest_twilio_inbound.params ->> 'Body', ''), '[[:punct:]]', '', 'g')));
  from_number text := ingest_twilio_inbound.params ->> 'From';
  action text;
  fresh integer;
  consent integer := 0;
begin
  action := case when keyword in ('STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT') then 'opt_out'
                 when keyword in ('START', 'YES', 'UNSTOP') then 'opt_in'
                 when keyword in ('HELP', 'INFO') then 'help'
                 else 'message' end;
  insert into public.message_events (provider, provider_event_id, event, customer_id, address, reason, occurred_at, payload)
  values ('twilio', coalesce(ingest_twilio_inbound.params ->> 'MessageSid', md5(ingest_twilio_inbound.params::text)), 'inbound_' || action,
          (select u.id from public.users u where u.phone = from_number limit 1), from_number, keyword, now(), ingest_twilio_inbound.params)
  on conflict on constraint message_events_provider_event_key do nothing;
  get diagnostics fresh = row_count;
  if fresh = 1 and action in ('opt_out', 'opt_in') then
    consent := private.apply_provider_consent((
      select coalesce(jsonb_agg(jsonb_build_object('customer_id', u.id, 'channel', 'sms', 'enabled', action = 'opt_in',
                                                   'source', 'twilio_inbound', 'note', format('SMS reply %s', keyword),
                                                   'occurred_at', now())), '[]'::jsonb)
        from public.users u where u.phone = from_number));
  end if;
  return jsonb_build_object('new', fresh, 'action', action, 'consent_changed', consent);
end
$$;

-- Suppression sync: rows from SendGrid's suppression lists (already fetched), upserted with consent.
create or replace function private.ingest_sendgrid_suppressions(kind text, rows jsonb, synced_until timestamptz)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  list_reason text := case ingest_sendgrid_suppressions.kind
                   when 'unsubscribes' then 'unsubscribe' when 'bounces' then 'bounce' when 'spam_reports' then 'spamreport'
                   when 'invalid_emails' then 'invalid' when 'blocks' then 'block' end;
  added integer;
  consent integer := 0;
begin
  if list_reason is null then
    raise exception using errcode = '22023', message = format('kind: %s is not a suppression list', ingest_sendgrid_suppressions.kind);
  end if;
  insert into public.suppressions (channel, address, reason, source, details)
  select distinct on (lower(x.email)) 'email', x.email, list_reason, 'sendgrid_sync',
         jsonb_strip_nulls(jsonb_build_object('created', x.created, 'reason', x.reason, 'status', x.status))
    from jsonb_to_recordset(ingest_sendgrid_suppressions.rows) as x(email text, created bigint, reason text, status text)
   where nullif(btrim(x.email), '') is not null
  on conflict on constraint suppressions_channel_address_key do nothing;
  get diagnostics added = row_count;
  if list_reason in ('unsubscribe', 'spamreport') then
    consent := private.apply_provider_consent((
      select coalesce(jsonb_agg(jsonb_build_object('customer_id', u.id, 'channel', 'email', 'enabled', false, 'source', 'sendgrid',
                                                   'note', format('SendGrid %s list', ingest_sendgrid_suppressions.kind),
                                                   'occurred_at', to_timestamp(x.created))), '[]'::jsonb)
        from jsonb_to_recordset(ingest_sendgrid_suppressions.rows) as x(email text, created bigint)
        join public.users u on lower(u.email) = lower(x.email)));
  end if;
  insert into private.provider_sync_state (key, synced_until) values ('sendgrid:' || ingest_sendgrid_suppressions.kind, ingest_sendgrid_suppressions.synced_until)
  on conflict (key) do update set synced_until = greatest(private.provider_sync_state.synced_until, excluded.synced_until), updated_at = now();
  return jsonb_build_object('kind', ingest_sendgrid_suppressions.kind, 'rows', jsonb_array_length(ingest_sendgrid_suppressions.rows),
                            'suppressed', added, 'consent_changed', consent);
end
$$;

create or replace function private.suppression_sync_since(kind text)
returns timestamptz
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce((select s.synced_until from private.provider_sync_state s where s.key = 'sendgrid:' || suppression_sync_since.kind),
                  'epoch'::timestamptz)
$$;

-- ---------------------------------------------------------------------------------------------
-- Analytics
-- ---------------------------------------------------------------------------------------------

create or replace view public.campaign_stats
with (security_invoker = true)
as
select c.id as campaign_id,
       c.name,
       c.channel,
       c.status,
       c.created_at,
       coalesce(r.audience, 0) as audience,
       coalesce(r.queued, 0) as queued,
       coalesce(r.sent, 0) as sent,
       coalesce(r.delivered, 0) as delivered,
       coalesce(e.unique_opens, 0) as unique_opens,
       coalesce(e.unique_clicks, 0) as unique_clicks,
       coalesce(e.bounces, 0) as bounces,
       coalesce(e.unsubscribes, 0) as unsubscribes,
       coalesce(e.spam_reports, 0) as spam_reports,
       coalesce(r.failed, 0) as failed,
       coalesce(r.cancelled, 0) as cancelled,
       jsonb_build_object('no_consent', coalesce(r.skipped_no_consent, 0), 'suppressed', coalesce(r.skipped_suppressed, 0),
                          'no_address', coalesce(r.skipped_no_address, 0), 'frequency_cap', coalesce(r.skipped_frequency_cap, 0)) as skipped,
       round(coalesce(e.unique_opens, 0)::numeric / nullif(r.delivered, 0), 4) as open_rate,
       round(coalesce(e.unique_clicks, 0)::numeric / nullif(r.delivered, 0), 4) as click_rate
  from public.campaigns c
  left join lateral (
    select count(*)::integer as audience,
           (count(*) filter (where x.status in ('queued', 'sending')))::integer as queued,
           (count(*) filter (where x.sent_at is not null))::integer as sent,
           (count(*) filter (where x.delivered_at is not null or x.status in ('delivered', 'opened', 'clicked', 'unsubscribed', 'spam_reported')))::integer as delivered,
           (count(*) filter (where x.status = 'failed'))::integer as failed,
           (count(*) filter (where x.status = 'cancelled'))::integer as cancelled,
           (count(*) filter (where x.status = 'skipped_no_consent'))::integer as skipped_no_consent,
           (count(*) filter (where x.status = 'skipped_suppressed'))::integer as skipped_suppressed,
           (count(*) filter (where x.status = 'skipped_no_address'))::integer as skipped_no_address,
           (count(*) filter (where x.status = 'skipped_frequency_cap'))::integer as skipped_frequency_cap
      from public.campaign_recipients x where x.campaign_id = c.id
  ) r on true
  left join lateral (
    select (count(distinct m.recipient_id) filter (where m.event in ('open', 'read')))::integer as unique_opens,
           (count(distinct m.recipient_id) filter (where m.event = 'click'))::integer as unique_clicks,
           (count(distinct m.recipient_id) filter (where m.event in ('bounce', 'undelivered')))::integer as bounces,
           (count(distinct m.recipient_id) filter (where m.event in ('unsubscribe', 'group_unsubscribe')))::integer as unsubscribes,
           (count(distinct m.recipient_id) filter (where m.event = 'spamreport'))::integer as spam_reports
      from public.message_events m where m.campaign_id = c.id
  ) e on true;

create or replace view public.campaign_link_clicks
with (security_invoker = true)
as
select m.campaign_id, m.url, count(*)::integer as clicks, count(distinct m.recipient_id)::integer as unique_clickers,
       min(m.occurred_at) as first_click_at, max(m.occurred_at) as last_click_at
  from public.message_events m
 where m.event = 'click' and m.url is not null
 group by m.campaign_id, m.url;

grant select on public.campaign_stats, public.campaign_link_clicks to authenticated, service_role;

grant execute on function private.ingest_sendgrid_events(jsonb), private.ingest_twilio_status(jsonb), private.ingest_twilio_inbound(jsonb),
  private.ingest_sendgrid_suppressions(text, jsonb, timestamptz), private.suppression_sync_since(text) to service_role;
