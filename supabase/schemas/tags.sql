-- Tags
--
-- Customer tags and their assignments.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE public.customer_tag_members (
    customer_id uuid NOT NULL,
    tag_id uuid NOT NULL,
    assigned_by uuid DEFAULT auth.uid(),
    assigned_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT customer_tag_members_pkey PRIMARY KEY (customer_id, tag_id),
    CONSTRAINT customer_tag_members_assigned_by_fkey FOREIGN KEY (assigned_by) REFERENCES public.users(id) ON DELETE SET NULL,
    CONSTRAINT customer_tag_members_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE
);

CREATE TABLE public.customer_tags (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    color text DEFAULT '#64748B'::text NOT NULL,
    description text,
    created_by uuid DEFAULT auth.uid(),
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT customer_tags_color_is_hex_rrggbb CHECK ((color ~ '^#[0-9A-Fa-f]{6}$'::text)),
    CONSTRAINT customer_tags_description_max_500 CHECK ((char_length(description) <= 500)),
    CONSTRAINT customer_tags_name_length_1_to_64 CHECK (((char_length(btrim(name)) >= 1) AND (char_length(name) <= 64))),
    CONSTRAINT customer_tags_pkey PRIMARY KEY (id),
    CONSTRAINT customer_tags_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id) ON DELETE SET NULL
);

CREATE INDEX customer_tag_members_assigned_by_idx ON public.customer_tag_members USING btree (assigned_by);

CREATE INDEX customer_tag_members_tag_id_idx ON public.customer_tag_members USING btree (tag_id);

CREATE INDEX customer_tags_created_by_idx ON public.customer_tags USING btree (created_by);

CREATE UNIQUE INDEX customer_tags_name_key ON public.customer_tags USING btree (lower(name));

ALTER TABLE ONLY public.customer_tag_members
    ADD CONSTRAINT customer_tag_members_tag_id_fkey FOREIGN KEY (tag_id) REFERENCES public.customer_tags(id) ON DELETE CASCADE;

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON public.customer_tag_members FOR EACH ROW EXECUTE FUNCTION private.tg_audit('customer_id', 'tag_id');

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON public.customer_tags FOR EACH ROW EXECUTE FUNCTION private.tg_audit('id');

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

call private.staff_access('public.customer_tag_members', read_by => 'admin', write_by => 'admin');
call private.staff_access('public.customer_tags', read_by => 'admin', write_by => 'admin');

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant all on table
  public.customer_tag_members,
  public.customer_tags
to service_role;

reset search_path;
reset check_function_bodies;
