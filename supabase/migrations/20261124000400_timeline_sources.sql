-- Timeline sources: every source table yields its events by trigger, in the same transaction,
-- through private.record_timeline_event. One builder per source (private.tl_record_<source>s)
-- turns rows into events; the triggers and the backfill both call it, so they agree.
-- The triggers are statement-level with transition tables: one builder call per statement, not
-- per row (a SQL function call per row costs more than the event's own insert).
--
-- Event identity (event_key) per source row: a fixed key for the row's creation ('created',
-- 'scheduled', 'opened', 'uploaded', 'sent', 'recorded', 'message', 'note'), and
-- '<what>:<to>@<UTC time>' for a change, the time being the source's own (updated_at, completed_at).
--
-- Delete rule: a deleted source row keeps its events, marked with source_deleted_at (the history
-- of what happened does not vanish with the row); free text of deleted notes and support
-- messages is redacted from the kept event. Erasing a customer removes their timeline (cascade).

alter table public.customer_timeline_events
  -- set when the source row is deleted (the event is kept; see docs/timeline.md)
  add column source_deleted_at timestamptz,
  -- insertion order: the drift check and backfill read a row's latest state event by it
  add column seq bigint generated always as identity;
comment on column public.customer_timeline_events.source_deleted_at is
  'When the source row of this event was deleted; the event is kept as history.';

-- ---------------------------------------------------------------------------------------------
-- Formatting helpers for titles
-- ---------------------------------------------------------------------------------------------

-- A time as it appears in event keys: UTC, microseconds.
create or replace function private.tl_stamp(at timestamptz)
returns text
language sql
immutable
set search_path = ''
as $$
  select to_char(tl_stamp.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- '3–5 May', '28 Apr–2 May', '30 Dec 2026–2 Jan 2027', '3 May'.
create or replace function private.tl_days(start_date date, end_date date)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when tl_days.start_date = tl_days.end_date then to_char(tl_days.start_date, 'FMDD Mon')
    when date_trunc('month', tl_days.start_date) = date_trunc('month', tl_days.end_date)
      then to_char(tl_days.start_date, 'FMDD') || '–' || to_char(tl_days.end_date, 'FMDD Mon')
    when extract(year from tl_days.start_date) = extract(year from tl_days.end_date)
      then to_char(tl_days.start_date, 'FMDD Mon') || '–' || to_char(tl_days.end_date, 'FMDD Mon')
    else to_char(tl_days.start_date, 'FMDD Mon YYYY') || '–' || to_char(tl_days.end_date, 'FMDD Mon YYYY')
  end
$$;

-- '3 May, 08:00' (UTC).
create or replace function private.tl_when(at timestamptz)
returns text
language sql
immutable
set search_path = ''
as $$
  select to_char(tl_when.at at time zone 'UTC', 'FMDD Mon, HH24:MI')
$$;

create or replace function private.tl_money(amount numeric, currency text default null)
returns text
language sql
immutable
set search_path = ''
as $$
  select to_char(tl_money.amount, 'FM999999999990.00') || coalesce(' ' || tl_money.currency, '')
$$;

-- At most max_length characters, an ellipsis when cut.
create or replace function private.tl_excerpt(body text, max_length integer)
returns text
language sql
immutable
set search_path = ''
as $$
  select case when char_length(tl_excerpt.body) > tl_excerpt.max_length
              then left(tl_excerpt.body, tl_excerpt.max_length - 1) || '…' else tl_excerpt.body end
$$;

-- A change's key; a repeat of the same change at the same source time (a status flipped back
-- and forth in one transaction) gets '#<n>', so every change keeps its own event.
create or replace function private.tl_change_key(source_table text, reference_id uuid, base_key text)
returns text
language sql
stable
set search_path = ''
as $$
  select tl_change_key.base_key || case when n.repeats = 0 then '' else '#' || (n.repeats + 1) end
    from (select count(*) as repeats
            from public.customer_timeline_events e
           where e.source_table = tl_change_key.source_table and e.reference_id = tl_change_key.reference_id
             and (e.event_key = tl_change_key.base_key or starts_with(e.event_key, tl_change_key.base_key || '#'))) n
$$;

-- ---------------------------------------------------------------------------------------------
-- Delete rule: keep the events, mark them; optionally redact free text.
-- ---------------------------------------------------------------------------------------------

create or replace function private.mark_timeline_source_deleted(
  source_table text,
  reference_ids uuid[],
  redacted_title text default null,
  redacted_keys text[] default '{}'
)
returns void
language sql
volatile
set search_path = ''
as $$
  update public.customer_timeline_events e
     set source_deleted_at = now(),
         title = coalesce(mark_timeline_source_deleted.redacted_title, e.title),
         metadata = e.metadata - mark_timeline_source_deleted.redacted_keys
   where e.source_table = mark_timeline_source_deleted.source_table
     and e.reference_id = any (mark_timeline_source_deleted.reference_ids)
     and e.source_deleted_at is null
$$;

-- ---------------------------------------------------------------------------------------------
-- Bookings: created, status changed, cancelled
-- ---------------------------------------------------------------------------------------------

-- action 'created' (at created_at) or 'status' (the current status, at updated_at).
create or replace function private.tl_record_bookings(action text, rows public.bookings[], from_statuses text[] default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select count(private.record_timeline_event(
    b.customer_id, 'booking', 'bookings', b.id,
    case when tl_record_bookings.action = 'created' then 'created'
         else private.tl_change_key('bookings', b.id, 'status:' || b.status || '@' || private.tl_stamp(b.updated_at)) end,
    case when tl_record_bookings.action = 'created' then b.created_at else b.updated_at end,
    case when tl_record_bookings.action = 'created'
           then 'Booking created' || case when b.status <> 'pending' then ' (' || b.status || ')' else '' end
         else case b.status when 'confirmed' then 'Booking confirmed' when 'active' then 'Booking started'
                            when 'completed' then 'Booking completed' when 'cancelled' then 'Booking cancelled'
                            else 'Booking back to ' || b.status end
    end || ': ' || concat_ws(', ', case when i.items = 1 then '1 item' when i.items > 1 then i.items || ' items' end,
                             private.tl_days(b.start_date, b.end_date)),
    jsonb_build_object(
      'action', case when tl_record_bookings.action = 'created' then 'created'
                     when b.status = 'cancelled' then 'cancelled' else 'status_changed' end,
      'status', b.status, 'from', tl_record_bookings.from_statuses[b.ordinality],
      'to', case when tl_record_bookings.action = 'status' then b.status end,
      'start_date', b.start_date, 'end_date', b.end_date, 'total_amount', b.total_amount, 'items', i.items)))
  from unnest(tl_record_bookings.rows) with ordinality b
  cross join lateral (select coalesce(sum(bi.quantity), 0)::integer as items
                        from public.booking_items bi where bi.booking_id = b.id) i
$$;

create or replace function private.tg_bookings__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_bookings('created', array(select n::public.bookings from new_rows n));
  elsif tg_op = 'UPDATE' then
    perform private.tl_record_bookings('status', array_agg(n::public.bookings order by n.id), array_agg(o.status order by n.id))
       from new_rows n join old_rows o on o.id = n.id
      where n.status is distinct from o.status;
  else
    perform private.mark_timeline_source_deleted('bookings', array(select o.id from old_rows o));
  end if;
  return null;
end
$$;

create trigger _100_timeline_insert after insert on public.bookings
  referencing new table as new_rows for each statement execute function private.tg_bookings__timeline();
create trigger _100_timeline_update after update on public.bookings
  referencing old table as old_rows new table as new_rows for each statement execute function private.tg_bookings__timeline();
create trigger _100_timeline_delete after delete on public.bookings
  referencing old table as old_rows for each statement execute function private.tg_bookings__timeline();

-- ---------------------------------------------------------------------------------------------
-- Logistics tasks: scheduled, done, failed (and rescheduled after a failure)
-- ---------------------------------------------------------------------------------------------

-- Statuses that yield an event; in_transit does not.
create or replace function private.tl_logistics_status_is_eventful(status text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select tl_logistics_status_is_eventful.status in ('scheduled', 'done', 'failed')
$$;

-- action 'scheduled' (the task's creation), 'status' (a change, at updated_at; done at
-- completed_at) or 'initial_status' (a task created done or failed, at its created_at).
create or replace function private.tl_record_logistics(action text, rows public.logistics_tasks[], from_statuses text[] default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select count(private.record_timeline_event(
    bk.customer_id, 'logistics', 'logistics_tasks', t.id,
    case when tl_record_logistics.action = 'scheduled' then 'scheduled'
         when tl_record_logistics.action = 'initial_status' then 'status:' || t.status || '@' || private.tl_stamp(a.at)
         else private.tl_change_key('logistics_tasks', t.id, 'status:' || t.status || '@' || private.tl_stamp(a.at)) end,
    a.at,
    initcap(t.kind) || case
      when tl_record_logistics.action = 'scheduled' then ' scheduled for ' || private.tl_when(t.scheduled_for)
      when t.status = 'done' then ' done' || coalesce(' on ' || private.tl_when(t.completed_at), '')
      when t.status = 'failed' then ' failed'
      when t.status = 'scheduled' then ' rescheduled for ' || private.tl_when(t.scheduled_for)
      else ' ' || replace(t.status, '_', ' ') end,
    jsonb_build_object(
      'action', case when tl_record_logistics.action = 'scheduled' then 'scheduled'
                     when t.status = 'scheduled' then 'rescheduled' else t.status end,
      'kind', t.kind, 'booking_id', t.booking_id,
      -- a task created already done or failed yields 'scheduled' and then its outcome
      'status', case when tl_record_logistics.action = 'scheduled' and t.status in ('done', 'failed') then 'scheduled' else t.status end,
      'from', tl_record_logistics.from_statuses[t.ordinality],
      'to', case when tl_record_logistics.action <> 'scheduled' then t.status end,
      'scheduled_for', t.scheduled_for, 'completed_at', t.completed_at)))
  from unnest(tl_record_logistics.rows) with ordinality t
  join public.bookings bk on bk.id = t.booking_id
  cross join lateral (select case
    when tl_record_logistics.action = 'scheduled' then t.created_at
    when tl_record_logistics.action = 'initial_status' then
      case when t.status = 'done' then coalesce(t.completed_at, t.created_at) else t.created_at end
    else case when t.status = 'done' then coalesce(t.completed_at, t.updated_at) else t.updated_at end
  end as at) a
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
    perform private.tl_record_logistics('status', array_agg(n::public.logistics_tasks order by n.id), array_agg(o.status order by n.id))
       from new_rows n join old_rows o on o.id = n.id
      where n.status is distinct from o.status and private.tl_logistics_status_is_eventful(n.status);
  else
    perform private.mark_timeline_source_deleted('logistics_tasks', array(select o.id from old_rows o));
  end if;
  return null;
end
$$;

create trigger _100_timeline_insert after insert on public.logistics_tasks
  referencing new table as new_rows for each statement execute function private.tg_logistics_tasks__timeline();
create trigger _100_timeline_update after update on public.logistics_tasks
  referencing old table as old_rows new table as new_rows for each statement execute function private.tg_logistics_tasks__timeline();
create trigger _100_timeline_delete after delete on public.logistics_tasks
  referencing old table as old_rows for each statement execute function private.tg_logistics_tasks__timeline();

-- ---------------------------------------------------------------------------------------------
-- Payments: succeeded, failed, refunded (pending yields nothing)
-- ---------------------------------------------------------------------------------------------

create or replace function private.tl_payment_status_is_eventful(status text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select tl_payment_status_is_eventful.status in ('succeeded', 'failed', 'refunded')
$$;

-- action 'initial_status' (a payment created in its outcome, at created_at) or 'status' (at updated_at).
create or replace function private.tl_record_payments(action text, rows public.payments[], from_statuses text[] default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select count(private.record_timeline_event(
    p.customer_id, 'payment', 'payments', p.id,
    -- a new payment has no events yet: only a change can repeat a key
    case when tl_record_payments.action = 'initial_status' then 'status:' || p.status || '@' || private.tl_stamp(a.at)
         else private.tl_change_key('payments', p.id, 'status:' || p.status || '@' || private.tl_stamp(a.at)) end,
    a.at,
    'Payment of ' || private.tl_money(p.amount, p.currency) || ' ' || p.status,
    jsonb_build_object('action', p.status, 'status', p.status, 'from', tl_record_payments.from_statuses[p.ordinality],
                       'to', p.status, 'amount', p.amount, 'currency', p.currency, 'booking_id', p.booking_id)))
  from unnest(tl_record_payments.rows) with ordinality p
  cross join lateral (select case when tl_record_payments.action = 'initial_status' then p.created_at else p.updated_at end as at) a
$$;

create or replace function private.tg_payments__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_payments('initial_status', array(select n::public.payments from new_rows n where private.tl_payment_status_is_eventful(n.status)));
  elsif tg_op = 'UPDATE' then
    perform private.tl_record_payments('status', array_agg(n::public.payments order by n.id), array_agg(o.status order by n.id))
       from new_rows n join old_rows o on o.id = n.id
      where n.status is distinct from o.status and private.tl_payment_status_is_eventful(n.status);
  else
    perform private.mark_timeline_source_deleted('payments', array(select o.id from old_rows o));
  end if;
  return null;
end
$$;

create trigger _100_timeline_insert after insert on public.payments
  referencing new table as new_rows for each statement execute function private.tg_payments__timeline();
create trigger _100_timeline_update after update on public.payments
  referencing old table as old_rows new table as new_rows for each statement execute function private.tg_payments__timeline();
create trigger _100_timeline_delete after delete on public.payments
  referencing old table as old_rows for each statement execute function private.tg_payments__timeline();

-- ---------------------------------------------------------------------------------------------
-- Manual payments: recorded
-- ---------------------------------------------------------------------------------------------

create or replace function private.tl_record_manual_payments(rows public.manual_payments[])
returns void
language sql
volatile
set search_path = ''
as $$
  select count(private.record_timeline_event(
    m.customer_id, 'payment', 'manual_payments', m.id, 'recorded', m.received_at,
    'Manual payment of ' || private.tl_money(m.amount) || ' recorded (' || replace(m.method, '_', ' ') || ')',
    jsonb_build_object('action', 'recorded', 'amount', m.amount, 'method', m.method, 'booking_id', m.booking_id,
                       'recorded_by', m.recorded_by, 'received_at', m.received_at)))
  from unnest(tl_record_manual_payments.rows) m
$$;

create or replace function private.tg_manual_payments__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_manual_payments(array(select n::public.manual_payments from new_rows n));
  else
    perform private.mark_timeline_source_deleted('manual_payments', array(select o.id from old_rows o));
  end if;
  return null;
end
$$;

create trigger _100_timeline_insert after insert on public.manual_payments
  referencing new table as new_rows for each statement execute function private.tg_manual_payments__timeline();
create trigger _100_timeline_delete after delete on public.manual_payments
  referencing old table as old_rows for each statement execute function private.tg_manual_payments__timeline();

-- ---------------------------------------------------------------------------------------------
-- Support tickets: opened, status changed
-- ---------------------------------------------------------------------------------------------

-- action 'opened' (at created_at) or 'status' (at updated_at).
create or replace function private.tl_record_tickets(action text, rows public.support_tickets[], from_statuses text[] default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select count(private.record_timeline_event(
    t.customer_id, 'support', 'support_tickets', t.id,
    case when tl_record_tickets.action = 'opened' then 'opened'
         else private.tl_change_key('support_tickets', t.id, 'status:' || t.status || '@' || private.tl_stamp(t.updated_at)) end,
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
      'subject', t.subject, 'priority', t.priority)))
  from unnest(tl_record_tickets.rows) with ordinality t
$$;

create or replace function private.tg_support_tickets__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_tickets('opened', array(select n::public.support_tickets from new_rows n));
  elsif tg_op = 'UPDATE' then
    perform private.tl_record_tickets('status', array_agg(n::public.support_tickets order by n.id), array_agg(o.status order by n.id))
       from new_rows n join old_rows o on o.id = n.id
      where n.status is distinct from o.status;
  else
    perform private.mark_timeline_source_deleted('support_tickets', array(select o.id from old_rows o));
  end if;
  return null;
end
$$;

create trigger _100_timeline_insert after insert on public.support_tickets
  referencing new table as new_rows for each statement execute function private.tg_support_tickets__timeline();
create trigger _100_timeline_update after update on public.support_tickets
  referencing old table as old_rows new table as new_rows for each statement execute function private.tg_support_tickets__timeline();
create trigger _100_timeline_delete after delete on public.support_tickets
  referencing old table as old_rows for each statement execute function private.tg_support_tickets__timeline();

-- ---------------------------------------------------------------------------------------------
-- Support messages: message (reference_id is the message; its ticket goes in metadata)
-- ---------------------------------------------------------------------------------------------

create or replace function private.tl_record_support_messages(rows public.support_messages[])
returns void
language sql
volatile
set search_path = ''
as $$
  select count(private.record_timeline_event(
    t.customer_id, 'support', 'support_messages', m.id, 'message', m.created_at,
    case when m.sender_id = t.customer_id then 'Customer wrote: ' else 'Staff replied: ' end
      || private.tl_excerpt(regexp_replace(btrim(m.body), '\s+', ' ', 'g'), 120),
    jsonb_build_object('action', 'message', 'ticket_id', m.ticket_id, 'ticket_subject', t.subject,
                       'sender_id', m.sender_id, 'from_customer', m.sender_id is not distinct from t.customer_id,
                       'excerpt', private.tl_excerpt(m.body, 500))))
  from unnest(tl_record_support_messages.rows) m
  join public.support_tickets t on t.id = m.ticket_id
$$;

create or replace function private.tg_support_messages__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_support_messages(array(select n::public.support_messages from new_rows n));
  else
    perform private.mark_timeline_source_deleted('support_messages', array(select o.id from old_rows o),
                                                 'Support message deleted', array['excerpt']);
  end if;
  return null;
end
$$;

create trigger _100_timeline_insert after insert on public.support_messages
  referencing new table as new_rows for each statement execute function private.tg_support_messages__timeline();
create trigger _100_timeline_delete after delete on public.support_messages
  referencing old table as old_rows for each statement execute function private.tg_support_messages__timeline();

-- ---------------------------------------------------------------------------------------------
-- Insurance documents: uploaded, status changed (expiry in metadata)
-- ---------------------------------------------------------------------------------------------

-- action 'uploaded' (at created_at) or 'status' (at updated_at).
create or replace function private.tl_record_insurance(action text, rows public.insurance_documents[], from_statuses text[] default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select count(private.record_timeline_event(
    d.customer_id, 'insurance', 'insurance_documents', d.id,
    case when tl_record_insurance.action = 'uploaded' then 'uploaded'
         else private.tl_change_key('insurance_documents', d.id, 'status:' || d.status || '@' || private.tl_stamp(d.updated_at)) end,
    case when tl_record_insurance.action = 'uploaded' then d.created_at else d.updated_at end,
    'Insurance document ' || case when tl_record_insurance.action = 'uploaded' then 'uploaded'
                                  when d.status = 'pending' then 'back to pending' else d.status end
      || ': ' || replace(d.kind, '_', ' ')
      || coalesce(', expires ' || to_char(d.expires_at, 'FMDD Mon YYYY'), ''),
    jsonb_build_object(
      'action', case when tl_record_insurance.action = 'uploaded' then 'uploaded' else 'status_changed' end,
      'status', d.status, 'from', tl_record_insurance.from_statuses[d.ordinality],
      'to', case when tl_record_insurance.action = 'status' then d.status end,
      'kind', d.kind, 'expires_at', d.expires_at, 'booking_id', d.booking_id)))
  from unnest(tl_record_insurance.rows) with ordinality d
$$;

create or replace function private.tg_insurance_documents__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_insurance('uploaded', array(select n::public.insurance_documents from new_rows n));
  elsif tg_op = 'UPDATE' then
    perform private.tl_record_insurance('status', array_agg(n::public.insurance_documents order by n.id), array_agg(o.status order by n.id))
       from new_rows n join old_rows o on o.id = n.id
      where n.status is distinct from o.status;
  else
    perform private.mark_timeline_source_deleted('insurance_documents', array(select o.id from old_rows o));
  end if;
  return null;
end
$$;

create trigger _100_timeline_insert after insert on public.insurance_documents
  referencing new table as new_rows for each statement execute function private.tg_insurance_documents__timeline();
create trigger _100_timeline_update after update on public.insurance_documents
  referencing old table as old_rows new table as new_rows for each statement execute function private.tg_insurance_documents__timeline();
create trigger _100_timeline_delete after delete on public.insurance_documents
  referencing old table as old_rows for each statement execute function private.tg_insurance_documents__timeline();

-- ---------------------------------------------------------------------------------------------
-- Email logs: sent, status changed. Every email is event type 'campaign' (the contract's
-- communications type; it has no 'email' type); metadata.kind tells campaign from transactional.
-- ---------------------------------------------------------------------------------------------

-- action 'sent' (the log's creation, at created_at) or 'status' (at updated_at).
create or replace function private.tl_record_emails(action text, rows public.email_logs[], from_statuses text[] default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select count(private.record_timeline_event(
    l.customer_id, 'campaign', 'email_logs', l.id,
    case when tl_record_emails.action = 'sent' then 'sent'
         else private.tl_change_key('email_logs', l.id, 'status:' || l.status || '@' || private.tl_stamp(l.updated_at)) end,
    case when tl_record_emails.action = 'sent' then l.created_at else l.updated_at end,
    case when l.campaign_id is not null then 'Campaign email ' else 'Email ' end
      || replace(l.status, '_', ' ') || ': ' || coalesce(nullif(btrim(l.subject), ''), '(no subject)'),
    jsonb_build_object(
      'action', case when tl_record_emails.action = 'sent' then 'sent' else 'status_changed' end,
      'kind', case when l.campaign_id is not null then 'campaign' else 'transactional' end,
      'status', l.status, 'from', tl_record_emails.from_statuses[l.ordinality],
      'to', case when tl_record_emails.action = 'status' then l.status end,
      'subject', l.subject, 'to_email', l.to_email, 'campaign_id', l.campaign_id,
      'provider_message_id', l.provider_message_id)))
  from unnest(tl_record_emails.rows) with ordinality l
  where l.customer_id is not null
$$;

create or replace function private.tg_email_logs__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_emails('sent', array(select n::public.email_logs from new_rows n where n.customer_id is not null));
  elsif tg_op = 'UPDATE' then
    -- a log linked to its customer later gets its 'sent' event then
    perform private.tl_record_emails('sent', array_agg(n::public.email_logs))
       from new_rows n join old_rows o on o.id = n.id
      where o.customer_id is null and n.customer_id is not null;
    perform private.tl_record_emails('status', array_agg(n::public.email_logs order by n.id), array_agg(o.status order by n.id))
       from new_rows n join old_rows o on o.id = n.id
      where n.status is distinct from o.status and n.customer_id is not null;
  else
    perform private.mark_timeline_source_deleted('email_logs', array(select o.id from old_rows o));
  end if;
  return null;
end
$$;

create trigger _100_timeline_insert after insert on public.email_logs
  referencing new table as new_rows for each statement execute function private.tg_email_logs__timeline();
create trigger _100_timeline_update after update on public.email_logs
  referencing old table as old_rows new table as new_rows for each statement execute function private.tg_email_logs__timeline();
create trigger _100_timeline_delete after delete on public.email_logs
  referencing old table as old_rows for each statement execute function private.tg_email_logs__timeline();

-- ---------------------------------------------------------------------------------------------
-- Customer notes: note (the title is the note itself; warnings and actions say so)
-- ---------------------------------------------------------------------------------------------

create or replace function private.tl_record_notes(rows public.customer_notes[])
returns void
language sql
volatile
set search_path = ''
as $$
  select count(private.record_timeline_event(
    n.customer_id, 'note', 'customer_notes', n.id, 'note', n.created_at,
    case n.type when 'warning' then 'Warning: ' when 'action' then 'Action: ' else '' end || private.tl_excerpt(n.note, 200),
    jsonb_build_object('action', 'note', 'type', n.type, 'visibility', n.visibility, 'admin_id', n.admin_id, 'note', n.note)))
  from unnest(tl_record_notes.rows) n
$$;

create or replace function private.tg_customer_notes__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_notes(array(select n::public.customer_notes from new_rows n));
  else
    perform private.mark_timeline_source_deleted('customer_notes', array(select o.id from old_rows o), 'Note deleted', array['note']);
  end if;
  return null;
end
$$;

create trigger _100_timeline_insert after insert on public.customer_notes
  referencing new table as new_rows for each statement execute function private.tg_customer_notes__timeline();
create trigger _100_timeline_delete after delete on public.customer_notes
  referencing old table as old_rows for each statement execute function private.tg_customer_notes__timeline();

-- ---------------------------------------------------------------------------------------------
-- Consent: changed, only when the state changes (a first row that is 'off' changes nothing:
-- no row already means no consent). reference_id is the customer (the row's key is
-- (customer_id, channel)); the channel leads the event key.
-- ---------------------------------------------------------------------------------------------

-- The current state of each row, at its updated_at.
create or replace function private.tl_record_consents(rows public.customer_consent[], from_enabled boolean[] default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select count(private.record_timeline_event(
    c.customer_id, 'consent', 'customer_consent', c.customer_id,
    private.tl_change_key('customer_consent', c.customer_id,
      c.channel || ':' || case when c.enabled then 'granted' else 'revoked' end || '@' || private.tl_stamp(c.updated_at)),
    c.updated_at,
    case c.channel when 'sms' then 'SMS' else initcap(c.channel) end || ' consent '
      || case when c.enabled then 'granted' else 'revoked' end || ' (' || replace(c.source, '_', '-') || ')',
    jsonb_build_object('action', case when c.enabled then 'granted' else 'revoked' end, 'channel', c.channel,
                       'enabled', c.enabled, 'from', tl_record_consents.from_enabled[c.ordinality], 'source', c.source,
                       'note', c.note, 'changed_by', c.updated_by)))
  from unnest(tl_record_consents.rows) with ordinality c
$$;

create or replace function private.tg_customer_consent__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_consents(array(select n::public.customer_consent from new_rows n where n.enabled));
  elsif tg_op = 'UPDATE' then
    perform private.tl_record_consents(array_agg(n::public.customer_consent order by n.customer_id, n.channel), array_agg(o.enabled order by n.customer_id, n.channel))
       from new_rows n join old_rows o on o.customer_id = n.customer_id and o.channel = n.channel
      where n.enabled is distinct from o.enabled;
  else
    update public.customer_timeline_events e
       set source_deleted_at = now()
      from old_rows o
     where e.source_table = 'customer_consent' and e.reference_id = o.customer_id
       and starts_with(e.event_key, o.channel || ':') and e.source_deleted_at is null;
  end if;
  return null;
end
$$;

create trigger _100_timeline_insert after insert on public.customer_consent
  referencing new table as new_rows for each statement execute function private.tg_customer_consent__timeline();
create trigger _100_timeline_update after update on public.customer_consent
  referencing old table as old_rows new table as new_rows for each statement execute function private.tg_customer_consent__timeline();
create trigger _100_timeline_delete after delete on public.customer_consent
  referencing old table as old_rows for each statement execute function private.tg_customer_consent__timeline();

-- ---------------------------------------------------------------------------------------------
-- Tag assignments: assigned, removed. reference_id is the tag; the customer is in the key,
-- since one tag is assigned to many customers.
-- ---------------------------------------------------------------------------------------------

-- action 'assigned' (at assigned_at, by assigned_by) or 'removed' (at now(), by removed_by).
create or replace function private.tl_record_tags(action text, rows public.customer_tag_members[], removed_by uuid default null)
returns void
language sql
volatile
set search_path = ''
as $$
  select count(private.record_timeline_event(
    m.customer_id, 'tag', 'customer_tag_members', m.tag_id,
    private.tl_change_key('customer_tag_members', m.tag_id, tl_record_tags.action || ':' || m.customer_id || '@' || private.tl_stamp(a.at)),
    a.at,
    'Tag ' || case when tl_record_tags.action = 'assigned' then 'added' else 'removed' end || ': ' || coalesce(n.name, '(deleted tag)'),
    jsonb_build_object('action', tl_record_tags.action, 'tag_id', m.tag_id, 'tag_name', n.name, 'color', n.color,
                       case when tl_record_tags.action = 'assigned' then 'assigned_by' else 'removed_by' end,
                       case when tl_record_tags.action = 'assigned' then m.assigned_by else tl_record_tags.removed_by end)))
  from unnest(tl_record_tags.rows) m
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
$$;

create or replace function private.tg_customer_tag_members__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_tags('assigned', array(select n::public.customer_tag_members from new_rows n));
  else
    -- erasing the customer cascades here; their timeline goes with them
    perform private.tl_record_tags('removed', array(select o::public.customer_tag_members from old_rows o where exists (select 1 from public.users u where u.id = o.customer_id)),
                                   auth.uid());
  end if;
  return null;
end
$$;

create trigger _100_timeline_insert after insert on public.customer_tag_members
  referencing new table as new_rows for each statement execute function private.tg_customer_tag_members__timeline();
create trigger _100_timeline_delete after delete on public.customer_tag_members
  referencing old table as old_rows for each statement execute function private.tg_customer_tag_members__timeline();
