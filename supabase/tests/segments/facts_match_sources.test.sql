-- The facts the triggers keep equal the docs/api.md §5 definitions written out by hand over the
-- sources, for every customer of the seed and after a mix of writes; and the full rebuild (used
-- by backfills and the generator) computes the same facts as the triggers.
begin;
select plan(3);

-- a mix of writes through the triggers
update public.bookings set status = 'cancelled' where id in (select id from public.bookings order by id limit 15);
update public.payments set status = 'failed' where id in (select id from public.payments where status = 'succeeded' order by id limit 10);
delete from public.manual_payments where id in (select id from public.manual_payments order by id limit 5);
delete from public.customer_tag_members where (customer_id, tag_id) in (select customer_id, tag_id from public.customer_tag_members order by 1, 2 limit 10);
select public.set_customer_consent(u.id, 'sms', true, 'self_service') from public.users u order by u.id limit 10;
delete from public.booking_items where (booking_id, equipment_id) in (select booking_id, equipment_id from public.booking_items order by 1, 2 limit 20);

create temporary table by_hand as
select u.id as customer_id,
       (select count(*) from public.bookings b where b.customer_id = u.id and b.status <> 'cancelled')::integer as booking_count,
       (select max(b.created_at) from public.bookings b where b.customer_id = u.id and b.status <> 'cancelled') as last_booking_at,
       array(select distinct c.slug from public.bookings b join public.booking_items i on i.booking_id = b.id
               join public.equipment e on e.id = i.equipment_id join public.equipment_categories c on c.id = e.category_id
              where b.customer_id = u.id and b.status <> 'cancelled' order by 1) as equipment_category,
       (coalesce((select sum(p.amount) from public.payments p where p.customer_id = u.id and p.status = 'succeeded'), 0)
        + coalesce((select sum(m.amount) from public.manual_payments m where m.customer_id = u.id), 0))::numeric(14, 2) as total_spend,
       array(select m.tag_id::text from public.customer_tag_members m where m.customer_id = u.id order by 1) as tag,
       coalesce((select c.enabled from public.customer_consent c where c.customer_id = u.id and c.channel = 'email'), false) as consent_email,
       coalesce((select c.enabled from public.customer_consent c where c.customer_id = u.id and c.channel = 'sms'), false) as consent_sms,
       coalesce((select c.enabled from public.customer_consent c where c.customer_id = u.id and c.channel = 'push'), false) as consent_push
  from public.users u;

create temporary table kept as
select f.customer_id, f.booking_count, f.last_booking_at, array(select x from unnest(f.equipment_category) x order by 1) as equipment_category,
       f.total_spend::numeric(14, 2) as total_spend, array(select x from unnest(f.tag) x order by 1) as tag,
       f.consent_email, f.consent_sms, f.consent_push
  from public.customer_facts f;

select is((select count(*) from by_hand), (select count(*) from kept), 'every user has a facts row');
select is_empty($$(select * from by_hand except select * from kept) union all (select * from kept except select * from by_hand)$$,
  'the kept facts equal the hand-written §5 definitions for every customer');

select private.refresh_customer_facts(null);
create temporary table rebuilt as
select f.customer_id, f.booking_count, f.last_booking_at, array(select x from unnest(f.equipment_category) x order by 1) as equipment_category,
       f.total_spend::numeric(14, 2) as total_spend, array(select x from unnest(f.tag) x order by 1) as tag,
       f.consent_email, f.consent_sms, f.consent_push
  from public.customer_facts f;
select is_empty($$(select * from rebuilt except select * from kept) union all (select * from kept except select * from rebuilt)$$,
  'a full rebuild computes the same facts as the triggers');

select * from finish();
rollback;
