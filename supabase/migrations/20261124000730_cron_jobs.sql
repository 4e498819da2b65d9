-- Cron hygiene: the scoring jobs, pruning of cron.job_run_details to 7 days, and a job health
-- view for admins. Every job is scheduled idempotently: unschedule by name, then schedule.

create or replace function private.prune_cron_history(keep interval default interval '7 days')
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  n integer;
begin
  delete from cron.job_run_details d where d.start_time < now() - prune_cron_history.keep;
  get diagnostics n = row_count;
  return n;
end
$$;

select cron.unschedule(j.jobid) from cron.job j
 where j.jobname in ('crm_score_customers', 'crm_expire_risk_overrides', 'crm_prune_cron_history');
select cron.schedule('crm_score_customers', '15 2 * * *', 'select private.run_nightly_scoring()');
select cron.schedule('crm_expire_risk_overrides', '*/5 * * * *', 'select private.expire_risk_overrides()');
select cron.schedule('crm_prune_cron_history', '45 3 * * *', 'select private.prune_cron_history()');

-- The cron schema is not for API roles: a security definer function reads it, returning rows
-- only to admins and server-side callers; the view over it is security invoker.
create or replace function private.cron_job_health()
returns table (
  jobid bigint, jobname text, schedule text, active boolean, command text,
  last_run_started_at timestamptz, last_run_finished_at timestamptz, last_status text, last_duration_ms numeric,
  last_message text, runs_7d bigint, failures_7d bigint, running boolean
)
language sql
stable
security definer
set search_path = ''
as $$
  select j.jobid, j.jobname, j.schedule, j.active, j.command,
         last.start_time, last.end_time, last.status,
         round((extract(epoch from last.end_time - last.start_time) * 1000)::numeric, 1),
         last.return_message,
         coalesce(stats.runs, 0), coalesce(stats.failures, 0),
         coalesce(last.status in ('starting', 'running'), false)
    from cron.job j
    left join lateral (
      select d.start_time, d.end_time, d.status, d.return_message
        from cron.job_run_details d where d.jobid = j.jobid
       order by d.start_time desc nulls last limit 1) last on true
    left join lateral (
      select count(*) as runs, count(*) filter (where d.status = 'failed') as failures
        from cron.job_run_details d where d.jobid = j.jobid and d.start_time >= now() - interval '7 days') stats on true
   where private.has_role('admin')
      or (current_setting('role', true) not in ('anon', 'authenticated') and coalesce(auth.role(), '') not in ('anon', 'authenticated'))
$$;

create view public.cron_job_health with (security_invoker = true) as
select * from private.cron_job_health();
comment on view public.cron_job_health is
  'Each pg_cron job: schedule, last run (start, end, status, duration in ms, message) and runs/failures over 7 days. Admin only; rows are filtered for others.';

revoke all on public.cron_job_health from anon, authenticated, service_role;
grant select on public.cron_job_health to authenticated, service_role;
grant execute on function private.cron_job_health() to authenticated, service_role;
grant execute on function private.prune_cron_history(interval) to service_role;
