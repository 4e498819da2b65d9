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

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

CREATE POLICY booking_items_delete_admin ON public.booking_items FOR DELETE TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY booking_items_insert_admin ON public.booking_items FOR INSERT TO authenticated WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY booking_items_select_admin ON public.booking_items FOR SELECT TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY booking_items_update_admin ON public.booking_items FOR UPDATE TO authenticated USING (( SELECT private.is_admin() AS is_admin)) WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY bookings_delete_admin ON public.bookings FOR DELETE TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY bookings_insert_admin ON public.bookings FOR INSERT TO authenticated WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY bookings_select_admin ON public.bookings FOR SELECT TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY bookings_update_admin ON public.bookings FOR UPDATE TO authenticated USING (( SELECT private.is_admin() AS is_admin)) WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY email_logs_delete_admin ON public.email_logs FOR DELETE TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY email_logs_insert_admin ON public.email_logs FOR INSERT TO authenticated WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY email_logs_select_admin ON public.email_logs FOR SELECT TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY email_logs_update_admin ON public.email_logs FOR UPDATE TO authenticated USING (( SELECT private.is_admin() AS is_admin)) WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY equipment_categories_delete_admin ON public.equipment_categories FOR DELETE TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY equipment_categories_insert_admin ON public.equipment_categories FOR INSERT TO authenticated WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY equipment_categories_select_admin ON public.equipment_categories FOR SELECT TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY equipment_categories_update_admin ON public.equipment_categories FOR UPDATE TO authenticated USING (( SELECT private.is_admin() AS is_admin)) WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY equipment_delete_admin ON public.equipment FOR DELETE TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY equipment_insert_admin ON public.equipment FOR INSERT TO authenticated WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY equipment_select_admin ON public.equipment FOR SELECT TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY equipment_update_admin ON public.equipment FOR UPDATE TO authenticated USING (( SELECT private.is_admin() AS is_admin)) WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY insurance_documents_delete_admin ON public.insurance_documents FOR DELETE TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY insurance_documents_insert_admin ON public.insurance_documents FOR INSERT TO authenticated WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY insurance_documents_select_admin ON public.insurance_documents FOR SELECT TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY insurance_documents_update_admin ON public.insurance_documents FOR UPDATE TO authenticated USING (( SELECT private.is_admin() AS is_admin)) WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY logistics_tasks_delete_admin ON public.logistics_tasks FOR DELETE TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY logistics_tasks_insert_admin ON public.logistics_tasks FOR INSERT TO authenticated WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY logistics_tasks_select_admin ON public.logistics_tasks FOR SELECT TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY logistics_tasks_update_admin ON public.logistics_tasks FOR UPDATE TO authenticated USING (( SELECT private.is_admin() AS is_admin)) WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY manual_payments_delete_admin ON public.manual_payments FOR DELETE TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY manual_payments_insert_admin ON public.manual_payments FOR INSERT TO authenticated WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY manual_payments_select_admin ON public.manual_payments FOR SELECT TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY manual_payments_update_admin ON public.manual_payments FOR UPDATE TO authenticated USING (( SELECT private.is_admin() AS is_admin)) WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY payments_delete_admin ON public.payments FOR DELETE TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY payments_insert_admin ON public.payments FOR INSERT TO authenticated WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY payments_select_admin ON public.payments FOR SELECT TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY payments_update_admin ON public.payments FOR UPDATE TO authenticated USING (( SELECT private.is_admin() AS is_admin)) WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY support_messages_delete_admin ON public.support_messages FOR DELETE TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY support_messages_insert_admin ON public.support_messages FOR INSERT TO authenticated WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY support_messages_select_admin ON public.support_messages FOR SELECT TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY support_messages_update_admin ON public.support_messages FOR UPDATE TO authenticated USING (( SELECT private.is_admin() AS is_admin)) WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY support_tickets_delete_admin ON public.support_tickets FOR DELETE TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY support_tickets_insert_admin ON public.support_tickets FOR INSERT TO authenticated WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY support_tickets_select_admin ON public.support_tickets FOR SELECT TO authenticated USING (( SELECT private.is_admin() AS is_admin));

CREATE POLICY support_tickets_update_admin ON public.support_tickets FOR UPDATE TO authenticated USING (( SELECT private.is_admin() AS is_admin)) WITH CHECK (( SELECT private.is_admin() AS is_admin));

ALTER TABLE public.user_roles ENABLE ROW LEVEL SECURITY;

CREATE POLICY user_roles_select_self_or_admin ON public.user_roles FOR SELECT TO authenticated USING (((user_id = ( SELECT auth.uid() AS uid)) OR ( SELECT private.is_admin() AS is_admin)));

CREATE POLICY users_insert_admin ON public.users FOR INSERT TO authenticated WITH CHECK (( SELECT private.is_admin() AS is_admin));

CREATE POLICY users_select_self_or_admin ON public.users FOR SELECT TO authenticated USING (((id = ( SELECT auth.uid() AS uid)) OR ( SELECT private.is_admin() AS is_admin)));

CREATE POLICY users_update_admin ON public.users FOR UPDATE TO authenticated USING (( SELECT private.is_admin() AS is_admin)) WITH CHECK (( SELECT private.is_admin() AS is_admin));

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

revoke all on table public.user_roles from public, anon, authenticated, service_role;
grant select on table public.user_roles to authenticated;
grant all on table public.user_roles to service_role;
revoke all on function
  private.assert_staff(text),
  private.has_role(text),
  private.has_staff_role(text),
  private.is_admin(),
  private.is_communicator(),
  private.is_trusted(),
  private.require_role(text)
from public, anon, authenticated, service_role;
grant execute on function
  private.assert_staff(text),
  private.has_role(text),
  private.has_staff_role(text),
  private.is_admin(),
  private.is_communicator(),
  private.is_trusted(),
  private.require_role(text)
to authenticated, service_role;

reset search_path;
reset check_function_bodies;
