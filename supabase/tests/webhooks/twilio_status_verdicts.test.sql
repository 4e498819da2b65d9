-- A Twilio status callback is evidence about one message. A callback whose SID is ours applies;
-- one whose SID is not (yet) ours applies later only when the recipient named in the callback URL
-- is a send in flight; anything else is recorded as ignored (or inconsistent) with the reason and
-- changes no recipient. Error 21610 revokes the number's SMS consent whatever the verdict.
begin;
select plan(14);

select tests.create_user('tw-verdict-a@example.test', '{}', null, null, '+4791100001') as a \gset
select tests.create_user('tw-verdict-b@example.test', '{}', null, null, '+4791100002') as b \gset
select public.set_customer_consent(id, 'sms', true, 'signup') from public.users where id in (:'a', :'b');
insert into public.campaigns (id, name, channel, content, audience) values
  ('53000000-0000-4000-a000-000000000001', 'twilio verdicts sms', 'sms', '{"text":"t"}', '{}'),
  ('53000000-0000-4000-a000-000000000002', 'twilio verdicts email', 'email', '{"subject":"s","text":"t"}', '{}');
insert into public.campaign_recipients (id, campaign_id, customer_id, channel, address, status, attempts, sent_at, provider_message_id) values
  ('54000000-0000-4000-a000-000000000001', '53000000-0000-4000-a000-000000000001', :'a', 'sms', '+4791100001', 'sent', 1, now(), 'SMknown1'),
  ('54000000-0000-4000-a000-000000000002', '53000000-0000-4000-a000-000000000001', :'b', 'sms', '+4791100002', 'sending', 1, null, null),
  ('54000000-0000-4000-a000-000000000003', '53000000-0000-4000-a000-000000000002', :'a', 'email', 'tw-verdict-a@example.test', 'sent', 1, now(), 'sg1');
insert into public.campaign_recipients (id, campaign_id, customer_id, channel, address, status, attempts) values
  ('54000000-0000-4000-a000-000000000004', '53000000-0000-4000-a000-000000000001', (select tests.create_user('tw-verdict-c@example.test')), 'sms', '+4791100003', 'queued', 0);

create temp table calls (n int, params jsonb);
insert into calls values
  (1, '{"MessageSid":"SMknown1","MessageStatus":"delivered","To":"+4791100001"}'),
  (2, '{"MessageSid":"SMnobody","MessageStatus":"delivered","To":"+4791100009"}'),
  (3, '{"MessageSid":"SMnobody2","MessageStatus":"delivered","To":"+4791100009","_recipient_id":"54000000-0000-4000-a000-0000000000ff"}'),
  (4, '{"MessageSid":"SMother","MessageStatus":"delivered","To":"+4791100001","_recipient_id":"54000000-0000-4000-a000-000000000001"}'),
  (5, '{"MessageSid":"SMemail","MessageStatus":"delivered","To":"+4791100001","_recipient_id":"54000000-0000-4000-a000-000000000003"}'),
  (6, '{"MessageSid":"SMnever","MessageStatus":"delivered","To":"+4791100003","_recipient_id":"54000000-0000-4000-a000-000000000004"}'),
  (7, '{"MessageSid":"SMinflight","MessageStatus":"delivered","To":"+4791100002","_recipient_id":"54000000-0000-4000-a000-000000000002"}');
create temp table answers as select n, private.ingest_twilio_status(params) as r from calls order by n;

select is((select status from public.campaign_recipients where id = '54000000-0000-4000-a000-000000000001'), 'delivered',
  'a callback with our SID applies');
select is((select r from answers where n = 2),
  '{"new": 0, "ignored": 1, "reason": "unknown message SID SMnobody (no recipient in the callback URL)", "status_changed": 0, "consent_changed": 0}'::jsonb,
  'an unknown SID without a recipient in the callback URL is ignored, and the answer says why');
select results_eq(
  $$select provider_event_id, verdict, reason from public.message_event_rejections where provider = 'twilio' order by provider_event_id$$,
  $$values ('SMemail:delivered', 'inconsistent', 'recipient 54000000-0000-4000-a000-000000000003 is a email recipient, not sms'),
           ('SMnever:delivered', 'ignored', 'recipient 54000000-0000-4000-a000-000000000004 was never sent (queued)'),
           ('SMnobody2:delivered', 'ignored', 'unknown message SID SMnobody2 and unknown recipient 54000000-0000-4000-a000-0000000000ff'),
           ('SMnobody:delivered', 'ignored', 'unknown message SID SMnobody (no recipient in the callback URL)'),
           ('SMother:delivered', 'ignored', 'message SID SMother is not the message of recipient 54000000-0000-4000-a000-000000000001 (SMknown1)')$$,
  'each callback that fits no send is recorded with its verdict and reason');
select is((select count(*)::int from public.message_events where provider = 'twilio' and provider_event_id in
            ('SMnobody:delivered', 'SMnobody2:delivered', 'SMother:delivered', 'SMemail:delivered', 'SMnever:delivered')), 0,
  'none of them is kept as an event');
select is((select status from public.campaign_recipients where id = '54000000-0000-4000-a000-000000000004'), 'queued',
  'the recipient never sent stays queued');
select is((select status from public.campaign_recipients where id = '54000000-0000-4000-a000-000000000003'), 'sent',
  'the email recipient named by an SMS callback is untouched');
select is((select recipient_id from public.message_event_rejections where provider_event_id = 'SMnever:delivered'),
  '54000000-0000-4000-a000-000000000004', 'the rejection keeps the recipient the callback claimed');

-- a send in flight: its callback waits as evidence
select is((select r ->> 'new' from answers where n = 7), '1', 'a callback for a send in flight is kept');
select is((select payload ->> '_recipient_id' from public.message_events where provider_event_id = 'SMinflight:delivered'),
  '54000000-0000-4000-a000-000000000002', 'as evidence naming its recipient');
select is((select count(*)::int from public.message_event_rejections where provider_event_id = 'SMinflight:delivered'), 0,
  'and is not rejected');

-- replay: recorded once
select is((private.ingest_twilio_status('{"MessageSid":"SMnobody","MessageStatus":"delivered","To":"+4791100009"}')) ->> 'ignored', '0',
  'the same ignored callback again records nothing');
select is((select count(*)::int from public.message_event_rejections where provider_event_id = 'SMnobody:delivered'), 1, 'one row');

-- 21610 from a callback that fits nothing: the number still opted out
select is((private.ingest_twilio_status('{"MessageSid":"SMlost","MessageStatus":"failed","ErrorCode":"21610","To":"+4791100002"}')) ->> 'consent_changed', '1',
  'error 21610 revokes the number''s SMS consent even when the SID is unknown');
select is((select enabled::text || '/' || source from public.customer_consent where customer_id = :'b' and channel = 'sms'), 'false/twilio_status',
  'as the carrier''s opt-out');

select * from finish();
rollback;
