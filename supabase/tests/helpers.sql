-- Shared pgTAP helpers, applied by scripts/test-db.sh before pg_prove runs the *.test.sql files.
set client_min_messages = warning;
-- Helpers' bodies are checked when the tests call them, as pg_dump's output does: some name a
-- test's temporary table (t_people), one runs as supabase_auth_admin, which may not execute it.
set check_function_bodies = off;
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

-- The value a function's SET clause gives a setting (null without one).
create or replace function tests.function_setting(fn regprocedure, setting text)
returns text
language sql
set search_path = ''
as $$
  select substr(c, length(function_setting.setting) + 2)
    from pg_catalog.pg_proc p, unnest(p.proconfig) c
   where p.oid = function_setting.fn and c like function_setting.setting || '=%'
$$;

-- Delete a user as the Auth server does: `delete from auth.users` as supabase_auth_admin (the
-- role this function runs as), which holds nothing of the CRM and has no pgTAP. Answers
-- 'deleted', or the SQLSTATE and message of the refusal.
create or replace function tests.delete_as_auth_server(user_id uuid)
returns text
language plpgsql
set search_path = ''
set role = supabase_auth_admin
as $$
begin
  delete from auth.users where id = delete_as_auth_server.user_id;
  return 'deleted';
exception when others then
  return sqlstate || ' ' || sqlerrm;
end
$$;

-- A customer and an admin, named <prefix>-customer@example.test and <prefix>-admin@example.test.
create or replace function tests.customer_and_admin(prefix text)
returns table (customer uuid, admin uuid)
language sql
set search_path = ''
as $$
  select tests.create_user(customer_and_admin.prefix || '-customer@example.test'),
         tests.create_user(customer_and_admin.prefix || '-admin@example.test', array['admin'])
$$;

-- The cast of the consent tests: an admin, a staff user with admin and communications, and a
-- customer, named <prefix>-admin, <prefix>-comms and <prefix>-cust @example.test.
create or replace function tests.consent_cast(prefix text)
returns table (admin_id uuid, comms_id uuid, cust_id uuid)
language sql
set search_path = ''
as $$
  select tests.create_user(consent_cast.prefix || '-admin@example.test', array['admin']),
         tests.create_user(consent_cast.prefix || '-comms@example.test', array['admin', 'communications']),
         tests.create_user(consent_cast.prefix || '-cust@example.test')
$$;

-- Moves a row of a timeline source table through statuses (the first is the one it has) and
-- asserts the events this yields: one per change, titled titles[i], with the statuses it went
-- from and to in metadata, at now().
create or replace function tests.status_changes_are(source_table text, id uuid, statuses text[], titles text[], description text)
returns text
language plpgsql
set search_path = extensions
as $$
declare
  since bigint := (select coalesce(max(e.seq), 0) from public.customer_timeline_events e);
begin
  for i in 2 .. cardinality(status_changes_are.statuses) loop
    execute format('update public.%I set status = $1 where id = $2', status_changes_are.source_table)
      using status_changes_are.statuses[i], status_changes_are.id;
  end loop;
  return results_eq(
    format($q$select title, metadata ->> 'from', metadata ->> 'to', occurred_at from public.customer_timeline_events
               where reference_id = %L and seq > %s order by seq$q$, status_changes_are.id, since),
    'values ' || (select string_agg(format('(%L, %L, %L, now())', status_changes_are.titles[i - 1], status_changes_are.statuses[i - 1],
                                           status_changes_are.statuses[i]), ', ' order by i)
                    from generate_series(2, cardinality(status_changes_are.statuses)) i),
    status_changes_are.description);
end
$$;

-- The customers of a segment test, one per name, in the temporary table t_people (name, id, i),
-- i their place in names; cities[i] is the city of the i-th (none where null or missing).
-- Authenticated may read it, for tests that call the segment API as a user.
create or replace function tests.segment_people(names text[], cities text[] default '{}')
returns void
language plpgsql
set search_path = ''
as $$
begin
  create temporary table t_people (name text, id uuid, i int);
  grant select on pg_temp.t_people to authenticated;
  insert into pg_temp.t_people (name, id, i)
  select n.name, tests.create_user('seg-' || replace(lower(n.name), ' ', '') || '-' || gen_random_uuid() || '@segtest.test',
                                   '{}', n.name, segment_people.cities[n.i]), n.i
    from unnest(segment_people.names) with ordinality n(name, i);
end
$$;

-- The cast of a test of the segment API: an admin, a customer (who must be refused), and n
-- customers named <name>1 .. <name>n, all living in city, in t_people (see tests.segment_people).
create or replace function tests.segment_world(n int, name text, city text)
returns table (admin_id uuid, customer_id uuid)
language plpgsql
set search_path = ''
as $$
begin
  perform tests.segment_people(array(select segment_world.name || i from generate_series(1, segment_world.n) i),
                               array_fill(segment_world.city, array[segment_world.n]));
  return query select tests.create_user('seg-admin-' || gen_random_uuid() || '@segtest.test', '{admin}'),
                      tests.create_user('seg-customer-' || gen_random_uuid() || '@segtest.test');
end
$$;

-- Members of a segment among the customers in t_people, as their names in order, comma-separated.
create or replace function tests.segment_members(definition jsonb)
returns text
language sql
set search_path = ''
as $$
  select coalesce(string_agg(p.name, ',' order by p.name), '')
    from private.segment_member_ids(segment_members.definition) x
    join pg_temp.t_people p on p.id = x
$$;

-- Members of a one-rule v1 segment among the customers in t_people (see tests.segment_members).
create or replace function tests.members(field text, op text, value jsonb default null)
returns text
language sql
set search_path = ''
as $$
  select tests.segment_members(jsonb_build_object('version', 1, 'combinator', 'and', 'rules',
           jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('field', members.field, 'operator', members.op, 'value', members.value)))))
$$;

-- The rows of a table of test cases written as text: a header naming the columns, then a row per
-- case, cells separated by | (the spaces around them do not count). Each row as a jsonb object of
-- its cells (text, '' where empty), in the order written; a row with too few or too many cells
-- is an error.
create or replace function tests.cases(cases text)
returns setof jsonb
language plpgsql
set search_path = ''
as $$
declare
  lines text[] := array(select l from unnest(string_to_array(cases.cases, e'\n')) with ordinality t(l, n)
                         where btrim(l) <> '' order by n);
  header text[] := regexp_split_to_array(btrim(lines[1]), '\s*\|\s*');
  cells text[];
begin
  for n in 2 .. cardinality(lines) loop
    cells := regexp_split_to_array(btrim(lines[n]), '\s*\|\s*');
    if cardinality(cells) <> cardinality(header) then
      raise exception 'tests.cases: % cells where the header has %: %', cardinality(cells), cardinality(header), lines[n];
    end if;
    return next jsonb_object(header, cells);
  end loop;
end
$$;

-- Segment cases as a table (see tests.cases), one pgTAP assertion per row: a segment (a
-- definition, or one rule as field, operator and value, an empty value being none), the members
-- expected (as tests.segment_members names them) and a description.
create or replace function tests.members_are(cases text)
returns setof text
language sql
set search_path = extensions
as $$
  select is(case when c ? 'definition' then tests.segment_members((c ->> 'definition')::jsonb)
                 else tests.members(c ->> 'field', c ->> 'operator', nullif(c ->> 'value', '')::jsonb) end,
            c ->> 'members', c ->> 'description')
    from tests.cases(members_are.cases) c
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;
