-- Audit log
--
-- Append-only audit log of staff changes; the generic audit and refuse-change triggers.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE public.audit_log (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY,
    occurred_at timestamp with time zone DEFAULT now() NOT NULL,
    actor_id uuid,
    actor_role text NOT NULL,
    action text NOT NULL,
    entity text NOT NULL,
    entity_id text,
    before jsonb,
    after jsonb,
    context jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT audit_log_pkey PRIMARY KEY (id)
);

COMMENT ON TABLE public.audit_log IS 'Who changed what and when. Append-only: updates and deletes are refused for everyone.';

CREATE INDEX audit_log_actor_id_idx ON public.audit_log USING btree (actor_id, occurred_at DESC);

CREATE INDEX audit_log_entity_idx ON public.audit_log USING btree (entity, entity_id, occurred_at DESC);

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.audit_export(entity text, entity_id text, context jsonb) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform private.assert_staff('admin');
  return private.write_audit('export', audit_export.entity, audit_export.entity_id, null, null, audit_export.context);
end
$$;

COMMENT ON FUNCTION private.audit_export(entity text, entity_id text, context jsonb) IS 'An admin''s export of staff data, written to the audit log; refuses anyone else (42501).';

CREATE FUNCTION private.tg_audit() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  row_json jsonb := to_jsonb(case when tg_op = 'DELETE' then old else new end);
  key_text text;
begin
  select string_agg(row_json ->> k, ':' order by ord) into key_text
    from unnest(tg_argv) with ordinality as a(k, ord);
  perform private.write_audit(
    lower(tg_op), tg_table_name, key_text,
    case when tg_op in ('UPDATE', 'DELETE') then to_jsonb(old) end,
    case when tg_op in ('INSERT', 'UPDATE') then to_jsonb(new) end);
  return null;
end
$$;

CREATE FUNCTION private.tg_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  raise exception using errcode = '42501',
    message = format('%s is append-only: %s is not allowed', tg_table_name, lower(tg_op));
end
$$;

CREATE FUNCTION private.write_audit(action text, entity text, entity_id text, before jsonb DEFAULT NULL::jsonb, after jsonb DEFAULT NULL::jsonb, context jsonb DEFAULT '{}'::jsonb) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  insert into public.audit_log (actor_id, actor_role, action, entity, entity_id, before, after, context)
  values ((select auth.uid()), coalesce((select auth.role()), 'system'), write_audit.action, write_audit.entity,
          write_audit.entity_id, write_audit.before, write_audit.after, coalesce(write_audit.context, '{}'::jsonb))
  returning id
$$;

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _000_append_only BEFORE DELETE OR UPDATE ON public.audit_log FOR EACH ROW EXECUTE FUNCTION private.tg_refuse_change();

CREATE TRIGGER _000_append_only_truncate BEFORE TRUNCATE ON public.audit_log FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refuse_change();

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON public.user_roles FOR EACH ROW EXECUTE FUNCTION private.tg_audit('user_id', 'role');

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

call private.staff_access('public.audit_log', read_by => 'admin');

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select on table public.audit_log to service_role;
grant select, usage on sequence public.audit_log_id_seq to authenticated;
grant select, update, usage on sequence public.audit_log_id_seq to service_role;
grant execute on function private.write_audit(text,text,text,jsonb,jsonb,jsonb) to service_role;
grant execute on function private.audit_export(text,text,jsonb) to authenticated, service_role;

reset search_path;
reset check_function_bodies;
