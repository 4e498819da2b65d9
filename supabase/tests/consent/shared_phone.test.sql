-- A phone number shared by two customers: consent is per customer and address. An inbound STOP
-- (or Twilio's 21610) revokes SMS for every holder of the number; START/UNSTOP/YES re-subscribes
-- only holders whose opt-out came from that number, never one who opted out themselves another way.
begin;
select plan(9);

-- the CRM's contact phone (public.users.phone) may be shared; Auth's sign-in phone may not
select tests.create_user('shared-a@example.test') as a_id \gset
select tests.create_user('shared-b@example.test') as b_id \gset
select tests.create_user('shared-c@example.test') as c_id \gset
update public.users set phone = '+4790000001' where id in (:'a_id', :'b_id');
update public.users set phone = '+4790000002' where id = :'c_id';
select public.set_customer_consent(id, 'sms', true, 'signup') from public.users where id in (:'a_id', :'b_id', :'c_id');

-- A opts out in the app, by himself
select tests.act_as(:'a_id');
select public.set_customer_consent(:'a_id', 'sms', false);
select tests.act_as_postgres();

-- START from the shared number: B was never opted out, A opted out himself: nobody changes
select is((private.ingest_twilio_inbound('{"MessageSid":"SMshared1","From":"+4790000001","Body":"START"}') ->> 'consent_changed')::int, 0,
  'START changes nothing while no holder was opted out by that number');
select is((select source from public.customer_consent where customer_id = :'a_id' and channel = 'sms'), 'self_service',
  'A''s own opt-out stands');

-- STOP from the shared number: both holders
select is((private.ingest_twilio_inbound('{"MessageSid":"SMshared2","From":"+4790000001","Body":"Stop"}') ->> 'consent_changed')::int, 1,
  'STOP revokes the holder who still had consent (B); A stays off');
select results_eq(format($$select customer_id::text, enabled, source from public.customer_consent where channel = 'sms' and customer_id in (%L, %L) order by 1$$, :'a_id', :'b_id'),
  format($$select * from (values (%L, false, 'self_service'), (%L, false, 'twilio_inbound')) v order by 1$$, :'a_id', :'b_id'),
  'A keeps his own opt-out as the reason; B is off by the STOP');

-- START again: B (opted out by the number) comes back, A does not
select is((private.ingest_twilio_inbound('{"MessageSid":"SMshared3","From":"+4790000001","Body":"START"}') ->> 'consent_changed')::int, 1,
  'START re-subscribes only B');
select results_eq(format($$select customer_id::text, enabled from public.customer_consent where channel = 'sms' and customer_id in (%L, %L) order by 1$$, :'a_id', :'b_id'),
  format($$select * from (values (%L, false), (%L, true)) v order by 1$$, :'a_id', :'b_id'),
  'START from a shared number never undoes a different customer''s own opt-out');
select is((select enabled from public.customer_consent where customer_id = :'c_id' and channel = 'sms'), true, 'other numbers are untouched');

-- 21610 on a message to B: per address, every holder of the number
insert into public.campaigns (id, name, channel, status, content, audience)
values ('00000000-0000-4000-8000-0000000021a0', 'shared 21610', 'sms', 'sent', '{"text":"hi"}', '{"customer_ids":[]}');
insert into public.campaign_recipients (id, campaign_id, customer_id, channel, address, status, provider_message_id, sent_at)
values ('00000000-0000-4000-8000-0000000021a1', '00000000-0000-4000-8000-0000000021a0', :'b_id', 'sms', '+4790000001', 'sent', 'SM21610x', now());
select is((private.ingest_twilio_status('{"MessageSid":"SM21610x","MessageStatus":"failed","ErrorCode":"21610","To":"+4790000001"}') ->> 'consent_changed')::int, 1,
  '21610 revokes SMS for the number''s holders that still had it');
select is((select count(*) from public.customer_consent where channel = 'sms' and enabled and customer_id in (:'a_id', :'b_id')), 0::bigint,
  'after 21610 no holder of the number has SMS consent');

select * from finish();
rollback;
