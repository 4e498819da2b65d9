-- consent_proof(recipient_id) shows why one message was allowed; check_consent_proofs() lists
-- every message that left without a valid proof: none over the seed world, none after a real
-- send, one per kind of forged ledger row.
begin;
select plan(20);

select tests.create_user('proof-admin@example.test', array['admin', 'communications']) as admin_id \gset
select tests.create_user('proof-plain@example.test', array['admin']) as plain_id \gset
select tests.create_user('proof-cust@example.test') as cust_id \gset
select tests.create_user('proof-cust2@example.test') as cust2_id \gset

select tests.act_as(:'admin_id');
select is_empty($$select * from public.check_consent_proofs()$$, 'the seed world holds the invariant: no message without a valid proof');

-- a real send: queue, claim, complete, a provider event
select tests.act_as_postgres();
select public.set_customer_consent(:'cust_id', 'email', true, 'signup', 'web form');
select tests.act_as(:'admin_id');
select (public.queue_bulk_message(jsonb_build_object('name', 'Proof campaign', 'channel', 'email',
          'content', jsonb_build_object('subject', 'Hi', 'text', 'Hello'),
          'audience', jsonb_build_object('customer_ids', jsonb_build_array(:'cust_id', :'cust2_id')))) ->> 'campaign_id') as camp \gset
select tests.act_as_service();
select recipient_id as rcpt from private.claim_recipients('proof-worker', 'email', 1000) where campaign_id = :'camp' \gset
select private.complete_recipients('proof-worker', jsonb_build_array(jsonb_build_object('id', :'rcpt', 'outcome', 'sent', 'provider_message_id', 'msg-proof-1')));
select private.ingest_sendgrid_events(jsonb_build_array(jsonb_build_object('sg_event_id', 'proof-ev-1', 'event', 'delivered',
  'email', 'proof-cust@example.test', 'timestamp', extract(epoch from now())::bigint, 'recipient_id', :'rcpt')));
select tests.act_as_postgres();
-- one test transaction has one now(): put the send-time check a second before it (not relative to
-- the claim's clock time, which on a loaded machine can be more than a second later), as if the
-- later changes below happened in transactions of their own after it
update public.campaign_recipients set consent_checked_at = now() - interval '1 second' where id = :'rcpt';

select tests.act_as(:'plain_id');
select public.consent_proof(:'rcpt') as proof \gset
select is(:'proof'::jsonb ->> 'valid', 'true', 'a sent message has a valid proof (an admin without communications may read it)');
select is(:'proof'::jsonb -> 'customer' ->> 'id', :'cust_id', 'it names the customer');
select is(:'proof'::jsonb ->> 'address', 'proof-cust@example.test', 'the address');
select is(:'proof'::jsonb -> 'allowed_by' ->> 'source', 'signup', 'the source of the consent that allowed it');
select is((:'proof'::jsonb -> 'allowed_by' ->> 'consent_history_id')::bigint,
  (select id from public.customer_consent_history where customer_id = :'cust_id' order by id desc limit 1), 'the history row');
select is((:'proof'::jsonb -> 'allowed_by' -> 'wording' ->> 'version')::int,
  (select max(version) from public.consent_texts where channel = 'email'), 'the wording version');
select is(((:'proof'::jsonb -> 'at_send' ->> 'consent_on')::boolean, (:'proof'::jsonb -> 'at_send' ->> 'suppressed')::boolean,
           :'proof'::jsonb -> 'at_send' ->> 'checked_at' is not null)::text,
  (true, false, true)::text, 'the send-time re-check: consent on, not suppressed, when');
select is(:'proof'::jsonb -> 'provider' ->> 'provider_message_id', 'msg-proof-1', 'the provider id');
select is(:'proof'::jsonb -> 'events' -> 0 ->> 'event', 'delivered', 'and the events that came back');
select is_empty($$select * from public.check_consent_proofs()$$, 'after a real send the invariant holds');

-- the customer opts out afterwards: the proof of the earlier send still holds
select tests.act_as(:'cust_id');
select public.set_customer_consent(:'cust_id', 'email', false);
select tests.act_as(:'plain_id');
select is(public.consent_proof(:'rcpt') ->> 'valid', 'true', 'a later opt-out does not invalidate an earlier send');

-- forged ledger rows, written past every API by the owner: each is an exception
select tests.act_as_postgres();
insert into public.campaigns (id, name, channel, status, content, audience)
values ('00000000-0000-4000-8000-00000000f000', 'Forged', 'email', 'sent', '{"subject":"x","text":"x"}', '{"customer_ids":[]}');
insert into public.campaign_recipients (id, campaign_id, customer_id, channel, address, status, attempts, sent_at, consent_checked_at)
values ('00000000-0000-4000-8000-00000000f001', '00000000-0000-4000-8000-00000000f000', :'cust2_id', 'email', 'proof-cust2@example.test',
        'sent', 1, now(), now());
select tests.act_as(:'admin_id');
select results_eq($$select recipient_id::text, problem from public.check_consent_proofs()$$,
  $$values ('00000000-0000-4000-8000-00000000f001', 'no consent record: the send names no consent history row')$$,
  'a message sent without consent is an exception');
select tests.act_as_postgres();
update public.campaign_recipients set consent_history_id = (select id from public.customer_consent_history where customer_id = :'cust_id' and new_enabled order by id desc limit 1)
 where id = '00000000-0000-4000-8000-00000000f001';
select tests.act_as(:'admin_id');
select is((select problem from public.check_consent_proofs()), 'the named consent record belongs to another customer or channel',
  'a proof borrowed from another customer is an exception');
select tests.act_as_postgres();
update public.campaign_recipients set customer_id = :'cust_id', address = 'proof-cust@example.test', consent_checked_at = now() + interval '1 hour',
       consent_history_id = (select id from public.customer_consent_history where customer_id = :'cust_id' and new_enabled order by id desc limit 1)
 where id = '00000000-0000-4000-8000-00000000f001';
select tests.act_as(:'admin_id');
select is((select problem from public.check_consent_proofs()), 'consent was revoked after the named grant and before the send-time check',
  'a send after the opt-out is an exception');
select tests.act_as_postgres();
insert into public.suppressions (channel, address, reason) values ('email', 'Proof-Cust@example.test', 'bounce');
select tests.act_as(:'admin_id');
select is((select problem from public.check_consent_proofs()), 'the address was suppressed at the send-time check',
  'a send to a suppressed address is an exception');
select tests.act_as_postgres();
delete from public.campaign_recipients where id = '00000000-0000-4000-8000-00000000f001';

-- refusals
select tests.act_as(:'cust_id');
select throws_ok(format($$select public.consent_proof(%L)$$, :'rcpt'), '42501', null, 'a customer cannot read proofs');
select throws_ok($$select * from public.check_consent_proofs()$$, '42501', null, 'nor run the ledger check');
select tests.act_as(:'admin_id');
select throws_ok($$select public.consent_proof('00000000-0000-4000-8000-00000000beef')$$, '22023',
  'recipient_id: no message 00000000-0000-4000-8000-00000000beef', 'an unknown message: 22023 naming it');
select tests.act_as_anon();
select throws_ok($$select public.consent_proof('00000000-0000-4000-8000-00000000beef')$$, '42501', null, 'anon: 42501');

select * from finish();
rollback;
