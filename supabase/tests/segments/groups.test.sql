-- Groups: and/or, "not" as the complement (customers with NULL values are outside A, so inside
-- not A), nesting, and the ignored id key.
begin;
select plan(10);

select tests.segment_people('{ann,ben,cat,dan}', array['Oslo', 'Bergen', null, 'Oslo']);
update public.users u set risk_score = v.risk from (values ('ann', 80), ('ben', 20), ('cat', 90), ('dan', null)) v(name, risk)
  join t_people p on p.name = v.name where u.id = p.id;

select * from tests.members_are($$
  description                                                                     | members         | definition
  and                                                                             | ann             | {"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"oslo"},{"field":"risk_score","operator":">","value":50}]}
  or with NULLs on either side                                                    | ann,cat,dan     | {"version":1,"combinator":"or","rules":[{"field":"city","operator":"=","value":"oslo"},{"field":"risk_score","operator":">","value":50}]}
  not: customers without a city are outside "city = oslo", so inside its negation | ben,cat         | {"version":1,"combinator":"and","not":true,"rules":[{"field":"city","operator":"=","value":"oslo"}]}
  not over a number comparison includes NULL                                      | ben,dan         | {"version":1,"combinator":"and","not":true,"rules":[{"field":"risk_score","operator":">","value":50}]}
  not (A and B) where B is NULL for dan                                           | ben,cat,dan     | {"version":1,"combinator":"and","not":true,"rules":[{"field":"city","operator":"=","value":"oslo"},{"field":"risk_score","operator":">","value":50}]}
  nested not (A or B)                                                             | ann,ben         | {"version":1,"combinator":"and","rules":[{"combinator":"or","not":true,"rules":[{"field":"city","operator":"null"},{"field":"risk_score","operator":"null"}]}]}
  not not A is A                                                                  | ann,dan         | {"version":1,"combinator":"and","not":true,"rules":[{"combinator":"and","not":true,"rules":[{"field":"city","operator":"=","value":"oslo"}]}]}
  id keys are ignored at every level                                              | ben             | {"version":1,"combinator":"and","not":false,"id":"root-1","rules":[{"id":"r-1","field":"city","operator":"=","value":"bergen"},{"id":"g-1","combinator":"or","rules":[{"id":"r-2","field":"risk_score","operator":"<","value":50}]}]}
  A or not-A is everyone, NULLs included                                          | ann,ben,cat,dan | {"version":1,"combinator":"or","rules":[{"field":"city","operator":"!=","value":"oslo"},{"field":"city","operator":"=","value":"oslo"}]}
  A and not-A is nobody                                                           |                 | {"version":1,"combinator":"and","rules":[{"field":"city","operator":"!=","value":"oslo"},{"field":"city","operator":"=","value":"oslo"}]}
$$);

select * from finish();
rollback;
