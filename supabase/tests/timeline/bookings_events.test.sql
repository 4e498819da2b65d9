-- bookings -> 'booking' events: created, status changed, cancelled; source times, readable titles.
begin;
select plan(14);

select tests.create_user('tl-book-customer@example.test') as customer \gset
insert into public.equipment_categories (id, slug, name) values ('10000000-0000-4000-a000-0000000000c1', 'tl-test-cat', 'Test category');
insert into public.equipment (id, category_id, name) values
  ('10000000-0000-4000-a000-0000000000e1', '10000000-0000-4000-a000-0000000000c1', 'Mini digger'),
  ('10000000-0000-4000-a000-0000000000e2', '10000000-0000-4000-a000-0000000000c1', 'Plate compactor');

insert into public.bookings (id, customer_id, status, start_date, end_date, total_amount, created_at)
values ('10000000-0000-4000-a000-0000000000b1', :'customer', 'pending', '2026-05-03', '2026-05-05', 1250, '2026-04-20 10:00+00');

select results_eq(
  $$select event_type, event_key, occurred_at, title, customer_id::text from public.customer_timeline_events
     where reference_id = '10000000-0000-4000-a000-0000000000b1'$$,
  format($$values ('booking', 'created', '2026-04-20 10:00+00'::timestamptz, 'Booking created: 3–5 May', %L)$$, :'customer'),
  'a new booking yields one booking event at its created_at with a readable title');
select is((select metadata from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000000b1'),
  '{"action":"created","status":"pending","from":null,"to":null,"start_date":"2026-05-03","end_date":"2026-05-05","total_amount":1250.00,"items":0}'::jsonb,
  'the created event carries status, dates, amount and item count');

insert into public.booking_items (booking_id, equipment_id, quantity) values
  ('10000000-0000-4000-a000-0000000000b1', '10000000-0000-4000-a000-0000000000e1', 1),
  ('10000000-0000-4000-a000-0000000000b1', '10000000-0000-4000-a000-0000000000e2', 1);
update public.bookings set status = 'confirmed' where id = '10000000-0000-4000-a000-0000000000b1';

select is((select title from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000000b1' and metadata ->> 'to' = 'confirmed'),
  'Booking confirmed: 2 items, 3–5 May', 'confirming yields "Booking confirmed: 2 items, 3–5 May"');
select is((select occurred_at from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000000b1' and metadata ->> 'to' = 'confirmed'),
  (select updated_at from public.bookings where id = '10000000-0000-4000-a000-0000000000b1'), 'a status change happens at the booking''s updated_at');
select is((select metadata - 'total_amount' from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000000b1' and metadata ->> 'to' = 'confirmed'),
  '{"action":"status_changed","status":"confirmed","from":"pending","to":"confirmed","start_date":"2026-05-03","end_date":"2026-05-05","items":2}'::jsonb,
  'a status change carries from -> to');

update public.bookings set total_amount = 1300 where id = '10000000-0000-4000-a000-0000000000b1';
select is((select count(*)::int from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000000b1'), 2,
  'an update that does not change the status yields nothing');
update public.bookings set status = 'confirmed' where id = '10000000-0000-4000-a000-0000000000b1';
select is((select count(*)::int from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000000b1'), 2,
  'setting the same status again yields nothing');

update public.bookings set status = 'cancelled' where id = '10000000-0000-4000-a000-0000000000b1';
select results_eq(
  $$select title, metadata ->> 'action', metadata ->> 'from' from public.customer_timeline_events
     where reference_id = '10000000-0000-4000-a000-0000000000b1' and metadata ->> 'to' = 'cancelled'$$,
  $$values ('Booking cancelled: 2 items, 3–5 May', 'cancelled', 'confirmed')$$,
  'cancelling yields a cancelled event');

-- back and forth within one transaction: every change keeps its own event
update public.bookings set status = 'confirmed' where id = '10000000-0000-4000-a000-0000000000b1';
update public.bookings set status = 'cancelled' where id = '10000000-0000-4000-a000-0000000000b1';
select is((select count(*)::int from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000000b1'), 5,
  'a status that returns within the same transaction is a new event, not swallowed');
select is((select count(distinct event_key)::int from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000000b1'), 5,
  'each event has its own identity');

update public.bookings set status = 'active' where id = '10000000-0000-4000-a000-0000000000b1';
update public.bookings set status = 'completed' where id = '10000000-0000-4000-a000-0000000000b1';
select results_eq(
  $$select title from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000000b1'
     and metadata ->> 'to' in ('active', 'completed') order by seq$$,
  $$values ('Booking started: 2 items, 3–5 May'), ('Booking completed: 2 items, 3–5 May')$$,
  'started and completed read as such');

-- a booking across months and years
insert into public.bookings (id, customer_id, status, start_date, end_date, created_at)
values ('10000000-0000-4000-a000-0000000000b2', :'customer', 'confirmed', '2026-12-30', '2027-01-02', '2026-12-01 09:00+00');
select is((select title from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000000b2'),
  'Booking created (confirmed): 30 Dec 2026–2 Jan 2027', 'a booking created already confirmed says so, with the years when they differ');
insert into public.bookings (id, customer_id, status, start_date, end_date, created_at)
values ('10000000-0000-4000-a000-0000000000b3', :'customer', 'pending', '2026-04-28', '2026-05-02', '2026-04-01 09:00+00');
select is((select title from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000000b3'),
  'Booking created: 28 Apr–2 May', 'a range across months names both months');

-- writing the same event again is a no-op: the identity is unique
select private.tl_record_bookings('created', array(select b from public.bookings b where b.id = '10000000-0000-4000-a000-0000000000b2'));
select is((select count(*)::int from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000000b2'), 1,
  'recording the same change twice yields one event');

select * from finish();
rollback;
