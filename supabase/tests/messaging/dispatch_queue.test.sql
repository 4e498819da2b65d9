-- The queue: claims lease rows (skip locked), a dead worker's lease expires and its rows are
-- claimed again, a stale worker's completion is ignored, retries back off up to a limit, a
-- provider 429 holds every worker back, consent is checked again at claim, status changes follow
-- the campaign's life.
begin;
select plan(25);

select tests.create_user('q-comms@example.test', array['admin', 'communications']) as comms_id \gset
create temporary table cs as select tests.create_user('q-' || i || '@example.test', '{}', 'Q ' || i) as id, i from generate_series(1, 5) i;
select public.set_customer_consent(id, 'email', true, 'signup') from cs;
grant select on cs to public;

select tests.act_as(:'comms_id');
select public.queue_bulk_message(jsonb_build_object('name', 'Queue', 'channel', 'email', 'content', '{"subject":"s","text":"t"}'::jsonb,
  'audience', jsonb_build_object('customer_ids', (select jsonb_agg(id) from cs)))) ->> 'campaign_id' as campaign_id \gset

select tests.act_as_service();
select is((select count(*) from private.claim_recipients('w1', 'email', 3, 60)), 3::bigint, 'a worker claims up to its batch');
select is((select count(*) from public.campaign_recipients where campaign_id = :'campaign_id' and status = 'sending' and leased_by = 'w1'), 3::bigint,
  'claimed rows are leased to the worker');
select is((select count(*) from private.claim_recipients('w2', 'email', 10, 60)), 2::bigint, 'another worker gets only what is left');
select is((select count(*) from private.claim_recipients('w3', 'email', 10, 60)), 0::bigint, 'nothing is claimed twice while leased');

-- w1 dies: its lease runs out, w3 claims those rows again
update public.campaign_recipients set lease_expires_at = clock_timestamp() - interval '1 second' where leased_by = 'w1';
select is((select count(*) from private.claim_recipients('w3', 'email', 10, 60)), 3::bigint, 'an expired lease is claimed again');
select is((select max(attempts) from public.campaign_recipients where leased_by = 'w3'), 2, 'the second claim counts a second attempt');
select is((private.complete_recipients('w1', (select jsonb_agg(jsonb_build_object('id', id, 'outcome', 'sent')) from public.campaign_recipients where leased_by = 'w3'))) ->> 'ignored',
  '3', 'the dead worker''s late completion is ignored');
select is((private.complete_recipients('w3', (select jsonb_agg(jsonb_build_object('id', id, 'outcome', 'sent', 'provider_message_id', 'm-1')) from public.campaign_recipients where leased_by = 'w3'))) ->> 'sent',
  '3', 'the live worker''s completion is recorded');
select is((select count(*) from public.email_logs where campaign_id = :'campaign_id'), 3::bigint, 'each sent email is logged');

-- w2 hits a 503 then a 429
select is((private.complete_recipients('w2', (select jsonb_agg(jsonb_build_object('id', id, 'outcome', 'retry', 'error', 'sendgrid 503')) from public.campaign_recipients where leased_by = 'w2'))) ->> 'retry',
  '2', 'a 5xx puts the rows back in the queue');
select ok((select bool_and(status = 'queued' and next_attempt_at > now() and last_error = 'sendgrid 503') from public.campaign_recipients
            where campaign_id = :'campaign_id' and status not in ('sent')), 'with a back-off and the error kept');
update public.campaign_recipients set next_attempt_at = now() - interval '1 second' where campaign_id = :'campaign_id' and status = 'queued';
select is((select count(*) from private.claim_recipients('w2', 'email', 10, 60)), 2::bigint, 'due retries are claimed again');
select is((private.complete_recipients('w2', (select jsonb_agg(jsonb_build_object('id', id, 'outcome', 'retry', 'error', 'sendgrid 429', 'retry_after_seconds', 30)) from public.campaign_recipients where leased_by = 'w2'))) ->> 'retry',
  '2', 'a 429 retries');
update public.campaign_recipients set next_attempt_at = now() - interval '1 second' where campaign_id = :'campaign_id' and status = 'queued';
select is((select count(*) from private.claim_recipients('w4', 'email', 10, 60)), 0::bigint, 'while the provider''s Retry-After runs, no worker claims');
select tests.act_as_postgres();
update private.rate_buckets set blocked_until = null where key = 'provider:email';

-- consent revoked before the claim
select public.set_customer_consent((select customer_id from public.campaign_recipients where campaign_id = :'campaign_id' and status = 'queued' order by customer_id limit 1), 'email', false, 'self_service');
select tests.act_as_service();
select is((select count(*) from private.claim_recipients('w4', 'email', 10, 60)), 1::bigint, 'a customer whose consent was revoked is not claimed');
select is((select count(*) from public.campaign_recipients where campaign_id = :'campaign_id' and status = 'skipped_no_consent'), 1::bigint,
  'but marked skipped_no_consent');

-- attempts run out
insert into public.messaging_settings (key, value) values ('dispatch', '{"max_attempts": 3}');
select is((private.complete_recipients('w4', (select jsonb_agg(jsonb_build_object('id', id, 'outcome', 'retry', 'error', 'sendgrid 500')) from public.campaign_recipients where leased_by = 'w4'))) ->> 'failed',
  '1', 'after max_attempts a retry becomes failed');
select is((select status from public.campaigns where id = :'campaign_id'), 'sent', 'with nothing left to send the campaign is sent');
select is((select count(*) from public.customer_timeline_events e
             where e.event_type = 'campaign' and e.customer_id in (select id from cs)), 3::bigint,
  'each send is on the customer''s timeline once');

-- token bucket
select tests.act_as_postgres();
select is(private.take_tokens('test', 100, 600), 2, 'a fresh bucket of 600/min holds a quarter second: 2 tokens');
select is(private.take_tokens('test', 100, 600), 0, 'then it is empty');
select pg_sleep(0.35);
select ok(private.take_tokens('test', 100, 600) between 2 and 3, 'and refills at 10 per second, up to its capacity');

-- status transitions
select tests.act_as_postgres();
select throws_ok(format($$update public.campaigns set status = 'sending' where id = %L$$, :'campaign_id'), 'PT409',
  'status: a sent campaign cannot become sending', 'a sent campaign cannot be restarted');
select throws_ok(format($$update public.campaigns set status = 'draft' where id = %L$$, :'campaign_id'), 'PT409', null,
  'nor go back to draft');
select tests.act_as(:'comms_id');
select throws_ok(format($$select public.cancel_campaign(%L)$$, :'campaign_id'), 'PT409', null, 'nor be cancelled once sent');

select * from finish();
rollback;
