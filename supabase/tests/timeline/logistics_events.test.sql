-- logistics_tasks -> 'logistics' events: scheduled, done, failed (in_transit yields nothing).
begin;
select plan(9);

select tests.create_user('tl-log-customer@example.test') as customer \gset
insert into public.bookings (id, customer_id, status, start_date, end_date, created_at)
values ('10000000-0000-4000-a000-0000000001b1', :'customer', 'confirmed', '2026-05-03', '2026-05-05', '2026-04-20 10:00+00');

insert into public.logistics_tasks (id, booking_id, kind, scheduled_for, created_at)
values ('10000000-0000-4000-a000-0000000001d1', '10000000-0000-4000-a000-0000000001b1', 'delivery', '2026-05-03 08:00+00', '2026-04-21 12:00+00');
select results_eq(
  $$select event_type, event_key, occurred_at, title, customer_id::text, metadata ->> 'booking_id', metadata ->> 'scheduled_for'
      from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000001d1'$$,
  format($$values ('logistics', 'scheduled', '2026-04-21 12:00+00'::timestamptz, 'Delivery scheduled for 3 May, 08:00', %L,
                   '10000000-0000-4000-a000-0000000001b1', '2026-05-03T08:00:00+00:00')$$, :'customer'),
  'a new task yields "scheduled" at its created_at, for the booking''s customer');

update public.logistics_tasks set status = 'in_transit' where id = '10000000-0000-4000-a000-0000000001d1';
select is((select count(*)::int from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000001d1'), 1,
  'in transit yields nothing');

update public.logistics_tasks set status = 'done', completed_at = '2026-05-03 09:15+00' where id = '10000000-0000-4000-a000-0000000001d1';
select results_eq(
  $$select occurred_at, title, metadata ->> 'action', metadata ->> 'from', metadata ->> 'to'
      from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000001d1' and event_key <> 'scheduled'$$,
  $$values ('2026-05-03 09:15+00'::timestamptz, 'Delivery done on 3 May, 09:15', 'done', 'in_transit', 'done')$$,
  'done happens at completed_at');

insert into public.logistics_tasks (id, booking_id, kind, scheduled_for, created_at)
values ('10000000-0000-4000-a000-0000000001d2', '10000000-0000-4000-a000-0000000001b1', 'pickup', '2026-05-05 16:00+00', '2026-04-21 12:00+00');
update public.logistics_tasks set status = 'failed' where id = '10000000-0000-4000-a000-0000000001d2';
select results_eq(
  $$select occurred_at, title, metadata ->> 'action' from public.customer_timeline_events
     where reference_id = '10000000-0000-4000-a000-0000000001d2' and event_key <> 'scheduled'$$,
  $$values (now(), 'Pickup failed', 'failed')$$,
  'failed happens at the task''s updated_at');
update public.logistics_tasks set status = 'scheduled', scheduled_for = '2026-05-06 10:00+00' where id = '10000000-0000-4000-a000-0000000001d2';
select is((select title from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000001d2' order by seq desc limit 1),
  'Pickup rescheduled for 6 May, 10:00', 'a failed task scheduled again is "rescheduled"');
update public.logistics_tasks set scheduled_for = '2026-05-07 10:00+00' where id = '10000000-0000-4000-a000-0000000001d2';
select is((select count(*)::int from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000001d2'), 3,
  'changes other than the status yield nothing');

-- a task recorded after the fact, already done: scheduled, then done
insert into public.logistics_tasks (id, booking_id, kind, status, scheduled_for, completed_at, created_at)
values ('10000000-0000-4000-a000-0000000001d3', '10000000-0000-4000-a000-0000000001b1', 'pickup', 'done',
        '2026-05-05 16:00+00', '2026-05-05 17:00+00', '2026-04-21 12:00+00');
select results_eq(
  $$select event_key, occurred_at, metadata ->> 'status' from public.customer_timeline_events
     where reference_id = '10000000-0000-4000-a000-0000000001d3' order by seq$$,
  $$values ('scheduled', '2026-04-21 12:00+00'::timestamptz, 'scheduled'),
           ('status:done@2026-05-05T17:00:00.000000Z', '2026-05-05 17:00+00'::timestamptz, 'done')$$,
  'a task inserted as done yields scheduled and done, each at its own time');
select is((select title from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000001d3' order by seq desc limit 1),
  'Pickup done on 5 May, 17:00', 'with a readable title');
select is((select count(*)::int from public.customer_timeline_events where source_table = 'logistics_tasks' and customer_id = :'customer'), 7,
  'seven logistics events in all: 2 + 3 + 2');

select * from finish();
rollback;
