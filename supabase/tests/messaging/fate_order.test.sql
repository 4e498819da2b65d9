-- Every combination of consent, suppression, address and cap gets the fate private.recipient_fate
-- names (the reference; the set-based statements inline it for speed).
begin;
select plan(2);

select tests.create_user('fate-comms@example.test', array['admin', 'communications']) as comms_id \gset
create temporary table combos as
select row_number() over () as n, consent, suppressed, has_address, capped
  from (values (null::boolean), (true), (false)) c(consent)
  cross join (values (false), (true)) s(suppressed)
  cross join (values (false), (true)) a(has_address)
  cross join (values (false), (true)) p(capped);
alter table combos add column customer_id uuid;
update combos set customer_id = tests.create_user('fate-' || n || '@example.test', '{}', 'Fate ' || n, null,
                                                   case when has_address then '+4798' || lpad(n::text, 6, '0') end);
select public.set_customer_consent(customer_id, 'sms', consent, 'signup') from combos where consent is not null;
insert into public.suppressions (channel, address, reason) select 'sms', '+4798' || lpad(n::text, 6, '0'), 'manual' from combos where suppressed;
insert into public.messaging_settings (key, value) values ('frequency_cap', '{"sms":{"max":1,"days":30}}');
-- the capped ones already had a message this month
insert into public.campaigns (id, name, channel, content, audience, status) values ('40000000-0000-4000-8000-000000000001', 'earlier', 'sms', '{"text":"x"}', '{}', 'draft');
insert into public.campaign_recipients (campaign_id, customer_id, channel, address, status, sent_at)
select '40000000-0000-4000-8000-000000000001', customer_id, 'sms', 'x', 'sent', now() from combos where capped;
grant select on combos to public;

select tests.act_as(:'comms_id');
select public.queue_bulk_message(jsonb_build_object('name', 'Fates', 'channel', 'sms', 'content', '{"text":"hi"}'::jsonb,
  'audience', jsonb_build_object('customer_ids', (select jsonb_agg(customer_id) from combos)))) ->> 'campaign_id' as campaign_id \gset
select tests.act_as_postgres();

select is((select count(*) from combos), 24::bigint, 'all 24 combinations are in the audience');
select is_empty(format($$
  select c.n, r.status, private.recipient_fate(c.consent, c.suppressed and c.has_address, case when c.has_address then 'x' end, c.capped)
    from combos c join public.campaign_recipients r on r.customer_id = c.customer_id and r.campaign_id = %L
   where r.status <> private.recipient_fate(c.consent, c.suppressed and c.has_address, case when c.has_address then 'x' end, c.capped)$$, :'campaign_id'),
  'queueing decides every combination as recipient_fate does, in the contract''s order');

select * from finish();
rollback;
