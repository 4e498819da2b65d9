-- Each risk component and the lifetime value, on customers constructed to isolate one component.
begin;
select plan(29);

select tests.create_user('sc-overdue@example.test') as overdue_id \gset
select tests.create_user('sc-failed@example.test') as failed_id \gset
select tests.create_user('sc-cancel@example.test') as cancel_id \gset
select tests.create_user('sc-urgent@example.test') as urgent_id \gset
select tests.create_user('sc-insurance@example.test') as insurance_id \gset
select tests.create_user('sc-spend@example.test') as spend_id \gset
select tests.create_user('sc-max@example.test') as max_id \gset

-- overdue: 500 due, 200 paid (payment) + 100 paid (manual) => 200 unpaid; an overpaid overdue
-- booking does not pay for it; a cancelled or not yet due booking does not count.
insert into public.bookings (id, customer_id, status, start_date, end_date, total_amount, payment_due_at) values
  ('00000000-0000-4000-b000-000000000001', :'overdue_id', 'completed', '2026-01-01', '2026-01-05', 500, now() - interval '3 days'),
  ('00000000-0000-4000-b000-000000000002', :'overdue_id', 'completed', '2026-01-01', '2026-01-05', 100, now() - interval '3 days'),
  ('00000000-0000-4000-b000-000000000003', :'overdue_id', 'cancelled', '2026-01-01', '2026-01-05', 900, now() - interval '3 days'),
  ('00000000-0000-4000-b000-000000000004', :'overdue_id', 'confirmed', '2026-01-01', '2026-01-05', 700, now() + interval '3 days');
insert into public.payments (customer_id, booking_id, amount, status) values
  (:'overdue_id', '00000000-0000-4000-b000-000000000001', 200, 'succeeded'),
  (:'overdue_id', '00000000-0000-4000-b000-000000000001', 300, 'pending'),
  (:'overdue_id', '00000000-0000-4000-b000-000000000002', 150, 'succeeded');
insert into public.manual_payments (customer_id, booking_id, amount, method) values
  (:'overdue_id', '00000000-0000-4000-b000-000000000001', 100, 'cash');

-- failed payments: two in the last 90 days count, one 100 days old does not
insert into public.payments (customer_id, amount, status, created_at) values
  (:'failed_id', 50, 'failed', now() - interval '1 day'),
  (:'failed_id', 50, 'failed', now() - interval '89 days'),
  (:'failed_id', 50, 'failed', now() - interval '100 days'),
  (:'failed_id', 50, 'succeeded', now() - interval '1 day');

-- cancellation ratio: 1 of 4 bookings cancelled
insert into public.bookings (customer_id, status, start_date, end_date, total_amount)
select :'cancel_id', s, '2026-01-01', '2026-01-02', 0 from unnest(array['cancelled', 'completed', 'completed', 'pending']) s;

-- urgent tickets: open and pending urgent ones count; resolved urgent and open high ones do not
insert into public.support_tickets (customer_id, subject, status, priority) values
  (:'urgent_id', 'a', 'open', 'urgent'), (:'urgent_id', 'b', 'resolved', 'urgent'), (:'urgent_id', 'c', 'open', 'high');

-- expired insurance: an active booking with only an expired document counts; an active booking
-- with a renewed valid document, and a completed booking with an expired one, do not
insert into public.bookings (id, customer_id, status, start_date, end_date) values
  ('00000000-0000-4000-b000-000000000011', :'insurance_id', 'active', '2026-01-01', '2026-12-31'),
  ('00000000-0000-4000-b000-000000000012', :'insurance_id', 'active', '2026-01-01', '2026-12-31'),
  ('00000000-0000-4000-b000-000000000013', :'insurance_id', 'completed', '2026-01-01', '2026-01-31');
insert into public.insurance_documents (customer_id, booking_id, kind, status, expires_at) values
  (:'insurance_id', '00000000-0000-4000-b000-000000000011', 'liability', 'valid', current_date - 1),
  (:'insurance_id', '00000000-0000-4000-b000-000000000012', 'liability', 'expired', current_date - 30),
  (:'insurance_id', '00000000-0000-4000-b000-000000000012', 'liability', 'valid', current_date + 30),
  (:'insurance_id', '00000000-0000-4000-b000-000000000013', 'liability', 'expired', current_date - 30);

-- spend: succeeded payments + manual payments; pending, failed and refunded do not count
insert into public.payments (customer_id, amount, status) values
  (:'spend_id', 1000, 'succeeded'), (:'spend_id', 250.50, 'succeeded'), (:'spend_id', 999, 'pending'),
  (:'spend_id', 999, 'failed'), (:'spend_id', 999, 'refunded');
insert into public.manual_payments (customer_id, amount, method) values (:'spend_id', 49.50, 'bank transfer');

-- every component at full weight: 100, never more
insert into public.bookings (id, customer_id, status, start_date, end_date, total_amount, payment_due_at) values
  ('00000000-0000-4000-b000-000000000021', :'max_id', 'active', '2026-01-01', '2026-12-31', 5000, now() - interval '1 day'),
  ('00000000-0000-4000-b000-000000000022', :'max_id', 'cancelled', '2026-01-01', '2026-01-02', 0, null),
  ('00000000-0000-4000-b000-000000000023', :'max_id', 'cancelled', '2026-01-01', '2026-01-02', 0, null),
  ('00000000-0000-4000-b000-000000000024', :'max_id', 'cancelled', '2026-01-01', '2026-01-02', 0, null);
insert into public.payments (customer_id, amount, status) select :'max_id', 1, 'failed' from generate_series(1, 5);
insert into public.support_tickets (customer_id, subject, status, priority) select :'max_id', 'x', 'open', 'urgent' from generate_series(1, 3);
insert into public.insurance_documents (customer_id, booking_id, kind, status, expires_at) values
  (:'max_id', '00000000-0000-4000-b000-000000000021', 'liability', 'expired', current_date - 5);

select lives_ok($$select private.run_nightly_scoring()$$, 'the nightly scoring pass runs');

select results_eq(format($$select overdue_balance, overdue_points, risk_score from public.customer_scores where customer_id = %L$$, :'overdue_id'),
  $$values (200.00::numeric(12,2), 6.00::numeric(5,2), 11.00::numeric(5,2))$$,
  'overdue: 200 unpaid of 1000 for full points earns 6 of 30 points (plus 5 for 1 of 4 bookings cancelled)');
select results_eq(format($$select failed_payments_90d, failed_payments_points, risk_score from public.customer_scores where customer_id = %L$$, :'failed_id'),
  $$values (2, 13.33::numeric(5,2), 13.33::numeric(5,2))$$,
  'failed payments: 2 in 90 days of 3 for full points earns 13.33 of 20');
select results_eq(format($$select bookings_total, bookings_cancelled, booking_count, cancellation_points, risk_score from public.customer_scores where customer_id = %L$$, :'cancel_id'),
  $$values (4, 1, 3, 5.00::numeric(5,2), 5.00::numeric(5,2))$$,
  'cancellation: 1 of 4 cancelled earns a quarter of 20 points');
select results_eq(format($$select urgent_open_tickets, urgent_tickets_points, risk_score from public.customer_scores where customer_id = %L$$, :'urgent_id'),
  $$values (1, 7.50::numeric(5,2), 7.50::numeric(5,2))$$,
  'urgent tickets: 1 open urgent of 2 for full points earns 7.5 of 15');
select results_eq(format($$select expired_insurance_active_bookings, expired_insurance_points, risk_score from public.customer_scores where customer_id = %L$$, :'insurance_id'),
  $$values (1, 15.00::numeric(5,2), 15.00::numeric(5,2))$$,
  'expired insurance: only the active booking without a valid document counts; 15 points');
select results_eq(format($$select lifetime_value, risk_score from public.customer_scores where customer_id = %L$$, :'spend_id'),
  $$values (1300.00::numeric(12,2), 6.67::numeric(5,2))$$,
  'lifetime value = succeeded payments + manual payments (the failed one is risk: 6.67)');
select results_eq(format($$select overdue_points, failed_payments_points, cancellation_points, urgent_tickets_points, expired_insurance_points, risk_score
                            from public.customer_scores where customer_id = %L$$, :'max_id'),
  $$values (30.00::numeric(5,2), 20.00::numeric(5,2), 15.00::numeric(5,2), 15.00::numeric(5,2), 15.00::numeric(5,2), 95.00::numeric(5,2))$$,
  'every component at once: the points add up');
select results_eq(format($$select risk_score, lifetime_value from public.users where id = %L$$, :'spend_id'),
  $$values (6.67::numeric(5,2), 1300.00::numeric(12,2))$$, 'the scores are stored on users');
select results_eq(format($$select risk_score from public.users where id = %L$$, :'max_id'),
  $$values (95.00::numeric(5,2))$$, 'users.risk_score mirrors the computed score');

-- history: one row per change, none when nothing changed
select is((select count(*)::int from public.customer_score_history where customer_id = :'overdue_id'), 1, 'the first pass writes one history row');
select lives_ok($$select private.run_nightly_scoring()$$, 'a second pass runs');
select is((select count(*)::int from public.customer_score_history where customer_id = :'overdue_id'), 1, 'an unchanged customer gets no new history row');
insert into public.manual_payments (customer_id, booking_id, amount, method) values
  (:'overdue_id', '00000000-0000-4000-b000-000000000001', 200, 'cash');
select lives_ok($$select private.run_nightly_scoring()$$, 'a third pass runs after a payment');
select results_eq(format($$select overdue_balance, risk_score, lifetime_value from public.customer_score_history where customer_id = %L order by id$$, :'overdue_id'),
  $$values (200.00::numeric(12,2), 11.00::numeric(5,2), 450.00::numeric(12,2)), (0.00::numeric(12,2), 5.00::numeric(5,2), 650.00::numeric(12,2))$$,
  'the history keeps both scores with the components that explain them');
select results_eq(format($$select risk_score, lifetime_value from public.users where id = %L$$, :'overdue_id'),
  $$values (5.00::numeric(5,2), 650.00::numeric(12,2))$$, 'users follow the new score');

-- the weights are settings
update public.scoring_settings set value = 60 where key = 'failed_payments_weight';
select lives_ok($$select private.run_nightly_scoring()$$, 'a pass after changing a weight');
select results_eq(format($$select failed_payments_points from public.customer_scores where customer_id = %L$$, :'failed_id'),
  $$values (40.00::numeric(5,2))$$, 'a weight change applies on the next pass');
select results_eq(format($$select risk_score from public.customer_scores where customer_id = %L$$, :'max_id'),
  $$values (100.00::numeric(5,2))$$, 'the risk score never exceeds 100');

-- cancellation ratio needs cancellation_min_bookings bookings
select tests.create_user('sc-one-cancel@example.test') as one_id \gset
insert into public.bookings (customer_id, status, start_date, end_date) values (:'one_id', 'cancelled', '2026-01-01', '2026-01-02');
select lives_ok($$select private.run_nightly_scoring()$$, 'a pass with a single-booking customer');
select results_eq(format($$select cancellation_points, booking_count, last_booking_at from public.customer_scores where customer_id = %L$$, :'one_id'),
  $$values (0.00::numeric(5,2), 0, null::timestamptz)$$, 'one cancelled booking alone is not a ratio; no booking counts');

-- customers with nothing score 0 with value 0
select results_eq(format($$select risk_score, lifetime_value, booking_count from public.customer_scores where customer_id = %L$$, :'urgent_id'),
  $$values (7.50::numeric(5,2), 0.00::numeric(12,2), 0)$$, 'no spend is a lifetime value of 0');

-- the pass is set-based: no loop over customers in its code
select doesnt_match(pg_get_functiondef('private.score_customers()'::regprocedure), '\mloop\M', 'score_customers has no per-row loop');
select doesnt_match(pg_get_functiondef('private.evaluate_score_alerts()'::regprocedure), '\mloop\M', 'evaluate_score_alerts has no per-row loop');

-- API callers need admin; the job is not theirs to run
select tests.create_user('sc-admin@example.test', array['admin']) as admin_id \gset
select tests.act_as(:'admin_id');
select throws_ok($$select private.score_customers()$$, '42501', null, 'authenticated cannot run the scoring pass');
select tests.act_as_postgres();
select tests.act_as_service();
select lives_ok($$select private.score_customers()$$, 'the service role can');
select tests.act_as_postgres();
select is((select count(*)::int from public.customer_scores), (select count(*)::int from public.users), 'every user has a score');

-- erasing a customer erases their scores and history
delete from auth.users where id = :'overdue_id';
select is_empty(format($$select 1 from public.customer_scores where customer_id = %L$$, :'overdue_id'), 'an erased customer''s score goes');
select is_empty(format($$select 1 from public.customer_score_history where customer_id = %L$$, :'overdue_id'), 'and their score history');

select * from finish();
rollback;
