-- Timeline sources
--
-- How each source table (bookings, logistics, payments, support, insurance, e-mails,
-- notes, consent, tags) reaches the timeline: set-based builders, the triggers, drift detection
-- and backfill.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.backfill_customer_timeline() RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  seq_before bigint := coalesce((select max(e.seq) from public.customer_timeline_events e), 0);
  marked bigint := 0;
  total bigint;
  inserted jsonb;
  src record;
begin
  -- creation events
  for src in select * from private.tl_sources() s where s.created is not null loop
    execute format('select private.%I($1, array(select s from public.%I s where %s not private.tl_has_event($2, s.id, $1)))',
                   src.builder, src.source_table, case when src.linked_by is not null then format('s.%I is not null and', src.linked_by) else '' end)
      using src.created, src.source_table;
  end loop;

  -- current state, where the latest event does not carry it
  for src in select * from private.tl_sources() s where s.has_status loop
    execute format('select private.%I(''status'', array_agg(s order by s.id), array_agg(last.status order by s.id))
                      from public.%I s
                     cross join lateral (select (private.tl_latest_event($1, s.id)).metadata ->> ''status'' as status) last
                     where %s coalesce(s.status = any (private.tl_eventful_statuses($1)), true) and last.status is distinct from s.status',
                   src.builder, src.source_table, case when src.linked_by is not null then format('s.%I is not null and', src.linked_by) else '' end)
      using src.source_table;
  end loop;
  perform private.tl_record_consents(array_agg(c order by c.customer_id, c.channel), array_agg(last.enabled order by c.customer_id, c.channel))
     from public.customer_consent c
     cross join lateral (select (private.tl_latest_event('customer_consent', c.customer_id, c.channel || ':')).metadata ->> 'enabled' as enabled) last
    where coalesce(last.enabled::boolean, false) is distinct from c.enabled;
  perform private.tl_record_tags('assigned',
    array(select m from public.customer_tag_members m where not private.tl_tag_assignment_recorded(m)));

  -- tag assignments gone without their 'removed' event
  perform private.tl_record_tags('removed', array(select g from private.tl_tag_assignments_gone() g));

  -- events of deleted rows: the delete rule, applied late
  update public.customer_timeline_events e
     set source_deleted_at = now(),
         title = case e.source_table when 'customer_notes' then 'Note deleted'
                                     when 'support_messages' then 'Support message deleted' else e.title end,
         metadata = e.metadata - array['note', 'excerpt']::text[]
   where e.id in (select o.id from private.tl_orphan_events() o);
  get diagnostics marked = row_count;

  select coalesce(jsonb_object_agg(x.event_type, x.n), '{}'::jsonb) into inserted
    from (select e.event_type, count(*) as n from public.customer_timeline_events e
           where e.seq > seq_before group by e.event_type) x;
  total := (select count(*) from public.customer_timeline_events e where e.seq > seq_before);
  return jsonb_build_object('inserted', inserted, 'inserted_total', total, 'marked_deleted', marked);
end
$_$;

CREATE FUNCTION private.mark_timeline_source_deleted(source_table text, reference_ids uuid[], redacted_title text DEFAULT NULL::text, redacted_keys text[] DEFAULT '{}'::text[], key_prefixes text[] DEFAULT NULL::text[]) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  -- key_prefixes: the events of reference_ids[i] are those whose key starts with key_prefixes[i]
  update public.customer_timeline_events e
     set source_deleted_at = now(),
         title = coalesce(mark_timeline_source_deleted.redacted_title, e.title),
         metadata = e.metadata - mark_timeline_source_deleted.redacted_keys
   where e.source_table = mark_timeline_source_deleted.source_table
     and e.reference_id = any (mark_timeline_source_deleted.reference_ids)
     and (mark_timeline_source_deleted.key_prefixes is null
          or exists (select 1 from unnest(mark_timeline_source_deleted.reference_ids, mark_timeline_source_deleted.key_prefixes) r(id, prefix)
                      where r.id = e.reference_id and starts_with(e.event_key, r.prefix)))
     and e.source_deleted_at is null
$$;

CREATE FUNCTION private.tg_record_timeline() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
-- The timeline trigger of every source table. The source's builder, tg_argv[0]
-- (private.tl_record_*), holds its rules; the arguments say what a statement's rows are to it:
--   insert: tg_argv[1:] the builder's actions for the new rows, in order (none: it takes no action);
--   update: tg_argv[1:] pairs of a column whose change is an event and the builder's action for it
--           ('': none); the changed rows in key order, their old values as text;
--   delete: tg_argv[1] the builder's action for the deleted rows, given the deleting user; without
--           one, the rows' events are marked deleted, tg_argv[2:] the redacted title and keys. A row's
--           events are its key's first column's, their keys prefixed with the other columns'.
declare
  source text := format('%I.%I', tg_table_schema, tg_table_name);
  key_columns text[];
  key_list text;
  action text;
  i integer;
begin
  if tg_op <> 'INSERT' then
    select array_agg(a.attname order by k.ord), string_agg(format('%I', a.attname), ', ' order by k.ord)
      into key_columns, key_list
      from pg_catalog.pg_index x
     cross join unnest(x.indkey) with ordinality k(attnum, ord)
      join pg_catalog.pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
     where x.indrelid = tg_relid and x.indisprimary;
  end if;
  if tg_op = 'INSERT' then
    foreach action in array coalesce(nullif(tg_argv[1:], '{}'), array[null]) loop
      execute format('select private.%I(%s array(select n::%s from new_rows n))',
                     tg_argv[0], case when action is not null then '$1,' else '' end, source)
        using action;
    end loop;
  elsif tg_op = 'UPDATE' then
    for i in 1 .. tg_nargs - 1 by 2 loop
      execute format('select private.%1$I(%2$s array_agg(n::%3$s order by %4$s), array_agg(o.%5$I::text order by %4$s))
                        from new_rows n join old_rows o using (%4$s)
                       where n.%5$I is distinct from o.%5$I',
                     tg_argv[0], case when tg_argv[i + 1] <> '' then '$1,' else '' end, source, key_list, tg_argv[i])
        using tg_argv[i + 1];
    end loop;
  elsif tg_nargs > 1 and tg_argv[1] <> '' then
    execute format('select private.%I($1, array(select o::%s from old_rows o), auth.uid())', tg_argv[0], source)
      using tg_argv[1];
  else
    execute format('select private.mark_timeline_source_deleted($1, array_agg(o.%I), $2, $3, %s) from old_rows o',
                   key_columns[1],
                   case when cardinality(key_columns) > 1
                        then format('array_agg(concat_ws('':'', %s) || '':'')',
                                    (select string_agg(format('o.%I', c), ', ') from unnest(key_columns[2:]) c))
                        else 'null' end)
      using tg_table_name::text, tg_argv[2], coalesce(tg_argv[3:], '{}');
  end if;
  return null;
end
$_$;

CREATE FUNCTION private.timeline_drift() RETURNS TABLE(event_type text, missing bigint, extra bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select d.event_type, sum(d.missing)::bigint, sum(d.extra)::bigint
    from private.timeline_drift_by_source() d
   group by d.event_type
   order by d.event_type
$$;

CREATE FUNCTION private.timeline_drift_by_source() RETURNS TABLE(event_type text, source_table text, missing bigint, extra bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  src record;
  counts jsonb := '{}'::jsonb;
  n bigint;
begin
  -- missing: rows without the event they yield on creation, or whose latest event is not their status
  for src in select * from private.tl_sources() loop
    execute format('select count(*) from public.%I s where %s (%s or %s)', src.source_table,
                   case when src.linked_by is not null then format('s.%I is not null and', src.linked_by) else '' end,
                   case when src.created is not null then 'not private.tl_has_event($1, s.id, $2)' else 'false' end,
                   case when src.has_status then 'coalesce(s.status = any (private.tl_eventful_statuses($1)), true)
                     and (private.tl_latest_event($1, s.id)).metadata ->> ''status'' is distinct from s.status' else 'false' end)
      into n using src.source_table, src.created;
    counts := counts || jsonb_build_object(src.source_table, n);
  end loop;
  counts := counts || jsonb_build_object(
    -- an 'off' row with no events is fine: no row already meant no consent
    'customer_consent', (select count(*) from public.customer_consent c
                          where coalesce(((private.tl_latest_event('customer_consent', c.customer_id, c.channel || ':')).metadata ->> 'enabled')::boolean, false)
                                is distinct from c.enabled),
    'customer_tag_members', (select count(*) from public.customer_tag_members m where not private.tl_tag_assignment_recorded(m)));

  return query
  with orphans as (
    select o.source_table, count(*) as n from private.tl_orphan_events() o group by 1
    union all
    select 'customer_tag_members', count(*) from private.tl_tag_assignments_gone()
  )
  select s.event_type, s.source_table, (counts ->> s.source_table)::bigint,
         coalesce((select sum(o.n) from orphans o where o.source_table = s.source_table), 0)::bigint
    from (select t.event_type, t.source_table, t.ord from private.tl_sources() with ordinality t(source_table, event_type, builder, created, has_status, linked_by, ord)
          union all values ('consent', 'customer_consent', 100), ('tag', 'customer_tag_members', 101)) s
   order by s.ord;
end
$_$;

CREATE FUNCTION private.tl_has_event(source_table text, reference_id uuid, event_key text) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select exists (select 1 from public.customer_timeline_events e
                  where e.source_table = tl_has_event.source_table and e.reference_id = tl_has_event.reference_id
                    and e.event_key = tl_has_event.event_key)
$$;

CREATE FUNCTION private.tl_latest_event(source_table text, reference_id uuid, key_prefix text DEFAULT NULL::text) RETURNS public.customer_timeline_events
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select e.* from public.customer_timeline_events e
   where e.source_table = tl_latest_event.source_table and e.reference_id = tl_latest_event.reference_id
     and (tl_latest_event.key_prefix is null or starts_with(e.event_key, tl_latest_event.key_prefix))
   order by e.seq desc
   limit 1
$$;

CREATE FUNCTION private.tl_orphan_events() RETURNS SETOF public.customer_timeline_events
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  -- events whose source row is gone while the delete rule did not mark them (tag assignments: see
  -- private.tl_tag_assignments_gone)
  select e.* from public.customer_timeline_events e
   where e.source_deleted_at is null
     and case e.source_table
           when 'bookings' then not exists (select 1 from public.bookings s where s.id = e.reference_id)
           when 'logistics_tasks' then not exists (select 1 from public.logistics_tasks s where s.id = e.reference_id)
           when 'payments' then not exists (select 1 from public.payments s where s.id = e.reference_id)
           when 'manual_payments' then not exists (select 1 from public.manual_payments s where s.id = e.reference_id)
           when 'support_tickets' then not exists (select 1 from public.support_tickets s where s.id = e.reference_id)
           when 'support_messages' then not exists (select 1 from public.support_messages s where s.id = e.reference_id)
           when 'insurance_documents' then not exists (select 1 from public.insurance_documents s where s.id = e.reference_id)
           when 'email_logs' then not exists (select 1 from public.email_logs s where s.id = e.reference_id)
           when 'customer_notes' then not exists (select 1 from public.customer_notes s where s.id = e.reference_id)
           when 'customer_consent' then not exists (
             select 1 from public.customer_consent s
              where s.customer_id = e.reference_id and s.channel = e.metadata ->> 'channel')
           else false
         end
$$;

CREATE FUNCTION private.tl_record_bookings(action text, rows public.bookings[], from_statuses text[] DEFAULT NULL::text[]) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  select private.record_timeline_events(array_agg(row(
    b.customer_id, 'booking', 'bookings', b.id,
    case when tl_record_bookings.action = 'created' then 'created' else 'status:' || b.status end,
    case when tl_record_bookings.action = 'created' then b.created_at else b.updated_at end,
    case when tl_record_bookings.action = 'created'
           then 'Booking created' || case when b.status <> 'pending' then ' (' || b.status || ')' else '' end
         else case b.status when 'confirmed' then 'Booking confirmed' when 'active' then 'Booking started'
                            when 'completed' then 'Booking completed' when 'cancelled' then 'Booking cancelled'
                            else 'Booking back to ' || b.status end
    end || ': ' || concat_ws(', ', case when i.items = 1 then '1 item' when i.items > 1 then i.items || ' items' end,
                             case
                               when b.start_date = b.end_date then to_char(b.start_date, 'FMDD Mon')
                               when date_trunc('month', b.start_date) = date_trunc('month', b.end_date)
                                 then to_char(b.start_date, 'FMDD') || '–' || to_char(b.end_date, 'FMDD Mon')
                               when extract(year from b.start_date) = extract(year from b.end_date)
                                 then to_char(b.start_date, 'FMDD Mon') || '–' || to_char(b.end_date, 'FMDD Mon')
                               else to_char(b.start_date, 'FMDD Mon YYYY') || '–' || to_char(b.end_date, 'FMDD Mon YYYY')
                             end),
    jsonb_build_object(
      'action', case when tl_record_bookings.action = 'created' then 'created'
                     when b.status = 'cancelled' then 'cancelled' else 'status_changed' end,
      'status', b.status, 'from', tl_record_bookings.from_statuses[b.ordinality],
      'to', case when tl_record_bookings.action = 'status' then b.status end,
      'start_date', b.start_date, 'end_date', b.end_date, 'total_amount', b.total_amount, 'items', i.items)
  )::private.timeline_event order by b.ordinality), tl_record_bookings.action <> 'created', tl_record_bookings.action <> 'created')
  from unnest(tl_record_bookings.rows) with ordinality b
  cross join lateral (select coalesce(sum(bi.quantity), 0)::integer as items
                        from public.booking_items bi where bi.booking_id = b.id) i
$$;

CREATE FUNCTION private.tl_record_consents(rows public.customer_consent[], from_enabled text[] DEFAULT NULL::text[]) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  select private.record_timeline_events(array_agg(row(
    c.customer_id, 'consent', 'customer_consent', c.customer_id,
    c.channel || ':' || case when c.enabled then 'granted' else 'revoked' end, c.updated_at,
    case c.channel when 'sms' then 'SMS' else initcap(c.channel) end || ' consent '
      || case when c.enabled then 'granted' else 'revoked' end || ' (' || replace(c.source, '_', '-') || ')',
    jsonb_build_object('action', case when c.enabled then 'granted' else 'revoked' end, 'channel', c.channel,
                       'enabled', c.enabled, 'from', tl_record_consents.from_enabled[c.ordinality]::boolean, 'source', c.source,
                       'note', c.note, 'changed_by', c.updated_by)
  )::private.timeline_event order by c.ordinality), true, true)
  from unnest(tl_record_consents.rows) with ordinality c
  -- an 'off' row with nothing before it is no event: no row already meant no consent
  where c.enabled or tl_record_consents.from_enabled[c.ordinality] is not null
$$;

CREATE FUNCTION private.tl_record_emails(action text, rows public.email_logs[], from_statuses text[] DEFAULT NULL::text[]) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  select private.record_timeline_events(array_agg(row(
    l.customer_id, 'campaign', 'email_logs', l.id,
    case when tl_record_emails.action = 'sent' then 'sent' else 'status:' || l.status end,
    case when tl_record_emails.action = 'sent' then l.created_at else l.updated_at end,
    case when l.campaign_id is not null then 'Campaign email ' else 'Email ' end
      || replace(l.status, '_', ' ') || ': ' || coalesce(nullif(btrim(l.subject), ''), '(no subject)'),
    jsonb_build_object(
      'action', case when tl_record_emails.action = 'sent' then 'sent' else 'status_changed' end,
      'kind', case when l.campaign_id is not null then 'campaign' else 'transactional' end,
      'status', l.status, 'from', tl_record_emails.from_statuses[l.ordinality],
      'to', case when tl_record_emails.action = 'status' then l.status end,
      'subject', l.subject, 'to_email', l.to_email, 'campaign_id', l.campaign_id,
      'provider_message_id', l.provider_message_id)
  )::private.timeline_event order by l.ordinality), tl_record_emails.action <> 'sent', tl_record_emails.action <> 'sent')
  from unnest(tl_record_emails.rows) with ordinality l
  where l.customer_id is not null
$$;

CREATE FUNCTION private.tl_record_insurance(action text, rows public.insurance_documents[], from_statuses text[] DEFAULT NULL::text[]) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  select private.record_timeline_events(array_agg(row(
    d.customer_id, 'insurance', 'insurance_documents', d.id,
    case when tl_record_insurance.action = 'uploaded' then 'uploaded' else 'status:' || d.status end,
    case when tl_record_insurance.action = 'uploaded' then d.created_at else d.updated_at end,
    'Insurance document ' || case when tl_record_insurance.action = 'uploaded' then 'uploaded'
                                  when d.status = 'pending' then 'back to pending' else d.status end
      || ': ' || replace(d.kind, '_', ' ')
      || coalesce(', expires ' || to_char(d.expires_at, 'FMDD Mon YYYY'), ''),
    jsonb_build_object(
      'action', case when tl_record_insurance.action = 'uploaded' then 'uploaded' else 'status_changed' end,
      'status', d.status, 'from', tl_record_insurance.from_statuses[d.ordinality],
      'to', case when tl_record_insurance.action = 'status' then d.status end,
      'kind', d.kind, 'expires_at', d.expires_at, 'booking_id', d.booking_id)
  )::private.timeline_event order by d.ordinality), tl_record_insurance.action <> 'uploaded', tl_record_insurance.action <> 'uploaded')
  from unnest(tl_record_insurance.rows) with ordinality d
$$;

CREATE FUNCTION private.tl_record_logistics(action text, rows public.logistics_tasks[], from_statuses text[] DEFAULT NULL::text[]) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  -- a task created already done or failed yields 'scheduled' and then its outcome ('initial_status');
  -- scheduled, done and failed yield an event, in_transit does not (tl_eventful_statuses)
  select private.record_timeline_events(array_agg(row(
    bk.customer_id, 'logistics', 'logistics_tasks', t.id,
    case when tl_record_logistics.action = 'scheduled' then 'scheduled' else 'status:' || t.status end,
    case
      when tl_record_logistics.action = 'scheduled' then t.created_at
      when tl_record_logistics.action = 'initial_status' then
        case when t.status = 'done' then coalesce(t.completed_at, t.created_at) else t.created_at end
      else case when t.status = 'done' then coalesce(t.completed_at, t.updated_at) else t.updated_at end
    end,
    initcap(t.kind) || case
      when tl_record_logistics.action = 'scheduled' then ' scheduled for ' || to_char(t.scheduled_for at time zone 'UTC', 'FMDD Mon, HH24:MI')
      when t.status = 'done' then ' done' || coalesce(' on ' || to_char(t.completed_at at time zone 'UTC', 'FMDD Mon, HH24:MI'), '')
      when t.status = 'failed' then ' failed'
      when t.status = 'scheduled' then ' rescheduled for ' || to_char(t.scheduled_for at time zone 'UTC', 'FMDD Mon, HH24:MI')
      else ' ' || replace(t.status, '_', ' ') end,
    jsonb_build_object(
      'action', case when tl_record_logistics.action = 'scheduled' then 'scheduled'
                     when t.status = 'scheduled' then 'rescheduled' else t.status end,
      'kind', t.kind, 'booking_id', t.booking_id,
      'status', case when tl_record_logistics.action = 'scheduled' and t.status in ('done', 'failed') then 'scheduled' else t.status end,
      'from', coalesce(tl_record_logistics.from_statuses[t.ordinality],
                       case when tl_record_logistics.action = 'initial_status' then 'scheduled' end),
      'to', case when tl_record_logistics.action <> 'scheduled' then t.status end,
      'scheduled_for', t.scheduled_for, 'completed_at', t.completed_at)
  )::private.timeline_event order by t.ordinality), tl_record_logistics.action <> 'scheduled', tl_record_logistics.action = 'status')
  from unnest(tl_record_logistics.rows) with ordinality t
  join public.bookings bk on bk.id = t.booking_id
  where case tl_record_logistics.action when 'scheduled' then true
                                        when 'initial_status' then t.status in ('done', 'failed')
                                        else t.status = any (private.tl_eventful_statuses('logistics_tasks')) end
$$;

CREATE FUNCTION private.tl_record_manual_payments(action text, rows public.manual_payments[]) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  select private.record_timeline_events(array_agg(row(
    m.customer_id, 'payment', 'manual_payments', m.id, tl_record_manual_payments.action, m.received_at,
    'Manual payment of ' || to_char(m.amount, 'FM999999999990.00') || ' recorded (' || replace(m.method, '_', ' ') || ')',
    jsonb_build_object('action', tl_record_manual_payments.action, 'amount', m.amount, 'method', m.method, 'booking_id', m.booking_id,
                       'recorded_by', m.recorded_by, 'received_at', m.received_at)
  )::private.timeline_event order by m.ordinality))
  from unnest(tl_record_manual_payments.rows) with ordinality m
$$;

CREATE FUNCTION private.tl_record_notes(action text, rows public.customer_notes[]) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  select private.record_timeline_events(array_agg(row(
    n.customer_id, 'note', 'customer_notes', n.id, tl_record_notes.action, n.created_at,
    case n.type when 'warning' then 'Warning: ' when 'action' then 'Action: ' else '' end
      || case when char_length(n.note) > 200 then left(n.note, 199) || '…' else n.note end,
    jsonb_build_object('action', tl_record_notes.action, 'type', n.type, 'visibility', n.visibility, 'admin_id', n.admin_id, 'note', n.note)
  )::private.timeline_event order by n.ordinality))
  from unnest(tl_record_notes.rows) with ordinality n
$$;

CREATE FUNCTION private.tl_record_payments(action text, rows public.payments[], from_statuses text[] DEFAULT NULL::text[]) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  -- a new payment has no events yet ('initial_status'): only a change can repeat a key; succeeded,
  -- failed and refunded yield an event, pending does not
  select private.record_timeline_events(array_agg(row(
    p.customer_id, 'payment', 'payments', p.id, 'status:' || p.status,
    case when tl_record_payments.action = 'initial_status' then p.created_at else p.updated_at end,
    'Payment of ' || to_char(p.amount, 'FM999999999990.00') || coalesce(' ' || p.currency, '') || ' ' || p.status,
    jsonb_build_object('action', p.status, 'status', p.status, 'from', tl_record_payments.from_statuses[p.ordinality],
                       'to', p.status, 'amount', p.amount, 'currency', p.currency, 'booking_id', p.booking_id)
  )::private.timeline_event order by p.ordinality), true, tl_record_payments.action <> 'initial_status')
  from unnest(tl_record_payments.rows) with ordinality p
  where p.status = any (private.tl_eventful_statuses('payments'))
$$;

CREATE FUNCTION private.tl_record_support_messages(action text, rows public.support_messages[]) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  select private.record_timeline_events(array_agg(row(
    t.customer_id, 'support', 'support_messages', m.id, tl_record_support_messages.action, m.created_at,
    case when m.sender_id = t.customer_id then 'Customer wrote: ' else 'Staff replied: ' end
      || case when char_length(x.body) > 120 then left(x.body, 119) || '…' else x.body end,
    jsonb_build_object('action', tl_record_support_messages.action, 'ticket_id', m.ticket_id, 'ticket_subject', t.subject,
                       'sender_id', m.sender_id, 'from_customer', m.sender_id is not distinct from t.customer_id,
                       'excerpt', case when char_length(m.body) > 500 then left(m.body, 499) || '…' else m.body end)
  )::private.timeline_event order by m.ordinality))
  from unnest(tl_record_support_messages.rows) with ordinality m
  join public.support_tickets t on t.id = m.ticket_id
  cross join lateral (select regexp_replace(btrim(m.body), '\s+', ' ', 'g') as body) x
$$;

CREATE FUNCTION private.tl_record_tags(action text, rows public.customer_tag_members[], removed_by uuid DEFAULT NULL::uuid) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  select private.record_timeline_events(array_agg(row(
    m.customer_id, 'tag', 'customer_tag_members', m.tag_id, tl_record_tags.action || ':' || m.customer_id,
    case when tl_record_tags.action = 'assigned' then m.assigned_at else now() end,
    'Tag ' || case when tl_record_tags.action = 'assigned' then 'added' else 'removed' end || ': ' || coalesce(n.name, '(deleted tag)'),
    jsonb_build_object('action', tl_record_tags.action, 'tag_id', m.tag_id, 'tag_name', n.name, 'color', n.color,
                       case when tl_record_tags.action = 'assigned' then 'assigned_by' else 'removed_by' end,
                       case when tl_record_tags.action = 'assigned' then m.assigned_by else tl_record_tags.removed_by end)
  )::private.timeline_event order by m.ordinality), true, true)
  from unnest(tl_record_tags.rows) with ordinality m
  cross join lateral (
    -- a tag deleted with its assignments is named by its last event
    select coalesce(t.name, prev.metadata ->> 'tag_name') as name, coalesce(t.color, prev.metadata ->> 'color') as color
      from (select 1) one
      left join public.customer_tags t on t.id = m.tag_id
      left join lateral (
        select e.metadata from public.customer_timeline_events e
         where e.source_table = 'customer_tag_members' and e.reference_id = m.tag_id and e.customer_id = m.customer_id
         order by e.seq desc limit 1) prev on t.id is null
  ) n
  -- erasing the customer cascades to their assignments; their timeline goes with them
  where exists (select 1 from public.users u where u.id = m.customer_id)
$$;

CREATE FUNCTION private.tl_record_tickets(action text, rows public.support_tickets[], from_statuses text[] DEFAULT NULL::text[]) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  select private.record_timeline_events(array_agg(row(
    t.customer_id, 'support', 'support_tickets', t.id,
    case when tl_record_tickets.action = 'opened' then 'opened' else 'status:' || t.status end,
    case when tl_record_tickets.action = 'opened' then t.created_at else t.updated_at end,
    'Support ticket ' || case
      when tl_record_tickets.action = 'opened'
        then 'opened' || case when t.priority in ('high', 'urgent') then ' (' || t.priority || ')' else '' end
      when t.status = 'open' then 'reopened'
      when t.status = 'pending' then 'waiting on the customer'
      else t.status end || ': ' || t.subject,
    jsonb_build_object(
      'action', case when tl_record_tickets.action = 'opened' then 'opened' else 'status_changed' end,
      'status', t.status, 'from', tl_record_tickets.from_statuses[t.ordinality],
      'to', case when tl_record_tickets.action = 'status' then t.status end,
      'subject', t.subject, 'priority', t.priority)
  )::private.timeline_event order by t.ordinality), tl_record_tickets.action <> 'opened', tl_record_tickets.action <> 'opened')
  from unnest(tl_record_tickets.rows) with ordinality t
$$;

CREATE FUNCTION private.tl_sources() RETURNS TABLE(source_table text, event_type text, builder text, created text, has_status boolean, linked_by text)
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  -- The sources whose events are keyed by their row's id, for the backfill and the drift check:
  -- their builder, the action (and key) of the event a new row yields, whether a change of status
  -- is an event, and the column without which a row is not on any timeline. Consent and tag
  -- assignments are keyed otherwise; the triggers name their builder and actions themselves.
  values ('bookings', 'booking', 'tl_record_bookings', 'created', true, null),
         ('logistics_tasks', 'logistics', 'tl_record_logistics', 'scheduled', true, null),
         ('payments', 'payment', 'tl_record_payments', null, true, null),
         ('manual_payments', 'payment', 'tl_record_manual_payments', 'recorded', false, null),
         ('support_tickets', 'support', 'tl_record_tickets', 'opened', true, null),
         ('support_messages', 'support', 'tl_record_support_messages', 'message', false, null),
         ('insurance_documents', 'insurance', 'tl_record_insurance', 'uploaded', true, null),
         ('email_logs', 'campaign', 'tl_record_emails', 'sent', true, 'customer_id'),
         ('customer_notes', 'note', 'tl_record_notes', 'note', false, null)
$$;

CREATE FUNCTION private.tl_eventful_statuses(source_table text) RETURNS text[]
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  -- the statuses of a source that yield an event (null: every status): a pending payment and a task
  -- in transit do not. Called with a constant, it is folded once per statement, not run per row.
  select case tl_eventful_statuses.source_table
           when 'payments' then array['succeeded', 'failed', 'refunded']
           when 'logistics_tasks' then array['scheduled', 'done', 'failed']
         end
$$;

CREATE FUNCTION private.tl_stamp(at timestamp with time zone) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select to_char(tl_stamp.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE FUNCTION private.tl_tag_assignments_gone() RETURNS SETOF public.customer_tag_members
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  -- tag assignments whose latest event says 'assigned' while the row is gone (when, by whom: unknown)
  select row(last.customer_id, last.reference_id, null, null)::public.customer_tag_members
    from (select distinct on (e.reference_id, e.customer_id) e.reference_id, e.customer_id, e.metadata ->> 'action' as action
            from public.customer_timeline_events e
           where e.source_table = 'customer_tag_members'
           order by e.reference_id, e.customer_id, e.seq desc) last
   where last.action = 'assigned'
     and not exists (select 1 from public.customer_tag_members m where m.tag_id = last.reference_id and m.customer_id = last.customer_id)
$$;

CREATE FUNCTION private.tl_tag_assignment_recorded(m public.customer_tag_members) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select coalesce(starts_with(a.event_key, 'assigned:' || m.customer_id || '@' || private.tl_stamp(m.assigned_at))
                  and (r.seq is null or a.seq > r.seq), false)
    from (select 1) one
    left join lateral private.tl_latest_event('customer_tag_members', m.tag_id, 'assigned:' || m.customer_id || '@') a on true
    left join lateral private.tl_latest_event('customer_tag_members', m.tag_id, 'removed:' || m.customer_id || '@') r on true
$$;

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.bookings REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_bookings');

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.customer_consent REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_consents');

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.customer_notes REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_notes', '', 'Note deleted', 'note');

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.customer_tag_members REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_tags', 'removed');

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.email_logs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_emails');

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.insurance_documents REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_insurance');

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.logistics_tasks REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_logistics');

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.manual_payments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_manual_payments');

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.payments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_payments');

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.support_messages REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_support_messages', '', 'Support message deleted', 'excerpt');

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.support_tickets REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_tickets');

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.bookings REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_bookings', 'created');

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.customer_consent REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_consents');

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.customer_notes REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_notes', 'note');

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.customer_tag_members REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_tags', 'assigned');

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.email_logs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_emails', 'sent');

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.insurance_documents REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_insurance', 'uploaded');

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.logistics_tasks REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_logistics', 'scheduled', 'initial_status');

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.manual_payments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_manual_payments', 'recorded');

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.payments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_payments', 'initial_status');

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.support_messages REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_support_messages', 'message');

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.support_tickets REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_tickets', 'opened');

CREATE TRIGGER _100_timeline_update AFTER UPDATE ON public.bookings REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_bookings', 'status', 'status');

CREATE TRIGGER _100_timeline_update AFTER UPDATE ON public.customer_consent REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_consents', 'enabled', '');

CREATE TRIGGER _100_timeline_update AFTER UPDATE ON public.email_logs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_emails', 'customer_id', 'sent', 'status', 'status');

CREATE TRIGGER _100_timeline_update AFTER UPDATE ON public.insurance_documents REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_insurance', 'status', 'status');

CREATE TRIGGER _100_timeline_update AFTER UPDATE ON public.logistics_tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_logistics', 'status', 'status');

CREATE TRIGGER _100_timeline_update AFTER UPDATE ON public.payments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_payments', 'status', 'status');

CREATE TRIGGER _100_timeline_update AFTER UPDATE ON public.support_tickets REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline('tl_record_tickets', 'status', 'status');

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant execute on function
  private.backfill_customer_timeline(),
  private.timeline_drift_by_source(),
  private.timeline_drift()
to service_role;
grant execute on function private.tl_stamp(timestamp with time zone) to authenticated, service_role;

reset search_path;
reset check_function_bodies;
