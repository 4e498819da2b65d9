-- The admin customer list: tags, segment names, risk, consent, last booking, spend; filtered by
-- a v1 definition; keyset paging; admin only.
begin;
select plan(11);

select * from tests.segment_world(5, 'L', 'Zqx Listby') \gset
update public.users set risk_score = 77 where id = (select id from t_people where i = 1);
insert into public.customer_tags (id, name) values ('30000000-0000-4000-a000-0000000000f1', 'segtest list');
insert into public.customer_tag_members (customer_id, tag_id) select id, '30000000-0000-4000-a000-0000000000f1' from t_people where i = 1;
insert into public.customer_consent (customer_id, channel, enabled) select id, 'email', true from t_people where i = 1;
insert into public.bookings (customer_id, status, start_date, end_date, created_at)
select id, 'completed', '2025-02-01', '2025-02-03', '2025-02-01 08:00+00' from t_people where i = 1;
insert into public.payments (customer_id, amount, status) select id, 321, 'succeeded' from t_people where i = 1;

select tests.act_as(:'admin_id');
insert into public.customer_segments (name, definition, auto_refresh)
values ('segtest list risky', '{"version":1,"combinator":"and","rules":[{"field":"risk_score","operator":">=","value":77},{"field":"city","operator":"=","value":"zqx listby"}]}', true)
returning id as seg_id \gset
select public.refresh_segment(:'seg_id');

select public.list_customers('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"zqx listby"}]}', 2) as p1 \gset
select is(jsonb_array_length(:'p1'::jsonb -> 'customers'), 2, 'a page of two');
select is(array(select (c ->> 'customer_id')::uuid from jsonb_array_elements(:'p1'::jsonb -> 'customers') c),
          array(select id from t_people order by id limit 2), 'ordered by customer_id');
select public.list_customers('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"zqx listby"}]}', 2,
                             (:'p1'::jsonb ->> 'next_after')::uuid) as p2 \gset
select is(array(select (c ->> 'customer_id')::uuid from jsonb_array_elements(:'p2'::jsonb -> 'customers') c),
          array(select id from t_people order by id limit 2 offset 2), 'the next page by keyset');

select (select c from jsonb_array_elements(public.list_customers(
  '{"version":1,"combinator":"and","rules":[{"field":"tag","operator":"containsAny","value":["30000000-0000-4000-a000-0000000000f1"]}]}') -> 'customers') c) as one \gset
select is(:'one'::jsonb ->> 'customer_id', (select id::text from t_people where i = 1), 'filtered by a definition');
select is(:'one'::jsonb -> 'tags' -> 0 ->> 'name', 'segtest list', 'tags by name');
select is(:'one'::jsonb -> 'segments', jsonb_build_array(jsonb_build_object('id', :'seg_id'::uuid, 'name', 'segtest list risky')), 'the saved segments they are in');
select is(row(:'one'::jsonb -> 'risk_score', :'one'::jsonb -> 'consent_email', :'one'::jsonb -> 'consent_sms', :'one'::jsonb -> 'total_spend',
              :'one'::jsonb ->> 'last_booking_at')::text,
          row('77.00'::jsonb, 'true'::jsonb, 'false'::jsonb, '321.00'::jsonb, '2025-02-01T08:00:00+00:00')::text,
          'risk score, consent flags, spend and last booking');
select ok(jsonb_array_length(public.list_customers(null, 3) -> 'customers') = 3, 'without a definition: everyone, paged');
select throws_ok($$select public.list_customers('{"version":1,"combinator":"and","rules":[{"field":"phone","operator":"null"}]}')$$,
                 '22023', null, 'an invalid filter is refused');
select is((select count(*)::int from public.admin_customers where customer_id in (select id from t_people)), 5, 'the admin_customers view serves admins');

select tests.act_as(:'customer_id');
select throws_ok($$select public.list_customers()$$, '42501', null, 'a customer may not list customers');

select * from finish();
rollback;
