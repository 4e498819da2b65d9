-- Timeline write path, set-based: a source statement writes all its events in one insert.
-- private.record_timeline_events is the set form of private.record_timeline_event (same
-- identity, same `on conflict do nothing`, same skip of events without a customer); the
-- builders hand it one array per statement instead of calling the single-event writer per row.
-- record_timeline_event stays the API for one event (messaging, segments, scores).
--
-- The builders also stop calling the formatting helpers (tl_stamp, tl_days, tl_money, tl_when,
-- tl_excerpt, tl_change_key) per row: a function with `set search_path` is never inlined, and
-- each call cost more than the event's own insert. Their expressions are written out here,
-- identical to the helpers (dropped by 0480: nothing else called them). The same goes
-- for the status predicates in the payments and logistics triggers.
-- Benchmark and figures: docs/timeline.md.

create type private.timeline_event as (
  customer_id uuid,
  event_type text,
  source_table text,
  reference_id uuid,
  event_key text,
  occurred_at timestamptz,
  title text,
  metadata jsonb
);
comment on type private.timeline_event is
  'One event for private.record_timeline_events: the arguments of private.record_timeline_event as a row.';

create or replace function private.record_timeline_events(events private.timeline_event[])
returns void
language sql
volatile
security definer
set search_path = ''
as $$
  insert into public.customer_timeline_events (customer_id, event_type, source_table, reference_id, event_key, occurred_at, title, metadata)
  select e.customer_id, e.event_type, e.source_table, e.reference_id, e.event_key, e.occurred_at, e.title, coalesce(e.metadata, '{}'::jsonb)
    from unnest(record_timeline_events.events) e
   where e.customer_id is not null
  on conflict on constraint customer_timeline_events_identity_key do nothing
$$;
comment on function private.record_timeline_events(private.timeline_event[]) is
  'Writes many events in one insert; idempotent on (source_table, reference_id, event_key), like record_timeline_event.';

-- ---------------------------------------------------------------------------------------------
-- Builders. A change's key repeats ('#<n>') as tl_change_key did: counted per row in a lateral
-- subquery, which is skipped (one-time filter) for creation events.
-- ---------------------------------------------------------------------------------------------

create or replace function private.tl_record_bookings(action text, rows public.bookings[], from_statuses text[] default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_events(array_agg(row(
    b.customer_id, 'booking', 'bookings', b.id, k.key || r.suffix,
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
  )::private.timeline_event order by b.ordinality))
  from unnest(tl_record_bookings.rows) with ordinality b
  cross join lateral (select coalesce(sum(bi.quantity), 0)::integer as items
                        from public.booking_items bi where bi.booking_id = b.id) i
  cross join lateral (select case when tl_record_bookings.action = 'created' then 'created'
    else 'status:' || b.status || '@' || to_char(b.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') end as key) k
  cross join lateral (select case when count(*) = 0 then '' else '#' || (count(*) + 1) end as suffix
                        from public.customer_timeline_events e
                       where tl_record_bookings.action <> 'created' and e.source_table = 'bookings' and e.reference_id = b.id
                         and (e.event_key = k.key or starts_with(e.event_key, k.key || '#'))) r
$$;

create or replace function private.tl_record_logistics(action text, rows public.logistics_tasks[], from_statuses text[] default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_events(array_agg(row(
    bk.customer_id, 'logistics', 'logistics_tasks', t.id, k.key || r.suffix,
    a.at,
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
      -- a task created already done or failed yields 'scheduled' and then its outcome
      'status', case when tl_record_logistics.action = 'scheduled' and t.status in ('done', 'failed') then 'scheduled' else t.status end,
      'from', tl_record_logistics.from_statuses[t.ordinality],
      'to', case when tl_record_logistics.action <> 'scheduled' then t.status end,
      'scheduled_for', t.scheduled_for, 'completed_at', t.completed_at)
  )::private.timeline_event order by t.ordinality))
  from unnest(tl_record_logistics.rows) with ordinality t
  join public.bookings bk on bk.id = t.booking_id
  cross join lateral (select case
    when tl_record_logistics.action = 'scheduled' then t.created_at
    when tl_record_logistics.action = 'initial_status' then
      case when t.status = 'done' then coalesce(t.completed_at, t.created_at) else t.created_at end
    else case when t.status = 'done' then coalesce(t.completed_at, t.updated_at) else t.updated_at end
  end as at) a
  cross join lateral (select case when tl_record_logistics.action = 'scheduled' then 'scheduled'
    else 'status:' || t.status || '@' || to_char(a.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') end as key) k
  cross join lateral (select case when count(*) = 0 then '' else '#' || (count(*) + 1) end as suffix
                        from public.customer_timeline_events e
                       where tl_record_logistics.action = 'status' and e.source_table = 'logistics_tasks' and e.reference_id = t.id
                         and (e.event_key = k.key or starts_with(e.event_key, k.key || '#'))) r
$$;

create or replace function private.tl_record_payments(action text, rows public.payments[], from_statuses text[] default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_events(array_agg(row(
    p.customer_id, 'payment', 'payments', p.id, k.key || r.suffix,
    a.at,
    'Payment of ' || to_char(p.amount, 'FM999999999990.00') || coalesce(' ' || p.currency, '') || ' ' || p.status,
    jsonb_build_object('action', p.status, 'status', p.status, 'from', tl_record_payments.from_statuses[p.ordinality],
                       'to', p.status, 'amount', p.amount, 'currency', p.currency, 'booking_id', p.booking_id)
  )::private.timeline_event order by p.ordinality))
  from unnest(tl_record_payments.rows) with ordinality p
  cross join lateral (select case when tl_record_payments.action = 'initial_status' then p.created_at else p.updated_at end as at) a
  cross join lateral (select 'status:' || p.status || '@' || to_char(a.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as key) k
  -- a new payment has no events yet: only a change can repeat a key
  cross join lateral (select case when count(*) = 0 then '' else '#' || (count(*) + 1) end as suffix
                        from public.customer_timeline_events e
                       where tl_record_payments.action <> 'initial_status' and e.source_table = 'payments' and e.reference_id = p.id
                         and (e.event_key = k.key or starts_with(e.event_key, k.key || '#'))) r
$$;

create or replace function private.tl_record_manual_payments(rows public.manual_payments[])
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_events(array_agg(row(
    m.customer_id, 'payment', 'manual_payments', m.id, 'recorded', m.received_at,
    'Manual payment of ' || to_char(m.amount, 'FM999999999990.00') || ' recorded (' || replace(m.method, '_', ' ') || ')',
    jsonb_build_object('action', 'recorded', 'amount', m.amount, 'method', m.method, 'booking_id', m.booking_id,
                       'recorded_by', m.recorded_by, 'received_at', m.received_at)
  )::private.timeline_event order by m.ordinality))
  from unnest(tl_record_manual_payments.rows) with ordinality m
$$;

create or replace function private.tl_record_tickets(action text, rows public.support_tickets[], from_statuses text[] default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_events(array_agg(row(
    t.customer_id, 'support', 'support_tickets', t.id, k.key || r.suffix,
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
  )::private.timeline_event order by t.ordinality))
  from unnest(tl_record_tickets.rows) with ordinality t
  cross join lateral (select case when tl_record_tickets.action = 'opened' then 'opened'
    else 'status:' || t.status || '@' || to_char(t.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') end as key) k
  cross join lateral (select case when count(*) = 0 then '' else '#' || (count(*) + 1) end as suffix
                        from public.customer_timeline_events e
                       where tl_record_tickets.action <> 'opened' and e.source_table = 'support_tickets' and e.reference_id = t.id
                         and (e.event_key = k.key or starts_with(e.event_key, k.key || '#'))) r
$$;

create or replace function private.tl_record_support_messages(rows public.support_messages[])
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_events(array_agg(row(
    t.customer_id, 'support', 'support_messages', m.id, 'message', m.created_at,
    case when m.sender_id = t.customer_id then 'Customer wrote: ' else 'Staff replied: ' end
      || case when char_length(x.body) > 120 then left(x.body, 119) || '…' else x.body end,
    jsonb_build_object('action', 'message', 'ticket_id', m.ticket_id, 'ticket_subject', t.subject,
                       'sender_id', m.sender_id, 'from_customer', m.sender_id is not distinct from t.customer_id,
                       'excerpt', case when char_length(m.body) > 500 then left(m.body, 499) || '…' else m.body end)
  )::private.timeline_event order by m.ordinality))
  from unnest(tl_record_support_messages.rows) with ordinality m
  join public.support_tickets t on t.id = m.ticket_id
  cross join lateral (select regexp_replace(btrim(m.body), '\s+', ' ', 'g') as body) x
$$;

create or replace function private.tl_record_insurance(action text, rows public.insurance_documents[], from_statuses text[] default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_events(array_agg(row(
    d.customer_id, 'insurance', 'insurance_documents', d.id, k.key || r.suffix,
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
  )::private.timeline_event order by d.ordinality))
  from unnest(tl_record_insurance.rows) with ordinality d
  cross join lateral (select case when tl_record_insurance.action = 'uploaded' then 'uploaded'
    else 'status:' || d.status || '@' || to_char(d.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') end as key) k
  cross join lateral (select case when count(*) = 0 then '' else '#' || (count(*) + 1) end as suffix
                        from public.customer_timeline_events e
                       where tl_record_insurance.action <> 'uploaded' and e.source_table = 'insurance_documents' and e.reference_id = d.id
                         and (e.event_key = k.key or starts_with(e.event_key, k.key || '#'))) r
$$;

create or replace function private.tl_record_emails(action text, rows public.email_logs[], from_statuses text[] default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_events(array_agg(row(
    l.customer_id, 'campaign', 'email_logs', l.id, k.key || r.suffix,
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
  )::private.timeline_event order by l.ordinality))
  from unnest(tl_record_emails.rows) with ordinality l
  cross join lateral (select case when tl_record_emails.action = 'sent' then 'sent'
    else 'status:' || l.status || '@' || to_char(l.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') end as key) k
  cross join lateral (select case when count(*) = 0 then '' else '#' || (count(*) + 1) end as suffix
                        from public.customer_timeline_events e
                       where tl_record_emails.action <> 'sent' and e.source_table = 'email_logs' and e.reference_id = l.id
                         and (e.event_key = k.key or starts_with(e.event_key, k.key || '#'))) r
  where l.customer_id is not null
$$;

create or replace function private.tl_record_notes(rows public.customer_notes[])
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_events(array_agg(row(
    n.customer_id, 'note', 'customer_notes', n.id, 'note', n.created_at,
    case n.type when 'warning' then 'Warning: ' when 'action' then 'Action: ' else '' end
      || case when char_length(n.note) > 200 then left(n.note, 199) || '…' else n.note end,
    jsonb_build_object('action', 'note', 'type', n.type, 'visibility', n.visibility, 'admin_id', n.admin_id, 'note', n.note)
  )::private.timeline_event order by n.ordinality))
  from unnest(tl_record_notes.rows) with ordinality n
$$;

create or replace function private.tl_record_consents(rows public.customer_consent[], from_enabled boolean[] default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_events(array_agg(row(
    c.customer_id, 'consent', 'customer_consent', c.customer_id, k.key || r.suffix,
    c.updated_at,
    case c.channel when 'sms' then 'SMS' else initcap(c.channel) end || ' consent '
      || case when c.enabled then 'granted' else 'revoked' end || ' (' || replace(c.source, '_', '-') || ')',
    jsonb_build_object('action', case when c.enabled then 'granted' else 'revoked' end, 'channel', c.channel,
                       'enabled', c.enabled, 'from', tl_record_consents.from_enabled[c.ordinality], 'source', c.source,
                       'note', c.note, 'changed_by', c.updated_by)
  )::private.timeline_event order by c.ordinality))
  from unnest(tl_record_consents.rows) with ordinality c
  cross join lateral (select c.channel || ':' || case when c.enabled then 'granted' else 'revoked' end || '@'
                             || to_char(c.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as key) k
  cross join lateral (select case when count(*) = 0 then '' else '#' || (count(*) + 1) end as suffix
                        from public.customer_timeline_events e
                       where e.source_table = 'customer_consent' and e.reference_id = c.customer_id
                         and (e.event_key = k.key or starts_with(e.event_key, k.key || '#'))) r
$$;

create or replace function private.tl_record_tags(action text, rows public.customer_tag_members[], removed_by uuid default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_events(array_agg(row(
    m.customer_id, 'tag', 'customer_tag_members', m.tag_id, k.key || r.suffix,
    a.at,
    'Tag ' || case when tl_record_tags.action = 'assigned' then 'added' else 'removed' end || ': ' || coalesce(n.name, '(deleted tag)'),
    jsonb_build_object('action', tl_record_tags.action, 'tag_id', m.tag_id, 'tag_name', n.name, 'color', n.color,
                       case when tl_record_tags.action = 'assigned' then 'assigned_by' else 'removed_by' end,
                       case when tl_record_tags.action = 'assigned' then m.assigned_by else tl_record_tags.removed_by end)
  )::private.timeline_event order by m.ordinality))
  from unnest(tl_record_tags.rows) with ordinality m
  cross join lateral (select case when tl_record_tags.action = 'assigned' then m.assigned_at else now() end as at) a
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
  cross join lateral (select tl_record_tags.action || ':' || m.customer_id || '@'
                             || to_char(a.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as key) k
  cross join lateral (select case when count(*) = 0 then '' else '#' || (count(*) + 1) end as suffix
                        from public.customer_timeline_events e
                       where e.source_table = 'customer_tag_members' and e.reference_id = m.tag_id
                         and (e.event_key = k.key or starts_with(e.event_key, k.key || '#'))) r
$$;

-- ---------------------------------------------------------------------------------------------
-- Triggers whose row filter called a predicate function per row
-- ---------------------------------------------------------------------------------------------

create or replace function private.tg_payments__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- succeeded, failed and refunded yield an event; pending does not (tl_payment_status_is_eventful)
  if tg_op = 'INSERT' then
    perform private.tl_record_payments('initial_status', array(select n::public.payments from new_rows n
                                                               where n.status in ('succeeded', 'failed', 'refunded')));
  elsif tg_op = 'UPDATE' then
    perform private.tl_record_payments('status', array_agg(n::public.payments order by n.id), array_agg(o.status order by n.id))
       from new_rows n join old_rows o on o.id = n.id
      where n.status is distinct from o.status and n.status in ('succeeded', 'failed', 'refunded');
  else
    perform private.mark_timeline_source_deleted('payments', array(select o.id from old_rows o));
  end if;
  return null;
end
$$;

create or replace function private.tg_logistics_tasks__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_logistics('scheduled', array(select n::public.logistics_tasks from new_rows n));
    perform private.tl_record_logistics('initial_status', array_agg(n::public.logistics_tasks), array_agg('scheduled'::text))
       from new_rows n where n.status in ('done', 'failed');
  elsif tg_op = 'UPDATE' then
    -- scheduled, done and failed yield an event; in_transit does not (tl_logistics_status_is_eventful)
    perform private.tl_record_logistics('status', array_agg(n::public.logistics_tasks order by n.id), array_agg(o.status order by n.id))
       from new_rows n join old_rows o on o.id = n.id
      where n.status is distinct from o.status and n.status in ('scheduled', 'done', 'failed');
  else
    perform private.mark_timeline_source_deleted('logistics_tasks', array(select o.id from old_rows o));
  end if;
  return null;
end
$$;

revoke execute on function private.record_timeline_events(private.timeline_event[]) from public;
