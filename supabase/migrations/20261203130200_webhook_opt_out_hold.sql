-- Opt-outs acknowledged by sendgrid-events hold the address from sending at once, and become
-- consent and suppressions when the inbox row is applied (docs/webhooks.md). Before, the answer
-- applied the consent change itself (history, audit, timeline, facts): most of the answer's time.
-- - private.webhook_opt_outs: the held addresses of inbox rows not yet applied;
-- - private.accept_webhook writes them in the transaction that stores the batch;
-- - private.mark_inbox_applied removes them once every part applied the row;
-- - private.claim_recipients defers a held address's recipient by base_backoff_seconds;
-- - private.apply_sendgrid_contact_events (the old fast path) goes.
set check_function_bodies = false;

CREATE TABLE private.webhook_opt_outs (
    inbox_id bigint NOT NULL,
    channel text NOT NULL,
    address_key text NOT NULL,
    event text NOT NULL,
    CONSTRAINT webhook_opt_outs_pkey PRIMARY KEY (channel, address_key, inbox_id)
);

COMMENT ON TABLE private.webhook_opt_outs IS 'Addresses whose opt-out (unsubscribe, spam report, bounce, drop) was acknowledged in an inbox row not yet applied: the dispatcher holds their sends until the row is applied (then the consent or suppression decides).';

ALTER TABLE ONLY private.webhook_opt_outs
    ADD CONSTRAINT webhook_opt_outs_inbox_id_fkey FOREIGN KEY (inbox_id) REFERENCES private.webhook_inbox(id) ON DELETE CASCADE;

CREATE INDEX webhook_opt_outs_inbox_idx ON private.webhook_opt_outs USING btree (inbox_id);

ALTER TABLE private.webhook_opt_outs ENABLE ROW LEVEL SECURITY;

-- (batches acknowledged before this migration had their opt-outs applied while answering: nothing to hold)

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
       and nullif(btrim(e ->> 'email'), '') is not null;
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

CREATE OR REPLACE FUNCTION private.mark_inbox_applied(ids bigint[], part integer, parts integer) RETURNS void
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

CREATE OR REPLACE FUNCTION private.claim_recipients(worker text, channel text, max_batch integer DEFAULT 1000, lease_seconds integer DEFAULT NULL::integer) RETURNS TABLE(recipient_id uuid, campaign_id uuid, customer_id uuid, address text, attempts integer, subject text, body_text text, body_html text, title text, vars jsonb)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  camp record;
  rules record;
  budget integer := claim_recipients.max_batch;
  wanted integer;
  granted integer;
  sending integer;
  lease interval := make_interval(secs => coalesce(claim_recipients.lease_seconds, private.dispatch_setting('lease_seconds', 60)));
  claimed uuid[] := array[]::uuid[];
  batch uuid[];
  attempt uuid := gen_random_uuid();
begin
  -- a lease that ran out after its attempt was recorded: the provider may have it
  update public.campaign_recipients r
     set status = case when r.attempt_id is null then 'queued' else 'in_doubt' end,
         in_doubt_since = case when r.attempt_id is null then null else clock_timestamp() end,
         leased_by = null, lease_expires_at = null, updated_at = now()
   where r.status = 'sending' and r.channel = claim_recipients.channel and r.lease_expires_at < clock_timestamp();

  if exists (select 1 from private.rate_buckets b where b.key = 'provider:' || claim_recipients.channel and b.blocked_until > clock_timestamp()) then
    return;
  end if;
  update public.campaigns c set status = 'sending'
   where c.status = 'scheduled' and c.channel = claim_recipients.channel and c.scheduled_at <= now();

  for camp in
    select c.id, c.throttle_per_minute, c.purpose from public.campaigns c
     where c.status = 'sending' and c.channel = claim_recipients.channel
     order by c.created_at
  loop
    exit when budget <= 0;
    wanted := budget;
    granted := null;
    if camp.throttle_per_minute is not null then
      -- never take more tokens than there is due work
      wanted := least(wanted, (select count(*) from (
                  select 1 from public.campaign_recipients r
                   where r.campaign_id = camp.id and r.status = 'queued' and r.next_attempt_at <= now()
                   limit budget) d)::integer);
      continue when wanted = 0;
      wanted := private.take_tokens('campaign:' || camp.id, wanted, camp.throttle_per_minute);
      continue when wanted = 0;
      granted := wanted;
    end if;
    rules := private.campaign_send_rules(camp.id);

    with due as (
      select r.id from public.campaign_recipients r
       where r.campaign_id = camp.id and r.status = 'queued' and r.next_attempt_at <= now()
       order by r.next_attempt_at
       limit wanted
       for update skip locked
    ), checked as (
      select d.id,
             -- an opt-out for this address was acknowledged and is not applied yet (docs/webhooks.md): wait for it
             case when o.held then 'deferred'
                  when rules.windowed and not private.send_allowed(z.tz, clock_timestamp(), rules.window_start, rules.window_end,
                                                                     rules.quiet_start, rules.quiet_end) then 'deferred'
                  when camp.purpose = 'consent_confirmation' then
                    -- (h11) transactional: the request must still be pending; suppressions still apply
                    case when not exists (select 1 from public.consent_confirmations k
                                           where k.recipient_id = d.id and k.status = 'pending' and k.expires_at > now()) then 'cancelled'
                         when s.id is not null then 'skipped_suppressed'
                         when r.address is null then 'skipped_no_address'
                         else 'queued' end
                  when cc.enabled is not true then 'skipped_no_consent'
                  when s.id is not null then 'skipped_suppressed'
                  when r.address is null then 'skipped_no_address'
                  else 'queued' end as fate,
             z.tz, o.held,
             case when camp.purpose = 'consent_confirmation' then null else cc.consent_history_id end as consent_history_id
        from due d
        join public.campaign_recipients r on r.id = d.id
        join public.users u on u.id = r.customer_id
        cross join lateral (select case when rules.windowed then private.customer_time_zone(u.time_zone, u.country_code, u.region) end as tz) z
        left join public.customer_consent cc on cc.customer_id = r.customer_id and cc.channel = r.channel
        left join public.suppressions s on s.channel = r.channel and s.address_key = lower(r.address)
        cross join lateral (select exists (select 1 from private.webhook_opt_outs w
                                            where w.channel = r.channel and w.address_key = lower(r.address)) as held) o
    ), updated as (
      update public.campaign_recipients r
         set status = case when ch.fate in ('queued', 'deferred') then case when ch.fate = 'queued' then 'sending' else 'queued' end
                           else ch.fate end,
             consent_history_id = case when ch.fate = 'deferred' then r.consent_history_id else ch.consent_history_id end,
             consent_checked_at = case when ch.fate = 'deferred' then r.consent_checked_at else clock_timestamp() end,
             attempts = r.attempts + case when ch.fate = 'queued' then 1 else 0 end,
             next_attempt_at = case when ch.fate = 'deferred' and ch.held
               then clock_timestamp() + make_interval(secs => private.dispatch_setting('base_backoff_seconds', 5))
               when ch.fate = 'deferred'
               then coalesce(private.next_send_opening(ch.tz, clock_timestamp(), rules.window_start, rules.window_end, rules.quiet_start, rules.quiet_end), 'infinity')
               else r.next_attempt_at end,
             lease_expires_at = case when ch.fate = 'queued' then clock_timestamp() + lease end,
             leased_by = case when ch.fate = 'queued' then claim_recipients.worker end,
             attempt_id = case when ch.fate = 'queued' then attempt else r.attempt_id end,
             attempt_started_at = case when ch.fate = 'queued' then clock_timestamp() else r.attempt_started_at end,
             attempt_worker = case when ch.fate = 'queued' then claim_recipients.worker else r.attempt_worker end,
             updated_at = now()
        from checked ch
       where r.id = ch.id
      returning r.id, r.status, ch.fate
    )
    select coalesce(array_agg(u.id) filter (where u.status = 'sending'), array[]::uuid[]),
           (count(*) filter (where u.fate <> 'deferred'))::integer,
           (count(*) filter (where u.status = 'sending'))::integer
      into batch, wanted, sending
      from updated u;
    if granted is not null then
      perform private.return_tokens('campaign:' || camp.id, granted - sending, camp.throttle_per_minute);
    end if;
    claimed := claimed || batch;
    budget := budget - wanted;
    if camp.purpose = 'consent_confirmation' then
      perform private.close_finished_campaigns(array[camp.id]);
    end if;
  end loop;

  return query
    select r.id, r.campaign_id, r.customer_id, r.address, r.attempts,
           c.content ->> 'subject', c.content ->> 'text', c.content ->> 'html', c.content ->> 'title',
           jsonb_build_object('first_name', split_part(coalesce(u.full_name, ''), ' ', 1), 'full_name', coalesce(u.full_name, ''),
                              'city', coalesce(u.city, ''), 'region', coalesce(u.region, ''), 'email', coalesce(u.email, ''))
      from public.campaign_recipients r
      join public.campaigns c on c.id = r.campaign_id
      join public.users u on u.id = r.customer_id
     where r.id = any(claimed)
     order by r.campaign_id, r.id;
end
$$;

drop function private.apply_sendgrid_contact_events(jsonb);
