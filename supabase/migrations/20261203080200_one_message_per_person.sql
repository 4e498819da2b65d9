-- One message per person and address, one campaign per request (issue 12):
-- * the frequency cap is decided under a lock per customer and channel, so parallel campaigns
--   cannot each see "nothing sent yet";
-- * one message per address per campaign: customers who share an email address or phone number
--   get one message between them; the others are skipped_duplicate_address with the reason;
-- * queue_bulk_message takes an idempotency key: the same key and request answer the first
--   answer, never a second campaign; the same key with another request is refused (PT422);
-- * push tokens are registered through register_push_token: a token moves to the account that
--   registers it, and the answer is the same whether it existed or not.
--
-- Redefines: private.enqueue_recipients (cap lock, duplicate addresses), the check constraint
-- campaign_recipients_status_is_known (adds skipped_duplicate_address), public.queue_bulk_message
-- (dropped and recreated with idempotency_key), the policies customer_push_tokens_insert_admin_or_own
-- and customer_push_tokens_update_admin_or_own (now _admin: customers use register_push_token).

alter table public.campaign_recipients drop constraint campaign_recipients_status_is_known;
-- in_doubt and held are h12a's (migration 20261203040100), kept here since this one runs later
alter table public.campaign_recipients add constraint campaign_recipients_status_is_known check (status in (
  'queued', 'sending', 'in_doubt', 'held', 'sent', 'delivered', 'deferred', 'opened', 'clicked', 'bounced', 'dropped', 'failed',
  'unsubscribed', 'spam_reported', 'cancelled',
  'skipped_no_consent', 'skipped_suppressed', 'skipped_no_address', 'skipped_duplicate_address', 'skipped_frequency_cap'));

-- The key under which two addresses are the same recipient: email case-insensitively, a phone
-- number by its digits (and +), a push token as it is.
create or replace function private.address_key(channel text, address text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case address_key.channel
           when 'sms' then nullif(regexp_replace(address_key.address, '[^0-9+]', '', 'g'), '')
           when 'email' then lower(btrim(address_key.address))
           else btrim(address_key.address) end
$$;

-- The one set-based statement that decides every member's fate and queues the eligible.
create or replace function private.enqueue_recipients(campaign_id uuid, audience_id uuid)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  -- up to this many members, the cap locks each (customer, channel); above, the whole channel
  per_customer_lock_limit constant integer := 100;
  c public.campaigns;
  cap_max integer;
  cap_days integer;
  member_count integer;
  result jsonb;
begin
  select * into c from public.campaigns where id = enqueue_recipients.campaign_id;
  select a.count into member_count from public.campaign_audiences a where a.id = enqueue_recipients.audience_id;
  -- a large audience was just written: fresh statistics let the planner hash-join it
  if member_count > 10000 then
    analyze public.campaign_audience_members;
  end if;
  select (s.value -> c.channel ->> 'max')::integer, (s.value -> c.channel ->> 'days')::integer
    into cap_max, cap_days
    from public.messaging_settings s where s.key = 'frequency_cap' and s.value ? c.channel;

  -- The cap is decided under a lock per customer and channel held to commit: a parallel campaign
  -- waits here, then counts what this one queued (each statement sees what committed before it).
  -- Large audiences take the channel exclusively instead (the lock table is finite); small ones
  -- hold it shared, so the two kinds exclude each other. Keys in order: no deadlock.
  if cap_max is not null then
    if member_count <= per_customer_lock_limit then
      perform pg_advisory_xact_lock_shared(hashtextextended('crm.frequency_cap:' || c.channel, 0));
      perform pg_advisory_xact_lock(hashtext('crm.frequency_cap:' || c.channel), k.key)
         from (select distinct hashtext(m.customer_id::text) as key from public.campaign_audience_members m
                where m.audience_id = enqueue_recipients.audience_id order by 1) k;
    else
      perform pg_advisory_xact_lock(hashtextextended('crm.frequency_cap:' || c.channel, 0));
    end if;
  end if;

  with recent as (
    select r.customer_id, count(*) as n
      from public.campaign_recipients r
     where cap_max is not null
       and r.channel = c.channel
       and r.created_at > now() - make_interval(days => cap_days)
       -- in_doubt and held (h12a) may have left: they count
       and r.status in ('queued', 'sending', 'in_doubt', 'held', 'sent', 'delivered', 'deferred', 'opened', 'clicked', 'bounced',
                        'unsubscribed', 'spam_reported')
     group by r.customer_id
  ), members as (
    select m.customer_id, a.address, cc.enabled, cc.consent_history_id, s.id as suppression_id,
           coalesce(recent.n, 0) >= cap_max as capped,
           (cc.enabled is true and s.id is null and a.address is not null) as reachable
      from public.campaign_audience_members m
      join public.users u on u.id = m.customer_id
      left join public.customer_consent cc on cc.customer_id = m.customer_id and cc.channel = c.channel
      cross join lateral (select nullif(btrim(case c.channel when 'email' then u.email when 'sms' then u.phone
               else (select t.token from public.customer_push_tokens t
                      where t.customer_id = m.customer_id and t.disabled_at is null
                      order by t.last_seen_at desc limit 1) end), '') as address) a
      left join public.suppressions s on s.channel = c.channel and s.address_key = lower(a.address)
      left join recent on recent.customer_id = m.customer_id
     where m.audience_id = enqueue_recipients.audience_id
  ), ranked as (
    -- of the reachable members sharing an address, one gets the message: one not capped first
    select m.*,
           row_number() over w as address_rank,
           first_value(m.customer_id) over w as address_winner
      from members m
    window w as (partition by m.reachable, case when m.reachable then private.address_key(c.channel, m.address) end
                 order by m.capped nulls first, m.customer_id)
  ), inserted as (
    insert into public.campaign_recipients (campaign_id, customer_id, channel, address, status, consent_history_id,
                                            next_attempt_at, queued_at, last_error)
    select c.id, m.customer_id, c.channel, m.address,
           -- private.recipient_fate, inlined: a function call per member would dominate at a million
           case when m.enabled is not true then 'skipped_no_consent'
                when m.suppression_id is not null then 'skipped_suppressed'
                when m.address is null then 'skipped_no_address'
                when m.address_rank > 1 then 'skipped_duplicate_address'
                when m.capped then 'skipped_frequency_cap'
                else 'queued' end,
           m.consent_history_id,
           coalesce(c.scheduled_at, now()),
           now(),
           case when m.reachable and m.address_rank > 1
                then format('address shared with customer %s, who gets this campaign''s message', m.address_winner) end
      from ranked m
     -- in key order, the unique and per-customer indexes are filled front to back, not scattered
     order by m.customer_id
    returning status
  )
  select jsonb_build_object(
           'audience_count', count(*),
           'queued', count(*) filter (where status = 'queued'),
           'skipped', jsonb_build_object(
             'no_consent', count(*) filter (where status = 'skipped_no_consent'),
             'suppressed', count(*) filter (where status = 'skipped_suppressed'),
             'no_address', count(*) filter (where status = 'skipped_no_address'),
             'duplicate_address', count(*) filter (where status = 'skipped_duplicate_address'),
             'frequency_cap', count(*) filter (where status = 'skipped_frequency_cap')))
    into result
    from inserted;
  return result;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Idempotency keys of bulk-message / queue_bulk_message
-- ---------------------------------------------------------------------------------------------

create table private.bulk_message_requests (
  caller uuid not null,
  idempotency_key text not null,
  request_hash text not null,
  response jsonb,
  created_at timestamptz not null default now(),
  primary key (caller, idempotency_key)
);
comment on table private.bulk_message_requests is
  'The first answer per (caller, Idempotency-Key), kept 24 hours; a repeat of the same request gets it again.';
create index bulk_message_requests_created_at_idx on private.bulk_message_requests (created_at);

-- Queues a campaign once per (caller, key): a repeat of the same request (even in parallel: it
-- waits for the first on the key's primary key) answers the first answer; another request with
-- the key is refused with PT422. A refused request stores nothing, so it can be corrected and retried.
create or replace function private.queue_campaign_once(request jsonb, idempotency_key text)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  keep constant interval := interval '24 hours';
  max_chars integer := (private.messaging_rules() -> 'request' -> 'idempotency_key' ->> 'max_chars')::integer;
  caller_id uuid := coalesce(auth.uid(), '00000000-0000-0000-0000-000000000000');
  hash text := encode(sha256(convert_to(coalesce(queue_campaign_once.request::text, 'null'), 'UTF8')), 'hex');
  prior private.bulk_message_requests;
  claimed boolean;
  result jsonb;
begin
  perform private.assert_staff('communications');
  if queue_campaign_once.idempotency_key is null then
    return private.queue_campaign(queue_campaign_once.request);
  end if;
  if private.is_blank(queue_campaign_once.idempotency_key) or char_length(queue_campaign_once.idempotency_key) > max_chars
     or queue_campaign_once.idempotency_key !~ '^[\x21-\x7e]+$' then
    raise exception using errcode = '22023',
      message = format('idempotency_key: must be 1 to %s visible ASCII characters (a UUID is a good key)', max_chars);
  end if;
  -- expired keys go a few at a time, never waiting on a row another request holds
  delete from private.bulk_message_requests b
   where (b.caller, b.idempotency_key) in (
     select x.caller, x.idempotency_key from private.bulk_message_requests x
      where x.created_at < now() - keep order by x.created_at limit 100 for update skip locked);
  insert into private.bulk_message_requests (caller, idempotency_key, request_hash)
  values (caller_id, queue_campaign_once.idempotency_key, hash)
  on conflict do nothing
  returning true into claimed;
  if claimed is null then
    select * into prior from private.bulk_message_requests b
     where b.caller = caller_id and b.idempotency_key = queue_campaign_once.idempotency_key;
    if prior.request_hash <> hash then
      raise exception using errcode = 'PT422',
        message = 'idempotency_key: this key was already used for a different request; use a new key for a new request',
        detail = format('first used at %s', prior.created_at);
    end if;
    return prior.response;
  end if;
  result := private.queue_campaign(queue_campaign_once.request);
  update private.bulk_message_requests b set response = result
   where b.caller = caller_id and b.idempotency_key = queue_campaign_once.idempotency_key;
  return result;
end
$$;

-- The bulk-message RPC, callable directly too:
--   supabase.rpc('queue_bulk_message', { request, idempotency_key: crypto.randomUUID() }).
drop function public.queue_bulk_message(jsonb);
create function public.queue_bulk_message(request jsonb, idempotency_key text default null)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform private.require_role('communications');
  return private.queue_campaign_once(queue_bulk_message.request, queue_bulk_message.idempotency_key);
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Push tokens: the session that registers a token owns it
-- ---------------------------------------------------------------------------------------------

-- The token moves to the caller (the app holds it, so the account signed in on the device is its
-- owner); queued messages of the previous owner to it are skipped. The answer never says whether
-- the token existed.
create or replace function private.register_push_token(token text, platform text)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
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
$$;

-- Signing out on a device: the caller's token stops receiving; someone else's is left alone. The
-- answer is the same either way.
create or replace function private.unregister_push_token(token text)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if auth.uid() is null then
    raise exception using errcode = '42501', message = 'permission denied: sign in to unregister a push token';
  end if;
  update public.customer_push_tokens t set disabled_at = now()
   where t.token = unregister_push_token.token and t.customer_id = auth.uid() and t.disabled_at is null;
  return jsonb_build_object('token', unregister_push_token.token, 'registered', false);
end
$$;

create or replace function public.register_push_token(token text, platform text default null)
returns jsonb
language sql
volatile
set search_path = ''
as $$
  select private.register_push_token(register_push_token.token, register_push_token.platform)
$$;

create or replace function public.unregister_push_token(token text)
returns jsonb
language sql
volatile
set search_path = ''
as $$
  select private.unregister_push_token(unregister_push_token.token)
$$;

-- Customers no longer write the table directly (an insert of someone else's token answered 409
-- and told them it existed); admins still may.
drop policy customer_push_tokens_insert_admin_or_own on public.customer_push_tokens;
drop policy customer_push_tokens_update_admin_or_own on public.customer_push_tokens;
create policy customer_push_tokens_insert_admin on public.customer_push_tokens
  for insert to authenticated with check ((select private.is_admin()));
create policy customer_push_tokens_update_admin on public.customer_push_tokens
  for update to authenticated using ((select private.is_admin())) with check ((select private.is_admin()));

grant execute on function private.address_key(text, text) to authenticated, service_role;
grant execute on function private.queue_campaign_once(jsonb, text), private.register_push_token(text, text),
  private.unregister_push_token(text) to authenticated, service_role;
grant execute on function public.queue_bulk_message(jsonb, text), public.register_push_token(text, text),
  public.unregister_push_token(text) to authenticated, service_role;
