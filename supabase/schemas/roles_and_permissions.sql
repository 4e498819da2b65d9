-- Roles and permissions
--
-- Staff roles (admin, communications) and the helpers every policy and RPC asks; the
-- row-level security policies of the platform tables.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE public.user_roles (
    user_id uuid NOT NULL,
    role text NOT NULL,
    granted_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT user_roles_role_is_known CHECK ((role = ANY (ARRAY['admin'::text, 'communications'::text]))),
    CONSTRAINT user_roles_pkey PRIMARY KEY (user_id, role),
    CONSTRAINT user_roles_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE
);

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.assert_staff(role_name text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if current_setting('role', true) in ('anon', 'authenticated') or coalesce(auth.role(), '') in ('anon', 'authenticated') then
    if auth.uid() is null or not private.has_staff_role(assert_staff.role_name) then
      raise exception using errcode = '42501',
        message = format('permission denied: the %s role is required', assert_staff.role_name);
    end if;
  end if;
end
$$;

CREATE FUNCTION private.has_role(role_name text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select exists (
    select 1 from public.user_roles ur
     where ur.user_id = (select auth.uid()) and ur.role = has_role.role_name
  )
$$;

CREATE FUNCTION private.has_staff_role(role_name text) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  -- staff are admins; any other role is held on top of admin
  select private.has_role('admin') and (has_staff_role.role_name = 'admin' or private.has_role(has_staff_role.role_name))
$$;

CREATE FUNCTION private.is_admin() RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select private.has_role('admin')
$$;

CREATE FUNCTION private.is_communicator() RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select private.has_staff_role('communications')
$$;

CREATE FUNCTION private.is_trusted() RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select current_user in ('postgres', 'service_role', 'supabase_admin')
$$;

CREATE FUNCTION private.require_argument(name text, value anyelement) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
begin
  -- the refusal of an RPC called without a required argument, said the same way everywhere
  if require_argument.value is null then
    raise exception using errcode = '22023', message = format('%s: is required', require_argument.name);
  end if;
end
$$;

CREATE FUNCTION private.require_role(role_name text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if private.is_trusted() then
    return;
  end if;
  if auth.uid() is null then
    raise exception using errcode = '42501', message = 'permission denied: sign in as staff first';
  end if;
  if not private.has_staff_role(require_role.role_name) then
    raise exception using errcode = '42501',
      message = format('permission denied: the %s role is required', require_role.role_name);
  end if;
end
$$;

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

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

-- The platform's business tables: admins read and write them.
call private.staff_access('public.booking_items', read_by => 'admin', write_by => 'admin');
call private.staff_access('public.bookings', read_by => 'admin', write_by => 'admin');
call private.staff_access('public.email_logs', read_by => 'admin', write_by => 'admin');
call private.staff_access('public.equipment', read_by => 'admin', write_by => 'admin');
call private.staff_access('public.equipment_categories', read_by => 'admin', write_by => 'admin');
call private.staff_access('public.insurance_documents', read_by => 'admin', write_by => 'admin');
call private.staff_access('public.logistics_tasks', read_by => 'admin', write_by => 'admin');
call private.staff_access('public.manual_payments', read_by => 'admin', write_by => 'admin');
call private.staff_access('public.payments', read_by => 'admin', write_by => 'admin');
call private.staff_access('public.support_messages', read_by => 'admin', write_by => 'admin');
call private.staff_access('public.support_tickets', read_by => 'admin', write_by => 'admin');

ALTER TABLE public.user_roles ENABLE ROW LEVEL SECURITY;

CREATE POLICY user_roles_select_self_or_admin ON public.user_roles FOR SELECT TO authenticated USING (((user_id = ( SELECT auth.uid() AS uid)) OR ( SELECT private.is_admin() AS is_admin)));

call private.staff_access('public.users', read_by => null, write_by => 'admin', writes => '{insert,update}');

CREATE POLICY users_select_self_or_admin ON public.users FOR SELECT TO authenticated USING (((id = ( SELECT auth.uid() AS uid)) OR ( SELECT private.is_admin() AS is_admin)));

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select on table
  public.user_roles,
  public.users
to authenticated;
grant all on table public.user_roles to service_role;
grant execute on function
  private.assert_staff(text),
  private.has_role(text),
  private.has_staff_role(text),
  private.is_admin(),
  private.is_communicator(),
  private.is_trusted(),
  private.require_argument(text,anyelement),
  private.require_role(text)
to authenticated, service_role;

reset search_path;
reset check_function_bodies;
