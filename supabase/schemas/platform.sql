-- Platform
--
-- The business tables that exist before the CRM (users, equipment, bookings, payments,
-- support, insurance, e-mail logs), the private schema for privileged helpers, and the defaults
-- that make every grant explicit.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

create extension if not exists pg_cron with schema pg_catalog;
create extension if not exists pgcrypto with schema extensions;

-- Privileged helpers, trigger functions and cron targets live here; PostgREST does not expose it.
create schema if not exists private;

-- Revoke by default, grant explicitly. A per-schema ALTER DEFAULT PRIVILEGES cannot take back
-- the global default, hence the global revoke as well.
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions from anon, authenticated, service_role;
alter default privileges in schema private revoke execute on functions from public;
-- Supabase's platform grants anon, authenticated and service_role everything created in public by
-- default: take that back, so each object grants what each role needs (docs/api.md, grants).
alter default privileges for role postgres in schema public revoke all on tables from public, anon, authenticated, service_role;
alter default privileges for role postgres in schema public revoke all on sequences from public, anon, authenticated, service_role;
alter default privileges for role postgres in schema public revoke all on functions from public, anon, authenticated, service_role;
alter default privileges for role postgres in schema private revoke all on tables from public, anon, authenticated, service_role;
alter default privileges for role postgres in schema private revoke all on sequences from public, anon, authenticated, service_role;

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE public.bookings (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    customer_id uuid NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    start_date date NOT NULL,
    end_date date NOT NULL,
    total_amount numeric(12,2) DEFAULT 0 NOT NULL,
    payment_due_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT bookings_end_date_not_before_start_date CHECK ((end_date >= start_date)),
    CONSTRAINT bookings_status_is_known CHECK ((status = ANY (ARRAY['pending'::text, 'confirmed'::text, 'active'::text, 'completed'::text, 'cancelled'::text]))),
    CONSTRAINT bookings_total_amount_not_negative CHECK ((total_amount >= (0)::numeric)),
    CONSTRAINT bookings_pkey PRIMARY KEY (id)
);

CREATE TABLE public.email_logs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    customer_id uuid,
    to_email text NOT NULL,
    subject text,
    status text DEFAULT 'sent'::text NOT NULL,
    provider_message_id text,
    campaign_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    recipient_id uuid,
    CONSTRAINT email_logs_pkey PRIMARY KEY (id)
);

CREATE TABLE public.insurance_documents (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    customer_id uuid NOT NULL,
    booking_id uuid,
    kind text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    expires_at date,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT insurance_documents_status_is_known CHECK ((status = ANY (ARRAY['pending'::text, 'valid'::text, 'expired'::text, 'rejected'::text]))),
    CONSTRAINT insurance_documents_pkey PRIMARY KEY (id),
    CONSTRAINT insurance_documents_booking_id_fkey FOREIGN KEY (booking_id) REFERENCES public.bookings(id) ON DELETE SET NULL
);

CREATE TABLE public.logistics_tasks (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    booking_id uuid NOT NULL,
    kind text NOT NULL,
    status text DEFAULT 'scheduled'::text NOT NULL,
    scheduled_for timestamp with time zone NOT NULL,
    completed_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT logistics_tasks_kind_is_known CHECK ((kind = ANY (ARRAY['delivery'::text, 'pickup'::text]))),
    CONSTRAINT logistics_tasks_status_is_known CHECK ((status = ANY (ARRAY['scheduled'::text, 'in_transit'::text, 'done'::text, 'failed'::text]))),
    CONSTRAINT logistics_tasks_pkey PRIMARY KEY (id),
    CONSTRAINT logistics_tasks_booking_id_fkey FOREIGN KEY (booking_id) REFERENCES public.bookings(id) ON DELETE CASCADE
);

CREATE TABLE public.manual_payments (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    customer_id uuid NOT NULL,
    booking_id uuid,
    amount numeric(12,2) NOT NULL,
    method text NOT NULL,
    recorded_by uuid,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT manual_payments_pkey PRIMARY KEY (id),
    CONSTRAINT manual_payments_booking_id_fkey FOREIGN KEY (booking_id) REFERENCES public.bookings(id) ON DELETE SET NULL
);

CREATE TABLE public.payments (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    customer_id uuid NOT NULL,
    booking_id uuid,
    amount numeric(12,2) NOT NULL,
    currency text DEFAULT 'EUR'::text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT payments_currency_is_iso4217 CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT payments_status_is_known CHECK ((status = ANY (ARRAY['pending'::text, 'succeeded'::text, 'failed'::text, 'refunded'::text]))),
    CONSTRAINT payments_pkey PRIMARY KEY (id),
    CONSTRAINT payments_booking_id_fkey FOREIGN KEY (booking_id) REFERENCES public.bookings(id) ON DELETE SET NULL
);

CREATE TABLE public.support_messages (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    ticket_id uuid NOT NULL,
    sender_id uuid,
    body text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT support_messages_pkey PRIMARY KEY (id)
);

CREATE TABLE public.support_tickets (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    customer_id uuid NOT NULL,
    subject text NOT NULL,
    status text DEFAULT 'open'::text NOT NULL,
    priority text DEFAULT 'normal'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT support_tickets_priority_is_known CHECK ((priority = ANY (ARRAY['low'::text, 'normal'::text, 'high'::text, 'urgent'::text]))),
    CONSTRAINT support_tickets_status_is_known CHECK ((status = ANY (ARRAY['open'::text, 'pending'::text, 'resolved'::text, 'closed'::text]))),
    CONSTRAINT support_tickets_pkey PRIMARY KEY (id)
);

CREATE TABLE public.users (
    id uuid NOT NULL,
    email text,
    phone text,
    full_name text,
    city text,
    region text,
    country_code text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    risk_score numeric(5,2),
    lifetime_value numeric(12,2),
    preferred_contact_method text,
    account_manager_id uuid,
    erased_at timestamp with time zone,
    time_zone text,
    CONSTRAINT users_country_code_is_iso2 CHECK ((country_code ~ '^[A-Z]{2}$'::text)),
    CONSTRAINT users_phone_is_e164 CHECK ((phone ~ '^\+[1-9][0-9]{6,14}$'::text)),
    CONSTRAINT users_preferred_contact_method_is_channel CHECK ((preferred_contact_method = ANY (ARRAY['email'::text, 'sms'::text, 'push'::text]))),
    CONSTRAINT users_risk_score_between_0_and_100 CHECK (((risk_score >= (0)::numeric) AND (risk_score <= (100)::numeric))),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_account_manager_id_fkey FOREIGN KEY (account_manager_id) REFERENCES public.users(id) ON DELETE SET NULL,
    CONSTRAINT users_id_fkey FOREIGN KEY (id) REFERENCES auth.users(id) ON DELETE CASCADE
);

COMMENT ON COLUMN public.users.erased_at IS 'Set by erase_customer: the person''s data was pseudonymised; the row stays for the ledger''s keys.';

COMMENT ON COLUMN public.users.time_zone IS 'IANA time zone (e.g. Europe/Oslo); null: derived from country_code/region where one zone fits, else the default_time_zone setting.';

CREATE TABLE public.booking_items (
    booking_id uuid NOT NULL,
    equipment_id uuid NOT NULL,
    quantity integer DEFAULT 1 NOT NULL,
    CONSTRAINT booking_items_quantity_positive CHECK ((quantity > 0)),
    CONSTRAINT booking_items_pkey PRIMARY KEY (booking_id, equipment_id),
    CONSTRAINT booking_items_booking_id_fkey FOREIGN KEY (booking_id) REFERENCES public.bookings(id) ON DELETE CASCADE
);

CREATE TABLE public.equipment (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    category_id uuid NOT NULL,
    name text NOT NULL,
    CONSTRAINT equipment_pkey PRIMARY KEY (id)
);

CREATE TABLE public.equipment_categories (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    slug text NOT NULL,
    name text NOT NULL,
    CONSTRAINT equipment_categories_slug_format CHECK ((slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'::text)),
    CONSTRAINT equipment_categories_pkey PRIMARY KEY (id),
    CONSTRAINT equipment_categories_slug_key UNIQUE (slug)
);

CREATE INDEX booking_items_equipment_id_idx ON public.booking_items USING btree (equipment_id);

CREATE INDEX bookings_customer_id_idx ON public.bookings USING btree (customer_id);

CREATE INDEX email_logs_campaign_id_idx ON public.email_logs USING btree (campaign_id);

CREATE INDEX email_logs_customer_id_idx ON public.email_logs USING btree (customer_id);

CREATE INDEX email_logs_recipient_id_idx ON public.email_logs USING btree (recipient_id);

CREATE INDEX equipment_category_id_idx ON public.equipment USING btree (category_id);

CREATE INDEX insurance_documents_booking_id_idx ON public.insurance_documents USING btree (booking_id);

CREATE INDEX insurance_documents_customer_id_idx ON public.insurance_documents USING btree (customer_id);

CREATE INDEX logistics_tasks_booking_id_idx ON public.logistics_tasks USING btree (booking_id);

CREATE INDEX manual_payments_booking_id_idx ON public.manual_payments USING btree (booking_id);

CREATE INDEX manual_payments_customer_id_idx ON public.manual_payments USING btree (customer_id);

CREATE INDEX manual_payments_recorded_by_idx ON public.manual_payments USING btree (recorded_by);

CREATE INDEX payments_booking_id_idx ON public.payments USING btree (booking_id);

CREATE INDEX payments_customer_id_idx ON public.payments USING btree (customer_id);

CREATE INDEX support_messages_sender_id_idx ON public.support_messages USING btree (sender_id);

CREATE INDEX support_messages_ticket_id_idx ON public.support_messages USING btree (ticket_id);

CREATE INDEX support_tickets_customer_id_idx ON public.support_tickets USING btree (customer_id);

CREATE INDEX users_account_manager_id_idx ON public.users USING btree (account_manager_id);

CREATE UNIQUE INDEX users_email_key ON public.users USING btree (lower(email));

ALTER TABLE ONLY public.booking_items
    ADD CONSTRAINT booking_items_equipment_id_fkey FOREIGN KEY (equipment_id) REFERENCES public.equipment(id);

ALTER TABLE ONLY public.bookings
    ADD CONSTRAINT bookings_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.email_logs
    ADD CONSTRAINT email_logs_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.equipment
    ADD CONSTRAINT equipment_category_id_fkey FOREIGN KEY (category_id) REFERENCES public.equipment_categories(id);

ALTER TABLE ONLY public.insurance_documents
    ADD CONSTRAINT insurance_documents_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.manual_payments
    ADD CONSTRAINT manual_payments_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.manual_payments
    ADD CONSTRAINT manual_payments_recorded_by_fkey FOREIGN KEY (recorded_by) REFERENCES public.users(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.payments
    ADD CONSTRAINT payments_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.support_messages
    ADD CONSTRAINT support_messages_sender_id_fkey FOREIGN KEY (sender_id) REFERENCES public.users(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.support_messages
    ADD CONSTRAINT support_messages_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES public.support_tickets(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.support_tickets
    ADD CONSTRAINT support_tickets_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE;

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.tg_delete_dependents() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  -- after a statement deleted rows (REFERENCING OLD TABLE AS old_rows), delete the rows that name
  -- them in column tg_argv[0] of each table tg_argv[1..]
  for i in 1 .. tg_nargs - 1 loop
    execute format('delete from %s d where d.%I in (select o.id from old_rows o)', tg_argv[i]::regclass, tg_argv[0]);
  end loop;
  return null;
end
$$;

CREATE FUNCTION private.tg_set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  new.updated_at := now();
  return new;
end
$$;

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _010_set_updated_at BEFORE UPDATE ON public.bookings FOR EACH ROW EXECUTE FUNCTION private.tg_set_updated_at();

CREATE TRIGGER _010_set_updated_at BEFORE UPDATE ON public.email_logs FOR EACH ROW EXECUTE FUNCTION private.tg_set_updated_at();

CREATE TRIGGER _010_set_updated_at BEFORE UPDATE ON public.insurance_documents FOR EACH ROW EXECUTE FUNCTION private.tg_set_updated_at();

CREATE TRIGGER _010_set_updated_at BEFORE UPDATE ON public.logistics_tasks FOR EACH ROW EXECUTE FUNCTION private.tg_set_updated_at();

CREATE TRIGGER _010_set_updated_at BEFORE UPDATE ON public.payments FOR EACH ROW EXECUTE FUNCTION private.tg_set_updated_at();

CREATE TRIGGER _010_set_updated_at BEFORE UPDATE ON public.support_tickets FOR EACH ROW EXECUTE FUNCTION private.tg_set_updated_at();

CREATE TRIGGER _010_set_updated_at BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION private.tg_set_updated_at();

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

-- Every table above: row-level security on, with its policies, in roles_and_permissions.sql (they ask
-- its role helpers, defined after this file).

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

revoke all on schema private from public, anon, authenticated, service_role;
grant usage on schema private to authenticated, service_role;
-- authenticated is granted what the policies in roles_and_permissions.sql allow.
grant all on table
  public.booking_items,
  public.bookings,
  public.email_logs,
  public.equipment,
  public.equipment_categories,
  public.insurance_documents,
  public.logistics_tasks,
  public.manual_payments,
  public.payments,
  public.support_messages,
  public.support_tickets
to service_role;
grant select, insert, update, truncate, references, trigger on table public.users to service_role;

reset search_path;
reset check_function_bodies;
