-- Shared pgTAP helpers, applied by scripts/test-db.sh before pg_prove runs the *.test.sql files.
set client_min_messages = warning;
-- Each test file runs in a transaction and rolls back, so users made here vanish with it.
create extension if not exists pgtap with schema extensions;
-- functions get no PUBLIC execute by default in this project; the test roles need pgTAP's
grant execute on all functions in schema extensions to anon, authenticated, service_role;
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

-- Act as a role with claims, as PostgREST would; the three below are its common cases.
create or replace function tests.act_as_role(role text, claims text)
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform set_config('role', act_as_role.role, true);
  perform set_config('request.jwt.claims', act_as_role.claims, true);
end
$$;
create or replace function tests.act_as_anon() returns void language sql set search_path = '' as $$ select tests.act_as_role('anon', '{"role":"anon"}') $$;
create or replace function tests.act_as_service() returns void language sql set search_path = '' as $$ select tests.act_as_role('service_role', '{"role":"service_role"}') $$;
-- Back to the test runner (postgres), no claims.
create or replace function tests.act_as_postgres() returns void language sql set search_path = '' as $$ select tests.act_as_role('postgres', '') $$;

-- SQLSTATE and message of a statement ('no error' when it succeeds), for refusals that must be
-- compared by message as well as code. Statement timeouts are not caught by WHEN OTHERS: they are
-- caught by name.
create or replace function tests.raised(stmt text)
returns text
language plpgsql
set search_path = public, extensions
as $$
begin
  execute raised.stmt;
  return 'no error';
exception
  when query_canceled then return sqlstate || ' ' || sqlerrm;
  when others then return sqlstate || ' ' || sqlerrm;
end
$$;

-- Members of a one-rule v1 segment among the customers of the calling test's temporary table
-- t_people (name, id), as their names in order, comma-separated.
create or replace function tests.members(field text, op text, value jsonb default null)
returns text
language plpgsql
set search_path = ''
as $$
declare
  result text;
begin
  execute $q$
    select coalesce(string_agg(p.name, ',' order by p.name), '')
      from private.segment_member_ids(jsonb_build_object('version', 1, 'combinator', 'and',
             'rules', jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('field', $1, 'operator', $2, 'value', $3))))) x
      join pg_temp.t_people p on p.id = x$q$
    into result using members.field, members.op, members.value;
  return result;
end
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;
