-- pg_cron's scheduler runs on this database after a reset, so the crm_* jobs actually fire.
begin;
select plan(2);
select is((select count(*) from pg_stat_activity where backend_type = 'pg_cron launcher' and datname = current_database()), 1::bigint,
  'the pg_cron scheduler is attached to this database');
select ok((select count(*) from cron.job where jobname like 'crm\_%') >= 5, 'the crm_* jobs are registered');
select * from finish();
rollback;
