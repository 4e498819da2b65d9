-- The crm_* jobs of this area exist once with the right schedules and commands, registration is
-- idempotent, job history is pruned to 7 days, and admins (only) see job health.
begin;
select plan(16);

select results_eq($$select jobname::text collate "default", schedule, command, active from cron.job
                    where jobname in ('crm_score_customers', 'crm_expire_risk_overrides', 'crm_prune_cron_history') order by jobname$$,
  $$values ('crm_expire_risk_overrides'::text, '*/5 * * * *'::text, 'select private.expire_risk_overrides()'::text, true),
           ('crm_prune_cron_history', '45 3 * * *', 'select private.prune_cron_history()', true),
           ('crm_score_customers', '15 2 * * *', 'select private.run_nightly_scoring()', true)$$,
  'the scoring, override expiry and pruning jobs are scheduled');
select is_empty($$select jobname from cron.job where jobname like 'crm\_%' group by jobname having count(*) > 1$$,
  'no crm_* job is registered twice');

-- the migration's registration, run again, leaves one job per name
select cron.unschedule(j.jobid) from cron.job j
 where j.jobname in ('crm_score_customers', 'crm_expire_risk_overrides', 'crm_prune_cron_history');
select cron.schedule('crm_score_customers', '15 2 * * *', 'select private.run_nightly_scoring()');
select cron.schedule('crm_expire_risk_overrides', '*/5 * * * *', 'select private.expire_risk_overrides()');
select cron.schedule('crm_prune_cron_history', '45 3 * * *', 'select private.prune_cron_history()');
select is((select count(*)::int from cron.job where jobname in ('crm_score_customers', 'crm_expire_risk_overrides', 'crm_prune_cron_history')),
  3, 're-running the registration keeps one job per name');

-- the commands run as the job would
select lives_ok($$select private.run_nightly_scoring()$$, 'crm_score_customers'' command runs');
select lives_ok($$select private.expire_risk_overrides()$$, 'crm_expire_risk_overrides'' command runs');

-- pruning: older than 7 days goes, newer stays
select jobid as score_job from cron.job where jobname = 'crm_score_customers' \gset
insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time) values
  (:score_job, 900001, 1, 'postgres', 'postgres', 'select 1', 'succeeded', '1 row', now() - interval '8 days', now() - interval '8 days' + interval '2 seconds'),
  (:score_job, 900002, 1, 'postgres', 'postgres', 'select 1', 'failed', 'boom', now() - interval '2 days', now() - interval '2 days' + interval '1500 milliseconds'),
  (:score_job, 900003, 1, 'postgres', 'postgres', 'select 1', 'succeeded', '1 row', now() - interval '1 hour', now() - interval '1 hour' + interval '250 milliseconds');
select is(private.prune_cron_history(), 1, 'prune_cron_history deletes the run older than 7 days');
select results_eq(format($$select runid from cron.job_run_details where jobid = %s order by runid$$, :score_job),
  $$values (900002::bigint), (900003::bigint)$$, 'and keeps the last 7 days');

-- job health
select tests.create_user('cj-admin@example.test', array['admin']) as admin_id \gset
select tests.create_user('cj-customer@example.test') as customer_id \gset
select tests.act_as(:'admin_id');
select results_eq($$select last_status, last_duration_ms, last_message, runs_7d, failures_7d, running
                      from public.cron_job_health where jobname = 'crm_score_customers'$$,
  $$values ('succeeded'::text, 250.0::numeric, '1 row'::text, 2::bigint, 1::bigint, false)$$,
  'an admin sees the last run''s status, duration and message, and 7-day runs and failures');
select ok((select last_run_started_at > now() - interval '61 minutes' from public.cron_job_health where jobname = 'crm_score_customers'),
  'and when it last ran');
select results_eq($$select jobname, schedule from public.cron_job_health where jobname = 'crm_prune_cron_history'$$,
  $$values ('crm_prune_cron_history'::text, '45 3 * * *'::text)$$, 'every job is listed with its schedule');
select is((select count(*)::int from public.cron_job_health where jobname = 'crm_expire_risk_overrides' and last_status is null), 1,
  'a job that never ran shows no last run');
select tests.act_as(:'customer_id');
select is_empty($$select 1 from public.cron_job_health$$, 'a customer sees no job health');
select throws_ok($$select private.prune_cron_history()$$, '42501', null, 'nor can prune');
select throws_ok($$select 1 from cron.job$$, '42501', null, 'nor read the cron schema');
select tests.act_as_anon();
select throws_ok($$select 1 from public.cron_job_health$$, '42501', null, 'anon cannot read job health');
select tests.act_as_service();
select isnt_empty($$select 1 from public.cron_job_health$$, 'the service role sees job health');

select * from finish();
rollback;
