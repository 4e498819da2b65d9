-- The two jobs that call edge functions (crm_dispatch_messages every 5 seconds,
-- crm_sync_suppressions every 15 minutes) go through pg_net with the URL and the service-role key
-- from Vault. They are registered here, idempotently, wherever pg_net and Vault exist (Supabase);
-- locally neither is packaged, so `npm start` runs the dispatcher loop instead. After setting the
-- Vault secrets 'functions_url' and 'service_role_key', run `select private.schedule_provider_jobs();`.

create or replace function private.schedule_provider_jobs()
returns text[]
language plpgsql
volatile
set search_path = ''
as $$
declare
  scheduled text[] := array[]::text[];
  secrets integer;
begin
  if not exists (select 1 from pg_catalog.pg_extension where extname = 'pg_net')
     or to_regclass('vault.decrypted_secrets') is null then
    return scheduled;
  end if;
  -- without both secrets every run would fail; wait until they are set (dynamic: no vault locally)
  execute format('select count(distinct name) from %I.%I where name = any($1)', 'vault', 'decrypted_secrets')
    into secrets using array['functions_url', 'service_role_key'];
  if secrets < 2 then
    raise notice 'crm provider jobs not scheduled: create the Vault secrets functions_url and service_role_key, then run select private.schedule_provider_jobs();';
    return scheduled;
  end if;
  perform cron.unschedule(j.jobid) from cron.job j where j.jobname in ('crm_dispatch_messages', 'crm_sync_suppressions');
  perform cron.schedule('crm_dispatch_messages', '5 seconds', $job$
    select net.http_post(
      url := (select decrypted_secret from vault.decrypted_secrets where name = 'functions_url') || '/dispatch-messages',
      headers := jsonb_build_object('Content-Type', 'application/json',
        'Authorization', 'Bearer ' || (select decrypted_secret from vault.decrypted_secrets where name = 'service_role_key')),
      body := '{"budget_ms": 4000}'::jsonb, timeout_milliseconds := 10000)
  $job$);
  perform cron.schedule('crm_sync_suppressions', '*/15 * * * *', $job$
    select net.http_post(
      url := (select decrypted_secret from vault.decrypted_secrets where name = 'functions_url') || '/sendgrid-suppression-sync',
      headers := jsonb_build_object('Content-Type', 'application/json',
        'Authorization', 'Bearer ' || (select decrypted_secret from vault.decrypted_secrets where name = 'service_role_key')),
      body := '{}'::jsonb, timeout_milliseconds := 60000)
  $job$);
  return array['crm_dispatch_messages', 'crm_sync_suppressions'];
end
$$;

select private.schedule_provider_jobs();
