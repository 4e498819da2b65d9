-- Revoke by default, grant explicitly: anon's privileges cover nothing of the CRM (tables, views,
-- sequences, functions, columns, the private schema), objects created later grant nothing by
-- default, and views are read-only to the API roles. The HTTP side (anon's OpenAPI document lists
-- nothing of the CRM) is tests/api/anon-openapi.test.ts.
begin;
select plan(11);

select is_empty($$
  select c.oid::regclass::text from pg_class c
   where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace)
     and case when c.relkind in ('r', 'p', 'v', 'm', 'f')
              then has_table_privilege('anon', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') end$$,
  'anon holds no privilege on any table or view in public or private');

select is_empty($$
  select c.oid::regclass::text from pg_class c
   where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace)
     and case when c.relkind = 'S' then has_sequence_privilege('anon', c.oid, 'USAGE, SELECT, UPDATE') end$$,
  'anon holds no privilege on any sequence');

select is_empty($$
  select table_schema || '.' || table_name || '.' || column_name || ' ' || privilege_type
    from information_schema.column_privileges
   where grantee in ('anon', 'PUBLIC') and table_schema in ('public', 'private')$$,
  'anon (and PUBLIC) hold no column privilege');

select is_empty($$
  select p.oid::regprocedure::text from pg_proc p
   where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
     and has_function_privilege('anon', p.oid, 'EXECUTE')$$,
  'anon can execute no function in public or private (PUBLIC grants included)');

select ok(not has_schema_privilege('anon', 'private', 'USAGE'), 'anon cannot even look into schema private');

select is_empty($$
  select d.defaclnamespace::regnamespace::text || ' ' || d.defaclobjtype::text || ' ' || a.grantee::regrole::text
    from pg_default_acl d, aclexplode(d.defaclacl) a
   where d.defaclrole = 'postgres'::regrole
     and a.grantee in ('anon'::regrole, 'authenticated'::regrole, 'service_role'::regrole)$$,
  'no default privilege gives the API roles anything on what postgres creates later');

-- what a later migration creates grants nothing until it says so
create table public.zz_grants_probe (id int);
create view public.zz_grants_probe_v with (security_invoker = true) as select id from public.zz_grants_probe;
create sequence public.zz_grants_probe_seq;
select ok(not has_table_privilege('anon', 'public.zz_grants_probe', 'SELECT')
          and not has_table_privilege('authenticated', 'public.zz_grants_probe', 'SELECT')
          and not has_table_privilege('anon', 'public.zz_grants_probe_v', 'SELECT')
          and not has_sequence_privilege('anon', 'public.zz_grants_probe_seq', 'USAGE'),
          'a new table, view or sequence in public grants nothing to anon or authenticated');

select is_empty($$
  select c.oid::regclass::text || ' ' || a.privilege_type || ' to ' || a.grantee::regrole::text
    from pg_class c, aclexplode(c.relacl) a
   where c.relnamespace = 'public'::regnamespace and c.relkind in ('v', 'm')
     and a.grantee in ('authenticated'::regrole, 'service_role'::regrole) and a.privilege_type <> 'SELECT'$$,
  'views are read-only to authenticated and service_role');

select ok(has_table_privilege('authenticated', 'public.campaign_stats', 'SELECT')
          and has_table_privilege('authenticated', 'public.campaign_link_clicks', 'SELECT'),
          'staff still read the campaign analytics views (RLS of the tables below decides the rows)');

select is_empty($$
  select c.oid::regclass::text || ' ' || a.privilege_type
    from pg_class c, aclexplode(c.relacl) a
   where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'S')
     and a.grantee = 'authenticated'::regrole and a.privilege_type in ('TRUNCATE', 'REFERENCES', 'TRIGGER', 'UPDATE')
     and (c.relkind = 'S' or a.privilege_type <> 'UPDATE')$$,
  'signed-in users cannot truncate (it bypasses RLS), add triggers or setval a sequence');

-- the consent trigger draws history ids as the caller: a customer can still change their consent
select tests.create_user('grants-customer@example.test') as customer_id \gset
select tests.act_as(:'customer_id');
select lives_ok(format($$select public.set_customer_consent(%L, 'email', true)$$, :'customer_id'),
                'a customer still sets their own consent (sequence USAGE kept)');

select * from finish();
rollback;
