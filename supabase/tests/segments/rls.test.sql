-- Who may read and write the segment engine's tables and views: admins read; writes go through
-- triggers and RPCs only; customers and anon see nothing.
begin;
select plan(16);

select tests.create_user('seg-admin-' || gen_random_uuid() || '@segtest.test', '{admin}') as admin_id \gset
select tests.create_user('seg-customer-' || gen_random_uuid() || '@segtest.test', '{}', 'Cus', 'Zqx Rls') as customer_id \gset
insert into public.customer_segments (name, definition) values ('segtest rls', '{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"zqx rls"}]}')
returning id as seg_id \gset
insert into public.customer_segment_members (segment_id, customer_id) values (:'seg_id', :'customer_id');

select tests.act_as(:'admin_id');
select is((select count(*)::int from public.customer_facts where customer_id = :'customer_id'), 1, 'admin reads customer_facts');
select is((select count(*)::int from public.customer_segment_members where segment_id = :'seg_id'), 1, 'admin reads segment members');
select is((select count(*)::int from public.segment_manager where id = :'seg_id'), 1, 'admin reads the segment manager');
select throws_ok(format($$update public.customer_facts set booking_count = 99 where customer_id = %L$$, :'customer_id'), '42501', null,
                 'not even an admin writes facts directly');
select throws_ok(format($$insert into public.customer_segment_members (segment_id, customer_id) values (%L, %L)$$, :'seg_id', :'admin_id'), '42501', null,
                 'members are written by refresh_segment only');

select tests.act_as(:'customer_id');
select is_empty(format('select 1 from public.%I', c ->> 'relation'), c ->> 'description')
  from tests.cases($$
  relation                 | description
  customer_facts           | a customer reads no facts, not even their own
  customer_segment_members | a customer reads no memberships
  customer_segments        | a customer reads no segments
  segment_manager          | nor the segment manager
  admin_customers          | nor the admin customer list
$$) c;
select throws_ok(format($$insert into public.customer_segments (name, definition) values ('x', %L)$$,
                        '{"version":1,"combinator":"and","rules":[{"field":"city","operator":"null"}]}'), '42501', null, 'a customer may not save segments');
select throws_ok(format('select public.duplicate_segment(%L)', :'seg_id'), '42501', null, 'nor duplicate them');
select throws_ok(format($$select public.explain_segment_membership('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"null"}]}', %L)$$, :'customer_id'),
                 '42501', null, 'nor explain membership');

select tests.act_as_anon();
select throws_ok($$select 1 from public.customer_facts$$, '42501', null, 'anon has no access to facts');
select throws_ok($$select 1 from public.admin_customers$$, '42501', null, 'nor to the customer list');
select throws_ok($$select public.validate_segment('{}')$$, '42501', null, 'nor to the validator');

select * from finish();
rollback;
