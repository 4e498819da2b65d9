-- - Which message events count as engagement is said once (private.engagement_events), for the
--   engagement facts and for the trigger that decides whether new events can change them.
-- - An opt-out or bounce whose address is longer than any address can be (over 320 characters,
--   what suppressions allow) is neither held nor suppressed: before, the hold's index refused it
--   (the answer failed with a 500 and SendGrid retried forever) and the suppression's check
--   refused it (the whole batch failed its apply five times and was set aside).
-- - An event without recipient_id (transactional mail) is classified by its address again: it was
--   judged inconsistent ("not the address of recipient <none>"), so its bounce or unsubscribe was
--   never applied.
set check_function_bodies = false;

CREATE OR REPLACE FUNCTION private.engagement_events() RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  -- the message events that count as engagement: opens, clicks and reads, and machine opens or
  -- automated clicks while the settings count them (docs/webhooks.md)
  select array['open', 'click', 'read']
         || case when coalesce((private.engagement_setting('count_machine_opens') #>> '{}')::boolean, false) then array['machine_open'] else array[]::text[] end
         || case when coalesce((private.engagement_setting('count_bot_clicks') #>> '{}')::boolean, false) then array['bot_click'] else array[]::text[] end
$$;

CREATE OR REPLACE FUNCTION private.customer_engagement(customer_ids uuid[]) RETURNS TABLE(customer_id uuid, last_engaged_at timestamp with time zone, engaged_campaigns_90d integer)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  counted text[] := private.engagement_events();
begin
  return query
  select e.customer_id, max(e.occurred_at),
         (count(distinct e.campaign_id) filter (where e.occurred_at >= now() - interval '90 days'))::integer
    from public.message_events e
   where e.event in ('open', 'click', 'read', 'machine_open', 'bot_click') -- the engagement index's predicate
     and e.event = any (counted)
     and e.customer_id is not null
     and (customer_engagement.customer_ids is null or e.customer_id = any (customer_engagement.customer_ids))
   group by e.customer_id;
end
$$;

CREATE OR REPLACE FUNCTION private.tg_message_events__facts() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  counted text[] := private.engagement_events();
begin
  -- only events that count as engagement can change the facts
  perform private.refresh_facts('engagement', array(
    select n.customer_id from new_rows n where n.customer_id is not null and n.event = any (counted)));
  return null;
end
$$;

CREATE OR REPLACE FUNCTION private.accept_webhook(source text, body text, events integer, apply_now jsonb DEFAULT NULL::jsonb, body_sha256 bytea DEFAULT NULL::bytea) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  inbox_id bigint;
  urgent integer := 0;
  digest bytea := coalesce(accept_webhook.body_sha256, sha256(convert_to(accept_webhook.body, 'UTF8')));
begin
  insert into private.webhook_inbox (source, body, body_sha256, events)
  values (accept_webhook.source, accept_webhook.body, digest, accept_webhook.events)
  on conflict on constraint webhook_inbox_batch_once do nothing
  returning id into inbox_id;
  if inbox_id is null then
    return jsonb_build_object('inbox_id', (select i.id from private.webhook_inbox i
                                            where i.source = accept_webhook.source and i.body_sha256 = digest),
                              'duplicate_batch', true, 'applied_now', 0);
  end if;
  if accept_webhook.source = 'sendgrid_events' and jsonb_typeof(accept_webhook.apply_now) = 'array' then
    -- the addresses that opted out are held from sending, in the transaction that stores the batch;
    -- the consent and suppression changes follow when the row is applied (then the hold goes)
    insert into private.webhook_opt_outs (inbox_id, channel, address_key, event)
    select distinct on (lower(btrim(e ->> 'email'))) inbox_id, 'email', lower(btrim(e ->> 'email')), e ->> 'event'
      from jsonb_array_elements(accept_webhook.apply_now) e
     where e ->> 'event' in ('unsubscribe', 'group_unsubscribe', 'spamreport', 'bounce', 'dropped')
       -- an address at most as long as suppressions allow (no longer one can be sent to)
       and char_length(btrim(e ->> 'email')) between 1 and 320;
    get diagnostics urgent = row_count;
  elsif accept_webhook.source in ('twilio_status', 'twilio_inbound') and accept_webhook.apply_now = 'true'::jsonb then
    perform private.apply_inbox_row(inbox_id);
    urgent := 1;
  end if;
  update private.webhook_inbox i set applied_now = urgent where i.id = inbox_id and urgent > 0;
  perform pg_notify('crm_webhook_inbox', inbox_id::text);
  return jsonb_build_object('inbox_id', inbox_id, 'duplicate_batch', false, 'applied_now', urgent);
end
$$;

CREATE OR REPLACE FUNCTION private.apply_sendgrid_contact_effects(events jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  suppressed integer;
  consent integer;
begin
  with e as (
    select * from jsonb_to_recordset(apply_sendgrid_contact_effects.events)
      as x(event text, customer_id uuid, address text, reason text, occurred_at timestamptz, asm_group_id text)
  )
  insert into public.suppressions (channel, address, reason, source, details)
  select distinct on (lower(e.address)) 'email', e.address,
         case e.event when 'bounce' then 'bounce' when 'spamreport' then 'spamreport' else 'invalid' end,
         'sendgrid', jsonb_build_object('event', e.event, 'reason', e.reason, 'at', e.occurred_at)
    from e
   where char_length(btrim(e.address)) between 1 and 320 -- as suppressions allow: a longer one was never sent to
     and (e.event in ('bounce', 'spamreport') or (e.event = 'dropped' and e.reason ~* 'invalid|bounced'))
   order by lower(e.address), e.occurred_at desc
  on conflict on constraint suppressions_channel_address_key do nothing;
  get diagnostics suppressed = row_count;

  consent := private.apply_provider_consent((
    select coalesce(jsonb_agg(jsonb_build_object(
             'customer_id', e.customer_id, 'channel', 'email', 'enabled', e.event = 'group_resubscribe', 'source', 'sendgrid',
             'note', case e.event when 'spamreport' then 'SendGrid: marked as spam'
                                  when 'unsubscribe' then 'SendGrid: unsubscribed'
                                  when 'group_unsubscribe' then format('SendGrid: unsubscribed from group %s', e.asm_group_id)
                                  else format('SendGrid: resubscribed to group %s', e.asm_group_id) end,
             'occurred_at', e.occurred_at)), '[]'::jsonb)
      from jsonb_to_recordset(apply_sendgrid_contact_effects.events)
        as e(event text, customer_id uuid, address text, reason text, occurred_at timestamptz, asm_group_id text)
     where e.event in ('unsubscribe', 'spamreport', 'group_unsubscribe', 'group_resubscribe') and e.customer_id is not null));
  return jsonb_build_object('suppressed', suppressed, 'consent_changed', consent);
end
$$;

CREATE OR REPLACE FUNCTION private.sendgrid_classify(events jsonb) RETURNS TABLE(event_id text, event text, recipient_id uuid, campaign_id uuid, customer_id uuid, address text, url text, reason text, occurred_at timestamp with time zone, payload jsonb, fate text, problem text, claimed_recipient text, claimed_campaign text)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $_$
  with settings as materialized (
    select coalesce((private.engagement_setting('bot_click_seconds') #>> '{}')::integer, 0) as bot_seconds,
           (select '(' || string_agg(p, ')|(') || ')' from jsonb_array_elements_text(private.engagement_setting('bot_user_agents')) p) as bot_agents
  ), parsed as (
    select x.e,
           coalesce(x.e ->> 'sg_event_id', md5(x.e::text)) as event_id,
           coalesce(x.e ->> 'event', 'unknown') as raw_event,
           nullif(btrim(x.e ->> 'recipient_id'), '') as rid_text,
           nullif(btrim(x.e ->> 'campaign_id'), '') as cid_text,
           lower(btrim(x.e ->> 'email')) as email_key,
           to_timestamp(coalesce(case when jsonb_typeof(x.e -> 'timestamp') = 'number' then (x.e ->> 'timestamp')::double precision end,
                                 extract(epoch from now()))) as at
      from jsonb_array_elements(sendgrid_classify.events) x(e)
     where jsonb_typeof(x.e) = 'object'
  ), typed as (
    select p.*,
           case when p.rid_text ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then p.rid_text::uuid end as rid
      from parsed p
  ), checked as (
    select t.*, r.id as r_id, r.campaign_id as r_campaign, r.customer_id as r_customer, r.delivered_at as r_delivered, r.sent_at as r_sent,
           case
             when t.rid_text is not null and t.rid is null then 'ignored:recipient_id is not a uuid'
             when t.rid is not null and r.id is null then 'ignored:unknown recipient'
             when r.channel <> 'email' then format('inconsistent:recipient %s is a %s recipient, not email', r.id, r.channel)
             when r.id is not null and t.email_key is distinct from lower(btrim(r.address))
               then format('inconsistent:email %s is not the address of recipient %s', coalesce(t.email_key, '(none)'), r.id)
             when t.cid_text is not null and lower(t.cid_text) <> r.campaign_id::text
               then format('ignored:campaign_id %s is not the campaign of recipient %s', t.cid_text, r.id)
             when r.sent_at is null and r.attempts = 0
                  and r.status in ('queued', 'cancelled', 'skipped_no_consent', 'skipped_suppressed', 'skipped_no_address', 'skipped_frequency_cap')
               then format('ignored:recipient %s was never sent (%s)', r.id, r.status)
           end as problem,
           min(t.at) filter (where t.raw_event = 'delivered') over (partition by t.rid) as batch_delivered
      from typed t
      left join public.campaign_recipients r on r.id = t.rid
  ), judged as (
    select c.*,
           case when c.problem is null then 'apply'
                when c.problem like 'ignored:%' and c.raw_event in ('unsubscribe', 'group_unsubscribe', 'spamreport') then 'address'
                else split_part(c.problem, ':', 1) end as fate,
           c.problem is null and c.raw_event = 'open' and lower(c.e ->> 'sg_machine_open') = 'true' as machine_open,
           c.problem is null and c.raw_event = 'click' and s.bot_agents is not null and coalesce(c.e ->> 'useragent', '') ~* s.bot_agents as scanner,
           c.problem is null and c.raw_event = 'click' and s.bot_seconds > 0
             and c.at <= coalesce(c.r_delivered, c.batch_delivered, c.r_sent) + make_interval(secs => s.bot_seconds) as too_fast,
           s.bot_seconds
      from checked c
     cross join settings s
  )
  select j.event_id,
         case when j.machine_open then 'machine_open' when j.scanner or j.too_fast then 'bot_click' else j.raw_event end,
         case when j.fate = 'apply' then j.r_id end,
         case when j.fate = 'apply' then j.r_campaign end,
         case when j.fate = 'apply' and j.r_id is not null then j.r_customer else u.id end,
         j.e ->> 'email', j.e ->> 'url',
         case when j.machine_open then 'machine open (sg_machine_open)'
              when j.scanner then 'automated click: link scanner user agent'
              when j.too_fast then format('automated click: within %s s of delivery', j.bot_seconds)
              else nullif(concat_ws(': ', j.e ->> 'reason', j.e ->> 'response', j.e ->> 'type'), '') end,
         j.at, j.e, j.fate,
         case when j.fate = 'address' then split_part(j.problem, ':', 2) || '; applied to the address only'
              else nullif(split_part(coalesce(j.problem, ''), ':', 2), '') end,
         j.rid_text, j.cid_text
    from judged j
    left join lateral (
      select x.id from public.users x
       where (j.fate = 'address' or (j.fate = 'apply' and j.r_id is null)) and j.email_key is not null and lower(x.email) = j.email_key
       limit 1) u on true
$_$;

