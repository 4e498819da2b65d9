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

CREATE TABLE public.consent_confirmations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    customer_id uuid NOT NULL,
    channel text NOT NULL,
    address text,
    status text DEFAULT 'pending'::text NOT NULL,
    requested_source text NOT NULL,
    requested_by uuid,
    requested_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    note text,
    override_audit_id bigint,
    consent_text_id bigint NOT NULL,
    campaign_id uuid,
    recipient_id uuid,
    confirmed_at timestamp with time zone,
    confirmed_via text,
    confirmed_ip text,
    confirmed_user_agent text,
    confirmed_link text,
    confirmed_message_sid text,
    consent_history_id bigint,
    closed_at timestamp with time zone,
    CONSTRAINT consent_confirmations_channel_is_email_or_sms CHECK ((channel = ANY (ARRAY['email'::text, 'sms'::text]))),
    CONSTRAINT consent_confirmations_status_is_known CHECK ((status = ANY (ARRAY['pending'::text, 'confirmed'::text, 'superseded'::text, 'cancelled'::text]))),
    CONSTRAINT consent_confirmations_via_is_link_or_sms_reply CHECK ((confirmed_via = ANY (ARRAY['link'::text, 'sms_reply'::text]))),
    CONSTRAINT consent_confirmations_pkey PRIMARY KEY (id),
    CONSTRAINT consent_confirmations_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE,
    CONSTRAINT consent_confirmations_requested_by_fkey FOREIGN KEY (requested_by) REFERENCES public.users(id) ON DELETE SET NULL
);

COMMENT ON TABLE public.consent_confirmations IS 'Double opt-in: a grant waiting for the customer (pending, which is not consent) and, once confirmed, its proof: when, from which IP and user agent, through which link or inbound SMS, and the wording version shown.';

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
    override_audit_id bigint,
    consent_text_id bigint,
    confirmation_id uuid,
    CONSTRAINT customer_consent_channel_is_email_sms_or_push CHECK ((channel = ANY (ARRAY['email'::text, 'sms'::text, 'push'::text]))),
    CONSTRAINT customer_consent_note_max_2000 CHECK ((char_length(note) <= 2000)),
    CONSTRAINT customer_consent_source_is_known CHECK ((source = ANY (ARRAY['admin'::text, 'self_service'::text, 'signup'::text, 'import'::text, 'sendgrid'::text, 'twilio_inbound'::text, 'twilio_status'::text, 'system'::text]))),
    CONSTRAINT customer_consent_pkey PRIMARY KEY (customer_id, channel),
    CONSTRAINT customer_consent_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE
);

COMMENT ON COLUMN public.customer_consent.updated_by IS 'Who recorded the current state (auth uid); kept after that user is deleted, like customer_consent_history.changed_by.';

COMMENT ON COLUMN public.customer_consent.override_audit_id IS 'The audit_log row of the override (override_opt_out) that allowed re-consent after the customer''s own opt-out.';

CREATE TABLE public.consent_settings (
    channel text NOT NULL,
    double_opt_in boolean DEFAULT false NOT NULL,
    confirmation_ttl_hours integer DEFAULT 72 NOT NULL,
    updated_by uuid,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT consent_settings_channel_is_email_sms_or_push CHECK ((channel = ANY (ARRAY['email'::text, 'sms'::text, 'push'::text]))),
    CONSTRAINT consent_settings_push_has_no_double_opt_in CHECK (((channel <> 'push'::text) OR (NOT double_opt_in))),
    CONSTRAINT consent_settings_ttl_1_to_720_hours CHECK (((confirmation_ttl_hours >= 1) AND (confirmation_ttl_hours <= 720))),
    CONSTRAINT consent_settings_pkey PRIMARY KEY (channel),
    CONSTRAINT consent_settings_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES public.users(id) ON DELETE SET NULL
);

COMMENT ON TABLE public.consent_settings IS 'Per channel: whether a grant waits for the customer''s confirmation (double opt-in) and how long a confirmation link lives.';

CREATE TABLE public.consent_texts (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY,
    channel text NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    wording text NOT NULL,
    created_by uuid DEFAULT auth.uid(),
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT consent_texts_channel_is_email_sms_or_push CHECK ((channel = ANY (ARRAY['email'::text, 'sms'::text, 'push'::text]))),
    CONSTRAINT consent_texts_wording_length_1_to_2000 CHECK (((char_length(btrim(wording)) >= 1) AND (char_length(btrim(wording)) <= 2000))),
    CONSTRAINT consent_texts_channel_version_key UNIQUE (channel, version),
    CONSTRAINT consent_texts_pkey PRIMARY KEY (id),
    CONSTRAINT consent_texts_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id) ON DELETE SET NULL
);

COMMENT ON TABLE public.consent_texts IS 'The wording a customer is shown when asked for consent, versioned per channel and never edited: a new wording is a new version.';

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
    override_audit_id bigint,
    consent_text_id bigint,
    confirmation_id uuid,
    CONSTRAINT customer_consent_history_pkey PRIMARY KEY (id),
    CONSTRAINT customer_consent_history_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE
);

COMMENT ON TABLE public.customer_consent_history IS 'Every consent change, append-only: the proof behind each send.';

COMMENT ON COLUMN public.customer_consent_history.consent_text_id IS 'The consent_texts version the customer was shown for this grant.';

COMMENT ON COLUMN public.customer_consent_history.confirmation_id IS 'The consent_confirmations row (double opt-in proof) this grant followed from.';

CREATE INDEX consent_confirmations_campaign_idx ON public.consent_confirmations USING btree (campaign_id);

CREATE INDEX consent_confirmations_consent_text_idx ON public.consent_confirmations USING btree (consent_text_id);

CREATE INDEX consent_confirmations_customer_idx ON public.consent_confirmations USING btree (customer_id, channel, requested_at DESC);

CREATE UNIQUE INDEX consent_confirmations_one_pending_idx ON public.consent_confirmations USING btree (customer_id, channel) WHERE (status = 'pending'::text);

CREATE UNIQUE INDEX consent_confirmations_recipient_idx ON public.consent_confirmations USING btree (recipient_id);

CREATE INDEX consent_confirmations_requested_by_idx ON public.consent_confirmations USING btree (requested_by);

CREATE INDEX consent_confirmations_sms_pending_idx ON public.consent_confirmations USING btree (address) WHERE ((status = 'pending'::text) AND (channel = 'sms'::text));

CREATE INDEX consent_settings_updated_by_idx ON public.consent_settings USING btree (updated_by);

CREATE INDEX consent_texts_created_by_idx ON public.consent_texts USING btree (created_by);

CREATE INDEX customer_consent_history_confirmation_idx ON public.customer_consent_history USING btree (confirmation_id) WHERE (confirmation_id IS NOT NULL);

CREATE INDEX customer_consent_history_customer_idx ON public.customer_consent_history USING btree (customer_id, channel, changed_at DESC);

CREATE INDEX customer_consent_updated_by_idx ON public.customer_consent USING btree (updated_by);

ALTER TABLE ONLY public.consent_confirmations
    ADD CONSTRAINT consent_confirmations_consent_text_id_fkey FOREIGN KEY (consent_text_id) REFERENCES public.consent_texts(id);

insert into public.consent_settings (channel, double_opt_in, confirmation_ttl_hours, updated_by) values
  ('email', 'false', '72', null),
  ('push', 'false', '72', null),
  ('sms', 'false', '72', null)
on conflict do nothing;

insert into public.consent_texts (channel, version, wording, created_by) values
  ('email', '1', 'Yes, send me news, offers and rental reminders by email. I can unsubscribe at any time with the link in every email.', null),
  ('sms', '1', 'Yes, send me offers and rental reminders by SMS. Reply STOP at any time to stop.', null),
  ('push', '1', 'Yes, send me rental reminders and offers as push notifications. I can turn them off in the app.', null)
on conflict do nothing;

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.apply_sms_keyword(phone text, opt_in boolean, source text, note text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION private.assert_opt_out_precedence(customer_id uuid, channel text, new_source text, override_audit_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION private.change_consent(customer_id uuid, channel text, enabled boolean, source text, note text, override_opt_out boolean) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  caller text := private.consent_caller();
  effective_source text;
  override_id bigint;
  cur public.customer_consent;
  result public.customer_consent;
  req public.consent_confirmations;
begin
  perform private.require_argument('customer_id', change_consent.customer_id);
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
  if exists (select 1 from public.users u where u.id = change_consent.customer_id and u.erased_at is not null) and change_consent.enabled then
    raise exception using errcode = 'PT409', message = 'consent: this person was erased; nobody may consent for them',
      detail = 'rule: erased people are never messaged';
  end if;
  select * into cur from public.customer_consent c where c.customer_id = change_consent.customer_id and c.channel = change_consent.channel;

  if coalesce(change_consent.override_opt_out, false) and change_consent.enabled then
    override_id := private.write_audit('override_opt_out', 'customer_consent',
      change_consent.customer_id || ':' || change_consent.channel, null, null,
      jsonb_build_object('source', effective_source, 'reason', 'the note of the consent history row that names this audit row'));
  end if;

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

CREATE FUNCTION private.confirm_consent(confirmation_id uuid, via text, ip text DEFAULT NULL::text, user_agent text DEFAULT NULL::text, link text DEFAULT NULL::text, message_sid text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION private.confirm_consent_by_link(recipient_id uuid, ip text, user_agent text, link text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  req_id uuid := (select c.id from public.consent_confirmations c where c.recipient_id = confirm_consent_by_link.recipient_id);
begin
  if req_id is null or (select c.channel from public.consent_confirmations c where c.id = req_id) <> 'email' then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return private.confirm_consent(req_id, 'link', confirm_consent_by_link.ip, confirm_consent_by_link.user_agent, confirm_consent_by_link.link);
end
$$;

CREATE FUNCTION private.confirm_sms_consent(phone text, message_sid text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION private.consent_caller() RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION private.consent_source_for(caller text, customer_id uuid, enabled boolean, requested text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION private.consent_source_is_customers_own(source text) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select consent_source_is_customers_own.source in ('self_service', 'sendgrid', 'twilio_inbound', 'twilio_status')
$$;

CREATE FUNCTION private.current_consent_text(channel text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select t.id from public.consent_texts t where t.channel = current_consent_text.channel order by t.version desc limit 1
$$;

CREATE FUNCTION private.describe_consent_confirmation(recipient_id uuid) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION private.request_consent_confirmation(customer_id uuid, channel text, source text, note text, override_audit_id bigint) RETURNS public.consent_confirmations
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION private.tg_consent_settings__stamp() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  new.updated_by := auth.uid();
  new.updated_at := now();
  return new;
end
$$;

CREATE FUNCTION private.tg_consent_texts__version() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform pg_advisory_xact_lock(hashtext('consent_texts:' || new.channel));
  new.version := coalesce((select max(t.version) from public.consent_texts t where t.channel = new.channel), 0) + 1;
  new.created_by := auth.uid();
  new.created_at := now();
  return new;
end
$$;

CREATE FUNCTION private.tg_customer_consent__audit() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform private.write_audit(
    lower(tg_op), 'customer_consent', (case when tg_op = 'DELETE' then old.customer_id else new.customer_id end) || ':' ||
                                      (case when tg_op = 'DELETE' then old.channel else new.channel end),
    case when tg_op in ('UPDATE', 'DELETE') then to_jsonb(old) - 'note' end,
    case when tg_op in ('INSERT', 'UPDATE') then to_jsonb(new) - 'note' end);
  return null;
end
$$;

CREATE FUNCTION private.tg_customer_consent__history() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION private.tg_customer_consent__stamp() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION private.tg_customer_consent__wording() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION private.tg_customer_consent_history__append_only() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if tg_op = 'DELETE' and not exists (select 1 from public.users u where u.id = old.customer_id) then
    return old;
  end if;
  if tg_op = 'UPDATE' and (to_jsonb(new) - 'note') = (to_jsonb(old) - 'note')
     and exists (select 1 from public.users u where u.id = old.customer_id and u.erased_at is not null) then
    return new;
  end if;
  raise exception using errcode = '42501',
    message = format('customer_consent_history is append-only: %s is not allowed', lower(tg_op));
end
$$;

CREATE FUNCTION public.set_customer_consent(customer_id uuid, channel text, enabled boolean, source text DEFAULT NULL::text, note text DEFAULT NULL::text, override_opt_out boolean DEFAULT false) RETURNS jsonb
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  select private.change_consent(set_customer_consent.customer_id, set_customer_consent.channel, set_customer_consent.enabled,
                                set_customer_consent.source, set_customer_consent.note, set_customer_consent.override_opt_out)
$$;

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _000_append_only BEFORE DELETE OR UPDATE ON public.consent_texts FOR EACH ROW EXECUTE FUNCTION private.tg_refuse_change();

CREATE TRIGGER _000_append_only BEFORE DELETE OR UPDATE ON public.customer_consent_history FOR EACH ROW EXECUTE FUNCTION private.tg_customer_consent_history__append_only();

CREATE TRIGGER _000_append_only_truncate BEFORE TRUNCATE ON public.consent_texts FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refuse_change();

CREATE TRIGGER _000_append_only_truncate BEFORE TRUNCATE ON public.customer_consent_history FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refuse_change();

CREATE TRIGGER _010_stamp BEFORE UPDATE ON public.consent_settings FOR EACH ROW EXECUTE FUNCTION private.tg_consent_settings__stamp();

CREATE TRIGGER _010_stamp BEFORE INSERT OR UPDATE ON public.customer_consent FOR EACH ROW EXECUTE FUNCTION private.tg_customer_consent__stamp();

CREATE TRIGGER _010_version BEFORE INSERT ON public.consent_texts FOR EACH ROW EXECUTE FUNCTION private.tg_consent_texts__version();

CREATE TRIGGER _020_wording BEFORE INSERT OR UPDATE ON public.customer_consent FOR EACH ROW EXECUTE FUNCTION private.tg_customer_consent__wording();

CREATE TRIGGER _050_history AFTER INSERT OR UPDATE ON public.customer_consent FOR EACH ROW EXECUTE FUNCTION private.tg_customer_consent__history();

CREATE TRIGGER _900_audit AFTER UPDATE ON public.consent_settings FOR EACH ROW EXECUTE FUNCTION private.tg_audit('channel');

CREATE TRIGGER _900_audit AFTER INSERT ON public.consent_texts FOR EACH ROW EXECUTE FUNCTION private.tg_audit('id');

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON public.customer_consent FOR EACH ROW EXECUTE FUNCTION private.tg_customer_consent__audit();

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

ALTER TABLE public.consent_confirmations ENABLE ROW LEVEL SECURITY;

CREATE POLICY consent_confirmations_select_admin_or_own ON public.consent_confirmations FOR SELECT TO authenticated USING ((( SELECT private.is_admin() AS is_admin) OR (customer_id = ( SELECT auth.uid() AS uid))));

call private.staff_access('public.consent_settings', read_by => 'admin');

-- Admins update only double_opt_in and confirmation_ttl_hours (the column grant below).
CREATE POLICY consent_settings_update_admin ON public.consent_settings FOR UPDATE TO authenticated USING (( SELECT private.is_admin() AS is_admin)) WITH CHECK (( SELECT private.is_admin() AS is_admin));

ALTER TABLE public.consent_texts ENABLE ROW LEVEL SECURITY;

CREATE POLICY consent_texts_insert_admin ON public.consent_texts FOR INSERT TO authenticated WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY consent_texts_select_signed_in ON public.consent_texts FOR SELECT TO authenticated USING (true);

ALTER TABLE public.customer_consent ENABLE ROW LEVEL SECURITY;

CREATE POLICY customer_consent_select_admin_or_own ON public.customer_consent FOR SELECT TO authenticated USING ((( SELECT private.is_admin() AS is_admin) OR (customer_id = ( SELECT auth.uid() AS uid))));

call private.staff_access('public.customer_consent_history', read_by => 'admin');

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select on table
  public.consent_confirmations,
  public.consent_texts,
  public.customer_consent
to authenticated, service_role;
grant select on table
  public.consent_settings,
  public.customer_consent_history
to service_role;
grant update (double_opt_in, confirmation_ttl_hours) on table public.consent_settings to authenticated, service_role;
grant insert (channel, wording) on table public.consent_texts to authenticated, service_role;
grant select, usage on sequence public.customer_consent_history_id_seq to authenticated;
grant select, update, usage on sequence public.customer_consent_history_id_seq to service_role;
grant execute on function
  private.apply_sms_keyword(text,boolean,text,text),
  private.confirm_consent_by_link(uuid,text,text,text),
  private.confirm_sms_consent(text,text),
  private.describe_consent_confirmation(uuid)
to service_role;
grant execute on function
  private.change_consent(uuid,text,boolean,text,text,boolean),
  private.consent_caller(),
  private.consent_source_for(text,uuid,boolean,text),
  private.consent_source_is_customers_own(text),
  private.current_consent_text(text),
  public.set_customer_consent(uuid,text,boolean,text,text,boolean)
to authenticated, service_role;

reset search_path;
reset check_function_bodies;
