-- Delete rule: a deleted source row keeps its events, marked source_deleted_at (history stays);
-- the free text of deleted notes and messages is redacted; erasing a customer removes all.
begin;
select plan(10);

select * from tests.customer_and_admin('tl-del') \gset
insert into public.bookings (id, customer_id, start_date, end_date, created_at)
values ('10000000-0000-4000-a000-0000000008b1', :'customer', '2026-05-03', '2026-05-05', '2026-04-20 10:00+00');
update public.bookings set status = 'confirmed' where id = '10000000-0000-4000-a000-0000000008b1';
insert into public.logistics_tasks (id, booking_id, kind, scheduled_for, created_at)
values ('10000000-0000-4000-a000-0000000008d1', '10000000-0000-4000-a000-0000000008b1', 'delivery', '2026-05-03 08:00+00', '2026-04-21 10:00+00');
insert into public.customer_notes (id, customer_id, note, created_at)
values ('10000000-0000-4000-a000-0000000008a1', :'customer', 'Secret door code 1234', '2026-04-22 10:00+00');

select tests.act_as(:'admin');
delete from public.bookings where id = '10000000-0000-4000-a000-0000000008b1';
delete from public.customer_notes where id = '10000000-0000-4000-a000-0000000008a1';
select tests.act_as_postgres();

select results_eq(
  $$select event_key like 'status:%', title, source_deleted_at from public.customer_timeline_events
     where reference_id = '10000000-0000-4000-a000-0000000008b1' order by seq$$,
  $$values (false, 'Booking created: 3–5 May', now()), (true, 'Booking confirmed: 3–5 May', now())$$,
  'a deleted booking keeps its events, marked with the time of the delete');
select is((select source_deleted_at from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000008d1'), now(),
  'its logistics task, deleted by cascade, is marked too');
select results_eq(
  $$select title, metadata ? 'note', source_deleted_at from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000008a1'$$,
  $$values ('Note deleted', false, now())$$,
  'a deleted note''s event is kept with its text redacted from title and metadata');
select is_empty($$select * from private.timeline_drift() where missing <> 0 or extra <> 0$$, 'marked events are not drift');
select is((private.backfill_customer_timeline() ->> 'inserted_total')::int, 0, 'the backfill does not bring them back');

-- the API shows the mark in metadata
select tests.act_as(:'admin');
select is((select e -> 'metadata' ->> 'source_deleted_at'
             from jsonb_array_elements(public.customer_timeline(:'customer') -> 'events') e
            where e ->> 'reference_id' = '10000000-0000-4000-a000-0000000008a1')::timestamptz,
  now(), 'customer_timeline shows source_deleted_at in metadata');
select is((select count(*)::int from jsonb_array_elements(public.customer_timeline(:'customer') -> 'events')), 4,
  'and still lists the deleted rows'' events');
select tests.act_as_postgres();

-- a support message is redacted likewise
insert into public.support_tickets (id, customer_id, subject) values ('10000000-0000-4000-a000-0000000008c1', :'customer', 'Access');
insert into public.support_messages (id, ticket_id, sender_id, body) values ('10000000-0000-4000-a000-0000000008c2', '10000000-0000-4000-a000-0000000008c1', :'customer', 'My PIN is 9999');
delete from public.support_tickets where id = '10000000-0000-4000-a000-0000000008c1';
select results_eq(
  $$select title, metadata ? 'excerpt', source_deleted_at is not null from public.customer_timeline_events
     where reference_id = '10000000-0000-4000-a000-0000000008c2'$$,
  $$values ('Support message deleted', false, true)$$,
  'a message deleted with its ticket is kept, redacted');

-- erasing the customer removes their timeline entirely
delete from public.users where id = :'customer';
select is_empty(format('select 1 from public.customer_timeline_events where customer_id = %L', :'customer'), 'an erased customer''s events are gone');
select is_empty($$select * from private.timeline_drift() where missing <> 0 or extra <> 0$$, 'no drift after the erasure');

select * from finish();
rollback;
