-- Webhook inbox (issue 12): the provider webhooks verify the signature, store the verified raw
-- batch and answer; a worker applies the inbox asynchronously (locally scripts/webhook-worker.ts,
-- on Supabase the pg_cron job crm_apply_webhooks). Events that decide who may be contacted
-- (unsubscribes, spam reports, bounces, drops, resubscribes, Twilio STOP/START and error 21610) are
-- applied in full inside the acknowledging transaction, so the dispatcher's send-time check sees
-- them even when the inbox is behind. Also: SendGrid events whose recipient and email disagree are
-- rejected, evidence that cannot be applied is recorded as ignored with a reason, and machine opens
-- and automated clicks are stored apart from human engagement. docs/webhooks.md describes it all.
--
-- Redefined here (latest definitions in 20261124000630_provider_events.sql and
-- 20261124000500_customer_facts.sql): private.ingest_sendgrid_events, private.customer_engagement,
-- private.tg_message_events__facts, view public.campaign_stats (two columns appended).

-- ---------------------------------------------------------------------------------------------
-- Engagement settings: what counts as a machine open or an automated click, and whether either
-- counts as engagement (facts and segments). Human engagement only by default.
-- ---------------------------------------------------------------------------------------------

create table public.engagement_settings (
  key text primary key constraint engagement_settings_key_is_known
    check (key in ('bot_click_seconds', 'bot_user_agents', 'count_machine_opens', 'count_bot_clicks')),
  value jsonb not null,
  updated_by uuid default auth.uid() references public.users (id) on delete set null,
  updated_at timestamptz not null default now()
);
comment on table public.engagement_settings is
  'bot_click_seconds: a click this many seconds or less after delivery is automated (0: off); bot_user_agents: case-insensitive regexes of link scanners; count_machine_opens / count_bot_clicks: whether they count as engagement (default false).';
create index engagement_settings_updated_by_idx on public.engagement_settings (updated_by);

insert into public.engagement_settings (key, value) values
  ('bot_click_seconds', '10'),
  ('bot_user_agents', '["barracuda", "mimecast", "proofpoint", "urldefense", "safelinks", "symantec", "messagelabs", "trendmicro", "forcepoint", "zscaler", "fireeye", "cisco.*(esa|ironport)", "python-requests", "curl/", "wget/", "go-http-client", "headlesschrome", "phantomjs", "\\mbot\\M", "crawler", "spider", "preview"]'),
  ('count_machine_opens', 'false'),
  ('count_bot_clicks', 'false');

create or replace function private.tg_engagement_settings__validate()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  pattern text;
begin
  case new.key
    when 'bot_click_seconds' then
      if jsonb_typeof(new.value) <> 'number' or (new.value #>> '{}')::numeric not between 0 and 3600
         or (new.value #>> '{}')::numeric <> trunc((new.value #>> '{}')::numeric) then
        raise exception using errcode = '22023', message = 'value: bot_click_seconds must be an integer 0..3600 (0 turns the rule off)';
      end if;
    when 'bot_user_agents' then
      if jsonb_typeof(new.value) <> 'array' or jsonb_array_length(new.value) > 200
         or exists (select 1 from jsonb_array_elements(new.value) p where jsonb_typeof(p) <> 'string' or char_length(p #>> '{}') not between 1 and 200) then
        raise exception using errcode = '22023', message = 'value: bot_user_agents must be an array of at most 200 patterns, each a string of 1..200 characters';
      end if;
      for pattern in select p from jsonb_array_elements_text(new.value) p loop
        begin
          perform '' ~* pattern;
        exception when invalid_regular_expression then
          raise exception using errcode = '22023', message = format('value: %s is not a valid regular expression', pattern);
        end;
      end loop;
    else
      if jsonb_typeof(new.value) <> 'boolean' then
        raise exception using errcode = '22023', message = format('value: %s must be true or false', new.key);
      end if;
  end case;
  new.updated_by := auth.uid();
  new.updated_at := now();
  return new;
end
$$;

-- Whether machine opens or bot clicks count changed: recompute the facts of whoever has any.
create or replace function private.tg_engagement_settings__refresh_facts()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  ids uuid[];
begin
  if new.key in ('count_machine_opens', 'count_bot_clicks') and new.value is distinct from old.value then
    select array_agg(distinct e.customer_id) into ids
      from public.message_events e
     where e.event in ('machine_open', 'bot_click') and e.customer_id is not null;
    if ids is not null then
      perform private.refresh_engagement_facts(ids);
    end if;
  end if;
  return null;
end
$$;

create trigger _010_validate before insert or update on public.engagement_settings
  for each row execute function private.tg_engagement_settings__validate();
create trigger _100_refresh_facts after update on public.engagement_settings
  for each row execute function private.tg_engagement_settings__refresh_facts();
create trigger _900_audit after insert or update or delete on public.engagement_settings
  for each row execute function private.tg_audit('key');

alter table public.engagement_settings enable row level security;
revoke all on public.engagement_settings from anon, authenticated, service_role;
grant select, update on public.engagement_settings to authenticated, service_role;
create policy engagement_settings_select_admin on public.engagement_settings
  for select to authenticated using ((select private.is_admin()));
create policy engagement_settings_update_communicator on public.engagement_settings
  for update to authenticated using ((select private.is_communicator())) with check ((select private.is_communicator()));

create or replace function private.engagement_setting(key text)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select s.value from public.engagement_settings s where s.key = engagement_setting.key
$$;

-- ---------------------------------------------------------------------------------------------
-- Rejected and ignored provider evidence: kept (deduplicated like message_events), never applied.
-- ---------------------------------------------------------------------------------------------

create table public.message_event_rejections (
  id bigint generated always as identity primary key,
  provider text not null constraint message_event_rejections_provider_is_known check (provider in ('sendgrid', 'twilio', 'expo')),
  provider_event_id text not null,
  event text not null,
  verdict text not null constraint message_event_rejections_verdict_is_known check (verdict in ('ignored', 'inconsistent')),
  reason text not null,
  -- as the event claims them: no foreign keys, they may name nothing we know
  recipient_id text,
  campaign_id text,
  address text,
  occurred_at timestamptz not null,
  payload jsonb not null,
  received_at timestamptz not null default now(),
  constraint message_event_rejections_provider_event_key unique (provider, provider_event_id)
);
comment on table public.message_event_rejections is
  'Signed provider events that were not applied: inconsistent (recipient and address disagree) or ignored (unknown recipient, another campaign, never sent), with the reason.';
create index message_event_rejections_received_idx on public.message_event_rejections (received_at desc);

alter table public.message_event_rejections enable row level security;
revoke all on public.message_event_rejections from anon, authenticated, service_role;
grant select on public.message_event_rejections to authenticated;
grant select, insert, update, delete on public.message_event_rejections to service_role;
create policy message_event_rejections_select_admin on public.message_event_rejections
  for select to authenticated using ((select private.is_admin()));

-- ---------------------------------------------------------------------------------------------
-- The inbox
-- ---------------------------------------------------------------------------------------------

create table private.webhook_inbox (
  id bigint generated always as identity primary key,
  source text not null constraint webhook_inbox_source_is_known check (source in ('sendgrid_events', 'twilio_status', 'twilio_inbound')),
  -- SendGrid: the verified body as sent (re-serialized only when NUL characters had to be removed);
  -- Twilio: the verified form parameters as a JSON object
  body text compression lz4 not null,
  body_sha256 bytea not null,
  events integer not null constraint webhook_inbox_events_not_negative check (events >= 0),
  applied_now integer not null default 0,
  -- with several appliers (partitions of the customers), the bit of each partition applied so far
  applied_parts integer not null default 0,
  received_at timestamptz not null default clock_timestamp(),
  attempts integer not null default 0,
  applied_at timestamptz,
  failed_at timestamptz,
  last_error text,
  constraint webhook_inbox_batch_once unique (source, body_sha256)
);
comment on table private.webhook_inbox is
  'Verified webhook bodies, acknowledged once stored; applied by private.apply_webhook_inbox. A byte-identical retry is stored once.';
create index webhook_inbox_pending_idx on private.webhook_inbox (id) where applied_at is null and failed_at is null;
create index webhook_inbox_received_idx on private.webhook_inbox (received_at);
alter table private.webhook_inbox enable row level security;
revoke all on private.webhook_inbox from anon, authenticated, service_role;


-- ---------------------------------------------------------------------------------------------
-- SendGrid: classify, then apply
-- ---------------------------------------------------------------------------------------------

-- The SendGrid events of a batch, each with its fate:
--   apply:        applied as before (statuses, logs, analytics, suppressions, consent);
--   inconsistent: recipient_id names a non-email recipient, or one whose address is not the event's
--                 email (applying it would touch one person's status and suppress or revoke
--                 another's): not applied, recorded in message_event_rejections;
--   ignored:      recipient_id not a uuid, unknown recipient, campaign_id not the recipient's, or
--                 evidence for a recipient that was never sent: recorded with the reason;
--   address:      an ignored opt-out (unsubscribe, spam report): recorded as ignored for the
--                 recipient, and applied to its address like an event without recipient_id, so an
--                 opt-out is never lost.
-- Opens flagged sg_machine_open become 'machine_open'; clicks from a link scanner's user agent or
-- within bot_click_seconds of delivery become 'bot_click' (public.engagement_settings).
create or replace function private.sendgrid_classify(events jsonb)
returns table (
  event_id text, event text, recipient_id uuid, campaign_id uuid, customer_id uuid, address text, url text, reason text,
  occurred_at timestamptz, payload jsonb, fate text, problem text, claimed_recipient text, claimed_campaign text)
language sql
stable
set search_path = ''
as $$
  with settings as materialized (
    select coalesce((private.engagement_setting('bot_click_seconds') #>> '{}')::integer, 0) as bot_seconds,
           (select '(' || string_agg(p, ')|(') || ')' from jsonb_array_elements_text(private.engagement_setting('bot_user_agents')) p) as bot_agents
  ), parsed as (
    select x.e,
           coalesce(x.e ->> 'sg_event_id', md5(x.e::text)) as event_id,
           coalesce(x.e ->> 'event', 'unknown') as raw_event,
           nullif(btrim(x.e ->> 'recipient_id'), '') as rid_text,
           nullif(btrim(x.e ->> 'campaign_id'), '') as cid_text,
           lower(btrim(x.e ->> 'email')) as email_key,
           to_timestamp(coalesce(case when jsonb_typeof(x.e -> 'timestamp') = 'number' then (x.e ->> 'timestamp')::double precision end,
                                 extract(epoch from now()))) as at
      from jsonb_array_elements(sendgrid_classify.events) x(e)
     where jsonb_typeof(x.e) = 'object'
  ), typed as (
    select p.*,
           case when p.rid_text ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then p.rid_text::uuid end as rid
      from parsed p
  ), checked as (
    select t.*, r.id as r_id, r.campaign_id as r_campaign, r.customer_id as r_customer, r.delivered_at as r_delivered, r.sent_at as r_sent,
           case
             when t.rid_text is not null and t.rid is null then 'ignored:recipient_id is not a uuid'
             when t.rid is not null and r.id is null then 'ignored:unknown recipient'
             when r.channel <> 'email' then format('inconsistent:recipient %s is a %s recipient, not email', r.id, r.channel)
             when t.email_key is distinct from lower(btrim(r.address))
               then format('inconsistent:email %s is not the address of recipient %s', coalesce(t.email_key, '(none)'), r.id)
             when t.cid_text is not null and lower(t.cid_text) <> r.campaign_id::text
               then format('ignored:campaign_id %s is not the campaign of recipient %s', t.cid_text, r.id)
             when r.sent_at is null and r.attempts = 0
                  and r.status in ('queued', 'cancelled', 'skipped_no_consent', 'skipped_suppressed', 'skipped_no_address', 'skipped_frequency_cap')
               then format('ignored:recipient %s was never sent (%s)', r.id, r.status)
           end as problem,
           min(t.at) filter (where t.raw_event = 'delivered') over (partition by t.rid) as batch_delivered
      from typed t
      left join public.campaign_recipients r on r.id = t.rid
  ), judged as (
    select c.*,
           case when c.problem is null then 'apply'
                when c.problem like 'ignored:%' and c.raw_event in ('unsubscribe', 'group_unsubscribe', 'spamreport') then 'address'
                else split_part(c.problem, ':', 1) end as fate,
           c.problem is null and c.raw_event = 'open' and lower(c.e ->> 'sg_machine_open') = 'true' as machine_open,
           c.problem is null and c.raw_event = 'click' and s.bot_agents is not null and coalesce(c.e ->> 'useragent', '') ~* s.bot_agents as scanner,
           c.problem is null and c.raw_event = 'click' and s.bot_seconds > 0
             and c.at <= coalesce(c.r_delivered, c.batch_delivered, c.r_sent) + make_interval(secs => s.bot_seconds) as too_fast,
           s.bot_seconds
      from checked c
     cross join settings s
  )
  select j.event_id,
         case when j.machine_open then 'machine_open' when j.scanner or j.too_fast then 'bot_click' else j.raw_event end,
         case when j.fate = 'apply' then j.r_id end,
         case when j.fate = 'apply' then j.r_campaign end,
         case when j.fate = 'apply' and j.r_id is not null then j.r_customer else u.id end,
         j.e ->> 'email', j.e ->> 'url',
         case when j.machine_open then 'machine open (sg_machine_open)'
              when j.scanner then 'automated click: link scanner user agent'
              when j.too_fast then format('automated click: within %s s of delivery', j.bot_seconds)
              else nullif(concat_ws(': ', j.e ->> 'reason', j.e ->> 'response', j.e ->> 'type'), '') end,
         j.at, j.e, j.fate,
         case when j.fate = 'address' then split_part(j.problem, ':', 2) || '; applied to the address only'
              else nullif(split_part(coalesce(j.problem, ''), ':', 2), '') end,
         j.rid_text, j.cid_text
    from judged j
    left join lateral (
      select x.id from public.users x
       where (j.fate = 'address' or (j.fate = 'apply' and j.r_id is null)) and j.email_key is not null and lower(x.email) = j.email_key
       limit 1) u on true
$$;

-- What SendGrid events change about who may be contacted, in one place: bounces, spam reports
-- and invalid drops suppress the address; unsubscribes and spam reports revoke email consent,
-- group resubscribes grant it (newest per customer wins, older than the current state ignored).
-- events: [{"event", "customer_id", "address", "reason", "occurred_at", "asm_group_id"}]. Idempotent.
create or replace function private.apply_sendgrid_contact_effects(events jsonb)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  suppressed integer;
  consent integer;
begin
  with e as (
    select * from jsonb_to_recordset(apply_sendgrid_contact_effects.events)
      as x(event text, customer_id uuid, address text, reason text, occurred_at timestamptz, asm_group_id text)
  )
  insert into public.suppressions (channel, address, reason, source, details)
  select distinct on (lower(e.address)) 'email', e.address,
         case e.event when 'bounce' then 'bounce' when 'spamreport' then 'spamreport' else 'invalid' end,
         'sendgrid', jsonb_build_object('event', e.event, 'reason', e.reason, 'at', e.occurred_at)
    from e
   where nullif(btrim(e.address), '') is not null
     and (e.event in ('bounce', 'spamreport') or (e.event = 'dropped' and e.reason ~* 'invalid|bounced'))
   order by lower(e.address), e.occurred_at desc
  on conflict on constraint suppressions_channel_address_key do nothing;
  get diagnostics suppressed = row_count;

  consent := private.apply_provider_consent((
    select coalesce(jsonb_agg(jsonb_build_object(
             'customer_id', e.customer_id, 'channel', 'email', 'enabled', e.event = 'group_resubscribe', 'source', 'sendgrid',
             'note', case e.event when 'spamreport' then 'SendGrid: marked as spam'
                                  when 'unsubscribe' then 'SendGrid: unsubscribed'
                                  when 'group_unsubscribe' then format('SendGrid: unsubscribed from group %s', e.asm_group_id)
                                  else format('SendGrid: resubscribed to group %s', e.asm_group_id) end,
             'occurred_at', e.occurred_at)), '[]'::jsonb)
      from jsonb_to_recordset(apply_sendgrid_contact_effects.events)
        as e(event text, customer_id uuid, address text, reason text, occurred_at timestamptz, asm_group_id text)
     where e.event in ('unsubscribe', 'spamreport', 'group_unsubscribe', 'group_resubscribe') and e.customer_id is not null));
  return jsonb_build_object('suppressed', suppressed, 'consent_changed', consent);
end
$$;

-- The fast path of the webhook's own transaction: the contact effects of a batch's events (after
-- the same checks as the full apply: an inconsistent opt-out is not applied here either), without
-- touching recipients, logs or message_events, so it never waits for the inbox worker's locks.
-- The worker applies the same events later in full; the effects are idempotent.
create or replace function private.apply_sendgrid_contact_events(events jsonb)
returns jsonb
language sql
volatile
security definer
set search_path = ''
as $$
  select private.apply_sendgrid_contact_effects(coalesce(jsonb_agg(jsonb_build_object(
           'event', c.event, 'customer_id', c.customer_id, 'address', c.address, 'reason', c.reason,
           'occurred_at', c.occurred_at, 'asm_group_id', c.payload ->> 'asm_group_id')), '[]'::jsonb))
    from private.sendgrid_classify(apply_sendgrid_contact_events.events) c
   where c.fate in ('apply', 'address')
     and c.event in ('unsubscribe', 'group_unsubscribe', 'group_resubscribe', 'spamreport', 'bounce', 'dropped')
$$;

-- The events of one partition of the customers (part of parts, by customer, else address): two
-- appliers on two partitions never touch the same customer's rows, so they run side by side.
create or replace function private.ingest_sendgrid_events_part(events jsonb, part integer, parts integer)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  received integer := jsonb_array_length(ingest_sendgrid_events_part.events);
  counts jsonb;
  recipients uuid[];
  contact jsonb;
  status_changed integer;
begin
  with classified as materialized (
    select c.* from private.sendgrid_classify(ingest_sendgrid_events_part.events) c
     where ingest_sendgrid_events_part.parts = 1
        or abs(hashtext(coalesce(c.customer_id::text, lower(c.address), c.event_id))) % ingest_sendgrid_events_part.parts = ingest_sendgrid_events_part.part
  ), refused as (
    insert into public.message_event_rejections (provider, provider_event_id, event, verdict, reason, recipient_id, campaign_id, address, occurred_at, payload)
    select 'sendgrid', c.event_id, c.event, case c.fate when 'address' then 'ignored' else c.fate end, c.problem,
           c.claimed_recipient, c.claimed_campaign, c.address, c.occurred_at, c.payload
      from classified c
     where c.fate <> 'apply'
    on conflict on constraint message_event_rejections_provider_event_key do nothing
    returning verdict, reason
  ), inserted as (
    insert into public.message_events (provider, provider_event_id, event, recipient_id, campaign_id, customer_id, address, url, reason, occurred_at, payload)
    select 'sendgrid', c.event_id, c.event, c.recipient_id, c.campaign_id, c.customer_id, c.address, c.url, c.reason, c.occurred_at, c.payload
      from classified c
     where c.fate in ('apply', 'address')
    on conflict on constraint message_events_provider_event_key do nothing
    returning recipient_id, customer_id, event, address, reason, occurred_at, payload
  )
  select jsonb_build_object(
           'received', received,
           'new', (select count(*) from inserted),
           'duplicates', (select count(*) from classified c where c.fate <> 'address') - (select count(*) from inserted)
                         - (select count(*) from refused f where f.reason not like '%applied to the address only'),
           'ignored', (select count(*) from refused f where f.verdict = 'ignored'),
           'inconsistent', (select count(*) from refused f where f.verdict = 'inconsistent'),
           'malformed', received - (select count(*) from classified)),
         (select array_agg(distinct n.recipient_id) filter (where n.recipient_id is not null) from inserted n),
         (select coalesce(jsonb_agg(jsonb_build_object('event', n.event, 'customer_id', n.customer_id, 'address', n.address,
                                                       'reason', n.reason, 'occurred_at', n.occurred_at, 'asm_group_id', n.payload ->> 'asm_group_id'))
                          filter (where n.event in ('unsubscribe', 'group_unsubscribe', 'group_resubscribe', 'spamreport', 'bounce', 'dropped')),
                          '[]'::jsonb)
            from inserted n)
    into counts, recipients, contact;

  if (counts ->> 'inconsistent')::integer > 0 then
    raise log 'sendgrid-events: % inconsistent event(s) rejected, see public.message_event_rejections', counts ->> 'inconsistent';
  end if;
  status_changed := private.apply_recipient_events(coalesce(recipients, array[]::uuid[]));
  return counts || jsonb_build_object('status_changed', status_changed) || private.apply_sendgrid_contact_effects(contact);
end
$$;

-- Ingests a SendGrid Event Webhook batch (signature already checked): dedupe on sg_event_id, store,
-- apply. Redefined from 20261124000630_provider_events.sql: events are classified first
-- (private.sendgrid_classify); inconsistent and ignored ones go to message_event_rejections.
-- The body is private.ingest_sendgrid_events_part (all customers: part 0 of 1).
create or replace function private.ingest_sendgrid_events(events jsonb)
returns jsonb
language sql
volatile
security definer
set search_path = ''
as $$
  select private.ingest_sendgrid_events_part(ingest_sendgrid_events.events, 0, 1)
$$;

-- ---------------------------------------------------------------------------------------------
-- Accept (the webhook's transaction) and apply (the worker's)
-- ---------------------------------------------------------------------------------------------

-- Stores a verified body and applies what cannot wait. apply_now: for SendGrid the events of the
-- batch that decide who may be contacted (picked by sendgrid-events/handler.ts), whose consent and
-- suppression effects are applied now (private.apply_sendgrid_contact_events; the worker applies
-- them in full later); for Twilio true applies the whole body now (inbound keywords, error 21610).
-- body_sha256: the body's SHA-256 if the caller has it (the function computes it in Deno, cheaper
-- than here). Returns {"inbox_id", "duplicate_batch", "applied_now"}.
create or replace function private.accept_webhook(source text, body text, events integer, apply_now jsonb default null, body_sha256 bytea default null)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  inbox_id bigint;
  urgent integer := 0;
  digest bytea := coalesce(accept_webhook.body_sha256, sha256(convert_to(accept_webhook.body, 'UTF8')));
begin
  insert into private.webhook_inbox (source, body, body_sha256, events)
  values (accept_webhook.source, accept_webhook.body, digest, accept_webhook.events)
  on conflict on constraint webhook_inbox_batch_once do nothing
  returning id into inbox_id;
  if inbox_id is null then
    return jsonb_build_object('inbox_id', (select i.id from private.webhook_inbox i
                                            where i.source = accept_webhook.source and i.body_sha256 = digest),
                              'duplicate_batch', true, 'applied_now', 0);
  end if;
  if accept_webhook.source = 'sendgrid_events' and jsonb_typeof(accept_webhook.apply_now) = 'array'
     and jsonb_array_length(accept_webhook.apply_now) > 0 then
    perform private.apply_sendgrid_contact_events(accept_webhook.apply_now);
    urgent := jsonb_array_length(accept_webhook.apply_now);
  elsif accept_webhook.source in ('twilio_status', 'twilio_inbound') and accept_webhook.apply_now = 'true'::jsonb then
    perform private.apply_inbox_row(inbox_id);
    urgent := 1;
  end if;
  update private.webhook_inbox i set applied_now = urgent where i.id = inbox_id and urgent > 0;
  perform pg_notify('crm_webhook_inbox', inbox_id::text);
  return jsonb_build_object('inbox_id', inbox_id, 'duplicate_batch', false, 'applied_now', urgent);
end
$$;

-- How many appliers share the work (each takes one part of the customers). One number for every
-- applier: the worker runs one loop per part, pg_cron one job per part.
create or replace function private.webhook_apply_parts()
returns integer
language sql
immutable
set search_path = ''
as $$
  select 2
$$;

-- Applies one inbox row by itself (Twilio rows, applied whole; a SendGrid row's events of one
-- partition when its chunk failed) and marks it.
create or replace function private.apply_inbox_row(inbox_id bigint, part integer default 0)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  r private.webhook_inbox;
  res jsonb;
  parts integer := private.webhook_apply_parts();
begin
  select * into r from private.webhook_inbox i where i.id = apply_inbox_row.inbox_id;
  if not found or r.applied_at is not null then
    return null;
  end if;
  if r.source = 'sendgrid_events' then
    res := private.ingest_sendgrid_events_part(r.body::jsonb, apply_inbox_row.part, parts);
    perform private.mark_inbox_applied(array[r.id], apply_inbox_row.part, parts);
  else
    res := case r.source when 'twilio_status' then private.ingest_twilio_status(r.body::jsonb)
                         else private.ingest_twilio_inbound(r.body::jsonb) end;
    update private.webhook_inbox i set applied_at = clock_timestamp(), attempts = i.attempts + 1, last_error = null
     where i.id = r.id;
  end if;
  return res;
end
$$;

-- Marks rows applied for one partition (in id order, so two appliers never deadlock here); a row is
-- applied when every partition has applied it.
create or replace function private.mark_inbox_applied(ids bigint[], part integer, parts integer)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  perform 1 from private.webhook_inbox i where i.id = any(mark_inbox_applied.ids) order by i.id for update;
  update private.webhook_inbox i
     set applied_parts = i.applied_parts | (1 << mark_inbox_applied.part),
         applied_at = case when (i.applied_parts | (1 << mark_inbox_applied.part)) = (1 << mark_inbox_applied.parts) - 1
                           then clock_timestamp() end,
         attempts = i.attempts + 1, last_error = null
   where i.id = any(mark_inbox_applied.ids);
end
$$;

-- Applies the oldest pending inbox rows, up to about max_events events (at least one row): the
-- SendGrid batches together in one set-based ingest, Twilio rows one by one. The work is split by
-- customer into private.webhook_apply_parts() parts: the applier of each part takes the same rows
-- and applies its customers' events (Twilio rows go to part 0); a row is applied when every part
-- has applied it. Appliers of different parts run side by side, one per part at a time
-- (an advisory lock; a second caller of the same part returns {"busy": true}). A chunk that fails
-- is retried row by row; a row that fails 5 times is set aside (failed_at, last_error) for a person
-- to look at, and the rest goes on. Returns {"rows", "events", "failed", "result"}.
create or replace function private.apply_webhook_inbox(max_events integer default 5000, part integer default 0)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  ids bigint[];
  sg_ids bigint[];
  other_ids bigint[];
  n_events integer;
  res jsonb := '{}'::jsonb;
  failed integer := 0;
  one bigint;
  parts integer := private.webhook_apply_parts();
begin
  if apply_webhook_inbox.part not between 0 and parts - 1 then
    raise exception using errcode = '22023', message = format('part: must be 0..%s (private.webhook_apply_parts())', parts - 1);
  end if;
  if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('crm.apply_webhook_inbox'), apply_webhook_inbox.part) then
    return jsonb_build_object('busy', true, 'rows', 0, 'events', 0);
  end if;
  with pending as (
    select i.id, i.source, i.events from private.webhook_inbox i
     where i.applied_at is null and i.failed_at is null
       and i.applied_parts & (1 << apply_webhook_inbox.part) = 0
       and (i.source = 'sendgrid_events' or apply_webhook_inbox.part = 0)
     order by i.id
     limit 500
  ), running as (
    select p.*, sum(p.events) over (order by p.id) - p.events as before from pending p
  )
  select array_agg(r.id order by r.id), array_agg(r.id order by r.id) filter (where r.source = 'sendgrid_events'),
         array_agg(r.id order by r.id) filter (where r.source <> 'sendgrid_events'), coalesce(sum(r.events), 0)
    into ids, sg_ids, other_ids, n_events
    from running r
   where r.before < greatest(apply_webhook_inbox.max_events, 1);
  if ids is null then
    return jsonb_build_object('rows', 0, 'events', 0, 'failed', 0);
  end if;

  if sg_ids is not null then
    begin
      res := private.ingest_sendgrid_events_part((
        select jsonb_agg(x.e order by i.id, x.n)
          from private.webhook_inbox i
         cross join lateral jsonb_array_elements(i.body::jsonb) with ordinality x(e, n)
         where i.id = any(sg_ids)), apply_webhook_inbox.part, parts);
      perform private.mark_inbox_applied(sg_ids, apply_webhook_inbox.part, parts);
    exception when others then
      other_ids := sg_ids || coalesce(other_ids, array[]::bigint[]);
    end;
  end if;

  foreach one in array coalesce(other_ids, array[]::bigint[]) loop
    begin
      perform private.apply_inbox_row(one, apply_webhook_inbox.part);
    exception when others then
      failed := failed + 1;
      update private.webhook_inbox i
         set attempts = i.attempts + 1, last_error = left(sqlerrm, 2000),
             failed_at = case when i.attempts + 1 >= 5 then clock_timestamp() end
       where i.id = one;
    end;
  end loop;
  return jsonb_build_object('rows', cardinality(ids), 'events', n_events, 'failed', failed, 'result', res);
end
$$;

-- The pg_cron command on Supabase: applies chunks of one part, committing after each, until the
-- inbox is empty or budget_ms is spent. A DO block, not a procedure: a procedure that commits cannot
-- carry SET search_path, and every name in the block is schema-qualified.
create or replace function private.apply_webhooks_job_command(budget_ms integer default 1800, part integer default 0)
returns text
language sql
immutable
set search_path = ''
as $fn$
  select format($cmd$do $job$
declare
  started timestamptz := pg_catalog.clock_timestamp();
  res jsonb;
begin
  loop
    res := private.apply_webhook_inbox(5000, %s);
    commit;
    exit when res ? 'busy' or (res ->> 'rows')::integer = 0
           or pg_catalog.clock_timestamp() - started > interval '%s milliseconds';
  end loop;
end
$job$$cmd$, apply_webhooks_job_command.part, apply_webhooks_job_command.budget_ms)
$fn$;

-- Applied rows are kept for 7 days (lag figures, replay by hand), set-aside rows until handled.
create or replace function private.prune_webhook_inbox(keep interval default interval '7 days')
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  n integer;
begin
  delete from private.webhook_inbox i where i.applied_at < now() - prune_webhook_inbox.keep;
  get diagnostics n = row_count;
  return n;
end
$$;

-- For admins and monitoring: how far behind the inbox is.
create or replace function private.webhook_inbox_health()
returns table (source text, pending_rows bigint, pending_events bigint, oldest_pending_at timestamptz, failed_rows bigint,
               applied_last_hour bigint, lag_p50_ms numeric, lag_p95_ms numeric)
language sql
stable
security definer
set search_path = ''
as $$
  select s.source,
         count(*) filter (where i.applied_at is null and i.failed_at is null),
         coalesce(sum(i.events) filter (where i.applied_at is null and i.failed_at is null), 0),
         min(i.received_at) filter (where i.applied_at is null and i.failed_at is null),
         count(*) filter (where i.failed_at is not null),
         count(*) filter (where i.applied_at >= now() - interval '1 hour'),
         round((percentile_cont(0.5) within group (order by extract(epoch from i.applied_at - i.received_at) * 1000)
                  filter (where i.applied_at >= now() - interval '1 hour'))::numeric, 1),
         round((percentile_cont(0.95) within group (order by extract(epoch from i.applied_at - i.received_at) * 1000)
                  filter (where i.applied_at >= now() - interval '1 hour'))::numeric, 1)
    from (values ('sendgrid_events'), ('twilio_status'), ('twilio_inbound')) s(source)
    left join private.webhook_inbox i on i.source = s.source
   where private.has_role('admin')
      or (current_setting('role', true) not in ('anon', 'authenticated') and coalesce(auth.role(), '') not in ('anon', 'authenticated'))
   group by s.source
$$;

create view public.webhook_inbox_health with (security_invoker = true) as
select * from private.webhook_inbox_health();
comment on view public.webhook_inbox_health is
  'Per webhook source: pending rows and events, the oldest pending, rows set aside after 5 failures, and the ack-to-applied lag p50/p95 over the last hour. Admin only.';
revoke all on public.webhook_inbox_health from anon, authenticated, service_role;
grant select on public.webhook_inbox_health to authenticated, service_role;

grant execute on function private.accept_webhook(text, text, integer, jsonb, bytea), private.apply_webhook_inbox(integer, integer),
  private.webhook_inbox_health(), private.prune_webhook_inbox(interval) to service_role;
grant execute on function private.webhook_inbox_health() to authenticated;
grant execute on function private.apply_webhooks_job_command(integer, integer), private.webhook_apply_parts() to service_role;

-- ---------------------------------------------------------------------------------------------
-- Engagement: human opens and clicks only, unless the settings count machine ones too.
-- Redefined from 20261124000500_customer_facts.sql (explicit event names, so the partial index
-- below serves it; the settings).
-- ---------------------------------------------------------------------------------------------

create index message_events_engagement_idx on public.message_events (customer_id, occurred_at desc)
  where event in ('open', 'click', 'read', 'machine_open', 'bot_click');
-- covered by the index above (one index fewer to write per open or click)
drop index public.message_events_customer_idx;

create or replace function private.customer_engagement(customer_ids uuid[])
returns table (customer_id uuid, last_engaged_at timestamptz, engaged_campaigns_90d integer)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  machine_opens boolean := coalesce((private.engagement_setting('count_machine_opens') #>> '{}')::boolean, false);
  bot_clicks boolean := coalesce((private.engagement_setting('count_bot_clicks') #>> '{}')::boolean, false);
begin
  return query
  select e.customer_id, max(e.occurred_at),
         (count(distinct e.campaign_id) filter (where e.occurred_at >= now() - interval '90 days'))::integer
    from public.message_events e
   where e.event in ('open', 'click', 'read', 'machine_open', 'bot_click')
     and (e.event in ('open', 'click', 'read') or (e.event = 'machine_open' and machine_opens) or (e.event = 'bot_click' and bot_clicks))
     and e.customer_id is not null
     and (customer_engagement.customer_ids is null or e.customer_id = any (customer_engagement.customer_ids))
   group by e.customer_id;
end
$$;

-- Only events that can be engagement refresh the facts (deliveries and the like change nothing).
create or replace function private.tg_message_events__facts()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  ids uuid[];
begin
  select array_agg(distinct n.customer_id) into ids
    from new_rows n
   where n.customer_id is not null and n.event in ('open', 'click', 'read', 'machine_open', 'bot_click');
  if ids is not null then
    perform private.refresh_engagement_facts(ids);
  end if;
  return null;
end
$$;

-- campaign_stats: unique_opens and unique_clicks are human (machine opens and automated clicks are
-- stored as 'machine_open' and 'bot_click'); two columns appended with those.
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
       round(coalesce(e.unique_clicks, 0)::numeric / nullif(r.delivered, 0), 4) as click_rate,
       coalesce(e.machine_opens, 0) as machine_opens,
       coalesce(e.bot_clicks, 0) as bot_clicks
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
           (count(distinct m.recipient_id) filter (where m.event = 'spamreport'))::integer as spam_reports,
           (count(distinct m.recipient_id) filter (where m.event = 'machine_open'))::integer as machine_opens,
           (count(distinct m.recipient_id) filter (where m.event = 'bot_click'))::integer as bot_clicks
      from public.message_events m where m.campaign_id = c.id
  ) e on true;
comment on column public.campaign_stats.unique_opens is 'Recipients with a human open (machine opens, e.g. Apple Mail Privacy Protection, are in machine_opens).';
comment on column public.campaign_stats.machine_opens is 'Recipients with an open SendGrid flagged sg_machine_open.';
comment on column public.campaign_stats.bot_clicks is 'Recipients with a click that looked automated (public.engagement_settings).';

-- ---------------------------------------------------------------------------------------------
-- Schedules. pg_cron 1.5+ (Supabase) runs the apply every 2 seconds in the database (a DO block
-- committing per chunk: private.apply_webhooks_job_command); older
-- pg_cron (this repository's local stack, 1.4) has no seconds, and `npm start` runs
-- scripts/webhook-worker.ts instead. The daily prune runs everywhere.
-- ---------------------------------------------------------------------------------------------

select cron.unschedule(j.jobid) from cron.job j where j.jobname in ('crm_apply_webhooks', 'crm_apply_webhooks_1', 'crm_prune_webhook_inbox');
select cron.schedule('crm_prune_webhook_inbox', '50 3 * * *', 'select private.prune_webhook_inbox()');
do $$
begin
  if (select string_to_array(split_part(e.extversion, '-', 1), '.')::int[] >= array[1, 5] from pg_catalog.pg_extension e where e.extname = 'pg_cron') then
    -- one job per part of the customers (private.webhook_apply_parts() = 2): they never touch the same rows
    perform cron.schedule('crm_apply_webhooks', '2 seconds', private.apply_webhooks_job_command(1800, 0));
    perform cron.schedule('crm_apply_webhooks_1', '2 seconds', private.apply_webhooks_job_command(1800, 1));
  end if;
end
$$;
