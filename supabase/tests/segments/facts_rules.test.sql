-- Each fact's rule is written once (private.facts_rules()): every derived column of customer_facts
-- is decided by a rule, every rule names only real columns, and the one writer writes every kind
-- listed and refuses a kind it does not know.
begin;
select plan(7);

select is(
  (select array_agg(c.column_name::text order by c.column_name) from information_schema.columns c
    where c.table_schema = 'public' and c.table_name = 'customer_facts'
      and c.column_name not in ('customer_id', 'updated_at')),
  (select array_agg(distinct a.name order by a.name)
     from private.facts_rules() r join pg_catalog.pg_proc p on p.oid = r.rule
    cross join lateral unnest(p.proargnames, p.proargmodes) a(name, mode)
    where a.mode = 't' and a.name <> 'customer_id'),
  'the rules together decide every customer_facts column, and name no other');

select is((select count(*) from private.facts_rules() r join pg_catalog.pg_proc p on p.oid = r.rule
            where p.pronargs <> 1 or p.proargtypes[0] <> 'uuid[]'::regtype),
          0::bigint, 'every rule takes the customers as uuid[] (null: everyone)');

select is((select array_agg(r.facts order by r.facts) from private.facts_rules() r
            where tests.function_setting(r.rule, 'plan_cache_mode') is distinct from 'force_custom_plan'),
          null, 'every rule is planned for the customers of each call (a generic plan scans everyone)');

select tests.create_user('facts-rules-' || gen_random_uuid() || '@segtest.test', '{}', 'Ruled', 'Oslo') as cid \gset
insert into public.payments (customer_id, amount, status) values (:'cid', 40, 'succeeded');
select is((select total_spend from private.spend_facts(array[:'cid'::uuid])), 40::numeric,
          'a rule answers for the customers it is given');
select is((select count(*) from private.spend_facts(null) s where s.customer_id = :'cid'), 1::bigint,
          'and for everyone when given null');

select lives_ok($$select private.write_facts(r.facts, '{}') from private.facts_rules() r$$,
                'the writer writes every kind of facts the rules list');
select throws_ok(format($$select private.write_facts('loyalty', array[%L::uuid])$$, :'cid'),
                 '22023', 'facts: loyalty is not a kind of facts', 'an unknown kind of facts is refused by name');

select * from finish();
rollback;
