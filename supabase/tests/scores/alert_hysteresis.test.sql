-- Score alerts: one alert per crossing; re-armed only below the lower threshold. VIP lifetime
-- value, high effective risk (overrides included) and churn inactivity. Admins list and acknowledge.
begin;
select plan(30);

select tests.create_user('ah-admin@example.test', array['admin']) as admin_id \gset
select tests.create_user('ah-vip@example.test') as vip_id \gset
select tests.create_user('ah-risk@example.test') as risk_id \gset
select tests.create_user('ah-churn@example.test') as churn_id \gset

-- the seed's customers are not what this test watches
create temporary table watched as select unnest(array[:'vip_id', :'risk_id', :'churn_id']::uuid[]) as id;
create function pg_temp.alerts(kind text) returns integer language sql as $$
  select count(*)::int from public.alerts a where a.kind = alerts.kind and a.customer_id in (select id from watched) $$;
select private.evaluate_score_alerts();

-- VIP: threshold 10000, re-arm below 8000
update public.users set lifetime_value = 5000 where id = :'vip_id';
select private.evaluate_score_alerts();
select is(pg_temp.alerts('vip_lifetime_value'), 0, 'below the VIP threshold: no alert');
update public.users set lifetime_value = 10000 where id = :'vip_id';
select private.evaluate_score_alerts();
select is(pg_temp.alerts('vip_lifetime_value'), 1, 'reaching the threshold raises one alert');
select results_eq(format($$select severity, title, body, details ->> 'metric', (details ->> 'value')::numeric, (details ->> 'threshold')::numeric
                             from public.alerts where customer_id = %L$$, :'vip_id'),
  $$values ('info', 'VIP: ah-vip', 'Lifetime value 10000.00 reached the VIP threshold 10000.', 'lifetime_value', 10000.00, 10000::numeric)$$,
  'the alert says kind, severity, customer and why');
update public.users set lifetime_value = 15000 where id = :'vip_id';
select private.evaluate_score_alerts();
select is(pg_temp.alerts('vip_lifetime_value'), 1, 'staying above: no second alert');
update public.users set lifetime_value = 9000 where id = :'vip_id';
select private.evaluate_score_alerts();
update public.users set lifetime_value = 12000 where id = :'vip_id';
select private.evaluate_score_alerts();
select is(pg_temp.alerts('vip_lifetime_value'), 1, 'dipping under the threshold but not under the re-arm value and back: still one alert');
update public.users set lifetime_value = 7999.99 where id = :'vip_id';
select is((private.evaluate_score_alerts() ->> 'rearmed')::int >= 1, true, 'falling below the re-arm value re-arms');
select is(pg_temp.alerts('vip_lifetime_value'), 1, 'falling does not raise an alert');
update public.users set lifetime_value = 10500 where id = :'vip_id';
select private.evaluate_score_alerts();
select is(pg_temp.alerts('vip_lifetime_value'), 2, 'crossing again raises a second alert');
select private.evaluate_score_alerts();
select is(pg_temp.alerts('vip_lifetime_value'), 2, 'and re-running the evaluation adds nothing');

-- High risk: threshold 70, re-arm below 60, on the effective risk
update public.users set risk_score = 75 where id = :'risk_id';
select private.evaluate_score_alerts();
select is(pg_temp.alerts('high_risk'), 1, 'a computed risk of 75 raises a high-risk alert');
select is((select severity from public.alerts where customer_id = :'risk_id' and kind = 'high_risk'), 'critical', 'high risk is critical');
update public.users set risk_score = 65 where id = :'risk_id';
select private.evaluate_score_alerts();
update public.users set risk_score = 80 where id = :'risk_id';
select private.evaluate_score_alerts();
select is(pg_temp.alerts('high_risk'), 1, '75 -> 65 -> 80 stays one alert');
select tests.act_as(:'admin_id');
select public.override_risk(:'risk_id', 10, 'Disputed charges settled');
select tests.act_as_postgres();
select private.evaluate_score_alerts();
select is(pg_temp.alerts('high_risk'), 1, 'an override to 10 re-arms without an alert');
select tests.act_as(:'admin_id');
select public.clear_risk_override(:'risk_id');
select tests.act_as_postgres();
select private.evaluate_score_alerts();
select is(pg_temp.alerts('high_risk'), 2, 'clearing it puts the effective risk back at 80: a new crossing');
select is((select (details ->> 'overridden')::boolean from public.alerts where customer_id = :'risk_id' and kind = 'high_risk'
            order by created_at desc, id limit 1), false, 'the high-risk alert says whether the risk was overridden');

-- Churn: no booking for 180 days alerts; a booking within 90 days re-arms
insert into public.customer_scores (customer_id, scored_at, lifetime_value, risk_score, booking_count, last_booking_at,
  bookings_total, bookings_cancelled, overdue_balance, failed_payments_90d, urgent_open_tickets, expired_insurance_active_bookings,
  overdue_points, failed_payments_points, cancellation_points, urgent_tickets_points, expired_insurance_points)
values (:'churn_id', now(), 100, 0, 1, now() - interval '100 days', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
select private.evaluate_score_alerts();
select is(pg_temp.alerts('churn_risk'), 0, '100 days without booking: no churn alert');
update public.customer_scores set last_booking_at = now() - interval '200 days' where customer_id = :'churn_id';
select private.evaluate_score_alerts();
select is(pg_temp.alerts('churn_risk'), 1, '200 days: a churn alert');
select is((select body from public.alerts where customer_id = :'churn_id'), 'No booking for 200 days (threshold 180).', 'saying why');
update public.customer_scores set last_booking_at = now() - interval '120 days' where customer_id = :'churn_id';
select private.evaluate_score_alerts();
update public.customer_scores set last_booking_at = now() - interval '190 days' where customer_id = :'churn_id';
select private.evaluate_score_alerts();
select is(pg_temp.alerts('churn_risk'), 1, '120 days is not under the 90-day re-arm: still one alert');
update public.customer_scores set last_booking_at = now() - interval '3 days' where customer_id = :'churn_id';
select private.evaluate_score_alerts();
update public.customer_scores set last_booking_at = now() - interval '181 days' where customer_id = :'churn_id';
select private.evaluate_score_alerts();
select is(pg_temp.alerts('churn_risk'), 2, 'a recent booking re-arms; inactive again is a new alert');

-- thresholds are settings (and re-arm values must stay below them)
update public.scoring_settings set value = 20000 where key = 'vip_lifetime_value';
update public.scoring_settings set value = 15000 where key = 'vip_rearm_lifetime_value';
update public.users set lifetime_value = 12000 where id = :'vip_id';
select private.evaluate_score_alerts();
select is(pg_temp.alerts('vip_lifetime_value'), 2, 'a raised threshold: 12000 is no longer a crossing');
select throws_ok($$update public.scoring_settings set value = 25000 where key = 'vip_rearm_lifetime_value'$$, '22023',
  'value: vip_rearm_lifetime_value (25000) must be below vip_lifetime_value (20000)', 'a re-arm value at or over its threshold is refused');

-- listing and acknowledging
select tests.create_user('ah-customer@example.test') as customer_id \gset
select id as alert_id from public.alerts where customer_id = :'vip_id' order by created_at, id limit 1 \gset
select tests.act_as(:'customer_id');
select is_empty($$select 1 from public.alerts$$, 'a customer sees no alerts');
select throws_ok(format($$select public.acknowledge_alert(%L)$$, :'alert_id'), '42501', null, 'nor acknowledges one');
select tests.act_as(:'admin_id');
select ok((select count(*) from public.alerts where acknowledged_at is null and customer_id = :'vip_id') = 2, 'an admin lists unacknowledged alerts');
select is(public.acknowledge_alert(:'alert_id') ->> 'acknowledged_by', :'admin_id', 'acknowledge_alert records who');
select ok((select acknowledged_at is not null from public.alerts where id = :'alert_id'), 'and when');
select throws_ok($$select public.acknowledge_alert('00000000-0000-4000-8000-00000000dead')$$, '22023',
  'alert_id: no alert 00000000-0000-4000-8000-00000000dead', 'an unknown alert is named');
select throws_ok($$select public.acknowledge_alert(null)$$, '22023', 'alert_id: is required', 'a null id is refused');

-- erasing a customer erases their alert state
select tests.act_as_postgres();
delete from auth.users where id = :'churn_id';
select is_empty(format($$select 1 from private.score_alert_states where customer_id = %L$$, :'churn_id'), 'an erased customer''s alert state goes');

select * from finish();
rollback;
