-- Per-type counts for customer_timeline in milliseconds at any size: totals per (customer,
-- event type) for the unfiltered listing, and a rollup per (customer, UTC day, event type) for
-- a date range, both kept by statement-level triggers on the events in the same transaction.
-- A count for a date range sums the whole days inside it and counts the (at most two) partial
-- boundary days exactly from the events. Events are never moved between customers,
-- types or times (only marked), so insert and delete are all the rollup follows.
-- No per-type index: with the counts here, a one-type filter pages in ~3 ms on the page index
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
  n integer not null constraint customer_timeline_counts_n_not_negative check (n >= 0),
  primary key (customer_id, day, event_type)
);
comment on table private.customer_timeline_counts is
  'Events per customer, UTC day and type; kept by triggers on customer_timeline_events for the timeline''s counts.';
alter table private.customer_timeline_counts enable row level security;
revoke all on private.customer_timeline_counts from public, anon, authenticated, service_role;
grant select on private.customer_timeline_counts to authenticated, service_role;
create policy customer_timeline_counts_select_admin on private.customer_timeline_counts
  for select to authenticated using ((select private.is_admin()));

create table private.customer_timeline_totals (
  customer_id uuid not null references public.users (id) on delete cascade,
  event_type text not null,
  n integer not null constraint customer_timeline_totals_n_not_negative check (n >= 0),
  primary key (customer_id, event_type)
);
comment on table private.customer_timeline_totals is
  'Events per customer and type; kept by triggers on customer_timeline_events for the unfiltered counts.';
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
    insert into private.customer_timeline_counts as c (customer_id, day, event_type, n)
    values (new.customer_id, (new.occurred_at at time zone 'UTC')::date, new.event_type, 1)
    on conflict (customer_id, day, event_type) do update set n = c.n + 1;
    insert into private.customer_timeline_totals as t (customer_id, event_type, n)
    values (new.customer_id, new.event_type, 1)
    on conflict (customer_id, event_type) do update set n = t.n + 1;
  elsif tg_op = 'UPDATE' then
    if (new.customer_id, new.event_type, new.occurred_at) is not distinct from (old.customer_id, old.event_type, old.occurred_at) then
      return null;
    end if;
    raise exception using errcode = '0A000',
      message = 'customer_timeline_events: customer_id, event_type and occurred_at of an event never change';
  else
    -- an erased customer's rollup rows may already be gone with them: update, never insert
    update private.customer_timeline_counts c set n = c.n - 1
     where c.customer_id = old.customer_id and c.day = (old.occurred_at at time zone 'UTC')::date and c.event_type = old.event_type;
    update private.customer_timeline_totals t set n = t.n - 1
     where t.customer_id = old.customer_id and t.event_type = old.event_type;
  end if;
  return null;
end
$$;

create trigger _200_counts after insert or update of customer_id, event_type, occurred_at or delete on public.customer_timeline_events
  for each row execute function private.tg_customer_timeline_events__counts();

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
      left join private.customer_timeline_totals x on x.customer_id = timeline_counts.customer_id and x.event_type = t.event_type;
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
       and e.occurred_at < least(since_day + 1, timeline_counts.until)
     group by e.event_type
    union all
    -- the partial day of until, exactly (unless it is since's day, counted above)
    select e.event_type, count(*)
      from public.customer_timeline_events e
     where until_day is not null
       and e.customer_id = timeline_counts.customer_id
       and (timeline_counts.types is null or e.event_type = any (timeline_counts.types))
       and e.occurred_at >= greatest(until_day::timestamptz, timeline_counts.since, since_day + 1)
       and e.occurred_at < timeline_counts.until
     group by e.event_type
  )
  select jsonb_object_agg(t.event_type, coalesce((select sum(p.n) from parts p where p.event_type = t.event_type), 0) order by t.ord)
    into result
    from unnest(coalesce(timeline_counts.types, private.timeline_event_types())) with ordinality t(event_type, ord);
  return result;
end
$$;

revoke execute on function private.timeline_counts(uuid, text[], timestamptz, timestamptz), private.tg_customer_timeline_events__counts() from public;
grant execute on function private.timeline_counts(uuid, text[], timestamptz, timestamptz), private.timeline_event_types()
  to authenticated, service_role;
