-- Deleting a user the way the Auth server does: `delete from auth.users` as supabase_auth_admin
-- (no privilege on the CRM) works for a customer and for a staff user, and leaves what
-- docs/crm-guide.md "Deleting a user" says: the customer's CRM data goes, audit rows, suppressions
-- and campaigns stay; what a staff user wrote stays with its author unset.
begin;
select plan(27);

select ok(not (select rolsuper from pg_roles where rolname = 'supabase_auth_admin')
          and not has_table_privilege('supabase_auth_admin', 'public.users', 'SELECT, DELETE')
          and not has_table_privilege('supabase_auth_admin', 'public.scoring_settings', 'SELECT, UPDATE'),
          'supabase_auth_admin is no superuser and holds nothing of the CRM (the deletion must not need it)');

-- a staff user S (admin) and two customers: C is deleted, D stays
select tests.create_user('del-staff@example.test', array['admin']) as staff_id \gset
select tests.create_user('del-customer@example.test', full_name => 'Cecilie Deleted', phone => '+4790000111') as customer_id \gset
select tests.create_user('del-other@example.test') as other_id \gset

select tests.act_as(:'staff_id');
insert into public.customer_tags (name) values ('del-test tag') returning id as tag_id \gset
insert into public.customer_tag_members (customer_id, tag_id) values (:'customer_id', :'tag_id'), (:'other_id', :'tag_id');
insert into public.customer_notes (customer_id, note) values (:'customer_id', 'about C'), (:'other_id', 'about D, by S');
-- SMS: the demo world requires double opt-in for email, which would leave only a pending request
select public.set_customer_consent(:'customer_id', 'sms', true, 'admin', 'asked at the counter');
select public.set_customer_consent(:'other_id', 'sms', true, 'admin', 'asked at the counter');
select tests.act_as_postgres();
insert into public.bookings (customer_id, start_date, end_date) values (:'customer_id', '2026-05-03', '2026-05-05');
insert into public.payments (customer_id, amount, currency, status) values (:'customer_id', 100, 'NOK', 'succeeded');
insert into public.campaigns (name, channel, status, content, audience, created_by)
values ('del-test campaign', 'email', 'sent', '{"subject":"s","text":"t"}', '{"customer_ids":[]}', :'staff_id') returning id as campaign_id \gset
insert into public.campaign_recipients (campaign_id, customer_id, channel, address, status)
values (:'campaign_id', :'customer_id', 'email', 'del-customer@example.test', 'delivered'),
       (:'campaign_id', :'other_id', 'email', 'del-other@example.test', 'delivered');
insert into public.suppressions (channel, address, reason, source) values ('email', 'del-customer@example.test', 'unsubscribe', 'sendgrid');
create temporary table t_before as
select (select count(*) from public.audit_log where entity_id like :'customer_id' || '%') as audit_about_c,
       (select count(*) from public.audit_log where actor_id = :'staff_id') as audit_by_s,
       (select count(*) from public.customer_timeline_events where customer_id = :'customer_id') as timeline_c,
       (select count(*) from public.customer_consent_history where customer_id = :'customer_id') as history_c;
select ok((select timeline_c > 0 and history_c > 0 and audit_about_c > 0 and audit_by_s > 0 from t_before),
          'before: C has a timeline, consent history and audit rows; S has authored audit rows');

-- the customer, deleted by the Auth server
select is(tests.delete_as_auth_server(:'customer_id'), 'deleted', 'the Auth server deletes a customer');

select is_empty(format($$select 1 from public.users where id = %L$$, :'customer_id'), 'C''s profile is gone');
select is_empty(format($$select 1 from public.bookings where customer_id = %1$L union all select 1 from public.payments where customer_id = %1$L$$, :'customer_id'),
                'C''s bookings and payments went with it');
select is_empty(format($$select 1 from public.customer_timeline_events where customer_id = %L$$, :'customer_id'), 'C''s timeline is gone');
select is_empty(format($$select 1 from public.customer_consent where customer_id = %1$L union all select 1 from public.customer_consent_history where customer_id = %1$L$$, :'customer_id'),
                'C''s consent and consent history are gone');
select is_empty(format($$select 1 from public.customer_notes where customer_id = %1$L union all select 1 from public.customer_tag_members where customer_id = %1$L$$, :'customer_id'),
                'notes about C and C''s tags are gone');
select is_empty(format($$select 1 from public.customer_facts where customer_id = %L$$, :'customer_id'), 'C''s segment facts are gone');
select is_empty(format($$select 1 from public.campaign_recipients where customer_id = %L$$, :'customer_id'), 'C''s campaign recipient row is gone');
select is((select count(*)::int from public.campaign_recipients where campaign_id = :'campaign_id'), 1, 'the campaign and its other recipients stay');
select isnt_empty($$select 1 from public.suppressions where address = 'del-customer@example.test'$$,
                  'C''s address stays suppressed, so a re-import is not mailed');
select ok((select count(*) from public.audit_log where entity_id like :'customer_id' || '%') >= (select audit_about_c from t_before),
          'every audit row about C stays (the log is append-only)');
select is((select context from public.audit_log where action = 'delete' and entity = 'users' and entity_id = :'customer_id'),
          jsonb_build_object('via', 'auth.users', 'db_user', session_user, 'staff_roles', '[]'::jsonb),
          'the deletion itself is audited, with no personal data beyond the id');
select is((select count(*)::int from public.audit_log where action = 'delete' and entity = 'users' and entity_id = :'customer_id'
             and before is null and after is null), 1, 'one deletion row, no copy of the profile');
select isnt_empty(format($$select 1 from public.customer_tag_members where customer_id = %L$$, :'other_id'), 'D keeps the same tag');

-- the staff user, deleted by the Auth server
select is(tests.delete_as_auth_server(:'staff_id'), 'deleted', 'the Auth server deletes a staff user');

select is_empty(format($$select 1 from public.users where id = %1$L union all select 1 from public.user_roles where user_id = %1$L$$, :'staff_id'),
                'S''s profile and roles are gone');
select is((select admin_id from public.customer_notes where customer_id = :'other_id' and note = 'about D, by S'), null::uuid,
          'the note S wrote about D stays, its author unset');
select is((select created_by from public.campaigns where id = :'campaign_id'), null::uuid, 'S''s campaign stays, its creator unset');
select is((select created_by from public.customer_tags where id = :'tag_id'), null::uuid, 'S''s tag stays, its creator unset');
select is((select assigned_by from public.customer_tag_members where customer_id = :'other_id' and tag_id = :'tag_id'), null::uuid,
          'the tag assignment S made stays');
select is((select updated_by from public.customer_consent where customer_id = :'other_id' and channel = 'sms'), :'staff_id'::uuid,
          'the consent S recorded for D stays and still names S''s id (consent proof keeps its actor)');
select is((select count(*)::int from public.customer_consent_history where customer_id = :'other_id' and channel = 'sms'), 1,
          'deleting S appends no consent change nobody made');
select ok((select count(*) from public.audit_log where actor_id = :'staff_id') >= (select audit_by_s from t_before),
          'every audit row S authored stays, naming S''s id');
select is((select context -> 'staff_roles' from public.audit_log where action = 'delete' and entity = 'users' and entity_id = :'staff_id'),
          '["admin"]'::jsonb, 'the deletion row records that S was staff');
select isnt_empty(format($$select 1 from public.customer_timeline_events where customer_id = %L and event_type = 'note'$$, :'other_id'),
                  'D''s timeline keeps the event of S''s note');

select * from finish();
rollback;
