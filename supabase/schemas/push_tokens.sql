-- Push tokens
--
-- Customers' Expo push tokens.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE public.customer_push_tokens (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    customer_id uuid NOT NULL,
    token text NOT NULL,
    platform text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    disabled_at timestamp with time zone,
    CONSTRAINT customer_push_tokens_platform_is_known CHECK ((platform = ANY (ARRAY['ios'::text, 'android'::text, 'web'::text]))),
    CONSTRAINT customer_push_tokens_token_is_expo CHECK ((token ~ '^Expo(nent)?PushToken\[[A-Za-z0-9_-]+\]$'::text)),
    CONSTRAINT customer_push_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT customer_push_tokens_token_key UNIQUE (token),
    CONSTRAINT customer_push_tokens_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE
);

CREATE INDEX customer_push_tokens_customer_id_idx ON public.customer_push_tokens USING btree (customer_id, last_seen_at DESC) WHERE (disabled_at IS NULL);

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.register_push_token(token text, platform text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  me uuid := auth.uid();
  previous uuid;
begin
  if me is null then
    raise exception using errcode = '42501', message = 'permission denied: sign in to register a push token';
  end if;
  if register_push_token.token is null or register_push_token.token !~ '^Expo(nent)?PushToken\[[A-Za-z0-9_-]+\]$'
     or char_length(register_push_token.token) > 200 then
    raise exception using errcode = '22023', message = 'token: must be an Expo push token, ExponentPushToken[...]';
  end if;
  if register_push_token.platform is not null and register_push_token.platform not in ('ios', 'android', 'web') then
    raise exception using errcode = '22023', message = 'platform: must be ios, android or web';
  end if;
  select t.customer_id into previous from public.customer_push_tokens t where t.token = register_push_token.token for update;
  insert into public.customer_push_tokens (customer_id, token, platform)
  values (me, register_push_token.token, register_push_token.platform)
  on conflict on constraint customer_push_tokens_token_key do update
    set customer_id = excluded.customer_id,
        platform = coalesce(excluded.platform, public.customer_push_tokens.platform),
        last_seen_at = now(),
        disabled_at = null;
  if previous is not null and previous <> me then
    update public.campaign_recipients r
       set status = 'skipped_no_address', last_error = 'the push token moved to another account', updated_at = now()
     where r.customer_id = previous and r.channel = 'push' and r.status = 'queued' and r.address = register_push_token.token;
  end if;
  return jsonb_build_object('token', register_push_token.token, 'registered', true);
end
$_$;

CREATE FUNCTION private.unregister_push_token(token text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if auth.uid() is null then
    raise exception using errcode = '42501', message = 'permission denied: sign in to unregister a push token';
  end if;
  update public.customer_push_tokens t set disabled_at = now()
   where t.token = unregister_push_token.token and t.customer_id = auth.uid() and t.disabled_at is null;
  return jsonb_build_object('token', unregister_push_token.token, 'registered', false);
end
$$;

CREATE FUNCTION public.register_push_token(token text, platform text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  select private.register_push_token(register_push_token.token, register_push_token.platform)
$$;

CREATE FUNCTION public.unregister_push_token(token text) RETURNS jsonb
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  select private.unregister_push_token(unregister_push_token.token)
$$;

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

call private.staff_access('public.customer_push_tokens', read_by => null, write_by => 'admin', writes => '{insert,update}');

CREATE POLICY customer_push_tokens_delete_admin_or_own ON public.customer_push_tokens FOR DELETE TO authenticated USING ((( SELECT private.is_admin() AS is_admin) OR (customer_id = ( SELECT auth.uid() AS uid))));

CREATE POLICY customer_push_tokens_select_admin_or_own ON public.customer_push_tokens FOR SELECT TO authenticated USING ((( SELECT private.is_admin() AS is_admin) OR (customer_id = ( SELECT auth.uid() AS uid))));

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select, insert, update, delete on table public.customer_push_tokens to service_role;
grant select, delete on table public.customer_push_tokens to authenticated;
grant execute on function
  private.register_push_token(text,text),
  private.unregister_push_token(text),
  public.register_push_token(text,text),
  public.unregister_push_token(text)
to authenticated, service_role;

reset search_path;
reset check_function_bodies;
