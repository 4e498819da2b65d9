-- A small, readable demo world: three logins and 200 customers in Scandinavian cities, with
-- bookings, logistics, payments, tickets, insurance, tags, notes and consents. Ids, names and
-- amounts are the same on every reset; dates are anchored to the day of the reset so that
-- "expiring within 30 days" and "last 90 days" stay meaningful.
set client_min_messages = warning;

create temporary table seed_anchor as select date_trunc('day', now()) as today;

-- h(k): a stable pseudo-random number in 0..2^31 for a key.
create or replace function pg_temp.h(k text) returns integer language sql immutable as $$ select abs(hashtext(k)) $$;
create or replace function pg_temp.sid(k text) returns uuid language sql immutable as $$ select md5(k)::uuid $$;

-- Logins -------------------------------------------------------------------------------------
insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-000000000001', 'ada.admin@rental.test'),
  ('00000000-0000-4000-a000-000000000002', 'alan.admin@rental.test'),
  ('00000000-0000-4000-a000-000000000003', 'cora.customer@rental.test');
insert into public.users (id, email, phone, full_name, city, region, country_code, created_at) values
  ('00000000-0000-4000-a000-000000000001', 'ada.admin@rental.test', '+4790000001', 'Ada Admin', 'Oslo', 'Oslo', 'NO', '2024-01-02'),
  ('00000000-0000-4000-a000-000000000002', 'alan.admin@rental.test', '+4790000002', 'Alan Admin', 'Bergen', 'Vestland', 'NO', '2024-01-02'),
  ('00000000-0000-4000-a000-000000000003', 'cora.customer@rental.test', '+4790000003', 'Cora Customer', 'Tromsø', 'Troms', 'NO', '2024-03-15');
insert into public.user_roles (user_id, role) values
  ('00000000-0000-4000-a000-000000000001', 'admin'),
  ('00000000-0000-4000-a000-000000000001', 'communications'),
  ('00000000-0000-4000-a000-000000000002', 'admin');

-- Customers ----------------------------------------------------------------------------------
create temporary table seed_places (n int, city text, region text, country_code text, dial text);
insert into seed_places values
  (0, 'Oslo', 'Oslo', 'NO', '+479'), (1, 'Bergen', 'Vestland', 'NO', '+479'), (2, 'Trondheim', 'Trøndelag', 'NO', '+479'),
  (3, 'Tromsø', 'Troms', 'NO', '+479'), (4, 'Stavanger', 'Rogaland', 'NO', '+479'), (5, 'Stockholm', 'Stockholm', 'SE', '+467'),
  (6, 'Göteborg', 'Västra Götaland', 'SE', '+467'), (7, 'København', 'Hovedstaden', 'DK', '+452'), (8, 'Aarhus', 'Midtjylland', 'DK', '+452'),
  (9, 'Oslo', 'Oslo', 'NO', '+479');

create temporary table seed_customers as
select i,
       case when i = 0 then '00000000-0000-4000-a000-000000000003'::uuid else pg_temp.sid('customer-' || i) end as id,
       (array['Anna','Bjørn','Cecilie','Dag','Eva','Frode','Gro','Henrik','Ingrid','Jonas','Kari','Lars','Maja','Nils','Oda','Per','Rune','Siri','Tore','Ulla'])[1 + pg_temp.h('f' || i) % 20] as first_name,
       (array['Hansen','Johansen','Olsen','Larsen','Andersen','Pedersen','Nilsen','Kristiansen','Jensen','Karlsen','Lindqvist','Berg','Haugen','Dahl','Lund'])[1 + pg_temp.h('l' || i) % 15] as last_name,
       p.city, p.region, p.country_code,
       p.dial || lpad((1000000 + i)::text, 7, '0') as phone,
       (select today from seed_anchor) - make_interval(days => 30 + pg_temp.h('c' || i) % 900) as created_at
  from generate_series(0, 199) i
  join seed_places p on p.n = i % 10;

insert into auth.users (id, email)
select id, lower(first_name || '.' || last_name || '.' || i || '@example.test') from seed_customers where i > 0;
insert into public.users (id, email, phone, full_name, city, region, country_code, created_at, preferred_contact_method, account_manager_id)
select id, lower(first_name || '.' || last_name || '.' || i || '@example.test'),
       case when i % 17 = 5 then null else phone end,
       first_name || ' ' || last_name, city, region, country_code, created_at,
       (array['email', 'email', 'sms', 'push'])[1 + i % 4],
       case when i % 5 = 0 then '00000000-0000-4000-a000-000000000002'::uuid else '00000000-0000-4000-a000-000000000001'::uuid end
  from seed_customers where i > 0;
-- a few customers without an email address (phone only)
update public.users set email = null where id in (select id from seed_customers where i in (13, 77, 141));

-- Equipment ----------------------------------------------------------------------------------
insert into public.equipment_categories (id, slug, name) values
  (pg_temp.sid('cat-excavators'), 'excavators', 'Excavators'),
  (pg_temp.sid('cat-scaffolding'), 'scaffolding', 'Scaffolding'),
  (pg_temp.sid('cat-generators'), 'generators', 'Generators'),
  (pg_temp.sid('cat-lifts'), 'lifts', 'Aerial lifts'),
  (pg_temp.sid('cat-compactors'), 'compactors', 'Compactors'),
  (pg_temp.sid('cat-power-tools'), 'power-tools', 'Power tools');
insert into public.equipment (id, category_id, name)
select pg_temp.sid('eq-' || c.slug || '-' || n), c.id, c.name || ' model ' || chr(64 + n)
  from public.equipment_categories c cross join generate_series(1, 3) n;

-- Bookings: 0..6 per customer, most completed, some active, a few cancelled ----------------------
create temporary table seed_bookings as
select pg_temp.sid('booking-' || c.i || '-' || b) as id, c.i, c.id as customer_id, b,
       (select today from seed_anchor) - make_interval(days => (pg_temp.h('bd' || c.i || b) % 400)) as created_at
  from seed_customers c
  cross join lateral generate_series(1, pg_temp.h('nb' || c.i) % 7) b;

insert into public.bookings (id, customer_id, status, start_date, end_date, total_amount, payment_due_at, created_at, updated_at)
select id, customer_id,
       case when pg_temp.h('bs' || id) % 12 = 0 then 'cancelled'
            when created_at > (select today from seed_anchor) - interval '10 days' then (array['pending','confirmed','active'])[1 + pg_temp.h('bp' || id) % 3]
            else 'completed' end,
       (created_at + interval '3 days')::date,
       (created_at + make_interval(days => 3 + pg_temp.h('len' || id) % 10))::date,
       (200 + pg_temp.h('amt' || id) % 9800)::numeric(12,2),
       created_at + interval '14 days',
       created_at, created_at
  from seed_bookings;

insert into public.booking_items (booking_id, equipment_id, quantity)
select distinct on (b.id, e.id) b.id, e.id, 1 + pg_temp.h('q' || b.id || n) % 3
  from seed_bookings b
  cross join generate_series(1, 1 + pg_temp.h('ni' || b.id) % 3) n
  join lateral (select id from public.equipment order by pg_temp.h(id::text || b.id || n) limit 1) e on true;

insert into public.logistics_tasks (booking_id, kind, status, scheduled_for, completed_at, created_at)
select b.id, k.kind,
       case when bk.status in ('completed') then 'done'
            when bk.status = 'cancelled' then 'failed'
            when k.kind = 'delivery' and bk.status = 'active' then 'done'
            else 'scheduled' end,
       case k.kind when 'delivery' then bk.start_date::timestamptz + interval '8 hours' else bk.end_date::timestamptz + interval '16 hours' end,
       case when bk.status = 'completed' or (k.kind = 'delivery' and bk.status = 'active')
            then case k.kind when 'delivery' then bk.start_date::timestamptz + interval '9 hours' else bk.end_date::timestamptz + interval '17 hours' end end,
       b.created_at
  from seed_bookings b
  join public.bookings bk on bk.id = b.id
  cross join (values ('delivery'), ('pickup')) k(kind);

-- Payments: card payments for most non-cancelled bookings; some failed; a few refunded; some bank transfers
insert into public.payments (id, customer_id, booking_id, amount, currency, status, created_at, updated_at)
select pg_temp.sid('pay-' || bk.id), bk.customer_id, bk.id, bk.total_amount,
       case when s.country_code = 'SE' then 'SEK' when s.country_code = 'DK' then 'DKK' else 'NOK' end,
       case when bk.status = 'cancelled' then 'refunded'
            when pg_temp.h('pf' || bk.id) % 9 = 0 then 'failed'
            when bk.status = 'pending' then 'pending'
            else 'succeeded' end,
       bk.created_at + interval '1 hour', bk.created_at + interval '1 hour'
  from public.bookings bk
  join seed_customers s on s.id = bk.customer_id
 where pg_temp.h('pm' || bk.id) % 5 <> 0;

insert into public.manual_payments (customer_id, booking_id, amount, method, recorded_by, received_at, created_at)
select bk.customer_id, bk.id, bk.total_amount, (array['bank_transfer', 'cash', 'invoice'])[1 + pg_temp.h('mm' || bk.id) % 3],
       '00000000-0000-4000-a000-000000000002', bk.created_at + interval '5 days', bk.created_at + interval '5 days'
  from public.bookings bk
 where pg_temp.h('pm' || bk.id) % 5 = 0 and bk.status in ('completed', 'active');

-- Support ------------------------------------------------------------------------------------
insert into public.support_tickets (id, customer_id, subject, status, priority, created_at, updated_at)
select pg_temp.sid('ticket-' || c.i || '-' || t), c.id,
       (array['Delivery was late', 'Invoice question', 'Generator will not start', 'Change booking dates', 'Damage report', 'Need a second lift'])[1 + pg_temp.h('ts' || c.i || t) % 6],
       (array['open', 'pending', 'resolved', 'closed', 'closed'])[1 + pg_temp.h('tst' || c.i || t) % 5],
       (array['low', 'normal', 'normal', 'high', 'urgent'])[1 + pg_temp.h('tp' || c.i || t) % 5],
       (select today from seed_anchor) - make_interval(days => pg_temp.h('td' || c.i || t) % 200),
       (select today from seed_anchor) - make_interval(days => pg_temp.h('td' || c.i || t) % 200)
  from seed_customers c
  cross join lateral generate_series(1, case when pg_temp.h('nt' || c.i) % 4 = 0 then 1 + pg_temp.h('nt2' || c.i) % 2 else 0 end) t;

insert into public.support_messages (ticket_id, sender_id, body, created_at)
select t.id, case when m % 2 = 1 then t.customer_id else '00000000-0000-4000-a000-000000000001'::uuid end,
       case when m % 2 = 1 then 'Hi, ' || lower(t.subject) || '. Can you help?' else 'Thanks for reaching out, we are on it.' end,
       t.created_at + make_interval(hours => m * 3)
  from public.support_tickets t
  cross join generate_series(1, 1 + pg_temp.h('nm' || t.id) % 3) m;

-- Insurance: one certificate per customer with bookings; some expiring soon, some expired ---------
insert into public.insurance_documents (customer_id, booking_id, kind, status, expires_at, created_at, updated_at)
select distinct on (bk.customer_id) bk.customer_id, bk.id,
       (array['liability_certificate', 'equipment_cover'])[1 + pg_temp.h('ik' || bk.customer_id) % 2],
       case when pg_temp.h('ist' || bk.customer_id) % 10 = 0 then 'pending'
            when pg_temp.h('ie' || bk.customer_id) % 8 = 0 then 'expired' else 'valid' end,
       case when pg_temp.h('ie' || bk.customer_id) % 8 = 0 then (select today from seed_anchor)::date - 10
            when pg_temp.h('ie' || bk.customer_id) % 8 = 1 then (select today from seed_anchor)::date + 12
            when pg_temp.h('ie' || bk.customer_id) % 8 = 2 then (select today from seed_anchor)::date + 25
            else (select today from seed_anchor)::date + 200 end,
       bk.created_at, bk.created_at
  from public.bookings bk
 order by bk.customer_id, bk.created_at;

-- CRM: tags, notes, consents -------------------------------------------------------------------
insert into public.customer_tags (id, name, color, description, created_by) values
  (pg_temp.sid('tag-vip'), 'VIP', '#D4AF37', 'High-value customers: priority delivery', '00000000-0000-4000-a000-000000000001'),
  (pg_temp.sid('tag-construction'), 'Construction firm', '#F97316', 'Professional builders and contractors', '00000000-0000-4000-a000-000000000001'),
  (pg_temp.sid('tag-events'), 'Event planner', '#8B5CF6', 'Rents generators and lifts for events', '00000000-0000-4000-a000-000000000001'),
  (pg_temp.sid('tag-late-payer'), 'Late payer', '#DC2626', 'Has paid late more than once', '00000000-0000-4000-a000-000000000002'),
  (pg_temp.sid('tag-newsletter'), 'Newsletter', '#0EA5E9', 'Asked for the monthly newsletter', '00000000-0000-4000-a000-000000000001');

insert into public.customer_tag_members (customer_id, tag_id, assigned_by, assigned_at)
select c.id, t.id, '00000000-0000-4000-a000-000000000001', c.created_at + interval '2 days'
  from seed_customers c
  join public.customer_tags t on
       (t.name = 'VIP' and pg_temp.h('tv' || c.i) % 10 = 0)
    or (t.name = 'Construction firm' and pg_temp.h('tc' || c.i) % 3 = 0)
    or (t.name = 'Event planner' and pg_temp.h('te' || c.i) % 6 = 0)
    or (t.name = 'Late payer' and pg_temp.h('tl' || c.i) % 12 = 0)
    or (t.name = 'Newsletter' and pg_temp.h('tn' || c.i) % 2 = 0);

insert into public.customer_notes (customer_id, admin_id, note, type, visibility, created_at)
select c.id, case when n % 2 = 0 then '00000000-0000-4000-a000-000000000001'::uuid else '00000000-0000-4000-a000-000000000002'::uuid end,
       (array['Prefers morning deliveries.', 'Asked about long-term rates for scaffolding.', 'Called about a damaged cable; follow up next week.',
              'Pays reliably by bank transfer.', 'Wants the invoice addressed to the site manager.', 'Interested in the new electric excavator.'])[1 + pg_temp.h('nn' || c.i || n) % 6],
       (array['info', 'info', 'warning', 'action'])[1 + pg_temp.h('nty' || c.i || n) % 4],
       case when pg_temp.h('nv' || c.i || n) % 3 = 0 then 'shared' else 'internal' end,
       c.created_at + make_interval(days => 5 + n * 20)
  from seed_customers c
  cross join lateral generate_series(1, pg_temp.h('nnn' || c.i) % 3) n;

insert into public.customer_consent (customer_id, channel, enabled, source, note)
select c.id, ch.channel,
       pg_temp.h('ce' || c.i || ch.channel) % 10 < case ch.channel when 'email' then 8 when 'sms' then 6 else 4 end,
       (array['signup', 'signup', 'self_service', 'admin'])[1 + pg_temp.h('cs' || c.i || ch.channel) % 4], null
  from seed_customers c
  cross join (values ('email'), ('sms'), ('push')) ch(channel)
 where pg_temp.h('cx' || c.i || ch.channel) % 10 <> 0;

-- the customer login has shared notes of its own, for the self-service view
insert into public.customer_notes (customer_id, admin_id, note, type, visibility)
values ('00000000-0000-4000-a000-000000000003', '00000000-0000-4000-a000-000000000001', 'Welcome! Your account manager is Ada.', 'info', 'shared'),
       ('00000000-0000-4000-a000-000000000003', '00000000-0000-4000-a000-000000000001', 'Internal: asked for a discount twice.', 'warning', 'internal');

-- Saved segments and a template, for the segment manager and the curl examples ------------------
insert into public.customer_segments (id, name, description, definition, created_by, auto_refresh)
values
  (pg_temp.sid('segment-newsletter'), 'Newsletter readers', 'Tagged Newsletter and consenting to email',
   jsonb_build_object('version', 1, 'combinator', 'and', 'not', false, 'rules', jsonb_build_array(
     jsonb_build_object('field', 'tag', 'operator', 'containsAny', 'value', jsonb_build_array(pg_temp.sid('tag-newsletter'))),
     jsonb_build_object('field', 'consent_email', 'operator', '=', 'value', true))),
   '00000000-0000-4000-a000-000000000001', true),
  (pg_temp.sid('segment-north'), 'Big spenders up north', 'Troms or Trøndelag, 5,000 or more spent',
   '{"version":1,"combinator":"and","not":false,"rules":[{"field":"region","operator":"in","value":["Troms","Trøndelag"]},{"field":"total_spend","operator":">=","value":5000}]}',
   '00000000-0000-4000-a000-000000000001', false),
  (pg_temp.sid('segment-lapsed'), 'Lapsed builders', 'Construction firms with no booking in 180 days',
   jsonb_build_object('version', 1, 'combinator', 'and', 'not', false, 'rules', jsonb_build_array(
     jsonb_build_object('field', 'tag', 'operator', 'containsAny', 'value', jsonb_build_array(pg_temp.sid('tag-construction'))),
     jsonb_build_object('combinator', 'or', 'not', false, 'rules', jsonb_build_array(
       jsonb_build_object('field', 'last_booking_at', 'operator', 'notWithinLastDays', 'value', 180),
       jsonb_build_object('field', 'last_booking_at', 'operator', 'null'))))),
   '00000000-0000-4000-a000-000000000002', false);

insert into public.message_templates (channel, name, subject, body_text, body_html, variables, created_by)
values ('email', 'Monthly newsletter', 'News from the yard, {{first_name}}',
        'Hello {{full_name}},\n\nNew electric excavators are in stock in {{city}}.\n\nUnsubscribe: {{unsubscribe_url}}',
        '<p>Hello {{full_name}},</p><p>New electric excavators are in stock in {{city}}.</p><p><a href="{{unsubscribe_url}}">Unsubscribe</a></p>',
        '{first_name,full_name,city,unsubscribe_url}', '00000000-0000-4000-a000-000000000001'),
       ('sms', 'Pickup reminder', null, 'Hi {{first_name}}, your rental pickup is tomorrow. Reply STOP to opt out.',
        null, '{first_name}', '00000000-0000-4000-a000-000000000001');

-- Push tokens for most customers who allow push (the app registered them)
insert into public.customer_push_tokens (customer_id, token, platform, created_at, last_seen_at)
select c.customer_id, 'ExponentPushToken[' || substr(md5('push-' || c.customer_id), 1, 22) || ']',
       (array['ios', 'android'])[1 + pg_temp.h('pp' || c.customer_id) % 2], now() - interval '30 days', now() - interval '1 day'
  from public.customer_consent c
 where c.channel = 'push' and c.enabled and pg_temp.h('pt' || c.customer_id) % 5 <> 0;

-- Consent: email grants through the API wait for the customer's confirmation (double opt-in) in the
-- demo world; the consents above are the demo's history, written directly by the owner.
update public.consent_settings set double_opt_in = true where channel = 'email';
