-- private.staff_access, the one declaration of a staff table's access: row-level security on, one
-- policy per command named <table>_<command>_<role> asking (select private.is_<role>()), the same
-- commands granted to authenticated and nothing else; a role or command it does not know is refused.
begin;
select plan(13);

create table public.staff_access_probe (id int primary key, note text);
create table public.staff_access_probe_settings (key text primary key, value int);
call private.staff_access('public.staff_access_probe', read_by => 'admin', write_by => 'communicator');
call private.staff_access('public.staff_access_probe_settings', read_by => 'admin', write_by => 'admin', writes => '{update}');

select ok((select relrowsecurity from pg_class where oid = 'public.staff_access_probe'::regclass), 'row-level security is on');
select results_eq(
  $$select policyname::text collate "default", cmd, roles::text collate "default", coalesce(qual, '-') collate "default",
            coalesce(with_check, '-') collate "default" from pg_policies
     where tablename = 'staff_access_probe' order by policyname$$,
  $$values ('staff_access_probe_delete_communicator', 'DELETE', '{authenticated}', '( SELECT private.is_communicator() AS is_communicator)', '-'),
           ('staff_access_probe_insert_communicator', 'INSERT', '{authenticated}', '-', '( SELECT private.is_communicator() AS is_communicator)'),
           ('staff_access_probe_select_admin', 'SELECT', '{authenticated}', '( SELECT private.is_admin() AS is_admin)', '-'),
           ('staff_access_probe_update_communicator', 'UPDATE', '{authenticated}', '( SELECT private.is_communicator() AS is_communicator)',
            '( SELECT private.is_communicator() AS is_communicator)')$$,
  'one policy per command and role, asking the role helper once per statement');
select is((select array_agg(privilege_type::text order by privilege_type) from information_schema.role_table_grants
            where table_name = 'staff_access_probe' and grantee = 'authenticated'),
  array['DELETE', 'INSERT', 'SELECT', 'UPDATE'], 'authenticated is granted exactly the commands of its policies');
select ok(not has_table_privilege('anon', 'public.staff_access_probe', 'SELECT, INSERT, UPDATE, DELETE'), 'anon is granted nothing');
select ok(not has_table_privilege('service_role', 'public.staff_access_probe', 'SELECT, INSERT, UPDATE, DELETE'),
  'service_role is left to the feature''s own grants');

select results_eq(
  $$select policyname::text collate "default" from pg_policies where tablename = 'staff_access_probe_settings' order by policyname$$,
  $$values ('staff_access_probe_settings_select_admin'), ('staff_access_probe_settings_update_admin')$$,
  'writes narrows the written commands');
select is((select array_agg(privilege_type::text order by privilege_type) from information_schema.role_table_grants
            where table_name = 'staff_access_probe_settings' and grantee = 'authenticated'),
  array['SELECT', 'UPDATE'], 'and the grants with them');

-- what a staff member and a customer can do through it
select tests.create_user('sa-admin@example.test', array['admin']) as admin_id \gset
select tests.create_user('sa-comms@example.test', array['admin', 'communications']) as comms_id \gset
select tests.create_user('sa-customer@example.test') as customer_id \gset
insert into public.staff_access_probe values (1, 'x');
select tests.act_as(:'admin_id');
select isnt_empty($$select 1 from public.staff_access_probe$$, 'an admin reads');
select throws_ok($$insert into public.staff_access_probe values (2, 'y')$$, '42501', null, 'an admin without communications does not write');
select tests.act_as(:'comms_id');
select lives_ok($$insert into public.staff_access_probe values (2, 'y')$$, 'a communicator writes');
select tests.act_as(:'customer_id');
select is_empty($$select 1 from public.staff_access_probe$$, 'a customer reads nothing');
select tests.act_as_postgres();

select throws_ok($$call private.staff_access('public.staff_access_probe', read_by => 'customer')$$, '22023',
  'staff_access(public.staff_access_probe): customer is not a staff role; use admin or communicator', 'an unknown role is refused');
select throws_ok($$call private.staff_access('public.staff_access_probe', read_by => null, write_by => 'admin', writes => '{truncate}')$$,
  '22023', 'staff_access(public.staff_access_probe): truncate is not a write; use insert, update or delete', 'an unknown command is refused');

select * from finish();
rollback;
