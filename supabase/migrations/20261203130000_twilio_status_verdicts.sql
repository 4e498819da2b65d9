-- Twilio status callbacks that fit no recipient are recorded as ignored, with the reason
-- (public.message_event_rejections), instead of waiting in message_events forever: an unknown SID
-- without a recipient in the callback URL, an unknown recipient, another message's SID, a recipient
-- never sent; an email or push recipient named by an SMS callback is inconsistent. A callback for a
-- send in flight (sending, in doubt, held, or queued again) is kept as evidence, as before.
-- Error 21610 still revokes the number's SMS consent either way. docs/webhooks.md.
set check_function_bodies = false;

CREATE OR REPLACE FUNCTION private.ingest_twilio_status(params jsonb) RETURNS jsonb
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
