-- Messaging tables: communicators (admin + communications) write templates, settings and
-- suppressions; admins read; campaigns, audiences and recipients change only through the RPCs;
-- customers register push tokens through register_push_token only; anon has nothing.
begin;
select plan(26);

select tests.create_user('m-admin@example.test', array['admin']) as admin_id \gset
select tests.create_user('m-comms@example.test', array['admin', 'communications']) as comms_id \gset
select tests.create_user('m-cust@example.test', '{}', 'M Customer', null, '+4791234567') as cust_id \gset
select tests.create_user('m-other@example.test') as other_id \gset
insert into public.message_templates (id, channel, name, subject, body_text, variables)
values ('30000000-0000-4000-8000-000000000001', 'email', 'Welcome', 'Hi {{first_name}}', 'Welcome to {{city}}', '{first_name,city}');
select public.set_customer_consent(:'cust_id', 'sms', true);
select tests.act_as(:'comms_id');
select public.queue_bulk_message(jsonb_build_object('name', 'RLS', 'channel', 'sms', 'content', '{"text":"hi"}'::jsonb,
  'audience', jsonb_build_object('customer_ids', jsonb_build_array(:'cust_id')))) ->> 'campaign_id' as campaign_id \gset
select tests.act_as_postgres();

-- anon
select tests.act_as_anon();
select throws_ok($$select 1 from public.message_templates$$, '42501', null, 'anon cannot read templates');
select throws_ok($$select 1 from public.campaigns$$, '42501', null, 'anon cannot read campaigns');
select throws_ok($$select 1 from public.campaign_recipients$$, '42501', null, 'anon cannot read recipients');
select throws_ok($$select public.queue_bulk_message('{}')$$, '42501', null, 'anon cannot queue');

-- a customer
select tests.act_as(:'cust_id');
select is_empty($$select 1 from public.campaigns$$, 'a customer sees no campaigns');
select is_empty($$select 1 from public.campaign_recipients$$, 'a customer sees no recipients, not even their own');
select is_empty($$select 1 from public.message_templates$$, 'a customer sees no templates');
select throws_ok($$insert into public.message_templates (channel, name, body_text) values ('sms', 'x', 'y')$$, '42501', null,
  'a customer cannot write templates');
select lives_ok($$select public.register_push_token('ExponentPushToken[cust]', 'ios')$$,
  'a customer registers their own push token (through register_push_token)');
select throws_ok(format($$insert into public.customer_push_tokens (customer_id, token) values (%L, 'ExponentPushToken[other]')$$, :'other_id'),
  '42501', null, 'a customer cannot register a token for someone else');
select throws_ok(format($$select public.cancel_campaign(%L)$$, :'campaign_id'), '42501', null, 'a customer cannot cancel a campaign');

-- an admin without communications
select tests.act_as(:'admin_id');
select is((select count(*) from public.campaigns where id = :'campaign_id'), 1::bigint, 'an admin reads campaigns');
select is((select count(*) from public.campaign_recipients where campaign_id = :'campaign_id'), 1::bigint, 'an admin reads recipients');
select throws_ok($$insert into public.message_templates (channel, name, body_text) values ('sms', 'x', 'y')$$, '42501', null,
  'an admin without communications cannot write templates');
select throws_ok($$insert into public.suppressions (channel, address, reason) values ('email', 'a@b.test', 'manual')$$, '42501', null,
  'nor suppressions');
select throws_ok($$insert into public.messaging_settings (key, value) values ('frequency_cap', '{}')$$, '42501', null,
  'nor settings');
select throws_ok(format($$select public.pause_campaign(%L)$$, :'campaign_id'), '42501', 'permission denied: the communications role is required',
  'nor control campaigns');
select throws_ok($$select public.queue_bulk_message('{}')$$, '42501', 'permission denied: the communications role is required',
  'nor queue a bulk message');

-- a communicator
select tests.act_as(:'comms_id');
select lives_ok($$update public.message_templates set name = 'Welcome!' where id = '30000000-0000-4000-8000-000000000001'$$,
  'a communicator edits templates');
select lives_ok($$insert into public.suppressions (channel, address, reason) values ('email', 'bounced@example.test', 'manual')$$,
  'a communicator adds suppressions');
select throws_ok($$insert into public.campaigns (name, channel, content, audience) values ('x', 'sms', '{}', '{}')$$, '42501', null,
  'campaigns are not written directly, only through the RPCs');
select throws_ok(format($$update public.campaign_recipients set status = 'sent' where campaign_id = %L$$, :'campaign_id'), '42501', null,
  'recipients cannot be edited directly, not even by a communicator');
select throws_ok($$select private.claim_recipients('w', 'sms')$$, '42501', null, 'only the service role claims recipients');
select is((public.pause_campaign(:'campaign_id')) ->> 'status', 'paused', 'a communicator pauses a campaign');
select tests.act_as_postgres();
select is((select count(*) from public.audit_log where entity = 'campaigns' and entity_id = :'campaign_id'), 3::bigint,
  'campaign changes are audited (created, sending, paused)');
select is((select count(*) from public.audit_log where entity = 'message_templates' and entity_id = '30000000-0000-4000-8000-000000000001'), 2::bigint, 'template changes are audited');

select * from finish();
rollback;
