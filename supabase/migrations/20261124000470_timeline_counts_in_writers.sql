-- Timeline counts kept by the writers, per statement. The row-level trigger appended two delta
-- rows per event (and, fired by one-event statements, cost more as a statement-level trigger
-- with a transition table than the event itself). Now each writer appends the deltas of what it
-- actually inserted (`returning` of its `on conflict do nothing` insert) in the same statement:
-- one row per (customer, day, type) and per (customer, type) it touched. Still append-only, in
-- the same transaction, compacted by crm_timeline_counts_compact and read by timeline_counts.
-- Events are written only through these two writers (nobody else holds insert on the table; see
-- rls.test.sql), so the counts stay exact. Deletes (erasure cascades, maintenance) keep a
-- statement-level trigger; an update that would move an event keeps its row-level refusal.

drop trigger _200_counts on public.customer_timeline_events;
drop function private.tg_customer_timeline_events__counts();

create or replace function private.record_timeline_event(
  customer_id uuid,
  event_type text,
  source_table text,
  reference_id uuid,
  event_key text,
  occurred_at timestamptz,
  title text,
  metadata jsonb default '{}'::jsonb
)
returns void
language sql
volatile
security definer
set search_path = ''
as $$
  with written as (
    insert into public.customer_timeline_events (customer_id, event_type, source_table, reference_id, event_key, occurred_at, title, metadata)
    select record_timeline_event.customer_id, record_timeline_event.event_type, record_timeline_event.source_table,
           record_timeline_event.reference_id, record_timeline_event.event_key, record_timeline_event.occurred_at,
           record_timeline_event.title, coalesce(record_timeline_event.metadata, '{}'::jsonb)
     where record_timeline_event.customer_id is not null
    on conflict on constraint customer_timeline_events_identity_key do nothing
    returning customer_timeline_events.customer_id, customer_timeline_events.event_type, customer_timeline_events.occurred_at
  ), counted as (
    insert into private.customer_timeline_counts (customer_id, day, event_type, n)
    select w.customer_id, (w.occurred_at at time zone 'UTC')::date, w.event_type, 1 from written w
  )
  insert into private.customer_timeline_totals (customer_id, event_type, n)
  select w.customer_id, w.event_type, 1 from written w
$$;

create or replace function private.record_timeline_events(events private.timeline_event[])
returns void
language sql
volatile
security definer
set search_path = ''
as $$
  with written as (
    insert into public.customer_timeline_events (customer_id, event_type, source_table, reference_id, event_key, occurred_at, title, metadata)
    select e.customer_id, e.event_type, e.source_table, e.reference_id, e.event_key, e.occurred_at, e.title, coalesce(e.metadata, '{}'::jsonb)
      from unnest(record_timeline_events.events) e
     where e.customer_id is not null
    on conflict on constraint customer_timeline_events_identity_key do nothing
    returning customer_timeline_events.customer_id, customer_timeline_events.event_type, customer_timeline_events.occurred_at
  ), counted as (
    insert into private.customer_timeline_counts (customer_id, day, event_type, n)
    select w.customer_id, (w.occurred_at at time zone 'UTC')::date, w.event_type, count(*) from written w group by 1, 2, 3
  )
  insert into private.customer_timeline_totals (customer_id, event_type, n)
  select w.customer_id, w.event_type, count(*) from written w group by 1, 2
$$;

create or replace function private.tg_customer_timeline_events__uncount()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- erasing the customer cascades here; their counts go with them
  insert into private.customer_timeline_counts (customer_id, day, event_type, n)
  select o.customer_id, (o.occurred_at at time zone 'UTC')::date, o.event_type, -count(*)
    from old_rows o where exists (select 1 from public.users u where u.id = o.customer_id) group by 1, 2, 3;
  insert into private.customer_timeline_totals (customer_id, event_type, n)
  select o.customer_id, o.event_type, -count(*)
    from old_rows o where exists (select 1 from public.users u where u.id = o.customer_id) group by 1, 2;
  return null;
end
$$;

-- Events never move between customers, types or times (they are only marked), which is what
-- lets the counts follow inserts and deletes alone.
create or replace function private.tg_customer_timeline_events__fixed()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if (new.customer_id, new.event_type, new.occurred_at) is distinct from (old.customer_id, old.event_type, old.occurred_at) then
    raise exception using errcode = '0A000',
      message = 'customer_timeline_events: customer_id, event_type and occurred_at of an event never change';
  end if;
  return new;
end
$$;

create trigger _010_fixed before update of customer_id, event_type, occurred_at on public.customer_timeline_events
  for each row execute function private.tg_customer_timeline_events__fixed();
create trigger _200_counts_delete after delete on public.customer_timeline_events
  referencing old table as old_rows for each statement execute function private.tg_customer_timeline_events__uncount();

revoke execute on function private.tg_customer_timeline_events__uncount(), private.tg_customer_timeline_events__fixed() from public;
