-- The customer timeline's store and the one way to write it. Sources' triggers (and later
-- segments, risk overrides and campaigns) call private.record_timeline_event in the same
-- transaction as their change; the unique event identity makes a repeated write a no-op.

create table public.customer_timeline_events (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references public.users (id) on delete cascade,
  event_type text not null constraint customer_timeline_events_event_type_is_known check (event_type in (
    'booking', 'payment', 'support', 'note', 'campaign', 'logistics', 'promotion',
    'insurance', 'consent', 'risk', 'tag', 'segment')),
  reference_id uuid,
  source_table text not null,
  -- identity of the change within its source row: 'created', 'status:confirmed@<time>', ...
  event_key text not null,
  occurred_at timestamptz not null,
  title text not null,
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  constraint customer_timeline_events_identity_key unique nulls not distinct (source_table, reference_id, event_key)
);
comment on table public.customer_timeline_events is
  'Everything that happened with a customer, written by triggers on the sources; (source_table, reference_id, event_key) is the identity of a change.';
create index customer_timeline_events_page_idx on public.customer_timeline_events (customer_id, occurred_at desc, id desc);

create or replace function private.record_timeline_event(
  customer_id uuid,
  event_type text,
  source_table text,
  reference_id uuid,
  event_key text,
  occurred_at timestamptz,
  title text,
  metadata jsonb default '{}'::jsonb
)
returns void
language sql
volatile
security definer
set search_path = ''
as $$
  insert into public.customer_timeline_events (customer_id, event_type, source_table, reference_id, event_key, occurred_at, title, metadata)
  select record_timeline_event.customer_id, record_timeline_event.event_type, record_timeline_event.source_table,
         record_timeline_event.reference_id, record_timeline_event.event_key, record_timeline_event.occurred_at,
         record_timeline_event.title, coalesce(record_timeline_event.metadata, '{}'::jsonb)
   where record_timeline_event.customer_id is not null
  on conflict on constraint customer_timeline_events_identity_key do nothing
$$;

alter table public.customer_timeline_events enable row level security;
revoke all on public.customer_timeline_events from anon, authenticated, service_role;
grant select on public.customer_timeline_events to authenticated, service_role;
create policy customer_timeline_events_select_admin on public.customer_timeline_events
  for select to authenticated using ((select private.is_admin()));
