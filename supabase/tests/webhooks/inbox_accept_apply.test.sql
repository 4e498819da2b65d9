-- The inbox: a body is stored once; an opt-out holds its address from sending while answering and
-- becomes consent when the inbox is applied, with everything else; only the service role may write
-- it; admins see its health.
begin;
select plan(17);

select tests.create_user('inbox-' || gen_random_uuid() || '@example.test') as cid \gset
select email as c_email from public.users where id = :'cid' \gset
select tests.create_user('inbox-admin-' || gen_random_uuid() || '@example.test', array['admin']) as admin_id \gset
select public.set_customer_consent(:'cid', 'email', true, 'signup');
insert into public.campaigns (id, name, channel, content, audience) values ('53000000-0000-4000-a000-000000000001', 'inbox', 'email', '{"subject":"s","text":"t"}', '{}');
insert into public.campaign_recipients (id, campaign_id, customer_id, channel, address, status, attempts, sent_at) values
  ('54000000-0000-4000-a000-000000000001', '53000000-0000-4000-a000-000000000001', :'cid', 'email', :'c_email', 'sent', 1, now() - interval '1 hour');

select jsonb_build_array(
  jsonb_build_object('sg_event_id', 'inbox-1', 'event', 'delivered', 'email', :'c_email', 'recipient_id', '54000000-0000-4000-a000-000000000001'),
  jsonb_build_object('sg_event_id', 'inbox-2', 'event', 'unsubscribe', 'email', :'c_email', 'recipient_id', '54000000-0000-4000-a000-000000000001')) as batch \gset

select tests.act_as(:'cid');
select throws_ok(format($$select private.accept_webhook('sendgrid_events', %L, 2, null)$$, :'batch'), '42501', null,
                 'a signed-in user cannot write the inbox');
select tests.act_as_service();
select is((private.accept_webhook('sendgrid_events', :'batch', 2,
           jsonb_build_array((:'batch'::jsonb) -> 1))) - 'inbox_id', '{"applied_now": 1, "duplicate_batch": false}'::jsonb, 'stored, one opt-out held now');
select is((private.accept_webhook('sendgrid_events', :'batch', 2, null)) ->> 'duplicate_batch', 'true', 'the byte-identical retry is stored once');
select tests.act_as_postgres();
select is((select event from private.webhook_opt_outs where address_key = lower(:'c_email')), 'unsubscribe',
          'the unsubscribe holds the address while answering');
select is((select status from public.campaign_recipients where id = '54000000-0000-4000-a000-000000000001'), 'sent',
          'statuses wait for the inbox to be applied');
select is((select count(*)::int from public.message_events where provider_event_id in ('inbox-1', 'inbox-2')), 0, 'and so do the events');

select tests.act_as_service();
select ok((select bool_and((private.apply_webhook_inbox(5000, part) ->> 'rows')::int >= 1) from generate_series(0, private.webhook_apply_parts() - 1) part),
          'the inbox is applied, each part of the customers by its own applier');
select tests.act_as_postgres();
select is((select status from public.campaign_recipients where id = '54000000-0000-4000-a000-000000000001'), 'unsubscribed', 'the status follows');
select is((select count(*)::int from public.message_events where provider_event_id in ('inbox-1', 'inbox-2')), 2, 'both events are stored once');
select is((select count(*)::int from public.customer_consent_history where customer_id = :'cid' and channel = 'email' and not new_enabled), 1,
          'the revocation is written once (answer and apply agree)');
select ok((select applied_at is not null from private.webhook_inbox where body = :'batch'), 'the row is marked applied');
select is((select enabled from public.customer_consent where customer_id = :'cid' and channel = 'email'), false,
          'the unsubscribe is the customer''s consent now');
select is((select count(*)::int from private.webhook_opt_outs where address_key = lower(:'c_email')), 0, 'and the hold is gone');

select tests.act_as(:'admin_id');
select ok((select pending_rows = 0 and applied_last_hour >= 1 from public.webhook_inbox_health where source = 'sendgrid_events'),
          'an admin sees the inbox health');
select tests.act_as(:'cid');
select is_empty($$select * from public.webhook_inbox_health$$, 'a customer sees nothing of it');

-- pruning: rows applied more than `keep` ago go, the others stay
select tests.act_as_postgres();
update private.webhook_inbox set applied_at = now() - interval '8 days' where body = :'batch';
select tests.act_as_service();
select ok(private.prune_webhook_inbox() >= 1, 'rows applied more than 7 days ago are pruned');
select tests.act_as_postgres();
select is((select count(*)::int from private.webhook_inbox where body = :'batch'), 0, 'the pruned row is gone');

select * from finish();
rollback;
