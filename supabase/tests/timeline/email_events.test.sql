-- email_logs -> 'campaign' events: sent, status changed. Campaign and transactional emails both
-- use type 'campaign' (the contract's communications type); metadata.kind tells them apart.
begin;
select plan(7);

select tests.create_user('tl-mail-customer@example.test') as customer \gset
insert into public.campaigns (id, name, channel, content, audience)
values ('10000000-0000-4000-a000-0000000005cc', 'Spring offers', 'email', '{"subject":"Spring offers","text":"x"}', '{}');
insert into public.email_logs (id, customer_id, to_email, subject, status, campaign_id, created_at)
values ('10000000-0000-4000-a000-0000000005a1', :'customer', 'tl-mail-customer@example.test', 'Spring offers', 'sent',
        '10000000-0000-4000-a000-0000000005cc', '2026-04-20 10:00+00');
select results_eq(
  $$select event_type, event_key, occurred_at, title, metadata ->> 'kind', metadata ->> 'campaign_id'
      from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000005a1'$$,
  $$values ('campaign', 'sent', '2026-04-20 10:00+00'::timestamptz, 'Campaign email sent: Spring offers', 'campaign',
            '10000000-0000-4000-a000-0000000005cc')$$,
  'a campaign email yields "sent" at created_at');

select tests.status_changes_are('email_logs', '10000000-0000-4000-a000-0000000005a1', array['sent', 'delivered', 'opened'],
  array['Campaign email delivered: Spring offers', 'Campaign email opened: Spring offers'], 'each status change yields an event');

insert into public.email_logs (id, customer_id, to_email, subject, created_at)
values ('10000000-0000-4000-a000-0000000005a2', :'customer', 'tl-mail-customer@example.test', 'Your booking is confirmed', '2026-04-21 10:00+00');
select results_eq(
  $$select event_type, title, metadata ->> 'kind' from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000005a2'$$,
  $$values ('campaign', 'Email sent: Your booking is confirmed', 'transactional')$$,
  'a transactional email is a campaign-type event of kind transactional');

insert into public.email_logs (id, customer_id, to_email, subject, created_at)
values ('10000000-0000-4000-a000-0000000005a3', null, 'someone@example.test', 'Hello', '2026-04-22 10:00+00');
select is_empty($$select 1 from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000005a3'$$,
  'an email to nobody we know yields nothing');
update public.email_logs set customer_id = :'customer' where id = '10000000-0000-4000-a000-0000000005a3';
select results_eq(
  $$select event_key, occurred_at from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000005a3'$$,
  $$values ('sent', '2026-04-22 10:00+00'::timestamptz)$$,
  'linking it to a customer later yields its "sent" event at its own time');
update public.email_logs set subject = 'Hello again' where id = '10000000-0000-4000-a000-0000000005a3';
select is((select count(*)::int from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000005a3'), 1,
  'other changes yield nothing');
insert into public.email_logs (id, customer_id, to_email, subject, status, created_at)
values ('10000000-0000-4000-a000-0000000005a4', :'customer', 'x@example.test', null, 'queued', '2026-04-23 10:00+00');
select is((select title from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000005a4'),
  'Email queued: (no subject)', 'an email logged in another status says which');

select * from finish();
rollback;
