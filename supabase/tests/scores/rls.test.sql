-- RLS of the scores area per role: admin reads (and changes settings and overrides), a customer
-- and a communications-only login see nothing and change nothing, anon has no privileges.
begin;
select plan(36);

select tests.create_user('rl-admin@example.test', array['admin']) as admin_id \gset
select tests.create_user('rl-customer@example.test') as customer_id \gset
select private.run_nightly_scoring();
update public.users set risk_score = 40 where id = :'customer_id';
insert into public.customer_risk_overrides (customer_id, score, reason) values (:'customer_id', 50, 'test');

-- admin
select tests.act_as(:'admin_id');
select isnt_empty($$select 1 from public.scoring_settings$$, 'admin reads scoring_settings');
select isnt_empty($$select 1 from public.customer_scores$$, 'admin reads customer_scores');
select isnt_empty($$select 1 from public.customer_score_history$$, 'admin reads customer_score_history');
select isnt_empty($$select 1 from public.customer_risk_overrides$$, 'admin reads customer_risk_overrides');
select isnt_empty(format($$select 1 from public.customer_effective_risk where customer_id = %L$$, :'customer_id'), 'admin reads customer_effective_risk');
select lives_ok($$update public.scoring_settings set value = 75 where key = 'high_risk_score'$$, 'admin updates a setting');
select is((select updated_by from public.scoring_settings where key = 'high_risk_score'), :'admin_id'::uuid, 'stamped with who');
select throws_ok($$insert into public.scoring_settings (key, value, description) values ('foo', 1, 'x')$$, '42501', null,
  'settings keys are fixed: no insert');
select throws_ok($$delete from public.scoring_settings where key = 'high_risk_score'$$, '42501', null, 'nor delete');
select throws_ok($$update public.scoring_settings set value = 101 where key = 'high_risk_score'$$, '22023',
  'value: high_risk_score is a risk score, 0..100; got 101', 'a setting out of range is refused, naming it');
select throws_ok($$update public.scoring_settings set value = -1 where key = 'overdue_weight'$$, '22023',
  'value: overdue_weight must not be negative; got -1', 'negative values are refused, naming the key');
select throws_ok($$update public.scoring_settings set value = 'NaN' where key = 'overdue_full_amount'$$, '22023',
  'value: overdue_full_amount must be a finite number; got NaN', 'NaN is refused (it would pass every comparison)');
select throws_ok($$update public.scoring_settings set value = 'Infinity' where key = 'churn_inactive_days'$$, '22023',
  null, 'infinity is refused');
select throws_ok($$update public.scoring_settings set value = null where key = 'vip_lifetime_value'$$, '22023',
  'value: vip_lifetime_value needs a value', 'a null value is refused, naming the key');
select throws_ok($$update public.scoring_settings set value = 0 where key = 'churn_rearm_days'$$, '22023',
  null, 'a re-arm value of 0 (never re-arm) is refused');
select throws_ok($$update public.scoring_settings set value = 2.5 where key = 'cancellation_min_bookings'$$, '22023',
  null, 'counts are whole numbers');
select throws_ok(format($$insert into public.customer_scores (customer_id, scored_at, lifetime_value, risk_score, booking_count,
  bookings_total, bookings_cancelled, overdue_balance, failed_payments_90d, urgent_open_tickets, expired_insurance_active_bookings,
  overdue_points, failed_payments_points, cancellation_points, urgent_tickets_points, expired_insurance_points)
  values (%L, now(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)$$, :'customer_id'), '42501', null, 'scores are written by the job only, not by admins');
select throws_ok($$delete from public.customer_score_history$$, '42501', null, 'the score history cannot be deleted');
select throws_ok($$update public.customer_scores set risk_score = 0$$, '42501', null, 'nor the scores edited');

-- customer
select tests.act_as(:'customer_id');
select is_empty(format('select 1 from public.%I', c ->> 'relation'), c ->> 'description')
  from tests.cases($$
  relation                | description
  scoring_settings        | a customer sees no settings
  customer_scores         | no scores, not even their own
  customer_score_history  | no score history
  customer_risk_overrides | no overrides
  customer_effective_risk | no effective risk
$$) c;
select is_empty($$update public.scoring_settings set value = 1 where key = 'overdue_weight' returning 1$$, 'a customer''s settings update changes nothing');
select is_empty(format($$update public.customer_risk_overrides set score = 0 where customer_id = %L returning 1$$, :'customer_id'),
  'a customer''s update of an override changes nothing');
select tests.act_as_postgres();
select is((select score from public.customer_risk_overrides where customer_id = :'customer_id'), 50.00::numeric(5,2), 'the override is unchanged');
select is((select value from public.scoring_settings where key = 'overdue_weight'), 30::numeric, 'the setting is unchanged');

-- anon: no privileges at all
select tests.act_as_anon();
select throws_ok($$select 1 from public.scoring_settings$$, '42501', null, 'anon: scoring_settings');
select throws_ok($$select 1 from public.customer_scores$$, '42501', null, 'anon: customer_scores');
select throws_ok($$select 1 from public.customer_score_history$$, '42501', null, 'anon: customer_score_history');
select throws_ok($$select 1 from public.customer_risk_overrides$$, '42501', null, 'anon: customer_risk_overrides');
select throws_ok($$select 1 from public.customer_effective_risk$$, '42501', null, 'anon: customer_effective_risk');
select throws_ok($$select public.acknowledge_alert(gen_random_uuid())$$, '42501', null, 'anon: acknowledge_alert');

-- every table of the area has RLS on
select tests.act_as_postgres();
select is_empty($$select c.relname from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
                   and c.relname in ('scoring_settings', 'customer_scores', 'customer_score_history', 'customer_risk_overrides')
                   and not c.relrowsecurity$$, 'RLS is enabled on every table of the area');
select is((select count(*)::int from pg_policies where schemaname = 'public'
            and tablename in ('scoring_settings', 'customer_scores', 'customer_score_history', 'customer_risk_overrides')), 8,
  'one policy per (table, command): 2 settings, 1 scores, 1 history, 4 overrides');

select * from finish();
rollback;
