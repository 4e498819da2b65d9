-- Machine opens and automated clicks are kept apart: engagement facts and segments count human
-- opens and clicks only, unless the settings say otherwise; campaign_stats shows both.
begin;
select plan(8);

select tests.create_user('machine-' || gen_random_uuid() || '@example.test') as cid \gset
select tests.create_user('machine-comms-' || gen_random_uuid() || '@example.test', array['admin', 'communications']) as comms \gset
insert into public.campaigns (id, name, channel, content, audience) values
  ('55000000-0000-4000-a000-000000000001', 'machine spring', 'email', '{"subject":"s","text":"t"}', '{}'),
  ('55000000-0000-4000-a000-000000000002', 'machine summer', 'email', '{"subject":"s","text":"t"}', '{}');
insert into public.message_events (provider, provider_event_id, event, campaign_id, customer_id, occurred_at, payload) values
  ('sendgrid', 'machine-1', 'machine_open', '55000000-0000-4000-a000-000000000001', :'cid', now() - interval '1 day', '{}'),
  ('sendgrid', 'machine-2', 'bot_click', '55000000-0000-4000-a000-000000000002', :'cid', now() - interval '2 days', '{}');

select is((select (last_engaged_at, engaged_campaigns_90d)::text from public.customer_facts where customer_id = :'cid'), '(,0)',
          'machine opens and automated clicks are not engagement by default');
select is((select count(*)::int from private.segment_member_ids('{"version":1,"combinator":"and","rules":[{"field":"engaged_campaigns_90d","operator":">=","value":1}]}') m
            where m = :'cid'), 0, 'segments do not see them');

select tests.act_as(:'comms');
update public.engagement_settings set value = 'true' where key = 'count_machine_opens';
select tests.act_as_postgres();
select is((select engaged_campaigns_90d from public.customer_facts where customer_id = :'cid'), 1, 'a communicator counts machine opens: the facts follow');
select tests.act_as(:'comms');
update public.engagement_settings set value = 'true' where key = 'count_bot_clicks';
select tests.act_as_postgres();
select is((select engaged_campaigns_90d from public.customer_facts where customer_id = :'cid'), 2, 'and automated clicks');
insert into public.campaigns (id, name, channel, content, audience) values
  ('55000000-0000-4000-a000-000000000003', 'machine autumn', 'email', '{"subject":"s","text":"t"}', '{}');
insert into public.message_events (provider, provider_event_id, event, campaign_id, customer_id, occurred_at, payload) values
  ('sendgrid', 'machine-4', 'machine_open', '55000000-0000-4000-a000-000000000003', :'cid', now(), '{}');
select is((select engaged_campaigns_90d from public.customer_facts where customer_id = :'cid'), 3,
          'a machine open that arrives while they count refreshes the facts');

insert into public.message_events (provider, provider_event_id, event, campaign_id, customer_id, occurred_at, payload) values
  ('sendgrid', 'machine-3', 'open', '55000000-0000-4000-a000-000000000001', :'cid', now(), '{}');
select is((select (machine_opens, bot_clicks, unique_opens)::text from public.campaign_stats where campaign_id = '55000000-0000-4000-a000-000000000001'),
          '(0,0,0)', 'campaign_stats counts recipients (these events have none)');

select tests.act_as(:'cid');
update public.engagement_settings set value = 'false' where key = 'count_bot_clicks';
select is_empty($$select * from public.engagement_settings$$, 'a customer cannot read the settings');
select tests.act_as_postgres();
select is((select value from public.engagement_settings where key = 'count_bot_clicks'), 'true'::jsonb, 'nor change them');

select * from finish();
rollback;
