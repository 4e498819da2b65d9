-- An opt-out acknowledged by sendgrid-events holds its address at once: the dispatcher's send-time
-- check defers a queued recipient at that address (by base_backoff_seconds) while the inbox row
-- waits, and once the row is applied the consent decides (skipped_no_consent). Other addresses send.
begin;
select plan(11);

select tests.create_user('hold-a-' || gen_random_uuid() || '@example.test') as a \gset
select tests.create_user('hold-b-' || gen_random_uuid() || '@example.test') as b \gset
select email as a_email from public.users where id = :'a' \gset
select email as b_email from public.users where id = :'b' \gset
select public.set_customer_consent(id, 'email', true, 'signup') from public.users where id in (:'a', :'b');
insert into public.campaigns (id, name, channel, content, audience, status) values
  ('55000000-0000-4000-a000-000000000001', 'hold first', 'email', '{"subject":"s","text":"t"}', '{}', 'sent'),
  ('55000000-0000-4000-a000-000000000002', 'hold second', 'email', '{"subject":"s","text":"t"}', '{}', 'sending');
insert into public.campaign_recipients (id, campaign_id, customer_id, channel, address, status, attempts, sent_at) values
  ('56000000-0000-4000-a000-000000000001', '55000000-0000-4000-a000-000000000001', :'a', 'email', :'a_email', 'sent', 1, now() - interval '1 hour');
insert into public.campaign_recipients (id, campaign_id, customer_id, channel, address, status, next_attempt_at) values
  ('56000000-0000-4000-a000-000000000002', '55000000-0000-4000-a000-000000000002', :'a', 'email', upper(:'a_email'), 'queued', now()),
  ('56000000-0000-4000-a000-000000000003', '55000000-0000-4000-a000-000000000002', :'b', 'email', :'b_email', 'queued', now());
-- nothing else competes for this test's claim
update public.campaigns set status = 'paused' where status = 'sending' and id <> '55000000-0000-4000-a000-000000000002';

select jsonb_build_array(
  jsonb_build_object('sg_event_id', 'hold-1', 'event', 'unsubscribe', 'email', :'a_email', 'recipient_id', '56000000-0000-4000-a000-000000000001')) as batch \gset
select tests.act_as_service();
select is((private.accept_webhook('sendgrid_events', :'batch', 1, :'batch'::jsonb)) ->> 'applied_now', '1', 'the opt-out is held while answering');
select tests.act_as_postgres();
select is((select enabled from public.customer_consent where customer_id = :'a' and channel = 'email'), true,
  'consent changes when the row is applied, not before');

select tests.act_as_service();
select results_eq($$select recipient_id from private.claim_recipients('hold-test', 'email', 10)$$,
  $$values ('56000000-0000-4000-a000-000000000003'::uuid)$$, 'the held address is not claimed; the other one is');
select tests.act_as_postgres();
select ok((select status = 'queued' and attempts = 0 and next_attempt_at > now() + interval '3 seconds' and next_attempt_at < now() + interval '10 seconds'
             from public.campaign_recipients where id = '56000000-0000-4000-a000-000000000002'),
  'the held recipient waits base_backoff_seconds (5 s), no attempt counted');

select tests.act_as_service();
select ok((select bool_and((private.apply_webhook_inbox(5000, part) ->> 'rows')::int >= 0) from generate_series(0, private.webhook_apply_parts() - 1) part),
  'the inbox is applied');
select tests.act_as_postgres();
select is((select count(*)::int from private.webhook_opt_outs where address_key = lower(:'a_email')), 0, 'the hold is gone once applied');
select is((select enabled::text || '/' || source from public.customer_consent where customer_id = :'a' and channel = 'email'), 'false/sendgrid',
  'the unsubscribe is the customer''s consent now');

update public.campaign_recipients set next_attempt_at = now() where id = '56000000-0000-4000-a000-000000000002';
select tests.act_as_service();
select private.claim_recipients('hold-test', 'email', 10);
select tests.act_as_postgres();
select is((select status from public.campaign_recipients where id = '56000000-0000-4000-a000-000000000002'), 'skipped_no_consent',
  'then the send-time check skips it for want of consent');

-- an address longer than any address can be (signed, but not sendable) is neither held nor
-- suppressed, and loses nothing else of its batch
select string_agg(md5(g::text), '') || '@example.test' as long_email from generate_series(1, 400) g \gset
select jsonb_build_array(
  jsonb_build_object('sg_event_id', 'hold-long-1', 'event', 'unsubscribe', 'email', :'long_email'),
  jsonb_build_object('sg_event_id', 'hold-long-2', 'event', 'bounce', 'email', :'long_email', 'reason', '550 no such user'),
  jsonb_build_object('sg_event_id', 'hold-long-3', 'event', 'bounce', 'email', :'b_email', 'reason', '550 no such user')) as long_batch \gset
select tests.act_as_service();
select is((private.accept_webhook('sendgrid_events', :'long_batch', 3, :'long_batch'::jsonb)) ->> 'applied_now', '1',
  'an over-long address is not held; the batch''s other opt-out is');
select ok((select bool_and((private.apply_webhook_inbox(5000, part) ->> 'failed')::int = 0) from generate_series(0, private.webhook_apply_parts() - 1) part),
  'the batch applies without failing');
select tests.act_as_postgres();
select results_eq(format($$select address_key from public.suppressions where reason = 'bounce' and address_key in (lower(%L), lower(%L))$$, :'long_email', :'b_email'),
  format($$values (lower(%L))$$, :'b_email'), 'the real address is suppressed, the over-long one is not');

select * from finish();
rollback;
