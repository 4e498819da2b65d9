-- Text fields (city, region, country_code): every operator, case-insensitive and literal,
-- with NULLs, mixed case, unicode and %, _ and \ inside values.
begin;
select plan(24);

create temporary table t_people (name text, id uuid);
insert into t_people
select v.name, tests.create_user(v.name || '-' || gen_random_uuid() || '@segtest.test', '{}', v.name, v.city)
  from (values ('ann', 'Oslo'), ('ben', 'OSLO'), ('cat', '50%_off\x'), ('dan', 'Tromsø'), ('eve', null), ('fay', '5000 off')) v(name, city);


select is(tests.members('city', '=', '"oslo"'), 'ann,ben', '= matches case-insensitively');
select is(tests.members('city', '=', '"TROMSØ"'), 'dan', '= folds letters beyond ASCII (Tromsø = TROMSØ)');
select is(tests.members('city', '!=', '"Oslo"'), 'cat,dan,eve,fay', '!= includes customers without a city');
select is(tests.members('city', 'in', '["OSLO", "tromsø"]'), 'ann,ben,dan', 'in matches any, case-insensitively');
select is(tests.members('city', 'in', '[]'), '', 'in [] matches nobody');
select is(tests.members('city', 'notIn', '["oslo"]'), 'cat,dan,eve,fay', 'notIn includes NULLs');
select is(tests.members('city', 'notIn', '[]'), 'ann,ben,cat,dan,eve,fay', 'notIn [] is everyone');
select is(tests.members('city', 'contains', '"SL"'), 'ann,ben', 'contains is case-insensitive');
select is(tests.members('city', 'contains', '"50%"'), 'cat', '% is a plain character (not a wildcard)');
select is(tests.members('city', 'contains', '"_o"'), 'cat', '_ is a plain character (not a wildcard)');
select is(tests.members('city', 'contains', '"\\x"'), 'cat', 'backslash is a plain character');
select is(tests.members('city', 'contains', '"%"'), 'cat', 'a lone % matches only a literal %');
select is(tests.members('city', 'doesNotContain', '"O"'), 'eve', 'doesNotContain is case-insensitive and includes NULLs');
select is(tests.members('city', 'doesNotContain', '"%"'), 'ann,ben,dan,eve,fay', 'doesNotContain % excludes only the literal %');
select is(tests.members('city', 'beginsWith', '"os"'), 'ann,ben', 'beginsWith');
select is(tests.members('city', 'beginsWith', '"50%_"'), 'cat', 'beginsWith is literal');
select is(tests.members('city', 'beginsWith', '"5_"'), '', 'beginsWith 5_ does not match 50% (no wildcard)');
select is(tests.members('city', 'endsWith', '"SØ"'), 'dan', 'endsWith with unicode and case');
select is(tests.members('city', 'endsWith', '"off\\x"'), 'cat', 'endsWith with a backslash');
select is(tests.members('city', 'null'), 'eve', 'null');
select is(tests.members('city', 'notNull'), 'ann,ben,cat,dan,fay', 'notNull');
select is(tests.members('city', 'null', '""'), 'eve', 'null ignores an empty-string value');
select is(tests.members('country_code', '=', '"no"'), 'ann,ben,cat,dan,eve,fay', 'country_code = is case-insensitive');
select is(tests.members('region', 'null'), 'ann,ben,cat,dan,eve,fay', 'region null (none set)');

select * from finish();
rollback;
