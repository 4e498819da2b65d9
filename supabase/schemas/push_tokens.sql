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
-- Row-level security
-- ------------------------------------------------------------------------------------------------

ALTER TABLE public.customer_push_tokens ENABLE ROW LEVEL SECURITY;

CREATE POLICY customer_push_tokens_delete_admin_or_own ON public.customer_push_tokens FOR DELETE TO authenticated USING ((( SELECT private.is_admin() AS is_admin) OR (customer_id = ( SELECT auth.uid() AS uid))));

CREATE POLICY customer_push_tokens_insert_admin_or_own ON public.customer_push_tokens FOR INSERT TO authenticated WITH CHECK ((( SELECT private.is_admin() AS is_admin) OR (customer_id = ( SELECT auth.uid() AS uid))));

CREATE POLICY customer_push_tokens_select_admin_or_own ON public.customer_push_tokens FOR SELECT TO authenticated USING ((( SELECT private.is_admin() AS is_admin) OR (customer_id = ( SELECT auth.uid() AS uid))));

CREATE POLICY customer_push_tokens_update_admin_or_own ON public.customer_push_tokens FOR UPDATE TO authenticated USING ((( SELECT private.is_admin() AS is_admin) OR (customer_id = ( SELECT auth.uid() AS uid)))) WITH CHECK ((( SELECT private.is_admin() AS is_admin) OR (customer_id = ( SELECT auth.uid() AS uid))));

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

revoke all on table public.customer_push_tokens from public, anon, authenticated, service_role;
grant select, insert, update, delete on table public.customer_push_tokens to authenticated, service_role;

reset search_path;
reset check_function_bodies;
