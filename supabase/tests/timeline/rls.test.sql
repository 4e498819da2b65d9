-- RLS: admins read the timeline; customers (even their own) and anon do not; nobody writes it
-- directly; the RPC refuses non-admins with 42501.
begin;
select plan(12);

select * from tests.customer_and_admin('tl-rls') \gset
select tests.create_user('tl-rls-comms@example.test', array['communications']) as comms \gset
insert into public.customer_notes (customer_id, note, visibility) values (:'customer', 'Shared hello', 'shared');

select tests.act_as(:'admin');
select isnt_empty(format('select 1 from public.customer_timeline_events where customer_id = %L', :'customer'), 'an admin reads the timeline table');
select is(jsonb_array_length(public.customer_timeline(:'customer') -> 'events'), 1, 'an admin reads it through the RPC');
select throws_ok(format($$insert into public.customer_timeline_events (customer_id, event_type, source_table, reference_id, event_key, occurred_at, title)
                           values (%L, 'note', 'x', gen_random_uuid(), 'k', now(), 't')$$, :'customer'),
  '42501', null, 'an admin cannot write events directly');
select throws_ok(format($$delete from public.customer_timeline_events where customer_id = %L$$, :'customer'),
  '42501', null, 'an admin cannot delete events');

select tests.act_as(:'customer');
select is_empty(format('select 1 from public.customer_timeline_events where customer_id = %L', :'customer'), 'a customer does not see their own timeline');
select throws_ok(format($$select public.customer_timeline(%L)$$, :'customer'), '42501', null, 'a customer is refused the RPC, even for themselves');
select throws_ok(format($$select private.record_timeline_event(%L, 'note', 'x', gen_random_uuid(), 'k', now(), 't')$$, :'customer'),
  '42501', null, 'a customer cannot call the writer');

select tests.act_as(:'comms');
select is_empty(format('select 1 from public.customer_timeline_events where customer_id = %L', :'customer'), 'communications without admin sees nothing');
select throws_ok(format($$select public.customer_timeline(%L)$$, :'customer'), '42501', null, 'and is refused the RPC');

select tests.act_as_anon();
select throws_ok(format('select 1 from public.customer_timeline_events where customer_id = %L', :'customer'), '42501', null, 'anon has no access to the table');
select throws_ok(format($$select public.customer_timeline(%L)$$, :'customer'), '42501', null, 'anon cannot call the RPC');

select tests.act_as_service();
select isnt_empty(format('select 1 from public.customer_timeline_events where customer_id = %L', :'customer'), 'the service role reads the table');

select * from finish();
rollback;
