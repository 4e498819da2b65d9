-- Per-type counts for customer_timeline in milliseconds at any size: totals per (customer,
-- event type) for the unfiltered listing, and a rollup per (customer, UTC day, event type) for
-- a date range, both written by a trigger on the events in the same transaction. A count for a
-- date range sums the whole days inside it and counts the (at most two) partial boundary days
-- exactly from the events. Events are never moved between customers, types or times (only
-- marked), so insert and delete are all the rollups follow.
--
-- The rollups are append-only deltas (+1 per event, -1 per deleted event), summed on read and
-- compacted to one row per key every minute by pg_cron (crm_timeline_counts_compact). Upserting
-- one row per key instead would make every writer of a customer's events wait on the others
-- until commit, and deadlock two that touch two types in opposite orders.
--
-- No per-type index: with these counts a one-type filter pages in ~3 ms on the page index
-- alone, ~2 ms with a per-type index (npm run bench:timeline), not worth an index entry per event.

-- The timeline's event types, in the contract's order.
create or replace function private.timeline_event_types()
returns text[]
language sql
immutable
set search_path = ''
as $$
  select array['booking', 'payment', 'support', 'note', 'campaign', 'logistics', 'promotion',
               'insurance', 'consent', 'risk', 'tag', 'segment']
$$;

create table private.customer_timeline_counts (
  customer_id uuid not null references public.users (id) on delete cascade,
  day date not null,
  event_type text not null,
  n integer not null
);
comment on table private.customer_timeline_counts is
  'Event count deltas per customer, UTC day and type (sum them); written by trigger on customer_timeline_events, compacted by crm_timeline_counts_compact.';
create index customer_timeline_counts_key_idx on private.customer_timeline_counts (customer_id, day, event_type);
alter table private.customer_timeline_counts enable row level security;
revoke all on private.customer_timeline_counts from public, anon, authenticated, service_role;
grant select on private.customer_timeline_counts to authenticated, service_role;
create policy customer_timeline_counts_select_admin on private.customer_timeline_counts
  for select to authenticated using ((select private.is_admin()));

create table private.customer_timeline_totals (
  customer_id uuid not null references public.users (id) on delete cascade,
  event_type text not null,
  n integer not null
);
comment on table private.customer_timeline_totals is
  'Event count deltas per customer and type (sum them); written by trigger on customer_timeline_events, compacted by crm_timeline_counts_compact.';
create index customer_timeline_totals_key_idx on private.customer_timeline_totals (customer_id, event_type);
alter table private.customer_timeline_totals enable row level security;
revoke all on private.customer_timeline_totals from public, anon, authenticated, service_role;
grant select on private.customer_timeline_totals to authenticated, service_role;
create policy customer_timeline_totals_select_admin on private.customer_timeline_totals
  for select to authenticated using ((select private.is_admin()));

-- Row-level: record_timeline_event writes one event per statement, so a statement-level
-- trigger would fire per event anyway, with a transition table's setup on top.
create or replace function private.tg_customer_timeline_events__counts()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    insert into private.customer_timeline_counts (customer_id, day, event_type, n)
    values (new.customer_id, (new.occurred_at at time zone 'UTC')::date, new.event_type, 1);
    insert into private.customer_timeline_totals (customer_id, event_type, n)
    values (new.customer_id, new.event_type, 1);
  elsif tg_op = 'UPDATE' then
    if (new.customer_id, new.event_type, new.occurred_at) is not distinct from (old.customer_id, old.event_type, old.occurred_at) then
      return null;
    end if;
    raise exception using errcode = '0A000',
      message = 'customer_timeline_events: customer_id, event_type and occurred_at of an event never change';
  -- erasing the customer cascades here; their counts go with them
  elsif exists (select 1 from public.users u where u.id = old.customer_id) then
    insert into private.customer_timeline_counts (customer_id, day, event_type, n)
    values (old.customer_id, (old.occurred_at at time zone 'UTC')::date, old.event_type, -1);
    insert into private.customer_timeline_totals (customer_id, event_type, n)
    values (old.customer_id, old.event_type, -1);
  end if;
  return null;
end
$$;

create trigger _200_counts after insert or update of customer_id, event_type, occurred_at or delete on public.customer_timeline_events
  for each row execute function private.tg_customer_timeline_events__counts();

-- Folds the deltas into one row per key (dropping keys that sum to zero). One statement per
-- table: rows inserted meanwhile by open transactions are not visible to it and stay as deltas.
create or replace function private.compact_timeline_counts()
returns void
language sql
volatile
set search_path = ''
as $$
  with keys as (
    select c.customer_id, c.day, c.event_type from private.customer_timeline_counts c group by 1, 2, 3 having count(*) > 1
  ), folded as (
    delete from private.customer_timeline_counts c using keys k
     where c.customer_id = k.customer_id and c.day = k.day and c.event_type = k.event_type
    returning c.customer_id, c.day, c.event_type, c.n
  )
  insert into private.customer_timeline_counts (customer_id, day, event_type, n)
  select f.customer_id, f.day, f.event_type, sum(f.n) from folded f group by 1, 2, 3 having sum(f.n) <> 0;

  with keys as (
    select t.customer_id, t.event_type from private.customer_timeline_totals t group by 1, 2 having count(*) > 1
  ), folded as (
    delete from private.customer_timeline_totals t using keys k
     where t.customer_id = k.customer_id and t.event_type = k.event_type
    returning t.customer_id, t.event_type, t.n
  )
  insert into private.customer_timeline_totals (customer_id, event_type, n)
  select f.customer_id, f.event_type, sum(f.n) from folded f group by 1, 2 having sum(f.n) <> 0;
$$;

select cron.unschedule(j.jobid) from cron.job j where j.jobname = 'crm_timeline_counts_compact';
select cron.schedule('crm_timeline_counts_compact', '* * * * *', 'select private.compact_timeline_counts()');

insert into private.customer_timeline_counts (customer_id, day, event_type, n)
select e.customer_id, (e.occurred_at at time zone 'UTC')::date, e.event_type, count(*)
  from public.customer_timeline_events e group by 1, 2, 3;
insert into private.customer_timeline_totals (customer_id, event_type, n)
select e.customer_id, e.event_type, count(*) from public.customer_timeline_events e group by 1, 2;

-- Counts per type (every type of the filter, zero included) for [since, until). Admin only;
-- security invoker, so the caller's role and RLS decide.
create or replace function private.timeline_counts(customer_id uuid, types text[], since timestamptz, until timestamptz)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  since_day date := (timeline_counts.since at time zone 'UTC')::date;
  until_day date := (timeline_counts.until at time zone 'UTC')::date;
  result jsonb;
begin
  perform private.require_role('admin');
  if timeline_counts.since is null and timeline_counts.until is null then
    select jsonb_object_agg(t.event_type, coalesce(x.n, 0) order by t.ord)
      into result
      from unnest(coalesce(timeline_counts.types, private.timeline_event_types())) with ordinality t(event_type, ord)
      left join (select tt.event_type, sum(tt.n) as n from private.customer_timeline_totals tt
                  where tt.customer_id = timeline_counts.customer_id group by tt.event_type) x on x.event_type = t.event_type;
    return result;
  end if;
  with parts as (
    -- whole days inside the range, from the rollup
    select r.event_type, sum(r.n)::bigint as n
      from private.customer_timeline_counts r
     where r.customer_id = timeline_counts.customer_id
       and (timeline_counts.types is null or r.event_type = any (timeline_counts.types))
       and (since_day is null or r.day > since_day)
       and (until_day is null or r.day < until_day)
     group by r.event_type
    union all
    -- the partial day of since, exactly
    select e.event_type, count(*)
      from public.customer_timeline_events e
     where since_day is not null
       and e.customer_id = timeline_counts.customer_id
       and (timeline_counts.types is null or e.event_type = any (timeline_counts.types))
       and e.occurred_at >= timeline_counts.since
       and e.occurred_at < least(((since_day + 1)::timestamp at time zone 'UTC'), timeline_counts.until)
     group by e.event_type
    union all
    -- the partial day of until, exactly (unless it is since's day, counted above)
    select e.event_type, count(*)
      from public.customer_timeline_events e
     where until_day is not null
       and e.customer_id = timeline_counts.customer_id
       and (timeline_counts.types is null or e.event_type = any (timeline_counts.types))
       and e.occurred_at >= greatest((until_day::timestamp at time zone 'UTC'), timeline_counts.since,
                                     ((since_day + 1)::timestamp at time zone 'UTC'))
       and e.occurred_at < timeline_counts.until
     group by e.event_type
  )
  select jsonb_object_agg(t.event_type, coalesce((select sum(p.n) from parts p where p.event_type = t.event_type), 0) order by t.ord)
    into result
    from unnest(coalesce(timeline_counts.types, private.timeline_event_types())) with ordinality t(event_type, ord);
  return result;
end
$$;

revoke execute on function private.timeline_counts(uuid, text[], timestamptz, timestamptz), private.tg_customer_timeline_events__counts(),
  private.compact_timeline_counts() from public;
grant execute on function private.timeline_counts(uuid, text[], timestamptz, timestamptz), private.timeline_event_types()
  to authenticated, service_role;
