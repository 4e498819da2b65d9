-- insurance_documents -> 'insurance' events: uploaded, status changed; expiry in metadata.
begin;
select plan(5);

select tests.create_user('tl-ins-customer@example.test') as customer \gset
insert into public.insurance_documents (id, customer_id, kind, expires_at, created_at)
values ('10000000-0000-4000-a000-0000000004a1', :'customer', 'liability_certificate', '2027-12-12', '2026-04-20 10:00+00');
select results_eq(
  $$select event_type, event_key, occurred_at, title, metadata ->> 'expires_at', metadata ->> 'status'
      from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000004a1'$$,
  $$values ('insurance', 'uploaded', '2026-04-20 10:00+00'::timestamptz,
            'Insurance document uploaded: liability certificate, expires 12 Dec 2027', '2027-12-12', 'pending')$$,
  'an upload yields "uploaded" at created_at with the expiry in title and metadata');

update public.insurance_documents set status = 'valid' where id = '10000000-0000-4000-a000-0000000004a1';
select results_eq(
  $$select occurred_at, title, metadata ->> 'from', metadata ->> 'to', metadata ->> 'expires_at'
      from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000004a1' and event_key <> 'uploaded'$$,
  $$values (now(), 'Insurance document valid: liability certificate, expires 12 Dec 2027', 'pending', 'valid', '2027-12-12')$$,
  'approval yields a status event at updated_at');

update public.insurance_documents set expires_at = '2028-01-31' where id = '10000000-0000-4000-a000-0000000004a1';
select is((select count(*)::int from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000004a1'), 2,
  'an expiry correction alone yields nothing');
update public.insurance_documents set status = 'rejected' where id = '10000000-0000-4000-a000-0000000004a1';
select is((select title from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000004a1' order by seq desc limit 1),
  'Insurance document rejected: liability certificate, expires 31 Jan 2028', 'rejection reads as such, with the current expiry');

insert into public.insurance_documents (id, customer_id, kind, status, created_at)
values ('10000000-0000-4000-a000-0000000004a2', :'customer', 'equipment_cover', 'valid', '2026-04-21 10:00+00');
select is((select title from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000004a2'),
  'Insurance document uploaded: equipment cover', 'a document without expiry says nothing about it');

select * from finish();
rollback;
