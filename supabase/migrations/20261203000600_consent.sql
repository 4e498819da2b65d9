-- Consent
--
-- Per-channel marketing consent, its append-only history with proof, the customer's own
-- opt-out precedence and the audited staff override.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE public.customer_consent (
    customer_id uuid NOT NULL,
    channel text NOT NULL,
    enabled boolean NOT NULL,
    granted_at timestamp with time zone,
    revoked_at timestamp with time zone,
    source text DEFAULT 'admin'::text NOT NULL,
    note text,
    updated_by uuid,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    consent_history_id bigint,
    CONSTRAINT customer_consent_channel_is_email_sms_or_push CHECK ((channel = ANY (ARRAY['email'::text, 'sms'::text, 'push'::text]))),
    CONSTRAINT customer_consent_note_max_2000 CHECK ((char_length(note) <= 2000)),
    CONSTRAINT customer_consent_source_is_known CHECK ((source = ANY (ARRAY['admin'::text, 'self_service'::text, 'signup'::text, 'import'::text, 'sendgrid'::text, 'twilio_inbound'::text, 'twilio_status'::text, 'system'::text]))),
    CONSTRAINT customer_consent_pkey PRIMARY KEY (customer_id, channel),
    CONSTRAINT customer_consent_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE,
    CONSTRAINT customer_consent_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES public.users(id) ON DELETE SET NULL
);

CREATE TABLE public.customer_consent_history (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY,
    customer_id uuid NOT NULL,
    channel text NOT NULL,
    old_enabled boolean,
    new_enabled boolean NOT NULL,
    source text NOT NULL,
    note text,
    changed_by uuid,
    changed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT customer_consent_history_pkey PRIMARY KEY (id),
    CONSTRAINT customer_consent_history_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE
);

COMMENT ON TABLE public.customer_consent_history IS 'Every consent change, append-only: the proof behind each send.';

CREATE INDEX customer_consent_history_customer_idx ON public.customer_consent_history USING btree (customer_id, channel, changed_at DESC);

CREATE INDEX customer_consent_updated_by_idx ON public.customer_consent USING btree (updated_by);

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.audit_consent_override(customer_id uuid, channel text, note text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform private.assert_staff('admin');
  perform private.write_audit('override_opt_out', 'customer_consent',
    audit_consent_override.customer_id || ':' || audit_consent_override.channel, null, null,
    jsonb_build_object('note', audit_consent_override.note));
end
$$;

CREATE FUNCTION private.consent_source_is_customers_own(source text) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select consent_source_is_customers_own.source in ('self_service', 'sendgrid', 'twilio_inbound', 'twilio_status')
$$;

CREATE FUNCTION private.tg_customer_consent__history() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  insert into public.customer_consent_history (id, customer_id, channel, old_enabled, new_enabled, source, note, changed_by, changed_at)
  overriding system value
  values (new.consent_history_id, new.customer_id, new.channel, case when tg_op = 'UPDATE' then old.enabled end, new.enabled,
          new.source, new.note, new.updated_by, new.updated_at);
  return null;
end
$$;

CREATE FUNCTION private.tg_customer_consent__stamp() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION private.tg_customer_consent_history__append_only() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if tg_op = 'DELETE' and not exists (select 1 from public.users u where u.id = old.customer_id) then
    return old;
  end if;
  raise exception using errcode = '42501',
    message = format('customer_consent_history is append-only: %s is not allowed', lower(tg_op));
end
$$;

CREATE FUNCTION public.set_customer_consent(customer_id uuid, channel text, enabled boolean, source text DEFAULT 'admin'::text, note text DEFAULT NULL::text, override_opt_out boolean DEFAULT false) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _000_append_only BEFORE DELETE OR UPDATE ON public.customer_consent_history FOR EACH ROW EXECUTE FUNCTION private.tg_customer_consent_history__append_only();

CREATE TRIGGER _000_append_only_truncate BEFORE TRUNCATE ON public.customer_consent_history FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refuse_change();

CREATE TRIGGER _010_stamp BEFORE INSERT OR UPDATE ON public.customer_consent FOR EACH ROW EXECUTE FUNCTION private.tg_customer_consent__stamp();

CREATE TRIGGER _050_history AFTER INSERT OR UPDATE ON public.customer_consent FOR EACH ROW EXECUTE FUNCTION private.tg_customer_consent__history();

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON public.customer_consent FOR EACH ROW EXECUTE FUNCTION private.tg_audit('customer_id', 'channel');

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

ALTER TABLE public.customer_consent ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.customer_consent_history ENABLE ROW LEVEL SECURITY;

CREATE POLICY customer_consent_history_select_admin ON public.customer_consent_history FOR SELECT TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY customer_consent_insert_admin_or_own ON public.customer_consent FOR INSERT TO authenticated WITH CHECK ((( SELECT private.is_admin() AS is_admin) OR (customer_id = ( SELECT auth.uid() AS uid))));

CREATE POLICY customer_consent_select_admin_or_own ON public.customer_consent FOR SELECT TO authenticated USING ((( SELECT private.is_admin() AS is_admin) OR (customer_id = ( SELECT auth.uid() AS uid))));

CREATE POLICY customer_consent_update_admin_or_own ON public.customer_consent FOR UPDATE TO authenticated USING ((( SELECT private.is_admin() AS is_admin) OR (customer_id = ( SELECT auth.uid() AS uid)))) WITH CHECK ((( SELECT private.is_admin() AS is_admin) OR (customer_id = ( SELECT auth.uid() AS uid))));

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

revoke all on table
  public.customer_consent,
  public.customer_consent_history
from public, anon, authenticated, service_role;
grant select, insert, update on table public.customer_consent to authenticated, service_role;
grant select on table public.customer_consent_history to authenticated, service_role;
revoke all on sequence public.customer_consent_history_id_seq from public, anon, authenticated, service_role;
grant select, update, usage on sequence public.customer_consent_history_id_seq to anon, authenticated, service_role;
revoke all on function
  private.audit_consent_override(uuid,text,text),
  private.consent_source_is_customers_own(text),
  private.tg_customer_consent__history(),
  private.tg_customer_consent__stamp(),
  private.tg_customer_consent_history__append_only(),
  public.set_customer_consent(uuid,text,boolean,text,text,boolean)
from public, anon, authenticated, service_role;
grant execute on function
  private.audit_consent_override(uuid,text,text),
  private.consent_source_is_customers_own(text),
  public.set_customer_consent(uuid,text,boolean,text,text,boolean)
to authenticated, service_role;

reset search_path;
reset check_function_bodies;
