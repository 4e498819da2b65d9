-- customer_summary (docs/api.md §7) on a constructed customer: every key, every value; admin only.
begin;
select plan(22);

select tests.create_user('cs-admin@example.test', array['admin']) as admin_id \gset
select tests.create_user('cs-manager@example.test', array['admin'], 'Mona Manager') as manager_id \gset
select tests.create_user('cs-customer@example.test', '{}', 'Carl Customer', 'Bergen', '+4790012345') as customer_id \gset
select tests.create_user('cs-empty@example.test') as empty_id \gset
update public.users set account_manager_id = :'manager_id', risk_score = 35, lifetime_value = 1234.50, region = 'Vestland',
                        preferred_contact_method = 'sms'
 where id = :'customer_id';

insert into public.bookings (id, customer_id, status, start_date, end_date, total_amount, payment_due_at, created_at) values
  -- overdue 1000, paid 300 + manual 200 => 500 owed
  ('00000000-0000-4000-c000-000000000001', :'customer_id', 'completed', '2026-01-01', '2026-01-05', 1000, now() - interval '10 days', '2026-01-01'),
  -- overdue but overpaid: owes nothing and does not offset the other
  ('00000000-0000-4000-c000-000000000002', :'customer_id', 'completed', '2026-02-01', '2026-02-05', 100, now() - interval '10 days', '2026-02-01'),
  -- not yet due
  ('00000000-0000-4000-c000-000000000003', :'customer_id', 'confirmed', '2026-12-01', '2026-12-05', 800, now() + interval '10 days', '2026-03-01'),
  -- cancelled: neither counted nor owed, and not the last booking
  ('00000000-0000-4000-c000-000000000004', :'customer_id', 'cancelled', '2026-12-01', '2026-12-05', 900, now() - interval '10 days', '2026-04-01');
insert into public.payments (customer_id, booking_id, amount, status) values
  (:'customer_id', '00000000-0000-4000-c000-000000000001', 300, 'succeeded'),
  (:'customer_id', '00000000-0000-4000-c000-000000000001', 700, 'failed'),
  (:'customer_id', '00000000-0000-4000-c000-000000000002', 150, 'succeeded');
insert into public.manual_payments (customer_id, booking_id, amount, method) values
  (:'customer_id', '00000000-0000-4000-c000-000000000001', 200, 'cash');
insert into public.support_tickets (customer_id, subject, status, priority) values
  (:'customer_id', 'a', 'open', 'normal'), (:'customer_id', 'b', 'pending', 'urgent'),
  (:'customer_id', 'c', 'resolved', 'normal'), (:'customer_id', 'd', 'closed', 'high');
insert into public.insurance_documents (id, customer_id, booking_id, kind, status, expires_at) values
  ('00000000-0000-4000-c000-000000000011', :'customer_id', '00000000-0000-4000-c000-000000000003', 'liability', 'valid', current_date + 29),
  ('00000000-0000-4000-c000-000000000012', :'customer_id', null, 'damage', 'pending', current_date),
  ('00000000-0000-4000-c000-000000000013', :'customer_id', null, 'damage', 'valid', current_date + 31),
  ('00000000-0000-4000-c000-000000000014', :'customer_id', null, 'damage', 'valid', current_date - 1),
  ('00000000-0000-4000-c000-000000000015', :'customer_id', null, 'damage', 'rejected', current_date + 5);
insert into public.customer_tags (id, name, color) values
  ('00000000-0000-4000-c000-000000000021', 'Zeta', '#112233'), ('00000000-0000-4000-c000-000000000022', 'alpha', '#445566');
insert into public.customer_tag_members (customer_id, tag_id) values
  (:'customer_id', '00000000-0000-4000-c000-000000000021'), (:'customer_id', '00000000-0000-4000-c000-000000000022');
insert into public.customer_consent (customer_id, channel, enabled, source) values
  (:'customer_id', 'email', true, 'admin'), (:'customer_id', 'sms', false, 'admin');

select tests.act_as(:'admin_id');
select public.customer_summary(:'customer_id') as s \gset

select is((select array_agg(k order by k) from jsonb_object_keys(:'s'::jsonb) k),
  array['account_manager', 'booking_count', 'consent', 'customer', 'insurance_expiring', 'last_booking_at', 'lifetime_value',
        'open_tickets', 'overdue_balance', 'risk', 'tags', 'total_spend'], 'exactly the keys of docs/api.md §7');
select is(:'s'::jsonb -> 'customer' ->> 'id', :'customer_id', 'customer.id');
select is((:'s'::jsonb -> 'customer') - 'id'::text - 'created_at'::text,
  '{"email": "cs-customer@example.test", "phone": "+4790012345", "full_name": "Carl Customer", "city": "Bergen",
    "region": "Vestland", "country_code": "NO", "preferred_contact_method": "sms"}'::jsonb, 'customer: who they are');
select is(:'s'::jsonb -> 'risk', '{"score": 35.00, "computed": 35.00, "override": null, "level": "low"}'::jsonb,
  'risk without an override: computed, level low');
select is((:'s'::jsonb ->> 'lifetime_value')::numeric, 1234.50, 'lifetime_value as of the last scoring pass');
select is((:'s'::jsonb ->> 'total_spend')::numeric, 650.00, 'total_spend: succeeded payments + manual payments');
select is((:'s'::jsonb ->> 'booking_count')::int, 3, 'booking_count leaves out the cancelled booking');
select is((:'s'::jsonb ->> 'last_booking_at')::timestamptz, '2026-03-01'::timestamptz, 'last_booking_at is the newest non-cancelled booking');
select is(:'s'::jsonb -> 'tags', '[{"id": "00000000-0000-4000-c000-000000000022", "name": "alpha", "color": "#445566"},
                                   {"id": "00000000-0000-4000-c000-000000000021", "name": "Zeta", "color": "#112233"}]'::jsonb,
  'tags, by name');
select is(:'s'::jsonb -> 'consent', '{"email": true, "sms": false, "push": false}'::jsonb, 'consent per channel, false without a row');
select is((select jsonb_agg(d ->> 'id') from jsonb_array_elements(:'s'::jsonb -> 'insurance_expiring') d),
  '["00000000-0000-4000-c000-000000000012", "00000000-0000-4000-c000-000000000011"]'::jsonb,
  'insurance expiring within 30 days, soonest first (not expired, not later, not rejected)');
select is((:'s'::jsonb -> 'insurance_expiring' -> 1) - 'expires_at'::text,
  '{"id": "00000000-0000-4000-c000-000000000011", "kind": "liability", "booking_id": "00000000-0000-4000-c000-000000000003", "status": "valid"}'::jsonb,
  'each with kind, booking and status');
select is((:'s'::jsonb ->> 'overdue_balance')::numeric, 500.00, 'overdue_balance: past-due bookings minus what was paid for them');
select is(jsonb_typeof(:'s'::jsonb -> 'overdue_balance'), 'number', 'overdue_balance is a number');
select is(:'s'::jsonb -> 'open_tickets', '2'::jsonb, 'open_tickets counts open and pending tickets, as a number');
select is(:'s'::jsonb -> 'account_manager',
  format('{"id": "%s", "full_name": "Mona Manager", "email": "cs-manager@example.test"}', :'manager_id')::jsonb, 'account_manager');

-- a customer with nothing
select is(public.customer_summary(:'empty_id') - 'customer'::text,
  '{"risk": {"score": null, "computed": null, "override": null, "level": null}, "lifetime_value": null, "total_spend": 0,
    "booking_count": 0, "last_booking_at": null, "tags": [], "consent": {"email": false, "sms": false, "push": false},
    "insurance_expiring": [], "overdue_balance": 0, "open_tickets": 0, "account_manager": null}'::jsonb,
  'a customer with nothing: zeros, empty lists, nulls where unknown');

-- refusals
select throws_ok($$select public.customer_summary(null)$$, '22023', 'customer_id: is required', 'null id');
select throws_ok($$select public.customer_summary('00000000-0000-4000-8000-00000000dead')$$, '22023',
  'customer_id: customer 00000000-0000-4000-8000-00000000dead does not exist', 'unknown customer');
select tests.act_as(:'customer_id');
select throws_ok(format($$select public.customer_summary(%L)$$, :'customer_id'), '42501', null, 'a customer cannot read their own summary');
select throws_ok(format($$select private.customer_summary(%L)$$, :'customer_id'), '42501', null, 'nor call the private worker directly');
select tests.act_as_anon();
select throws_ok(format($$select public.customer_summary(%L)$$, :'customer_id'), '42501', null, 'anon cannot call it');

select * from finish();
rollback;
