-- Every change of a risk override reaches the timeline exactly once, whatever the session's
-- settings: two direct updates in one transaction under different TimeZone settings give two
-- events whose keys do not depend on the zone; how an override ended (expired or cleared) comes
-- from the row, not from a session setting.
begin;
select plan(9);

select tests.create_user('roc-admin@example.test', array['admin']) as admin_id \gset
select tests.create_user('roc-customer@example.test') as customer_id \gset
select tests.create_user('roc-other@example.test') as other_id \gset

select tests.act_as(:'admin_id');
select lives_ok(format($$select public.override_risk(%L, 50, 'first')$$, :'customer_id'), 'an override is set');

-- two direct changes through the API in one transaction, each in another time zone
set local timezone = 'America/Los_Angeles';
update public.customer_risk_overrides set score = 60 where customer_id = :'customer_id';
set local timezone = 'Asia/Tokyo';
update public.customer_risk_overrides set score = 60 where customer_id = :'customer_id';
set local timezone = 'UTC';
update public.customer_risk_overrides set score = 70 where customer_id = :'customer_id';

select is((select revision from public.customer_risk_overrides where customer_id = :'customer_id'), 4,
  'each change counts one revision (1 when set, then 2, 3, 4)');
select results_eq(format($$select event_key, title from public.customer_timeline_events
                            where customer_id = %L and event_key like 'changed%%' order by event_key$$, :'customer_id'),
  $$values ('changed#2', 'Risk overridden to 60.00'), ('changed#3', 'Risk overridden to 60.00'), ('changed#4', 'Risk overridden to 70.00')$$,
  'three changes in one transaction, under three time zones: three events, keyed by revision, not by the clock');
select is((select count(*)::int from public.customer_timeline_events where customer_id = :'customer_id' and event_type = 'risk'), 4,
  'the set and the three changes, each once');

-- a revision cannot be forged: the trigger counts
update public.customer_risk_overrides set revision = 1, score = 71 where customer_id = :'customer_id';
select is((select revision from public.customer_risk_overrides where customer_id = :'customer_id'), 5, 'a written revision is ignored');

-- ending: cleared while active, even with the old side channel set
select set_config('crm.risk_override_end', 'expired', true);
select lives_ok(format($$select public.clear_risk_override(%L)$$, :'customer_id'), 'cleared');
select results_eq(format($$select event_key from public.customer_timeline_events where customer_id = %L and event_key in ('cleared', 'expired')$$, :'customer_id'),
  $$values ('cleared')$$, 'an active override that is removed is cleared, whatever the session settings say');

-- ending: expired when removed after its expiry, by the job or by hand
select lives_ok(format($$select public.override_risk(%L, 90, 'until tomorrow', now() + interval '1 day')$$, :'other_id'), 'an expiring override');
select tests.act_as_postgres();
update public.customer_risk_overrides set expires_at = now() - interval '1 second' where customer_id = :'other_id';
select set_config('crm.risk_override_end', '', true);
delete from public.customer_risk_overrides where customer_id = :'other_id';
select results_eq(format($$select event_key, title from public.customer_timeline_events where customer_id = %L and event_key in ('cleared', 'expired')$$, :'other_id'),
  $$values ('expired', 'Risk override 90.00 expired')$$, 'an override removed after its expiry is expired, without any session setting');

select * from finish();
rollback;
