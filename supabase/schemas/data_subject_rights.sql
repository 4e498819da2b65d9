-- Data subject rights
--
-- A person's data exported (admin, or the person) and erased: what each section holds,
-- scrubbing free text, suppressing erased addresses, and refusing consent for an erased person.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE private.erased_addresses (
    channel text NOT NULL,
    address_hash text NOT NULL,
    erased_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT erased_addresses_channel_is_email_or_sms CHECK ((channel = ANY (ARRAY['email'::text, 'sms'::text]))),
    CONSTRAINT erased_addresses_pkey PRIMARY KEY (channel, address_hash)
);

COMMENT ON TABLE private.erased_addresses IS 'SHA-256 of erased addresses (lower-cased, trimmed): a re-imported address is suppressed, never messaged.';

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.address_hash(address text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select encode(extensions.digest(lower(btrim(address_hash.address)), 'sha256'), 'hex')
$$;

CREATE FUNCTION private.audit_customer_export(customer_id uuid, context jsonb) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select private.write_audit('export', 'customer_data', audit_customer_export.customer_id::text, null, null, audit_customer_export.context)
$$;

CREATE FUNCTION private.authorize_customer_export(customer_id uuid) RETURNS boolean
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

CREATE FUNCTION private.customer_data_section_names() RETURNS text[]
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select array['profile', 'staff_roles', 'bookings', 'payments', 'manual_payments', 'support_tickets', 'insurance_documents', 'notes',
               'tags', 'consent', 'consent_history', 'consent_confirmations', 'segments', 'messages', 'provider_events', 'email_logs',
               'sms_logs', 'push_logs', 'push_tokens', 'timeline', 'facts', 'scores', 'score_history', 'risk_overrides', 'alerts']
$$;

CREATE FUNCTION private.customer_data_sections(customer_id uuid, include_internal boolean) RETURNS TABLE(section text, item jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  whole record;
begin
  -- the sections that are the person's rows of one table, whole (internal ones for staff only)
  for whole in
    select * from (values ('profile', 'users', 'id', false),
                          ('staff_roles', 'user_roles', 'user_id', false),
                          ('payments', 'payments', 'customer_id', false),
                          ('manual_payments', 'manual_payments', 'customer_id', false),
                          ('insurance_documents', 'insurance_documents', 'customer_id', false),
                          ('consent', 'customer_consent', 'customer_id', false),
                          ('consent_history', 'customer_consent_history', 'customer_id', false),
                          ('consent_confirmations', 'consent_confirmations', 'customer_id', false),
                          ('provider_events', 'message_events', 'customer_id', false),
                          ('email_logs', 'email_logs', 'customer_id', false),
                          ('sms_logs', 'sms_logs', 'customer_id', false),
                          ('push_logs', 'push_logs', 'customer_id', false),
                          ('push_tokens', 'customer_push_tokens', 'customer_id', false),
                          ('facts', 'customer_facts', 'customer_id', false),
                          ('scores', 'customer_scores', 'customer_id', false),
                          ('score_history', 'customer_score_history', 'customer_id', false),
                          ('risk_overrides', 'customer_risk_overrides', 'customer_id', true),
                          ('alerts', 'alerts', 'customer_id', true)) v(section, table_name, key_column, internal)
     where customer_data_sections.include_internal or not v.internal
  loop
    return query execute format('select %L::text, to_jsonb(x) from public.%I x where x.%I = $1', whole.section, whole.table_name, whole.key_column)
      using customer_data_sections.customer_id;
  end loop;
  -- the sections that join several tables, or leave out what is internal row by row
  return query
  with me as (select customer_data_sections.customer_id as id)
  select 'bookings', to_jsonb(b) || jsonb_build_object(
           'items', coalesce((select jsonb_agg(to_jsonb(i) || jsonb_build_object('equipment', e.name) order by e.name)
                                from public.booking_items i join public.equipment e on e.id = i.equipment_id where i.booking_id = b.id), '[]'::jsonb),
           'logistics_tasks', coalesce((select jsonb_agg(to_jsonb(t) order by t.scheduled_for) from public.logistics_tasks t where t.booking_id = b.id), '[]'::jsonb))
    from public.bookings b, me where b.customer_id = me.id
  union all
  select 'support_tickets', to_jsonb(t) || jsonb_build_object(
           'messages', coalesce((select jsonb_agg(to_jsonb(m) order by m.created_at, m.id) from public.support_messages m where m.ticket_id = t.id), '[]'::jsonb))
    from public.support_tickets t, me where t.customer_id = me.id
  union all
  select 'notes', to_jsonb(n) from public.customer_notes n, me
   where n.customer_id = me.id and (customer_data_sections.include_internal or n.visibility = 'shared')
  union all
  select 'tags', jsonb_build_object('tag_id', m.tag_id, 'name', t.name, 'assigned_at', m.assigned_at)
    from public.customer_tag_members m join public.customer_tags t on t.id = m.tag_id, me where m.customer_id = me.id
  union all
  select 'segments', jsonb_build_object('segment_id', s.id, 'name', s.name, 'description', s.description)
    from public.customer_segment_members sm join public.customer_segments s on s.id = sm.segment_id, me
   where sm.customer_id = me.id
  union all
  select 'messages', to_jsonb(r) - array['leased_by', 'lease_expires_at'] || jsonb_build_object(
           'campaign', jsonb_build_object('name', c.name, 'purpose', c.purpose, 'content', c.content),
           'events', coalesce((select jsonb_agg(jsonb_build_object('event', e.event, 'occurred_at', e.occurred_at, 'url', e.url, 'reason', e.reason)
                                                order by e.occurred_at, e.id)
                                 from public.message_events e where e.recipient_id = r.id), '[]'::jsonb))
    from public.campaign_recipients r join public.campaigns c on c.id = r.campaign_id, me where r.customer_id = me.id
  union all
  select 'timeline', to_jsonb(e) - array['seq', 'event_key'] from public.customer_timeline_events e, me
   where e.customer_id = me.id and (customer_data_sections.include_internal or e.event_type <> 'note' or e.metadata ->> 'visibility' = 'shared');
end
$$;

CREATE FUNCTION private.erase_person(customer_id uuid, reason text) RETURNS jsonb
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

CREATE FUNCTION private.scrub(value text, needles text[]) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $_$
declare
  n text;
  result text := scrub.value;
begin
  if result is null then
    return null;
  end if;
  foreach n in array scrub.needles loop
    continue when n is null or char_length(n) < 3;
    result := regexp_replace(result, regexp_replace(n, '([][(){}.*+?^$|\\])', '\\\1', 'g'), '[erased]', 'gi');
  end loop;
  return result;
end
$_$;

CREATE FUNCTION private.scrub_jsonb(value jsonb, needles text[]) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select case when scrub_jsonb.value is null then null
              else private.scrub(scrub_jsonb.value::text, scrub_jsonb.needles)::jsonb end
$$;

CREATE FUNCTION private.tg_auth_users__delete_crm_user() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  staff_roles text[];
begin
  if not exists (select 1 from public.users u where u.id = old.id) then
    return old;  -- an auth user without a CRM profile
  end if;
  select coalesce(array_agg(r.role order by r.role), '{}') into staff_roles
    from public.user_roles r where r.user_id = old.id;
  delete from public.users u where u.id = old.id;
  -- the deletion itself is audited; no personal data beyond the id
  perform private.write_audit('delete', 'users', old.id::text, null, null,
    jsonb_build_object('via', 'auth.users', 'db_user', session_user, 'staff_roles', to_jsonb(staff_roles)));
  return old;
end
$$;

COMMENT ON FUNCTION private.tg_auth_users__delete_crm_user() IS 'Before a user is deleted from auth.users (by the Auth server, as supabase_auth_admin): deletes the CRM''s users row as postgres, so the cascade and its triggers run with the CRM owner''s rights, and audits the deletion.';

CREATE FUNCTION private.tg_customer_consent__not_erased() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if new.enabled and exists (select 1 from public.users u where u.id = new.customer_id and u.erased_at is not null) then
    raise exception using errcode = 'PT409', message = 'consent: this person was erased; nobody may consent for them',
      detail = 'rule: erased people are never messaged';
  end if;
  return new;
end
$$;

CREATE FUNCTION private.tg_users__suppress_erased() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  -- most databases have erased nobody: a bulk import pays one cheap probe per row
  if new.erased_at is not null or not exists (select 1 from private.erased_addresses) then
    return null;
  end if;
  insert into public.suppressions (channel, address, reason, source, details)
  select e.channel, a.address, 'manual', 'erasure', jsonb_build_object('note', 'this address belonged to an erased person', 'erased_at', e.erased_at)
    from (values ('email', new.email), ('sms', new.phone)) a(channel, address)
    join private.erased_addresses e on e.channel = a.channel and e.address_hash = private.address_hash(a.address)
   where nullif(btrim(a.address), '') is not null
  on conflict on constraint suppressions_channel_address_key do nothing;
  return null;
end
$$;

CREATE FUNCTION public.erase_customer(customer_id uuid, reason text) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform private.require_role('admin');
  return private.erase_person(erase_customer.customer_id, erase_customer.reason);
end
$$;

CREATE FUNCTION public.export_customer_data(customer_id uuid) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  result jsonb;
  counts jsonb;
begin
  perform private.require_role('admin');
  perform private.authorize_customer_export(export_customer_data.customer_id);
  select coalesce(jsonb_object_agg(n, coalesce(s.items, '[]'::jsonb)), '{}'::jsonb),
         coalesce(jsonb_object_agg(n, coalesce(jsonb_array_length(s.items), 0)), '{}'::jsonb)
    into result, counts
    from unnest(private.customer_data_section_names()) n
    left join (select d.section, jsonb_agg(d.item) as items
                 from private.customer_data_sections(export_customer_data.customer_id, true) d group by d.section) s on s.section = n;
  perform private.audit_customer_export(export_customer_data.customer_id,
    jsonb_build_object('format', 'json', 'via', 'export_customer_data', 'counts', counts));
  return jsonb_build_object('customer_id', export_customer_data.customer_id, 'exported_at', now(), 'counts', counts,
                            'sections', result);
end
$$;

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _005_not_erased BEFORE INSERT OR UPDATE ON public.customer_consent FOR EACH ROW EXECUTE FUNCTION private.tg_customer_consent__not_erased();

CREATE TRIGGER _300_suppress_erased AFTER INSERT OR UPDATE OF email, phone ON public.users FOR EACH ROW EXECUTE FUNCTION private.tg_users__suppress_erased();

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant execute on function
  private.address_hash(text),
  private.audit_customer_export(uuid,jsonb),
  private.authorize_customer_export(uuid),
  private.customer_data_section_names(),
  private.customer_data_sections(uuid,boolean),
  private.erase_person(uuid,text),
  private.scrub_jsonb(jsonb,text[]),
  private.scrub(text,text[]),
  public.erase_customer(uuid,text),
  public.export_customer_data(uuid)
to authenticated, service_role;

create trigger _100_delete_crm_user before delete on auth.users
  for each row execute function private.tg_auth_users__delete_crm_user();

reset search_path;
reset check_function_bodies;
