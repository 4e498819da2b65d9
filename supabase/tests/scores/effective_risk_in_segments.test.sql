-- Segments use the effective risk (docs/api.md §5): an active override, else the computed score.
begin;
select plan(5);
select tests.create_user('er-admin@example.test', array['admin']) as admin_id \gset
select tests.create_user('er-cust@example.test') as cust_id \gset
update public.users set risk_score = 20 where id = :'cust_id';
select is((select risk_score from public.customer_facts where customer_id = :'cust_id'), 20.00, 'the facts carry the computed score');

select tests.act_as(:'admin_id');
select public.override_risk(:'cust_id', 85, 'Chargeback under investigation');
select is((select risk_score from public.customer_facts where customer_id = :'cust_id'), 85.00, 'an override becomes the fact at once');
select ok((public.evaluate_segment('{"version":1,"combinator":"and","rules":[{"field":"risk_score","operator":">=","value":80}]}', 1000)
           -> 'members') @> jsonb_build_array(jsonb_build_object('customer_id', :'cust_id'::uuid)),
          'a segment on risk_score sees the override');
select is((public.customer_summary(:'cust_id') -> 'risk' ->> 'score')::numeric, 85::numeric, 'so does the summary');
select public.clear_risk_override(:'cust_id');
select is((select risk_score from public.customer_facts where customer_id = :'cust_id'), 20.00, 'clearing it restores the computed score');
select * from finish();
rollback;
