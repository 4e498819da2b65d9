-- private.staff_access: the schema files now declare the access rule of each staff table in one call
-- (row-level security, a policy per command asking private.is_<role>(), that command granted to
-- authenticated). The policies and grants in place stay as they are; only the procedure is new,
-- executable by its owner alone (the default privileges of platform.sql).

set search_path = '';

-- The standard access rule of a staff table, declared in one call per table: row-level security
-- on, and for each command one policy for authenticated, named <table>_<command>_<role>, that asks
-- (select private.is_<role>()), with the same command granted to authenticated. read_by answers
-- select, write_by the commands in writes; null leaves that part to a policy written by hand.
CREATE PROCEDURE private.staff_access(tbl regclass, read_by text, write_by text DEFAULT NULL::text, writes text[] DEFAULT ARRAY['insert'::text, 'update'::text, 'delete'::text])
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  table_name text := (select c.relname from pg_catalog.pg_class c where c.oid = staff_access.tbl);
  commands text[] := case when staff_access.read_by is null then '{}'::text[] else array['select'] end
                     || case when staff_access.write_by is null then '{}'::text[] else staff_access.writes end;
  command text;
  role_name text;
  test text;
begin
  select r.name into role_name from unnest(array[staff_access.read_by, staff_access.write_by]) r(name)
   where r.name not in ('admin', 'communicator') limit 1;
  if found then
    raise exception using errcode = '22023',
      message = format('staff_access(%s): %s is not a staff role; use admin or communicator', staff_access.tbl, role_name);
  end if;
  select w.command into command from unnest(staff_access.writes) w(command)
   where w.command is null or w.command not in ('insert', 'update', 'delete') limit 1;
  if found then
    raise exception using errcode = '22023',
      message = format('staff_access(%s): %s is not a write; use insert, update or delete', staff_access.tbl, coalesce(command, 'null'));
  end if;
  execute format('alter table %s enable row level security', staff_access.tbl);
  foreach command in array commands loop
    role_name := case command when 'select' then staff_access.read_by else staff_access.write_by end;
    test := format('(select private.%I())', 'is_' || role_name);
    execute format('create policy %I on %s for %s to authenticated %s',
      table_name || '_' || command || '_' || role_name, staff_access.tbl, command,
      case command when 'insert' then format('with check (%s)', test)
                   when 'update' then format('using (%s) with check (%s)', test, test)
                   else format('using (%s)', test) end);
    execute format('grant %s on table %s to authenticated', command, staff_access.tbl);
  end loop;
end
$$;

reset search_path;
