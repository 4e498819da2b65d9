-- evaluate_segment: the contract's shape, keyset paging by customer_id, admin only (42501),
-- read-only, timeout answered 54001 with a clear message, the timeout setting applied to the
-- functions; explain_segment_membership per rule.
begin;
select plan(24);

select * from tests.segment_world(7, 'Person ', 'Zqx Evaltown') \gset
insert into public.customer_tags (id, name) values ('30000000-0000-4000-a000-0000000000e1', 'segtest eval');
insert into public.customer_tag_members (customer_id, tag_id) select id, '30000000-0000-4000-a000-0000000000e1' from t_people where i = 1;


select tests.act_as(:'admin_id');
select public.evaluate_segment('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"zqx evaltown"}]}', 3) as page1 \gset
select is((:'page1'::jsonb ->> 'total')::int, 7, 'total counts every member');
select is(jsonb_array_length(:'page1'::jsonb -> 'members'), 3, 'a page has page_size members');
select is(array(select jsonb_object_keys(:'page1'::jsonb -> 'members' -> 0) order by 1),
          array['booking_count', 'city', 'customer_id', 'email', 'full_name', 'last_booking_at', 'lifetime_value', 'region',
                'risk_score', 'tags', 'total_spend'], 'a member has the contract''s keys');
select is(array(select (m ->> 'customer_id')::uuid from jsonb_array_elements(:'page1'::jsonb -> 'members') m),
          array(select id from t_people order by id limit 3), 'members come by customer_id ascending');
select is(:'page1'::jsonb ->> 'next_after', (select id::text from t_people order by id limit 1 offset 2), 'next_after is the last member of the page');
select public.evaluate_segment('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"zqx evaltown"}]}', 3,
                              (:'page1'::jsonb ->> 'next_after')::uuid) as page2 \gset
select is(array(select (m ->> 'customer_id')::uuid from jsonb_array_elements(:'page2'::jsonb -> 'members') m),
          array(select id from t_people order by id limit 3 offset 3), 'the next page starts after next_after');
select public.evaluate_segment('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"zqx evaltown"}]}', 3,
                              (:'page2'::jsonb ->> 'next_after')::uuid) as page3 \gset
select is(jsonb_array_length(:'page3'::jsonb -> 'members'), 1, 'the last page holds the rest');
select is(:'page3'::jsonb -> 'next_after', 'null'::jsonb, 'next_after is null on the last page');
select is(public.evaluate_segment('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"zqx evaltown"}]}', 7) -> 'next_after',
          'null'::jsonb, 'next_after is null when the page holds exactly the rest');
select is((public.evaluate_segment('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"zqx nowhere"}]}')),
          '{"total":0,"members":[],"next_after":null}'::jsonb, 'an empty segment');
select is((select m -> 'tags' -> 0 ->> 'name' from jsonb_array_elements(public.evaluate_segment(
            '{"version":1,"combinator":"and","rules":[{"field":"tag","operator":"containsAny","value":["30000000-0000-4000-a000-0000000000e1"]}]}') -> 'members') m),
          'segtest eval', 'members carry their tags by name');
select is(tests.raised($$select public.evaluate_segment('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"null"}]}', 0)$$),
          '22023 page_size: must be between 1 and 1000; got 0', 'page_size 0 is refused');

-- explain
select public.explain_segment_membership(
  '{"version":1,"combinator":"or","rules":[{"field":"city","operator":"=","value":"zqx evaltown"},{"combinator":"and","not":true,"rules":[{"field":"booking_count","operator":">","value":0}]}]}',
  (select id from t_people where i = 2)) as ex \gset
select is(:'ex'::jsonb -> 'member', 'true'::jsonb, 'explain says whether the customer is a member');
select is(:'ex'::jsonb #> '{explanation,rules,0}',
          jsonb_build_object('path', '$.rules[0]', 'field', 'city', 'operator', '=', 'value', 'zqx evaltown', 'customer_value', 'Zqx Evaltown', 'matched', true),
          'each rule: path, value, the customer''s value and whether it matched');
select is(:'ex'::jsonb #> '{explanation,rules,1,rules,0,matched}', 'false'::jsonb, 'a nested rule that did not match');
select is(:'ex'::jsonb #> '{explanation,rules,1,matched}', 'true'::jsonb, 'its not-group matched (0 bookings is not > 0)');
select is(tests.raised($$select public.explain_segment_membership('{"version":1,"combinator":"and","rules":[]}', gen_random_uuid())$$),
          '22023 $.rules: a group needs at least one rule', 'explain refuses an invalid definition with its path');
select is(tests.raised($$select public.explain_segment_membership('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"null"}]}', '00000000-0000-4000-8000-00000000dead')$$),
          'PT404 customer_id: no customer 00000000-0000-4000-8000-00000000dead', 'explain: unknown customer');

-- timeout: a huge definition under a tiny statement_timeout
select tests.act_as_postgres();
create temporary table t_big as
select jsonb_build_object('version', 1, 'combinator', 'or', 'rules',
         (select jsonb_agg(jsonb_build_object('field', 'city', 'operator', 'in', 'value', (select jsonb_agg('city ' || k || '-' || j) from generate_series(1, 500) k)))
            from generate_series(1, 100) j)) as d;
grant select on t_big to authenticated;
select tests.act_as(:'admin_id');
set local statement_timeout = '200ms';  -- well inside the 7 s of work, past the few ms before it
select matches(tests.raised($$select public.evaluate_segment((select d from t_big))$$),
               '^54001 segment evaluation was cancelled by statement_timeout: narrow the definition', 'a timeout answers 54001 (HTTP 413) with a clear message');
set local statement_timeout = 0;

-- the setting: default 10s on the evaluating functions; changing it re-applies it
select tests.act_as_postgres();
select is(tests.function_setting('public.evaluate_segment(jsonb, integer, uuid)', 'statement_timeout'), '10s',
          'evaluate_segment runs under the 10 s default');
update private.segment_settings set value = '2500ms' where key = 'statement_timeout';
select is(tests.function_setting('public.list_customers(jsonb, integer, uuid)', 'statement_timeout'), '2500ms',
          'a changed setting is applied to the functions');
select throws_ok($$update private.segment_settings set value = 'soon' where key = 'statement_timeout'$$, '22023', null, 'a setting that is not a duration is refused');

-- admin only
select tests.act_as(:'customer_id');
select throws_ok($$select public.evaluate_segment('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"null"}]}')$$,
                 '42501', null, 'a customer may not evaluate segments');
select tests.act_as_anon();
select throws_ok($$select public.evaluate_segment('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"null"}]}')$$,
                 '42501', null, 'anon may not evaluate segments');
select tests.act_as_postgres();

select * from finish();
rollback;
