-- Each SendGrid event gets a fate before anything is applied: consistent evidence applies;
-- a recipient_id whose channel or address disagrees with the event is inconsistent; an unknown
-- recipient, another campaign or a recipient never sent is ignored (an ignored opt-out still
-- reaches its address); machine opens and automated clicks are renamed, per the settings.
begin;
select plan(15);

select tests.create_user('verdict-a-' || gen_random_uuid() || '@example.test') as a \gset
select tests.create_user('verdict-b-' || gen_random_uuid() || '@example.test', '{}', null, null, '+4790000' || (random() * 8999 + 1000)::int) as b \gset
select email as a_email from public.users where id = :'a' \gset
select email as b_email from public.users where id = :'b' \gset
insert into public.campaigns (id, name, channel, content, audience) values
  ('51000000-0000-4000-a000-000000000001', 'verdicts email', 'email', '{"subject":"s","text":"t"}', '{}'),
  ('51000000-0000-4000-a000-000000000002', 'verdicts sms', 'sms', '{"text":"t"}', '{}');
insert into public.campaign_recipients (id, campaign_id, customer_id, channel, address, status, attempts, sent_at) values
  ('52000000-0000-4000-a000-000000000001', '51000000-0000-4000-a000-000000000001', :'a', 'email', :'a_email', 'sent', 1, now() - interval '1 hour'),
  ('52000000-0000-4000-a000-000000000002', '51000000-0000-4000-a000-000000000002', :'b', 'sms', '+4790000000', 'sent', 1, now() - interval '1 hour'),
  ('52000000-0000-4000-a000-000000000003', '51000000-0000-4000-a000-000000000001', :'b', 'email', :'b_email', 'skipped_no_consent', 0, null);

create temp table v as
select * from private.sendgrid_classify(jsonb_build_array(
  jsonb_build_object('sg_event_id', 'v1', 'event', 'delivered', 'email', upper(:'a_email'), 'recipient_id', '52000000-0000-4000-a000-000000000001',
                     'campaign_id', '51000000-0000-4000-a000-000000000001', 'timestamp', extract(epoch from now() - interval '30 minutes')::int),
  jsonb_build_object('sg_event_id', 'v2', 'event', 'spamreport', 'email', :'b_email', 'recipient_id', '52000000-0000-4000-a000-000000000001'),
  jsonb_build_object('sg_event_id', 'v3', 'event', 'open', 'email', :'b_email', 'recipient_id', '52000000-0000-4000-a000-000000000002'),
  jsonb_build_object('sg_event_id', 'v4', 'event', 'open', 'email', 'x@example.test', 'recipient_id', gen_random_uuid()),
  jsonb_build_object('sg_event_id', 'v5', 'event', 'open', 'email', :'a_email', 'recipient_id', '52000000-0000-4000-a000-000000000001',
                     'campaign_id', '51000000-0000-4000-a000-000000000002'),
  jsonb_build_object('sg_event_id', 'v6', 'event', 'delivered', 'email', :'b_email', 'recipient_id', '52000000-0000-4000-a000-000000000003'),
  jsonb_build_object('sg_event_id', 'v7', 'event', 'unsubscribe', 'email', :'b_email', 'recipient_id', gen_random_uuid()),
  jsonb_build_object('sg_event_id', 'v8', 'event', 'open', 'email', :'a_email', 'recipient_id', '52000000-0000-4000-a000-000000000001', 'sg_machine_open', true),
  jsonb_build_object('sg_event_id', 'v9', 'event', 'click', 'email', :'a_email', 'recipient_id', '52000000-0000-4000-a000-000000000001',
                     'timestamp', extract(epoch from now() - interval '30 minutes')::int + 3, 'url', 'https://x.test'),
  jsonb_build_object('sg_event_id', 'v10', 'event', 'click', 'email', :'a_email', 'recipient_id', '52000000-0000-4000-a000-000000000001',
                     'timestamp', extract(epoch from now())::int, 'url', 'https://x.test', 'useragent', 'Mozilla/5.0 Mimecast-Scanner'),
  jsonb_build_object('sg_event_id', 'v11', 'event', 'click', 'email', :'a_email', 'recipient_id', '52000000-0000-4000-a000-000000000001',
                     'timestamp', extract(epoch from now())::int, 'url', 'https://x.test', 'useragent', 'Mozilla/5.0 (iPhone)'),
  jsonb_build_object('sg_event_id', 'v12', 'event', 'open', 'email', :'a_email', 'recipient_id', 'not-a-uuid'),
  '"not an object"'::jsonb));

select is((select fate || '/' || event from v where event_id = 'v1'), 'apply/delivered', 'consistent evidence applies (email compared case-insensitively)');
select is((select fate || ': ' || problem from v where event_id = 'v2'),
          format('inconsistent: email %s is not the address of recipient 52000000-0000-4000-a000-000000000001', lower(:'b_email')),
          'a spam report naming one person''s recipient and another''s address is inconsistent');
select is((select fate || ': ' || problem from v where event_id = 'v3'),
          'inconsistent: recipient 52000000-0000-4000-a000-000000000002 is a sms recipient, not email', 'an open for an SMS recipient is inconsistent');
select is((select fate || ': ' || problem from v where event_id = 'v4'), 'ignored: unknown recipient', 'an unknown recipient is ignored');
select ok((select fate = 'ignored' and problem like 'campaign_id 51000000-0000-4000-a000-000000000002 is not the campaign of recipient%' from v where event_id = 'v5'),
          'evidence naming another campaign is ignored');
select is((select fate || ': ' || problem from v where event_id = 'v6'),
          'ignored: recipient 52000000-0000-4000-a000-000000000003 was never sent (skipped_no_consent)', 'evidence for a recipient never sent is ignored');
select is((select fate || '/' || coalesce(customer_id::text, '-') || '/' || problem from v where event_id = 'v7'),
          'address/' || :'b' || '/unknown recipient; applied to the address only', 'an ignored unsubscribe still reaches the customer owning the address');
select is((select event || ': ' || reason from v where event_id = 'v8'), 'machine_open: machine open (sg_machine_open)', 'sg_machine_open opens are machine opens');
select is((select event || ': ' || reason from v where event_id = 'v9'), 'bot_click: automated click: within 10 s of delivery', 'a click 3 s after delivery is automated');
select is((select event || ': ' || reason from v where event_id = 'v10'), 'bot_click: automated click: link scanner user agent', 'a scanner''s user agent is automated');
select is((select event from v where event_id = 'v11'), 'click', 'a person''s click half an hour later is a click');
select is((select fate || ': ' || problem from v where event_id = 'v12'), 'ignored: recipient_id is not a uuid', 'a malformed recipient_id is ignored');
select is((select count(*)::int from v), 12, 'of 13 elements, the one that is not an object is left out');
select is((select c.fate || '/' || c.customer_id from private.sendgrid_classify(jsonb_build_array(
            jsonb_build_object('sg_event_id', 'v13', 'event', 'bounce', 'email', upper(:'b_email'), 'reason', '550 no such user'))) c),
          'apply/' || :'b', 'an event without recipient_id (transactional mail) applies to the customer owning its address');

update public.engagement_settings set value = '0' where key = 'bot_click_seconds';
select is((select c.event from private.sendgrid_classify(jsonb_build_array(jsonb_build_object('sg_event_id', 'v9b', 'event', 'click', 'email', :'a_email',
            'recipient_id', '52000000-0000-4000-a000-000000000001', 'timestamp', extract(epoch from now() - interval '1 hour')::int, 'url', 'https://x.test'))) c),
          'click', 'bot_click_seconds 0 turns the timing rule off');

select * from finish();
rollback;
