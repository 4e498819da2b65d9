-- Date fields (last_booking_at, created_at, last_engaged_at): UTC days at their boundaries,
-- between bounds, relative days, NULLs.
begin;
select plan(22);

set local timezone = 'America/Los_Angeles'; -- the session's zone must not matter: days are UTC
select tests.segment_people('{ann,ben,cat,dan}');
-- created_at: ann last instant of 2025-03-09 UTC, ben first instant of 2025-03-10 UTC, cat 2025-03-10 23:59:59.999999 UTC, dan 2025-03-11 00:00 UTC
update public.users u set created_at = v.at
  from (values ('ann', timestamptz '2025-03-09 23:59:59.999999+00'), ('ben', timestamptz '2025-03-10 00:00:00+00'),
               ('cat', timestamptz '2025-03-10 23:59:59.999999+00'), ('dan', timestamptz '2025-03-11 00:00:00+00')) v(name, at)
  join t_people p on p.name = v.name
 where u.id = p.id;
-- last_booking_at: ann none; ben 3 days ago; cat 40 days ago; dan 400 days ago
insert into public.bookings (customer_id, status, start_date, end_date, created_at)
select p.id, 'completed', current_date, current_date, now() - make_interval(days => v.days)
  from (values ('ben', 3), ('cat', 40), ('dan', 400)) v(name, days) join t_people p on p.name = v.name;


select * from tests.members_are($$
  field      | operator       | value                        | members         | description
  created_at | <              | "2025-03-10"                 | ann             | < d is before the UTC day d
  created_at | <=             | "2025-03-10"                 | ann,ben,cat     | <= d is before d+1 (the whole day d)
  created_at | >              | "2025-03-10"                 | dan             | > d is from d+1
  created_at | >=             | "2025-03-10"                 | ben,cat,dan     | >= d is from the first instant of d
  created_at | between        | ["2025-03-10", "2025-03-10"] | ben,cat         | between [d, d] is the whole UTC day
  created_at | between        | ["2025-03-09", "2025-03-10"] | ann,ben,cat     | between includes both days
  created_at | notBetween     | ["2025-03-10", "2025-03-10"] | ann,dan         | notBetween
  created_at | withinLastDays | 30                           |                 | created long ago: not within 30 days
  created_at | notNull        |                              | ann,ben,cat,dan | created_at is never null
$$);

select * from tests.members_are($$
  field           | operator          | value | members     | description
  last_booking_at | withinLastDays    | 30    | ben         | withinLastDays 30
  last_booking_at | withinLastDays    | 45    | ben,cat     | withinLastDays 45
  last_booking_at | withinLastDays    | 0     |             | withinLastDays 0 is from now on
  last_booking_at | notWithinLastDays | 30    | ann,cat,dan | notWithinLastDays includes never-booked
  last_booking_at | notWithinLastDays | 45    | ann,dan     | notWithinLastDays 45
  last_booking_at | null              |       | ann         | never booked: null
  last_booking_at | notNull           |       | ben,cat,dan | notNull
$$);
select is(tests.members('last_booking_at', '<', to_jsonb((current_date - 10)::text)), 'cat,dan', '< a relative day excludes NULL');
select is(tests.members('last_booking_at', 'notBetween', jsonb_build_array((current_date - 50)::text, (current_date - 1)::text)),
          'ann,dan', 'notBetween includes NULL');
select * from tests.members_are($$
  field           | operator          | value                        | members         | description
  last_engaged_at | null              |                              | ann,ben,cat,dan | no engagement yet: null
  last_engaged_at | notWithinLastDays | 90                           | ann,ben,cat,dan | notWithinLastDays on null
  created_at      | <                 | "2025-03-11"                 | ann,ben,cat     | the session time zone does not shift days
  created_at      | between           | ["2025-03-11", "9999-12-31"] | dan             | the last representable day works as an upper bound
$$);

select * from finish();
rollback;
