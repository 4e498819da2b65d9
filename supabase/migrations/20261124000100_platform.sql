-- Platform: the tables that exist before the CRM (created only where absent), the staff
-- roles table and the permission helpers every later policy and RPC relies on.

create extension if not exists pg_cron with schema pg_catalog;
create extension if not exists pgcrypto with schema extensions;

-- Privileged helpers, trigger functions and cron targets live here; PostgREST does not expose it.
create schema if not exists private;
revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;

-- Revoke by default, grant explicitly.
alter default privileges in schema public revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions from anon, authenticated, service_role;
alter default privileges in schema private revoke execute on functions from public;

-- ---------------------------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------------------------

create table if not exists public.users (
  id uuid primary key references auth.users (id) on delete cascade,
  email text,
  phone text constraint users_phone_is_e164 check (phone ~ '^\+[1-9][0-9]{6,14}$'),
  full_name text,
  city text,
  region text,
  country_code text constraint users_country_code_is_iso2 check (country_code ~ '^[A-Z]{2}$'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.users
  add column if not exists risk_score numeric(5, 2)
    constraint users_risk_score_between_0_and_100 check (risk_score between 0 and 100),
  add column if not exists lifetime_value numeric(12, 2),
  add column if not exists preferred_contact_method text
    constraint users_preferred_contact_method_is_channel check (preferred_contact_method in ('email', 'sms', 'push')),
  add column if not exists account_manager_id uuid references public.users (id) on delete set null;
create unique index if not exists users_email_key on public.users (lower(email));
create index if not exists users_account_manager_id_idx on public.users (account_manager_id);

create table if not exists public.user_roles (
  user_id uuid not null references public.users (id) on delete cascade,
  role text not null constraint user_roles_role_is_known check (role in ('admin', 'communications')),
  granted_at timestamptz not null default now(),
  primary key (user_id, role)
);

create table if not exists public.equipment_categories (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique constraint equipment_categories_slug_format check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
  name text not null
);

create table if not exists public.equipment (
  id uuid primary key default gen_random_uuid(),
  category_id uuid not null references public.equipment_categories (id),
  name text not null
);
create index if not exists equipment_category_id_idx on public.equipment (category_id);

create table if not exists public.bookings (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references public.users (id) on delete cascade,
  status text not null default 'pending'
    constraint bookings_status_is_known check (status in ('pending', 'confirmed', 'active', 'completed', 'cancelled')),
  start_date date not null,
  end_date date not null,
  total_amount numeric(12, 2) not null default 0 constraint bookings_total_amount_not_negative check (total_amount >= 0),
  payment_due_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint bookings_end_date_not_before_start_date check (end_date >= start_date)
);
create index if not exists bookings_customer_id_idx on public.bookings (customer_id);

create table if not exists public.booking_items (
  booking_id uuid not null references public.bookings (id) on delete cascade,
  equipment_id uuid not null references public.equipment (id),
  quantity integer not null default 1 constraint booking_items_quantity_positive check (quantity > 0),
  primary key (booking_id, equipment_id)
);
create index if not exists booking_items_equipment_id_idx on public.booking_items (equipment_id);

create table if not exists public.logistics_tasks (
  id uuid primary key default gen_random_uuid(),
  booking_id uuid not null references public.bookings (id) on delete cascade,
  kind text not null constraint logistics_tasks_kind_is_known check (kind in ('delivery', 'pickup')),
  status text not null default 'scheduled'
    constraint logistics_tasks_status_is_known check (status in ('scheduled', 'in_transit', 'done', 'failed')),
  scheduled_for timestamptz not null,
  completed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists logistics_tasks_booking_id_idx on public.logistics_tasks (booking_id);

create table if not exists public.payments (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references public.users (id) on delete cascade,
  booking_id uuid references public.bookings (id) on delete set null,
  amount numeric(12, 2) not null,
  currency text not null default 'EUR' constraint payments_currency_is_iso4217 check (currency ~ '^[A-Z]{3}$'),
  status text not null default 'pending'
    constraint payments_status_is_known check (status in ('pending', 'succeeded', 'failed', 'refunded')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists payments_customer_id_idx on public.payments (customer_id);
create index if not exists payments_booking_id_idx on public.payments (booking_id);

create table if not exists public.manual_payments (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references public.users (id) on delete cascade,
  booking_id uuid references public.bookings (id) on delete set null,
  amount numeric(12, 2) not null,
  method text not null,
  recorded_by uuid references public.users (id) on delete set null,
  received_at timestamptz not null default now(),
  created_at timestamptz not null default now()
);
create index if not exists manual_payments_customer_id_idx on public.manual_payments (customer_id);
create index if not exists manual_payments_booking_id_idx on public.manual_payments (booking_id);
create index if not exists manual_payments_recorded_by_idx on public.manual_payments (recorded_by);

create table if not exists public.support_tickets (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references public.users (id) on delete cascade,
  subject text not null,
  status text not null default 'open'
    constraint support_tickets_status_is_known check (status in ('open', 'pending', 'resolved', 'closed')),
  priority text not null default 'normal'
    constraint support_tickets_priority_is_known check (priority in ('low', 'normal', 'high', 'urgent')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists support_tickets_customer_id_idx on public.support_tickets (customer_id);

create table if not exists public.support_messages (
  id uuid primary key default gen_random_uuid(),
  ticket_id uuid not null references public.support_tickets (id) on delete cascade,
  sender_id uuid references public.users (id) on delete set null,
  body text not null,
  created_at timestamptz not null default now()
);
create index if not exists support_messages_ticket_id_idx on public.support_messages (ticket_id);
create index if not exists support_messages_sender_id_idx on public.support_messages (sender_id);

create table if not exists public.insurance_documents (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references public.users (id) on delete cascade,
  booking_id uuid references public.bookings (id) on delete set null,
  kind text not null,
  status text not null default 'pending'
    constraint insurance_documents_status_is_known check (status in ('pending', 'valid', 'expired', 'rejected')),
  expires_at date,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists insurance_documents_customer_id_idx on public.insurance_documents (customer_id);
create index if not exists insurance_documents_booking_id_idx on public.insurance_documents (booking_id);

create table if not exists public.email_logs (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid references public.users (id) on delete cascade,
  to_email text not null,
  subject text,
  status text not null default 'sent',
  provider_message_id text,
  campaign_id uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists email_logs_customer_id_idx on public.email_logs (customer_id);
create index if not exists email_logs_campaign_id_idx on public.email_logs (campaign_id);

create table if not exists public.customer_segments (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  description text,
  definition jsonb not null,
  created_by uuid references public.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists customer_segments_created_by_idx on public.customer_segments (created_by);

create table if not exists public.alerts (
  id uuid primary key default gen_random_uuid(),
  kind text not null,
  severity text not null default 'info' constraint alerts_severity_is_known check (severity in ('info', 'warning', 'critical')),
  title text not null,
  body text,
  customer_id uuid references public.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  acknowledged_at timestamptz,
  acknowledged_by uuid references public.users (id) on delete set null
);
create index if not exists alerts_customer_id_idx on public.alerts (customer_id);
create index if not exists alerts_acknowledged_by_idx on public.alerts (acknowledged_by);
create index if not exists alerts_unacknowledged_idx on public.alerts (created_at desc) where acknowledged_at is null;

-- ---------------------------------------------------------------------------------------------
-- Permission helpers
-- ---------------------------------------------------------------------------------------------

-- Reads user_roles past RLS; policies call it wrapped in (select ...) so it runs once per statement.
create or replace function private.has_role(role_name text)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.user_roles ur
     where ur.user_id = (select auth.uid()) and ur.role = has_role.role_name
  )
$$;

create or replace function private.is_admin()
returns boolean
language sql
stable
set search_path = ''
as $$
  select private.has_role('admin')
$$;

create or replace function private.is_communicator()
returns boolean
language sql
stable
set search_path = ''
as $$
  select private.has_role('admin') and private.has_role('communications')
$$;

-- Server-side roles (service_role, postgres: cron, migrations) act with full rights.
create or replace function private.is_trusted()
returns boolean
language sql
stable
set search_path = ''
as $$
  select current_user in ('postgres', 'service_role', 'supabase_admin')
$$;

-- Raises 42501 unless the caller holds the role ('admin', or 'communications' which also needs admin).
-- Security invoker on purpose: current_user must be the caller's role.
create or replace function private.require_role(role_name text)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if private.is_trusted() then
    return;
  end if;
  if auth.uid() is null then
    raise exception using errcode = '42501', message = 'permission denied: sign in as staff first';
  end if;
  if not private.has_role('admin') or (require_role.role_name <> 'admin' and not private.has_role(require_role.role_name)) then
    raise exception using errcode = '42501',
      message = format('permission denied: the %s role is required', require_role.role_name);
  end if;
end
$$;

create or replace function private.tg_set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

grant execute on function private.has_role(text), private.is_admin(), private.is_communicator(),
  private.is_trusted(), private.require_role(text) to authenticated, service_role;

do $$
declare t text;
begin
  foreach t in array array['users', 'bookings', 'logistics_tasks', 'payments', 'support_tickets',
                           'insurance_documents', 'email_logs', 'customer_segments'] loop
    execute format('drop trigger if exists %I on public.%I', '_010_set_updated_at', t);
    execute format('create trigger %I before update on public.%I for each row execute function private.tg_set_updated_at()',
                   '_010_set_updated_at', t);
  end loop;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Row level security: staff with `admin` read and write the platform tables; a customer reads
-- their own users row and their own roles (none); anon has no privileges at all.
-- ---------------------------------------------------------------------------------------------

do $$
declare t text;
begin
  foreach t in array array['users', 'user_roles', 'equipment_categories', 'equipment', 'bookings', 'booking_items',
                           'logistics_tasks', 'payments', 'manual_payments', 'support_tickets', 'support_messages',
                           'insurance_documents', 'email_logs', 'customer_segments', 'alerts'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('revoke all on public.%I from anon', t);
    execute format('grant select, insert, update, delete on public.%I to authenticated, service_role', t);
  end loop;

  -- One policy per (table, command, role); users and user_roles get their own select policy below.
  foreach t in array array['equipment_categories', 'equipment', 'bookings', 'booking_items', 'logistics_tasks',
                           'payments', 'manual_payments', 'support_tickets', 'support_messages',
                           'insurance_documents', 'email_logs', 'customer_segments', 'alerts'] loop
    execute format('create policy %I on public.%I for select to authenticated using ((select private.is_admin()))',
                   t || '_select_admin', t);
  end loop;
  foreach t in array array['users', 'equipment_categories', 'equipment', 'bookings', 'booking_items', 'logistics_tasks',
                           'payments', 'manual_payments', 'support_tickets', 'support_messages',
                           'insurance_documents', 'email_logs', 'customer_segments', 'alerts'] loop
    execute format('create policy %I on public.%I for insert to authenticated with check ((select private.is_admin()))',
                   t || '_insert_admin', t);
    execute format('create policy %I on public.%I for update to authenticated using ((select private.is_admin())) with check ((select private.is_admin()))',
                   t || '_update_admin', t);
    execute format('create policy %I on public.%I for delete to authenticated using ((select private.is_admin()))',
                   t || '_delete_admin', t);
  end loop;
end $$;

create policy users_select_self_or_admin on public.users
  for select to authenticated
  using (id = (select auth.uid()) or (select private.is_admin()));

-- Roles are granted by the service role only; staff and users may read their own.
revoke insert, update, delete on public.user_roles from authenticated;
create policy user_roles_select_self_or_admin on public.user_roles
  for select to authenticated
  using (user_id = (select auth.uid()) or (select private.is_admin()));
