-- Integer (booking_count, engaged_campaigns_90d) and number fields (total_spend, lifetime_value,
-- risk_score): every operator, NULLs, between bounds (inclusive), in/notIn and empty lists.
begin;
select plan(34);

select tests.segment_people('{ann,ben,cat,dan}');
-- risk_score: ann 10, ben 50.5, cat null, dan 100; lifetime_value: ann 0, ben null, cat 999.99, dan 1000
update public.users u set risk_score = v.risk, lifetime_value = v.ltv
  from (values ('ann', 10.00, 0.00), ('ben', 50.50, null), ('cat', null, 999.99), ('dan', 100.00, 1000.00)) v(name, risk, ltv)
  join t_people p on p.name = v.name
 where u.id = p.id;
-- booking_count: ann 0, ben 1, cat 2 (plus a cancelled one), dan 3
insert into public.bookings (customer_id, status, start_date, end_date, total_amount)
select p.id, s.status, current_date, current_date + 1, 100
  from t_people p
  join (values ('ben', 'completed'), ('cat', 'completed'), ('cat', 'active'), ('cat', 'cancelled'),
               ('dan', 'completed'), ('dan', 'pending'), ('dan', 'confirmed')) s(name, status) on s.name = p.name;


select * from tests.members_are($$
  field                 | operator   | value  | members         | description
  booking_count         | =          | 0      | ann             | booking_count = 0 (no bookings is 0, not null)
  booking_count         | =          | 2      | cat             | cancelled bookings are not counted
  booking_count         | !=         | 2      | ann,ben,dan     | !=
  booking_count         | <          | 2      | ann,ben         | <
  booking_count         | <=         | 2      | ann,ben,cat     | <=
  booking_count         | >          | 2      | dan             | >
  booking_count         | >=         | 2      | cat,dan         | >=
  booking_count         | between    | [1, 2] | ben,cat         | between includes both bounds
  booking_count         | between    | [2, 2] | cat             | between [n, n] is equality
  booking_count         | notBetween | [1, 2] | ann,dan         | notBetween excludes both bounds
  booking_count         | in         | [0, 3] | ann,dan         | in
  booking_count         | in         | []     |                 | in [] is nobody
  booking_count         | notIn      | [0, 3] | ben,cat         | notIn
  booking_count         | notIn      | []     | ann,ben,cat,dan | notIn [] is everyone
  booking_count         | null       |        |                 | booking_count is never null
  booking_count         | notNull    |        | ann,ben,cat,dan | booking_count notNull
  booking_count         | >=         | 2.0    | cat,dan         | an integral number written 2.0 is an integer
  engaged_campaigns_90d | =          | 0      | ann,ben,cat,dan | engaged_campaigns_90d is 0 without engagement
$$);

select * from tests.members_are($$
  field          | operator   | value          | members         | description
  risk_score     | =          | 50.5           | ben             | number =
  risk_score     | !=         | 50.5           | ann,cat,dan     | number != includes NULL
  risk_score     | <          | 50.5           | ann             | number < excludes NULL
  risk_score     | <=         | 50.5           | ann,ben         | number <=
  risk_score     | >          | 10             | ben,dan         | number >
  risk_score     | >=         | 10             | ann,ben,dan     | number >=
  risk_score     | between    | [10, 50.5]     | ann,ben         | number between is inclusive
  risk_score     | notBetween | [10, 50.5]     | cat,dan         | number notBetween includes NULL
  risk_score     | null       |                | cat             | number null
  risk_score     | notNull    |                | ann,ben,dan     | number notNull
  lifetime_value | between    | [999.99, 1000] | cat,dan         | decimal bounds are exact
  lifetime_value | <          | 999.99         | ann             | lifetime_value < (0 counts, NULL does not)
  lifetime_value | null       |                | ben             | lifetime_value null
  total_spend    | =          | 0              | ann,ben,cat,dan | total_spend is 0 without payments
$$);
insert into public.payments (customer_id, amount, status) select id, 250.25, 'succeeded' from t_people where name = 'ben';
insert into public.payments (customer_id, amount, status) select id, 999, 'failed' from t_people where name = 'ben';
insert into public.manual_payments (customer_id, amount, method) select id, 49.75, 'cash' from t_people where name = 'ben';
select * from tests.members_are($$
  field       | operator | value | members | description
  total_spend | =        | 300   | ben     | total_spend = succeeded payments + manual payments
  total_spend | >        | 0     | ben     | failed payments do not count
$$);

select * from finish();
rollback;
