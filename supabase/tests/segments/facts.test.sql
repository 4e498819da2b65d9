-- Customer facts: every customer has a row the moment it exists; each source change updates the
-- facts in the same transaction; the trigger-maintained state equals a full recomputation.
begin;
select plan(17);

select tests.create_user('seg-f-' || gen_random_uuid() || '@segtest.test', '{}', 'Fresh', 'Bergen') as cid \gset
select is((select row(booking_count, last_booking_at, equipment_category, total_spend, tag, city, consent_email)::text
             from public.customer_facts where customer_id = :'cid'),
          row(0, null::timestamptz, '{}'::text[], 0.00::numeric(14,2), '{}'::text[], 'Bergen', false)::text,
          'a customer created a second ago has a facts row with empty facts');

insert into public.bookings (id, customer_id, status, start_date, end_date, created_at) values
  ('40000000-0000-4000-a000-000000000001', :'cid', 'completed', '2025-01-01', '2025-01-02', '2025-01-01 10:00+00'),
  ('40000000-0000-4000-a000-000000000002', :'cid', 'pending', '2025-05-01', '2025-05-02', '2025-05-01 10:00+00');
select is((select booking_count from public.customer_facts where customer_id = :'cid'), 2, 'bookings are counted at once');
select is((select last_booking_at from public.customer_facts where customer_id = :'cid'), '2025-05-01 10:00+00'::timestamptz, 'last_booking_at is the latest created_at');
update public.bookings set status = 'cancelled' where id = '40000000-0000-4000-a000-000000000002';
select is((select row(booking_count, last_booking_at)::text from public.customer_facts where customer_id = :'cid'),
          row(1, '2025-01-01 10:00+00'::timestamptz)::text, 'cancelling a booking takes it out of count and last booking');
insert into public.booking_items (booking_id, equipment_id)
select '40000000-0000-4000-a000-000000000001', e.id from public.equipment e join public.equipment_categories c on c.id = e.category_id
 where c.slug = 'lifts' limit 1;
select is((select equipment_category from public.customer_facts where customer_id = :'cid'), '{lifts}'::text[], 'booking items add their category');
delete from public.bookings where id = '40000000-0000-4000-a000-000000000001';
select is((select row(booking_count, equipment_category)::text from public.customer_facts where customer_id = :'cid'),
          row(0, '{}'::text[])::text, 'deleting a booking (and its items) resets the facts');

insert into public.payments (id, customer_id, amount, status) values ('40000000-0000-4000-a000-0000000000a1', :'cid', 100.10, 'pending');
select is((select total_spend from public.customer_facts where customer_id = :'cid'), 0.00::numeric(14,2), 'a pending payment is not spend');
update public.payments set status = 'succeeded' where id = '40000000-0000-4000-a000-0000000000a1';
select is((select total_spend from public.customer_facts where customer_id = :'cid'), 100.10::numeric(14,2), 'a succeeded payment is spend');
insert into public.manual_payments (customer_id, amount, method) values (:'cid', 9.90, 'cash');
select is((select total_spend from public.customer_facts where customer_id = :'cid'), 110.00::numeric(14,2), 'manual payments are spend');
update public.payments set status = 'refunded' where id = '40000000-0000-4000-a000-0000000000a1';
select is((select total_spend from public.customer_facts where customer_id = :'cid'), 9.90::numeric(14,2), 'a refunded payment is no longer spend');

update public.users set risk_score = 42.5, lifetime_value = 1234.56, city = 'Tromsø', region = 'Troms', country_code = 'NO' where id = :'cid';
select is((select row(risk_score, lifetime_value, city, region)::text from public.customer_facts where customer_id = :'cid'),
          row(42.5::numeric(5,2), 1234.56::numeric(12,2), 'Tromsø', 'Troms')::text, 'profile facts follow users');
select is((select risk_score from private.customer_risk_scores(array[:'cid'::uuid])), 42.50::numeric, 'the risk score source reads users.risk_score (until overrides exist)');

select public.set_customer_consent(:'cid', 'sms', true);
select is((select row(consent_email, consent_sms, consent_push)::text from public.customer_facts where customer_id = :'cid'),
          row(false, true, false)::text, 'consent flags follow set_customer_consent');

select is((select row(last_engaged_at, engaged_campaigns_90d)::text from public.customer_facts where customer_id = :'cid'),
          row(null::timestamptz, 0)::text, 'engagement is null/0 until messaging events exist');

-- bulk: one statement touching many customers
create temporary table t_many as select tests.create_user('seg-m' || i || '-' || gen_random_uuid() || '@segtest.test') as id from generate_series(1, 50) i;
insert into public.bookings (customer_id, status, start_date, end_date) select id, 'confirmed', current_date, current_date from t_many cross join generate_series(1, 2);
select is((select array_agg(distinct booking_count) from public.customer_facts where customer_id in (select id from t_many)), '{2}'::integer[],
          'a multi-row statement updates every customer it touched');

-- the triggers' state equals a recomputation from scratch
create temporary table t_facts as select * from public.customer_facts where customer_id in (select id from t_many union select :'cid'::uuid);
select private.refresh_customer_facts(array(select customer_id from t_facts));
select is((select count(*)::int from (
  select customer_id, booking_count, last_booking_at, equipment_category, total_spend, tag, risk_score, lifetime_value, city, region,
         country_code, created_at, consent_email, consent_sms, consent_push, last_engaged_at, engaged_campaigns_90d from t_facts
  except
  select customer_id, booking_count, last_booking_at, equipment_category, total_spend, tag, risk_score, lifetime_value, city, region,
         country_code, created_at, consent_email, consent_sms, consent_push, last_engaged_at, engaged_campaigns_90d from public.customer_facts) d), 0,
  'trigger-maintained facts equal a recomputation');

delete from public.users where id = :'cid';
select is((select count(*)::int from public.customer_facts where customer_id = :'cid'), 0, 'a deleted customer''s facts go with it');

select * from finish();
rollback;
