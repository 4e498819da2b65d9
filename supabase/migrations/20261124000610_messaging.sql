-- Bulk messaging: templates, campaigns, frozen audiences, the recipients queue, suppressions,
-- push tokens, settings (frequency cap, dispatch), and the database side of dispatch: claiming
-- under a lease with a shared token bucket, consent re-checked at the moment of sending, and
-- completion that logs, writes the timeline and closes the campaign.

-- ---------------------------------------------------------------------------------------------
-- Settings
-- ---------------------------------------------------------------------------------------------

create table public.messaging_settings (
  key text primary key constraint messaging_settings_key_is_known check (key in ('frequency_cap', 'dispatch')),
  value jsonb not null,
  updated_by uuid default auth.uid() references public.users (id) on delete set null,
  updated_at timestamptz not null default now()
);
comment on table public.messaging_settings is
  'frequency_cap: {"email":{"max":3,"days":7},...} (off unless set); dispatch: {"max_attempts":5,"lease_seconds":60,"base_backoff_seconds":5}';
create index messaging_settings_updated_by_idx on public.messaging_settings (updated_by);

create or replace function private.tg_messaging_settings__validate()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  ch text;
  rule jsonb;
begin
  if new.key = 'frequency_cap' then
    if jsonb_typeof(new.value) <> 'object' then
      raise exception using errcode = '22023', message = 'value: frequency_cap must be an object keyed by channel';
    end if;
    for ch, rule in select * from jsonb_each(new.value) loop
      if ch not in ('email', 'sms', 'push') then
        raise exception using errcode = '22023', message = format('value.%s: not a channel; use email, sms or push', ch);
      end if;
      if jsonb_typeof(rule -> 'max') <> 'number' or (rule ->> 'max')::numeric < 1 or (rule ->> 'max')::numeric <> trunc((rule ->> 'max')::numeric)
         or jsonb_typeof(rule -> 'days') <> 'number' or (rule ->> 'days')::numeric not between 1 and 365
         or (rule ->> 'days')::numeric <> trunc((rule ->> 'days')::numeric) then
        raise exception using errcode = '22023',
          message = format('value.%s: must be {"max": integer >= 1, "days": integer 1..365}', ch);
      end if;
    end loop;
  elsif new.key = 'dispatch' then
    if jsonb_typeof(new.value) <> 'object' or exists (
         select 1 from jsonb_each(new.value) e(k, v)
          where k not in ('max_attempts', 'lease_seconds', 'base_backoff_seconds', 'max_backoff_seconds')
             or jsonb_typeof(v) <> 'number' or (v #>> '{}')::numeric <= 0) then
      raise exception using errcode = '22023',
        message = 'value: dispatch takes positive numbers max_attempts, lease_seconds, base_backoff_seconds, max_backoff_seconds';
    end if;
  end if;
  new.updated_by := auth.uid();
  new.updated_at := now();
  return new;
end
$$;

create trigger _010_validate before insert or update on public.messaging_settings
  for each row execute function private.tg_messaging_settings__validate();
create trigger _900_audit after insert or update or delete on public.messaging_settings
  for each row execute function private.tg_audit('key');

create or replace function private.dispatch_setting(name text, fallback numeric)
returns numeric
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce((select (s.value ->> dispatch_setting.name)::numeric from public.messaging_settings s where s.key = 'dispatch'),
                  dispatch_setting.fallback)
$$;

-- ---------------------------------------------------------------------------------------------
-- Addresses: suppressions and push tokens
-- ---------------------------------------------------------------------------------------------

create table public.suppressions (
  id bigint generated always as identity primary key,
  channel text not null constraint suppressions_channel_is_email_sms_or_push check (channel in ('email', 'sms', 'push')),
  address text not null constraint suppressions_address_not_blank check (char_length(btrim(address)) between 1 and 320),
  address_key text generated always as (lower(btrim(address))) stored,
  reason text not null constraint suppressions_reason_is_known
    check (reason in ('bounce', 'dropped', 'invalid', 'spamreport', 'unsubscribe', 'group_unsubscribe', 'block', 'manual')),
  source text not null default 'admin',
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  constraint suppressions_channel_address_key unique (channel, address_key)
);
comment on table public.suppressions is 'Addresses no message may go to, whatever the consent: bounces, spam reports, invalid addresses, provider unsubscribes.';

create table public.customer_push_tokens (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references public.users (id) on delete cascade,
  token text not null unique constraint customer_push_tokens_token_is_expo check (token ~ '^Expo(nent)?PushToken\[[A-Za-z0-9_-]+\]$'),
  platform text constraint customer_push_tokens_platform_is_known check (platform in ('ios', 'android', 'web')),
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  disabled_at timestamptz
);
create index customer_push_tokens_customer_id_idx on public.customer_push_tokens (customer_id, last_seen_at desc) where disabled_at is null;

-- ---------------------------------------------------------------------------------------------
-- Templates
-- ---------------------------------------------------------------------------------------------

create or replace function private.message_variables()
returns text[]
language sql
immutable
set search_path = ''
as $$
  select array['first_name', 'full_name', 'city', 'region', 'email', 'unsubscribe_url', 'preferences_url']
$$;

-- The {{ variable }} names a text uses, in order of first use.
create or replace function private.template_variables_used(body text)
returns text[]
language sql
immutable
set search_path = ''
as $$
  select coalesce(array_agg(v order by first_pos), '{}')
    from (select m[1] as v, min(ord) as first_pos
            from regexp_matches(coalesce(template_variables_used.body, ''), '\{\{\s*([^{}]*?)\s*\}\}', 'g') with ordinality as t(m, ord)
           group by m[1]) used
$$;

-- Raises 22023 naming the field when content uses a variable outside the whitelist or not declared.
create or replace function private.check_message_content(
  channel text, subject text, body_text text, body_html text, declared text[]
)
returns void
language plpgsql
immutable
set search_path = ''
as $$
declare
  field text;
  body text;
  v text;
  allowed text[] := private.message_variables();
begin
  foreach v in array coalesce(check_message_content.declared, '{}') loop
    if not v = any(allowed) then
      raise exception using errcode = '22023',
        message = format('variables: %s is not a known variable; use %s', quote_literal(v), array_to_string(allowed, ', '));
    end if;
  end loop;
  for field, body in values ('subject', check_message_content.subject), ('body_text', check_message_content.body_text),
                            ('body_html', check_message_content.body_html) loop
    foreach v in array private.template_variables_used(body) loop
      if not v = any(allowed) then
        raise exception using errcode = '22023',
          message = format('%s: unknown variable {{%s}}; use %s', field, v, array_to_string(allowed, ', '));
      end if;
      if check_message_content.declared is not null and not v = any(check_message_content.declared) then
        raise exception using errcode = '22023',
          message = format('%s: uses {{%s}}, which is not declared in variables', field, v);
      end if;
    end loop;
  end loop;
  if check_message_content.channel = 'email' and coalesce(btrim(check_message_content.subject), '') = '' then
    raise exception using errcode = '22023', message = 'subject: an email needs a subject';
  end if;
  if coalesce(btrim(check_message_content.body_text), '') = '' then
    raise exception using errcode = '22023', message = 'body_text: must not be empty';
  end if;
  if check_message_content.channel <> 'email' and check_message_content.body_html is not null then
    raise exception using errcode = '22023', message = format('body_html: only email has an HTML body, not %s', check_message_content.channel);
  end if;
  if check_message_content.channel = 'sms' and char_length(check_message_content.body_text) > 1600 then
    raise exception using errcode = '22023', message = 'body_text: an SMS is at most 1600 characters';
  end if;
end
$$;

create table public.message_templates (
  id uuid primary key default gen_random_uuid(),
  channel text not null constraint message_templates_channel_is_email_sms_or_push check (channel in ('email', 'sms', 'push')),
  name text not null constraint message_templates_name_length_1_to_120 check (char_length(btrim(name)) between 1 and 120),
  subject text constraint message_templates_subject_max_300 check (char_length(subject) <= 300),
  body_text text not null constraint message_templates_body_text_max_100000 check (char_length(body_text) <= 100000),
  body_html text constraint message_templates_body_html_max_500000 check (char_length(body_html) <= 500000),
  variables text[] not null default '{}',
  version integer not null default 1,
  created_by uuid default auth.uid() references public.users (id) on delete set null,
  updated_by uuid references public.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index message_templates_channel_name_key on public.message_templates (channel, lower(name));
create index message_templates_created_by_idx on public.message_templates (created_by);
create index message_templates_updated_by_idx on public.message_templates (updated_by);

create or replace function private.tg_message_templates__validate()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform private.check_message_content(new.channel, new.subject, new.body_text, new.body_html, new.variables);
  if tg_op = 'UPDATE' then
    if (new.subject, new.body_text, new.body_html, new.variables, new.channel)
       is distinct from (old.subject, old.body_text, old.body_html, old.variables, old.channel) then
      new.version := old.version + 1;
    else
      new.version := old.version;
    end if;
    new.updated_at := now();
  else
    new.version := 1;
  end if;
  new.updated_by := auth.uid();
  return new;
end
$$;

create trigger _010_validate before insert or update on public.message_templates
  for each row execute function private.tg_message_templates__validate();
create trigger _900_audit after insert or update or delete on public.message_templates
  for each row execute function private.tg_audit('id');

-- ---------------------------------------------------------------------------------------------
-- Campaigns, audiences, recipients, provider logs
-- ---------------------------------------------------------------------------------------------

create table public.campaigns (
  id uuid primary key default gen_random_uuid(),
  name text not null constraint campaigns_name_length_1_to_200 check (char_length(btrim(name)) between 1 and 200),
  channel text not null constraint campaigns_channel_is_email_sms_or_push check (channel in ('email', 'sms', 'push')),
  status text not null default 'draft'
    constraint campaigns_status_is_known check (status in ('draft', 'scheduled', 'sending', 'paused', 'sent', 'cancelled')),
  template_id uuid references public.message_templates (id) on delete set null,
  template_version integer,
  content jsonb not null,
  audience jsonb not null,
  segment_id uuid references public.customer_segments (id) on delete set null,
  scheduled_at timestamptz,
  throttle_per_minute integer constraint campaigns_throttle_per_minute_1_to_100000 check (throttle_per_minute between 1 and 100000),
  created_by uuid default auth.uid() references public.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  cancelled_at timestamptz
);
comment on column public.campaigns.content is 'Frozen copy of what is sent: {"subject","text","html"}; later template edits do not change it.';
create index campaigns_template_id_idx on public.campaigns (template_id);
create index campaigns_segment_id_idx on public.campaigns (segment_id);
create index campaigns_created_by_idx on public.campaigns (created_by);
create index campaigns_active_idx on public.campaigns (channel, status) where status in ('scheduled', 'sending');

alter table public.email_logs
  add constraint email_logs_campaign_id_fkey foreign key (campaign_id) references public.campaigns (id) on delete set null;

create table public.campaign_audiences (
  id uuid primary key default gen_random_uuid(),
  campaign_id uuid references public.campaigns (id) on delete cascade,
  segment_snapshot jsonb not null,
  generated_at timestamptz not null default now(),
  count integer not null,
  created_by uuid default auth.uid() references public.users (id) on delete set null
);
comment on column public.campaign_audiences.segment_snapshot is
  'What was frozen: {"kind","segment_id","definition","version","hash","counts":{channel:{eligible,no_consent,suppressed,no_address}}}';
create unique index campaign_audiences_campaign_id_key on public.campaign_audiences (campaign_id);
create index campaign_audiences_created_by_idx on public.campaign_audiences (created_by);

create table public.campaign_audience_members (
  audience_id uuid not null references public.campaign_audiences (id) on delete cascade,
  customer_id uuid not null references public.users (id) on delete cascade,
  primary key (audience_id, customer_id)
);
create index campaign_audience_members_customer_id_idx on public.campaign_audience_members (customer_id);

-- No foreign keys on the queue: rows are written only by private.enqueue_recipients from a frozen
-- audience (whose own keys hold), and a per-row RI check would double the cost of queueing a
-- million. Deletes of campaigns and customers still take their recipients with them (triggers below).
create table public.campaign_recipients (
  -- time-ordered (the first 48 bits are the millisecond clock): a million inserts append to the
  -- primary key's index instead of scattering over it; the rest stays random and unguessable
  id uuid primary key default (encode(overlay(uuid_send(gen_random_uuid())
        placing substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) from 1 for 6), 'hex'))::uuid,
  campaign_id uuid not null,
  customer_id uuid not null,
  channel text not null,
  address text,
  status text not null constraint campaign_recipients_status_is_known check (status in (
    'queued', 'sending', 'sent', 'delivered', 'deferred', 'opened', 'clicked', 'bounced', 'dropped', 'failed',
    'unsubscribed', 'spam_reported', 'cancelled',
    'skipped_no_consent', 'skipped_suppressed', 'skipped_no_address', 'skipped_frequency_cap')),
  consent_history_id bigint,
  attempts integer not null default 0,
  next_attempt_at timestamptz,
  lease_expires_at timestamptz,
  leased_by text,
  provider_message_id text,
  last_error text,
  queued_at timestamptz,
  sent_at timestamptz,
  delivered_at timestamptz,
  failed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint campaign_recipients_one_per_member unique (campaign_id, customer_id, channel)
);
comment on column public.campaign_recipients.consent_history_id is 'The customer_consent_history row that allowed the send (checked again when it leaves).';
create index campaign_recipients_due_idx on public.campaign_recipients (campaign_id, next_attempt_at) where status = 'queued';
create index campaign_recipients_leased_idx on public.campaign_recipients (campaign_id, lease_expires_at) where status = 'sending';
create index campaign_recipients_customer_idx on public.campaign_recipients (customer_id, channel, created_at desc);
create index campaign_recipients_provider_message_id_idx on public.campaign_recipients (provider_message_id) where provider_message_id is not null;

create or replace function private.tg_campaigns__delete_recipients()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from public.campaign_recipients r using old_rows o where r.campaign_id = o.id;
  return null;
end
$$;

create or replace function private.tg_users__delete_recipients()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from public.campaign_recipients r using old_rows o where r.customer_id = o.id;
  return null;
end
$$;

create trigger _050_delete_recipients after delete on public.campaigns
  referencing old table as old_rows for each statement execute function private.tg_campaigns__delete_recipients();
create trigger _050_delete_recipients after delete on public.users
  referencing old table as old_rows for each statement execute function private.tg_users__delete_recipients();

create table public.sms_logs (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid references public.users (id) on delete cascade,
  to_phone text not null,
  body text,
  status text not null default 'sent',
  provider_message_id text,
  campaign_id uuid references public.campaigns (id) on delete set null,
  recipient_id uuid references public.campaign_recipients (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index sms_logs_customer_id_idx on public.sms_logs (customer_id);
create index sms_logs_campaign_id_idx on public.sms_logs (campaign_id);
create index sms_logs_recipient_id_idx on public.sms_logs (recipient_id);
create index sms_logs_provider_message_id_idx on public.sms_logs (provider_message_id);

create table public.push_logs (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid references public.users (id) on delete cascade,
  to_token text not null,
  title text,
  status text not null default 'sent',
  provider_message_id text,
  campaign_id uuid references public.campaigns (id) on delete set null,
  recipient_id uuid references public.campaign_recipients (id) on delete set null,
  created_at timestamptz not null default now()
);
create index push_logs_customer_id_idx on public.push_logs (customer_id);
create index push_logs_campaign_id_idx on public.push_logs (campaign_id);
create index push_logs_recipient_id_idx on public.push_logs (recipient_id);

alter table public.email_logs add column if not exists recipient_id uuid references public.campaign_recipients (id) on delete set null;
create index if not exists email_logs_recipient_id_idx on public.email_logs (recipient_id);

-- Status changes follow the campaign's life; anything else is a 55000 naming both states.
create or replace function private.tg_campaigns__status()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.status is distinct from old.status and not (
       (old.status = 'draft' and new.status in ('scheduled', 'sending', 'cancelled'))
    or (old.status = 'scheduled' and new.status in ('sending', 'paused', 'cancelled'))
    or (old.status = 'sending' and new.status in ('paused', 'sent', 'cancelled'))
    or (old.status = 'paused' and new.status in ('sending', 'scheduled', 'cancelled'))) then
    raise exception using errcode = '55000',
      message = format('status: a %s campaign cannot become %s', old.status, new.status);
  end if;
  if new.status = 'sending' and old.status <> 'sending' then
    new.started_at := coalesce(old.started_at, now());
  end if;
  if new.status = 'sent' then new.completed_at := now(); end if;
  if new.status = 'cancelled' then new.cancelled_at := now(); end if;
  new.updated_at := now();
  return new;
end
$$;

create trigger _010_status before update on public.campaigns
  for each row execute function private.tg_campaigns__status();
create trigger _900_audit after insert or update or delete on public.campaigns
  for each row execute function private.tg_audit('id');

-- ---------------------------------------------------------------------------------------------
-- Rate limits shared by every worker: token buckets and provider back-off, in the database.
-- ---------------------------------------------------------------------------------------------

create table private.rate_buckets (
  key text primary key,
  tokens double precision not null,
  refilled_at timestamptz not null default clock_timestamp(),
  blocked_until timestamptz
);

-- Takes up to `wanted` tokens from a bucket refilled at per_minute; capacity is a quarter
-- second's worth (at least 1), so no 10-second window can exceed the rate by more than 2.5%.
create or replace function private.take_tokens(bucket text, wanted integer, per_minute integer)
returns integer
language plpgsql
volatile
set search_path = ''
as $$
declare
  capacity double precision := greatest(1, take_tokens.per_minute / 240.0);
  b private.rate_buckets;
  available double precision;
  granted integer;
begin
  insert into private.rate_buckets (key, tokens) values (take_tokens.bucket, capacity) on conflict (key) do nothing;
  select * into b from private.rate_buckets where key = take_tokens.bucket for update;
  available := least(capacity, b.tokens + extract(epoch from clock_timestamp() - b.refilled_at) * take_tokens.per_minute / 60.0);
  granted := least(take_tokens.wanted, floor(available))::integer;
  update private.rate_buckets set tokens = available - granted, refilled_at = clock_timestamp() where key = take_tokens.bucket;
  return greatest(granted, 0);
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Row level security: communicators (admin + communications) run messaging; admins read it.
-- ---------------------------------------------------------------------------------------------

alter table public.messaging_settings enable row level security;
alter table public.suppressions enable row level security;
alter table public.customer_push_tokens enable row level security;
alter table public.message_templates enable row level security;
alter table public.campaigns enable row level security;
alter table public.campaign_audiences enable row level security;
alter table public.campaign_audience_members enable row level security;
alter table public.campaign_recipients enable row level security;
alter table public.sms_logs enable row level security;
alter table public.push_logs enable row level security;

revoke all on public.messaging_settings, public.suppressions, public.customer_push_tokens, public.message_templates,
  public.campaigns, public.campaign_audiences, public.campaign_audience_members, public.campaign_recipients,
  public.sms_logs, public.push_logs from anon, authenticated, service_role;
grant select, insert, update, delete on public.messaging_settings, public.suppressions, public.message_templates
  to authenticated, service_role;
grant select, insert, update, delete on public.customer_push_tokens to authenticated, service_role;
-- Campaigns, audiences and recipients are written by the messaging RPCs only.
grant select on public.campaigns, public.campaign_audiences, public.campaign_audience_members,
  public.campaign_recipients, public.sms_logs, public.push_logs to authenticated;
grant select, insert, update, delete on public.campaigns, public.campaign_audiences, public.campaign_audience_members,
  public.campaign_recipients, public.sms_logs, public.push_logs to service_role;

create policy messaging_settings_select_admin on public.messaging_settings
  for select to authenticated using ((select private.is_admin()));
create policy messaging_settings_insert_communicator on public.messaging_settings
  for insert to authenticated with check ((select private.is_communicator()));
create policy messaging_settings_update_communicator on public.messaging_settings
  for update to authenticated using ((select private.is_communicator())) with check ((select private.is_communicator()));
create policy messaging_settings_delete_communicator on public.messaging_settings
  for delete to authenticated using ((select private.is_communicator()));

create policy suppressions_select_admin on public.suppressions
  for select to authenticated using ((select private.is_admin()));
create policy suppressions_insert_communicator on public.suppressions
  for insert to authenticated with check ((select private.is_communicator()));
create policy suppressions_update_communicator on public.suppressions
  for update to authenticated using ((select private.is_communicator())) with check ((select private.is_communicator()));
create policy suppressions_delete_communicator on public.suppressions
  for delete to authenticated using ((select private.is_communicator()));

create policy customer_push_tokens_select_admin_or_own on public.customer_push_tokens
  for select to authenticated using ((select private.is_admin()) or customer_id = (select auth.uid()));
create policy customer_push_tokens_insert_admin_or_own on public.customer_push_tokens
  for insert to authenticated with check ((select private.is_admin()) or customer_id = (select auth.uid()));
create policy customer_push_tokens_update_admin_or_own on public.customer_push_tokens
  for update to authenticated
  using ((select private.is_admin()) or customer_id = (select auth.uid()))
  with check ((select private.is_admin()) or customer_id = (select auth.uid()));
create policy customer_push_tokens_delete_admin_or_own on public.customer_push_tokens
  for delete to authenticated using ((select private.is_admin()) or customer_id = (select auth.uid()));

create policy message_templates_select_admin on public.message_templates
  for select to authenticated using ((select private.is_admin()));
create policy message_templates_insert_communicator on public.message_templates
  for insert to authenticated with check ((select private.is_communicator()));
create policy message_templates_update_communicator on public.message_templates
  for update to authenticated using ((select private.is_communicator())) with check ((select private.is_communicator()));
create policy message_templates_delete_communicator on public.message_templates
  for delete to authenticated using ((select private.is_communicator()));

create policy campaigns_select_admin on public.campaigns
  for select to authenticated using ((select private.is_admin()));
create policy campaign_audiences_select_admin on public.campaign_audiences
  for select to authenticated using ((select private.is_admin()));
create policy campaign_audience_members_select_admin on public.campaign_audience_members
  for select to authenticated using ((select private.is_admin()));
create policy campaign_recipients_select_admin on public.campaign_recipients
  for select to authenticated using ((select private.is_admin()));
create policy sms_logs_select_admin on public.sms_logs
  for select to authenticated using ((select private.is_admin()));
create policy push_logs_select_admin on public.push_logs
  for select to authenticated using ((select private.is_admin()));
