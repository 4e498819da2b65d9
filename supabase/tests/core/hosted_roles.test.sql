-- The local cluster has hosted Supabase's roles (scripts/local-bootstrap.sql) and this suite runs
-- as the non-superuser postgres, as the platform's migrations and SQL editor do.
begin;
select plan(16);

select is(current_user::text, 'postgres', 'pgTAP runs as postgres');
select is((select rolsuper from pg_roles where rolname = 'postgres'), false, 'postgres is not a superuser');
select is((select row(rolcreatedb, rolcreaterole, rolreplication, rolbypassrls)::text from pg_roles where rolname = 'postgres'),
  '(t,t,t,t)', 'postgres: CREATEDB CREATEROLE REPLICATION BYPASSRLS, as 10000000000000_demote-postgres.sql leaves it');
select is((select rolsuper from pg_roles where rolname = 'supabase_admin'), true, 'supabase_admin is the superuser');
select is((select row(rolcanlogin, rolinherit)::text from pg_roles where rolname = 'authenticator'), '(t,f)', 'authenticator: login, noinherit');
select is((select array_agg(r.rolname::text order by r.rolname) from pg_auth_members m join pg_roles r on r.oid = m.roleid
            where m.member = 'authenticator'::regrole), array['anon', 'authenticated', 'service_role'], 'authenticator may become the three API roles, nothing else');
select is((select row(rolcanlogin, rolbypassrls)::text from pg_roles where rolname = 'service_role'), '(f,t)', 'service_role: nologin, bypassrls');
select is((select row(rolcanlogin, rolinherit, rolcreaterole)::text from pg_roles where rolname = 'supabase_auth_admin'), '(t,f,t)',
  'supabase_auth_admin: login, noinherit, createrole');
select is((select tableowner::text from pg_tables where schemaname = 'auth' and tablename = 'users'), 'supabase_auth_admin', 'auth.users belongs to supabase_auth_admin');
select is((select setconfig from pg_db_role_setting where setrole = 'anon'::regrole and setdatabase = 0), array['statement_timeout=3s'], 'anon: 3 s statement timeout');

-- pg_cron as on the platform: postgres schedules through cron.schedule but cannot write cron.job
select throws_ok($$insert into cron.job (schedule, command, nodename, nodeport, database, username) values ('* * * * *', 'select 1', 'localhost', 5432, 'postgres', 'postgres')$$,
  '42501', null, 'cron.job is read-only to postgres');
select ok((select cron.schedule('crm_hosted_roles_probe', '0 4 * * *', 'select 1')) > 0, 'postgres schedules a job through cron.schedule');
select ok(cron.unschedule('crm_hosted_roles_probe'), 'and unschedules it');
select ok(has_function_privilege('postgres', 'cron.schedule(text, text, text)', 'execute'), 'cron.schedule is executable by postgres');

-- the pg_net jobs' headers: an API key as apikey only, a legacy JWT also as the Bearer
select is(private.provider_job_headers('sb_secret_abc'), '{"Content-Type": "application/json", "apikey": "sb_secret_abc"}'::jsonb,
  'a secret key goes in the apikey header only');
select is(private.provider_job_headers('eyJa.b.c'), '{"Content-Type": "application/json", "apikey": "eyJa.b.c", "Authorization": "Bearer eyJa.b.c"}'::jsonb,
  'a legacy service_role JWT goes in apikey and Authorization');

select * from finish();
rollback;
