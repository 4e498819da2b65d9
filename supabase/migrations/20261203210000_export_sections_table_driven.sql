-- The data export's sections that are the person's rows of one table, whole, are one table-driven
-- loop (section, table, key column, internal) instead of one union member each; the sections that
-- join several tables or filter rows stay written out. Same rows, same sections.
set check_function_bodies = false;

CREATE OR REPLACE FUNCTION private.customer_data_sections(customer_id uuid, include_internal boolean) RETURNS TABLE(section text, item jsonb)
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
