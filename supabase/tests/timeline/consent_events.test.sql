-- customer_consent -> 'consent' event only when the state changes, by trigger, whatever the path
-- (set_customer_consent as admin or customer, or a verified provider webhook).
begin;
select plan(9);
-- double opt-in has its own test (consent/double_opt_in); here grants take effect at once
update public.consent_settings set double_opt_in = false;

select * from tests.customer_and_admin('tl-consent') \gset

select tests.act_as(:'admin');
select public.set_customer_consent(:'customer', 'email', true, 'admin', 'asked at the counter');
select tests.act_as_postgres();
select results_eq(
  $$select event_type, reference_id::text, occurred_at, title from public.customer_timeline_events where source_table = 'customer_consent' and customer_id = (select id from public.users where email = 'tl-consent-customer@example.test')$$,
  format($$values ('consent', %L, now(), 'Email consent granted (admin)')$$, :'customer'),
  'granting yields a consent event for the customer at the change''s time');
select is((select metadata - 'changed_by' from public.customer_timeline_events where source_table = 'customer_consent' and customer_id = (select id from public.users where email = 'tl-consent-customer@example.test')),
  '{"action":"granted","channel":"email","enabled":true,"from":null,"source":"admin","note":"asked at the counter"}'::jsonb,
  'with channel, source and note in metadata');
select is((select metadata ->> 'changed_by' from public.customer_timeline_events where source_table = 'customer_consent' and customer_id = (select id from public.users where email = 'tl-consent-customer@example.test')), :'admin',
  'and who changed it');

select tests.act_as(:'admin');
select public.set_customer_consent(:'customer', 'email', true, 'admin', 'confirmed again');
select tests.act_as_postgres();
select is((select count(*)::int from public.customer_timeline_events where source_table = 'customer_consent' and customer_id = (select id from public.users where email = 'tl-consent-customer@example.test')), 1,
  'writing the same state again yields no event (history still gets its row)');
select is((select count(*)::int from public.customer_consent_history where customer_id = :'customer'), 2, 'history has both writes');

select tests.act_as(:'customer');
select public.set_customer_consent(:'customer', 'email', false);
select tests.act_as_postgres();
select is((select title from public.customer_timeline_events where source_table = 'customer_consent' and customer_id = (select id from public.users where email = 'tl-consent-customer@example.test') order by seq desc limit 1),
  'Email consent revoked (self-service)', 'the customer''s own revocation yields an event');

-- a webhook's writer (private.apply_provider_consent, behind the verified ingest functions) too
select private.apply_provider_consent(jsonb_build_array(jsonb_build_object(
  'customer_id', :'customer', 'channel', 'sms', 'enabled', false, 'source', 'twilio_inbound', 'occurred_at', now())));
select is((select count(*)::int from public.customer_timeline_events where source_table = 'customer_consent' and customer_id = (select id from public.users where email = 'tl-consent-customer@example.test')), 2,
  'a first row that is off changes nothing: no event');
select private.apply_provider_consent(jsonb_build_array(jsonb_build_object(
  'customer_id', :'customer', 'channel', 'sms', 'enabled', true, 'source', 'twilio_inbound', 'occurred_at', now())));
select results_eq(
  $$select title, metadata ->> 'from' from public.customer_timeline_events where source_table = 'customer_consent' and customer_id = (select id from public.users where email = 'tl-consent-customer@example.test') order by seq desc limit 1$$,
  $$values ('SMS consent granted (twilio-inbound)', 'false')$$,
  'a provider webhook''s change yields an event');

-- on and off in one transaction: two events
select tests.act_as(:'admin');
select public.set_customer_consent(:'customer', 'push', true);
select public.set_customer_consent(:'customer', 'push', false);
select public.set_customer_consent(:'customer', 'push', true);
select tests.act_as_postgres();
select is((select count(*)::int from public.customer_timeline_events where source_table = 'customer_consent' and customer_id = (select id from public.users where email = 'tl-consent-customer@example.test') and metadata ->> 'channel' = 'push'), 3,
  'every change is its own event, even within one transaction');

select * from finish();
rollback;
