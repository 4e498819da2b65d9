-- Groups: and/or, "not" as the complement (customers with NULL values are outside A, so inside
-- not A), nesting, and the ignored id key.
begin;
select plan(10);

create temporary table t_people (name text, id uuid);
insert into t_people
select v.name, tests.create_user(v.name || '-' || gen_random_uuid() || '@segtest.test', '{}', v.name, v.city)
  from (values ('ann', 'Oslo'), ('ben', 'Bergen'), ('cat', null), ('dan', 'Oslo')) v(name, city);
update public.users u set risk_score = v.risk from (values ('ann', 80), ('ben', 20), ('cat', 90), ('dan', null)) v(name, risk)
  join t_people p on p.name = v.name where u.id = p.id;

create function pg_temp.m(definition jsonb) returns text language sql as $$
  select coalesce(string_agg(p.name, ',' order by p.name), '')
    from private.segment_member_ids(definition) x join t_people p on p.id = x
$$;

select is(pg_temp.m('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"oslo"},{"field":"risk_score","operator":">","value":50}]}'),
          'ann', 'and');
select is(pg_temp.m('{"version":1,"combinator":"or","rules":[{"field":"city","operator":"=","value":"oslo"},{"field":"risk_score","operator":">","value":50}]}'),
          'ann,cat,dan', 'or with NULLs on either side');
select is(pg_temp.m('{"version":1,"combinator":"and","not":true,"rules":[{"field":"city","operator":"=","value":"oslo"}]}'),
          'ben,cat', 'not: customers without a city are outside "city = oslo", so inside its negation');
select is(pg_temp.m('{"version":1,"combinator":"and","not":true,"rules":[{"field":"risk_score","operator":">","value":50}]}'),
          'ben,dan', 'not over a number comparison includes NULL');
select is(pg_temp.m('{"version":1,"combinator":"and","not":true,"rules":[{"field":"city","operator":"=","value":"oslo"},{"field":"risk_score","operator":">","value":50}]}'),
          'ben,cat,dan', 'not (A and B) where B is NULL for dan');
select is(pg_temp.m('{"version":1,"combinator":"and","rules":[{"combinator":"or","not":true,"rules":[{"field":"city","operator":"null"},{"field":"risk_score","operator":"null"}]}]}'),
          'ann,ben', 'nested not (A or B)');
select is(pg_temp.m('{"version":1,"combinator":"and","not":true,"rules":[{"combinator":"and","not":true,"rules":[{"field":"city","operator":"=","value":"oslo"}]}]}'),
          'ann,dan', 'not not A is A');
select is(pg_temp.m('{"version":1,"combinator":"and","not":false,"id":"root-1","rules":[{"id":"r-1","field":"city","operator":"=","value":"bergen"},{"id":"g-1","combinator":"or","rules":[{"id":"r-2","field":"risk_score","operator":"<","value":50}]}]}'),
          'ben', 'id keys are ignored at every level');
select is(pg_temp.m('{"version":1,"combinator":"or","rules":[{"field":"city","operator":"!=","value":"oslo"},{"field":"city","operator":"=","value":"oslo"}]}'),
          'ann,ben,cat,dan', 'A or not-A is everyone, NULLs included');
select is(pg_temp.m('{"version":1,"combinator":"and","rules":[{"field":"city","operator":"!=","value":"oslo"},{"field":"city","operator":"=","value":"oslo"}]}'),
          '', 'A and not-A is nobody');

select * from finish();
rollback;
