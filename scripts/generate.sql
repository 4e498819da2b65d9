-- One chunk of the generated world: customers :lo .. :hi - 1 and everything that belongs to them.
-- Set-based (insert ... select over generate_series), deterministic: every value is a hash of the
-- customer number, so the same N gives the same world. Run by scripts/generate.sh, which loads
-- scripts/generate-setup.sql first in the same session (pg_temp helpers, reference data, :today).
\set ON_ERROR_STOP 1
begin;
-- Bulk load: skip triggers and FK checks for the chunk; generate.sh rebuilds the facts once at the end.
set local session_replication_role = replica;

create temporary table gen_c on commit drop as
select i,
       md5('gen-customer-' || i)::uuid as id,
       p.city, p.region, p.country_code, p.dial,
       (array['Anna','Bjørn','Cecilie','Dag','Eva','Frode','Gro','Henrik','Ingrid','Jonas','Kari','Lars','Maja','Nils','Oda','Per','Rune','Siri','Tore','Ulla','Åse','Øystein','Sofia','Emil','Linnea','Oskar','Freja','Mads','Ida','Magnus'])[1 + pg_temp.h(i, 2) % 30] as first_name,
       (array['Hansen','Johansen','Olsen','Larsen','Andersen','Pedersen','Nilsen','Kristiansen','Jensen','Karlsen','Lindqvist','Berg','Haugen','Dahl','Lund','Eriksson','Svensson','Nielsen','Sørensen','Holm'])[1 + pg_temp.h(i, 3) % 20] as last_name,
       :'today'::timestamptz - make_interval(days => (pg_temp.h(i, 4) % 1500)::integer, secs => (pg_temp.h(i, 5) % 86400)::double precision) as created_at
  from generate_series(:lo::bigint, :hi::bigint - 1) i
  join gen_places p on p.n = pg_temp.h(i, 1) % :places;

insert into auth.users (id, email, created_at)
select id, 'gen.' || i || '@gen.example.test', created_at from gen_c;

insert into public.users (id, email, phone, full_name, city, region, country_code, created_at, updated_at,
                          risk_score, lifetime_value, preferred_contact_method)
select c.id, 'gen.' || c.i || '@gen.example.test',
       case when pg_temp.h(c.i, 6) % 12 = 0 then null else c.dial || lpad((c.i % 10000000)::text, 7, '0') end,
       c.first_name || ' ' || c.last_name, c.city, c.region, c.country_code, c.created_at, c.created_at,
       case when pg_temp.h(c.i, 7) % 10 < 7 then ((pg_temp.h(c.i, 8) % 10000) / 100.0)::numeric(5, 2) end,
       case when pg_temp.h(c.i, 9) % 10 < 6 then (pg_temp.h(c.i, 10) % 5000000 / 100.0)::numeric(12, 2) end,
       (array['email', 'email', 'sms', 'push'])[1 + pg_temp.h(c.i, 11) % 4]
  from gen_c c;

-- Bookings: a quarter never booked; the rest 1..6, heavier users rarer.
create temporary table gen_b on commit drop as
select md5('gen-booking-' || c.i || '-' || b)::uuid as id, c.i, c.id as customer_id, b,
       greatest(c.created_at, :'today'::timestamptz - make_interval(days => (pg_temp.h(c.i * 8 + b, 12) % 1400)::integer,
                                                                       secs => (pg_temp.h(c.i * 8 + b, 13) % 86400)::double precision)) as created_at
  from gen_c c
 cross join lateral generate_series(1, case when pg_temp.h(c.i, 14) % 4 = 0 then 0
                                            else 1 + (pg_temp.h(c.i, 15) % 21)::integer / 5 % 6 end) b;

insert into public.bookings (id, customer_id, status, start_date, end_date, total_amount, payment_due_at, created_at, updated_at)
select b.id, b.customer_id,
       case when pg_temp.h(b.i * 8 + b.b, 16) % 12 = 0 then 'cancelled'
            when b.created_at > :'today'::timestamptz - interval '10 days'
              then (array['pending', 'confirmed', 'active'])[1 + pg_temp.h(b.i * 8 + b.b, 17) % 3]
            else 'completed' end,
       (b.created_at + interval '3 days')::date,
       (b.created_at + make_interval(days => 3 + (pg_temp.h(b.i * 8 + b.b, 18) % 12)::integer))::date,
       (150 + pg_temp.h(b.i * 8 + b.b, 19) % 14850)::numeric(12, 2),
       b.created_at + interval '14 days', b.created_at, b.created_at
  from gen_b b;

-- 1..3 distinct pieces of equipment per booking.
insert into public.booking_items (booking_id, equipment_id, quantity)
select b.id, e.id, 1 + (pg_temp.h(b.i * 8 + b.b, 20 + k) % 3)::integer
  from gen_b b
 cross join lateral generate_series(1, 1 + (pg_temp.h(b.i * 8 + b.b, 21) % 3)::integer) k
  join gen_equipment e on e.n = (pg_temp.h(b.i * 8 + b.b, 22) + k * 7) % :equipment_count;

-- Card payments for most bookings (some failed, refunds for cancellations); bank transfers for the rest.
insert into public.payments (customer_id, booking_id, amount, currency, status, created_at, updated_at)
select bk.customer_id, bk.id, bk.total_amount, 'EUR',
       case when bk.status = 'cancelled' then 'refunded'
            when pg_temp.h(b.i * 8 + b.b, 23) % 15 = 0 then 'failed'
            when bk.status = 'pending' then 'pending'
            else 'succeeded' end,
       bk.created_at + interval '1 hour', bk.created_at + interval '1 hour'
  from gen_b b join public.bookings bk on bk.id = b.id
 where pg_temp.h(b.i * 8 + b.b, 24) % 10 <> 0;

insert into public.manual_payments (customer_id, booking_id, amount, method, received_at, created_at)
select bk.customer_id, bk.id, bk.total_amount, (array['bank_transfer', 'cash', 'invoice'])[1 + pg_temp.h(b.i * 8 + b.b, 25) % 3],
       bk.created_at + interval '5 days', bk.created_at + interval '5 days'
  from gen_b b join public.bookings bk on bk.id = b.id
 where pg_temp.h(b.i * 8 + b.b, 24) % 10 = 0 and bk.status in ('completed', 'active');

-- Support: a fifth of customers wrote in, 1..2 tickets, 1..3 messages each.
create temporary table gen_t on commit drop as
select md5('gen-ticket-' || c.i || '-' || t)::uuid as id, c.i, c.id as customer_id, t,
       :'today'::timestamptz - make_interval(days => (pg_temp.h(c.i * 4 + t, 26) % 700)::integer) as created_at
  from gen_c c
 cross join lateral generate_series(1, case when pg_temp.h(c.i, 27) % 5 = 0 then 1 + (pg_temp.h(c.i, 28) % 2)::integer else 0 end) t;

insert into public.support_tickets (id, customer_id, subject, status, priority, created_at, updated_at)
select t.id, t.customer_id,
       (array['Delivery was late', 'Invoice question', 'Generator will not start', 'Change booking dates', 'Damage report', 'Need a second lift'])[1 + pg_temp.h(t.i * 4 + t.t, 29) % 6],
       (array['open', 'pending', 'resolved', 'closed', 'closed', 'closed'])[1 + pg_temp.h(t.i * 4 + t.t, 30) % 6],
       (array['low', 'normal', 'normal', 'high', 'urgent'])[1 + pg_temp.h(t.i * 4 + t.t, 31) % 5],
       t.created_at, t.created_at
  from gen_t t;

insert into public.support_messages (ticket_id, sender_id, body, created_at)
select t.id, case when m % 2 = 1 then t.customer_id end,
       case when m % 2 = 1 then 'Hi, can you help with my booking?' else 'Thanks for reaching out, we are on it.' end,
       t.created_at + make_interval(hours => m * 3)
  from gen_t t
 cross join generate_series(1, 3) m
 where m <= 1 + pg_temp.h(t.i * 4 + t.t, 32) % 3;

-- Insurance: half of those who booked have a certificate; some expired, some expiring soon.
insert into public.insurance_documents (customer_id, booking_id, kind, status, expires_at, created_at, updated_at)
select b.customer_id, b.id,
       (array['liability_certificate', 'equipment_cover'])[1 + pg_temp.h(b.i, 33) % 2],
       case when pg_temp.h(b.i, 34) % 10 = 0 then 'pending' when pg_temp.h(b.i, 35) % 8 = 0 then 'expired' else 'valid' end,
       case when pg_temp.h(b.i, 35) % 8 = 0 then :'today'::timestamptz::date - (pg_temp.h(b.i, 36) % 300)::integer
            else :'today'::timestamptz::date + (pg_temp.h(b.i, 36) % 400)::integer end,
       b.created_at, b.created_at
  from gen_b b
 where b.b = 1 and pg_temp.h(b.i, 37) % 2 = 0;

-- Tags: about a third of customers carry one or two.
insert into public.customer_tag_members (customer_id, tag_id, assigned_at)
select distinct c.id, t.id, c.created_at + interval '2 days'
  from gen_c c
 cross join generate_series(1, 2) k
  join gen_tags t on t.n = (pg_temp.h(c.i, 38) + k * 3) % :tag_count
 where pg_temp.h(c.i, 39) % 3 = 0 and (k = 1 or pg_temp.h(c.i, 40) % 3 = 0);

-- Consent: most customers answered for email, fewer for sms and push.
insert into public.customer_consent (customer_id, channel, enabled, granted_at, revoked_at, source, updated_at)
select c.id, ch.channel, pg_temp.h(c.i, 41 + ch.k) % 10 < ch.yes,
       case when pg_temp.h(c.i, 41 + ch.k) % 10 < ch.yes then c.created_at end,
       case when pg_temp.h(c.i, 41 + ch.k) % 10 >= ch.yes then c.created_at + interval '30 days' end,
       (array['signup', 'signup', 'self_service', 'admin'])[1 + pg_temp.h(c.i, 45 + ch.k) % 4], c.created_at
  from gen_c c
 cross join (values (1, 'email', 8, 9), (2, 'sms', 6, 7), (3, 'push', 4, 5)) ch(k, channel, yes, answered)
 where pg_temp.h(c.i, 48 + ch.k) % 10 < ch.answered;

commit;
