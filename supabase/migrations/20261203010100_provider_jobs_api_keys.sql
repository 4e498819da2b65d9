-- The pg_cron -> pg_net jobs that call dispatch-messages and sendgrid-suppression-sync work with
-- Supabase's new API keys as well as the legacy service_role JWT. The Vault secret
-- 'service_role_key' may hold either:
--   sb_secret_…   sent as the `apikey` header only (an API key is not a JWT: Supabase's docs say
--                 never to send it as a Bearer token);
--   eyJ… (legacy) sent as `apikey` and as `Authorization: Bearer`.
-- The functions verify either in code (supabase/functions/_shared/auth.ts).
-- pg_cron: Supabase runs 1.6, Debian ships 1.4.2. Only the dispatcher's '5 seconds' schedule needs
-- 1.5+ (interval schedules); with an older pg_cron it runs every minute instead.

create or replace function private.provider_job_headers(key text)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select case
    when key is null or btrim(key) = '' then null
    when key like 'sb\_%' then jsonb_build_object('Content-Type', 'application/json', 'apikey', key)
    else jsonb_build_object('Content-Type', 'application/json', 'apikey', key, 'Authorization', 'Bearer ' || key)
  end
$$;
revoke all on function private.provider_job_headers(text) from public, anon, authenticated;

-- Latest definition: 20261124000750_provider_cron_jobs.sql; changed: headers through
-- private.provider_job_headers, the dispatcher's interval by pg_cron version.
create or replace function private.schedule_provider_jobs()
returns text[]
language plpgsql
volatile
set search_path = ''
as $$
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
$$;

select private.schedule_provider_jobs();
