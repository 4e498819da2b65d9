-- Every validation error code with its JSON path; evaluate_segment and segment_member_ids raise
-- 22023 naming the path; hostile definitions are refused (22023) or answered correctly.
begin;
select plan(46);

-- The first error's path and code.
create function pg_temp.e(definition jsonb) returns text language sql as $$
  select coalesce((public.validate_segment(definition) -> 0 ->> 'path') || ' ' || (public.validate_segment(definition) -> 0 ->> 'code'), 'valid')
$$;
create function pg_temp.r(rule jsonb) returns jsonb language sql as $$
  select jsonb_build_object('version', 1, 'combinator', 'and', 'rules', jsonb_build_array(rule))
$$;

select is(public.validate_segment('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"Oslo"}]}'), '[]'::jsonb, 'a valid definition has no errors');
select is(pg_temp.e('[]'), '$ not_an_object', 'not_an_object: the definition');
select is(pg_temp.e(null), '$ not_an_object', 'not_an_object: SQL NULL');
select is(pg_temp.e('{"version":1,"combinator":"and","rules":[5]}'), '$.rules[0] not_an_object', 'not_an_object: a rule');
select is(pg_temp.e('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"null"}],"limit":1}'), '$.limit unknown_key', 'unknown_key: root');
select is(pg_temp.e(pg_temp.r('{"field":"city","operator":"=","value":"x","valueSource":"value"}')), '$.rules[0].valueSource unknown_key', 'unknown_key: rule');
select is(pg_temp.e('{"version":1,"combinator":"and","rules":[{"combinator":"or","version":1,"rules":[{"field":"city","operator":"null"}]}]}'),
          '$.rules[0].version unknown_key', 'unknown_key: version inside a nested group');
select is(public.validate_segment('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"null"}],"a\"; drop table public.users; --":1}') -> 0 ->> 'path',
          '$["a\"; drop table public.users; --"]', 'a hostile key is quoted in the path');
select is(pg_temp.e('{"combinator":"and","rules":[{"field":"city","operator":"null"}]}'), '$.version bad_version', 'bad_version: missing');
select is(pg_temp.e('{"version":2,"combinator":"and","rules":[{"field":"city","operator":"null"}]}'), '$.version bad_version', 'bad_version: 2');
select is(pg_temp.e('{"version":"1","combinator":"and","rules":[{"field":"city","operator":"null"}]}'), '$.version bad_version', 'bad_version: a string');
select is(pg_temp.e('{"version":1,"combinator":"xor","rules":[{"field":"city","operator":"null"}]}'), '$.combinator bad_combinator', 'bad_combinator');
select is(pg_temp.e('{"version":1,"combinator":"AND","rules":[{"field":"city","operator":"null"}]}'), '$.combinator bad_combinator', 'bad_combinator: case matters');
select is(pg_temp.e('{"version":1,"combinator":"and","rules":[{"rules":[{"field":"city","operator":"null"}]}]}'), '$.rules[0].combinator bad_combinator', 'bad_combinator: missing in a nested group');
select is(pg_temp.e('{"version":1,"combinator":"and","not":"yes","rules":[{"field":"city","operator":"null"}]}'), '$.not bad_not', 'bad_not');
select is(pg_temp.e('{"version":1,"combinator":"and","rules":{}}'), '$.rules bad_rules', 'bad_rules');
select is(pg_temp.e('{"version":1,"combinator":"and","rules":[]}'), '$.rules empty_group', 'empty_group: root');
select is(pg_temp.e('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"null"},{"combinator":"or","rules":[]}]}'), '$.rules[1].rules empty_group', 'empty_group: nested');
select is(pg_temp.e('{"version":1,"combinator":"and","rules":[{"combinator":"and","rules":[{"combinator":"and","rules":[{"combinator":"and","rules":[{"field":"city","operator":"null"}]}]}]}]}'),
          'valid', 'depth 4 is fine');
select is(pg_temp.e('{"version":1,"combinator":"and","rules":[{"combinator":"and","rules":[{"combinator":"and","rules":[{"combinator":"and","rules":[{"combinator":"and","rules":[{"field":"city","operator":"null"}]}]}]}]}]}'),
          'valid', 'depth 5 is fine');
select is(pg_temp.e('{"version":1,"combinator":"and","rules":[{"combinator":"and","rules":[{"combinator":"and","rules":[{"combinator":"and","rules":[{"combinator":"and","rules":[{"combinator":"and","rules":[{"field":"city","operator":"null"}]}]}]}]}]}]}'),
          '$.rules[0].rules[0].rules[0].rules[0].rules[0] too_deep', 'too_deep: depth 6');
select is(pg_temp.e(jsonb_build_object('version', 1, 'combinator', 'and', 'rules', (select jsonb_agg('{"field":"city","operator":"null"}'::jsonb) from generate_series(1, 100)))),
          'valid', '100 rules are fine');
select is(pg_temp.e(jsonb_build_object('version', 1, 'combinator', 'and', 'rules', (select jsonb_agg('{"field":"city","operator":"null"}'::jsonb) from generate_series(1, 101)))),
          '$.rules[100] too_many_rules', 'too_many_rules: the 101st');
select is(pg_temp.e(pg_temp.r('{"operator":"=","value":"x"}')), '$.rules[0].field unknown_field', 'unknown_field: missing');
select is(pg_temp.e(pg_temp.r('{"field":"City","operator":"=","value":"x"}')), '$.rules[0].field unknown_field', 'unknown_field: field names are exact');
select is(pg_temp.e(pg_temp.r('{"field":"city; drop table public.users; --","operator":"=","value":"x"}')), '$.rules[0].field unknown_field', 'unknown_field: SQL in a field');
select is(pg_temp.e(pg_temp.r('{"field":"city","operator":"like","value":"x"}')), '$.rules[0].operator bad_operator', 'bad_operator: not listed');
select is(pg_temp.e(pg_temp.r('{"field":"total_spend","operator":"in","value":[1]}')), '$.rules[0].operator bad_operator', 'bad_operator: not for this field');
select is(pg_temp.e(pg_temp.r('{"field":"city","operator":"= ''x'' or 1=1 --","value":"x"}')), '$.rules[0].operator bad_operator', 'bad_operator: SQL in an operator');
select is(pg_temp.e(pg_temp.r('{"field":"city","operator":"="}')), '$.rules[0].value missing_value', 'missing_value');
select is(pg_temp.e(pg_temp.r('{"field":"booking_count","operator":"=","value":"3"}')), '$.rules[0].value bad_value', 'bad_value: a string for an integer');
select is(pg_temp.e(pg_temp.r('{"field":"booking_count","operator":"=","value":1.5}')), '$.rules[0].value bad_value', 'bad_value: a fraction for an integer');
select is(pg_temp.e(pg_temp.r('{"field":"created_at","operator":"<","value":"2025-02-30"}')), '$.rules[0].value bad_value', 'bad_value: not a calendar date');
select is(pg_temp.e(pg_temp.r('{"field":"created_at","operator":"<","value":"2025-1-5"}')), '$.rules[0].value bad_value', 'bad_value: not YYYY-MM-DD');
select is(pg_temp.e(pg_temp.r('{"field":"created_at","operator":"withinLastDays","value":-1}')), '$.rules[0].value bad_value', 'bad_value: negative days');
select is(pg_temp.e(pg_temp.r('{"field":"tag","operator":"containsAny","value":["00000000-0000-4000-a000-000000000001","vip"]}')), '$.rules[0].value[1] bad_value', 'bad_value: a tag that is not an id, with its index');
select is(pg_temp.e(pg_temp.r('{"field":"city","operator":"null","value":"Oslo"}')), '$.rules[0].value bad_value', 'bad_value: a value for null');
select is(pg_temp.e(pg_temp.r('{"field":"consent_email","operator":"=","value":"true"}')), '$.rules[0].value bad_value', 'bad_value: a string for a boolean');
select is(pg_temp.e(pg_temp.r(jsonb_build_object('field', 'city', 'operator', '=', 'value', repeat('x', 201)))), '$.rules[0].value value_too_long', 'value_too_long');
select is(pg_temp.e(pg_temp.r(jsonb_build_object('field', 'city', 'operator', 'in', 'value', jsonb_build_array('a', repeat('x', 201))))), '$.rules[0].value[1] value_too_long', 'value_too_long: in a list');
select is(pg_temp.e(pg_temp.r(jsonb_build_object('field', 'city', 'operator', 'in', 'value', (select jsonb_agg(i::text) from generate_series(1, 501) i)))), '$.rules[0].value list_too_long', 'list_too_long');
select is(pg_temp.e(pg_temp.r('{"field":"booking_count","operator":"between","value":[5,1]}')), '$.rules[0].value bad_range', 'bad_range');
select is(jsonb_array_length(public.validate_segment('{"version":1,"combinator":"or","rules":[{"field":"x"},{"field":"city","operator":"?"},{"combinator":"and","rules":[]}],"y":1}')), 4,
          'every error is reported, not just the first');

select tests.act_as((select u.id from public.users u join public.user_roles r on r.user_id = u.id and r.role = 'admin' limit 1));
select matches(tests.raised($$select public.evaluate_segment('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"like","value":"x"}]}')$$),
               '^22023 \$\.rules\[0\]\.operator: "like" is not an operator of field city', 'evaluate_segment raises 22023 naming the path');
select matches(tests.raised($$select public.evaluate_segment('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"null"}]}', 1001)$$),
               '^22023 page_size: must be between 1 and 1000', 'page_size over 1000 is refused');
select tests.act_as_postgres();
select matches(tests.raised($$select count(*) from private.segment_member_ids('{"version":1,"combinator":"and","rules":[{"combinator":"or","rules":[]}]}')$$),
               '^22023 \$\.rules\[0\]\.rules: a group needs at least one rule', 'segment_member_ids raises 22023 naming the path');

select * from finish();
rollback;
