-- CRM core records: the audit log, tags and their assignments, internal notes, and consent
-- (current state plus an append-only history), with set_customer_consent as the way to change it.

-- ---------------------------------------------------------------------------------------------
-- Audit log: append-only, written by triggers and by RPCs through private.write_audit.
-- ---------------------------------------------------------------------------------------------

create table public.audit_log (
  id bigint generated always as identity primary key,
  occurred_at timestamptz not null default now(),
  actor_id uuid,
  actor_role text not null,
  action text not null,
  entity text not null,
  entity_id text,
  before jsonb,
  after jsonb,
  context jsonb not null default '{}'::jsonb
);
comment on table public.audit_log is 'Who changed what and when. Append-only: updates and deletes are refused for everyone.';
create index audit_log_entity_idx on public.audit_log (entity, entity_id, occurred_at desc);
create index audit_log_actor_id_idx on public.audit_log (actor_id, occurred_at desc);

create or replace function private.write_audit(
  action text, entity text, entity_id text, before jsonb default null, after jsonb default null,
  context jsonb default '{}'::jsonb
)
returns bigint
language sql
volatile
security definer
set search_path = ''
as $$
  insert into public.audit_log (actor_id, actor_role, action, entity, entity_id, before, after, context)
  values ((select auth.uid()), coalesce((select auth.role()), 'system'), write_audit.action, write_audit.entity,
          write_audit.entity_id, write_audit.before, write_audit.after, coalesce(write_audit.context, '{}'::jsonb))
  returning id
$$;

-- Trigger arguments name the key columns; the entity id is their values joined by ':'.
create or replace function private.tg_audit()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
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

create or replace function private.tg_refuse_change()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception using errcode = '42501',
    message = format('%s is append-only: %s is not allowed', tg_table_name, lower(tg_op));
end
$$;

create trigger _000_append_only before update or delete on public.audit_log
  for each row execute function private.tg_refuse_change();
create trigger _000_append_only_truncate before truncate on public.audit_log
  for each statement execute function private.tg_refuse_change();

alter table public.audit_log enable row level security;
revoke all on public.audit_log from anon, authenticated, service_role;
grant select on public.audit_log to authenticated, service_role;
create policy audit_log_select_admin on public.audit_log
  for select to authenticated using ((select private.is_admin()));

-- ---------------------------------------------------------------------------------------------
-- Tags
-- ---------------------------------------------------------------------------------------------

create table public.customer_tags (
  id uuid primary key default gen_random_uuid(),
  name text not null
    constraint customer_tags_name_length_1_to_64 check (char_length(btrim(name)) >= 1 and char_length(name) <= 64),
  color text not null default '#64748B'
    constraint customer_tags_color_is_hex_rrggbb check (color ~ '^#[0-9A-Fa-f]{6}$'),
  description text constraint customer_tags_description_max_500 check (char_length(description) <= 500),
  created_by uuid default auth.uid() references public.users (id) on delete set null,
  created_at timestamptz not null default now()
);
create unique index customer_tags_name_key on public.customer_tags (lower(name));
create index customer_tags_created_by_idx on public.customer_tags (created_by);

create table public.customer_tag_members (
  customer_id uuid not null references public.users (id) on delete cascade,
  tag_id uuid not null references public.customer_tags (id) on delete cascade,
  assigned_by uuid default auth.uid() references public.users (id) on delete set null,
  assigned_at timestamptz not null default now(),
  primary key (customer_id, tag_id)
);
create index customer_tag_members_tag_id_idx on public.customer_tag_members (tag_id);
create index customer_tag_members_assigned_by_idx on public.customer_tag_members (assigned_by);

create trigger _900_audit after insert or update or delete on public.customer_tags
  for each row execute function private.tg_audit('id');
create trigger _900_audit after insert or update or delete on public.customer_tag_members
  for each row execute function private.tg_audit('customer_id', 'tag_id');

-- ---------------------------------------------------------------------------------------------
-- Notes
-- ---------------------------------------------------------------------------------------------

create table public.customer_notes (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references public.users (id) on delete cascade,
  admin_id uuid default auth.uid() references public.users (id) on delete set null,
  note text not null
    constraint customer_notes_note_length_1_to_10000 check (char_length(btrim(note)) >= 1 and char_length(note) <= 10000),
  type text not null default 'info'
    constraint customer_notes_type_is_info_warning_or_action check (type in ('info', 'warning', 'action')),
  visibility text not null default 'internal'
    constraint customer_notes_visibility_is_internal_or_shared check (visibility in ('internal', 'shared')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index customer_notes_customer_id_created_at_idx on public.customer_notes (customer_id, created_at desc);
create index customer_notes_admin_id_idx on public.customer_notes (admin_id);
create trigger _010_set_updated_at before update on public.customer_notes
  for each row execute function private.tg_set_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Consent: current state per (customer, channel); no row means no consent.
-- ---------------------------------------------------------------------------------------------

create table public.customer_consent (
  customer_id uuid not null references public.users (id) on delete cascade,
  channel text not null constraint customer_consent_channel_is_email_sms_or_push check (channel in ('email', 'sms', 'push')),
  enabled boolean not null,
  granted_at timestamptz,
  revoked_at timestamptz,
  source text not null default 'admin'
    constraint customer_consent_source_is_known
    check (source in ('admin', 'self_service', 'signup', 'import', 'sendgrid', 'twilio_inbound', 'twilio_status', 'system')),
  note text constraint customer_consent_note_max_2000 check (char_length(note) <= 2000),
  updated_by uuid references public.users (id) on delete set null,
  updated_at timestamptz not null default now(),
  primary key (customer_id, channel)
);
create index customer_consent_updated_by_idx on public.customer_consent (updated_by);

create table public.customer_consent_history (
  id bigint generated always as identity primary key,
  customer_id uuid not null references public.users (id) on delete cascade,
  channel text not null,
  old_enabled boolean,
  new_enabled boolean not null,
  source text not null,
  note text,
  changed_by uuid,
  changed_at timestamptz not null default now()
);
comment on table public.customer_consent_history is 'Every consent change, append-only: the proof behind each send.';
create index customer_consent_history_customer_idx on public.customer_consent_history (customer_id, channel, changed_at desc);

-- Stamps grant/revoke times and the actor; a customer's own change is always self_service.
create or replace function private.tg_customer_consent__stamp()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not private.is_trusted() and not private.is_admin() then
    new.source := 'self_service';
  end if;
  if tg_op = 'INSERT' or new.enabled is distinct from old.enabled then
    if new.enabled then
      new.granted_at := now();
    else
      new.revoked_at := now();
    end if;
  end if;
  new.updated_by := auth.uid();
  new.updated_at := now();
  return new;
end
$$;

create or replace function private.tg_customer_consent__history()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.customer_consent_history (customer_id, channel, old_enabled, new_enabled, source, note, changed_by, changed_at)
  values (new.customer_id, new.channel, case when tg_op = 'UPDATE' then old.enabled end, new.enabled,
          new.source, new.note, new.updated_by, new.updated_at);
  return null;
end
$$;

-- History rows go only when their customer is erased (the cascade); nobody edits them.
create or replace function private.tg_customer_consent_history__append_only()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' and not exists (select 1 from public.users u where u.id = old.customer_id) then
    return old;
  end if;
  raise exception using errcode = '42501',
    message = format('customer_consent_history is append-only: %s is not allowed', lower(tg_op));
end
$$;

create trigger _010_stamp before insert or update on public.customer_consent
  for each row execute function private.tg_customer_consent__stamp();
create trigger _050_history after insert or update on public.customer_consent
  for each row execute function private.tg_customer_consent__history();
create trigger _900_audit after insert or update or delete on public.customer_consent
  for each row execute function private.tg_audit('customer_id', 'channel');
create trigger _000_append_only before update or delete on public.customer_consent_history
  for each row execute function private.tg_customer_consent_history__append_only();
create trigger _000_append_only_truncate before truncate on public.customer_consent_history
  for each statement execute function private.tg_refuse_change();

-- ---------------------------------------------------------------------------------------------
-- Row level security
-- ---------------------------------------------------------------------------------------------

alter table public.customer_tags enable row level security;
alter table public.customer_tag_members enable row level security;
alter table public.customer_notes enable row level security;
alter table public.customer_consent enable row level security;
alter table public.customer_consent_history enable row level security;

revoke all on public.customer_tags, public.customer_tag_members, public.customer_notes,
  public.customer_consent, public.customer_consent_history from anon;
grant select, insert, update, delete on public.customer_tags, public.customer_tag_members, public.customer_notes
  to authenticated, service_role;
-- Consent is revoked, never deleted; history is written by trigger only.
revoke all on public.customer_consent, public.customer_consent_history from authenticated, service_role;
grant select, insert, update on public.customer_consent to authenticated, service_role;
grant select on public.customer_consent_history to authenticated, service_role;

create policy customer_tags_select_admin on public.customer_tags
  for select to authenticated using ((select private.is_admin()));
create policy customer_tags_insert_admin on public.customer_tags
  for insert to authenticated with check ((select private.is_admin()));
create policy customer_tags_update_admin on public.customer_tags
  for update to authenticated using ((select private.is_admin())) with check ((select private.is_admin()));
create policy customer_tags_delete_admin on public.customer_tags
  for delete to authenticated using ((select private.is_admin()));

create policy customer_tag_members_select_admin on public.customer_tag_members
  for select to authenticated using ((select private.is_admin()));
create policy customer_tag_members_insert_admin on public.customer_tag_members
  for insert to authenticated with check ((select private.is_admin()));
create policy customer_tag_members_update_admin on public.customer_tag_members
  for update to authenticated using ((select private.is_admin())) with check ((select private.is_admin()));
create policy customer_tag_members_delete_admin on public.customer_tag_members
  for delete to authenticated using ((select private.is_admin()));

create policy customer_notes_select_admin_or_own_shared on public.customer_notes
  for select to authenticated
  using ((select private.is_admin()) or (customer_id = (select auth.uid()) and visibility = 'shared'));
create policy customer_notes_insert_admin on public.customer_notes
  for insert to authenticated with check ((select private.is_admin()));
create policy customer_notes_update_admin on public.customer_notes
  for update to authenticated using ((select private.is_admin())) with check ((select private.is_admin()));
create policy customer_notes_delete_admin on public.customer_notes
  for delete to authenticated using ((select private.is_admin()));

create policy customer_consent_select_admin_or_own on public.customer_consent
  for select to authenticated using ((select private.is_admin()) or customer_id = (select auth.uid()));
create policy customer_consent_insert_admin_or_own on public.customer_consent
  for insert to authenticated with check ((select private.is_admin()) or customer_id = (select auth.uid()));
create policy customer_consent_update_admin_or_own on public.customer_consent
  for update to authenticated
  using ((select private.is_admin()) or customer_id = (select auth.uid()))
  with check ((select private.is_admin()) or customer_id = (select auth.uid()));

create policy customer_consent_history_select_admin on public.customer_consent_history
  for select to authenticated using ((select private.is_admin()));

grant execute on function private.write_audit(text, text, text, jsonb, jsonb, jsonb) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- set_customer_consent: the one way a person changes consent (CONTRACT §7).
-- ---------------------------------------------------------------------------------------------

create or replace function public.set_customer_consent(
  customer_id uuid,
  channel text,
  enabled boolean,
  source text default 'admin',
  note text default null
)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  effective_source text := coalesce(set_customer_consent.source, 'admin');
  result public.customer_consent;
begin
  if set_customer_consent.customer_id is null then
    raise exception using errcode = '22023', message = 'customer_id: is required';
  end if;
  if set_customer_consent.channel is null or set_customer_consent.channel not in ('email', 'sms', 'push') then
    raise exception using errcode = '22023',
      message = format('channel: must be one of email, sms, push; got %s', coalesce(quote_literal(set_customer_consent.channel), 'null'));
  end if;
  if set_customer_consent.enabled is null then
    raise exception using errcode = '22023', message = 'enabled: must be true or false';
  end if;
  if not private.is_trusted() and not private.is_admin() then
    if auth.uid() is null or auth.uid() <> set_customer_consent.customer_id then
      raise exception using errcode = '42501', message = 'permission denied: a customer may change only their own consent';
    end if;
    effective_source := 'self_service';
  end if;
  if effective_source not in ('admin', 'self_service', 'signup', 'import', 'sendgrid', 'twilio_inbound', 'twilio_status', 'system') then
    raise exception using errcode = '22023',
      message = format('source: must be one of admin, self_service, signup, import, sendgrid, twilio_inbound, twilio_status, system; got %s',
                       quote_literal(effective_source));
  end if;
  if char_length(set_customer_consent.note) > 2000 then
    raise exception using errcode = '22023', message = 'note: must be at most 2000 characters';
  end if;
  if not exists (select 1 from public.users u where u.id = set_customer_consent.customer_id) then
    raise exception using errcode = '23503',
      message = format('customer_id: customer %s does not exist', set_customer_consent.customer_id);
  end if;

  insert into public.customer_consent as c (customer_id, channel, enabled, source, note)
  values (set_customer_consent.customer_id, set_customer_consent.channel, set_customer_consent.enabled,
          effective_source, set_customer_consent.note)
  on conflict on constraint customer_consent_pkey do update
    set enabled = excluded.enabled, source = excluded.source, note = excluded.note
  returning * into result;

  return jsonb_build_object(
    'customer_id', result.customer_id, 'channel', result.channel, 'enabled', result.enabled,
    'granted_at', result.granted_at, 'revoked_at', result.revoked_at, 'source', result.source,
    'note', result.note, 'updated_at', result.updated_at);
end
$$;

grant execute on function public.set_customer_consent(uuid, text, boolean, text, text) to authenticated, service_role;
