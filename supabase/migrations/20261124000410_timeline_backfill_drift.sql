-- Timeline backfill and drift check. Sources hold only their current state, so what can be
-- derived from them (and is checked) per source row is:
--   * its creation event ('created', 'scheduled', 'opened', 'uploaded', 'sent', 'recorded',
--     'message', 'note'), where the source has one;
--   * its current state: the row's latest event (by seq) carries the row's current status
--     (consent: enabled; tag assignment: assigned while the row exists, removed after);
--   * no event of a deleted row is left unmarked (the delete rule keeps them, marked).
-- The drift check counts rows breaking the first two (missing) and events breaking the third
-- (extra); the backfill writes exactly what the check finds missing, through the same builders
-- the triggers use, and marks the orphans. A second run finds nothing to do.

-- Latest event of one source row (by insertion order); for consent and tags the key prefix
-- narrows it to one channel or one customer.
create or replace function private.tl_latest_event(source_table text, reference_id uuid, key_prefix text default null)
returns public.customer_timeline_events
language sql
stable
set search_path = ''
as $$
  select e.* from public.customer_timeline_events e
   where e.source_table = tl_latest_event.source_table and e.reference_id = tl_latest_event.reference_id
     and (tl_latest_event.key_prefix is null or starts_with(e.event_key, tl_latest_event.key_prefix))
   order by e.seq desc
   limit 1
$$;

create or replace function private.tl_has_event(source_table text, reference_id uuid, event_key text)
returns boolean
language sql
stable
set search_path = ''
as $$
  select exists (select 1 from public.customer_timeline_events e
                  where e.source_table = tl_has_event.source_table and e.reference_id = tl_has_event.reference_id
                    and e.event_key = tl_has_event.event_key)
$$;

-- A tag assignment row is recorded when its 'assigned' event is the latest of the pair.
create or replace function private.tl_tag_assignment_recorded(m public.customer_tag_members)
returns boolean
language sql
stable
set search_path = ''
as $$
  select coalesce(starts_with(a.event_key, 'assigned:' || m.customer_id || '@' || private.tl_stamp(m.assigned_at))
                  and (r.seq is null or a.seq > r.seq), false)
    from (select 1) one
    left join lateral private.tl_latest_event('customer_tag_members', m.tag_id, 'assigned:' || m.customer_id || '@') a on true
    left join lateral private.tl_latest_event('customer_tag_members', m.tag_id, 'removed:' || m.customer_id || '@') r on true
$$;

-- ---------------------------------------------------------------------------------------------
-- Drift: per source table, source rows whose events are missing and events that should not be
-- there (unmarked events of deleted rows; tag assignments whose row is gone).
-- ---------------------------------------------------------------------------------------------

create or replace function private.timeline_drift_by_source()
returns table (event_type text, source_table text, missing bigint, extra bigint)
language sql
stable
security definer
set search_path = ''
as $$
  with missing as (
    select 'booking' as event_type, 'bookings' as source_table, count(*) as n
      from public.bookings b
     where not private.tl_has_event('bookings', b.id, 'created')
        or (private.tl_latest_event('bookings', b.id)).metadata ->> 'status' is distinct from b.status
    union all
    select 'logistics', 'logistics_tasks', count(*)
      from public.logistics_tasks t
     where not private.tl_has_event('logistics_tasks', t.id, 'scheduled')
        or (private.tl_logistics_status_is_eventful(t.status)
            and (private.tl_latest_event('logistics_tasks', t.id)).metadata ->> 'status' is distinct from t.status)
    union all
    select 'payment', 'payments', count(*)
      from public.payments p
     where private.tl_payment_status_is_eventful(p.status)
       and (private.tl_latest_event('payments', p.id)).metadata ->> 'status' is distinct from p.status
    union all
    select 'payment', 'manual_payments', count(*)
      from public.manual_payments m
     where not private.tl_has_event('manual_payments', m.id, 'recorded')
    union all
    select 'support', 'support_tickets', count(*)
      from public.support_tickets t
     where not private.tl_has_event('support_tickets', t.id, 'opened')
        or (private.tl_latest_event('support_tickets', t.id)).metadata ->> 'status' is distinct from t.status
    union all
    select 'support', 'support_messages', count(*)
      from public.support_messages m
     where not private.tl_has_event('support_messages', m.id, 'message')
    union all
    select 'insurance', 'insurance_documents', count(*)
      from public.insurance_documents d
     where not private.tl_has_event('insurance_documents', d.id, 'uploaded')
        or (private.tl_latest_event('insurance_documents', d.id)).metadata ->> 'status' is distinct from d.status
    union all
    select 'campaign', 'email_logs', count(*)
      from public.email_logs l
     where l.customer_id is not null
       and (not private.tl_has_event('email_logs', l.id, 'sent')
            or (private.tl_latest_event('email_logs', l.id)).metadata ->> 'status' is distinct from l.status)
    union all
    select 'note', 'customer_notes', count(*)
      from public.customer_notes n
     where not private.tl_has_event('customer_notes', n.id, 'note')
    union all
    select 'consent', 'customer_consent', count(*)
      from public.customer_consent c
     -- an 'off' row with no events is fine: no row already meant no consent
     where coalesce(((private.tl_latest_event('customer_consent', c.customer_id, c.channel || ':')).metadata ->> 'enabled')::boolean, false)
           is distinct from c.enabled
    union all
    select 'tag', 'customer_tag_members', count(*)
      from public.customer_tag_members m
     where not private.tl_tag_assignment_recorded(m)
  ),
  orphans as (
    select e.event_type, e.source_table, count(*) as n
      from public.customer_timeline_events e
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
     group by 1, 2
    union all
    -- a tag assignment whose latest event says 'assigned' while the row is gone
    select 'tag', 'customer_tag_members', count(*)
      from (select distinct on (e.reference_id, e.customer_id) e.reference_id, e.customer_id, e.metadata ->> 'action' as action
              from public.customer_timeline_events e
             where e.source_table = 'customer_tag_members'
             order by e.reference_id, e.customer_id, e.seq desc) last
     where last.action = 'assigned'
       and not exists (select 1 from public.customer_tag_members m where m.tag_id = last.reference_id and m.customer_id = last.customer_id)
  )
  select s.event_type, s.source_table,
         coalesce((select sum(m.n) from missing m where m.source_table = s.source_table), 0)::bigint,
         coalesce((select sum(o.n) from orphans o where o.source_table = s.source_table), 0)::bigint
    from (values ('booking', 'bookings'), ('logistics', 'logistics_tasks'), ('payment', 'payments'),
                 ('payment', 'manual_payments'), ('support', 'support_tickets'), ('support', 'support_messages'),
                 ('insurance', 'insurance_documents'), ('campaign', 'email_logs'), ('note', 'customer_notes'),
                 ('consent', 'customer_consent'), ('tag', 'customer_tag_members')) s(event_type, source_table)
$$;

-- The drift check of the issue: missing and extra counts for each event type fed by a source.
create or replace function private.timeline_drift()
returns table (event_type text, missing bigint, extra bigint)
language sql
stable
security definer
set search_path = ''
as $$
  select d.event_type, sum(d.missing)::bigint, sum(d.extra)::bigint
    from private.timeline_drift_by_source() d
   group by d.event_type
   order by d.event_type
$$;

-- ---------------------------------------------------------------------------------------------
-- Backfill: writes what the drift check finds missing, marks what it finds extra.
-- Returns {"inserted":{"<event_type>":n},"marked_deleted":n}.
-- ---------------------------------------------------------------------------------------------

create or replace function private.backfill_customer_timeline()
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  seq_before bigint := coalesce((select max(e.seq) from public.customer_timeline_events e), 0);
  marked bigint := 0;
  total bigint;
  inserted jsonb;
begin
  -- creation events
  perform private.tl_record_bookings('created',
    array(select b from public.bookings b where not private.tl_has_event('bookings', b.id, 'created')));
  perform private.tl_record_logistics('scheduled',
    array(select t from public.logistics_tasks t where not private.tl_has_event('logistics_tasks', t.id, 'scheduled')));
  perform private.tl_record_manual_payments(
    array(select m from public.manual_payments m where not private.tl_has_event('manual_payments', m.id, 'recorded')));
  perform private.tl_record_tickets('opened',
    array(select t from public.support_tickets t where not private.tl_has_event('support_tickets', t.id, 'opened')));
  perform private.tl_record_support_messages(
    array(select m from public.support_messages m where not private.tl_has_event('support_messages', m.id, 'message')));
  perform private.tl_record_insurance('uploaded',
    array(select d from public.insurance_documents d where not private.tl_has_event('insurance_documents', d.id, 'uploaded')));
  perform private.tl_record_emails('sent',
    array(select l from public.email_logs l where l.customer_id is not null and not private.tl_has_event('email_logs', l.id, 'sent')));
  perform private.tl_record_notes(
    array(select n from public.customer_notes n where not private.tl_has_event('customer_notes', n.id, 'note')));

  -- current state, where the latest event does not carry it
  perform private.tl_record_bookings('status', array_agg(b order by b.id), array_agg(last.status order by b.id))
     from public.bookings b
     cross join lateral (select (private.tl_latest_event('bookings', b.id)).metadata ->> 'status' as status) last
    where last.status is distinct from b.status;
  perform private.tl_record_logistics('status', array_agg(t order by t.id), array_agg(last.status order by t.id))
     from public.logistics_tasks t
     cross join lateral (select (private.tl_latest_event('logistics_tasks', t.id)).metadata ->> 'status' as status) last
    where private.tl_logistics_status_is_eventful(t.status) and last.status is distinct from t.status;
  perform private.tl_record_payments('status', array_agg(p order by p.id), array_agg(last.status order by p.id))
     from public.payments p
     cross join lateral (select (private.tl_latest_event('payments', p.id)).metadata ->> 'status' as status) last
    where private.tl_payment_status_is_eventful(p.status) and last.status is distinct from p.status;
  perform private.tl_record_tickets('status', array_agg(t order by t.id), array_agg(last.status order by t.id))
     from public.support_tickets t
     cross join lateral (select (private.tl_latest_event('support_tickets', t.id)).metadata ->> 'status' as status) last
    where last.status is distinct from t.status;
  perform private.tl_record_insurance('status', array_agg(d order by d.id), array_agg(last.status order by d.id))
     from public.insurance_documents d
     cross join lateral (select (private.tl_latest_event('insurance_documents', d.id)).metadata ->> 'status' as status) last
    where last.status is distinct from d.status;
  perform private.tl_record_emails('status', array_agg(l order by l.id), array_agg(last.status order by l.id))
     from public.email_logs l
     cross join lateral (select (private.tl_latest_event('email_logs', l.id)).metadata ->> 'status' as status) last
    where l.customer_id is not null and last.status is distinct from l.status;
  perform private.tl_record_consents(array_agg(c order by c.customer_id, c.channel), array_agg(last.enabled order by c.customer_id, c.channel))
     from public.customer_consent c
     cross join lateral (select ((private.tl_latest_event('customer_consent', c.customer_id, c.channel || ':')).metadata ->> 'enabled')::boolean as enabled) last
    where coalesce(last.enabled, false) is distinct from c.enabled;
  perform private.tl_record_tags('assigned',
    array(select m from public.customer_tag_members m where not private.tl_tag_assignment_recorded(m)));

  -- tag assignments gone without their 'removed' event
  perform private.tl_record_tags('removed', array(
    select row(last.customer_id, last.reference_id, null, null)::public.customer_tag_members
      from (select distinct on (e.reference_id, e.customer_id) e.reference_id, e.customer_id, e.metadata ->> 'action' as action
              from public.customer_timeline_events e
             where e.source_table = 'customer_tag_members'
             order by e.reference_id, e.customer_id, e.seq desc) last
     where last.action = 'assigned'
       and not exists (select 1 from public.customer_tag_members m where m.tag_id = last.reference_id and m.customer_id = last.customer_id)));

  -- events of deleted rows: the delete rule, applied late
  update public.customer_timeline_events e
     set source_deleted_at = now(),
         title = case e.source_table when 'customer_notes' then 'Note deleted'
                                     when 'support_messages' then 'Support message deleted' else e.title end,
         metadata = e.metadata - array['note', 'excerpt']::text[]
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
         end;
  get diagnostics marked = row_count;

  select coalesce(jsonb_object_agg(x.event_type, x.n), '{}'::jsonb) into inserted
    from (select e.event_type, count(*) as n from public.customer_timeline_events e
           where e.seq > seq_before group by e.event_type) x;
  total := (select count(*) from public.customer_timeline_events e where e.seq > seq_before);
  return jsonb_build_object('inserted', inserted, 'inserted_total', total, 'marked_deleted', marked);
end
$$;

-- Definer: they read and mark past RLS and column privileges; only postgres and the service
-- role (operations, cron) may run them.
revoke execute on function private.timeline_drift(), private.timeline_drift_by_source(),
  private.backfill_customer_timeline() from public;
grant execute on function private.timeline_drift(), private.timeline_drift_by_source(),
  private.backfill_customer_timeline() to service_role;
