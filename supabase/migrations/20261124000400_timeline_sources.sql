-- Timeline sources: every source table yields its events by trigger, in the same transaction,
-- through private.record_timeline_event. One builder per source (private.tl_record_<source>)
-- turns a row into an event; the triggers and the backfill both call it, so they agree.
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
  reference_id uuid,
  key_prefix text default null,
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
     and e.reference_id = mark_timeline_source_deleted.reference_id
     and (mark_timeline_source_deleted.key_prefix is null or starts_with(e.event_key, mark_timeline_source_deleted.key_prefix))
     and e.source_deleted_at is null
$$;

-- ---------------------------------------------------------------------------------------------
-- Bookings: created, status changed, cancelled
-- ---------------------------------------------------------------------------------------------

-- action: 'created' or 'status'; at: the source's time of the change.
create or replace function private.tl_record_booking(b public.bookings, action text, from_status text, at timestamptz)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_event(
    b.customer_id, 'booking', 'bookings', b.id,
    case when tl_record_booking.action = 'created' then 'created'
         else private.tl_change_key('bookings', b.id, 'status:' || b.status || '@' || private.tl_stamp(tl_record_booking.at)) end,
    tl_record_booking.at,
    case when tl_record_booking.action = 'created'
           then 'Booking created' || case when b.status <> 'pending' then ' (' || b.status || ')' else '' end
         else case b.status when 'confirmed' then 'Booking confirmed' when 'active' then 'Booking started'
                            when 'completed' then 'Booking completed' when 'cancelled' then 'Booking cancelled'
                            else 'Booking back to ' || b.status end
    end || ': ' || concat_ws(', ', case when i.items = 1 then '1 item' when i.items > 1 then i.items || ' items' end,
                             private.tl_days(b.start_date, b.end_date)),
    jsonb_build_object(
      'action', case when tl_record_booking.action = 'created' then 'created'
                     when b.status = 'cancelled' then 'cancelled' else 'status_changed' end,
      'status', b.status, 'from', tl_record_booking.from_status,
      'to', case when tl_record_booking.action = 'status' then b.status end,
      'start_date', b.start_date, 'end_date', b.end_date, 'total_amount', b.total_amount, 'items', i.items))
  from (select coalesce(sum(bi.quantity), 0)::integer as items
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
    perform private.tl_record_booking(new, 'created', null, new.created_at);
  elsif tg_op = 'UPDATE' then
    if new.status is distinct from old.status then
      perform private.tl_record_booking(new, 'status', old.status, new.updated_at);
    end if;
  else
    perform private.mark_timeline_source_deleted('bookings', old.id);
  end if;
  return null;
end
$$;

create trigger _100_timeline after insert or update of status or delete on public.bookings
  for each row execute function private.tg_bookings__timeline();

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

-- action: 'scheduled' (the task's creation) or 'status'.
create or replace function private.tl_record_logistics(t public.logistics_tasks, action text, from_status text, at timestamptz)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_event(
    b.customer_id, 'logistics', 'logistics_tasks', t.id,
    case when tl_record_logistics.action = 'scheduled' then 'scheduled'
         else private.tl_change_key('logistics_tasks', t.id, 'status:' || t.status || '@' || private.tl_stamp(tl_record_logistics.at)) end,
    tl_record_logistics.at,
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
      'from', tl_record_logistics.from_status,
      'to', case when tl_record_logistics.action = 'status' then t.status end,
      'scheduled_for', t.scheduled_for, 'completed_at', t.completed_at))
  from public.bookings b
 where b.id = t.booking_id
$$;

create or replace function private.tg_logistics_tasks__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_logistics(new, 'scheduled', null, new.created_at);
    if new.status in ('done', 'failed') then
      perform private.tl_record_logistics(new, 'status', 'scheduled',
        case when new.status = 'done' then coalesce(new.completed_at, new.created_at) else new.created_at end);
    end if;
  elsif tg_op = 'UPDATE' then
    if new.status is distinct from old.status and private.tl_logistics_status_is_eventful(new.status) then
      perform private.tl_record_logistics(new, 'status', old.status,
        case when new.status = 'done' then coalesce(new.completed_at, new.updated_at) else new.updated_at end);
    end if;
  else
    perform private.mark_timeline_source_deleted('logistics_tasks', old.id);
  end if;
  return null;
end
$$;

create trigger _100_timeline after insert or update of status or delete on public.logistics_tasks
  for each row execute function private.tg_logistics_tasks__timeline();

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

create or replace function private.tl_record_payment(p public.payments, from_status text, at timestamptz)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_event(
    p.customer_id, 'payment', 'payments', p.id,
    private.tl_change_key('payments', p.id, 'status:' || p.status || '@' || private.tl_stamp(tl_record_payment.at)),
    tl_record_payment.at,
    'Payment of ' || private.tl_money(p.amount, p.currency) || ' ' || p.status,
    jsonb_build_object('action', p.status, 'status', p.status, 'from', tl_record_payment.from_status, 'to', p.status,
                       'amount', p.amount, 'currency', p.currency, 'booking_id', p.booking_id))
$$;

create or replace function private.tg_payments__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    if private.tl_payment_status_is_eventful(new.status) then
      perform private.tl_record_payment(new, null, new.created_at);
    end if;
  elsif tg_op = 'UPDATE' then
    if new.status is distinct from old.status and private.tl_payment_status_is_eventful(new.status) then
      perform private.tl_record_payment(new, old.status, new.updated_at);
    end if;
  else
    perform private.mark_timeline_source_deleted('payments', old.id);
  end if;
  return null;
end
$$;

create trigger _100_timeline after insert or update of status or delete on public.payments
  for each row execute function private.tg_payments__timeline();

-- ---------------------------------------------------------------------------------------------
-- Manual payments: recorded
-- ---------------------------------------------------------------------------------------------

create or replace function private.tl_record_manual_payment(m public.manual_payments)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_event(
    m.customer_id, 'payment', 'manual_payments', m.id, 'recorded', m.received_at,
    'Manual payment of ' || private.tl_money(m.amount) || ' recorded (' || replace(m.method, '_', ' ') || ')',
    jsonb_build_object('action', 'recorded', 'amount', m.amount, 'method', m.method, 'booking_id', m.booking_id,
                       'recorded_by', m.recorded_by, 'received_at', m.received_at))
$$;

create or replace function private.tg_manual_payments__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_manual_payment(new);
  else
    perform private.mark_timeline_source_deleted('manual_payments', old.id);
  end if;
  return null;
end
$$;

create trigger _100_timeline after insert or delete on public.manual_payments
  for each row execute function private.tg_manual_payments__timeline();

-- ---------------------------------------------------------------------------------------------
-- Support tickets: opened, status changed
-- ---------------------------------------------------------------------------------------------

create or replace function private.tl_record_ticket(t public.support_tickets, action text, from_status text, at timestamptz)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_event(
    t.customer_id, 'support', 'support_tickets', t.id,
    case when tl_record_ticket.action = 'opened' then 'opened'
         else private.tl_change_key('support_tickets', t.id, 'status:' || t.status || '@' || private.tl_stamp(tl_record_ticket.at)) end,
    tl_record_ticket.at,
    'Support ticket ' || case
      when tl_record_ticket.action = 'opened'
        then 'opened' || case when t.priority in ('high', 'urgent') then ' (' || t.priority || ')' else '' end
      when t.status = 'open' then 'reopened'
      when t.status = 'pending' then 'waiting on the customer'
      else t.status end || ': ' || t.subject,
    jsonb_build_object(
      'action', case when tl_record_ticket.action = 'opened' then 'opened' else 'status_changed' end,
      'status', t.status, 'from', tl_record_ticket.from_status,
      'to', case when tl_record_ticket.action = 'status' then t.status end,
      'subject', t.subject, 'priority', t.priority))
$$;

create or replace function private.tg_support_tickets__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_ticket(new, 'opened', null, new.created_at);
  elsif tg_op = 'UPDATE' then
    if new.status is distinct from old.status then
      perform private.tl_record_ticket(new, 'status', old.status, new.updated_at);
    end if;
  else
    perform private.mark_timeline_source_deleted('support_tickets', old.id);
  end if;
  return null;
end
$$;

create trigger _100_timeline after insert or update of status or delete on public.support_tickets
  for each row execute function private.tg_support_tickets__timeline();

-- ---------------------------------------------------------------------------------------------
-- Support messages: message (reference_id is the message; its ticket goes in metadata)
-- ---------------------------------------------------------------------------------------------

create or replace function private.tl_record_support_message(m public.support_messages)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_event(
    t.customer_id, 'support', 'support_messages', m.id, 'message', m.created_at,
    case when m.sender_id = t.customer_id then 'Customer wrote: ' else 'Staff replied: ' end
      || private.tl_excerpt(regexp_replace(btrim(m.body), '\s+', ' ', 'g'), 120),
    jsonb_build_object('action', 'message', 'ticket_id', m.ticket_id, 'ticket_subject', t.subject,
                       'sender_id', m.sender_id, 'from_customer', m.sender_id is not distinct from t.customer_id,
                       'excerpt', private.tl_excerpt(m.body, 500)))
  from public.support_tickets t
 where t.id = m.ticket_id
$$;

create or replace function private.tg_support_messages__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_support_message(new);
  else
    perform private.mark_timeline_source_deleted('support_messages', old.id, null, 'Support message deleted', array['excerpt']);
  end if;
  return null;
end
$$;

create trigger _100_timeline after insert or delete on public.support_messages
  for each row execute function private.tg_support_messages__timeline();

-- ---------------------------------------------------------------------------------------------
-- Insurance documents: uploaded, status changed (expiry in metadata)
-- ---------------------------------------------------------------------------------------------

create or replace function private.tl_record_insurance(d public.insurance_documents, action text, from_status text, at timestamptz)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_event(
    d.customer_id, 'insurance', 'insurance_documents', d.id,
    case when tl_record_insurance.action = 'uploaded' then 'uploaded'
         else private.tl_change_key('insurance_documents', d.id, 'status:' || d.status || '@' || private.tl_stamp(tl_record_insurance.at)) end,
    tl_record_insurance.at,
    'Insurance document ' || case when tl_record_insurance.action = 'uploaded' then 'uploaded'
                                  when d.status = 'pending' then 'back to pending' else d.status end
      || ': ' || replace(d.kind, '_', ' ')
      || coalesce(case when d.expires_at < current_date and d.status <> 'expired' then ', expired ' else ', expires ' end
                  || to_char(d.expires_at, 'FMDD Mon YYYY'), ''),
    jsonb_build_object(
      'action', case when tl_record_insurance.action = 'uploaded' then 'uploaded' else 'status_changed' end,
      'status', d.status, 'from', tl_record_insurance.from_status,
      'to', case when tl_record_insurance.action = 'status' then d.status end,
      'kind', d.kind, 'expires_at', d.expires_at, 'booking_id', d.booking_id))
$$;

create or replace function private.tg_insurance_documents__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_insurance(new, 'uploaded', null, new.created_at);
  elsif tg_op = 'UPDATE' then
    if new.status is distinct from old.status then
      perform private.tl_record_insurance(new, 'status', old.status, new.updated_at);
    end if;
  else
    perform private.mark_timeline_source_deleted('insurance_documents', old.id);
  end if;
  return null;
end
$$;

create trigger _100_timeline after insert or update of status or delete on public.insurance_documents
  for each row execute function private.tg_insurance_documents__timeline();

-- ---------------------------------------------------------------------------------------------
-- Email logs: sent, status changed. Every email is event type 'campaign' (the contract's
-- communications type; it has no 'email' type); metadata.kind tells campaign from transactional.
-- ---------------------------------------------------------------------------------------------

create or replace function private.tl_record_email(l public.email_logs, action text, from_status text, at timestamptz)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_event(
    l.customer_id, 'campaign', 'email_logs', l.id,
    case when tl_record_email.action = 'sent' then 'sent'
         else private.tl_change_key('email_logs', l.id, 'status:' || l.status || '@' || private.tl_stamp(tl_record_email.at)) end,
    tl_record_email.at,
    case when l.campaign_id is not null then 'Campaign email ' else 'Email ' end
      || replace(l.status, '_', ' ') || ': ' || coalesce(nullif(btrim(l.subject), ''), '(no subject)'),
    jsonb_build_object(
      'action', case when tl_record_email.action = 'sent' then 'sent' else 'status_changed' end,
      'kind', case when l.campaign_id is not null then 'campaign' else 'transactional' end,
      'status', l.status, 'from', tl_record_email.from_status,
      'to', case when tl_record_email.action = 'status' then l.status end,
      'subject', l.subject, 'to_email', l.to_email, 'campaign_id', l.campaign_id,
      'provider_message_id', l.provider_message_id))
$$;

create or replace function private.tg_email_logs__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_email(new, 'sent', null, new.created_at);
  elsif tg_op = 'UPDATE' then
    -- a log linked to its customer later gets its 'sent' event then
    if old.customer_id is null and new.customer_id is not null then
      perform private.tl_record_email(new, 'sent', null, new.created_at);
    end if;
    if new.status is distinct from old.status then
      perform private.tl_record_email(new, 'status', old.status, new.updated_at);
    end if;
  else
    perform private.mark_timeline_source_deleted('email_logs', old.id);
  end if;
  return null;
end
$$;

create trigger _100_timeline after insert or update of status, customer_id or delete on public.email_logs
  for each row execute function private.tg_email_logs__timeline();

-- ---------------------------------------------------------------------------------------------
-- Customer notes: note (the title is the note itself; warnings and actions say so)
-- ---------------------------------------------------------------------------------------------

create or replace function private.tl_record_note(n public.customer_notes)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_event(
    n.customer_id, 'note', 'customer_notes', n.id, 'note', n.created_at,
    case n.type when 'warning' then 'Warning: ' when 'action' then 'Action: ' else '' end || private.tl_excerpt(n.note, 200),
    jsonb_build_object('action', 'note', 'type', n.type, 'visibility', n.visibility, 'admin_id', n.admin_id, 'note', n.note))
$$;

create or replace function private.tg_customer_notes__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.tl_record_note(new);
  else
    perform private.mark_timeline_source_deleted('customer_notes', old.id, null, 'Note deleted', array['note']);
  end if;
  return null;
end
$$;

create trigger _100_timeline after insert or delete on public.customer_notes
  for each row execute function private.tg_customer_notes__timeline();

-- ---------------------------------------------------------------------------------------------
-- Consent: changed, only when the state changes (a first row that is 'off' changes nothing:
-- no row already means no consent). reference_id is the customer (the row's key is
-- (customer_id, channel)); the channel leads the event key.
-- ---------------------------------------------------------------------------------------------

create or replace function private.tl_record_consent(c public.customer_consent, from_enabled boolean)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_event(
    c.customer_id, 'consent', 'customer_consent', c.customer_id,
    private.tl_change_key('customer_consent', c.customer_id,
      c.channel || ':' || case when c.enabled then 'granted' else 'revoked' end || '@' || private.tl_stamp(c.updated_at)),
    c.updated_at,
    case c.channel when 'sms' then 'SMS' else initcap(c.channel) end || ' consent '
      || case when c.enabled then 'granted' else 'revoked' end || ' (' || replace(c.source, '_', '-') || ')',
    jsonb_build_object('action', case when c.enabled then 'granted' else 'revoked' end, 'channel', c.channel,
                       'enabled', c.enabled, 'from', tl_record_consent.from_enabled, 'source', c.source,
                       'note', c.note, 'changed_by', c.updated_by))
$$;

create or replace function private.tg_customer_consent__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    if new.enabled then
      perform private.tl_record_consent(new, null);
    end if;
  elsif tg_op = 'UPDATE' then
    if new.enabled is distinct from old.enabled then
      perform private.tl_record_consent(new, old.enabled);
    end if;
  else
    perform private.mark_timeline_source_deleted('customer_consent', old.customer_id, old.channel || ':');
  end if;
  return null;
end
$$;

create trigger _100_timeline after insert or update of enabled or delete on public.customer_consent
  for each row execute function private.tg_customer_consent__timeline();

-- ---------------------------------------------------------------------------------------------
-- Tag assignments: assigned, removed. reference_id is the tag; the customer is in the key,
-- since one tag is assigned to many customers.
-- ---------------------------------------------------------------------------------------------

create or replace function private.tl_record_tag(customer_id uuid, tag_id uuid, action text, at timestamptz, actor uuid)
returns void
language sql
volatile
set search_path = ''
as $$
  select private.record_timeline_event(
    tl_record_tag.customer_id, 'tag', 'customer_tag_members', tl_record_tag.tag_id,
    private.tl_change_key('customer_tag_members', tl_record_tag.tag_id,
      tl_record_tag.action || ':' || tl_record_tag.customer_id || '@' || private.tl_stamp(tl_record_tag.at)),
    tl_record_tag.at,
    'Tag ' || case when tl_record_tag.action = 'assigned' then 'added' else 'removed' end || ': '
      || coalesce(n.name, '(deleted tag)'),
    jsonb_build_object('action', tl_record_tag.action, 'tag_id', tl_record_tag.tag_id, 'tag_name', n.name,
                       'color', n.color,
                       case when tl_record_tag.action = 'assigned' then 'assigned_by' else 'removed_by' end, tl_record_tag.actor))
  from (
    -- a tag deleted with its assignments is named by its last event
    select coalesce(t.name, prev.metadata ->> 'tag_name') as name, coalesce(t.color, prev.metadata ->> 'color') as color
      from (select 1) one
      left join public.customer_tags t on t.id = tl_record_tag.tag_id
      left join lateral (
        select e.metadata from public.customer_timeline_events e
         where e.source_table = 'customer_tag_members' and e.reference_id = tl_record_tag.tag_id
           and e.customer_id = tl_record_tag.customer_id
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
    perform private.tl_record_tag(new.customer_id, new.tag_id, 'assigned', new.assigned_at, new.assigned_by);
  -- erasing the customer cascades here; their timeline goes with them
  elsif exists (select 1 from public.users u where u.id = old.customer_id) then
    perform private.tl_record_tag(old.customer_id, old.tag_id, 'removed', now(), auth.uid());
  end if;
  return null;
end
$$;

create trigger _100_timeline after insert or delete on public.customer_tag_members
  for each row execute function private.tg_customer_tag_members__timeline();
