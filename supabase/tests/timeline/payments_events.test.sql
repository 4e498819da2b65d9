-- payments -> 'payment' events: succeeded, failed, refunded (pending yields nothing);
-- manual_payments -> 'payment' event: recorded.
begin;
select plan(9);

select * from tests.customer_and_admin('tl-pay') \gset
insert into public.bookings (id, customer_id, status, start_date, end_date, created_at)
values ('10000000-0000-4000-a000-0000000002b1', :'customer', 'confirmed', '2026-05-03', '2026-05-05', '2026-04-20 10:00+00');

insert into public.payments (id, customer_id, booking_id, amount, currency, status, created_at)
values ('10000000-0000-4000-a000-0000000002a1', :'customer', '10000000-0000-4000-a000-0000000002b1', 1234.5, 'NOK', 'pending', '2026-04-20 10:05+00');
select is_empty($$select 1 from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000002a1'$$,
  'a pending payment yields nothing');

update public.payments set status = 'succeeded' where id = '10000000-0000-4000-a000-0000000002a1';
select results_eq(
  $$select event_type, occurred_at, title, metadata from public.customer_timeline_events
     where reference_id = '10000000-0000-4000-a000-0000000002a1'$$,
  $$values ('payment', now(), 'Payment of 1234.50 NOK succeeded',
            '{"action":"succeeded","status":"succeeded","from":"pending","to":"succeeded","amount":1234.50,"currency":"NOK","booking_id":"10000000-0000-4000-a000-0000000002b1"}'::jsonb)$$,
  'success yields a payment event at the payment''s updated_at with amount and currency');

update public.payments set status = 'refunded' where id = '10000000-0000-4000-a000-0000000002a1';
select is((select title from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000002a1' order by seq desc limit 1),
  'Payment of 1234.50 NOK refunded', 'a refund yields its own event');

insert into public.payments (id, customer_id, amount, currency, status, created_at)
values ('10000000-0000-4000-a000-0000000002a2', :'customer', 99, 'EUR', 'failed', '2026-04-22 08:00+00');
select results_eq(
  $$select occurred_at, title, metadata ->> 'from' from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000002a2'$$,
  $$values ('2026-04-22 08:00+00'::timestamptz, 'Payment of 99.00 EUR failed', null::text)$$,
  'a payment inserted as failed yields its event at created_at');

insert into public.payments (id, customer_id, amount, currency, status, created_at)
values ('10000000-0000-4000-a000-0000000002a3', :'customer', 10, 'EUR', 'succeeded', '2026-04-23 08:00+00');
update public.payments set amount = 11 where id = '10000000-0000-4000-a000-0000000002a3';
select is((select count(*)::int from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000002a3'), 1,
  'an amount correction yields nothing');

insert into public.manual_payments (id, customer_id, booking_id, amount, method, recorded_by, received_at, created_at)
values ('10000000-0000-4000-a000-0000000002c1', :'customer', '10000000-0000-4000-a000-0000000002b1', 500, 'bank_transfer', :'admin',
        '2026-04-25 13:00+00', '2026-04-26 09:00+00');
select results_eq(
  $$select event_type, event_key, occurred_at, title from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000002c1'$$,
  $$values ('payment', 'recorded', '2026-04-25 13:00+00'::timestamptz, 'Manual payment of 500.00 recorded (bank transfer)')$$,
  'a manual payment yields "recorded" at received_at');
select is((select metadata ->> 'recorded_by' from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000002c1'),
  :'admin', 'who recorded it is in metadata');
select is((select metadata ->> 'method' from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000002c1'),
  'bank_transfer', 'the method is in metadata');
select is((select count(*)::int from public.customer_timeline_events where customer_id = :'customer' and event_type = 'payment'), 5,
  'five payment events in all');

select * from finish();
rollback;
