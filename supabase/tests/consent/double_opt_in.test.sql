-- Double opt-in: a grant through the API on a channel that requires confirmation is a pending
-- request, which is not consent anywhere (facts, enqueue, send). The confirmation message is
-- consent-exempt; confirming (link or SMS YES) writes the grant with its proof. Expired, reused,
-- superseded and cancelled requests change nothing.
begin;
select plan(42);

update public.consent_settings set double_opt_in = true where channel in ('email', 'sms');
select tests.create_user('doi-admin@example.test', array['admin', 'communications']) as admin_id \gset
select tests.create_user('doi-cust@example.test') as cust_id \gset
select tests.create_user('doi-sms@example.test', phone => '+4790011001') as sms_id \gset
select tests.create_user('doi-b@example.test') as b_id \gset
select tests.create_user('doi-noemail@example.test') as noemail_id \gset
update public.users set email = null where id = :'noemail_id';

-- a customer asks for email
select tests.act_as(:'cust_id');
select public.set_customer_consent(:'cust_id', 'email', true) as req \gset
select is(:'req'::jsonb ->> 'status', 'pending', 'a grant on a double opt-in channel is pending');
select is(:'req'::jsonb ->> 'enabled', 'false', 'and the answer says consent is not on yet');
select tests.act_as_postgres();
select is((select count(*) from public.customer_consent where customer_id = :'cust_id'), 0::bigint, 'no consent row is written');
select is((select consent_email from public.customer_facts where customer_id = :'cust_id'), false, 'the facts do not count pending as consent');
select results_eq(format($$select status, requested_source, address from public.consent_confirmations where customer_id = %L$$, :'cust_id'),
  $$values ('pending'::text, 'self_service'::text, 'doi-cust@example.test'::text)$$, 'the request is pending, with its source and address');
select is((select c.purpose || '/' || r.status from public.consent_confirmations k join public.campaigns c on c.id = k.campaign_id
             join public.campaign_recipients r on r.id = k.recipient_id where k.customer_id = :'cust_id'),
  'consent_confirmation/queued', 'its confirmation message is queued as a consent_confirmation campaign');
select ok((select c.content ->> 'text' like '%{{confirm_url}}%' and c.content ->> 'text' like '%' || t.wording || '%'
             from public.consent_confirmations k join public.campaigns c on c.id = k.campaign_id
             join public.consent_texts t on t.id = k.consent_text_id where k.customer_id = :'cust_id'),
  'the message carries the link placeholder and the exact wording version');

-- enqueue: a pending customer is skipped for lack of consent
select tests.act_as(:'admin_id');
select is((public.queue_bulk_message(jsonb_build_object('name', 'DOI news', 'channel', 'email',
             'content', jsonb_build_object('subject', 'News', 'text', 'Hello'), 'audience', jsonb_build_object('customer_ids', jsonb_build_array(:'cust_id'))))
           -> 'skipped' ->> 'no_consent')::int, 1, 'enqueue skips a pending customer as no_consent');

-- send: B had consent when queued, then opted out and asked again (pending): skipped at send
select tests.act_as_postgres();
select public.set_customer_consent(:'b_id', 'email', true, 'signup');
select tests.act_as(:'admin_id');
select (public.queue_bulk_message(jsonb_build_object('name', 'DOI send check', 'channel', 'email',
          'content', jsonb_build_object('subject', 'News', 'text', 'Hello'), 'audience', jsonb_build_object('customer_ids', jsonb_build_array(:'b_id'))))
        ->> 'campaign_id') as b_campaign \gset
select tests.act_as(:'b_id');
select public.set_customer_consent(:'b_id', 'email', false);
select is(public.set_customer_consent(:'b_id', 'email', true) ->> 'status', 'pending', 'B''s new grant is pending');
select tests.act_as_service();
select is((select count(*) from private.claim_recipients('doi-worker', 'email', 1000) c where c.customer_id in (:'cust_id', :'b_id')),
  2::bigint, 'the dispatcher claims the two confirmation messages (consent-exempt)');
select tests.act_as_postgres();
select is((select status from public.campaign_recipients where campaign_id = :'b_campaign'), 'skipped_no_consent',
  'the marketing message to B is skipped at send: pending is not consent');
select ok((select bool_and(body_text is not null) from public.campaign_recipients r join public.consent_confirmations k on k.recipient_id = r.id
             cross join lateral (select c.content ->> 'text' as body_text from public.campaigns c where c.id = r.campaign_id) x
            where r.status = 'sending' and k.customer_id in (:'cust_id', :'b_id')), 'the confirmation messages are leased for sending');

-- confirm by link
select recipient_id as cust_rcpt, id as cust_req from public.consent_confirmations where customer_id = :'cust_id' \gset
select is(private.confirm_consent_by_link(:'cust_rcpt', '203.0.113.9', 'Mozilla/5.0 (test)', 'http://x/consent-confirm?r=' || :'cust_rcpt') ->> 'outcome',
  'confirmed', 'following the link confirms');
select results_eq(format($$select enabled, source from public.customer_consent where customer_id = %L and channel = 'email'$$, :'cust_id'),
  $$values (true, 'self_service'::text)$$, 'consent is now on, as the customer''s own (self_service)');
select is((select consent_email from public.customer_facts where customer_id = :'cust_id'), true, 'and the facts see it');
select ok((select h.confirmation_id = :'cust_req'::uuid and h.consent_text_id = (select id from public.consent_texts where channel = 'email' order by version desc limit 1)
             from public.customer_consent_history h where h.customer_id = :'cust_id' order by h.id desc limit 1),
  'the history row names the confirmation and the wording version');
select results_eq(format($$select confirmed_via, confirmed_ip, confirmed_user_agent, confirmed_at is not null, requested_at <= confirmed_at
                            from public.consent_confirmations where id = %L$$, :'cust_req'),
  $$values ('link'::text, '203.0.113.9'::text, 'Mozilla/5.0 (test)'::text, true, true)$$,
  'the proof: via link, IP, user agent, request and confirmation times');
select is((select consent_history_id from public.consent_confirmations where id = :'cust_req'),
  (select consent_history_id from public.customer_consent where customer_id = :'cust_id' and channel = 'email'), 'the request points at the grant');

-- reused, foreign
select count(*) as hist from public.customer_consent_history \gset
select is(private.confirm_consent_by_link(:'cust_rcpt', '198.51.100.1', 'other', 'x') ->> 'outcome', 'used', 'a reused link is refused as used');
select is(private.confirm_consent_by_link(:'b_campaign'::uuid, null, null, null) ->> 'outcome', 'not_found', 'a link to another kind of message is not found');
select is(private.confirm_consent_by_link(gen_random_uuid(), null, null, null) ->> 'outcome', 'not_found', 'an unknown link is not found');
select is((select count(*) from public.customer_consent_history), :'hist'::bigint, 'refused links wrote no history');
select is((select confirmed_ip from public.consent_confirmations where id = :'cust_req'), '203.0.113.9', 'and did not touch the proof');

-- expired
select recipient_id as b_rcpt, id as b_req from public.consent_confirmations where customer_id = :'b_id' and status = 'pending' \gset
update public.consent_confirmations set expires_at = now() - interval '1 second' where id = :'b_req';
select is(private.confirm_consent_by_link(:'b_rcpt', null, null, null) ->> 'outcome', 'expired', 'an expired link is refused');
select is((select enabled from public.customer_consent where customer_id = :'b_id' and channel = 'email'), false, 'and changes nothing');
select is(private.describe_consent_confirmation(:'b_rcpt') ->> 'outcome', 'expired', 'the page says it expired');

-- superseded and cancelled
select tests.act_as(:'b_id');
select public.set_customer_consent(:'b_id', 'email', true);
select public.set_customer_consent(:'b_id', 'email', true);
select tests.act_as_postgres();
select is((select array_agg(status order by requested_at, status) from public.consent_confirmations where customer_id = :'b_id'),
  array['pending', 'superseded', 'superseded'], 'a new request supersedes the older ones');
select tests.act_as(:'b_id');
select public.set_customer_consent(:'b_id', 'email', false);
select tests.act_as_postgres();
select is((select count(*) from public.consent_confirmations where customer_id = :'b_id' and status = 'pending'), 0::bigint,
  'a revoke cancels the pending request');

-- staff after the customer's own opt-out: PT409 without override; with it, pending, then granted with the override
select tests.act_as(:'admin_id');
select throws_ok(format($$select public.set_customer_consent(%L, 'email', true, 'admin')$$, :'b_id'), 'PT409', null,
  'staff cannot even ask for confirmation after the customer''s own opt-out');
select is(public.set_customer_consent(:'b_id', 'email', true, 'admin', 'customer called, asked to be re-added', true) ->> 'status', 'pending',
  'with the audited override the request goes out');
select tests.act_as_postgres();
select recipient_id as b_rcpt2 from public.consent_confirmations where customer_id = :'b_id' and status = 'pending' \gset
select is(private.confirm_consent_by_link(:'b_rcpt2', '192.0.2.1', 'UA', 'l') ->> 'outcome', 'confirmed', 'and B confirms it');
select ok((select source = 'admin' and override_audit_id is not null from public.customer_consent_history where customer_id = :'b_id' order by id desc limit 1),
  'the grant carries the staff source and the override');

-- SMS: YES confirms
select tests.act_as(:'sms_id');
select is(public.set_customer_consent(:'sms_id', 'sms', true) ->> 'status', 'pending', 'SMS double opt-in: pending');
select tests.act_as_postgres();
select ok((select c.content ->> 'text' like '%Reply YES%' from public.consent_confirmations k join public.campaigns c on c.id = k.campaign_id where k.customer_id = :'sms_id'),
  'the SMS asks for YES');
select is((private.ingest_twilio_inbound('{"MessageSid":"SMdoi1","From":"+4790011001","Body":"yes"}') ->> 'confirmed')::int, 1, 'a YES reply confirms');
select results_eq(format($$select c.enabled, k.confirmed_via, k.confirmed_message_sid from public.customer_consent c
                            join public.consent_confirmations k on k.id = c.confirmation_id where c.customer_id = %L and c.channel = 'sms'$$, :'sms_id'),
  $$values (true, 'sms_reply'::text, 'SMdoi1'::text)$$, 'SMS consent is on, proven by the inbound message');

-- bad input and settings
select tests.act_as(:'admin_id');
select throws_ok(format($$select public.set_customer_consent(%L, 'email', true)$$, :'noemail_id'), '22023',
  'email: the customer has no email address to send the confirmation to; add it first', 'no address: 22023 naming it');
select lives_ok($$insert into public.consent_texts (channel, wording) values ('email', 'Yes, email me about rentals.')$$, 'an admin adds a wording');
select is((select max(version) from public.consent_texts where channel = 'email'), 2, 'it becomes version 2');
select throws_ok($$update public.consent_texts set wording = 'changed'$$, '42501', null, 'wording versions are never edited');
select tests.act_as(:'cust_id');
select is((select count(*) from public.consent_texts where channel = 'email'), 2::bigint, 'a customer reads the wording');
select tests.act_as_postgres();
select throws_ok($$update public.consent_settings set double_opt_in = true where channel = 'push'$$, '23514', null,
  'push has no double opt-in (no address to confirm through)');

select * from finish();
rollback;
