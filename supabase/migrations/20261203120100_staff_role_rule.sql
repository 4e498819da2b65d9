-- Issue 13: what holding a staff role means (admin, and the role on top of admin) is private.has_staff_role,
-- asked by assert_staff, require_role and is_communicator instead of three copies of the condition.

set check_function_bodies = off;

CREATE OR REPLACE FUNCTION private.has_staff_role(role_name text) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  -- staff are admins; any other role is held on top of admin
  select private.has_role('admin') and (has_staff_role.role_name = 'admin' or private.has_role(has_staff_role.role_name))
$$;

revoke all on function private.has_staff_role(text) from public, anon, authenticated, service_role;
grant execute on function private.has_staff_role(text) to authenticated, service_role;

CREATE OR REPLACE FUNCTION private.assert_staff(role_name text) RETURNS void
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

CREATE OR REPLACE FUNCTION private.is_communicator() RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select private.has_staff_role('communications')
$$;

CREATE OR REPLACE FUNCTION private.require_role(role_name text) RETURNS void
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

reset check_function_bodies;
