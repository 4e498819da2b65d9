-- Double opt-in: per channel, a grant can require the customer's confirmation. The grant then
-- creates a *pending* request (consent_confirmations), not consent: customer_consent is untouched,
-- so the facts, enqueue and the send-time check (all of which read customer_consent.enabled) do
-- not see it. A confirmation message goes out through the normal dispatcher as a one-recipient
-- campaign of purpose 'consent_confirmation' (transactional: exempt from the consent check, not
-- from suppressions). Email is confirmed through a signed link (edge function consent-confirm),
-- SMS by replying YES (twilio-inbound). The grant that follows names the request and the
-- versioned wording the customer was shown; the request holds when, from where (IP, user agent)
-- and through what (link or inbound message) it was confirmed.
--
-- Grants written by the database owner (seed, migrations, operator scripts: no API role) are not
-- held for confirmation; every API path (PostgREST, supabase-js, edge functions) is.

-- ---------------------------------------------------------------------------------------------
-- Settings and versioned wording
-- ---------------------------------------------------------------------------------------------

create table public.consent_settings (
  channel text primary key constraint consent_settings_channel_is_email_sms_or_push check (channel in ('email', 'sms', 'push')),
  double_opt_in boolean not null default false,
  confirmation_ttl_hours integer not null default 72
    constraint consent_settings_ttl_1_to_720_hours check (confirmation_ttl_hours between 1 and 720),
  updated_by uuid references public.users (id) on delete set null,
  updated_at timestamptz not null default now(),
  constraint consent_settings_push_has_no_double_opt_in check (channel <> 'push' or not double_opt_in)
);
comment on table public.consent_settings is
  'Per channel: whether a grant waits for the customer''s confirmation (double opt-in) and how long a confirmation link lives.';
create index consent_settings_updated_by_idx on public.consent_settings (updated_by);
insert into public.consent_settings (channel) values ('email'), ('sms'), ('push');

create table public.consent_texts (
  id bigint generated always as identity primary key,
  channel text not null constraint consent_texts_channel_is_email_sms_or_push check (channel in ('email', 'sms', 'push')),
  version integer not null default 1, -- assigned by _010_version: the channel's next version
  wording text not null constraint consent_texts_wording_length_1_to_2000 check (char_length(btrim(wording)) between 1 and 2000),
  created_by uuid default auth.uid() references public.users (id) on delete set null,
  created_at timestamptz not null default now(),
  constraint consent_texts_channel_version_key unique (channel, version)
);
comment on table public.consent_texts is
  'The wording a customer is shown when asked for consent, versioned per channel and never edited: a new wording is a new version.';
create index consent_texts_created_by_idx on public.consent_texts (created_by);

create or replace function private.tg_consent_texts__version()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform pg_advisory_xact_lock(hashtext('consent_texts:' || new.channel));
  new.version := coalesce((select max(t.version) from public.consent_texts t where t.channel = new.channel), 0) + 1;
  new.created_by := auth.uid();
  new.created_at := now();
  return new;
end
$$;

create trigger _010_version before insert on public.consent_texts
  for each row execute function private.tg_consent_texts__version();
create trigger _000_append_only before update or delete on public.consent_texts
  for each row execute function private.tg_refuse_change();
create trigger _000_append_only_truncate before truncate on public.consent_texts
  for each statement execute function private.tg_refuse_change();
create trigger _900_audit after insert on public.consent_texts
  for each row execute function private.tg_audit('id');

insert into public.consent_texts (channel, wording) values
  ('email', 'Yes, send me news, offers and rental reminders by email. I can unsubscribe at any time with the link in every email.'),
  ('sms', 'Yes, send me offers and rental reminders by SMS. Reply STOP at any time to stop.'),
  ('push', 'Yes, send me rental reminders and offers as push notifications. I can turn them off in the app.');

create or replace function private.current_consent_text(channel text)
returns bigint
language sql
stable
security definer
set search_path = ''
as $$
  select t.id from public.consent_texts t where t.channel = current_consent_text.channel order by t.version desc limit 1
$$;

create or replace function private.tg_consent_settings__stamp()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_by := auth.uid();
  new.updated_at := now();
  return new;
end
$$;
create trigger _010_stamp before update on public.consent_settings
  for each row execute function private.tg_consent_settings__stamp();
create trigger _900_audit after update on public.consent_settings
  for each row execute function private.tg_audit('channel');

alter table public.consent_settings enable row level security;
alter table public.consent_texts enable row level security;
revoke all on public.consent_settings, public.consent_texts from anon, authenticated, service_role;
grant select, update (double_opt_in, confirmation_ttl_hours) on public.consent_settings to authenticated, service_role;
grant select, insert (channel, wording) on public.consent_texts to authenticated, service_role;
create policy consent_settings_select_admin on public.consent_settings
  for select to authenticated using ((select private.is_admin()));
create policy consent_settings_update_admin on public.consent_settings
  for update to authenticated using ((select private.is_admin())) with check ((select private.is_admin()));
-- the wording is what customers are shown: everyone signed in may read it
create policy consent_texts_select_signed_in on public.consent_texts
  for select to authenticated using (true);
create policy consent_texts_insert_admin on public.consent_texts
  for insert to authenticated with check ((select private.is_admin()));

-- ---------------------------------------------------------------------------------------------
-- Pending requests and their proof
-- ---------------------------------------------------------------------------------------------

create table public.consent_confirmations (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references public.users (id) on delete cascade,
  channel text not null constraint consent_confirmations_channel_is_email_or_sms check (channel in ('email', 'sms')),
  address text,
  status text not null default 'pending'
    constraint consent_confirmations_status_is_known check (status in ('pending', 'confirmed', 'superseded', 'cancelled')),
  requested_source text not null,
  requested_by uuid references public.users (id) on delete set null,
  requested_at timestamptz not null default now(),
  expires_at timestamptz not null,
  note text,
  override_audit_id bigint,
  consent_text_id bigint not null references public.consent_texts (id),
  campaign_id uuid references public.campaigns (id) on delete set null,
  recipient_id uuid,
  confirmed_at timestamptz,
  confirmed_via text constraint consent_confirmations_via_is_link_or_sms_reply check (confirmed_via in ('link', 'sms_reply')),
  confirmed_ip text,
  confirmed_user_agent text,
  confirmed_link text,
  confirmed_message_sid text,
  consent_history_id bigint,
  closed_at timestamptz
);
comment on table public.consent_confirmations is
  'Double opt-in: a grant waiting for the customer (pending, which is not consent) and, once confirmed, its proof: when, from which IP and user agent, through which link or inbound SMS, and the wording version shown.';
create unique index consent_confirmations_one_pending_idx on public.consent_confirmations (customer_id, channel) where status = 'pending';
create index consent_confirmations_customer_idx on public.consent_confirmations (customer_id, channel, requested_at desc);
create unique index consent_confirmations_recipient_idx on public.consent_confirmations (recipient_id);
create index consent_confirmations_campaign_idx on public.consent_confirmations (campaign_id);
create index consent_confirmations_requested_by_idx on public.consent_confirmations (requested_by);
create index consent_confirmations_consent_text_idx on public.consent_confirmations (consent_text_id);
create index consent_confirmations_sms_pending_idx on public.consent_confirmations (address) where status = 'pending' and channel = 'sms';

alter table public.consent_confirmations enable row level security;
revoke all on public.consent_confirmations from anon, authenticated, service_role;
grant select on public.consent_confirmations to authenticated, service_role;
create policy consent_confirmations_select_admin_or_own on public.consent_confirmations
  for select to authenticated using ((select private.is_admin()) or customer_id = (select auth.uid()));

-- The grant names its wording and, after double opt-in, its confirmation.
alter table public.customer_consent
  add column consent_text_id bigint,
  add column confirmation_id uuid;
alter table public.customer_consent_history
  add column consent_text_id bigint,
  add column confirmation_id uuid;
comment on column public.customer_consent_history.consent_text_id is 'The consent_texts version the customer was shown for this grant.';
comment on column public.customer_consent_history.confirmation_id is 'The consent_confirmations row (double opt-in proof) this grant followed from.';
create index customer_consent_history_confirmation_idx on public.customer_consent_history (confirmation_id) where confirmation_id is not null;

-- Confirmation messages are campaigns of their own purpose; the send-time consent check skips them.
-- When the send-time consent and suppression check ran (claim_recipients): the moment a proof is judged at.
alter table public.campaign_recipients add column consent_checked_at timestamptz;
comment on column public.campaign_recipients.consent_checked_at is 'When claim_recipients re-checked consent and suppression before the send.';

alter table public.campaigns
  add column purpose text not null default 'marketing'
    constraint campaigns_purpose_is_known check (purpose in ('marketing', 'consent_confirmation'));
comment on column public.campaigns.purpose is
  'marketing: needs consent at enqueue and send; consent_confirmation: the double opt-in message itself (transactional, consent-exempt, never suppressed-exempt).';

-- Re-defined from 20261203030100: copies the wording version and confirmation into history.
create or replace function private.tg_customer_consent__history()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.customer_consent_history (id, customer_id, channel, old_enabled, new_enabled, source, note, changed_by, changed_at,
                                               override_audit_id, consent_text_id, confirmation_id)
  overriding system value
  values (new.consent_history_id, new.customer_id, new.channel, case when tg_op = 'UPDATE' then old.enabled end, new.enabled,
          new.source, new.note, new.updated_by, new.updated_at, new.override_audit_id,
          case when new.enabled then new.consent_text_id end, new.confirmation_id);
  return null;
end
$$;

-- Every grant names the wording in force unless the writer named one (a confirmation does);
-- a revoke cancels the channel's pending request.
create or replace function private.tg_customer_consent__wording()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.enabled then
    if tg_op = 'INSERT' or not old.enabled or new.confirmation_id is distinct from old.confirmation_id
       or new.consent_text_id is distinct from old.consent_text_id then
      new.consent_text_id := coalesce(new.consent_text_id, private.current_consent_text(new.channel));
    end if;
  else
    new.consent_text_id := null;
    new.confirmation_id := null;
    update public.consent_confirmations c set status = 'cancelled', closed_at = now()
     where c.customer_id = new.customer_id and c.channel = new.channel and c.status = 'pending';
  end if;
  if tg_op = 'UPDATE' and new.enabled and old.enabled and new.confirmation_id is not distinct from old.confirmation_id then
    new.confirmation_id := old.confirmation_id;
  end if;
  return new;
end
$$;
create trigger _020_wording before insert or update on public.customer_consent
  for each row execute function private.tg_customer_consent__wording();

-- The opt-out precedence rule, for a change not yet written (a request waiting for confirmation).
create or replace function private.assert_opt_out_precedence(customer_id uuid, channel text, new_source text, override_audit_id bigint)
returns void
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  cur public.customer_consent;
begin
  select * into cur from public.customer_consent c
   where c.customer_id = assert_opt_out_precedence.customer_id and c.channel = assert_opt_out_precedence.channel;
  if found and not cur.enabled and private.consent_source_is_customers_own(cur.source)
     and not private.consent_source_is_customers_own(assert_opt_out_precedence.new_source)
     and assert_opt_out_precedence.override_audit_id is null then
    raise exception using errcode = 'PT409',
      message = format('consent: the customer opted out of %s themselves (%s, %s); re-consent on their behalf only with override_opt_out => true and a note saying why',
                       cur.channel, cur.source, to_char(cur.revoked_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')),
      detail = 'rule: customer opt-out precedence (formerly SQLSTATE 55000, object not in prerequisite state)';
  end if;
end
$$;

-- Creates the pending request and queues its message; returns the request.
create or replace function private.request_consent_confirmation(
  customer_id uuid, channel text, source text, note text, override_audit_id bigint
)
returns public.consent_confirmations
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  u public.users;
  ttl integer := (select s.confirmation_ttl_hours from public.consent_settings s where s.channel = request_consent_confirmation.channel);
  addr text;
  txt public.consent_texts;
  camp_id uuid := gen_random_uuid();
  rcpt_id uuid := gen_random_uuid();
  req public.consent_confirmations;
begin
  select * into u from public.users x where x.id = request_consent_confirmation.customer_id;
  addr := nullif(btrim(case request_consent_confirmation.channel when 'email' then u.email else u.phone end), '');
  if addr is null then
    raise exception using errcode = '22023',
      message = format('%s: the customer has no %s to send the confirmation to; add it first',
                       request_consent_confirmation.channel, case request_consent_confirmation.channel when 'email' then 'email address' else 'phone number' end);
  end if;
  select * into txt from public.consent_texts t where t.id = private.current_consent_text(request_consent_confirmation.channel);

  update public.consent_confirmations c set status = 'superseded', closed_at = now()
   where c.customer_id = request_consent_confirmation.customer_id and c.channel = request_consent_confirmation.channel and c.status = 'pending';

  insert into public.campaigns (id, name, channel, status, purpose, content, audience, created_by)
  values (camp_id, format('Consent confirmation (%s)', request_consent_confirmation.channel), request_consent_confirmation.channel,
          'sending', 'consent_confirmation',
          case request_consent_confirmation.channel
            when 'email' then jsonb_build_object(
              'subject', 'Please confirm: may we email you?',
              'text', format(E'Hello {{first_name}},\n\nYou (or someone for you) asked to receive our emails:\n\n"%s"\n\nConfirm here: {{confirm_url}}\n\nThe link works for %s hours. If this was not you, ignore this email and nothing changes.',
                             txt.wording, ttl))
            else jsonb_build_object('text', format('%s Reply YES to confirm. Ignore this message and nothing changes.', txt.wording))
          end,
          jsonb_build_object('customer_ids', jsonb_build_array(request_consent_confirmation.customer_id)),
          auth.uid());
  insert into public.campaign_recipients (id, campaign_id, customer_id, channel, address, status, next_attempt_at, queued_at)
  values (rcpt_id, camp_id, request_consent_confirmation.customer_id, request_consent_confirmation.channel, addr, 'queued', now(), now());

  insert into public.consent_confirmations (customer_id, channel, address, requested_source, requested_by, requested_at, expires_at,
                                            note, override_audit_id, consent_text_id, campaign_id, recipient_id)
  values (request_consent_confirmation.customer_id, request_consent_confirmation.channel, addr, request_consent_confirmation.source,
          auth.uid(), now(), now() + make_interval(hours => ttl), request_consent_confirmation.note,
          request_consent_confirmation.override_audit_id, txt.id, camp_id, rcpt_id)
  returning * into req;
  return req;
end
$$;

-- Confirms a pending request (link or SMS reply) and writes the grant with its proof.
-- Outcome: confirmed | expired | used | superseded | cancelled | not_found; only 'confirmed' writes.
create or replace function private.confirm_consent(
  confirmation_id uuid, via text, ip text default null, user_agent text default null, link text default null, message_sid text default null
)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  req public.consent_confirmations;
  granted public.customer_consent;
begin
  select * into req from public.consent_confirmations c where c.id = confirm_consent.confirmation_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if req.status = 'confirmed' then
    return jsonb_build_object('outcome', 'used', 'channel', req.channel, 'confirmed_at', req.confirmed_at);
  end if;
  if req.status in ('superseded', 'cancelled') then
    return jsonb_build_object('outcome', req.status, 'channel', req.channel);
  end if;
  if req.expires_at <= now() then
    return jsonb_build_object('outcome', 'expired', 'channel', req.channel, 'expired_at', req.expires_at);
  end if;
  update public.consent_confirmations c
     set status = 'confirmed', confirmed_at = now(), closed_at = now(), confirmed_via = confirm_consent.via,
         confirmed_ip = left(confirm_consent.ip, 100), confirmed_user_agent = left(confirm_consent.user_agent, 1000),
         confirmed_link = left(confirm_consent.link, 2000), confirmed_message_sid = left(confirm_consent.message_sid, 100)
   where c.id = req.id;
  insert into public.customer_consent as c (customer_id, channel, enabled, source, note, override_audit_id, consent_text_id, confirmation_id)
  values (req.customer_id, req.channel, true, req.requested_source, req.note, req.override_audit_id, req.consent_text_id, req.id)
  on conflict on constraint customer_consent_pkey do update
    set enabled = true, source = excluded.source, note = excluded.note, override_audit_id = excluded.override_audit_id,
        consent_text_id = excluded.consent_text_id, confirmation_id = excluded.confirmation_id
  returning * into granted;
  update public.consent_confirmations c set consent_history_id = granted.consent_history_id where c.id = req.id;
  return jsonb_build_object('outcome', 'confirmed', 'channel', req.channel, 'customer_id', req.customer_id,
                            'consent_history_id', granted.consent_history_id);
end
$$;

-- A confirmation link: the confirmation message's recipient id, signed by the edge function.
create or replace function private.confirm_consent_by_link(recipient_id uuid, ip text, user_agent text, link text)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  req_id uuid := (select c.id from public.consent_confirmations c where c.recipient_id = confirm_consent_by_link.recipient_id);
begin
  if req_id is null or (select c.channel from public.consent_confirmations c where c.id = req_id) <> 'email' then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return private.confirm_consent(req_id, 'link', confirm_consent_by_link.ip, confirm_consent_by_link.user_agent, confirm_consent_by_link.link);
end
$$;

-- What a link leads to, without changing anything (the page shown before the customer confirms).
create or replace function private.describe_consent_confirmation(recipient_id uuid)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
           'outcome', case when c.status = 'confirmed' then 'used'
                           when c.status in ('superseded', 'cancelled') then c.status
                           when c.expires_at <= now() then 'expired'
                           else 'pending' end,
           'channel', c.channel, 'expires_at', c.expires_at, 'wording', t.wording, 'wording_version', t.version)
    from public.consent_confirmations c
    join public.consent_texts t on t.id = c.consent_text_id
   where c.recipient_id = describe_consent_confirmation.recipient_id and c.channel = 'email'
$$;

-- SMS: a YES from a number confirms the pending SMS requests sent to that number.
create or replace function private.confirm_sms_consent(phone text, message_sid text)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  req record;
  n integer := 0;
begin
  for req in
    select c.id from public.consent_confirmations c
     where c.channel = 'sms' and c.status = 'pending' and c.address = confirm_sms_consent.phone and c.expires_at > now()
       and exists (select 1 from public.users u where u.id = c.customer_id and u.phone = confirm_sms_consent.phone)
     order by c.requested_at
  loop
    if private.confirm_consent(req.id, 'sms_reply', null, null, null, confirm_sms_consent.message_sid) ->> 'outcome' = 'confirmed' then
      n := n + 1;
    end if;
  end loop;
  return n;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- The writer, now with double opt-in. Re-defined from 20261203030100 (returns jsonb now).
-- ---------------------------------------------------------------------------------------------

drop function public.set_customer_consent(uuid, text, boolean, text, text, boolean);
drop function private.change_consent(uuid, text, boolean, text, text, boolean);

create function private.change_consent(
  customer_id uuid, channel text, enabled boolean, source text, note text, override_opt_out boolean
)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  caller text := private.consent_caller();
  effective_source text;
  override_id bigint;
  cur public.customer_consent;
  result public.customer_consent;
  req public.consent_confirmations;
begin
  if change_consent.customer_id is null then
    raise exception using errcode = '22023', message = 'customer_id: is required';
  end if;
  if change_consent.channel is null or change_consent.channel not in ('email', 'sms', 'push') then
    raise exception using errcode = '22023',
      message = format('channel: must be one of email, sms, push; got %s', coalesce(quote_literal(change_consent.channel), 'null'));
  end if;
  if change_consent.enabled is null then
    raise exception using errcode = '22023', message = 'enabled: must be true or false';
  end if;
  effective_source := private.consent_source_for(caller, change_consent.customer_id, change_consent.enabled, change_consent.source);
  if char_length(change_consent.note) > 2000 then
    raise exception using errcode = '22023', message = 'note: must be at most 2000 characters';
  end if;
  if coalesce(change_consent.override_opt_out, false) then
    if caller not in ('staff', 'service', 'owner') then
      raise exception using errcode = '42501', message = 'permission denied: only staff override a customer''s own opt-out';
    end if;
    if coalesce(btrim(change_consent.note), '') = '' then
      raise exception using errcode = '22023', message = 'note: an override of the customer''s own opt-out needs a note saying why';
    end if;
  end if;
  if not exists (select 1 from public.users u where u.id = change_consent.customer_id) then
    raise exception using errcode = '22023',
      message = format('customer_id: customer %s does not exist', change_consent.customer_id);
  end if;
  select * into cur from public.customer_consent c where c.customer_id = change_consent.customer_id and c.channel = change_consent.channel;

  if coalesce(change_consent.override_opt_out, false) and change_consent.enabled then
    override_id := private.write_audit('override_opt_out', 'customer_consent',
      change_consent.customer_id || ':' || change_consent.channel, null, null,
      jsonb_build_object('note', change_consent.note, 'source', effective_source));
  end if;

  -- double opt-in: a grant through the API waits for the customer
  if change_consent.enabled and caller <> 'owner' and not coalesce(cur.enabled, false)
     and coalesce((select s.double_opt_in from public.consent_settings s where s.channel = change_consent.channel), false) then
    perform private.assert_opt_out_precedence(change_consent.customer_id, change_consent.channel, effective_source, override_id);
    req := private.request_consent_confirmation(change_consent.customer_id, change_consent.channel, effective_source,
                                                change_consent.note, override_id);
    return jsonb_build_object(
      'customer_id', change_consent.customer_id, 'channel', change_consent.channel, 'enabled', coalesce(cur.enabled, false),
      'status', 'pending', 'confirmation_id', req.id, 'expires_at', req.expires_at, 'source', effective_source,
      'granted_at', cur.granted_at, 'revoked_at', cur.revoked_at, 'note', cur.note, 'updated_at', cur.updated_at,
      'consent_history_id', cur.consent_history_id);
  end if;

  insert into public.customer_consent as c (customer_id, channel, enabled, source, note, override_audit_id)
  values (change_consent.customer_id, change_consent.channel, change_consent.enabled, effective_source, change_consent.note, override_id)
  on conflict on constraint customer_consent_pkey do update
    set enabled = excluded.enabled, source = excluded.source, note = excluded.note, override_audit_id = excluded.override_audit_id
  returning * into result;
  return jsonb_build_object(
    'customer_id', result.customer_id, 'channel', result.channel, 'enabled', result.enabled,
    'status', case when result.enabled then 'granted' else 'revoked' end,
    'granted_at', result.granted_at, 'revoked_at', result.revoked_at, 'source', result.source,
    'note', result.note, 'updated_at', result.updated_at, 'consent_history_id', result.consent_history_id);
end
$$;

-- Re-defined from 20261203030100: answers {status: granted | revoked | pending, ...}.
create function public.set_customer_consent(
  customer_id uuid,
  channel text,
  enabled boolean,
  source text default null,
  note text default null,
  override_opt_out boolean default false
)
returns jsonb
language sql
volatile
set search_path = ''
as $$
  select private.change_consent(set_customer_consent.customer_id, set_customer_consent.channel, set_customer_consent.enabled,
                                set_customer_consent.source, set_customer_consent.note, set_customer_consent.override_opt_out)
$$;

grant execute on function public.set_customer_consent(uuid, text, boolean, text, text, boolean) to authenticated, service_role;
grant execute on function private.change_consent(uuid, text, boolean, text, text, boolean),
  private.current_consent_text(text) to authenticated, service_role;
grant execute on function private.confirm_consent_by_link(uuid, text, text, text), private.describe_consent_confirmation(uuid),
  private.confirm_sms_consent(text, text) to service_role;

-- ---------------------------------------------------------------------------------------------
-- Minimal changes to the dispatcher and the inbound SMS path (h11, double opt-in):
-- claim_recipients exempts consent_confirmation campaigns from the consent check (never from
-- suppressions), cancels a confirmation message whose request is no longer pending, and stamps
-- consent_checked_at (the moment the proof of each send is judged at);
-- ingest_twilio_inbound confirms pending SMS requests on YES.
-- ---------------------------------------------------------------------------------------------

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
    select c.id, c.throttle_per_minute, c.purpose from public.campaigns c
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
             case when camp.purpose = 'consent_confirmation' then
                    -- transactional: the request must still be pending; suppressions still apply
                    case when not exists (select 1 from public.consent_confirmations k
                                           where k.recipient_id = d.id and k.status = 'pending' and k.expires_at > now()) then 'cancelled'
                         when s.id is not null then 'skipped_suppressed'
                         when r.address is null then 'skipped_no_address'
                         else 'queued' end
                  when cc.enabled is not true then 'skipped_no_consent'
                  when s.id is not null then 'skipped_suppressed'
                  when r.address is null then 'skipped_no_address'
                  else 'queued' end as fate,
             case when camp.purpose = 'consent_confirmation' then null else cc.consent_history_id end as consent_history_id
        from due d
        join public.campaign_recipients r on r.id = d.id
        left join public.customer_consent cc on cc.customer_id = r.customer_id and cc.channel = r.channel
        left join public.suppressions s on s.channel = r.channel and s.address_key = lower(r.address)
    ), updated as (
      update public.campaign_recipients r
         set status = case when ch.fate = 'queued' then 'sending' else ch.fate end,
             consent_history_id = ch.consent_history_id,
             consent_checked_at = clock_timestamp(),
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

-- Re-defined from 20261203030100 (h11): YES also confirms pending SMS double opt-in requests.
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
  confirmed integer := 0;
begin
  action := case when keyword in ('STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT') then 'opt_out'
                 when keyword in ('START', 'YES', 'UNSTOP') then 'opt_in'
                 when keyword in ('HELP', 'INFO') then 'help'
                 else 'message' end;
  insert into public.message_events (provider, provider_event_id, event, customer_id, address, reason, occurred_at, payload)
  values ('twilio', coalesce(ingest_twilio_inbound.params ->> 'MessageSid', md5(ingest_twilio_inbound.params::text)), 'inbound_' || action,
          (select u.id from public.users u where u.phone = from_number order by u.id limit 1), from_number, keyword, now(), ingest_twilio_inbound.params)
  on conflict on constraint message_events_provider_event_key do nothing;
  get diagnostics fresh = row_count;
  if fresh = 1 and action in ('opt_out', 'opt_in') then
    consent := private.apply_sms_keyword(from_number, action = 'opt_in', 'twilio_inbound', format('SMS reply %s', keyword));
  end if;
  if fresh = 1 and keyword = 'YES' then
    confirmed := private.confirm_sms_consent(from_number, ingest_twilio_inbound.params ->> 'MessageSid');
  end if;
  return jsonb_build_object('new', fresh, 'action', action, 'consent_changed', consent + confirmed, 'confirmed', confirmed);
end
$$;
