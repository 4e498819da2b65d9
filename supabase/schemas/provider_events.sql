-- Provider events
--
-- Delivery events from SendGrid, Twilio and Expo: ingestion, recipient status, provider
-- consent changes, suppressions, and campaign statistics.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE private.provider_event_statuses (
    provider text NOT NULL,
    event text NOT NULL,
    status text NOT NULL,
    CONSTRAINT provider_event_statuses_pkey PRIMARY KEY (provider, event)
);

CREATE TABLE private.provider_sync_state (
    key text NOT NULL,
    synced_until timestamp with time zone NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT provider_sync_state_pkey PRIMARY KEY (key)
);

CREATE TABLE private.recipient_status_ranks (
    status text NOT NULL,
    rank integer NOT NULL,
    CONSTRAINT recipient_status_ranks_pkey PRIMARY KEY (status)
);

CREATE TABLE public.message_events (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY,
    provider text NOT NULL,
    provider_event_id text NOT NULL,
    event text NOT NULL,
    recipient_id uuid,
    campaign_id uuid,
    customer_id uuid,
    address text,
    url text,
    reason text,
    occurred_at timestamp with time zone NOT NULL,
    payload jsonb NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT message_events_provider_is_known CHECK ((provider = ANY (ARRAY['sendgrid'::text, 'twilio'::text, 'expo'::text]))),
    CONSTRAINT message_events_pkey PRIMARY KEY (id),
    CONSTRAINT message_events_provider_event_key UNIQUE (provider, provider_event_id),
    CONSTRAINT message_events_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES public.campaigns(id) ON DELETE SET NULL,
    CONSTRAINT message_events_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE SET NULL,
    CONSTRAINT message_events_recipient_id_fkey FOREIGN KEY (recipient_id) REFERENCES public.campaign_recipients(id) ON DELETE SET NULL
);

COMMENT ON TABLE public.message_events IS 'Every provider event once (unique provider event id); unknown event types are kept and otherwise ignored.';

CREATE TABLE public.suppressions (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY,
    channel text NOT NULL,
    address text NOT NULL,
    address_key text GENERATED ALWAYS AS (lower(btrim(address))) STORED,
    reason text NOT NULL,
    source text DEFAULT 'admin'::text NOT NULL,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT suppressions_address_not_blank CHECK (((char_length(btrim(address)) >= 1) AND (char_length(btrim(address)) <= 320))),
    CONSTRAINT suppressions_channel_is_email_sms_or_push CHECK ((channel = ANY (ARRAY['email'::text, 'sms'::text, 'push'::text]))),
    CONSTRAINT suppressions_reason_is_known CHECK ((reason = ANY (ARRAY['bounce'::text, 'dropped'::text, 'invalid'::text, 'spamreport'::text, 'unsubscribe'::text, 'group_unsubscribe'::text, 'block'::text, 'manual'::text]))),
    CONSTRAINT suppressions_channel_address_key UNIQUE (channel, address_key),
    CONSTRAINT suppressions_pkey PRIMARY KEY (id)
);

COMMENT ON TABLE public.suppressions IS 'Addresses no message may go to, whatever the consent: bounces, spam reports, invalid addresses, provider unsubscribes.';

CREATE INDEX message_events_campaign_idx ON public.message_events USING btree (campaign_id, event);

CREATE INDEX message_events_customer_id_idx ON public.message_events USING btree (customer_id);

CREATE INDEX message_events_engagement_idx ON public.message_events USING btree (customer_id, occurred_at DESC) WHERE (event = ANY (ARRAY['open'::text, 'click'::text, 'read'::text, 'machine_open'::text, 'bot_click'::text]));

CREATE INDEX message_events_recipient_idx ON public.message_events USING btree (recipient_id, event);

CREATE INDEX message_events_twilio_recipient_idx ON public.message_events USING btree (((payload ->> '_recipient_id'::text))) WHERE ((provider = 'twilio'::text) AND (payload ? '_recipient_id'::text));

ALTER TABLE ONLY private.provider_event_statuses
    ADD CONSTRAINT provider_event_statuses_status_fkey FOREIGN KEY (status) REFERENCES private.recipient_status_ranks(status);

insert into private.recipient_status_ranks (status, rank) values
  ('bounced', '25'),
  ('clicked', '40'),
  ('deferred', '12'),
  ('delivered', '20'),
  ('dropped', '25'),
  ('failed', '25'),
  ('opened', '30'),
  ('sent', '10'),
  ('spam_reported', '60'),
  ('unsubscribed', '50')
on conflict do nothing;

insert into private.provider_event_statuses (provider, event, status) values
  ('sendgrid', 'bounce', 'bounced'),
  ('sendgrid', 'click', 'clicked'),
  ('sendgrid', 'deferred', 'deferred'),
  ('sendgrid', 'delivered', 'delivered'),
  ('sendgrid', 'dropped', 'dropped'),
  ('sendgrid', 'group_unsubscribe', 'unsubscribed'),
  ('sendgrid', 'open', 'opened'),
  ('sendgrid', 'spamreport', 'spam_reported'),
  ('sendgrid', 'unsubscribe', 'unsubscribed'),
  ('twilio', 'delivered', 'delivered'),
  ('twilio', 'failed', 'failed'),
  ('twilio', 'read', 'opened'),
  ('twilio', 'sent', 'sent'),
  ('twilio', 'undelivered', 'failed')
on conflict do nothing;

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.apply_provider_consent(changes jsonb) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  applied integer;
begin
  with c as (
    select distinct on (x.customer_id, x.channel) x.*
      from jsonb_to_recordset(apply_provider_consent.changes)
           as x(customer_id uuid, channel text, enabled boolean, source text, note text, occurred_at timestamptz)
     where x.customer_id is not null
     order by x.customer_id, x.channel, x.occurred_at desc
  ), upserted as (
    insert into public.customer_consent as cc (customer_id, channel, enabled, source, note)
    select c.customer_id, c.channel, c.enabled, c.source, left(c.note, 2000) from c
     where exists (select 1 from public.users u where u.id = c.customer_id)
    on conflict on constraint customer_consent_pkey do update
      set enabled = excluded.enabled, source = excluded.source, note = excluded.note
      where cc.enabled is distinct from excluded.enabled
        -- provider times have one-second resolution: an opt-out within the same second as the
        -- last change counts as newer (when in doubt, do not send); an opt-in must be newer
        and cc.updated_at <= (select c2.occurred_at + case when c2.enabled then interval '0' else interval '1 second' end
                                from c c2 where c2.customer_id = excluded.customer_id and c2.channel = excluded.channel)
    returning 1
  )
  select count(*) into applied from upserted;
  return applied;
end
$$;

CREATE FUNCTION private.apply_recipient_events(recipient_ids uuid[]) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select private.apply_recipient_events_of(array(
    select e.id from public.message_events e where e.recipient_id = any(apply_recipient_events.recipient_ids)))
$$;

COMMENT ON FUNCTION private.apply_recipient_events(recipient_ids uuid[]) IS 'Applies every stored event of these recipients (a send just recorded: events that overtook it apply now).';

CREATE FUNCTION private.apply_recipient_events_of(event_ids bigint[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  lvl record;
  n integer;
  changed integer := 0;
begin
  -- one status level at a time, lowest rank first, so each step a recipient takes (delivered,
  -- opened, clicked) is one log update and one timeline event; a recipient only moves up
  for lvl in
    select distinct m.status, rk.rank
      from public.message_events e
      join private.provider_event_statuses m on m.provider = e.provider and m.event = e.event
      join private.recipient_status_ranks rk on rk.status = m.status
     where e.id = any(apply_recipient_events_of.event_ids) and e.recipient_id is not null
     order by rk.rank, m.status
  loop
    with hits as (
      select e.recipient_id, min(e.occurred_at) as at, min(e.reason) as reason
        from public.message_events e
        join private.provider_event_statuses m on m.provider = e.provider and m.event = e.event
       where e.id = any(apply_recipient_events_of.event_ids) and e.recipient_id is not null and m.status = lvl.status
       group by e.recipient_id
    ), updated as (
      update public.campaign_recipients r
         set status = lvl.status,
             delivered_at = case when lvl.status in ('delivered', 'opened', 'clicked') then coalesce(r.delivered_at, h.at) else r.delivered_at end,
             failed_at = case when lvl.status in ('bounced', 'dropped', 'failed') then coalesce(r.failed_at, h.at) else r.failed_at end,
             last_error = case when lvl.status in ('bounced', 'dropped', 'failed') then coalesce(h.reason, r.last_error) else r.last_error end,
             updated_at = now()
        from hits h, private.recipient_status_ranks cur
       where r.id = h.recipient_id
         and cur.status = r.status
         and cur.rank < lvl.rank
      returning r.id, r.channel
    ), emails as (
      update public.email_logs l set status = lvl.status
        from updated u
       where l.recipient_id = u.id and u.channel = 'email' and l.status is distinct from lvl.status
      returning 1
    ), sms as (
      update public.sms_logs l set status = lvl.status, updated_at = now()
        from updated u
       where l.recipient_id = u.id and u.channel = 'sms' and l.status is distinct from lvl.status
      returning 1
    )
    select count(*) into n from updated;
    changed := changed + n;
  end loop;
  return changed;
end
$$;

COMMENT ON FUNCTION private.apply_recipient_events_of(event_ids bigint[]) IS 'Moves the recipients of these message events up to the highest-ranked status they show, one level at a time; returns the status changes.';

CREATE FUNCTION private.ingest_sendgrid_events(events jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  received integer := jsonb_array_length(ingest_sendgrid_events.events);
  counts jsonb;
  new_events bigint[];
  contact jsonb;
  status_changed integer;
begin
  with classified as materialized (
    select c.* from private.sendgrid_classify(ingest_sendgrid_events.events) c
  ), refused as (
    insert into public.message_event_rejections (provider, provider_event_id, event, verdict, reason, recipient_id, campaign_id, address, occurred_at, payload)
    select 'sendgrid', c.event_id, c.event, case c.fate when 'address' then 'ignored' else c.fate end, c.problem,
           c.claimed_recipient, c.claimed_campaign, c.address, c.occurred_at, c.payload
      from classified c
     where c.fate <> 'apply'
    on conflict on constraint message_event_rejections_provider_event_key do nothing
    returning verdict, reason
  ), inserted as (
    insert into public.message_events (provider, provider_event_id, event, recipient_id, campaign_id, customer_id, address, url, reason, occurred_at, payload)
    select 'sendgrid', c.event_id, c.event, c.recipient_id, c.campaign_id, c.customer_id, c.address, c.url, c.reason, c.occurred_at, c.payload
      from classified c
     where c.fate in ('apply', 'address')
    on conflict on constraint message_events_provider_event_key do nothing
    returning id, recipient_id, customer_id, event, address, reason, occurred_at, payload
  )
  select jsonb_build_object(
           'received', received,
           'new', (select count(*) from inserted),
           'duplicates', (select count(*) from classified c where c.fate <> 'address') - (select count(*) from inserted)
                         - (select count(*) from refused f where f.reason not like '%applied to the address only'),
           'ignored', (select count(*) from refused f where f.verdict = 'ignored'),
           'inconsistent', (select count(*) from refused f where f.verdict = 'inconsistent'),
           'malformed', received - (select count(*) from classified)),
         (select array_agg(n.id) filter (where n.recipient_id is not null) from inserted n),
         (select coalesce(jsonb_agg(jsonb_build_object('event', n.event, 'customer_id', n.customer_id, 'address', n.address,
                                                       'reason', n.reason, 'occurred_at', n.occurred_at, 'asm_group_id', n.payload ->> 'asm_group_id'))
                          filter (where n.event in ('unsubscribe', 'group_unsubscribe', 'group_resubscribe', 'spamreport', 'bounce', 'dropped')),
                          '[]'::jsonb)
            from inserted n)
    into counts, new_events, contact;

  if (counts ->> 'inconsistent')::integer > 0 then
    raise log 'sendgrid-events: % inconsistent event(s) rejected, see public.message_event_rejections', counts ->> 'inconsistent';
  end if;
  -- only the events stored now: earlier ones were applied when they came (or when their send was recorded)
  status_changed := private.apply_recipient_events_of(coalesce(new_events, array[]::bigint[]));
  return counts || jsonb_build_object('status_changed', status_changed) || private.apply_sendgrid_contact_effects(contact);
end
$$;

CREATE FUNCTION private.ingest_sendgrid_suppressions(kind text, rows jsonb, synced_until timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  list_reason text := case ingest_sendgrid_suppressions.kind
                   when 'unsubscribes' then 'unsubscribe' when 'bounces' then 'bounce' when 'spam_reports' then 'spamreport'
                   when 'invalid_emails' then 'invalid' when 'blocks' then 'block' end;
  added integer;
  consent integer := 0;
begin
  if list_reason is null then
    raise exception using errcode = '22023', message = format('kind: %s is not a suppression list', ingest_sendgrid_suppressions.kind);
  end if;
  insert into public.suppressions (channel, address, reason, source, details)
  select distinct on (lower(x.email)) 'email', x.email, list_reason, 'sendgrid_sync',
         jsonb_strip_nulls(jsonb_build_object('created', x.created, 'reason', x.reason, 'status', x.status))
    from jsonb_to_recordset(ingest_sendgrid_suppressions.rows) as x(email text, created bigint, reason text, status text)
   where nullif(btrim(x.email), '') is not null
  on conflict on constraint suppressions_channel_address_key do nothing;
  get diagnostics added = row_count;
  if list_reason in ('unsubscribe', 'spamreport') then
    consent := private.apply_provider_consent((
      select coalesce(jsonb_agg(jsonb_build_object('customer_id', u.id, 'channel', 'email', 'enabled', false, 'source', 'sendgrid',
                                                   'note', format('SendGrid %s list', ingest_sendgrid_suppressions.kind),
                                                   'occurred_at', to_timestamp(x.created))), '[]'::jsonb)
        from jsonb_to_recordset(ingest_sendgrid_suppressions.rows) as x(email text, created bigint)
        join public.users u on lower(u.email) = lower(x.email)));
  end if;
  insert into private.provider_sync_state (key, synced_until) values ('sendgrid:' || ingest_sendgrid_suppressions.kind, ingest_sendgrid_suppressions.synced_until)
  on conflict (key) do update set synced_until = greatest(private.provider_sync_state.synced_until, excluded.synced_until), updated_at = now();
  return jsonb_build_object('kind', ingest_sendgrid_suppressions.kind, 'rows', jsonb_array_length(ingest_sendgrid_suppressions.rows),
                            'suppressed', added, 'consent_changed', consent);
end
$$;

CREATE FUNCTION private.ingest_twilio_inbound(params jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  keyword text := upper(btrim(regexp_replace(coalesce(ingest_twilio_inbound.params ->> 'Body', ''), '[[:punct:]]', '', 'g')));
  from_number text := ingest_twilio_inbound.params ->> 'From';
  action text;
  fresh integer;
  consent integer := 0;
  confirmed integer := 0;
begin
  action := case when keyword in ('STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT') then 'opt_out'
                 when keyword in ('START', 'YES', 'UNSTOP') then 'opt_in'
                 when keyword in ('HELP', 'INFO') then 'help'
                 else 'message' end;
  insert into public.message_events (provider, provider_event_id, event, customer_id, address, reason, occurred_at, payload)
  values ('twilio', coalesce(ingest_twilio_inbound.params ->> 'MessageSid', md5(ingest_twilio_inbound.params::text)), 'inbound_' || action,
          (select u.id from public.users u where u.phone = from_number order by u.id limit 1), from_number, keyword, now(), ingest_twilio_inbound.params)
  on conflict on constraint message_events_provider_event_key do nothing;
  get diagnostics fresh = row_count;
  if fresh = 1 and action in ('opt_out', 'opt_in') then
    consent := private.apply_sms_keyword(from_number, action = 'opt_in', 'twilio_inbound', format('SMS reply %s', keyword));
  end if;
  if fresh = 1 and keyword = 'YES' then
    confirmed := private.confirm_sms_consent(from_number, ingest_twilio_inbound.params ->> 'MessageSid');
  end if;
  return jsonb_build_object('new', fresh, 'action', action, 'consent_changed', consent + confirmed, 'confirmed', confirmed);
end
$$;

CREATE FUNCTION private.ingest_twilio_status(params jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  sid text := ingest_twilio_status.params ->> 'MessageSid';
  status text := lower(ingest_twilio_status.params ->> 'MessageStatus');
  error_code text := nullif(ingest_twilio_status.params ->> 'ErrorCode', '');
  event_id text := sid || ':' || status || coalesce(':' || error_code, '');
  rid_text text := ingest_twilio_status.params ->> '_recipient_id';
  r public.campaign_recipients;
  named public.campaign_recipients;
  verdict text;
  problem text;
  fresh integer;
  changed integer := 0;
  consent integer := 0;
begin
  if sid is null or status is null then
    raise exception using errcode = '22023', message = 'MessageSid and MessageStatus are required';
  end if;
  select * into r from public.campaign_recipients x where x.provider_message_id = sid limit 1;
  if r.id is null then
    -- the SID is not (yet) ours: the recipient named in the callback URL decides whether this is
    -- evidence for a send in flight (kept: it applies once the send is recorded, or settles an
    -- in-doubt row) or evidence that fits nothing (ignored, with the reason)
    if rid_text ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
      select * into named from public.campaign_recipients x where x.id = rid_text::uuid;
    end if;
    problem := case
      when rid_text is null then format('unknown message SID %s (no recipient in the callback URL)', sid)
      when named.id is null then format('unknown message SID %s and unknown recipient %s', sid, rid_text)
      when named.channel <> 'sms' then format('recipient %s is a %s recipient, not sms', named.id, named.channel)
      when named.status in ('sending', 'in_doubt', 'held') or (named.status = 'queued' and named.attempts > 0) then null
      when named.provider_message_id is not null
        then format('message SID %s is not the message of recipient %s (%s)', sid, named.id, named.provider_message_id)
      else format('recipient %s was never sent (%s)', named.id, named.status)
    end;
    verdict := case when named.id is not null and named.channel <> 'sms' then 'inconsistent' when problem is not null then 'ignored' end;
  end if;

  if verdict is not null then
    insert into public.message_event_rejections (provider, provider_event_id, event, verdict, reason, recipient_id, address, occurred_at, payload)
    values ('twilio', event_id, status, verdict, problem, rid_text, ingest_twilio_status.params ->> 'To', now(), ingest_twilio_status.params)
    on conflict on constraint message_event_rejections_provider_event_key do nothing;
    get diagnostics fresh = row_count;
  else
    insert into public.message_events (provider, provider_event_id, event, recipient_id, campaign_id, customer_id, address, reason, occurred_at, payload)
    values ('twilio', event_id, status, r.id, r.campaign_id, r.customer_id,
            ingest_twilio_status.params ->> 'To', case when error_code is not null then 'twilio error ' || error_code end, now(),
            ingest_twilio_status.params)
    on conflict on constraint message_events_provider_event_key do nothing;
    get diagnostics fresh = row_count;
  end if;
  if fresh = 1 and r.id is not null then
    changed := private.apply_recipient_events(array[r.id]);
    if status in ('delivered', 'undelivered', 'failed') then
      perform private.record_timeline_event(r.customer_id, 'campaign', 'campaign_recipients', r.id, 'sms:' || status, now(),
        format('SMS %s: %s', case status when 'delivered' then 'delivered' else 'not delivered' end,
               (select c.name from public.campaigns c where c.id = r.campaign_id)),
        jsonb_build_object('action', status, 'campaign_id', r.campaign_id, 'error_code', error_code));
    end if;
  end if;
  -- 21610: the number replied STOP; the carrier refuses every message to it, whoever holds it
  -- (also when the callback fits no recipient: an opt-out is never lost)
  if fresh = 1 and error_code = '21610' then
    consent := private.apply_sms_keyword(coalesce(r.address, ingest_twilio_status.params ->> 'To'), false, 'twilio_status',
                                         'Twilio 21610: the number unsubscribed (STOP)');
  end if;
  return jsonb_build_object('new', case when verdict is null then fresh else 0 end, 'status_changed', changed, 'consent_changed', consent)
         || case when verdict is not null then jsonb_build_object(verdict, fresh, 'reason', problem) else '{}'::jsonb end;
end
$$;

CREATE FUNCTION private.suppression_sync_since(kind text) RETURNS timestamp with time zone
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select coalesce((select s.synced_until from private.provider_sync_state s where s.key = 'sendgrid:' || suppression_sync_since.kind),
                  'epoch'::timestamptz)
$$;

CREATE VIEW public.campaign_link_clicks WITH (security_invoker='true') AS
 SELECT m.campaign_id,
    m.url,
    (count(*))::integer AS clicks,
    (count(DISTINCT m.recipient_id))::integer AS unique_clickers,
    min(m.occurred_at) AS first_click_at,
    max(m.occurred_at) AS last_click_at
   FROM public.message_events m
  WHERE ((m.event = 'click'::text) AND (m.url IS NOT NULL))
  GROUP BY m.campaign_id, m.url;

CREATE VIEW public.campaign_stats WITH (security_invoker='true') AS
 SELECT c.id AS campaign_id,
    c.name,
    c.channel,
    c.status,
    c.created_at,
    COALESCE(r.audience, 0) AS audience,
    COALESCE(r.queued, 0) AS queued,
    COALESCE(r.sent, 0) AS sent,
    COALESCE(r.delivered, 0) AS delivered,
    COALESCE(e.unique_opens, 0) AS unique_opens,
    COALESCE(e.unique_clicks, 0) AS unique_clicks,
    COALESCE(e.bounces, 0) AS bounces,
    COALESCE(e.unsubscribes, 0) AS unsubscribes,
    COALESCE(e.spam_reports, 0) AS spam_reports,
    COALESCE(r.failed, 0) AS failed,
    COALESCE(r.cancelled, 0) AS cancelled,
    jsonb_build_object('no_consent', COALESCE(r.skipped_no_consent, 0), 'suppressed', COALESCE(r.skipped_suppressed, 0), 'no_address', COALESCE(r.skipped_no_address, 0), 'frequency_cap', COALESCE(r.skipped_frequency_cap, 0)) AS skipped,
    round(((COALESCE(e.unique_opens, 0))::numeric / (NULLIF(r.delivered, 0))::numeric), 4) AS open_rate,
    round(((COALESCE(e.unique_clicks, 0))::numeric / (NULLIF(r.delivered, 0))::numeric), 4) AS click_rate,
    COALESCE(e.machine_opens, 0) AS machine_opens,
    COALESCE(e.bot_clicks, 0) AS bot_clicks
   FROM ((public.campaigns c
     LEFT JOIN LATERAL ( SELECT (count(*))::integer AS audience,
            (count(*) FILTER (WHERE (x.status = ANY (ARRAY['queued'::text, 'sending'::text]))))::integer AS queued,
            (count(*) FILTER (WHERE (x.sent_at IS NOT NULL)))::integer AS sent,
            (count(*) FILTER (WHERE ((x.delivered_at IS NOT NULL) OR (x.status = ANY (ARRAY['delivered'::text, 'opened'::text, 'clicked'::text, 'unsubscribed'::text, 'spam_reported'::text])))))::integer AS delivered,
            (count(*) FILTER (WHERE (x.status = 'failed'::text)))::integer AS failed,
            (count(*) FILTER (WHERE (x.status = 'cancelled'::text)))::integer AS cancelled,
            (count(*) FILTER (WHERE (x.status = 'skipped_no_consent'::text)))::integer AS skipped_no_consent,
            (count(*) FILTER (WHERE (x.status = 'skipped_suppressed'::text)))::integer AS skipped_suppressed,
            (count(*) FILTER (WHERE (x.status = 'skipped_no_address'::text)))::integer AS skipped_no_address,
            (count(*) FILTER (WHERE (x.status = 'skipped_frequency_cap'::text)))::integer AS skipped_frequency_cap
           FROM public.campaign_recipients x
          WHERE (x.campaign_id = c.id)) r ON (true))
     LEFT JOIN LATERAL ( SELECT (count(DISTINCT m.recipient_id) FILTER (WHERE (m.event = ANY (ARRAY['open'::text, 'read'::text]))))::integer AS unique_opens,
            (count(DISTINCT m.recipient_id) FILTER (WHERE (m.event = 'click'::text)))::integer AS unique_clicks,
            (count(DISTINCT m.recipient_id) FILTER (WHERE (m.event = ANY (ARRAY['bounce'::text, 'undelivered'::text]))))::integer AS bounces,
            (count(DISTINCT m.recipient_id) FILTER (WHERE (m.event = ANY (ARRAY['unsubscribe'::text, 'group_unsubscribe'::text]))))::integer AS unsubscribes,
            (count(DISTINCT m.recipient_id) FILTER (WHERE (m.event = 'spamreport'::text)))::integer AS spam_reports,
            (count(DISTINCT m.recipient_id) FILTER (WHERE (m.event = 'machine_open'::text)))::integer AS machine_opens,
            (count(DISTINCT m.recipient_id) FILTER (WHERE (m.event = 'bot_click'::text)))::integer AS bot_clicks
           FROM public.message_events m
          WHERE (m.campaign_id = c.id)) e ON (true));

COMMENT ON COLUMN public.campaign_stats.unique_opens IS 'Recipients with a human open (machine opens, e.g. Apple Mail Privacy Protection, are in machine_opens).';

COMMENT ON COLUMN public.campaign_stats.machine_opens IS 'Recipients with an open SendGrid flagged sg_machine_open.';

COMMENT ON COLUMN public.campaign_stats.bot_clicks IS 'Recipients with a click that looked automated (public.engagement_settings).';

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _200_facts_insert AFTER INSERT ON public.message_events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_message_events__facts();

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

call private.staff_access('public.message_events', read_by => 'admin');
call private.staff_access('public.suppressions', read_by => 'admin', write_by => 'communicator');

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select on table
  public.campaign_link_clicks,
  public.campaign_stats
to authenticated, service_role;
grant select, insert, update, delete on table public.message_events to service_role;
grant select, insert, update, delete on table public.suppressions to service_role;
grant select, usage on sequence
  public.message_events_id_seq,
  public.suppressions_id_seq
to authenticated;
grant select, update, usage on sequence
  public.message_events_id_seq,
  public.suppressions_id_seq
to service_role;
grant execute on function
  private.ingest_sendgrid_events(jsonb),
  private.ingest_sendgrid_suppressions(text,jsonb,timestamp with time zone),
  private.ingest_twilio_inbound(jsonb),
  private.ingest_twilio_status(jsonb),
  private.suppression_sync_since(text)
to service_role;

reset search_path;
reset check_function_bodies;
