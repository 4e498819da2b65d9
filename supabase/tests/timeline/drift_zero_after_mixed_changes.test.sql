-- The drift check returns zeros after any mix of inserts, updates and deletes through the
-- triggers, and finds (then the backfill repairs) what a write with triggers off left behind.
begin;
select plan(7);

select is_empty($$select * from private.timeline_drift() where missing <> 0 or extra <> 0$$, 'no drift on the seeded database');
select set_eq($$select event_type from private.timeline_drift()$$,
  $$values ('booking'), ('logistics'), ('payment'), ('support'), ('insurance'), ('campaign'), ('note'), ('consent'), ('tag')$$,
  'one row per event type fed by a source');

select tests.create_user('tl-drift-admin@example.test', array['admin']) as admin \gset
select tests.act_as(:'admin');

-- a mix of inserts, updates (some back and forth) and deletes, as an admin would make them
insert into public.bookings (customer_id, start_date, end_date, status)
select id, current_date, current_date + 2, 'pending' from public.users order by id limit 20;
update public.bookings set status = 'confirmed' where id in (select id from public.bookings order by id limit 50);
update public.bookings set status = 'active' where id in (select id from public.bookings where status = 'confirmed' order by id limit 10);
update public.bookings set status = 'confirmed' where id in (select id from public.bookings where status = 'active' order by id limit 5);
delete from public.bookings where id in (select id from public.bookings where status = 'cancelled' order by id limit 5);
insert into public.logistics_tasks (booking_id, kind, scheduled_for)
select id, 'delivery', now() + interval '1 day' from public.bookings where status = 'confirmed' order by id limit 10;
update public.logistics_tasks set status = 'in_transit' where id in (select id from public.logistics_tasks where status = 'scheduled' order by id limit 6);
update public.logistics_tasks set status = 'done', completed_at = now() where status = 'in_transit';
update public.logistics_tasks set status = 'failed' where id in (select id from public.logistics_tasks where status = 'scheduled' order by id limit 3);
update public.payments set status = 'refunded' where id in (select id from public.payments where status = 'succeeded' order by id limit 10);
update public.payments set status = 'pending' where id in (select id from public.payments where status = 'failed' order by id limit 3);
delete from public.payments where id in (select id from public.payments order by id limit 4);
insert into public.manual_payments (customer_id, amount, method) select id, 100, 'cash' from public.users order by id limit 3;
delete from public.manual_payments where id in (select id from public.manual_payments order by id limit 2);
update public.support_tickets set status = 'closed' where id in (select id from public.support_tickets order by id limit 10);
update public.support_tickets set status = 'open' where id in (select id from public.support_tickets order by id limit 4);
delete from public.support_messages where id in (select id from public.support_messages order by id limit 5);
delete from public.support_tickets where id in (select id from public.support_tickets order by id desc limit 2);
update public.insurance_documents set status = 'expired' where id in (select id from public.insurance_documents order by id limit 8);
insert into public.email_logs (customer_id, to_email, subject) select id, 'x@example.test', 'Hello' from public.users order by id limit 5;
update public.email_logs set status = 'delivered';
delete from public.email_logs where id in (select id from public.email_logs order by id limit 1);
insert into public.customer_notes (customer_id, note) select id, 'Checked in' from public.users order by id limit 5;
delete from public.customer_notes where id in (select id from public.customer_notes order by id limit 7);
-- customers' own changes (the owner records them as self_service; staff may not)
select tests.act_as_postgres();
select public.set_customer_consent(u.id, 'sms', not coalesce(c.enabled, false), 'self_service')
  from public.users u left join public.customer_consent c on c.customer_id = u.id and c.channel = 'sms' order by u.id limit 30;
select public.set_customer_consent(u.id, 'sms', true, 'self_service') from public.users u order by u.id limit 10;
select tests.act_as(:'admin');
delete from public.customer_tag_members where (customer_id, tag_id) in (select customer_id, tag_id from public.customer_tag_members order by 1, 2 limit 10);
insert into public.customer_tag_members (customer_id, tag_id)
select u.id, t.id from public.users u cross join public.customer_tags t order by u.id, t.id limit 40 on conflict do nothing;
select tests.act_as_postgres();
delete from public.customer_tags where name = 'Late payer';
delete from public.users where id in (select customer_id from public.bookings order by customer_id desc limit 2);

select is_empty($$select * from private.timeline_drift() where missing <> 0 or extra <> 0$$,
  'no drift after a mix of inserts, updates and deletes');

-- writes that bypass the triggers are what drift is about: these timeline triggers are off for them
create function pg_temp.timeline_triggers(action text) returns void language plpgsql as $$
begin
  execute (select string_agg(format('alter table public.%I %s trigger %I', t.tbl, action, '_100_timeline_' || op), '; ')
             from (values ('bookings', array['insert', 'update', 'delete']), ('customer_notes', array['insert', 'delete']),
                          ('customer_tag_members', array['insert', 'delete'])) t(tbl, ops), unnest(t.ops) op);
end
$$;
select pg_temp.timeline_triggers('disable');
update public.bookings set status = 'completed' where id in (select id from public.bookings where status = 'confirmed' order by id limit 3);
insert into public.bookings (customer_id, start_date, end_date) select id, current_date, current_date from public.users order by id limit 2;
delete from public.customer_notes where id in (select id from public.customer_notes order by id limit 4);
delete from public.customer_tag_members where (customer_id, tag_id) in (select customer_id, tag_id from public.customer_tag_members order by 1, 2 limit 6);
select pg_temp.timeline_triggers('enable');

select results_eq(
  $$select event_type, missing::int, extra::int from private.timeline_drift() where missing <> 0 or extra <> 0 order by 1$$,
  $$values ('booking', 5, 0), ('note', 0, 4), ('tag', 0, 6)$$,
  'writes with the triggers off show as missing and extra, per event type');
select results_eq(
  $$select source_table, missing::int, extra::int from private.timeline_drift_by_source() where missing <> 0 or extra <> 0 order by 1$$,
  $$values ('bookings', 5, 0), ('customer_notes', 0, 4), ('customer_tag_members', 0, 6)$$,
  'and per source table');
select is(private.backfill_customer_timeline() - 'inserted', '{"inserted_total": 11, "marked_deleted": 4}'::jsonb,
  'the backfill writes the 5 booking and 6 tag-removal events and marks the 4 orphans');
select is_empty($$select * from private.timeline_drift() where missing <> 0 or extra <> 0$$, 'and the drift is gone');

select * from finish();
rollback;
