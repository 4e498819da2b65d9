-- customer_tag_members -> 'tag' events: assigned (at assigned_at), removed (when removed).
begin;
select plan(7);

select tests.create_user('tl-tag-customer@example.test') as customer \gset
select tests.create_user('tl-tag-customer2@example.test') as customer2 \gset
select tests.create_user('tl-tag-admin@example.test', array['admin']) as admin \gset
insert into public.customer_tags (id, name, color) values ('10000000-0000-4000-a000-0000000007a1', 'TL VIP', '#D4AF37');

select tests.act_as(:'admin');
insert into public.customer_tag_members (customer_id, tag_id, assigned_at) values
  (:'customer', '10000000-0000-4000-a000-0000000007a1', '2026-04-20 10:00+00'),
  (:'customer2', '10000000-0000-4000-a000-0000000007a1', '2026-04-20 10:00+00');
select tests.act_as_postgres();
select results_eq(
  $$select event_type, reference_id::text, occurred_at, title, metadata ->> 'tag_name', metadata ->> 'color'
      from public.customer_timeline_events where source_table = 'customer_tag_members' and customer_id = (select id from public.users where email = 'tl-tag-customer@example.test')$$,
  $$values ('tag', '10000000-0000-4000-a000-0000000007a1', '2026-04-20 10:00+00'::timestamptz, 'Tag added: TL VIP', 'TL VIP', '#D4AF37')$$,
  'an assignment yields "Tag added" at assigned_at, the tag as reference');
select is((select metadata ->> 'assigned_by' from public.customer_timeline_events where source_table = 'customer_tag_members' and customer_id = :'customer'),
  :'admin', 'who assigned it is in metadata');
select is((select count(*)::int from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000007a1'), 2,
  'the same tag at the same moment for two customers is two events');

select tests.act_as(:'admin');
delete from public.customer_tag_members where customer_id = :'customer';
select tests.act_as_postgres();
select results_eq(
  $$select occurred_at, title, metadata ->> 'action' from public.customer_timeline_events
     where source_table = 'customer_tag_members' and customer_id = (select id from public.users where email = 'tl-tag-customer@example.test') order by seq$$,
  $$values ('2026-04-20 10:00+00'::timestamptz, 'Tag added: TL VIP', 'assigned'), (now(), 'Tag removed: TL VIP', 'removed')$$,
  'removing it yields "Tag removed" now');
select is((select metadata ->> 'removed_by' from public.customer_timeline_events where source_table = 'customer_tag_members' and metadata ->> 'action' = 'removed'),
  :'admin', 'who removed it is in metadata');

-- deleting the tag removes it from everyone: each gets an event naming the tag
delete from public.customer_tags where id = '10000000-0000-4000-a000-0000000007a1';
select results_eq(
  $$select title from public.customer_timeline_events where source_table = 'customer_tag_members'
     and customer_id = (select id from public.users where email = 'tl-tag-customer2@example.test') order by seq$$,
  $$values ('Tag added: TL VIP'), ('Tag removed: TL VIP')$$,
  'deleting a tag yields "removed" for its members, still named');

-- erasing a customer takes their tags and their timeline with them, without error
delete from public.users where id = :'customer2';
select is_empty(format('select 1 from public.customer_timeline_events where customer_id = %L', :'customer2'),
  'an erased customer has no timeline left');

select * from finish();
rollback;
