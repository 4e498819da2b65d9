-- queue_bulk_message with an idempotency key: the same key and request answer the first answer
-- and make no second campaign; the key with another request is PT422 (HTTP 422 through
-- PostgREST); keys are per caller; a refused request keeps nothing (issue 12).
begin;
select plan(11);

select tests.create_user('ik-comms@example.test', array['admin', 'communications']) as comms_id \gset
select tests.create_user('ik-comms2@example.test', array['admin', 'communications']) as comms2_id \gset
select tests.create_user('ik-cust@example.test', '{}', 'Ik Customer', null, '+4791200001') as cust_id \gset
select public.set_customer_consent(:'cust_id', 'sms', true, 'signup');
create temporary table req as
select jsonb_build_object('name', 'Once', 'channel', 'sms', 'content', '{"text":"hi"}'::jsonb,
                          'audience', jsonb_build_object('customer_ids', jsonb_build_array(:'cust_id'))) as r;
grant select on req to public;

select tests.act_as(:'comms_id');
select public.queue_bulk_message((select r from req), 'key-1') as first \gset
select is(public.queue_bulk_message((select r from req), 'key-1'), :'first'::jsonb, 'the same key and request answer the first answer');
-- key order and spacing of the JSON do not make another request
select is(public.queue_bulk_message((select (r::text)::jsonb from req), 'key-1'), :'first'::jsonb, 'the same request, reparsed');
select tests.act_as_postgres();
select is((select count(*) from public.campaigns where name = 'Once' and created_by = :'comms_id'), 1::bigint, 'one campaign');
select is((select count(*) from public.campaign_recipients r join public.campaigns c on c.id = r.campaign_id where c.name = 'Once' and c.created_by = :'comms_id'),
  1::bigint, 'one recipient row');

select tests.act_as(:'comms_id');
select throws_ok($$select public.queue_bulk_message((select r || '{"name":"Other"}' from req), 'key-1')$$, 'PT422',
  'idempotency_key: this key was already used for a different request; use a new key for a new request',
  'the key with another request is refused');
select throws_ok($$select public.queue_bulk_message((select r from req), 'has space')$$, '22023',
  'idempotency_key: must be 1 to 255 visible ASCII characters (a UUID is a good key)', 'a key with a space is refused');
select throws_ok($$select public.queue_bulk_message((select r - 'name' from req), 'key-2')$$, '22023',
  'name: must be 1 to 200 characters', 'a refused request ...');
select ok((public.queue_bulk_message((select r from req), 'key-2') ->> 'campaign_id') <> (:'first'::jsonb ->> 'campaign_id'),
  '... keeps nothing: the key then serves the corrected request');

select tests.act_as(:'comms2_id');
select ok((public.queue_bulk_message((select r from req), 'key-1') ->> 'campaign_id') <> (:'first'::jsonb ->> 'campaign_id'),
  'another caller''s key-1 is another request');
select ok((public.queue_bulk_message((select r from req)) ->> 'campaign_id') is not null, 'no key: queued as before');

-- after 24 hours a key is forgotten
select tests.act_as_postgres();
update private.bulk_message_requests set created_at = now() - interval '25 hours' where idempotency_key = 'key-1';
select tests.act_as(:'comms_id');
select ok((public.queue_bulk_message((select r || '{"name":"Later"}' from req), 'key-1') ->> 'campaign_id') is not null,
  'a key older than 24 hours serves a new request');

select * from finish();
rollback;
