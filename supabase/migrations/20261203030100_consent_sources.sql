-- Consent sources follow from the caller and the path, never from what the caller claims.
--
--   customer's own session            -> self_service (they may pass nothing or 'self_service')
--   staff (admin)                     -> admin, import or signup (self_service only on their own record)
--   service role (backend, secret key)-> admin, import, signup, system; self_service only to revoke
--                                        (a verified unsubscribe link is the customer's own act)
--   verified provider webhooks        -> sendgrid / twilio_inbound / twilio_status, only through the
--                                        private ingest functions, never through the RPC
--   database owner (seed, migrations) -> anything (not an API path)
--
-- customer_consent and its history are written only by security definer code: the API roles lose
-- insert/update/delete on both, so a direct write through PostgREST is refused (42501) instead of
-- being a second, weaker way in. Re-consent after a customer's own opt-out needs the audited
-- override; the override is an explicit column (override_audit_id, the audit_log row that
-- records it) instead of the former session setting crm.consent_override.
--
-- Staff users rows are no longer deletable through the API (people leave through erase_customer
-- or the Auth server), and every change of user_roles, cascades included, is audited.

-- no foreign key: audit_log refuses truncate by trigger, and a key would pre-empt that refusal
alter table public.customer_consent add column override_audit_id bigint;
alter table public.customer_consent_history add column override_audit_id bigint;
comment on column public.customer_consent.override_audit_id is
  'The audit_log row of the override (override_opt_out) that allowed re-consent after the customer''s own opt-out.';

-- Direct writes through the API: none. Reads stay as they were (admins all, a customer their own).
revoke insert, update, delete on public.customer_consent from authenticated, service_role;
revoke insert, update, delete on public.customer_consent_history from authenticated, service_role;
drop policy customer_consent_insert_admin_or_own on public.customer_consent;
drop policy customer_consent_update_admin_or_own on public.customer_consent;

-- Who is calling, judged from the request (role setting and JWT claims), not from current_user,
-- so it holds inside security definer code too:
--   'anon', 'customer', 'staff' (admin role), 'service' (service_role), 'owner' (no API role).
create or replace function private.consent_caller()
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  api_role text := coalesce(nullif(current_setting('role', true), 'none'), '');
  claim_role text := coalesce(auth.role(), '');
begin
  if api_role in ('anon', 'authenticated') or claim_role in ('anon', 'authenticated') then
    if auth.uid() is null or claim_role = 'anon' or api_role = 'anon' then
      return 'anon';
    end if;
    return case when private.has_role('admin') then 'staff' else 'customer' end;
  end if;
  if api_role = 'service_role' or claim_role = 'service_role' then
    return 'service';
  end if;
  return 'owner';
end
$$;

-- The source a caller may record, or 42501 naming the rule. requested may be null (derive it).
create or replace function private.consent_source_for(caller text, customer_id uuid, enabled boolean, requested text)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  own boolean := consent_source_for.customer_id = auth.uid();
  src text := consent_source_for.requested;
begin
  if src is not null and src not in ('admin', 'self_service', 'signup', 'import', 'sendgrid', 'twilio_inbound', 'twilio_status', 'system') then
    raise exception using errcode = '22023',
      message = format('source: must be one of admin, self_service, signup, import, sendgrid, twilio_inbound, twilio_status, system; got %s',
                       quote_literal(src));
  end if;
  if caller = 'anon' then
    raise exception using errcode = '42501', message = 'permission denied: sign in to change consent';
  end if;
  if caller = 'owner' then
    return coalesce(src, 'admin');
  end if;
  if src in ('sendgrid', 'twilio_inbound', 'twilio_status') then
    raise exception using errcode = '42501',
      message = format('source: %s is recorded only by the verified %s webhook, never through set_customer_consent', src,
                       case src when 'sendgrid' then 'SendGrid' else 'Twilio' end);
  end if;
  if caller = 'customer' then
    if not coalesce(own, false) then
      raise exception using errcode = '42501', message = 'permission denied: a customer may change only their own consent';
    end if;
    if src is not null and src <> 'self_service' then
      raise exception using errcode = '42501',
        message = format('source: a customer''s own change is always self_service; %s is not theirs to claim', src);
    end if;
    return 'self_service';
  end if;
  if caller = 'staff' then
    if src = 'system' then
      raise exception using errcode = '42501', message = 'source: system is recorded only by the server itself; staff record admin, import or signup';
    end if;
    if src = 'self_service' and not coalesce(own, false) then
      raise exception using errcode = '42501',
        message = 'source: self_service is recorded only from the customer''s own session; staff record admin, import or signup';
    end if;
    return coalesce(src, case when own then 'self_service' else 'admin' end);
  end if;
  -- service role: the backend holding the secret key
  if src = 'self_service' and consent_source_for.enabled then
    raise exception using errcode = '42501',
      message = 'source: a self_service grant comes only from the customer''s own session (or their confirmed link); the service role may record a self_service opt-out only';
  end if;
  return coalesce(src, 'system');
end
$$;

-- A customer's own opt-out beats a re-consent by anyone else unless the row carries a fresh,
-- audited override (override_audit_id). Timestamps, actor and history id are the server's.
create or replace function private.tg_customer_consent__stamp()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user in ('anon', 'authenticated', 'service_role') then
    raise exception using errcode = '42501',
      message = 'customer_consent is changed only through set_customer_consent or the verified provider webhooks';
  end if;
  if tg_op = 'UPDATE' and new.enabled and not old.enabled
     and private.consent_source_is_customers_own(old.source) and not private.consent_source_is_customers_own(new.source)
     and not (new.override_audit_id is not null and new.override_audit_id is distinct from old.override_audit_id
              and exists (select 1 from public.audit_log a
                           where a.id = new.override_audit_id and a.action = 'override_opt_out'
                             and a.entity = 'customer_consent' and a.entity_id = new.customer_id || ':' || new.channel)) then
    raise exception using errcode = 'PT409',
      message = format('consent: the customer opted out of %s themselves (%s, %s); re-consent on their behalf only with override_opt_out => true and a note saying why',
                       old.channel, old.source, to_char(old.revoked_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')),
      detail = 'rule: customer opt-out precedence (formerly SQLSTATE 55000, object not in prerequisite state)';
  end if;
  if tg_op = 'INSERT' then
    new.granted_at := case when new.enabled then now() end;
    new.revoked_at := case when not new.enabled then now() end;
  elsif new.enabled is distinct from old.enabled then
    new.granted_at := case when new.enabled then now() else old.granted_at end;
    new.revoked_at := case when not new.enabled then now() else old.revoked_at end;
  else
    new.granted_at := old.granted_at;
    new.revoked_at := old.revoked_at;
  end if;
  if tg_op = 'UPDATE' and new.override_audit_id is not distinct from old.override_audit_id then
    new.override_audit_id := null;
  end if;
  new.updated_by := auth.uid();
  new.updated_at := now();
  new.consent_history_id := nextval(pg_get_serial_sequence('public.customer_consent_history', 'id'));
  return new;
end
$$;

create or replace function private.tg_customer_consent__history()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.customer_consent_history (id, customer_id, channel, old_enabled, new_enabled, source, note, changed_by, changed_at,
                                               override_audit_id)
  overriding system value
  values (new.consent_history_id, new.customer_id, new.channel, case when tg_op = 'UPDATE' then old.enabled end, new.enabled,
          new.source, new.note, new.updated_by, new.updated_at, new.override_audit_id);
  return null;
end
$$;

-- The one writer behind set_customer_consent. Security definer (the API roles cannot write the
-- table); who is calling is judged from the request, so the parameters cannot forge it.
create or replace function private.change_consent(
  customer_id uuid, channel text, enabled boolean, source text, note text, override_opt_out boolean
)
returns public.customer_consent
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  caller text := private.consent_caller();
  effective_source text;
  override_id bigint;
  result public.customer_consent;
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

  if coalesce(change_consent.override_opt_out, false) and change_consent.enabled then
    override_id := private.write_audit('override_opt_out', 'customer_consent',
      change_consent.customer_id || ':' || change_consent.channel, null, null,
      jsonb_build_object('note', change_consent.note, 'source', effective_source));
  end if;
  insert into public.customer_consent as c (customer_id, channel, enabled, source, note, override_audit_id)
  values (change_consent.customer_id, change_consent.channel, change_consent.enabled, effective_source, change_consent.note, override_id)
  on conflict on constraint customer_consent_pkey do update
    set enabled = excluded.enabled, source = excluded.source, note = excluded.note, override_audit_id = excluded.override_audit_id
  returning * into result;
  return result;
end
$$;

-- Re-defined from 20261124000640: source defaults to null (derived from the caller, see above);
-- the writing moved to private.change_consent.
create or replace function public.set_customer_consent(
  customer_id uuid,
  channel text,
  enabled boolean,
  source text default null,
  note text default null,
  override_opt_out boolean default false
)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  result public.customer_consent;
begin
  result := private.change_consent(set_customer_consent.customer_id, set_customer_consent.channel, set_customer_consent.enabled,
                                   set_customer_consent.source, set_customer_consent.note, set_customer_consent.override_opt_out);
  return jsonb_build_object(
    'customer_id', result.customer_id, 'channel', result.channel, 'enabled', result.enabled,
    'granted_at', result.granted_at, 'revoked_at', result.revoked_at, 'source', result.source,
    'note', result.note, 'updated_at', result.updated_at, 'consent_history_id', result.consent_history_id);
end
$$;

drop function private.audit_consent_override(uuid, text, text);

revoke execute on function private.change_consent(uuid, text, boolean, text, text, boolean) from public;
grant execute on function private.consent_caller(), private.consent_source_for(text, uuid, boolean, text),
  private.change_consent(uuid, text, boolean, text, text, boolean) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- Shared phone numbers: consent is per customer and address. An inbound STOP (or Twilio 21610)
-- from a number revokes SMS consent of every customer holding that number who has it; START/
-- UNSTOP/YES re-subscribes only those whose current opt-out came from that number (an SMS STOP or
-- 21610), never a customer who opted out themselves another way (self-service, unsubscribe link),
-- and never grants consent to a holder who had none.
-- ---------------------------------------------------------------------------------------------

create or replace function private.apply_sms_keyword(phone text, opt_in boolean, source text, note text)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  return private.apply_provider_consent((
    select coalesce(jsonb_agg(jsonb_build_object('customer_id', u.id, 'channel', 'sms', 'enabled', apply_sms_keyword.opt_in,
                                                 'source', apply_sms_keyword.source, 'note', apply_sms_keyword.note,
                                                 'occurred_at', now())), '[]'::jsonb)
      from public.users u
      left join public.customer_consent cc on cc.customer_id = u.id and cc.channel = 'sms'
     where u.phone = apply_sms_keyword.phone
       and case when apply_sms_keyword.opt_in then cc.enabled = false and cc.source in ('twilio_inbound', 'twilio_status')
                else cc.enabled end));
end
$$;

-- Re-defined from 20261124000630 (h11): the consent part goes through apply_sms_keyword.
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
  -- 21610: the number replied STOP; the carrier refuses every message to it, whoever holds it
  if fresh = 1 and error_code = '21610' then
    consent := private.apply_sms_keyword(coalesce(r.address, ingest_twilio_status.params ->> 'To'), false, 'twilio_status',
                                         'Twilio 21610: the number unsubscribed (STOP)');
  end if;
  return jsonb_build_object('new', fresh, 'status_changed', changed, 'consent_changed', consent);
end
$$;

-- Re-defined from 20261124000630 (h11): STOP/START per customer and address (apply_sms_keyword).
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
          (select u.id from public.users u where u.phone = from_number order by u.id limit 1), from_number, keyword, now(), ingest_twilio_inbound.params)
  on conflict on constraint message_events_provider_event_key do nothing;
  get diagnostics fresh = row_count;
  if fresh = 1 and action in ('opt_out', 'opt_in') then
    consent := private.apply_sms_keyword(from_number, action = 'opt_in', 'twilio_inbound', format('SMS reply %s', keyword));
  end if;
  return jsonb_build_object('new', fresh, 'action', action, 'consent_changed', consent);
end
$$;

grant execute on function private.apply_sms_keyword(text, boolean, text, text) to service_role;

-- ---------------------------------------------------------------------------------------------
-- Staff and customers: no delete through the API; role changes audited.
-- ---------------------------------------------------------------------------------------------

drop policy users_delete_admin on public.users;
revoke delete on public.users from authenticated, service_role;

create trigger _900_audit after insert or update or delete on public.user_roles
  for each row execute function private.tg_audit('user_id', 'role');
