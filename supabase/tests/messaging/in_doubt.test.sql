-- In doubt: settling by policy when no evidence arrives (resend, hold, a cancelled campaign's rows),
-- Twilio evidence by callback URL and by lookup, the held-rows review RPC and its refusals, and
-- the settings' refusals.
begin;
select plan(18);

select tests.create_user('id-comms@example.test', array['admin', 'communications']) as comms_id \gset
select tests.create_user('id-admin@example.test', array['admin']) as admin_id \gset
create temporary table cs as select tests.create_user('id-' || i || '@example.test', '{}', 'D ' || i, null, '+4795000' || lpad(i::text, 3, '0')) as id, i
  from generate_series(1, 4) i;
select public.set_customer_consent(id, ch, true, 'signup') from cs, (values ('email'), ('sms')) c(ch);
grant select on cs to public;
update public.campaigns set status = 'cancelled' where status in ('sending', 'scheduled');
delete from public.messaging_settings where key in ('quiet_hours', 'in_doubt');
insert into public.messaging_settings (key, value) values ('quiet_hours', '{"sms":null}'),
  ('in_doubt', '{"email":{"wait_seconds":60,"then":"hold"},"sms":{"wait_seconds":60,"then":"resend"},"settle_seconds":5}');

select tests.act_as(:'comms_id');
select public.queue_bulk_message(jsonb_build_object('name', 'Doubt e', 'channel', 'email', 'content', '{"subject":"s","text":"t"}'::jsonb,
  'audience', jsonb_build_object('customer_ids', (select jsonb_agg(id) from cs)))) ->> 'campaign_id' as email_id \gset
select public.queue_bulk_message(jsonb_build_object('name', 'Doubt s', 'channel', 'sms', 'content', '{"text":"t"}'::jsonb,
  'audience', jsonb_build_object('customer_ids', (select jsonb_agg(id) from cs)))) ->> 'campaign_id' as sms_id \gset

select tests.act_as_service();
select is((select count(*) from private.claim_recipients('dead', 'email', 10, 60)), 4::bigint, 'a worker claims four emails');
select ok((select bool_and(attempt_id is not null and attempt_worker = 'dead' and attempt_started_at is not null)
             from public.campaign_recipients where campaign_id = :'email_id'), 'the attempt is recorded with the claim, before any provider call');
select is((select count(*) from private.claim_recipients('dead', 'sms', 10, 60)), 4::bigint, 'and four SMS');
-- it dies: leases run out
select tests.act_as_postgres();
update public.campaign_recipients set lease_expires_at = clock_timestamp() - interval '1 second' where leased_by = 'dead';
select tests.act_as_service();
select is((select count(*) from private.claim_recipients('w', 'email', 10, 60)), 0::bigint, 'in doubt, nothing is claimed again');
select is((private.resolve_in_doubt('w', 'email')) ->> 'waiting', '4', 'without evidence they wait for wait_seconds');

-- the wait is over: email holds
select tests.act_as_postgres();
update public.campaign_recipients set attempt_started_at = attempt_started_at - interval '2 minutes' where attempt_worker = 'dead';
select tests.act_as_service();
select is((private.resolve_in_doubt('w', 'email')) ->> 'held', '4', 'email without evidence is held (then: hold)');
select is((select status from public.campaigns where id = :'email_id'), 'sending', 'a campaign with held rows is not sent');

-- SMS: a callback naming one recipient, a lookup finding another, a lookup not finding the third, nothing for the fourth
select tests.act_as_postgres();
create temporary table sr as select id, row_number() over (order by id) as n from public.campaign_recipients where campaign_id = :'sms_id';
grant select on sr to public;
select tests.act_as_service();
select is((select count(*) from private.claim_recipients('w', 'sms', 10, 60)), 0::bigint, 'the SMS are in doubt too');
select private.ingest_twilio_status(jsonb_build_object('MessageSid', 'SMcallback1', 'MessageStatus', 'delivered', 'To', '+4795000001',
  '_recipient_id', (select id from sr where n = 1)));
select is((private.resolve_in_doubt('w', 'sms', jsonb_build_array(
    jsonb_build_object('id', (select id from sr where n = 2), 'found', true, 'provider_message_id', 'SMlookup2'),
    jsonb_build_object('id', (select id from sr where n = 3), 'found', false)))) - 'waiting',
  '{"sent": 2, "held": 0, "resent": 2}'::jsonb,
  'callback and lookup evidence: sent; not found after settling, and no evidence after the wait (then: resend): sent again');
select is((select provider_message_id from public.campaign_recipients where id = (select id from sr where n = 1)), 'SMcallback1',
  'the callback''s SID is recorded');
select is((select status from public.campaign_recipients where id = (select id from sr where n = 1)), 'delivered',
  'and the callback''s status applies once the send is recorded');
select is((select count(*) from public.sms_logs where campaign_id = :'sms_id'), 2::bigint, 'each settled send is logged once');
select ok((select status = 'queued' and attempts = 1 and resolution ~ 'sent again' from public.campaign_recipients where id = (select id from sr where n = 3)),
  'the one not found is queued again');

-- review of held rows
select tests.act_as(:'admin_id');
select throws_ok(format($$select public.release_held_recipients(%L, 'resend')$$, :'email_id'), '42501', null,
  'an admin without communications cannot release held rows');
select tests.act_as(:'comms_id');
select throws_ok(format($$select public.release_held_recipients(%L, 'shrug')$$, :'email_id'), '22023', 'action: must be resend, mark_sent or cancel',
  'an unknown action is refused');
select is((public.release_held_recipients(:'email_id', 'resend')) ->> 'recipients', '4', 'a communicator sends them again');
select tests.act_as_postgres();
select is((select count(*) from public.audit_log where action = 'release_held' and entity_id = :'email_id'), 1::bigint, 'audited');

-- settings refusals
select throws_ok($$update public.messaging_settings set value = '{"sms":{"start":"21:00","end":"21:00"}}' where key = 'quiet_hours'$$, '22023',
  'value.sms: start and end must differ', 'quiet hours with start = end are refused');

select * from finish();
rollback;
