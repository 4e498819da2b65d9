-- The two writers (record_timeline_event for one event, record_timeline_events for a statement's
-- events) share the identity: a repeat, inside one call or across calls and writers, writes
-- nothing and counts nothing; an event without a customer is skipped; the counts they keep
-- equal a plain count of the events, and a delete takes its events out of them.
begin;
select plan(9);

select tests.create_user('tl-writers-customer@example.test') as customer \gset
select gen_random_uuid() as ref \gset

select private.record_timeline_events(array[
  row(:'customer', 'note', 'tests', :'ref', 'a', '2026-05-01 10:00+00', 'A', '{"x": 1}')::private.timeline_event,
  row(:'customer', 'note', 'tests', :'ref', 'b', '2026-05-02 10:00+00', 'B', null)::private.timeline_event,
  row(:'customer', 'payment', 'tests', :'ref', 'c', '2026-05-02 11:00+00', 'C', '{}')::private.timeline_event,
  -- the same identity twice in one call: written once
  row(:'customer', 'payment', 'tests', :'ref', 'c', '2026-05-02 11:00+00', 'C again', '{}')::private.timeline_event,
  row(null, 'note', 'tests', :'ref', 'no-customer', '2026-05-02 11:00+00', 'skipped', '{}')::private.timeline_event]);

select results_eq(format($$select event_key, title, metadata from public.customer_timeline_events where reference_id = %L order by event_key$$, :'ref'),
  $$values ('a', 'A', '{"x": 1}'::jsonb), ('b', 'B', '{}'::jsonb), ('c', 'C', '{}'::jsonb)$$,
  'a set write stores each identity once (the first), with {} for no metadata, and skips an event without a customer');

-- the same events again, through either writer: nothing new
select private.record_timeline_events(array[
  row(:'customer', 'note', 'tests', :'ref', 'a', '2026-05-01 10:00+00', 'A2', '{}')::private.timeline_event]);
select private.record_timeline_event(:'customer', 'payment', 'tests', :'ref', 'c', '2026-05-02 11:00+00', 'C3');
select is((select count(*)::int from public.customer_timeline_events where reference_id = :'ref'), 3, 'repeats through either writer write nothing');
select is((select title from public.customer_timeline_events where reference_id = :'ref' and event_key = 'a'), 'A', 'and change nothing');

select private.record_timeline_event(:'customer', 'note', 'tests', :'ref', 'd', '2026-05-03 09:00+00', 'D');
select private.record_timeline_events(null);
select private.record_timeline_events('{}');

select is(private.timeline_counts(:'customer', array['note', 'payment'], null, null), '{"note": 3, "payment": 1}'::jsonb,
  'totals count each written event once, whichever writer wrote it');
select is(private.timeline_counts(:'customer', array['note', 'payment'], '2026-05-02 00:00+00', '2026-05-04 00:00+00'), '{"note": 2, "payment": 1}'::jsonb,
  'and so do the per-day counts');
select is((select sum(n)::int from private.customer_timeline_counts where customer_id = :'customer'),
  (select count(*)::int from public.customer_timeline_events where customer_id = :'customer'), 'the day rollup holds every event once');
select is((select count(*)::int from private.customer_timeline_totals where customer_id = :'customer' and event_type = 'note'), 2,
  'a set write appends one delta per (customer, type), not one per event');

delete from public.customer_timeline_events where reference_id = :'ref' and event_key in ('a', 'c');
select is(private.timeline_counts(:'customer', array['note', 'payment'], null, null), '{"note": 2, "payment": 0}'::jsonb,
  'deleted events leave the totals');
select is(private.timeline_counts(:'customer', array['note', 'payment'], '2026-05-01 00:00+00', '2026-05-04 00:00+00'), '{"note": 2, "payment": 0}'::jsonb,
  'and the per-day counts');

select * from finish();
rollback;
