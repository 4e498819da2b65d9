-- Shared pgTAP helpers, applied by scripts/test-db.sh before pg_prove runs the *.test.sql files.
set client_min_messages = warning;
-- Each test file runs in a transaction and rolls back, so users made here vanish with it.
create extension if not exists pgtap with schema extensions;
create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;

-- A user (auth.users + public.users) with the given staff roles; returns its id.
create or replace function tests.create_user(
  email text, roles text[] default '{}', full_name text default null, city text default null,
  phone text default null
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  new_id uuid := gen_random_uuid();
begin
  insert into auth.users (id, email, phone) values (new_id, create_user.email, create_user.phone);
  insert into public.users (id, email, phone, full_name, city, country_code)
  values (new_id, create_user.email, create_user.phone, coalesce(create_user.full_name, split_part(create_user.email, '@', 1)),
          create_user.city, 'NO');
  insert into public.user_roles (user_id, role) select new_id, r from unnest(create_user.roles) r;
  return new_id;
end
$$;

-- Act as PostgREST does for a signed-in user: role authenticated and the JWT claims.
create or replace function tests.act_as(user_id uuid)
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform set_config('role', 'authenticated', true);
  perform set_config('request.jwt.claims', json_build_object('sub', act_as.user_id, 'role', 'authenticated')::text, true);
end
$$;

create or replace function tests.act_as_anon()
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform set_config('role', 'anon', true);
  perform set_config('request.jwt.claims', '{"role":"anon"}', true);
end
$$;

create or replace function tests.act_as_service()
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform set_config('role', 'service_role', true);
  perform set_config('request.jwt.claims', '{"role":"service_role"}', true);
end
$$;

-- Back to the test runner (postgres), no claims.
create or replace function tests.act_as_postgres()
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform set_config('role', 'postgres', true);
  perform set_config('request.jwt.claims', '', true);
end
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;
