-- validate_segment: admin only like evaluate_segment, at most 50 errors then one too_many_errors
-- entry (10,000 unknown keys used to take 12+ s and report 10,000 errors), and the evaluation
-- statement_timeout, answered 54001 (HTTP 413).
begin;
select plan(14);

create temporary table t_defs as
select (select jsonb_object_agg('k' || i, i) from generate_series(1, 10000) i)
         || '{"version":1,"combinator":"and","rules":[{"field":"city","operator":"null"}]}'::jsonb as root_keys,
       jsonb_build_object('version', 1, 'combinator', 'and', 'rules', jsonb_build_array(
         (select jsonb_object_agg('k' || i, i) from generate_series(1, 10000) i) || '{"field":"city","operator":"null"}'::jsonb)) as rule_keys,
       (select jsonb_object_agg('k' || i, i) from generate_series(1, 50) i)
         || '{"version":1,"combinator":"and","rules":[{"field":"city","operator":"null"}]}'::jsonb as fifty,
       (select jsonb_object_agg('k' || i, i) from generate_series(1, 51) i)
         || '{"version":1,"combinator":"and","rules":[{"field":"city","operator":"null"}]}'::jsonb as fifty_one,
       jsonb_build_object('version', 1, 'combinator', 'or', 'rules',
         (select jsonb_agg(jsonb_build_object('field', 'booking_count', 'operator', 'in', 'value', (select jsonb_agg(k) from generate_series(1, 500) k)))
            from generate_series(1, 100) j)) as heavy;
grant select on t_defs to authenticated;

select tests.create_user('vl-admin@example.test', array['admin']) as admin_id \gset
select tests.create_user('vl-comms@example.test', array['communications']) as comms_id \gset
select tests.create_user('vl-customer@example.test') as customer_id \gset

-- the cap
select tests.act_as(:'admin_id');
select is(jsonb_array_length(public.validate_segment((select root_keys from t_defs))), 51,
          '10,000 unknown root keys: 50 errors and one too_many_errors entry');
select is(public.validate_segment((select root_keys from t_defs)) -> 50,
          '{"path":"$","code":"too_many_errors","message":"validation stopped after 50 errors; fix these and validate again"}'::jsonb,
          'the last entry says validation stopped');
select is((select count(*)::int from jsonb_array_elements(public.validate_segment((select root_keys from t_defs))) e(x) where e.x ->> 'code' = 'unknown_key'), 50,
          'the 50 reported are the unknown keys, each with its path');
select is(jsonb_array_length(public.validate_segment((select rule_keys from t_defs))), 51,
          '10,000 unknown keys in one rule: capped the same way');
select is(public.validate_segment((select rule_keys from t_defs)) -> 0 ->> 'path', '$.rules[0].k1', 'a rule''s unknown key is named by its path');
select is(jsonb_array_length(public.validate_segment((select fifty from t_defs))), 50, 'exactly 50 errors: all reported, no too_many_errors');
select is(public.validate_segment((select fifty from t_defs)) -> 49 ->> 'code', 'unknown_key', 'and the 50th is an error, not the marker');
select is(public.validate_segment((select fifty_one from t_defs)) -> 50 ->> 'code', 'too_many_errors', '51 errors: 50 and the marker');

-- who may call it
select lives_ok($$select public.validate_segment('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"null"}]}')$$, 'an admin may validate');
select tests.act_as(:'comms_id');
select throws_ok($$select public.validate_segment('{}')$$, '42501', 'permission denied: the admin role is required', 'communications without admin may not');
select tests.act_as(:'customer_id');
select throws_ok($$select public.validate_segment((select root_keys from t_defs))$$, '42501', 'permission denied: the admin role is required',
                 'a customer is refused before any validation work');

-- the evaluation budget
select tests.act_as_postgres();
select is(tests.function_setting('public.validate_segment(jsonb)', 'statement_timeout'), '10s',
          'validate_segment runs under the segment statement_timeout (PostgREST applies it per call)');
update private.segment_settings set value = '3s' where key = 'statement_timeout';
select is(tests.function_setting('public.validate_segment(jsonb)', 'statement_timeout'), '3s', 'and follows a changed setting');
select tests.act_as(:'admin_id');
set local statement_timeout = '20ms';  -- the heavy definition takes 140 ms on an idle machine, ~500 ms under load
select matches(tests.raised($$select public.validate_segment((select heavy from t_defs))$$),
               '^54001 segment evaluation was cancelled by statement_timeout', 'a validation over budget answers 54001 (HTTP 413)');
set local statement_timeout = 0;

select * from finish();
rollback;
