-- Engagement facts come from opens and clicks in message_events: last_engaged_at is the latest,
-- engaged_campaigns_90d counts distinct campaigns in the last 90 days; refreshed on demand, by the
-- message_events trigger function, and nightly (the window moves).
begin;
select plan(8);

select tests.create_user('seg-e-' || gen_random_uuid() || '@segtest.test', '{}', 'Engaged') as cid \gset
insert into public.campaigns (id, name, channel, content, audience) values
  ('50000000-0000-4000-a000-000000000001', 'segtest spring', 'email', '{"subject":"s","text":"t"}', '{}'),
  ('50000000-0000-4000-a000-000000000002', 'segtest summer', 'email', '{"subject":"s","text":"t"}', '{}'),
  ('50000000-0000-4000-a000-000000000003', 'segtest last year', 'email', '{"subject":"s","text":"t"}', '{}');
insert into public.message_events (provider, provider_event_id, event, campaign_id, customer_id, occurred_at, payload) values
  ('sendgrid', 'segtest-1', 'open', '50000000-0000-4000-a000-000000000001', :'cid', now() - interval '10 days', '{}'),
  ('sendgrid', 'segtest-2', 'click', '50000000-0000-4000-a000-000000000001', :'cid', now() - interval '9 days', '{}'),
  ('sendgrid', 'segtest-3', 'open', '50000000-0000-4000-a000-000000000002', :'cid', now() - interval '2 days', '{}'),
  ('sendgrid', 'segtest-4', 'delivered', '50000000-0000-4000-a000-000000000002', :'cid', now() - interval '1 day', '{}'),
  ('sendgrid', 'segtest-5', 'open', '50000000-0000-4000-a000-000000000003', :'cid', now() - interval '200 days', '{}');

select is((select engaged_campaigns_90d from public.customer_facts where customer_id = :'cid'), 2,
          'the message_events trigger keeps the facts current in the same transaction');
select private.refresh_facts('engagement', array[:'cid'::uuid]);
select is((select engaged_campaigns_90d from public.customer_facts where customer_id = :'cid'), 2,
          'an explicit refresh agrees: distinct campaigns opened or clicked in the last 90 days');
select ok((select last_engaged_at between now() - interval '2 days 1 minute' and now() - interval '2 days' + interval '1 minute'
             from public.customer_facts where customer_id = :'cid'), 'last_engaged_at is the latest open or click (a delivery is not engagement)');
select is((select count(*)::int from private.segment_member_ids('{"version":1,"combinator":"and","rules":[{"field":"engaged_campaigns_90d","operator":">=","value":2},{"field":"last_engaged_at","operator":"withinLastDays","value":7}]}') m
            where m = :'cid'), 1, 'segments see engagement');

insert into public.message_events (provider, provider_event_id, event, campaign_id, customer_id, occurred_at, payload) values
  ('sendgrid', 'segtest-6', 'click', '50000000-0000-4000-a000-000000000003', :'cid', now() - interval '1 hour', '{}');
select is((select engaged_campaigns_90d from public.customer_facts where customer_id = :'cid'), 3, 'a new click is counted in the same transaction');

-- the window moves: pretend the events are older, then the nightly job catches up
update public.message_events set occurred_at = occurred_at - interval '100 days' where provider_event_id like 'segtest-%';
select is((select engaged_campaigns_90d from public.customer_facts where customer_id = :'cid'), 3, 'facts are as of the last refresh');
select private.refresh_auto_segments();
select is((select engaged_campaigns_90d from public.customer_facts where customer_id = :'cid'), 0, 'the nightly job moves the 90-day window');
select private.refresh_customer_facts(null);
select ok((select last_engaged_at < now() - interval '100 days' from public.customer_facts where customer_id = :'cid'),
          'the full rebuild computes engagement too');

select * from finish();
rollback;
