-- Push tokens move to the account that registers them (the app holds the token, so the signed-in
-- session proves it), and no answer tells a customer whether a token existed (issue 12).
begin;
select plan(17);

select tests.create_user('pt-a@example.test') as a_id \gset
select tests.create_user('pt-b@example.test') as b_id \gset
select tests.create_user('pt-comms@example.test', array['admin', 'communications']) as comms_id \gset
select public.set_customer_consent(:'a_id', 'push', true, 'signup');

-- A registers a token; a push campaign is queued to it
select tests.act_as(:'a_id');
select is(public.register_push_token('ExponentPushToken[shared-1]', 'ios'),
  '{"token": "ExponentPushToken[shared-1]", "registered": true}'::jsonb, 'A registers a token');
select is((select count(*) from public.customer_push_tokens), 1::bigint, 'A sees their token');
select tests.act_as(:'comms_id');
select public.queue_bulk_message(jsonb_build_object('name', 'Push', 'channel', 'push', 'content', '{"text":"hi"}'::jsonb,
  'audience', jsonb_build_object('customer_ids', jsonb_build_array(:'a_id')))) ->> 'campaign_id' as campaign_id \gset
select tests.act_as_postgres();
select is((select status from public.campaign_recipients where campaign_id = :'campaign_id'), 'queued', 'a push to A is queued');

-- B writes the table directly: refused the same way for an existing token and a new one
select tests.act_as(:'b_id');
select throws_ok($$insert into public.customer_push_tokens (customer_id, token) values (auth.uid(), 'ExponentPushToken[shared-1]')$$,
  '42501', 'new row violates row-level security policy for table "customer_push_tokens"',
  'a direct insert of an existing token is refused without saying it exists (no 23505)');
select throws_ok($$insert into public.customer_push_tokens (customer_id, token) values (auth.uid(), 'ExponentPushToken[brand-new]')$$,
  '42501', 'new row violates row-level security policy for table "customer_push_tokens"',
  'and a new one the same way: customers register through register_push_token');
select is_empty($$select 1 from public.customer_push_tokens where token = 'ExponentPushToken[shared-1]'$$,
  'B cannot see A''s token');

-- B's device now holds the token and registers it: same answer as for a new token
select is(public.register_push_token('ExponentPushToken[shared-1]', 'android'),
  '{"token": "ExponentPushToken[shared-1]", "registered": true}'::jsonb, 'registering an existing token answers as for a new one');
select is(public.register_push_token('ExponentPushToken[b-own]', 'android'),
  '{"token": "ExponentPushToken[b-own]", "registered": true}'::jsonb, 'registering a new token');
select is((select count(*) from public.customer_push_tokens), 2::bigint, 'B sees both tokens');
select tests.act_as(:'a_id');
select is_empty($$select 1 from public.customer_push_tokens$$, 'the token moved: A no longer has it');
select tests.act_as_postgres();
select is((select customer_id from public.customer_push_tokens where token = 'ExponentPushToken[shared-1]'), :'b_id'::uuid,
  'the token belongs to B');
select is((select status || ' / ' || last_error from public.campaign_recipients where campaign_id = :'campaign_id'),
  'skipped_no_address / the push token moved to another account', 'A''s queued push does not go to B''s device');

-- unregister: only one's own token; the answer is the same either way
select tests.act_as(:'a_id');
select is(public.unregister_push_token('ExponentPushToken[shared-1]'),
  '{"token": "ExponentPushToken[shared-1]", "registered": false}'::jsonb, 'A unregistering B''s token answers as usual');
select tests.act_as_postgres();
select ok((select disabled_at is null from public.customer_push_tokens where token = 'ExponentPushToken[shared-1]'),
  '... and changes nothing');

-- bad input and anon
select tests.act_as(:'b_id');
select throws_ok($$select public.register_push_token('not-a-token')$$, '22023',
  'token: must be an Expo push token, ExponentPushToken[...]', 'a malformed token is a 22023');
select throws_ok($$select public.register_push_token('ExponentPushToken[x]', 'windows')$$, '22023',
  'platform: must be ios, android or web', 'an unknown platform is a 22023');
select tests.act_as_anon();
select throws_ok($$select public.register_push_token('ExponentPushToken[anon]')$$, '42501', null, 'anon cannot register');

select * from finish();
rollback;
