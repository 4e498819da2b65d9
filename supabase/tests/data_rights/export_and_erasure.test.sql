-- Data-subject requests over a constructed customer who has every kind of record: the export
-- holds each kind (counted per kind); erasure leaves no text, jsonb or array column of any table
-- (audit trail included) holding their name, email or phone; erasing twice is a no-op; a
-- re-import of the address is suppressed; the drift check, facts, campaign stats and the nightly
-- scores still run. A staff member who authored notes and campaigns stays a pseudonymous reference.
begin;
select plan(46);

update public.consent_settings set double_opt_in = false;
select tests.create_user('dsr-admin@example.test', array['admin', 'communications'], 'Dora Admin') as admin_id \gset
select tests.create_user('dsr-plain@example.test', array['admin'], 'Per Plain') as plain_id \gset
select tests.create_user('gunnhild.testesen@example.test', '{}', 'Gunnhild Testesen', 'Tromsø', '+4799988877') as cid \gset
select tests.create_user('dsr-other@example.test') as other_id \gset

-- every kind of record -------------------------------------------------------------------------
insert into public.equipment_categories (id, slug, name) values ('30000000-0000-4000-8000-000000000001', 'dsr-cat', 'DSR');
insert into public.equipment (id, category_id, name) values ('30000000-0000-4000-8000-000000000002', '30000000-0000-4000-8000-000000000001', 'DSR drill');
insert into public.bookings (id, customer_id, status, start_date, end_date, total_amount)
values ('30000000-0000-4000-8000-000000000003', :'cid', 'confirmed', '2026-05-01', '2026-05-03', 300),
       ('30000000-0000-4000-8000-000000000004', :'cid', 'completed', '2026-04-01', '2026-04-02', 100);
insert into public.booking_items (booking_id, equipment_id, quantity) values ('30000000-0000-4000-8000-000000000003', '30000000-0000-4000-8000-000000000002', 2);
insert into public.logistics_tasks (booking_id, kind, scheduled_for) values ('30000000-0000-4000-8000-000000000003', 'delivery', '2026-05-01 08:00Z');
insert into public.payments (customer_id, booking_id, amount, status) values (:'cid', '30000000-0000-4000-8000-000000000003', 300, 'succeeded');
insert into public.manual_payments (customer_id, amount, method) values (:'cid', 50, 'cash');
insert into public.support_tickets (id, customer_id, subject) values ('30000000-0000-4000-8000-000000000005', :'cid', 'Gunnhild Testesen cannot log in');
insert into public.support_messages (ticket_id, sender_id, body) values
  ('30000000-0000-4000-8000-000000000005', :'cid', 'Hi, this is Gunnhild Testesen, call me on +4799988877'),
  ('30000000-0000-4000-8000-000000000005', :'admin_id', 'We wrote to gunnhild.testesen@example.test');
insert into public.insurance_documents (customer_id, kind, status, expires_at) values (:'cid', 'liability_certificate', 'valid', '2027-01-01');
insert into public.customer_notes (customer_id, admin_id, note, visibility) values
  (:'cid', :'admin_id', 'Gunnhild prefers mornings', 'shared'),
  (:'cid', :'admin_id', 'Internal: Gunnhild Testesen asked for a discount', 'internal');
insert into public.customer_tags (id, name) values ('30000000-0000-4000-8000-000000000006', 'DSR tag');
insert into public.customer_tag_members (customer_id, tag_id) values (:'cid', '30000000-0000-4000-8000-000000000006');
insert into public.customer_segments (id, name, definition)
values ('30000000-0000-4000-8000-000000000007', 'DSR Tromsø', '{"version":1,"combinator":"and","not":false,"rules":[{"field":"city","operator":"=","value":"Tromsø"}]}');
-- a frozen audience whose ad-hoc definition names her (a table the erasure does not know by name)
insert into public.campaign_audiences (segment_snapshot, count)
values ('{"kind":"definition","definition":{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"Gunnhild Testesen farm"}]}}', 0);
insert into public.customer_segment_members (segment_id, customer_id) values ('30000000-0000-4000-8000-000000000007', :'cid');
insert into public.customer_push_tokens (customer_id, token, platform) values (:'cid', 'ExponentPushToken[dsr-token-1]', 'ios');
insert into public.push_logs (customer_id, to_token, title) values (:'cid', 'ExponentPushToken[dsr-token-1]', 'Hello Gunnhild');
insert into public.sms_logs (customer_id, to_phone, body) values (:'cid', '+4799988877', 'Hei Gunnhild Testesen, your drill is ready');
insert into public.alerts (kind, title, body, customer_id) values ('vip', 'Gunnhild Testesen became VIP', 'Lifetime value over threshold', :'cid');
-- her Auth identity and a session, as the Auth server keeps them
insert into auth.identities (provider_id, user_id, identity_data, provider)
values (:'cid', :'cid', '{"email":"gunnhild.testesen@example.test","sub":"x"}', 'email');
insert into auth.sessions (id, user_id, user_agent) values (gen_random_uuid(), :'cid', 'Gunnhild''s phone browser');

-- consent, with history and a double opt-in proof
select public.set_customer_consent(:'cid', 'sms', true, 'signup');
select public.set_customer_consent(:'cid', 'sms', false, 'admin', 'stop texting, said Gunnhild');
update public.consent_settings set double_opt_in = true where channel = 'email';
select tests.act_as(:'cid');
select public.set_customer_consent(:'cid', 'email', true);
select tests.act_as_postgres();
select private.confirm_consent_by_link((select recipient_id from public.consent_confirmations where customer_id = :'cid'),
                                       '203.0.113.50', 'Gunnhild''s phone browser', 'https://x/consent-confirm?r=1');
update public.consent_settings set double_opt_in = false;

-- a campaign sent to her, with a provider event (payload holds her email)
select tests.act_as(:'admin_id');
select (public.queue_bulk_message(jsonb_build_object('name', 'DSR campaign', 'channel', 'email',
          'content', jsonb_build_object('subject', 'Hi {{first_name}}', 'text', 'Hello'),
          'audience', jsonb_build_object('customer_ids', jsonb_build_array(:'cid')))) ->> 'campaign_id') as camp \gset
select public.override_risk(:'cid', 80, 'Chargeback dispute, ticket 1234', null);
select tests.act_as_service();
select private.claim_recipients('dsr-worker', 'email', 1000);
select private.complete_recipients('dsr-worker', (select jsonb_agg(jsonb_build_object('id', r.id, 'outcome', 'sent', 'provider_message_id', 'dsr-msg-1'))
                                                     from public.campaign_recipients r where r.customer_id = :'cid' and r.status = 'sending'));
select private.ingest_sendgrid_events((select jsonb_agg(jsonb_build_object('sg_event_id', 'dsr-ev-' || e, 'event', e,
          'email', 'gunnhild.testesen@example.test', 'timestamp', extract(epoch from now())::bigint, 'recipient_id', r.id, 'url', 'https://rental.test/offer'))
   from public.campaign_recipients r, unnest(array['delivered', 'open', 'click']) e where r.campaign_id = :'camp'));
select tests.act_as_postgres();
select private.score_customers();

-- export ---------------------------------------------------------------------------------------
select tests.act_as(:'plain_id');
select public.export_customer_data(:'cid') as doc \gset
select tests.act_as_postgres();
select results_eq(
  format($$select k, (%L::jsonb -> 'counts' ->> k)::int from unnest(array['profile','bookings','payments','manual_payments',
    'support_tickets','insurance_documents','notes','tags','consent','consent_history','consent_confirmations','segments','messages',
    'provider_events','email_logs','sms_logs','push_logs','push_tokens','facts','scores','risk_overrides','alerts']) k order by k$$, :'doc'),
  $$select * from (values ('profile', 1), ('bookings', 2), ('payments', 1), ('manual_payments', 1), ('support_tickets', 1),
    ('insurance_documents', 1), ('notes', 2), ('tags', 1), ('consent', 2), ('consent_history', 3), ('consent_confirmations', 1),
    ('segments', 1), ('messages', 2), ('provider_events', 3), ('email_logs', 1), ('sms_logs', 1), ('push_logs', 1), ('push_tokens', 1),
    ('facts', 1), ('scores', 1), ('risk_overrides', 1), ('alerts', 1)) v(k, n) order by k$$,
  'the export holds every kind of record the customer has, counted per kind');
select is(jsonb_array_length(:'doc'::jsonb -> 'sections' -> 'bookings' -> 0 -> 'items'), 1, 'bookings carry their items');
select ok(jsonb_array_length(:'doc'::jsonb -> 'sections' -> 'bookings' -> 0 -> 'logistics_tasks') + jsonb_array_length(:'doc'::jsonb -> 'sections' -> 'bookings' -> 1 -> 'logistics_tasks') = 1,
  'and their logistics tasks');
select is(jsonb_array_length(:'doc'::jsonb -> 'sections' -> 'support_tickets' -> 0 -> 'messages'), 2, 'tickets carry their messages');
select ok((select bool_or(jsonb_array_length(m -> 'events') = 3) from jsonb_array_elements(:'doc'::jsonb -> 'sections' -> 'messages') m),
  'each message carries the events that came back');
select ok((:'doc'::jsonb -> 'counts' ->> 'timeline')::int >= 10, 'the timeline is in it');
select ok((:'doc'::jsonb -> 'counts' ->> 'score_history')::int >= 1, 'the score history (components) is in it');
select is((select count(*) from public.audit_log where action = 'export' and entity = 'customer_data' and entity_id = :'cid' and actor_id = :'plain_id'),
  1::bigint, 'the export is audited with who and whose');
-- the customer's own view (what the edge function streams): no internal notes, overrides or alerts
select tests.act_as(:'cid');
select is(private.authorize_customer_export(:'cid'), false, 'a customer may export their own data, without internal records');
select is((select count(*) from private.customer_data_sections(:'cid', false) where section = 'notes'), 1::bigint, 'only the shared note');
select throws_ok(format($$select private.authorize_customer_export(%L)$$, :'other_id'), '42501',
  'permission denied: a customer may export only their own data', 'a customer exporting someone else: 42501');
select throws_ok(format($$select public.export_customer_data(%L)$$, :'cid'), '42501', null, 'the RPC is for admins');
select tests.act_as(:'plain_id');
select throws_ok($$select public.export_customer_data('00000000-0000-4000-8000-00000000dead')$$, '22023',
  'customer_id: no customer 00000000-0000-4000-8000-00000000dead', 'an unknown customer: 22023 naming it');

select tests.act_as_postgres();
-- Every text, jsonb, json, varchar, array and inet column of every table in public, private and
-- auth, searched for her name, email and phone; answers schema.table.column: rows.
create temp table scanned as
select c.table_schema as s, c.table_name as t, c.column_name as c
  from information_schema.columns c join information_schema.tables t using (table_schema, table_name)
 where c.table_schema in ('public', 'private', 'auth') and t.table_type = 'BASE TABLE'
   and (c.data_type in ('text', 'jsonb', 'json', 'character varying', 'ARRAY') or c.udt_name = 'inet');
create function pg_temp.pii_hits() returns setof text language plpgsql as $$
declare h record; found_rows bigint;
begin
  for h in select * from pg_temp.scanned order by 1, 2, 3 loop
    execute format('select count(*) from %I.%I where %I::text ~* any($1)', h.s, h.t, h.c)
      into found_rows using array['gunnhild', 'testesen', '99988877'];
    if found_rows > 0 then return next format('%s.%s.%s: %s', h.s, h.t, h.c, found_rows); end if;
  end loop;
end $$;
select ok((select count(*) from pg_temp.pii_hits()) >= 15,
  'before erasure the scan finds her in many columns (' || (select string_agg(x, ', ') from pg_temp.pii_hits() x) || ')');

-- erasure --------------------------------------------------------------------------------------
select tests.act_as(:'cid');
select throws_ok(format($$select public.erase_customer(%L, 'because')$$, :'cid'), '42501', null, 'a customer cannot erase');
select tests.act_as(:'plain_id');
select throws_ok(format($$select public.erase_customer(%L, '  ')$$, :'cid'), '22023', null, 'erasure needs a reason');
select throws_ok($$select public.erase_customer('00000000-0000-4000-8000-00000000dead', 'GDPR request 7')$$, '22023',
  'customer_id: no customer 00000000-0000-4000-8000-00000000dead', 'unknown customer: 22023');
select public.erase_customer(:'cid', 'GDPR art. 17 request, ticket DSR-7') as erased \gset
select is(:'erased'::jsonb ->> 'status', 'erased', 'an admin erases the customer');
select is(:'erased'::jsonb -> 'records' ->> 'public.campaign_audiences.segment_snapshot', '1',
  'tables the erasure does not name (a frozen audience''s definition) are scrubbed too, and reported');
select is(:'erased'::jsonb -> 'not_scrubbed', '{}'::jsonb, 'nothing refused the scrub');
select tests.act_as_postgres();

-- no column of any table holds her name, email or phone (the audit trail included)
select is_empty($$select * from pg_temp.pii_hits()$$,
  'after erasure no text, jsonb or array column of any table holds her name, email or phone');
select ok((select count(*) from pg_temp.scanned) > 100, 'the scan covered every text column (' || (select count(*) from pg_temp.scanned) || ')');

select results_eq(format($$select full_name, email, phone, city, erased_at is not null from public.users where id = %L$$, :'cid'),
  $$values ('Erased person'::text, null::text, null::text, null::text, true)$$, 'the users row stays, pseudonymised');
select is((select count(*) from public.bookings where customer_id = :'cid'), 2::bigint, 'the ledger rows stay (bookings)');
select is((select count(*) from public.campaign_recipients where customer_id = :'cid'), 2::bigint, 'and the campaign recipients');
select is((select sent from public.campaign_stats where campaign_id = :'camp'), 1, 'campaign stats still count her message');
select ok((select count(*) from public.audit_log where entity_id = :'cid') >= 3, 'the audit trail is intact');
select results_eq(format($$select actor_id, context ->> 'reason' from public.audit_log where action = 'erase' and entity_id = %L$$, :'cid'),
  format($$values (%L::uuid, 'GDPR art. 17 request, ticket DSR-7'::text)$$, :'plain_id'), 'the erasure is audited: who, when, why');
select is((select count(*) from private.erased_addresses where address_hash in (private.address_hash('gunnhild.testesen@example.test'), private.address_hash('+4799988877'))),
  2::bigint, 'her addresses are kept only as hashes');
select is((select count(*) from public.customer_push_tokens where customer_id = :'cid'), 0::bigint, 'device tokens are gone');
select is((select facts.city from public.customer_facts facts where customer_id = :'cid'), null, 'the facts follow');

-- twice: a no-op
select tests.act_as(:'plain_id');
select is(public.erase_customer(:'cid', 'again') ->> 'status', 'already_erased', 'erasing twice is a clear no-op');
select tests.act_as_postgres();
select is((select count(*) from public.audit_log where action = 'erase' and entity_id = :'cid'), 1::bigint, 'and writes nothing');
select throws_ok(format($$select public.set_customer_consent(%L, 'email', true, 'admin')$$, :'cid'), 'PT409', null,
  'nobody may consent for an erased person');

-- re-import: suppressed, never messaged
select tests.create_user('Gunnhild.Testesen@example.test', '{}', 'G T', null, '+4799988877') as again_id \gset
select public.set_customer_consent(:'again_id', 'email', true, 'import');
select is((select count(*) from public.suppressions where address_key in ('gunnhild.testesen@example.test', '+4799988877') and source = 'erasure'),
  2::bigint, 'a re-imported address is suppressed at once');
select tests.act_as(:'admin_id');
select is((public.queue_bulk_message(jsonb_build_object('name', 'After erasure', 'channel', 'email',
             'content', jsonb_build_object('subject', 'Hi', 'text', 'Hello'),
             'audience', jsonb_build_object('customer_ids', jsonb_build_array(:'again_id')))) -> 'skipped' ->> 'suppressed')::int,
  1, 'and skipped as suppressed when a campaign would reach it');
select tests.act_as_postgres();
delete from auth.users where id = :'again_id';

-- the jobs still run
select is_empty($$select * from private.timeline_drift() where missing > 0 or extra > 0$$, 'the timeline drift check is clean');
select lives_ok($$select private.score_customers()$$, 'the nightly scores run');
select is((select count(*) from public.customer_scores where customer_id = :'cid'), 1::bigint, 'and still score her pseudonymous row');
select tests.act_as(:'plain_id');
select lives_ok($$select public.evaluate_segment('{"version":1,"combinator":"and","not":false,"rules":[{"field":"consent_email","operator":"=","value":true}]}')$$,
  'segments evaluate over the facts');
select tests.act_as(:'admin_id');
select is_empty($$select * from public.check_consent_proofs()$$, 'every proof still holds after erasure');
select tests.act_as_postgres();

-- a staff member who authored notes and campaigns
select tests.act_as(:'plain_id');
select is(public.erase_customer(:'admin_id', 'left the company; DSR-8') ->> 'status', 'erased', 'a staff member can be erased');
select tests.act_as_postgres();
select is((select count(*) from public.customer_notes where admin_id = :'admin_id'), 2::bigint, 'their notes keep them as author');
select is((select u.full_name from public.campaigns c join public.users u on u.id = c.created_by where c.id = :'camp'), 'Erased person',
  'their campaigns name a pseudonymous author');
select is((select count(*) from public.user_roles where user_id = :'admin_id'), 0::bigint, 'their staff roles are removed');
select is((select count(*) from public.audit_log where entity = 'user_roles' and action = 'delete' and entity_id like :'admin_id' || ':%'), 2::bigint,
  'and the removal is audited');

select * from finish();
rollback;
