-- One message per address per campaign: of the reachable members sharing an address one gets it
-- (one not capped first), the others are skipped_duplicate_address naming who got it (issue 12).
begin;
select plan(7);

select tests.create_user('da-comms@example.test', array['admin', 'communications']) as comms_id \gset
select tests.create_user('da-1@example.test', '{}', 'Da One') as c1 \gset
select tests.create_user('da-2@example.test', '{}', 'Da Two') as c2 \gset
select tests.create_user('da-3@example.test', '{}', 'Da Three') as c3 \gset
select tests.create_user('da-4@example.test', '{}', 'Da Four') as c4 \gset
select tests.create_user('da-5@example.test', '{}', 'Da Five') as c5 \gset
-- auth.users keeps phones unique (GoTrue's schema); the CRM's users table does not: households share
update public.users set phone = '+4791300001' where id in (:'c1', :'c2', :'c3');
update public.users set phone = '+4791300002' where id in (:'c4', :'c5');
select public.set_customer_consent(c, 'sms', true, 'signup') from unnest(array[:'c1', :'c2', :'c4', :'c5']::uuid[]) c;
-- c3 shares c1's number without consent; c4 had an SMS this week and the cap is 1
insert into public.messaging_settings (key, value) values ('frequency_cap', '{"sms":{"max":1,"days":7}}');
insert into public.campaigns (id, name, channel, content, audience, status)
values ('40000000-0000-4000-8000-0000000000da', 'earlier', 'sms', '{"text":"x"}', '{}', 'draft');
insert into public.campaign_recipients (campaign_id, customer_id, channel, address, status, sent_at)
values ('40000000-0000-4000-8000-0000000000da', :'c4', 'sms', '+4791300002', 'sent', now());

select tests.act_as(:'comms_id');
select public.queue_bulk_message(jsonb_build_object('name', 'Shared', 'channel', 'sms', 'content', '{"text":"hi"}'::jsonb,
  'audience', jsonb_build_object('customer_ids', jsonb_build_array(:'c1', :'c2', :'c3', :'c4', :'c5')))) as res \gset
select tests.act_as_postgres();

select is((:'res'::jsonb) -> 'skipped', '{"no_consent": 1, "suppressed": 0, "no_address": 0, "duplicate_address": 2, "frequency_cap": 0}'::jsonb,
  'the answer counts the duplicates');
select is((:'res'::jsonb ->> 'queued')::int, 2, 'two messages: one per number');
select is((select status from public.campaign_recipients where campaign_id = (:'res'::jsonb ->> 'campaign_id')::uuid and customer_id = least(:'c1'::uuid, :'c2'::uuid)),
  'queued', 'of two consented sharers, one (the first by id) gets it');
select is((select last_error from public.campaign_recipients where campaign_id = (:'res'::jsonb ->> 'campaign_id')::uuid and customer_id = greatest(:'c1'::uuid, :'c2'::uuid)),
  format('address shared with customer %s, who gets this campaign''s message', least(:'c1'::uuid, :'c2'::uuid)),
  'the other is skipped with the reason naming who gets it');
select is((select status from public.campaign_recipients where campaign_id = (:'res'::jsonb ->> 'campaign_id')::uuid and customer_id = :'c3'),
  'skipped_no_consent', 'a sharer without consent is skipped for consent, not as a duplicate');
select is((select status from public.campaign_recipients where campaign_id = (:'res'::jsonb ->> 'campaign_id')::uuid and customer_id = :'c5'),
  'queued', 'of a capped and an uncapped sharer, the uncapped one gets it');
select is((select status from public.campaign_recipients where campaign_id = (:'res'::jsonb ->> 'campaign_id')::uuid and customer_id = :'c4'),
  'skipped_duplicate_address', '... and the capped one is the duplicate');

select * from finish();
rollback;
