-- Cron jobs
--
-- Every pg_cron schedule of the project in one place, the jobs that call edge functions
-- (scheduled where pg_net and Vault exist), history pruning and the job health view.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.cron_job_health() RETURNS TABLE(jobid bigint, jobname text, schedule text, active boolean, command text, last_run_started_at timestamp with time zone, last_run_finished_at timestamp with time zone, last_status text, last_duration_ms numeric, last_message text, runs_7d bigint, failures_7d bigint, running boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION private.provider_job_headers(key text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select case
    when key is null or btrim(key) = '' then null
    when key like 'sb\_%' then jsonb_build_object('Content-Type', 'application/json', 'apikey', key)
    else jsonb_build_object('Content-Type', 'application/json', 'apikey', key, 'Authorization', 'Bearer ' || key)
  end
$$;

CREATE FUNCTION private.prune_cron_history(keep interval DEFAULT '7 days'::interval) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  with pruned as (delete from cron.job_run_details d where d.start_time < now() - prune_cron_history.keep returning 1)
  select count(*)::integer from pruned
$$;

CREATE FUNCTION private.schedule_provider_jobs() RETURNS text[]
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
declare
  scheduled text[] := array[]::text[];
  secrets integer;
  dispatch_every text;
begin
  if not exists (select 1 from pg_catalog.pg_extension where extname = 'pg_net')
     or to_regclass('vault.decrypted_secrets') is null then
    return scheduled;
  end if;
  -- without both secrets every run would fail; wait until they are set (dynamic: no vault locally)
  execute format('select count(distinct name) from %I.%I where name = any($1)', 'vault', 'decrypted_secrets')
    into secrets using array['functions_url', 'service_role_key'];
  if secrets < 2 then
    raise notice 'crm provider jobs not scheduled: create the Vault secrets functions_url and service_role_key (a secret key sb_secret_… or the legacy service_role JWT), then run select private.schedule_provider_jobs();';
    return scheduled;
  end if;
  -- interval schedules ('5 seconds') exist from pg_cron 1.5 on
  dispatch_every := case
    when (select string_to_array(extversion, '.')::int[] from pg_catalog.pg_extension where extname = 'pg_cron') >= array[1, 5]
    then '5 seconds' else '* * * * *' end;
  perform cron.unschedule(j.jobid) from cron.job j where j.jobname in ('crm_dispatch_messages', 'crm_sync_suppressions');
  perform cron.schedule('crm_dispatch_messages', dispatch_every, $job$
    select net.http_post(
      url := (select decrypted_secret from vault.decrypted_secrets where name = 'functions_url') || '/dispatch-messages',
      headers := private.provider_job_headers((select decrypted_secret from vault.decrypted_secrets where name = 'service_role_key')),
      body := '{"budget_ms": 4000}'::jsonb, timeout_milliseconds := 10000)
  $job$);
  perform cron.schedule('crm_sync_suppressions', '*/15 * * * *', $job$
    select net.http_post(
      url := (select decrypted_secret from vault.decrypted_secrets where name = 'functions_url') || '/sendgrid-suppression-sync',
      headers := private.provider_job_headers((select decrypted_secret from vault.decrypted_secrets where name = 'service_role_key')),
      body := '{}'::jsonb, timeout_milliseconds := 60000)
  $job$);
  return array['crm_dispatch_messages', 'crm_sync_suppressions'];
end
$_$;

CREATE VIEW public.cron_job_health WITH (security_invoker='true') AS
 SELECT cron_job_health.jobid,
    cron_job_health.jobname,
    cron_job_health.schedule,
    cron_job_health.active,
    cron_job_health.command,
    cron_job_health.last_run_started_at,
    cron_job_health.last_run_finished_at,
    cron_job_health.last_status,
    cron_job_health.last_duration_ms,
    cron_job_health.last_message,
    cron_job_health.runs_7d,
    cron_job_health.failures_7d,
    cron_job_health.running
   FROM private.cron_job_health() cron_job_health(jobid, jobname, schedule, active, command, last_run_started_at, last_run_finished_at, last_status, last_duration_ms, last_message, runs_7d, failures_7d, running);

COMMENT ON VIEW public.cron_job_health IS 'Each pg_cron job: schedule, last run (start, end, status, duration in ms, message) and runs/failures over 7 days. Admin only; rows are filtered for others.';

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select on table public.cron_job_health to authenticated, service_role;
grant execute on function private.cron_job_health() to authenticated, service_role;
grant execute on function private.prune_cron_history(interval) to service_role;

-- ------------------------------------------------------------------------------------------------
-- Schedules
-- ------------------------------------------------------------------------------------------------

select cron.unschedule(j.jobid) from cron.job j where j.jobname in ('crm_expire_risk_overrides', 'crm_prune_cron_history', 'crm_prune_webhook_inbox', 'crm_refresh_segments', 'crm_score_customers', 'crm_timeline_counts_compact');
select cron.schedule('crm_expire_risk_overrides', '*/5 * * * *', 'select private.expire_risk_overrides()');
select cron.schedule('crm_prune_cron_history', '45 3 * * *', 'select private.prune_cron_history()');
select cron.schedule('crm_prune_webhook_inbox', '50 3 * * *', 'select private.prune_webhook_inbox()');
select cron.schedule('crm_refresh_segments', '30 2 * * *', 'select private.refresh_auto_segments()');
select cron.schedule('crm_score_customers', '15 2 * * *', 'select private.run_nightly_scoring()');
select cron.schedule('crm_timeline_counts_compact', '* * * * *', 'select private.compact_timeline_counts()');

-- Where pg_net and the Vault secrets functions_url and service_role_key exist (Supabase), this
-- schedules crm_dispatch_messages and crm_sync_suppressions; elsewhere it does nothing.
select private.schedule_provider_jobs();

reset search_path;
reset check_function_bodies;
