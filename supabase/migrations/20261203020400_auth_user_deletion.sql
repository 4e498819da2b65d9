-- Deleting a user the way the Auth server does (issue 10): the Auth server (and the dashboard's
-- "Delete user") runs `delete from auth.users` as supabase_auth_admin, which has no privilege on
-- the CRM. The cascade to public.users fired the CRM's triggers with the Auth server's rights
-- (`permission denied for table scoring_settings` from the statement trigger _020_check_pairs, and
-- more behind it), so deleting any user failed. Supabase's guidance for triggers on auth.users:
-- a security definer function owned by postgres. This one deletes the CRM's users row first, as
-- postgres, so the whole cascade and every AFTER trigger it queues run with the CRM owner's rights
-- inside it; the foreign key from public.users to auth.users then finds nothing left to cascade.
-- What the CRM keeps afterwards is docs/crm-guide.md "Deleting a user".

create or replace function private.tg_auth_users__delete_crm_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  staff_roles text[];
begin
  if not exists (select 1 from public.users u where u.id = old.id) then
    return old;  -- an auth user without a CRM profile
  end if;
  select coalesce(array_agg(r.role order by r.role), '{}') into staff_roles
    from public.user_roles r where r.user_id = old.id;
  delete from public.users u where u.id = old.id;
  -- the deletion itself is audited; no personal data beyond the id
  perform private.write_audit('delete', 'users', old.id::text, null, null,
    jsonb_build_object('via', 'auth.users', 'db_user', session_user, 'staff_roles', to_jsonb(staff_roles)));
  return old;
end
$$;
comment on function private.tg_auth_users__delete_crm_user() is
  'Before a user is deleted from auth.users (by the Auth server, as supabase_auth_admin): deletes the CRM''s users row as postgres, so the cascade and its triggers run with the CRM owner''s rights, and audits the deletion.';
revoke execute on function private.tg_auth_users__delete_crm_user() from public, anon, authenticated, service_role;

create trigger _100_delete_crm_user before delete on auth.users
  for each row execute function private.tg_auth_users__delete_crm_user();

-- Consent proof keeps the id of who recorded it, as customer_consent_history.changed_by and the
-- audit log do. With `on delete set null`, deleting a staff user updated every consent row they had
-- recorded: the stamp trigger moved updated_at to the deletion and the history trigger appended a
-- change nobody made (same state, no actor), replacing the row the consent proof points at.
alter table public.customer_consent drop constraint customer_consent_updated_by_fkey;
comment on column public.customer_consent.updated_by is
  'Who recorded the current state (auth uid); kept after that user is deleted, like customer_consent_history.changed_by.';
