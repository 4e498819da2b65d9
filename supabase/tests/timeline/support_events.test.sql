-- support_tickets -> 'support' events: opened, status changed; support_messages -> 'support'
-- event per message (reference_id the message, the ticket in metadata).
begin;
select plan(8);

select * from tests.customer_and_admin('tl-sup') \gset

insert into public.support_tickets (id, customer_id, subject, priority, created_at)
values ('10000000-0000-4000-a000-0000000003a1', :'customer', 'Generator will not start', 'urgent', '2026-04-20 10:00+00');
select results_eq(
  $$select event_type, event_key, occurred_at, title, metadata ->> 'priority' from public.customer_timeline_events
     where reference_id = '10000000-0000-4000-a000-0000000003a1'$$,
  $$values ('support', 'opened', '2026-04-20 10:00+00'::timestamptz, 'Support ticket opened (urgent): Generator will not start', 'urgent')$$,
  'a new ticket yields "opened" at created_at, urgency in the title');

select tests.status_changes_are('support_tickets', '10000000-0000-4000-a000-0000000003a1', array['open', 'resolved', 'open'],
  array['Support ticket resolved: Generator will not start', 'Support ticket reopened: Generator will not start'],
  'status changes yield events at updated_at, a reopened ticket says so');
update public.support_tickets set priority = 'low' where id = '10000000-0000-4000-a000-0000000003a1';
select is((select count(*)::int from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000003a1'), 3,
  'a priority change yields nothing');

insert into public.support_messages (id, ticket_id, sender_id, body, created_at) values
  ('10000000-0000-4000-a000-0000000003b1', '10000000-0000-4000-a000-0000000003a1', :'customer',
   E'It makes a  clicking noise\nand then stops.', '2026-04-20 10:05+00'),
  ('10000000-0000-4000-a000-0000000003b2', '10000000-0000-4000-a000-0000000003a1', :'admin',
   'A technician is on the way.', '2026-04-20 10:30+00');
select results_eq(
  $$select event_type, occurred_at, title, customer_id::text from public.customer_timeline_events
     where reference_id in ('10000000-0000-4000-a000-0000000003b1', '10000000-0000-4000-a000-0000000003b2') order by occurred_at$$,
  format($$values ('support', '2026-04-20 10:05+00'::timestamptz, 'Customer wrote: It makes a clicking noise and then stops.', %1$L),
                  ('support', '2026-04-20 10:30+00'::timestamptz, 'Staff replied: A technician is on the way.', %1$L)$$, :'customer'),
  'each message yields an event on the ticket''s customer at its created_at, saying who wrote');
select is((select metadata ->> 'ticket_id' from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000003b1'),
  '10000000-0000-4000-a000-0000000003a1', 'the ticket is in metadata');
select is((select (metadata ->> 'from_customer')::boolean from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000003b2'),
  false, 'a staff reply is marked as not from the customer');
select is((select metadata ->> 'excerpt' from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000003b1'),
  E'It makes a  clicking noise\nand then stops.', 'metadata keeps the message text as written');

insert into public.support_messages (ticket_id, sender_id, body, created_at)
values ('10000000-0000-4000-a000-0000000003a1', :'customer', repeat('long ', 100), '2026-04-20 11:00+00');
select is((select char_length(title) from public.customer_timeline_events where source_table = 'support_messages' and occurred_at = '2026-04-20 11:00+00'),
  char_length('Customer wrote: ') + 120, 'a long message is cut to a short title');

select * from finish();
rollback;
