-- Webhook inbox
--
-- Provider webhooks stored verified and answered at once, applied by workers (two appliers,
-- each on its half of the customers); the opt-out fast path applied before the answer; machine opens
-- and bot clicks kept apart by settings; events rejected as inconsistent or ignored with a reason.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE private.webhook_inbox (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY,
    source text NOT NULL,
    body text NOT NULL,
    body_sha256 bytea NOT NULL,
    events integer NOT NULL,
    applied_now integer DEFAULT 0 NOT NULL,
    applied_parts integer DEFAULT 0 NOT NULL,
    received_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    applied_at timestamp with time zone,
    failed_at timestamp with time zone,
    last_error text,
    CONSTRAINT webhook_inbox_events_not_negative CHECK ((events >= 0)),
    CONSTRAINT webhook_inbox_source_is_known CHECK ((source = ANY (ARRAY['sendgrid_events'::text, 'twilio_status'::text, 'twilio_inbound'::text])))
);
ALTER TABLE ONLY private.webhook_inbox ALTER COLUMN body SET COMPRESSION lz4;

COMMENT ON TABLE private.webhook_inbox IS 'Verified webhook bodies, acknowledged once stored; applied by private.apply_webhook_inbox. A byte-identical retry is stored once.';

CREATE TABLE private.webhook_opt_outs (
    inbox_id bigint NOT NULL,
    channel text NOT NULL,
    address_key text NOT NULL,
    event text NOT NULL,
    CONSTRAINT webhook_opt_outs_pkey PRIMARY KEY (channel, address_key, inbox_id)
);

COMMENT ON TABLE private.webhook_opt_outs IS 'Addresses whose opt-out (unsubscribe, spam report, bounce, drop) was acknowledged in an inbox row not yet applied: the dispatcher holds their sends until the row is applied (then the consent or suppression decides).';

CREATE TABLE public.engagement_settings (
    key text NOT NULL,
    value jsonb NOT NULL,
    updated_by uuid DEFAULT auth.uid(),
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT engagement_settings_key_is_known CHECK ((key = ANY (ARRAY['bot_click_seconds'::text, 'bot_user_agents'::text, 'count_machine_opens'::text, 'count_bot_clicks'::text]))),
    CONSTRAINT engagement_settings_pkey PRIMARY KEY (key),
    CONSTRAINT engagement_settings_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES public.users(id) ON DELETE SET NULL
);

COMMENT ON TABLE public.engagement_settings IS 'bot_click_seconds: a click this many seconds or less after delivery is automated (0: off); bot_user_agents: case-insensitive regexes of link scanners; count_machine_opens / count_bot_clicks: whether they count as engagement (default false).';

CREATE TABLE public.message_event_rejections (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY,
    provider text NOT NULL,
    provider_event_id text NOT NULL,
    event text NOT NULL,
    verdict text NOT NULL,
    reason text NOT NULL,
    recipient_id text,
    campaign_id text,
    address text,
    occurred_at timestamp with time zone NOT NULL,
    payload jsonb NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT message_event_rejections_provider_is_known CHECK ((provider = ANY (ARRAY['sendgrid'::text, 'twilio'::text, 'expo'::text]))),
    CONSTRAINT message_event_rejections_verdict_is_known CHECK ((verdict = ANY (ARRAY['ignored'::text, 'inconsistent'::text]))),
    CONSTRAINT message_event_rejections_pkey PRIMARY KEY (id),
    CONSTRAINT message_event_rejections_provider_event_key UNIQUE (provider, provider_event_id)
);

COMMENT ON TABLE public.message_event_rejections IS 'Signed provider events that were not applied: inconsistent (recipient and address disagree) or ignored (unknown recipient, another campaign, never sent), with the reason.';

ALTER TABLE ONLY private.webhook_inbox
    ADD CONSTRAINT webhook_inbox_batch_once UNIQUE (source, body_sha256);

ALTER TABLE ONLY private.webhook_inbox
    ADD CONSTRAINT webhook_inbox_pkey PRIMARY KEY (id);

ALTER TABLE ONLY private.webhook_opt_outs
    ADD CONSTRAINT webhook_opt_outs_inbox_id_fkey FOREIGN KEY (inbox_id) REFERENCES private.webhook_inbox(id) ON DELETE CASCADE;

CREATE INDEX webhook_opt_outs_inbox_idx ON private.webhook_opt_outs USING btree (inbox_id);

CREATE INDEX webhook_inbox_pending_idx ON private.webhook_inbox USING btree (id) WHERE ((applied_at IS NULL) AND (failed_at IS NULL));

CREATE INDEX webhook_inbox_received_idx ON private.webhook_inbox USING btree (received_at);

CREATE INDEX engagement_settings_updated_by_idx ON public.engagement_settings USING btree (updated_by);

CREATE INDEX message_event_rejections_received_idx ON public.message_event_rejections USING btree (received_at DESC);

insert into public.engagement_settings (key, value, updated_by) values
  ('bot_click_seconds', '10', null),
  ('bot_user_agents', '["barracuda", "mimecast", "proofpoint", "urldefense", "safelinks", "symantec", "messagelabs", "trendmicro", "forcepoint", "zscaler", "fireeye", "cisco.*(esa|ironport)", "python-requests", "curl/", "wget/", "go-http-client", "headlesschrome", "phantomjs", "\\mbot\\M", "crawler", "spider", "preview"]', null),
  ('count_bot_clicks', 'false', null),
  ('count_machine_opens', 'false', null)
on conflict do nothing;

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.accept_webhook(source text, body text, events integer, apply_now jsonb DEFAULT NULL::jsonb, body_sha256 bytea DEFAULT NULL::bytea) RETURNS jsonb
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

CREATE FUNCTION private.apply_inbox_row(inbox_id bigint, part integer DEFAULT 0) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  r private.webhook_inbox;
  res jsonb;
  parts integer := private.webhook_apply_parts();
begin
  select * into r from private.webhook_inbox i where i.id = apply_inbox_row.inbox_id;
  if not found or r.applied_at is not null then
    return null;
  end if;
  if r.source = 'sendgrid_events' then
    res := private.ingest_sendgrid_events(private.webhook_inbox_events(array[r.id], apply_inbox_row.part, parts));
    perform private.mark_inbox_applied(array[r.id], apply_inbox_row.part, parts);
  else
    res := case r.source when 'twilio_status' then private.ingest_twilio_status(r.body::jsonb)
                         else private.ingest_twilio_inbound(r.body::jsonb) end;
    update private.webhook_inbox i set applied_at = clock_timestamp(), attempts = i.attempts + 1, last_error = null
     where i.id = r.id;
  end if;
  return res;
end
$$;

CREATE FUNCTION private.apply_sendgrid_contact_effects(events jsonb) RETURNS jsonb
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

CREATE FUNCTION private.apply_webhook_inbox(max_events integer DEFAULT 5000, part integer DEFAULT 0) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  ids bigint[];
  sg_ids bigint[];
  other_ids bigint[];
  n_events integer;
  res jsonb := '{}'::jsonb;
  failed integer := 0;
  one bigint;
  parts integer := private.webhook_apply_parts();
begin
  if apply_webhook_inbox.part not between 0 and parts - 1 then
    raise exception using errcode = '22023', message = format('part: must be 0..%s (private.webhook_apply_parts())', parts - 1);
  end if;
  if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('crm.apply_webhook_inbox'), apply_webhook_inbox.part) then
    return jsonb_build_object('busy', true, 'rows', 0, 'events', 0);
  end if;
  with pending as (
    select i.id, i.source, i.events from private.webhook_inbox i
     where i.applied_at is null and i.failed_at is null
       and i.applied_parts & (1 << apply_webhook_inbox.part) = 0
       and (i.source = 'sendgrid_events' or apply_webhook_inbox.part = 0)
     order by i.id
     limit 500
  ), running as (
    select p.*, sum(p.events) over (order by p.id) - p.events as before from pending p
  )
  select array_agg(r.id order by r.id), array_agg(r.id order by r.id) filter (where r.source = 'sendgrid_events'),
         array_agg(r.id order by r.id) filter (where r.source <> 'sendgrid_events'), coalesce(sum(r.events), 0)
    into ids, sg_ids, other_ids, n_events
    from running r
   where r.before < greatest(apply_webhook_inbox.max_events, 1);
  if ids is null then
    return jsonb_build_object('rows', 0, 'events', 0, 'failed', 0);
  end if;

  if sg_ids is not null then
    begin
      res := private.ingest_sendgrid_events(private.webhook_inbox_events(sg_ids, apply_webhook_inbox.part, parts));
      perform private.mark_inbox_applied(sg_ids, apply_webhook_inbox.part, parts);
    exception when others then
      other_ids := sg_ids || coalesce(other_ids, array[]::bigint[]);
    end;
  end if;

  foreach one in array coalesce(other_ids, array[]::bigint[]) loop
    begin
      perform private.apply_inbox_row(one, apply_webhook_inbox.part);
    exception when others then
      failed := failed + 1;
      update private.webhook_inbox i
         set attempts = i.attempts + 1, last_error = left(sqlerrm, 2000),
             failed_at = case when i.attempts + 1 >= 5 then clock_timestamp() end
       where i.id = one;
    end;
  end loop;
  return jsonb_build_object('rows', cardinality(ids), 'events', n_events, 'failed', failed, 'result', res);
end
$$;

CREATE FUNCTION private.apply_webhooks_job_command(budget_ms integer DEFAULT 1800, part integer DEFAULT 0) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $_$
  select format($cmd$do $job$
declare
  started timestamptz := pg_catalog.clock_timestamp();
  res jsonb;
begin
  loop
    res := private.apply_webhook_inbox(5000, %s);
    commit;
    exit when res ? 'busy' or (res ->> 'rows')::integer = 0
           or pg_catalog.clock_timestamp() - started > interval '%s milliseconds';
  end loop;
end
$job$$cmd$, apply_webhooks_job_command.part, apply_webhooks_job_command.budget_ms)
$_$;

CREATE FUNCTION private.engagement_setting(key text) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select s.value from public.engagement_settings s where s.key = engagement_setting.key
$$;

CREATE FUNCTION private.mark_inbox_applied(ids bigint[], part integer, parts integer) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform 1 from private.webhook_inbox i where i.id = any(mark_inbox_applied.ids) order by i.id for update;
  with marked as (
    update private.webhook_inbox i
       set applied_parts = i.applied_parts | (1 << mark_inbox_applied.part),
           applied_at = case when (i.applied_parts | (1 << mark_inbox_applied.part)) = (1 << mark_inbox_applied.parts) - 1
                             then clock_timestamp() end,
           attempts = i.attempts + 1, last_error = null
     where i.id = any(mark_inbox_applied.ids)
    returning i.id, i.applied_at
  )
  -- applied by every part: its opt-outs are consent and suppressions now, the hold goes
  delete from private.webhook_opt_outs o using marked m where o.inbox_id = m.id and m.applied_at is not null;
end
$$;

CREATE FUNCTION private.prune_webhook_inbox(keep interval DEFAULT '7 days'::interval) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  with pruned as (
    delete from private.webhook_inbox i where i.applied_at < now() - prune_webhook_inbox.keep returning 1
  )
  select count(*)::integer from pruned
$$;

CREATE FUNCTION private.sendgrid_classify(events jsonb) RETURNS TABLE(event_id text, event text, recipient_id uuid, campaign_id uuid, customer_id uuid, address text, url text, reason text, occurred_at timestamp with time zone, payload jsonb, fate text, problem text, claimed_recipient text, claimed_campaign text)
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

CREATE FUNCTION private.tg_engagement_settings__refresh_facts() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  ids uuid[];
begin
  if new.key in ('count_machine_opens', 'count_bot_clicks') and new.value is distinct from old.value then
    select array_agg(distinct e.customer_id) into ids
      from public.message_events e
     where e.event in ('machine_open', 'bot_click') and e.customer_id is not null;
    if ids is not null then
      perform private.refresh_facts('engagement', ids);
    end if;
  end if;
  return null;
end
$$;

CREATE FUNCTION private.tg_engagement_settings__validate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  pattern text;
begin
  case new.key
    when 'bot_click_seconds' then
      if jsonb_typeof(new.value) <> 'number' or (new.value #>> '{}')::numeric not between 0 and 3600
         or (new.value #>> '{}')::numeric <> trunc((new.value #>> '{}')::numeric) then
        raise exception using errcode = '22023', message = 'value: bot_click_seconds must be an integer 0..3600 (0 turns the rule off)';
      end if;
    when 'bot_user_agents' then
      if jsonb_typeof(new.value) <> 'array' or jsonb_array_length(new.value) > 200
         or exists (select 1 from jsonb_array_elements(new.value) p where jsonb_typeof(p) <> 'string' or char_length(p #>> '{}') not between 1 and 200) then
        raise exception using errcode = '22023', message = 'value: bot_user_agents must be an array of at most 200 patterns, each a string of 1..200 characters';
      end if;
      for pattern in select p from jsonb_array_elements_text(new.value) p loop
        begin
          perform '' ~* pattern;
        exception when invalid_regular_expression then
          raise exception using errcode = '22023', message = format('value: %s is not a valid regular expression', pattern);
        end;
      end loop;
    else
      if jsonb_typeof(new.value) <> 'boolean' then
        raise exception using errcode = '22023', message = format('value: %s must be true or false', new.key);
      end if;
  end case;
  new.updated_by := auth.uid();
  new.updated_at := now();
  return new;
end
$$;

CREATE FUNCTION private.webhook_apply_parts() RETURNS integer
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select 2
$$;

CREATE FUNCTION private.webhook_inbox_events(ids bigint[], part integer, parts integer) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  -- one part's share of these SendGrid rows' events, in order, split by address before anything is
  -- looked up: a recipient's events, its address's suppression and (almost always) its customer
  -- fall in one part
  select coalesce(jsonb_agg(x.e order by i.id, x.n), '[]'::jsonb)
    from private.webhook_inbox i
   cross join lateral jsonb_array_elements(i.body::jsonb) with ordinality x(e, n)
   where i.id = any(webhook_inbox_events.ids)
     and (hashtext(coalesce(lower(btrim(x.e ->> 'email')), x.e ->> 'sg_event_id', md5(x.e::text))) & 2147483647)
         % webhook_inbox_events.parts = webhook_inbox_events.part
$$;

CREATE FUNCTION private.webhook_inbox_health() RETURNS TABLE(source text, pending_rows bigint, pending_events bigint, oldest_pending_at timestamp with time zone, failed_rows bigint, applied_last_hour bigint, lag_p50_ms numeric, lag_p95_ms numeric)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select s.source,
         count(*) filter (where i.applied_at is null and i.failed_at is null),
         coalesce(sum(i.events) filter (where i.applied_at is null and i.failed_at is null), 0),
         min(i.received_at) filter (where i.applied_at is null and i.failed_at is null),
         count(*) filter (where i.failed_at is not null),
         count(*) filter (where i.applied_at >= now() - interval '1 hour'),
         round((percentile_cont(0.5) within group (order by extract(epoch from i.applied_at - i.received_at) * 1000)
                  filter (where i.applied_at >= now() - interval '1 hour'))::numeric, 1),
         round((percentile_cont(0.95) within group (order by extract(epoch from i.applied_at - i.received_at) * 1000)
                  filter (where i.applied_at >= now() - interval '1 hour'))::numeric, 1)
    from (values ('sendgrid_events'), ('twilio_status'), ('twilio_inbound')) s(source)
    left join private.webhook_inbox i on i.source = s.source
   where private.has_role('admin')
      or (current_setting('role', true) not in ('anon', 'authenticated') and coalesce(auth.role(), '') not in ('anon', 'authenticated'))
   group by s.source
$$;

CREATE VIEW public.webhook_inbox_health WITH (security_invoker='true') AS
 SELECT webhook_inbox_health.source,
    webhook_inbox_health.pending_rows,
    webhook_inbox_health.pending_events,
    webhook_inbox_health.oldest_pending_at,
    webhook_inbox_health.failed_rows,
    webhook_inbox_health.applied_last_hour,
    webhook_inbox_health.lag_p50_ms,
    webhook_inbox_health.lag_p95_ms
   FROM private.webhook_inbox_health() webhook_inbox_health(source, pending_rows, pending_events, oldest_pending_at, failed_rows, applied_last_hour, lag_p50_ms, lag_p95_ms);

COMMENT ON VIEW public.webhook_inbox_health IS 'Per webhook source: pending rows and events, the oldest pending, rows set aside after 5 failures, and the ack-to-applied lag p50/p95 over the last hour. Admin only.';

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _010_validate BEFORE INSERT OR UPDATE ON public.engagement_settings FOR EACH ROW EXECUTE FUNCTION private.tg_engagement_settings__validate();

CREATE TRIGGER _100_refresh_facts AFTER UPDATE ON public.engagement_settings FOR EACH ROW EXECUTE FUNCTION private.tg_engagement_settings__refresh_facts();

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON public.engagement_settings FOR EACH ROW EXECUTE FUNCTION private.tg_audit('key');

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

ALTER TABLE private.webhook_inbox ENABLE ROW LEVEL SECURITY;

ALTER TABLE private.webhook_opt_outs ENABLE ROW LEVEL SECURITY;

call private.staff_access('public.engagement_settings', read_by => 'admin', write_by => 'communicator', writes => '{update}');
call private.staff_access('public.message_event_rejections', read_by => 'admin');

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select, update on table public.engagement_settings to service_role;
grant select, insert, update, delete on table public.message_event_rejections to service_role;
grant select on table public.webhook_inbox_health to authenticated, service_role;
grant execute on function
  private.accept_webhook(text,text,integer,jsonb,bytea),
  private.apply_webhook_inbox(integer,integer),
  private.apply_webhooks_job_command(integer,integer),
  private.prune_webhook_inbox(interval),
  private.webhook_apply_parts()
to service_role;
grant execute on function private.webhook_inbox_health() to authenticated, service_role;

reset search_path;
reset check_function_bodies;
