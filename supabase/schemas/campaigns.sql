-- Campaigns
--
-- Campaigns, their frozen audiences and recipients, per-channel send logs, and the
-- campaign state machine.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE public.campaign_audience_members (
    audience_id uuid NOT NULL,
    customer_id uuid NOT NULL,
    CONSTRAINT campaign_audience_members_pkey PRIMARY KEY (audience_id, customer_id),
    CONSTRAINT campaign_audience_members_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE
);

CREATE TABLE public.campaign_audiences (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    campaign_id uuid,
    segment_snapshot jsonb NOT NULL,
    generated_at timestamp with time zone DEFAULT now() NOT NULL,
    count integer NOT NULL,
    created_by uuid DEFAULT auth.uid(),
    CONSTRAINT campaign_audiences_pkey PRIMARY KEY (id),
    CONSTRAINT campaign_audiences_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id) ON DELETE SET NULL
);

COMMENT ON COLUMN public.campaign_audiences.segment_snapshot IS 'What was frozen: {"kind","segment_id","definition","version","hash","counts":{channel:{eligible,no_consent,suppressed,no_address}}}';

CREATE TABLE public.campaign_recipients (
    id uuid DEFAULT (encode(OVERLAY(uuid_send(gen_random_uuid()) PLACING SUBSTRING(int8send((floor((EXTRACT(epoch FROM clock_timestamp()) * (1000)::numeric)))::bigint) FROM 3) FROM 1 FOR 6), 'hex'::text))::uuid NOT NULL,
    campaign_id uuid NOT NULL,
    customer_id uuid NOT NULL,
    channel text NOT NULL,
    address text,
    status text NOT NULL,
    consent_history_id bigint,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone,
    lease_expires_at timestamp with time zone,
    leased_by text,
    provider_message_id text,
    last_error text,
    queued_at timestamp with time zone,
    sent_at timestamp with time zone,
    delivered_at timestamp with time zone,
    failed_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    consent_checked_at timestamp with time zone,
    attempt_id uuid,
    attempt_started_at timestamp with time zone,
    attempt_worker text,
    in_doubt_since timestamp with time zone,
    resolution text,
    CONSTRAINT campaign_recipients_status_is_known CHECK ((status = ANY (ARRAY['queued'::text, 'sending'::text, 'in_doubt'::text, 'held'::text, 'sent'::text, 'delivered'::text, 'deferred'::text, 'opened'::text, 'clicked'::text, 'bounced'::text, 'dropped'::text, 'failed'::text, 'unsubscribed'::text, 'spam_reported'::text, 'cancelled'::text, 'skipped_no_consent'::text, 'skipped_suppressed'::text, 'skipped_no_address'::text, 'skipped_duplicate_address'::text, 'skipped_frequency_cap'::text]))),
    CONSTRAINT campaign_recipients_one_per_member UNIQUE (campaign_id, customer_id, channel),
    CONSTRAINT campaign_recipients_pkey PRIMARY KEY (id)
);

COMMENT ON COLUMN public.campaign_recipients.consent_history_id IS 'The customer_consent_history row that allowed the send (checked again when it leaves).';

COMMENT ON COLUMN public.campaign_recipients.consent_checked_at IS 'When claim_recipients re-checked consent and suppression before the send.';

COMMENT ON COLUMN public.campaign_recipients.attempt_id IS 'The last attempt, recorded (committed) before the provider call: a row whose worker died is in doubt, not unclaimed.';

COMMENT ON COLUMN public.campaign_recipients.resolution IS 'How an in-doubt attempt was resolved, from which evidence.';

CREATE TABLE public.campaigns (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    channel text NOT NULL,
    status text DEFAULT 'draft'::text NOT NULL,
    template_id uuid,
    template_version integer,
    content jsonb NOT NULL,
    audience jsonb NOT NULL,
    segment_id uuid,
    scheduled_at timestamp with time zone,
    throttle_per_minute integer,
    created_by uuid DEFAULT auth.uid(),
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    completed_at timestamp with time zone,
    cancelled_at timestamp with time zone,
    purpose text DEFAULT 'marketing'::text NOT NULL,
    send_window_start time without time zone,
    send_window_end time without time zone,
    local_send_time time without time zone,
    quiet_hours_override_reason text,
    quiet_hours_override_by uuid,
    CONSTRAINT campaigns_channel_is_email_sms_or_push CHECK ((channel = ANY (ARRAY['email'::text, 'sms'::text, 'push'::text]))),
    CONSTRAINT campaigns_name_length_1_to_200 CHECK (((char_length(btrim(name)) >= 1) AND (char_length(btrim(name)) <= 200))),
    CONSTRAINT campaigns_purpose_is_known CHECK ((purpose = ANY (ARRAY['marketing'::text, 'consent_confirmation'::text]))),
    CONSTRAINT campaigns_send_window_not_empty CHECK (((send_window_start IS DISTINCT FROM send_window_end) OR (send_window_start IS NULL))),
    CONSTRAINT campaigns_send_window_start_and_end CHECK (((send_window_start IS NULL) = (send_window_end IS NULL))),
    CONSTRAINT campaigns_status_is_known CHECK ((status = ANY (ARRAY['draft'::text, 'scheduled'::text, 'sending'::text, 'paused'::text, 'sent'::text, 'cancelled'::text]))),
    CONSTRAINT campaigns_throttle_per_minute_1_to_100000 CHECK (((throttle_per_minute >= 1) AND (throttle_per_minute <= 100000))),
    CONSTRAINT campaigns_pkey PRIMARY KEY (id),
    CONSTRAINT campaigns_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id) ON DELETE SET NULL,
    CONSTRAINT campaigns_quiet_hours_override_by_fkey FOREIGN KEY (quiet_hours_override_by) REFERENCES public.users(id) ON DELETE SET NULL,
    CONSTRAINT campaigns_segment_id_fkey FOREIGN KEY (segment_id) REFERENCES public.customer_segments(id) ON DELETE SET NULL,
    CONSTRAINT campaigns_template_id_fkey FOREIGN KEY (template_id) REFERENCES public.message_templates(id) ON DELETE SET NULL
);

COMMENT ON COLUMN public.campaigns.content IS 'Frozen copy of what is sent: {"subject","text","html"}; later template edits do not change it.';

COMMENT ON COLUMN public.campaigns.purpose IS 'marketing: needs consent at enqueue and send; consent_confirmation: the double opt-in message itself (transactional, consent-exempt, never suppressed-exempt).';

COMMENT ON COLUMN public.campaigns.send_window_start IS 'Send only between send_window_start and send_window_end in each recipient''s local time (may cross midnight).';

COMMENT ON COLUMN public.campaigns.local_send_time IS 'Send at this local time for each recipient (the first such time at or after scheduled_at).';

COMMENT ON COLUMN public.campaigns.quiet_hours_override_reason IS 'Set when the campaign ignores the channel''s quiet hours (audited).';

CREATE TABLE public.push_logs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    customer_id uuid,
    to_token text NOT NULL,
    title text,
    status text DEFAULT 'sent'::text NOT NULL,
    provider_message_id text,
    campaign_id uuid,
    recipient_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT push_logs_pkey PRIMARY KEY (id),
    CONSTRAINT push_logs_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES public.campaigns(id) ON DELETE SET NULL,
    CONSTRAINT push_logs_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE,
    CONSTRAINT push_logs_recipient_id_fkey FOREIGN KEY (recipient_id) REFERENCES public.campaign_recipients(id) ON DELETE SET NULL
);

CREATE TABLE public.sms_logs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    customer_id uuid,
    to_phone text NOT NULL,
    body text,
    status text DEFAULT 'sent'::text NOT NULL,
    provider_message_id text,
    campaign_id uuid,
    recipient_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT sms_logs_pkey PRIMARY KEY (id),
    CONSTRAINT sms_logs_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES public.campaigns(id) ON DELETE SET NULL,
    CONSTRAINT sms_logs_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE,
    CONSTRAINT sms_logs_recipient_id_fkey FOREIGN KEY (recipient_id) REFERENCES public.campaign_recipients(id) ON DELETE SET NULL
);

CREATE INDEX campaign_audience_members_customer_id_idx ON public.campaign_audience_members USING btree (customer_id);

CREATE UNIQUE INDEX campaign_audiences_campaign_id_key ON public.campaign_audiences USING btree (campaign_id);

CREATE INDEX campaign_audiences_created_by_idx ON public.campaign_audiences USING btree (created_by);

CREATE INDEX campaign_recipients_customer_idx ON public.campaign_recipients USING btree (customer_id, channel, created_at DESC);

CREATE INDEX campaign_recipients_due_idx ON public.campaign_recipients USING btree (campaign_id, next_attempt_at) WHERE (status = 'queued'::text);

CREATE INDEX campaign_recipients_in_doubt_idx ON public.campaign_recipients USING btree (channel, in_doubt_since) WHERE (status = ANY (ARRAY['in_doubt'::text, 'held'::text]));

CREATE INDEX campaign_recipients_leased_idx ON public.campaign_recipients USING btree (campaign_id, lease_expires_at) WHERE (status = 'sending'::text);

CREATE INDEX campaign_recipients_provider_message_id_idx ON public.campaign_recipients USING btree (provider_message_id) WHERE (provider_message_id IS NOT NULL);

CREATE INDEX campaigns_active_idx ON public.campaigns USING btree (channel, status) WHERE (status = ANY (ARRAY['scheduled'::text, 'sending'::text]));

CREATE INDEX campaigns_created_by_idx ON public.campaigns USING btree (created_by);

CREATE INDEX campaigns_quiet_hours_override_by_idx ON public.campaigns USING btree (quiet_hours_override_by);

CREATE INDEX campaigns_segment_id_idx ON public.campaigns USING btree (segment_id);

CREATE INDEX campaigns_template_id_idx ON public.campaigns USING btree (template_id);

CREATE INDEX push_logs_campaign_id_idx ON public.push_logs USING btree (campaign_id);

CREATE INDEX push_logs_customer_id_idx ON public.push_logs USING btree (customer_id);

CREATE INDEX push_logs_recipient_id_idx ON public.push_logs USING btree (recipient_id);

CREATE INDEX sms_logs_campaign_id_idx ON public.sms_logs USING btree (campaign_id);

CREATE INDEX sms_logs_customer_id_idx ON public.sms_logs USING btree (customer_id);

CREATE INDEX sms_logs_provider_message_id_idx ON public.sms_logs USING btree (provider_message_id);

CREATE INDEX sms_logs_recipient_id_idx ON public.sms_logs USING btree (recipient_id);

ALTER TABLE ONLY public.campaign_audience_members
    ADD CONSTRAINT campaign_audience_members_audience_id_fkey FOREIGN KEY (audience_id) REFERENCES public.campaign_audiences(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.campaign_audiences
    ADD CONSTRAINT campaign_audiences_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES public.campaigns(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.consent_confirmations
    ADD CONSTRAINT consent_confirmations_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES public.campaigns(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.email_logs
    ADD CONSTRAINT email_logs_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES public.campaigns(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.email_logs
    ADD CONSTRAINT email_logs_recipient_id_fkey FOREIGN KEY (recipient_id) REFERENCES public.campaign_recipients(id) ON DELETE SET NULL;

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.address_key(channel text, address text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select case address_key.channel
           when 'sms' then nullif(regexp_replace(address_key.address, '[^0-9+]', '', 'g'), '')
           when 'email' then lower(btrim(address_key.address))
           else btrim(address_key.address) end
$$;

CREATE FUNCTION private.audience_counts(audience_id uuid, channels text[] DEFAULT ARRAY['email'::text, 'sms'::text, 'push'::text]) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select coalesce(jsonb_object_agg(ch, counts), '{}'::jsonb)
    from unnest(audience_counts.channels) ch
    cross join lateral (
      select jsonb_build_object(
               'eligible', count(*) filter (where fate = 'queued'),
               'no_consent', count(*) filter (where fate = 'skipped_no_consent'),
               'suppressed', count(*) filter (where fate = 'skipped_suppressed'),
               'no_address', count(*) filter (where fate = 'skipped_no_address')) as counts
        from (select case when cc.enabled is not true then 'skipped_no_consent'
                          when s.id is not null then 'skipped_suppressed'
                          when a.address is null then 'skipped_no_address'
                          else 'queued' end as fate
                from public.campaign_audience_members m
                join public.users u on u.id = m.customer_id
                left join public.customer_consent cc on cc.customer_id = m.customer_id and cc.channel = ch
                cross join lateral (select nullif(btrim(case ch when 'email' then u.email when 'sms' then u.phone
                         else (select t.token from public.customer_push_tokens t
                                where t.customer_id = m.customer_id and t.disabled_at is null
                                order by t.last_seen_at desc limit 1) end), '') as address) a
                left join public.suppressions s on s.channel = ch and s.address_key = lower(a.address)
               where m.audience_id = audience_counts.audience_id) f
    ) c
$$;

CREATE FUNCTION private.check_campaign_content(channel text, content jsonb) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
declare
  rules jsonb := private.messaging_rules() -> 'content' -> check_campaign_content.channel;
  c jsonb := check_campaign_content.content;
  k text;
  rule jsonb;
begin
  if rules is null then
    raise exception using errcode = '22023', message = 'channel: must be one of email, sms, push';
  end if;
  if jsonb_typeof(c) is distinct from 'object' then
    raise exception using errcode = '22023', message = 'content: must be an object';
  end if;
  select x into k from jsonb_object_keys(c) x where not rules ? x order by x limit 1;
  if k is not null then
    raise exception using errcode = '22023',
      message = format('content.%s: not part of %s content; use %s', k, check_campaign_content.channel,
                       (select string_agg(f, ', ') from jsonb_object_keys(rules) f));
  end if;
  for k, rule in select * from jsonb_each(rules) loop
    if c ? k and jsonb_typeof(c -> k) <> 'string' then
      raise exception using errcode = '22023', message = format('content.%s: must be a string', k);
    end if;
    if (rule ->> 'required')::boolean and private.is_blank(c ->> k) then
      raise exception using errcode = '22023', message = case
        when k = 'subject' then 'content.subject: an email needs a subject'
        else format('content.%s: is required', k) end;
    end if;
  end loop;
  begin
    perform private.check_message_content(check_campaign_content.channel, c ->> 'subject', c ->> 'text', c ->> 'html', null);
  exception when sqlstate '22023' then
    raise exception using errcode = '22023',
      message = 'content.' || replace(replace(sqlerrm, 'body_text:', 'text:'), 'body_html:', 'html:');
  end;
  if c ? 'title' and char_length(c ->> 'title') > (rules -> 'title' ->> 'max_chars')::integer then
    raise exception using errcode = '22023',
      message = format('content.title: a %s title is at most %s characters', check_campaign_content.channel, rules -> 'title' ->> 'max_chars');
  end if;
end
$$;

CREATE FUNCTION private.freeze_audience(audience jsonb, campaign_id uuid DEFAULT NULL::uuid, channels text[] DEFAULT ARRAY['email'::text, 'sms'::text, 'push'::text]) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  kinds text[];
  kind text;
  seg_id uuid;
  seg_def jsonb;
  ids uuid[];
  bad text;
  unknown_ids uuid[];
  new_id uuid := gen_random_uuid();
  member_count integer;
begin
  perform private.assert_staff('communications');
  if jsonb_typeof(freeze_audience.audience) is distinct from 'object' then
    raise exception using errcode = '22023', message = 'audience: must be an object with one of segment_id, definition, customer_ids';
  end if;
  kinds := array(select jsonb_object_keys(freeze_audience.audience));
  if cardinality(kinds) <> 1 or not kinds[1] = any(array['segment_id', 'definition', 'customer_ids']) then
    raise exception using errcode = '22023',
      message = format('audience: give exactly one of segment_id, definition, customer_ids; got %s',
                       coalesce(nullif(array_to_string(kinds, ', '), ''), 'nothing'));
  end if;
  kind := kinds[1];

  insert into public.campaign_audiences (id, campaign_id, segment_snapshot, count, created_by)
  values (new_id, freeze_audience.campaign_id, '{}'::jsonb, 0, auth.uid());

  if kind = 'segment_id' then
    if jsonb_typeof(freeze_audience.audience -> 'segment_id') <> 'string'
       or (freeze_audience.audience ->> 'segment_id') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
      raise exception using errcode = '22023', message = 'audience.segment_id: must be a uuid';
    end if;
    seg_id := (freeze_audience.audience ->> 'segment_id')::uuid;
    select s.definition into seg_def from public.customer_segments s where s.id = seg_id;
    if not found then
      raise exception using errcode = '22023', message = format('audience.segment_id: no segment %s', seg_id);
    end if;
  elsif kind = 'definition' then
    seg_def := freeze_audience.audience -> 'definition';
  end if;

  if seg_def is not null then
    begin
      insert into public.campaign_audience_members (audience_id, customer_id)
      select new_id, m from private.segment_member_ids(seg_def) m;
    exception when sqlstate '22023' then
      raise exception using errcode = '22023', message = format('audience.%s: %s', kind, sqlerrm);
    end;
  else
    if jsonb_typeof(freeze_audience.audience -> 'customer_ids') <> 'array' then
      raise exception using errcode = '22023', message = 'audience.customer_ids: must be an array of uuids';
    end if;
    if jsonb_array_length(freeze_audience.audience -> 'customer_ids') not between 1 and 100000 then
      raise exception using errcode = '22023', message = 'audience.customer_ids: must hold 1 to 100000 ids';
    end if;
    select format('audience.customer_ids[%s]: must be a uuid', ord - 1) into bad
      from jsonb_array_elements(freeze_audience.audience -> 'customer_ids') with ordinality e(v, ord)
     where jsonb_typeof(v) <> 'string' or (v #>> '{}') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
     order by ord limit 1;
    if bad is not null then
      raise exception using errcode = '22023', message = bad;
    end if;
    ids := array(select distinct (v #>> '{}')::uuid from jsonb_array_elements(freeze_audience.audience -> 'customer_ids') v);
    unknown_ids := array(select i from unnest(ids) i where not exists (select 1 from public.users u where u.id = i) limit 5);
    if cardinality(unknown_ids) > 0 then
      raise exception using errcode = '22023',
        message = format('audience.customer_ids: no customer %s', array_to_string(unknown_ids, ', '));
    end if;
    insert into public.campaign_audience_members (audience_id, customer_id) select new_id, i from unnest(ids) i;
  end if;

  get diagnostics member_count = row_count;
  update public.campaign_audiences a
     set count = member_count,
         segment_snapshot = jsonb_strip_nulls(jsonb_build_object(
           'kind', kind,
           'segment_id', seg_id,
           'definition', seg_def,
           'version', coalesce((seg_def ->> 'version')::integer, case when seg_def is null then null else 1 end),
           'hash', encode(sha256(convert_to(coalesce(seg_def::text, array_to_string(array(select unnest(ids) order by 1), ',')), 'UTF8')), 'hex'),
           'counts', private.audience_counts(new_id, freeze_audience.channels)))
   where a.id = new_id;
  return new_id;
end
$_$;

CREATE FUNCTION private.recipient_fate(consent_enabled boolean, suppressed boolean, address text, capped boolean) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select case when recipient_fate.consent_enabled is not true then 'skipped_no_consent'
              when recipient_fate.suppressed then 'skipped_suppressed'
              when recipient_fate.address is null then 'skipped_no_address'
              when recipient_fate.capped then 'skipped_frequency_cap'
              else 'queued' end
$$;

CREATE FUNCTION private.set_campaign_state(campaign_id uuid, action text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  c public.campaigns;
  stopped integer := 0;
begin
  perform private.assert_staff('communications');
  select * into c from public.campaigns where id = set_campaign_state.campaign_id for update;
  if not found then
    raise sqlstate 'PT404' using detail = 'no_data_found (P0002)', message = format('campaign_id: no campaign %s', set_campaign_state.campaign_id);
  end if;
  case set_campaign_state.action
    when 'pause' then
      update public.campaigns set status = 'paused' where id = c.id;
    when 'resume' then
      update public.campaigns set status = case when c.scheduled_at > now() then 'scheduled' else 'sending' end where id = c.id;
      perform private.close_finished_campaigns(array[c.id]);
    when 'cancel' then
      update public.campaigns set status = 'cancelled' where id = c.id;
      -- everything that has not left: queued, and leases whose worker is gone
      update public.campaign_recipients r set status = 'cancelled', lease_expires_at = null, leased_by = null, updated_at = now()
       where r.campaign_id = c.id and (r.status = 'queued' or (r.status = 'sending' and r.lease_expires_at < clock_timestamp()));
      get diagnostics stopped = row_count;
  end case;
  return jsonb_build_object('campaign_id', c.id, 'status', (select x.status from public.campaigns x where x.id = c.id),
                            'cancelled_recipients', stopped);
end
$$;

CREATE FUNCTION private.tg_campaigns__status() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  if new.status is distinct from old.status and not (
       (old.status = 'draft' and new.status in ('scheduled', 'sending', 'cancelled'))
    or (old.status = 'scheduled' and new.status in ('sending', 'paused', 'cancelled'))
    or (old.status = 'sending' and new.status in ('paused', 'sent', 'cancelled'))
    or (old.status = 'paused' and new.status in ('sending', 'scheduled', 'cancelled'))) then
    raise sqlstate 'PT409' using detail = 'object_not_in_prerequisite_state (55000)',
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

CREATE FUNCTION public.cancel_campaign(campaign_id uuid) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform private.require_role('communications');
  return private.set_campaign_state(cancel_campaign.campaign_id, 'cancel');
end
$$;

CREATE FUNCTION public.freeze_campaign_audience(audience jsonb, campaign_id uuid DEFAULT NULL::uuid) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  audience_id uuid;
begin
  perform private.require_role('communications');
  audience_id := private.freeze_audience(freeze_campaign_audience.audience, freeze_campaign_audience.campaign_id);
  return (select jsonb_build_object('audience_id', a.id, 'campaign_id', a.campaign_id, 'generated_at', a.generated_at,
                                    'count', a.count, 'snapshot', a.segment_snapshot)
            from public.campaign_audiences a where a.id = audience_id);
end
$$;

CREATE FUNCTION public.pause_campaign(campaign_id uuid) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform private.require_role('communications');
  return private.set_campaign_state(pause_campaign.campaign_id, 'pause');
end
$$;

CREATE FUNCTION public.resume_campaign(campaign_id uuid) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform private.require_role('communications');
  return private.set_campaign_state(resume_campaign.campaign_id, 'resume');
end
$$;

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _010_status BEFORE UPDATE ON public.campaigns FOR EACH ROW EXECUTE FUNCTION private.tg_campaigns__status();

CREATE TRIGGER _050_delete_recipients AFTER DELETE ON public.campaigns REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_delete_dependents('campaign_id', 'public.campaign_recipients');

CREATE TRIGGER _050_delete_recipients AFTER DELETE ON public.users REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_delete_dependents('customer_id', 'public.campaign_recipients');

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON public.campaigns FOR EACH ROW EXECUTE FUNCTION private.tg_audit('id');

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

call private.staff_access('public.campaign_audience_members', read_by => 'admin');
call private.staff_access('public.campaign_audiences', read_by => 'admin');
call private.staff_access('public.campaign_recipients', read_by => 'admin');
call private.staff_access('public.campaigns', read_by => 'admin');
call private.staff_access('public.push_logs', read_by => 'admin');
call private.staff_access('public.sms_logs', read_by => 'admin');

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select, insert, update, delete on table
  public.campaign_audience_members,
  public.campaign_audiences,
  public.campaign_recipients,
  public.campaigns,
  public.push_logs,
  public.sms_logs
to service_role;
grant execute on function
  private.address_key(text,text),
  private.check_campaign_content(text,jsonb),
  private.freeze_audience(jsonb,uuid,text[]),
  private.recipient_fate(boolean,boolean,text,boolean),
  private.set_campaign_state(uuid,text),
  public.cancel_campaign(uuid),
  public.freeze_campaign_audience(jsonb,uuid),
  public.pause_campaign(uuid),
  public.resume_campaign(uuid)
to authenticated, service_role;

reset search_path;
reset check_function_bodies;
