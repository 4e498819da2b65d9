-- override_risk / clear_risk_override: admin only, validated, the effective risk until expiry or
-- clearing, each call leaving a risk timeline event and an audit row.
begin;
select plan(36);

select tests.create_user('ro-admin@example.test', array['admin']) as admin_id \gset
select tests.create_user('ro-customer@example.test') as customer_id \gset
select tests.create_user('ro-other@example.test') as other_id \gset
update public.users set risk_score = 20 where id = :'customer_id';

-- refusals
select tests.act_as(:'customer_id');
select throws_ok(format($$select public.override_risk(%L, 5, 'I am nice')$$, :'customer_id'), '42501', null,
  'a customer cannot override risk, not even their own');
select throws_ok(format($$select public.clear_risk_override(%L)$$, :'customer_id'), '42501', null, 'nor clear it');
select throws_ok(format($$insert into public.customer_risk_overrides (customer_id, score, reason) values (%L, 1, 'x')$$, :'customer_id'),
  '42501', null, 'nor write the overrides table directly');
select tests.act_as_anon();
select throws_ok(format($$select public.override_risk(%L, 5, 'x')$$, :'customer_id'), '42501', null, 'anon cannot call override_risk');

-- bad input names the parameter and writes nothing
select tests.act_as(:'admin_id');
select throws_ok(format($$select public.override_risk(%L, 101, 'x')$$, :'customer_id'), '22023',
  'score: must be a number from 0 to 100; got 101', 'score above 100');
select throws_ok(format($$select public.override_risk(%L, -1, 'x')$$, :'customer_id'), '22023',
  'score: must be a number from 0 to 100; got -1', 'score below 0');
select throws_ok(format($$select public.override_risk(%L, null, 'x')$$, :'customer_id'), '22023',
  'score: must be a number from 0 to 100; got null', 'score null');
select throws_ok(format($$select public.override_risk(%L, 50, E'\t\n')$$, :'customer_id'), '22023',
  'reason: is required (say why the computed risk is wrong)', 'a reason of tabs and newlines is blank too');
select throws_ok(format($$insert into public.customer_risk_overrides (customer_id, score, reason, expires_at) values (%L, 50, 'x', now() - interval '1 day')$$, :'customer_id'),
  '22023', null, 'a direct write with a past expiry is refused as well');
select throws_ok(format($$select public.override_risk(%L, 50, '  ')$$, :'customer_id'), '22023',
  'reason: is required (say why the computed risk is wrong)', 'blank reason');
select throws_ok(format($$select public.override_risk(%L, 50, repeat('x', 1001))$$, :'customer_id'), '22023',
  'reason: must be at most 1000 characters', 'reason too long');
select throws_like(format($$select public.override_risk(%L, 50, 'x', now() - interval '1 minute')$$, :'customer_id'),
  'expires_at: must be in the future%', 'expires_at in the past');
select throws_ok($$select public.override_risk(null, 50, 'x')$$, '22023', 'customer_id: is required', 'customer_id null');
select throws_ok($$select public.override_risk('00000000-0000-4000-8000-00000000dead', 50, 'x')$$, '22023',
  'customer_id: customer 00000000-0000-4000-8000-00000000dead does not exist', 'unknown customer');
select throws_ok(format($$select public.clear_risk_override(%L)$$, :'customer_id'), '22023',
  format('customer_id: customer %s has no active risk override', :'customer_id'), 'clearing with no override');
select is_empty($$select 1 from public.customer_risk_overrides$$, 'refused calls wrote no override');
select is_empty(format($$select 1 from public.customer_timeline_events where customer_id = %L$$, :'customer_id'), 'nor a timeline event');

-- set
select is((public.override_risk(:'customer_id', 85, 'Known fraud pattern') ->> 'score')::numeric, 85.00, 'override_risk returns the override');
select is(private.effective_risk_score(:'customer_id'), 85.00, 'the override is the effective risk');
select results_eq(format($$select risk_score, computed_risk_score, risk_level from public.customer_effective_risk where customer_id = %L$$, :'customer_id'),
  $$values (85.00::numeric, 20.00::numeric(5,2), 'high')$$, 'the set-based view agrees, with the computed score beside it');
select is((public.customer_summary(:'customer_id') -> 'risk') - 'override',
  '{"score": 85.00, "computed": 20.00, "level": "high"}'::jsonb, 'customer_summary shows the override as the score');
select is(public.customer_summary(:'customer_id') #>> '{risk,override,reason}', 'Known fraud pattern', 'with its reason');
select results_eq(format($$select event_type, event_key, title from public.customer_timeline_events where customer_id = %L$$, :'customer_id'),
  $$values ('risk', 'set', 'Risk overridden to 85.00')$$, 'a risk timeline event is written');
select tests.act_as_postgres();
select results_eq(format($$select action, actor_id from public.audit_log where entity = 'customer_risk_overrides' and entity_id = %L$$, :'customer_id'),
  format($$values ('insert', %L::uuid)$$, :'admin_id'), 'and an audit row naming the admin');

-- replace, then clear
select tests.act_as(:'admin_id');
select lives_ok(format($$select public.override_risk(%L, 10, 'Paid everything in cash', now() + interval '7 days')$$, :'customer_id'),
  'a second override replaces the first');
select results_eq(format($$select event_key from public.customer_timeline_events where customer_id = %L order by created_at, event_key$$, :'customer_id'),
  $$values ('cleared'), ('set'), ('set')$$, 'the replaced override is cleared on the timeline, the new one set');
select is(private.effective_risk_score(:'customer_id'), 10.00, 'the new override is effective');
select is((public.clear_risk_override(:'customer_id') ->> 'score')::numeric, 20.00, 'clearing returns the computed score as effective');
select is(private.effective_risk_score(:'customer_id'), 20.00, 'after clearing, the computed score is effective');
select is((select count(*)::int from public.customer_timeline_events where customer_id = :'customer_id' and event_type = 'risk'), 4,
  'every call wrote a risk timeline event (set, cleared+set, cleared)');
select tests.act_as_postgres();
select results_eq(format($$select action from public.audit_log where entity = 'customer_risk_overrides' and entity_id = %L order by id$$, :'customer_id'),
  $$values ('insert'), ('update'), ('delete')$$, 'and an audit row each');

-- expiry: an override past expires_at is no longer effective, even before the cron job removes it
select tests.act_as(:'admin_id');
select lives_ok(format($$select public.override_risk(%L, 99, 'Until the dispute ends', now() + interval '1 hour')$$, :'other_id'), 'an expiring override');
select tests.act_as_postgres();
update public.customer_risk_overrides set expires_at = now() - interval '1 second' where customer_id = :'other_id';
select is(private.effective_risk_score(:'other_id'), null, 'an expired override is not effective (computed score is null before scoring)');
select is(public.customer_summary(:'other_id') #> '{risk,override}', 'null'::jsonb, 'the summary shows no override');
select is(private.expire_risk_overrides(), 1, 'crm_expire_risk_overrides removes the expired override');
select results_eq(format($$select event_key, title from public.customer_timeline_events where customer_id = %L and event_key in ('set', 'expired') order by event_key$$, :'other_id'),
  $$values ('expired', 'Risk override 99.00 expired'), ('set', 'Risk overridden to 99.00')$$, 'and the timeline says it expired');

select * from finish();
rollback;
