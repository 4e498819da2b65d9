-- Consent precedence: a customer's own opt-out (self-service, provider unsubscribe, SMS STOP)
-- beats a later re-consent by anyone else unless that re-consent explicitly overrides it, with a
-- note; the override is audit-logged. Enforced by the state table's trigger, so no path skips it.

create or replace function private.consent_source_is_customers_own(source text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select consent_source_is_customers_own.source in ('self_service', 'sendgrid', 'twilio_inbound', 'twilio_status')
$$;

create or replace function private.tg_customer_consent__stamp()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not private.is_trusted() and not private.is_admin() then
    new.source := 'self_service';
  end if;
  if tg_op = 'UPDATE' and new.enabled and not old.enabled
     and private.consent_source_is_customers_own(old.source) and not private.consent_source_is_customers_own(new.source)
     and coalesce(current_setting('crm.consent_override', true), '') <> 'on' then
    raise exception using errcode = '55000',
      message = format('consent: the customer opted out of %s themselves (%s, %s); re-consent on their behalf only with override_opt_out => true and a note saying why',
                       old.channel, old.source, to_char(old.revoked_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'));
  end if;
  if tg_op = 'INSERT' or new.enabled is distinct from old.enabled then
    if new.enabled then
      new.granted_at := now();
    else
      new.revoked_at := now();
    end if;
  end if;
  new.updated_by := auth.uid();
  new.updated_at := now();
  new.consent_history_id := nextval(pg_get_serial_sequence('public.customer_consent_history', 'id'));
  return new;
end
$$;

create or replace function private.audit_consent_override(customer_id uuid, channel text, note text)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  perform private.assert_staff('admin');
  perform private.write_audit('override_opt_out', 'customer_consent',
    audit_consent_override.customer_id || ':' || audit_consent_override.channel, null, null,
    jsonb_build_object('note', audit_consent_override.note));
end
$$;

drop function public.set_customer_consent(uuid, text, boolean, text, text);

create function public.set_customer_consent(
  customer_id uuid,
  channel text,
  enabled boolean,
  source text default 'admin',
  note text default null,
  override_opt_out boolean default false
)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  effective_source text := coalesce(set_customer_consent.source, 'admin');
  result public.customer_consent;
begin
  if set_customer_consent.customer_id is null then
    raise exception using errcode = '22023', message = 'customer_id: is required';
  end if;
  if set_customer_consent.channel is null or set_customer_consent.channel not in ('email', 'sms', 'push') then
    raise exception using errcode = '22023',
      message = format('channel: must be one of email, sms, push; got %s', coalesce(quote_literal(set_customer_consent.channel), 'null'));
  end if;
  if set_customer_consent.enabled is null then
    raise exception using errcode = '22023', message = 'enabled: must be true or false';
  end if;
  if not private.is_trusted() and not private.is_admin() then
    if auth.uid() is null or auth.uid() <> set_customer_consent.customer_id then
      raise exception using errcode = '42501', message = 'permission denied: a customer may change only their own consent';
    end if;
    effective_source := 'self_service';
  end if;
  if effective_source not in ('admin', 'self_service', 'signup', 'import', 'sendgrid', 'twilio_inbound', 'twilio_status', 'system') then
    raise exception using errcode = '22023',
      message = format('source: must be one of admin, self_service, signup, import, sendgrid, twilio_inbound, twilio_status, system; got %s',
                       quote_literal(effective_source));
  end if;
  if char_length(set_customer_consent.note) > 2000 then
    raise exception using errcode = '22023', message = 'note: must be at most 2000 characters';
  end if;
  if coalesce(set_customer_consent.override_opt_out, false) and coalesce(btrim(set_customer_consent.note), '') = '' then
    raise exception using errcode = '22023', message = 'note: an override of the customer''s own opt-out needs a note saying why';
  end if;
  if not exists (select 1 from public.users u where u.id = set_customer_consent.customer_id) then
    raise exception using errcode = '23503',
      message = format('customer_id: customer %s does not exist', set_customer_consent.customer_id);
  end if;

  if coalesce(set_customer_consent.override_opt_out, false) then
    perform private.audit_consent_override(set_customer_consent.customer_id, set_customer_consent.channel, set_customer_consent.note);
    perform set_config('crm.consent_override', 'on', true);
  end if;
  insert into public.customer_consent as c (customer_id, channel, enabled, source, note)
  values (set_customer_consent.customer_id, set_customer_consent.channel, set_customer_consent.enabled,
          effective_source, set_customer_consent.note)
  on conflict on constraint customer_consent_pkey do update
    set enabled = excluded.enabled, source = excluded.source, note = excluded.note
  returning * into result;
  perform set_config('crm.consent_override', '', true);

  return jsonb_build_object(
    'customer_id', result.customer_id, 'channel', result.channel, 'enabled', result.enabled,
    'granted_at', result.granted_at, 'revoked_at', result.revoked_at, 'source', result.source,
    'note', result.note, 'updated_at', result.updated_at, 'consent_history_id', result.consent_history_id);
end
$$;

grant execute on function public.set_customer_consent(uuid, text, boolean, text, text, boolean) to authenticated, service_role;
grant execute on function private.consent_source_is_customers_own(text), private.audit_consent_override(uuid, text, text)
  to authenticated, service_role;
