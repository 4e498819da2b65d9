-- customer_timeline refuses bad input with 22023 naming the parameter (PT404, HTTP 404, for an unknown
-- customer), before any role but admin could learn anything (42501 first).
begin;
select plan(11);

select * from tests.customer_and_admin('tl-bad') \gset
select tests.act_as(:'admin');

select throws_ok($$select public.customer_timeline(null)$$, '22023', 'customer_id: is required', 'customer_id is required');
select throws_like(format($$select public.customer_timeline(%L, array['booking', 'bogus'])$$, :'customer'), 'event_types: ''bogus'' is not an event type%',
  'an unknown event type is named');
select throws_ok(format($$select public.customer_timeline(%L, array[null]::text[])$$, :'customer'), '22023', null, 'a null event type is refused');
select throws_ok(format($$select public.customer_timeline(%L, array[]::text[])$$, :'customer'), '22023',
  'event_types: must name at least one event type, or be null for all', 'an empty type list is refused');
select throws_like(format($$select public.customer_timeline(%L, null, '2026-05-02', '2026-05-01')$$, :'customer'), 'since: % is after until %',
  'since after until is refused');
select throws_ok(format($$select public.customer_timeline(%L, page_size => 0)$$, :'customer'), '22023', 'page_size: must be between 1 and 500; got 0', 'page_size 0');
select throws_ok(format($$select public.customer_timeline(%L, page_size => 501)$$, :'customer'), '22023', 'page_size: must be between 1 and 500; got 501', 'page_size 501');
select throws_like(format($$select public.customer_timeline(%L, cursor => 'not-a-cursor!')$$, :'customer'), 'cursor: is not a cursor%', 'a garbage cursor');
select throws_like(format($$select public.customer_timeline(%L, cursor => %L)$$, :'customer',
                          private.timeline_cursor_encode('{"v":1,"o":"2026-01-01T00:00:00Z","i":"00000000-0000-4000-a000-000000000000","f":"other","c":{}}')),
  'cursor: belongs to another customer or other filters%', 'a cursor of another listing');
select throws_ok($$select public.customer_timeline('00000000-0000-4000-a000-00000000dead')$$, 'PT404', null, 'an unknown customer is not found');

select tests.act_as(:'customer');
select throws_ok($$select public.customer_timeline(null, array['bogus'])$$, '42501', null, 'a non-admin gets 42501 whatever the input');

select * from finish();
rollback;
