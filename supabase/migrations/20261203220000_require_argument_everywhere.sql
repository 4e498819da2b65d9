-- One refusal for an RPC called without a required argument: consent, consent proofs, the data
-- export and erasure, and the customer summary call private.require_argument (22023
-- '<name>: is required', the same message as before) instead of their own copies. The helper is
-- now declared in roles_and_permissions.sql, next to require_role (no change to its definition).

SET local check_function_bodies = off;
SET local search_path = '';

CREATE OR REPLACE FUNCTION private.change_consent(customer_id uuid, channel text, enabled boolean, source text, note text, override_opt_out boolean) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION public.consent_proof(recipient_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  p record;
  u public.users;
begin
  perform private.require_role('admin');
  perform private.require_argument('recipient_id', consent_proof.recipient_id);
  select * into p from private.recipient_proofs(null, consent_proof.recipient_id);
  if not found then
    raise exception using errcode = '22023', message = format('recipient_id: no message %s', consent_proof.recipient_id);
  end if;
  select * into u from public.users x where x.id = p.customer_id;
  return jsonb_build_object(
    'recipient_id', p.recipient_id,
    'valid', p.problem is null,
    'problem', p.problem,
    'campaign', jsonb_build_object('id', p.campaign_id, 'name', p.campaign_name, 'purpose', p.purpose),
    'customer', jsonb_build_object('id', p.customer_id, 'full_name', u.full_name),
    'channel', p.channel,
    'address', p.address,
    'status', p.status,
    'allowed_by', case
      when p.purpose = 'consent_confirmation' then jsonb_build_object(
        'kind', 'transactional: the double opt-in confirmation message itself (consent-exempt)',
        'confirmation_id', p.confirmation_id, 'requested_at', p.confirmation_requested_at,
        'requested_source', p.confirmation_requested_source, 'request_status', p.confirmation_status)
      when p.consent_history_id is null then null
      else jsonb_build_object(
        'consent_history_id', p.consent_history_id, 'granted', p.consent_granted, 'source', p.consent_source,
        'changed_at', p.consent_changed_at, 'changed_by', p.consent_changed_by, 'note', p.consent_note,
        'override_audit_id', p.override_audit_id,
        'wording', case when p.consent_text_id is null then null else
          (select jsonb_build_object('consent_text_id', t.id, 'version', t.version, 'wording', t.wording)
             from public.consent_texts t where t.id = p.consent_text_id) end,
        'double_opt_in', case when p.confirmation_id is null then null else jsonb_build_object(
          'confirmation_id', p.confirmation_id, 'requested_at', p.confirmation_requested_at,
          'requested_source', p.confirmation_requested_source, 'status', p.confirmation_status,
          'confirmed_at', p.confirmed_at, 'via', p.confirmed_via, 'ip', p.confirmed_ip,
          'user_agent', p.confirmed_user_agent, 'link', p.confirmed_link, 'message_sid', p.confirmed_message_sid) end)
    end,
    'at_send', jsonb_build_object(
      'checked_at', p.consent_checked_at, 'consent_on', p.consent_on_at_check, 'suppressed', p.suppressed_at_check,
      'attempts', p.attempts, 'sent_at', p.sent_at),
    'provider', jsonb_build_object('provider_message_id', p.provider_message_id),
    'events', coalesce((select jsonb_agg(jsonb_build_object('provider', e.provider, 'event', e.event, 'occurred_at', e.occurred_at,
                                                           'reason', e.reason, 'url', e.url, 'provider_event_id', e.provider_event_id)
                                        order by e.occurred_at, e.id)
                          from public.message_events e where e.recipient_id = p.recipient_id), '[]'::jsonb));
end
$$;

CREATE OR REPLACE FUNCTION private.authorize_customer_export(customer_id uuid) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  caller text := private.consent_caller();
begin
  if caller = 'anon' then
    raise exception using errcode = '42501', message = 'permission denied: sign in to export data';
  end if;
  perform private.require_argument('customer_id', authorize_customer_export.customer_id);
  if caller = 'customer' and authorize_customer_export.customer_id is distinct from auth.uid() then
    raise exception using errcode = '42501', message = 'permission denied: a customer may export only their own data';
  end if;
  if not exists (select 1 from public.users u where u.id = authorize_customer_export.customer_id) then
    raise exception using errcode = '22023', message = format('customer_id: no customer %s', authorize_customer_export.customer_id);
  end if;
  return caller <> 'customer' or private.has_role('admin');
end
$$;

CREATE OR REPLACE FUNCTION private.erase_person(customer_id uuid, reason text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  u public.users;
  me uuid := erase_person.customer_id;
  needles text[];
  n integer;
  touched jsonb := '{}'::jsonb;
  auth_scrubbed boolean := false;
  audit_id bigint;
  tbl record;
  not_scrubbed jsonb := '{}'::jsonb;
begin
  perform private.assert_staff('admin');
  perform private.require_argument('customer_id', me);
  if coalesce(btrim(erase_person.reason), '') = '' then
    raise exception using errcode = '22023', message = 'reason: say why (for example the request''s reference); it is kept in the audit trail';
  end if;
  if char_length(erase_person.reason) > 500 then
    raise exception using errcode = '22023', message = 'reason: must be at most 500 characters';
  end if;
  select * into u from public.users x where x.id = me for update;
  if not found then
    raise exception using errcode = '22023', message = format('customer_id: no customer %s', me);
  end if;
  if u.erased_at is not null then
    return jsonb_build_object('customer_id', me, 'status', 'already_erased', 'erased_at', u.erased_at,
                              'message', 'this person was already erased; nothing was changed');
  end if;

  needles := array_remove(array[u.full_name, u.email, u.phone, ltrim(u.phone, '+'),
                                case when char_length(split_part(u.full_name, ' ', 1)) >= 3 and u.full_name like '% %'
                                     then split_part(u.full_name, ' ', 1) end,
                                split_part(u.email, '@', 1)], null);

  -- hashed suppression first, so nothing below can re-send
  insert into private.erased_addresses (channel, address_hash)
  select a.channel, private.address_hash(a.address)
    from (values ('email', u.email), ('sms', u.phone)) a(channel, address)
   where nullif(btrim(a.address), '') is not null
  on conflict do nothing;
  delete from public.suppressions s
   where (s.channel = 'email' and s.address_key = lower(btrim(u.email))) or (s.channel = 'sms' and s.address_key = lower(btrim(u.phone)));
  update public.campaign_recipients r set status = 'cancelled', lease_expires_at = null, leased_by = null, updated_at = now()
   where r.customer_id = me and r.status = 'queued';
  update public.consent_confirmations k set status = 'cancelled', closed_at = coalesce(k.closed_at, now())
   where k.customer_id = me and k.status = 'pending';

  -- the profile and the Auth identity
  update public.users x set full_name = 'Erased person', email = null, phone = null, city = null, region = null,
                            erased_at = now()
   where x.id = me;
  delete from public.user_roles r where r.user_id = me;
  -- the Auth identity (owned by the Auth server; the postgres role may write it on Supabase): no
  -- email, phone or profile metadata, no way to sign in, no live session
  begin
    execute 'update auth.users set email = null, phone = null, raw_user_meta_data = ''{}''::jsonb where id = $1' using me;
    auth_scrubbed := true;
  exception when others then
    auth_scrubbed := false;
  end;
  begin
    execute 'update auth.users set email_change = '''', phone_change = '''', banned_until = ''infinity'' where id = $1' using me;
  exception when others then null;
  end;
  begin
    execute 'delete from auth.identities where user_id = $1' using me;
  exception when others then null;
  end;
  begin
    execute 'delete from auth.sessions where user_id = $1' using me;
  exception when others then null;
  end;
  begin
    execute 'delete from auth.refresh_tokens where user_id = $1::text' using me;
  exception when others then null;
  end;

  -- free text about the person, whole
  update public.customer_notes x set note = '[erased]' where x.customer_id = me;
  get diagnostics n = row_count; touched := touched || jsonb_build_object('customer_notes', n);
  update public.support_tickets x set subject = '[erased]' where x.customer_id = me;
  get diagnostics n = row_count; touched := touched || jsonb_build_object('support_tickets', n);
  update public.support_messages m set body = '[erased]'
    from public.support_tickets t where t.id = m.ticket_id and t.customer_id = me;
  get diagnostics n = row_count; touched := touched || jsonb_build_object('support_messages', n);
  update public.sms_logs l set body = '[erased]', to_phone = '[erased]',
                               provider_message_id = private.scrub(l.provider_message_id, needles)
   where l.customer_id = me;
  get diagnostics n = row_count; touched := touched || jsonb_build_object('sms_logs', n);
  update public.email_logs l set to_email = '[erased]', subject = private.scrub(l.subject, needles),
                                 provider_message_id = private.scrub(l.provider_message_id, needles)
   where l.customer_id = me;
  get diagnostics n = row_count; touched := touched || jsonb_build_object('email_logs', n);
  update public.push_logs l set to_token = '[erased]', title = private.scrub(l.title, needles) where l.customer_id = me;
  get diagnostics n = row_count; touched := touched || jsonb_build_object('push_logs', n);
  delete from public.customer_push_tokens t where t.customer_id = me;
  get diagnostics n = row_count; touched := touched || jsonb_build_object('customer_push_tokens', n);

  -- the ledger: addresses and provider data
  update public.campaign_recipients r set address = null, last_error = private.scrub(r.last_error, needles),
                                          provider_message_id = private.scrub(r.provider_message_id, needles)
   where r.customer_id = me;
  get diagnostics n = row_count; touched := touched || jsonb_build_object('campaign_recipients', n);
  update public.message_events e
     set address = null, reason = private.scrub(e.reason, needles), url = private.scrub(e.url, needles),
         provider_event_id = private.scrub(e.provider_event_id, needles),
         payload = (select coalesce(jsonb_object_agg(k, v), '{}'::jsonb) from jsonb_each(e.payload) p(k, v)
                     where k in ('event', 'timestamp', 'sg_event_id', 'sg_message_id', 'recipient_id', 'campaign_id', 'MessageSid',
                                 'SmsSid', 'MessageStatus', 'SmsStatus', 'ErrorCode', 'type', 'asm_group_id'))
                   || jsonb_build_object('erased', true)
   where e.customer_id = me or e.recipient_id in (select r.id from public.campaign_recipients r where r.customer_id = me);
  get diagnostics n = row_count; touched := touched || jsonb_build_object('message_events', n);
  update public.consent_confirmations k set address = null, confirmed_ip = null, confirmed_user_agent = null,
                                            note = private.scrub(k.note, needles)
   where k.customer_id = me;
  get diagnostics n = row_count; touched := touched || jsonb_build_object('consent_confirmations', n);
  update public.customer_consent c set note = private.scrub(c.note, needles)
   where c.customer_id = me and c.note is distinct from private.scrub(c.note, needles);
  update public.customer_consent_history h set note = private.scrub(h.note, needles)
   where h.customer_id = me and h.note is distinct from private.scrub(h.note, needles);
  update public.customer_risk_overrides o set reason = private.scrub(o.reason, needles)
   where o.customer_id = me and o.reason is distinct from private.scrub(o.reason, needles);
  update public.alerts a set title = private.scrub(a.title, needles), body = private.scrub(a.body, needles),
                             details = private.scrub_jsonb(a.details, needles)
   where a.customer_id = me;

  -- the timeline: free text out, names and addresses scrubbed
  update public.customer_timeline_events e
     set title = case when e.event_type in ('note') then '[erased]'
                      when e.source_table = 'support_tickets' or e.source_table = 'support_messages' then
                        regexp_replace(private.scrub(e.title, needles), ':.*$', ': [erased]')
                      else private.scrub(e.title, needles) end,
         metadata = private.scrub_jsonb(e.metadata - array['note', 'excerpt', 'subject', 'ticket_subject', 'address', 'body'], needles)
                    || (select coalesce(jsonb_object_agg(k, '[erased]'), '{}'::jsonb) from jsonb_object_keys(e.metadata) k
                         where k in ('note', 'excerpt', 'subject', 'ticket_subject', 'address', 'body'))
   where e.customer_id = me;
  get diagnostics n = row_count; touched := touched || jsonb_build_object('customer_timeline_events', n);

  -- tables not named above and not keyed by customer (settings, templates, segments, campaigns,
  -- provider inboxes added later): every text and jsonb column, scrubbed where it names the person.
  -- Tables keyed by customer_id are covered above or hold no free text; the audit trail is never
  -- rewritten; a table that refuses the update (append-only) is reported, not skipped silently.
  for tbl in
    select c.table_schema as s, c.table_name as t, c.column_name as col, c.data_type as typ
      from information_schema.columns c
      join information_schema.tables x on x.table_schema = c.table_schema and x.table_name = c.table_name and x.table_type = 'BASE TABLE'
     where c.table_schema in ('public', 'private')
       and c.data_type in ('text', 'jsonb', 'character varying')
       and c.table_name not in ('audit_log', 'users', 'customer_notes', 'support_tickets', 'support_messages', 'sms_logs', 'email_logs',
                                'push_logs', 'customer_push_tokens', 'campaign_recipients', 'message_events', 'consent_confirmations',
                                'customer_consent', 'customer_consent_history', 'customer_risk_overrides', 'alerts',
                                'customer_timeline_events', 'suppressions', 'erased_addresses')
       and not exists (select 1 from information_schema.columns k
                        where k.table_schema = c.table_schema and k.table_name = c.table_name and k.column_name = 'customer_id')
     order by 1, 2, 3
  loop
    begin
      execute format('update %I.%I set %I = %s where %I::text ilike any($1)', tbl.s, tbl.t, tbl.col,
                     case when tbl.typ = 'jsonb' then format('private.scrub_jsonb(%I, $2)', tbl.col)
                          else format('private.scrub(%I, $2)', tbl.col) end, tbl.col)
        using array(select '%' || replace(replace(replace(x, '\', '\\'), '%', '\%'), '_', '\_') || '%'
                      from unnest(needles) x where char_length(x) >= 3), needles;
      get diagnostics n = row_count;
      if n > 0 then
        touched := touched || jsonb_build_object(tbl.s || '.' || tbl.t || '.' || tbl.col, n);
      end if;
    exception when others then
      not_scrubbed := not_scrubbed || jsonb_build_object(tbl.s || '.' || tbl.t || '.' || tbl.col, sqlerrm);
    end;
  end loop;

  audit_id := private.write_audit('erase', 'users', me::text, null, null,
    jsonb_build_object('reason', erase_person.reason, 'records', touched, 'auth_identity_scrubbed', auth_scrubbed,
                       'not_scrubbed', not_scrubbed));
  return jsonb_build_object('customer_id', me, 'status', 'erased', 'erased_at', now(), 'audit_id', audit_id,
                            'records', touched, 'auth_identity_scrubbed', auth_scrubbed, 'not_scrubbed', not_scrubbed);
end
$_$;

CREATE OR REPLACE FUNCTION private.customer_summary(customer_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  u public.users;
  r record;
begin
  perform private.assert_staff('admin');
  perform private.require_argument('customer_id', customer_summary.customer_id);
  select * into u from public.users x where x.id = customer_summary.customer_id;
  if u.id is null then
    raise exception using errcode = '22023', message = format('customer_id: customer %s does not exist', customer_summary.customer_id);
  end if;
  select * into r from private.effective_customer_scores e where e.customer_id = u.id;

  return (select jsonb_build_object(
    'customer', jsonb_build_object(
      'id', u.id, 'email', u.email, 'phone', u.phone, 'full_name', u.full_name, 'city', u.city, 'region', u.region,
      'country_code', u.country_code, 'preferred_contact_method', u.preferred_contact_method, 'created_at', u.created_at),
    'risk', jsonb_build_object(
      'score', r.risk_score,
      'computed', r.computed_risk_score,
      'override', case when r.override_score is not null then jsonb_build_object(
                    'score', r.override_score, 'reason', r.override_reason, 'expires_at', r.override_expires_at,
                    'created_by', r.override_created_by, 'created_at', r.override_created_at) end,
      'level', private.risk_level(r.risk_score)),
    'lifetime_value', u.lifetime_value,
    'total_spend', coalesce((select sum(p.amount) from public.payments p where p.customer_id = u.id and p.status = 'succeeded'), 0)
                 + coalesce((select sum(m.amount) from public.manual_payments m where m.customer_id = u.id), 0),
    'booking_count', bk.booking_count,
    'last_booking_at', bk.last_booking_at,
    'tags', coalesce((select jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'color', t.color) order by lower(t.name))
                        from public.customer_tag_members tm
                        join public.customer_tags t on t.id = tm.tag_id
                       where tm.customer_id = u.id), '[]'::jsonb),
    'consent', (select jsonb_build_object(
                  'email', coalesce(bool_or(c.enabled) filter (where c.channel = 'email'), false),
                  'sms', coalesce(bool_or(c.enabled) filter (where c.channel = 'sms'), false),
                  'push', coalesce(bool_or(c.enabled) filter (where c.channel = 'push'), false))
                  from public.customer_consent c where c.customer_id = u.id),
    'insurance_expiring', coalesce((select jsonb_agg(jsonb_build_object(
                                      'id', d.id, 'kind', d.kind, 'booking_id', d.booking_id, 'status', d.status,
                                      'expires_at', d.expires_at) order by d.expires_at, d.id)
                                      from public.insurance_documents d
                                     where d.customer_id = u.id
                                       and d.status in ('valid', 'pending')
                                       and d.expires_at between current_date and current_date + 30), '[]'::jsonb),
    'overdue_balance', private.customer_overdue_balance(u.id),
    'open_tickets', (select count(*) from public.support_tickets t where t.customer_id = u.id and t.status in ('open', 'pending')),
    'account_manager', (select jsonb_build_object('id', am.id, 'full_name', am.full_name, 'email', am.email)
                          from public.users am where am.id = u.account_manager_id))
    from (select count(*) as booking_count, max(b.created_at) as last_booking_at
            from public.bookings b where b.customer_id = u.id and b.status <> 'cancelled') bk);
end
$$;

