-- The recipients queue has no foreign keys (speed); deleting a campaign or erasing a customer
-- still removes their recipient rows.
begin;
select plan(3);
select tests.create_user('rc-comms@example.test', array['admin', 'communications']) as comms_id \gset
select tests.create_user('rc-a@example.test', '{}', 'A', null, '+4791111111') as a_id \gset
select tests.create_user('rc-b@example.test', '{}', 'B', null, '+4791111112') as b_id \gset
select public.set_customer_consent(x, 'sms', true) from unnest(array[:'a_id'::uuid, :'b_id'::uuid]) x;
select tests.act_as(:'comms_id');
select public.queue_bulk_message(jsonb_build_object('name', 'Cleanup', 'channel', 'sms', 'content', '{"text":"hi"}'::jsonb,
  'audience', jsonb_build_object('customer_ids', jsonb_build_array(:'a_id', :'b_id')))) ->> 'campaign_id' as campaign_id \gset
select tests.act_as_postgres();
select is((select count(*) from public.campaign_recipients where campaign_id = :'campaign_id'), 2::bigint, 'two recipients queued');
delete from auth.users where id = :'a_id';
select is((select array_agg(customer_id) from public.campaign_recipients where campaign_id = :'campaign_id'), array[:'b_id'::uuid],
  'erasing a customer removes their recipient rows');
delete from public.campaigns where id = :'campaign_id';
select is((select count(*) from public.campaign_recipients where campaign_id = :'campaign_id'), 0::bigint,
  'deleting a campaign removes its recipients');
select * from finish();
rollback;
