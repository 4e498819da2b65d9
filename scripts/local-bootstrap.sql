-- Local stand-in for what Supabase's platform creates before a project's migrations run, after
-- the public supabase/postgres image: migrations/db/init-scripts/00000000000000-initial-schema.sql,
-- -00001-auth-schema.sql, -00003-post-setup.sql, migrations/db/migrations/10000000000000_demote-postgres.sql
-- and the later role migrations, plus the extensions Supabase's supautils lets `postgres` create
-- (created here by the superuser, as supautils does on the platform).
--
-- Runs as the cluster superuser `supabase_admin` on the `postgres` database, after every reset.
-- Idempotent. Never a migration: on Supabase all of this already exists.
set client_min_messages = warning;

-- ---------------------------------------------------------------------------------------------
-- Roles (cluster-wide)
-- ---------------------------------------------------------------------------------------------
do $$
begin
  if current_user <> 'supabase_admin' or not (select rolsuper from pg_roles where rolname = current_user) then
    raise exception 'local-bootstrap.sql must run as the superuser supabase_admin (ran as %)', current_user;
  end if;

  if not exists (select from pg_roles where rolname = 'postgres') then
    create role postgres login password 'postgres';
  end if;
  -- 10000000000000_demote-postgres.sql
  alter role postgres nosuperuser createdb createrole login replication bypassrls;

  if not exists (select from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then create role authenticated nologin noinherit; end if;
  if not exists (select from pg_roles where rolname = 'service_role') then create role service_role nologin noinherit bypassrls; end if;
  -- 20230529180330_alter_api_roles_for_inherit.sql
  alter role anon nologin inherit;
  alter role authenticated nologin inherit;
  alter role service_role nologin inherit bypassrls;

  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit password 'postgres';
  end if;
  alter role authenticator login noinherit;

  if not exists (select from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin noinherit createrole login noreplication password 'postgres';
  end if;
  alter role supabase_auth_admin noinherit createrole login noreplication;
end $$;

grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;          -- 20230201083204
grant supabase_auth_admin to postgres;                        -- 20220609081115
grant pg_monitor, pg_read_all_data, pg_signal_backend to postgres; -- 20230306081037, 20240606060239

alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';       -- 20221028101028
alter role authenticator set lock_timeout = '8s';            -- 20231130133139
alter role supabase_auth_admin set search_path = auth;
alter role supabase_auth_admin set idle_in_transaction_session_timeout = 60000;
alter role supabase_admin set search_path = "$user", public, auth, extensions;
-- As on Supabase: extensions (pgTAP, pgcrypto) resolve without a schema prefix in sessions.
alter role postgres set search_path = "$user", public, extensions;

-- supautils' privileged_role_allowed_configs lets postgres set these on Supabase; Postgres 15 can
-- grant the same directly (the generator and benchmarks load fixtures with triggers off).
grant set on parameter session_replication_role to postgres;

-- ---------------------------------------------------------------------------------------------
-- Database `postgres`
-- ---------------------------------------------------------------------------------------------
grant all on database postgres to postgres;

create schema if not exists extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
grant all on schema extensions to postgres;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgcrypto with schema extensions;
-- Privileged extensions the project uses (postgres creates them through supautils on Supabase).
create extension if not exists pgtap with schema extensions;
create extension if not exists plpgsql_check with schema extensions;
-- pg_cron: supautils.extensions_parameter_overrides puts it in pg_catalog; then its after-create
-- script (ansible/files/postgresql_extension_custom_scripts/pg_cron/after-create.sql).
create extension if not exists pg_cron with schema pg_catalog;
grant usage on schema cron to postgres with grant option;
grant all on all functions in schema cron to postgres with grant option;
alter default privileges for user supabase_admin in schema cron grant all on sequences to postgres with grant option;
alter default privileges for user supabase_admin in schema cron grant all on tables to postgres with grant option;
alter default privileges for user supabase_admin in schema cron grant all on functions to postgres with grant option;
grant all privileges on all tables in schema cron to postgres with grant option;
-- 20231020085357_revoke_writes_on_cron_job_from_postgres.sql: cron.job is read-only to postgres.
revoke all on table cron.job from postgres;
grant select on table cron.job to postgres with grant option;
-- 20230224042246_grant_extensions_perms_for_postgres.sql
grant all privileges on all tables in schema extensions to postgres with grant option;
grant all privileges on all routines in schema extensions to postgres with grant option;
grant all privileges on all sequences in schema extensions to postgres with grant option;
alter default privileges in schema extensions grant all on tables to postgres with grant option;
alter default privileges in schema extensions grant all on routines to postgres with grant option;
alter default privileges in schema extensions grant all on sequences to postgres with grant option;

-- The API schema: the API roles may use it, RLS decides the rows (initial-schema.sql). Objects
-- created by postgres get the same defaults on the platform.
grant usage on schema public to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on sequences to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- Auth schema, as the Auth server (GoTrue) leaves it: owned by supabase_auth_admin
-- ---------------------------------------------------------------------------------------------
create schema if not exists auth authorization supabase_admin;
grant all privileges on schema auth to supabase_auth_admin;
grant usage on schema auth to anon, authenticated, service_role;
grant all on schema auth to postgres;
set role supabase_auth_admin;

create table if not exists auth.users (
  instance_id uuid,
  id uuid not null primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz,
  recovery_token varchar(255),
  recovery_sent_at timestamptz,
  email_change_token_new varchar(255),
  email_change varchar(255),
  email_change_sent_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz,
  phone text unique default null,
  phone_confirmed_at timestamptz,
  phone_change text default '',
  phone_change_token varchar(255) default '',
  phone_change_sent_at timestamptz,
  confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  email_change_token_current varchar(255) default '',
  email_change_confirm_status smallint default 0 check (email_change_confirm_status >= 0 and email_change_confirm_status <= 2),
  banned_until timestamptz,
  reauthentication_token varchar(255) default '',
  reauthentication_sent_at timestamptz,
  is_sso_user boolean not null default false,
  deleted_at timestamptz,
  is_anonymous boolean not null default false
);
create index if not exists users_instance_id_idx on auth.users (instance_id);
create index if not exists users_instance_id_email_idx on auth.users (instance_id, lower(email));
create unique index if not exists users_email_partial_key on auth.users (email) where is_sso_user = false;
comment on table auth.users is 'Auth: Stores user login data within a secure schema.';

create table if not exists auth.identities (
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz,
  email text generated always as (lower(identity_data ->> 'email')) stored,
  id uuid not null default gen_random_uuid() primary key,
  constraint identities_provider_id_provider_unique unique (provider_id, provider)
);
create index if not exists identities_user_id_idx on auth.identities (user_id);

create table if not exists auth.sessions (
  id uuid not null primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz,
  updated_at timestamptz,
  not_after timestamptz,
  user_agent text,
  ip inet
);
create index if not exists sessions_user_id_idx on auth.sessions (user_id);

create table if not exists auth.refresh_tokens (
  instance_id uuid,
  id bigserial primary key,
  token varchar(255) unique,
  user_id varchar(255),
  revoked boolean,
  created_at timestamptz,
  updated_at timestamptz,
  parent varchar(255),
  session_id uuid references auth.sessions (id) on delete cascade
);

create table if not exists auth.audit_log_entries (
  instance_id uuid,
  id uuid not null primary key,
  payload json,
  created_at timestamptz,
  ip_address varchar(64) not null default ''
);

create table if not exists auth.instances (
  id uuid not null primary key,
  uuid uuid,
  raw_base_config text,
  created_at timestamptz,
  updated_at timestamptz
);

create table if not exists auth.schema_migrations (version varchar(255) not null primary key);

-- The claim helpers as the Auth server defines them today (request.jwt.claims, one JSON GUC):
-- auth.uid() (sub), auth.role() and auth.email(), each the same lookup of one claim.
do $$
declare
  c record;
begin
  for c in select * from (values ('uid', 'sub', 'uuid'), ('role', 'role', 'text'), ('email', 'email', 'text')) as claims (fn, claim, type) loop
    execute format($fn$
      create or replace function auth.%1$I() returns %3$s
      language sql stable as $body$
        select coalesce(
          nullif(current_setting(%4$L, true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> %2$L)
        )::%3$s
      $body$ $fn$, c.fn, c.claim, c.type, 'request.jwt.claim.' || c.claim);
  end loop;
end $$;

create or replace function auth.jwt() returns jsonb
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

reset role;

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt() to public;
-- 20211115181400_update-auth-permissions.sql: postgres manages the auth tables (triggers, policies).
grant all on all tables in schema auth to postgres;
grant all on all sequences in schema auth to postgres;
grant all on all routines in schema auth to postgres;
alter default privileges for role supabase_auth_admin in schema auth grant all on tables to postgres;
alter default privileges for role supabase_auth_admin in schema auth grant all on sequences to postgres;
alter default privileges for role supabase_auth_admin in schema auth grant all on routines to postgres;
