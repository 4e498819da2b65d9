-- The hostile pass, replayed: after a customer's own opt-out, staff cannot bring consent back by
-- claiming self_service or sendgrid, nor by a direct write; only the audited override with a note
-- does it. Customers cannot write their own timestamps; staff users cannot be deleted through the
-- API, and role changes are audited.
begin;
select plan(23);
-- double opt-in has its own test (consent/double_opt_in); here grants take effect at once
update public.consent_settings set double_opt_in = false;

select admin_id, comms_id as staff_id, cust_id from tests.consent_cast('forge') \gset

select tests.act_as(:'admin_id');
select public.set_customer_consent(:'cust_id', 'email', true, 'signup');
select tests.act_as(:'cust_id');
select public.set_customer_consent(:'cust_id', 'email', false);
select tests.act_as_postgres();
select is((select source from public.customer_consent where customer_id = :'cust_id' and channel = 'email'), 'self_service',
  'the customer opted out themselves');
select count(*) as history_before from public.customer_consent_history where customer_id = :'cust_id' \gset

select tests.act_as(:'admin_id');
select throws_ok(format($$select public.set_customer_consent(%L, 'email', true, 'self_service')$$, :'cust_id'), '42501',
  'source: self_service is recorded only from the customer''s own session; staff record admin, import or signup',
  'staff claiming self_service are refused');
select throws_ok(format($$select public.set_customer_consent(%L, 'email', true, 'sendgrid')$$, :'cust_id'), '42501',
  'source: sendgrid is recorded only by the verified SendGrid webhook, never through set_customer_consent',
  'staff claiming sendgrid are refused');
select throws_ok(format($$select public.set_customer_consent(%L, 'email', true, 'twilio_inbound')$$, :'cust_id'), '42501',
  'source: twilio_inbound is recorded only by the verified Twilio webhook, never through set_customer_consent',
  'staff claiming twilio_inbound are refused');
select throws_ok(format($$select public.set_customer_consent(%L, 'email', true, 'admin')$$, :'cust_id'), 'PT409',
  null, 'staff re-consent as admin hits the opt-out rule');
select throws_like(format($$select public.set_customer_consent(%L, 'email', true)$$, :'cust_id'),
  '%opted out of email themselves (self_service,%override_opt_out => true and a note%', 'the PT409 message names the rule');
select throws_ok(format($$select public.set_customer_consent(%L, 'email', true, 'admin', null, true)$$, :'cust_id'), '22023',
  'note: an override of the customer''s own opt-out needs a note saying why', 'an override needs a note');
select throws_ok(format($$update public.customer_consent set enabled = true, source = 'self_service' where customer_id = %L$$, :'cust_id'),
  '42501', null, 'a direct update by staff is refused');
select throws_ok(format($$insert into public.customer_consent (customer_id, channel, enabled, source) values (%L, 'email', true, 'admin') on conflict (customer_id, channel) do update set enabled = true$$, :'cust_id'),
  '42501', null, 'a direct upsert by staff is refused');
select tests.act_as_service();
select throws_ok(format($$select public.set_customer_consent(%L, 'email', true, 'self_service')$$, :'cust_id'), '42501',
  null, 'the service role cannot grant as self_service');
select throws_ok(format($$select public.set_customer_consent(%L, 'email', true, 'import')$$, :'cust_id'), 'PT409',
  null, 'the service role meets the opt-out rule too');
select tests.act_as_postgres();
select is((select count(*) from public.customer_consent_history where customer_id = :'cust_id'), :'history_before'::bigint,
  'the refusals wrote no history');
select is((select enabled from public.customer_consent where customer_id = :'cust_id' and channel = 'email'), false,
  'consent is still off');

-- the audited override
select tests.act_as(:'admin_id');
select is(public.set_customer_consent(:'cust_id', 'email', true, 'admin', 'customer asked at the counter, signed form 42', true) ->> 'enabled',
  'true', 'the override with a note re-consents');
select tests.act_as_postgres();
select ok((select h.override_audit_id is not null and h.source = 'admin' and h.changed_by = :'admin_id'::uuid
             from public.customer_consent_history h where h.customer_id = :'cust_id' order by h.id desc limit 1),
  'the history row names the override, the real source and the staff member');
select is((select a.action || ' by ' || a.actor_id || ': ' || h.note from public.customer_consent_history h
             join public.audit_log a on a.id = h.override_audit_id where h.customer_id = :'cust_id' order by h.id desc limit 1),
  'override_opt_out by ' || :'admin_id' || ': customer asked at the counter, signed form 42',
  'the override is audited (who, when) and its note is in the history row that names the audit row');
-- an override is spent once: the next revoke/grant pair needs a new one
select tests.act_as(:'cust_id');
select public.set_customer_consent(:'cust_id', 'email', false);
select tests.act_as(:'admin_id');
select throws_ok(format($$select public.set_customer_consent(%L, 'email', true)$$, :'cust_id'), 'PT409', null,
  'an override does not carry over to the next opt-out');

-- server timestamps: a customer cannot write granted_at/revoked_at
select tests.act_as(:'cust_id');
select throws_ok(format($$update public.customer_consent set granted_at = '2001-01-01', revoked_at = '2000-01-01' where customer_id = %L$$, :'cust_id'),
  '42501', null, 'a customer cannot write their consent timestamps');
select tests.act_as_postgres();
select ok((select revoked_at > now() - interval '1 minute' from public.customer_consent where customer_id = :'cust_id' and channel = 'email'),
  'revoked_at is the server''s time');

-- staff users are removed only through erasure or the Auth server; roles are audited
select tests.act_as(:'admin_id');
select throws_ok(format($$delete from public.users where id = %L$$, :'staff_id'), '42501', null,
  'an admin cannot delete another staff member''s users row');
select tests.act_as_service();
select throws_ok(format($$delete from public.users where id = %L$$, :'staff_id'), '42501', null,
  'nor can the service role through the API');
select tests.act_as_postgres();
select is((select count(*) from public.user_roles where user_id = :'staff_id'), 2::bigint, 'the staff member keeps their roles');
delete from auth.users where id = :'staff_id';
select is((select count(*) from public.audit_log where entity = 'user_roles' and action = 'delete' and entity_id like :'staff_id' || ':%'),
  2::bigint, 'when the Auth server removes a person, the cascade to user_roles is audited');

select * from finish();
rollback;
