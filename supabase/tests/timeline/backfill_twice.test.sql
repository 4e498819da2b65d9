-- The backfill rebuilds the timeline from every source; running it twice adds nothing.
begin;
select plan(10);

-- start from an empty timeline: the backfill alone must rebuild it from the seeded sources
create temporary table before_events on commit drop as
  select source_table, reference_id, event_key, event_type, customer_id, occurred_at, title from public.customer_timeline_events;
delete from public.customer_timeline_events;

select cmp_ok((private.backfill_customer_timeline() ->> 'inserted_total')::int, '>', 1000, 'the first run rebuilds the seeded timeline');
select is((private.backfill_customer_timeline() -> 'inserted_total')::int, 0, 'a second run adds nothing');
select is((private.backfill_customer_timeline() ->> 'marked_deleted')::int, 0, 'and marks nothing');
select is_empty($$select * from private.timeline_drift() where missing <> 0 or extra <> 0$$, 'no drift after the backfill');

-- every source is rebuilt
select set_eq(
  $$select distinct source_table from public.customer_timeline_events$$,
  $$values ('bookings'), ('logistics_tasks'), ('payments'), ('manual_payments'), ('support_tickets'), ('support_messages'),
           ('insurance_documents'), ('customer_notes'), ('customer_consent'), ('customer_tag_members')$$,
  'every seeded source has events again');
-- creation events come back with the same identity, customer, time and title; rows recorded once
-- and never changed since (notes, messages, manual payments, tickets' openings) come back identical
select set_eq(
  $$select source_table, reference_id, event_key, event_type, customer_id, occurred_at, title from public.customer_timeline_events
     where event_key in ('note', 'message', 'recorded', 'opened', 'uploaded', 'scheduled')$$,
  $$select source_table, reference_id, event_key, event_type, customer_id, occurred_at, title from before_events
     where event_key in ('note', 'message', 'recorded', 'opened', 'uploaded', 'scheduled')$$,
  'creation events are rebuilt exactly as the triggers wrote them');
select is((select count(*)::int from public.customer_timeline_events where event_key = 'created'),
  (select count(*)::int from public.bookings), 'one created event per booking');

-- who may run them: the service role (operations), not staff
select tests.create_user('tl-bf-admin@example.test', array['admin']) as admin \gset
select tests.act_as_service();
select is((private.backfill_customer_timeline() ->> 'inserted_total')::int, 0, 'the service role runs the backfill');
select is((select count(*)::int from private.timeline_drift()), 9, 'and the drift check');
select tests.act_as(:'admin');
select throws_ok($$select private.backfill_customer_timeline()$$, '42501', null, 'an admin may not run the backfill');
select tests.act_as_postgres();

select * from finish();
rollback;
