-- Timeline exports are audited through a definer function that checks the caller is an admin,
-- since callers may not write audit rows themselves.
create or replace function private.audit_timeline_export(customer_id uuid, context jsonb)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  perform private.assert_staff('admin');
  return private.write_audit('export', 'customer_timeline', audit_timeline_export.customer_id::text, null, null,
                             audit_timeline_export.context);
end
$$;

grant execute on function private.audit_timeline_export(uuid, jsonb) to authenticated, service_role;
