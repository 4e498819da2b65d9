-- Fix: a per-schema ALTER DEFAULT PRIVILEGES cannot take away what the global default gives, so
-- every function still got EXECUTE for PUBLIC. Revoke it globally (for functions created from
-- here on) and on every function already made; grant back exactly what callers need.

alter default privileges revoke execute on functions from public;

revoke execute on all functions in schema private from public;
revoke execute on all functions in schema public from public, anon;

-- Policies and invoker code run these as the caller.
grant execute on function private.has_role(text), private.is_admin(), private.is_communicator(),
  private.is_trusted(), private.require_role(text) to authenticated, service_role;
grant execute on function public.set_customer_consent(uuid, text, boolean, text, text) to authenticated, service_role;

-- Audit rows are written by triggers and security-definer RPCs only: a caller may not forge one.
revoke execute on function private.write_audit(text, text, text, jsonb, jsonb, jsonb) from authenticated;
