-- Text fields (city, region, country_code): every operator, case-insensitive and literal,
-- with NULLs, mixed case, unicode and %, _ and \ inside values.
begin;
select plan(24);

create temporary table t_people (name text, id uuid);
insert into t_people
select v.name, tests.create_user(v.name || '-' || gen_random_uuid() || '@segtest.test', '{}', v.name, v.city)
  from (values ('ann', 'Oslo'), ('ben', 'OSLO'), ('cat', '50%_off\x'), ('dan', 'Tromsø'), ('eve', null), ('fay', '5000 off')) v(name, city);

-- Members among this file's customers, by name.
create function pg_temp.m(field text, op text, value jsonb default null) returns text language sql as $$
  select coalesce(string_agg(p.name, ',' order by p.name), '')
    from private.segment_member_ids(jsonb_build_object('version', 1, 'combinator', 'and',
           'rules', jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('field', field, 'operator', op, 'value', value))))) x
    join t_people p on p.id = x
$$;

select is(pg_temp.m('city', '=', '"oslo"'), 'ann,ben', '= matches case-insensitively');
select is(pg_temp.m('city', '=', '"TROMSØ"'), 'dan', '= folds letters beyond ASCII (Tromsø = TROMSØ)');
select is(pg_temp.m('city', '!=', '"Oslo"'), 'cat,dan,eve,fay', '!= includes customers without a city');
select is(pg_temp.m('city', 'in', '["OSLO", "tromsø"]'), 'ann,ben,dan', 'in matches any, case-insensitively');
select is(pg_temp.m('city', 'in', '[]'), '', 'in [] matches nobody');
select is(pg_temp.m('city', 'notIn', '["oslo"]'), 'cat,dan,eve,fay', 'notIn includes NULLs');
select is(pg_temp.m('city', 'notIn', '[]'), 'ann,ben,cat,dan,eve,fay', 'notIn [] is everyone');
select is(pg_temp.m('city', 'contains', '"SL"'), 'ann,ben', 'contains is case-insensitive');
select is(pg_temp.m('city', 'contains', '"50%"'), 'cat', '% is a plain character (not a wildcard)');
select is(pg_temp.m('city', 'contains', '"_o"'), 'cat', '_ is a plain character (not a wildcard)');
select is(pg_temp.m('city', 'contains', '"\\x"'), 'cat', 'backslash is a plain character');
select is(pg_temp.m('city', 'contains', '"%"'), 'cat', 'a lone % matches only a literal %');
select is(pg_temp.m('city', 'doesNotContain', '"O"'), 'eve', 'doesNotContain is case-insensitive and includes NULLs');
select is(pg_temp.m('city', 'doesNotContain', '"%"'), 'ann,ben,dan,eve,fay', 'doesNotContain % excludes only the literal %');
select is(pg_temp.m('city', 'beginsWith', '"os"'), 'ann,ben', 'beginsWith');
select is(pg_temp.m('city', 'beginsWith', '"50%_"'), 'cat', 'beginsWith is literal');
select is(pg_temp.m('city', 'beginsWith', '"5_"'), '', 'beginsWith 5_ does not match 50% (no wildcard)');
select is(pg_temp.m('city', 'endsWith', '"SØ"'), 'dan', 'endsWith with unicode and case');
select is(pg_temp.m('city', 'endsWith', '"off\\x"'), 'cat', 'endsWith with a backslash');
select is(pg_temp.m('city', 'null'), 'eve', 'null');
select is(pg_temp.m('city', 'notNull'), 'ann,ben,cat,dan,fay', 'notNull');
select is(pg_temp.m('city', 'null', '""'), 'eve', 'null ignores an empty-string value');
select is(pg_temp.m('country_code', '=', '"no"'), 'ann,ben,cat,dan,eve,fay', 'country_code = is case-insensitive');
select is(pg_temp.m('region', 'null'), 'ann,ben,cat,dan,eve,fay', 'region null (none set)');

select * from finish();
rollback;
