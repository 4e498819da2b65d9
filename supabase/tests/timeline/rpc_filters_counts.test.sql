-- customer_timeline: newest first, filters by type and date range, per-type counts for the
-- current filters, a UTC day per event, contract shape.
begin;
select plan(12);

select * from tests.customer_and_admin('tl-rpc') \gset
insert into public.bookings (customer_id, start_date, end_date, created_at) values
  (:'customer', '2026-05-03', '2026-05-05', '2026-04-01 23:30+00'),
  (:'customer', '2026-06-03', '2026-06-05', '2026-05-01 10:00+00');
insert into public.payments (customer_id, amount, status, created_at) values
  (:'customer', 10, 'succeeded', '2026-04-02 00:30+00'),
  (:'customer', 20, 'failed', '2026-04-15 12:00+00'),
  (:'customer', 30, 'succeeded', '2026-06-01 12:00+00');
insert into public.customer_notes (customer_id, note, created_at) values (:'customer', 'Hi', '2026-04-10 08:00+00');

select tests.act_as(:'admin');
select is(public.customer_timeline(:'customer') -> 'counts',
  '{"booking":2,"payment":3,"support":0,"note":1,"campaign":0,"logistics":0,"promotion":0,"insurance":0,"consent":0,"risk":0,"tag":0,"segment":0}'::jsonb,
  'counts name every type, zero included');
select is((select array_agg(e ->> 'occurred_at' order by o) from jsonb_array_elements(public.customer_timeline(:'customer') -> 'events') with ordinality x(e, o)),
  array['2026-06-01T12:00:00+00:00', '2026-05-01T10:00:00+00:00', '2026-04-15T12:00:00+00:00', '2026-04-10T08:00:00+00:00',
        '2026-04-02T00:30:00+00:00', '2026-04-01T23:30:00+00:00'], 'events come newest first');
select is((select array_agg(e ->> 'day' order by o) from jsonb_array_elements(public.customer_timeline(:'customer') -> 'events') with ordinality x(e, o)),
  array['2026-06-01', '2026-05-01', '2026-04-15', '2026-04-10', '2026-04-02', '2026-04-01'], 'each event has its UTC day');
select is((select array_agg(k order by k) from jsonb_array_elements(public.customer_timeline(:'customer') -> 'events') e, jsonb_object_keys(e) k
            where e ->> 'event_type' = 'note'),
  array['day', 'event_type', 'id', 'metadata', 'occurred_at', 'reference_id', 'title'], 'an event has the contract''s keys and day');
select is(public.customer_timeline(:'customer') -> 'next_cursor', 'null'::jsonb, 'a single page has no next cursor');

select is((select array_agg(distinct e ->> 'event_type') from jsonb_array_elements(public.customer_timeline(:'customer', array['payment']) -> 'events') e),
  array['payment'], 'filtering by type returns only that type');
select is(public.customer_timeline(:'customer', array['payment', 'note']) -> 'counts', '{"payment":3,"note":1}'::jsonb,
  'counts follow the type filter');
select is(jsonb_array_length(public.customer_timeline(:'customer', null, '2026-04-02', '2026-05-01 10:00+00') -> 'events'), 3,
  'since is inclusive and until exclusive');
select is((public.customer_timeline(:'customer', null, '2026-04-02', '2026-05-01 10:00+00') -> 'counts') - array['support','campaign','logistics','promotion','insurance','consent','risk','tag','segment'],
  '{"booking":0,"payment":2,"note":1}'::jsonb, 'counts follow the date range');
select is(jsonb_array_length(public.customer_timeline(:'customer', array['booking'], '2026-04-01', '2026-04-02') -> 'events'), 1,
  'type and range combine');
select is(public.customer_timeline(:'customer', null, '2026-04-02', '2026-04-02') -> 'events', '[]'::jsonb, 'an empty range is empty, not an error');
select is((select e ->> 'title' from jsonb_array_elements(public.customer_timeline(:'customer', array['payment'], page_size => 1) -> 'events') e),
  'Payment of 30.00 EUR succeeded', 'page_size limits the page');

select * from finish();
rollback;
