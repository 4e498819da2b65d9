-- Array fields (equipment_category, tag) and consent booleans: every operator, empty arrays,
-- case of category slugs, tag ids in any case, customers without a consent row.
begin;
select plan(24);

select tests.segment_people('{ann,ben,cat,dan}');
insert into public.equipment_categories (id, slug, name) values
  ('10000000-0000-4000-a000-00000000c001', 'segtest-lifts', 'Lifts'), ('10000000-0000-4000-a000-00000000c002', 'segtest-saws', 'Saws');
insert into public.equipment (id, category_id, name) values
  ('10000000-0000-4000-a000-00000000e001', '10000000-0000-4000-a000-00000000c001', 'Lift'),
  ('10000000-0000-4000-a000-00000000e002', '10000000-0000-4000-a000-00000000c002', 'Saw');
-- ann: none; ben: lifts; cat: lifts + saws; dan: saws only in a cancelled booking
insert into public.bookings (id, customer_id, status, start_date, end_date)
select v.bid, p.id, v.status, current_date, current_date
  from (values ('ben', '20000000-0000-4000-a000-000000000001'::uuid, 'completed'), ('cat', '20000000-0000-4000-a000-000000000002'::uuid, 'active'),
               ('dan', '20000000-0000-4000-a000-000000000003'::uuid, 'cancelled')) v(name, bid, status)
  join t_people p on p.name = v.name;
insert into public.booking_items (booking_id, equipment_id) values
  ('20000000-0000-4000-a000-000000000001', '10000000-0000-4000-a000-00000000e001'),
  ('20000000-0000-4000-a000-000000000002', '10000000-0000-4000-a000-00000000e001'),
  ('20000000-0000-4000-a000-000000000002', '10000000-0000-4000-a000-00000000e002'),
  ('20000000-0000-4000-a000-000000000003', '10000000-0000-4000-a000-00000000e002');
insert into public.customer_tags (id, name) values
  ('30000000-0000-4000-a000-00000000000a', 'segtest A'), ('30000000-0000-4000-a000-00000000000b', 'segtest B');
insert into public.customer_tag_members (customer_id, tag_id)
select p.id, v.tag::uuid from (values ('ben', '30000000-0000-4000-a000-00000000000a'), ('cat', '30000000-0000-4000-a000-00000000000a'),
                                     ('cat', '30000000-0000-4000-a000-00000000000b')) v(name, tag) join t_people p on p.name = v.name;
-- consent: ann email yes; ben email no (revoked); cat none; dan sms yes
insert into public.customer_consent (customer_id, channel, enabled)
select p.id, v.channel, v.enabled from (values ('ann', 'email', true), ('ben', 'email', false), ('dan', 'sms', true)) v(name, channel, enabled)
  join t_people p on p.name = v.name;


select * from tests.members_are($$
  field              | operator     | value                                                                            | members         | description
  equipment_category | containsAny  | ["segtest-lifts"]                                                                | ben,cat         | containsAny
  equipment_category | containsAny  | ["SEGTEST-Saws"]                                                                 | cat             | slugs match case-insensitively; cancelled bookings do not count
  equipment_category | containsAny  | []                                                                               |                 | containsAny [] is nobody
  equipment_category | containsAll  | ["segtest-lifts", "segtest-saws"]                                                | cat             | containsAll
  equipment_category | containsAll  | []                                                                               | ann,ben,cat,dan | containsAll [] is everyone
  equipment_category | containsNone | ["segtest-saws"]                                                                 | ann,ben,dan     | containsNone includes empty
  equipment_category | containsNone | []                                                                               | ann,ben,cat,dan | containsNone [] is everyone
  equipment_category | isEmpty      |                                                                                  | ann,dan         | isEmpty
  equipment_category | isNotEmpty   |                                                                                  | ben,cat         | isNotEmpty
  equipment_category | isEmpty      | null                                                                             | ann,dan         | isEmpty ignores a null value
  tag                | containsAny  | ["30000000-0000-4000-a000-00000000000b"]                                         | cat             | tag containsAny
  tag                | containsAny  | ["30000000-0000-4000-A000-00000000000B"]                                         | cat             | tag ids match in any case
  tag                | containsAll  | ["30000000-0000-4000-a000-00000000000a", "30000000-0000-4000-a000-00000000000b"] | cat             | tag containsAll
  tag                | containsNone | ["30000000-0000-4000-a000-00000000000a"]                                         | ann,dan         | tag containsNone
  tag                | isEmpty      |                                                                                  | ann,dan         | tag isEmpty
  tag                | isNotEmpty   | ""                                                                               | ben,cat         | tag isNotEmpty ignores ""
$$);
delete from public.customer_tag_members where tag_id = '30000000-0000-4000-a000-00000000000a';
select is(tests.members('tag', 'isNotEmpty'), 'cat', 'removing a tag updates the fact in the same transaction');

select * from tests.members_are($$
  field         | operator | value | members         | description
  consent_email | =        | true  | ann             | consent_email = true
  consent_email | =        | false | ben,cat,dan     | consent_email = false includes customers without a row
  consent_sms   | =        | true  | dan             | consent_sms
  consent_push  | =        | false | ann,ben,cat,dan | consent_push without rows is false
$$);
update public.customer_consent set enabled = false where customer_id = (select id from t_people where name = 'ann');
select is(tests.members('consent_email', '=', 'true'), '', 'revoking consent updates the fact');
update public.equipment set category_id = '10000000-0000-4000-a000-00000000c002' where id = '10000000-0000-4000-a000-00000000e001';
select is(tests.members('equipment_category', 'containsAny', '["segtest-lifts"]'), '', 'moving equipment to another category updates categories');
update public.equipment_categories set slug = 'segtest-cutters' where id = '10000000-0000-4000-a000-00000000c002';
select is(tests.members('equipment_category', 'containsAll', '["segtest-cutters"]'), 'ben,cat', 'renaming a category slug updates categories');

select * from finish();
rollback;
