-- set_customer_consent: admins for anyone, a customer for themselves only (as self_service);
-- history is appended on every change and cannot be edited; audit rows are written.
begin;
select plan(22);
-- double opt-in has its own test (consent/double_opt_in); here grants take effect at once
update public.consent_settings set double_opt_in = false;

select tests.create_user('consent-admin@example.test', array['admin']) as admin_id \gset
select tests.create_user('consent-cust@example.test') as cust_id \gset
select tests.create_user('consent-other@example.test') as other_id \gset

select tests.act_as(:'admin_id');
select is((public.set_customer_consent(:'cust_id', 'email', true, 'admin', 'asked at the counter')) ->> 'enabled', 'true',
  'an admin grants email consent');
select is((select source from public.customer_consent where customer_id = :'cust_id' and channel = 'email'), 'admin',
  'the source is kept');
select isnt((select granted_at from public.customer_consent where customer_id = :'cust_id' and channel = 'email'), null,
  'granted_at is stamped');
select is((public.set_customer_consent(:'cust_id', 'email', false, 'admin', 'asked to stop')) ->> 'enabled', 'false',
  'an admin revokes it');
select isnt((select revoked_at from public.customer_consent where customer_id = :'cust_id' and channel = 'email'), null,
  'revoked_at is stamped');
select is((select count(*) from public.customer_consent_history where customer_id = :'cust_id'), 2::bigint,
  'each change appends a history row');
select results_eq(
  format($$select old_enabled, new_enabled, source, note, changed_by from public.customer_consent_history where customer_id = %L order by id$$, :'cust_id'),
  format($$values (null::boolean, true, 'admin'::text, 'asked at the counter'::text, %L::uuid), (true, false, 'admin', 'asked to stop', %L::uuid)$$, :'admin_id', :'admin_id'),
  'history holds who, the source, and the old and new state');

-- a customer on their own record
select tests.act_as(:'cust_id');
select lives_ok(format($$select public.set_customer_consent(%L, 'sms', true)$$, :'cust_id'),
  'a customer changes their own consent');
select is((select source from public.customer_consent where customer_id = :'cust_id' and channel = 'sms'), 'self_service',
  'a customer''s change is recorded as self_service');
select throws_ok(format($$select public.set_customer_consent(%L, 'sms', true, 'admin')$$, :'cust_id'), '42501',
  'source: a customer''s own change is always self_service; admin is not theirs to claim', 'a customer cannot claim another source');
select is((select count(*) from public.customer_consent where customer_id = :'cust_id'), 2::bigint,
  'a customer reads their own consent');
select throws_ok(format($$select public.set_customer_consent(%L, 'sms', true)$$, :'other_id'), '42501',
  'permission denied: a customer may change only their own consent', 'a customer is refused on someone else''s record');
select throws_ok(format($$update public.customer_consent set source = 'admin', enabled = false where customer_id = %L and channel = 'sms'$$, :'cust_id'),
  '42501', null, 'a customer''s direct write through the API is refused');
select tests.act_as_postgres();
select is((select count(*) from public.customer_consent where customer_id = :'other_id'), 0::bigint,
  'nothing was written for the other customer');

-- history and audit are append-only, for admins too
select tests.act_as(:'admin_id');
select throws_ok(format($$update public.customer_consent_history set new_enabled = true where customer_id = %L$$, :'cust_id'),
  '42501', null, 'an admin cannot update consent history');
select throws_ok(format($$delete from public.customer_consent_history where customer_id = %L$$, :'cust_id'),
  '42501', null, 'an admin cannot delete consent history');
select tests.act_as_service();
select throws_ok(format($$update public.customer_consent_history set new_enabled = true where customer_id = %L$$, :'cust_id'),
  '42501', null, 'the service role cannot update consent history');
select tests.act_as_postgres();
select throws_ok(format($$update public.customer_consent_history set new_enabled = true where customer_id = %L$$, :'cust_id'),
  '42501', 'customer_consent_history is append-only: update is not allowed', 'not even the table owner can update history');
select throws_ok(format($$delete from public.customer_consent_history where customer_id = %L$$, :'cust_id'),
  '42501', 'customer_consent_history is append-only: delete is not allowed', 'nor delete it while the customer exists');
select throws_ok($$truncate public.customer_consent_history$$, '42501', null, 'nor truncate it');
select is((select count(*) from public.audit_log where entity = 'customer_consent' and entity_id like :'cust_id' || ':%'), 3::bigint,
  'every consent write is audited');
-- erasing the customer takes their history with them
delete from auth.users where id = :'cust_id';
select is((select count(*) from public.customer_consent_history where customer_id = :'cust_id'), 0::bigint,
  'erasing a customer removes their consent history with them');

select * from finish();
rollback;
