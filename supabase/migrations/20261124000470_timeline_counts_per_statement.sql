-- Timeline counts kept per statement: the deltas of a statement's events are summed per key and
-- appended once (one row per (customer, day, type) and per (customer, type) the statement
-- touched), instead of two rows per event from a row-level trigger. Still append-only and in
-- the same transaction, compacted by crm_timeline_counts_compact, read by timeline_counts as
-- before; with the set-based writer (20261124000460) a source statement's events arrive in one
-- insert, so this runs once per source statement.

drop trigger _200_counts on public.customer_timeline_events;
drop function private.tg_customer_timeline_events__counts();

create or replace function private.tg_customer_timeline_events__counts()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    insert into private.customer_timeline_counts (customer_id, day, event_type, n)
    select n.customer_id, (n.occurred_at at time zone 'UTC')::date, n.event_type, count(*) from new_rows n group by 1, 2, 3;
    insert into private.customer_timeline_totals (customer_id, event_type, n)
    select n.customer_id, n.event_type, count(*) from new_rows n group by 1, 2;
  else
    -- erasing the customer cascades here; their counts go with them
    insert into private.customer_timeline_counts (customer_id, day, event_type, n)
    select o.customer_id, (o.occurred_at at time zone 'UTC')::date, o.event_type, -count(*)
      from old_rows o where exists (select 1 from public.users u where u.id = o.customer_id) group by 1, 2, 3;
    insert into private.customer_timeline_totals (customer_id, event_type, n)
    select o.customer_id, o.event_type, -count(*)
      from old_rows o where exists (select 1 from public.users u where u.id = o.customer_id) group by 1, 2;
  end if;
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

create trigger _200_counts_insert after insert on public.customer_timeline_events
  referencing new table as new_rows for each statement execute function private.tg_customer_timeline_events__counts();
create trigger _200_counts_delete after delete on public.customer_timeline_events
  referencing old table as old_rows for each statement execute function private.tg_customer_timeline_events__counts();
create trigger _010_fixed before update of customer_id, event_type, occurred_at on public.customer_timeline_events
  for each row execute function private.tg_customer_timeline_events__fixed();

revoke execute on function private.tg_customer_timeline_events__counts(), private.tg_customer_timeline_events__fixed() from public;
