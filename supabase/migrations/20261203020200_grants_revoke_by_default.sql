-- Revoke by default, grant what each role needs (issue 10). Supabase's platform default
-- (`alter default privileges in schema public grant all on tables|sequences to anon, authenticated,
-- service_role`) gave every object a later migration forgot to revoke to anon: anon held ALL on
-- the campaign_stats and campaign_link_clicks views and saw them in its OpenAPI document, and
-- authenticated held INSERT/UPDATE/DELETE/TRUNCATE on read-only views and could setval() every
-- sequence. From here on an object created in public by postgres grants nothing to anyone until
-- its migration grants it; the grants below make what exists match what each role needs.
--   anon:          nothing of the CRM (no table, view, sequence, function).
--   authenticated: views SELECT only; tables as their migrations granted them, without TRUNCATE,
--                  REFERENCES or TRIGGER (TRUNCATE is not subject to RLS); sequences USAGE, SELECT
--                  (the consent trigger draws ids as the caller), never UPDATE (setval).
--   service_role:  views SELECT only; tables and sequences as granted.

alter default privileges for role postgres in schema public revoke all on tables from public, anon, authenticated, service_role;
alter default privileges for role postgres in schema public revoke all on sequences from public, anon, authenticated, service_role;
alter default privileges for role postgres in schema public revoke all on functions from public, anon, authenticated, service_role;
alter default privileges for role postgres in schema private revoke all on tables from public, anon, authenticated, service_role;
alter default privileges for role postgres in schema private revoke all on sequences from public, anon, authenticated, service_role;

do $$
declare
  r record;
begin
  -- anon: nothing in public or private
  for r in select c.oid::regclass as rel, c.relkind
             from pg_class c
            where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace)
              and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') loop
    execute format('revoke all on %s from anon', r.rel);
  end loop;

  -- views and materialized views are read-only to the API roles
  for r in select c.oid::regclass as rel
             from pg_class c
            where c.relnamespace = 'public'::regnamespace and c.relkind in ('v', 'm') loop
    execute format('revoke all on %s from authenticated, service_role', r.rel);
    execute format('grant select on %s to authenticated, service_role', r.rel);
  end loop;

  -- tables: no TRUNCATE (it bypasses RLS), REFERENCES or TRIGGER for signed-in users
  for r in select c.oid::regclass as rel
             from pg_class c
            where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') loop
    execute format('revoke truncate, references, trigger on %s from authenticated', r.rel);
  end loop;

  -- sequences: draw ids, never set them
  for r in select c.oid::regclass as rel
             from pg_class c
            where c.relnamespace = 'public'::regnamespace and c.relkind = 'S' loop
    execute format('revoke update on sequence %s from authenticated', r.rel);
  end loop;
end $$;

-- anon may still resolve names in public (PostgREST needs the schema), and nothing else.
revoke all on schema private from anon;
