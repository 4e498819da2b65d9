-- The whitelist the console's segment builder reads is the validator's own: every field with its
-- kind and operators, in order; anon cannot read it.
begin;
select plan(5);

select tests.create_user('wl-admin-' || gen_random_uuid() || '@wltest.test', '{admin}') as admin_id \gset

select tests.act_as(:'admin_id');
select is(
  (select array_agg(e ->> 'field') from jsonb_array_elements(public.segment_whitelist()) e),
  private.segment_fields(),
  'every whitelisted field, in the validator''s order');
select is(
  (select count(*)::int from jsonb_array_elements(public.segment_whitelist()) e
    where e ->> 'kind' is distinct from private.segment_field_kind(e ->> 'field')
       or array(select jsonb_array_elements_text(e -> 'operators')) is distinct from private.segment_operators(e ->> 'kind')),
  0,
  'kinds and operators are the validator''s');
select is(
  (select e -> 'operators' from jsonb_array_elements(public.segment_whitelist()) e where e ->> 'field' = 'tag'),
  '["containsAny", "containsAll", "containsNone", "isEmpty", "isNotEmpty"]'::jsonb,
  'tag takes the array operators');
select is(
  (select count(*)::int from jsonb_array_elements(public.segment_whitelist()) e
    where public.validate_segment(jsonb_build_object('version', 1, 'combinator', 'and', 'rules',
            jsonb_build_array(jsonb_build_object('field', e ->> 'field', 'operator', e -> 'operators' ->> 0, 'value', 'x')))) @> '[{"code":"bad_operator"}]'),
  0,
  'every advertised operator is accepted by validate_segment for its field');

select tests.act_as_anon();
select throws_ok('select public.segment_whitelist()', '42501', null, 'anon cannot read the whitelist');

rollback;
