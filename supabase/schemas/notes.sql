-- Notes
--
-- Staff notes on customers, private or shared with the customer.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE public.customer_notes (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    customer_id uuid NOT NULL,
    admin_id uuid DEFAULT auth.uid(),
    note text NOT NULL,
    type text DEFAULT 'info'::text NOT NULL,
    visibility text DEFAULT 'internal'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT customer_notes_note_length_1_to_10000 CHECK (((char_length(btrim(note)) >= 1) AND (char_length(note) <= 10000))),
    CONSTRAINT customer_notes_type_is_info_warning_or_action CHECK ((type = ANY (ARRAY['info'::text, 'warning'::text, 'action'::text]))),
    CONSTRAINT customer_notes_visibility_is_internal_or_shared CHECK ((visibility = ANY (ARRAY['internal'::text, 'shared'::text]))),
    CONSTRAINT customer_notes_pkey PRIMARY KEY (id),
    CONSTRAINT customer_notes_admin_id_fkey FOREIGN KEY (admin_id) REFERENCES public.users(id) ON DELETE SET NULL,
    CONSTRAINT customer_notes_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE
);

CREATE INDEX customer_notes_admin_id_idx ON public.customer_notes USING btree (admin_id);

CREATE INDEX customer_notes_customer_id_created_at_idx ON public.customer_notes USING btree (customer_id, created_at DESC);

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _010_set_updated_at BEFORE UPDATE ON public.customer_notes FOR EACH ROW EXECUTE FUNCTION private.tg_set_updated_at();

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

call private.staff_access('public.customer_notes', read_by => null, write_by => 'admin');

CREATE POLICY customer_notes_select_admin_or_own_shared ON public.customer_notes FOR SELECT TO authenticated USING ((( SELECT private.is_admin() AS is_admin) OR ((customer_id = ( SELECT auth.uid() AS uid)) AND (visibility = 'shared'::text))));

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select on table public.customer_notes to authenticated;
grant all on table public.customer_notes to service_role;

reset search_path;
reset check_function_bodies;
