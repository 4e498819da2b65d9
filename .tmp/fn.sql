create or replace function private.resolve_in_doubt(worker text, channel text, lookups jsonb default '[]'::jsonb)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  cfg jsonb := coalesce(private.messaging_setting('in_doubt'), '{}'::jsonb);
  wait_s numeric := coalesce((cfg -> resolve_in_doubt.channel ->> 'wait_seconds')::numeric,
                             case resolve_in_doubt.channel when 'push' then 120 else 300 end);
  then_do text := coalesce(cfg -> resolve_in_doubt.channel ->> 'then', case resolve_in_doubt.channel when 'sms' then 'hold' else 'resend' end);
  settle_s numeric := coalesce((cfg ->> 'settle_seconds')::numeric, 30);
  me text := 'reconcile:' || resolve_in_doubt.worker;
  results jsonb;
  counts jsonb;
  decisions jsonb;
begin
  -- the rows stay locked (skip locked: another worker settles others) until this transaction ends
  select coalesce(jsonb_agg(jsonb_build_object('id', x.id, 'decision', x.decision, 'provider_message_id', x.pmid, 'why', x.why)), '[]'::jsonb)
    into decisions
    from (
      select r.id,
             case when ev.pmid is not null or ev.event is not null or lk.found is true then 'sent'
                  when lk.found is false and clock_timestamp() >= r.attempt_started_at + make_interval(secs => settle_s) then 'resend'
                  when clock_timestamp() >= r.attempt_started_at + make_interval(secs => wait_s) then then_do
             end as decision,
             coalesce(lk.provider_message_id, ev.pmid) as pmid,
             case when ev.event is not null then format('evidence: %s %s event', case r.channel when 'email' then 'SendGrid' else 'Twilio' end, ev.event)
                  when lk.found is true then 'evidence: found in the provider''s message list'
                  when lk.found is false then 'evidence of absence: not in the provider''s message list'
                  else format('no evidence within %s s', wait_s) end as why
        from (select r0.* from public.campaign_recipients r0
               where r0.status = 'in_doubt' and r0.channel = resolve_in_doubt.channel
               order by r0.in_doubt_since
               limit 5000
               for update skip locked) r
        left join lateral (
          select e.event,
                 case when e.provider = 'sendgrid' then split_part(e.payload ->> 'sg_message_id', '.', 1) else e.payload ->> 'MessageSid' end as pmid
            from public.message_events e
           where ((e.recipient_id = r.id and e.provider = 'sendgrid'
                   and e.event in ('processed', 'delivered', 'deferred', 'bounce', 'dropped', 'open', 'click', 'spamreport', 'unsubscribe', 'group_unsubscribe'))
               or (r.channel = 'sms' and e.provider = 'twilio' and e.payload ? '_recipient_id' and e.payload ->> '_recipient_id' = r.id::text)
               or (r.channel = 'sms' and e.provider = 'twilio' and e.recipient_id = r.id))
             and e.occurred_at >= r.attempt_started_at - interval '5 minutes'
           order by e.occurred_at
           limit 1
        ) ev on true
        left join (select distinct on (l.id) l.* from jsonb_to_recordset(resolve_in_doubt.lookups) as l(id uuid, found boolean, provider_message_id text)) lk
          on lk.id = r.id
    ) x
   where x.decision is not null;

  -- 1. sent: through complete_recipients, so logs, the timeline and overtaking events apply once
  update public.campaign_recipients r
     set status = 'sending', leased_by = me, lease_expires_at = clock_timestamp() + interval '60 seconds',
         resolution = d.why, updated_at = now()
    from jsonb_to_recordset(decisions) as d(id uuid, decision text, provider_message_id text, why text)
   where r.id = d.id and d.decision = 'sent';
  -- callbacks stored before we knew the SID name the recipient now
  update public.message_events e
     set recipient_id = r.id, campaign_id = r.campaign_id, customer_id = r.customer_id
    from jsonb_to_recordset(decisions) as d(id uuid, decision text, provider_message_id text, why text)
    join public.campaign_recipients r on r.id = d.id
   where d.decision = 'sent' and r.channel = 'sms' and e.provider = 'twilio' and e.recipient_id is null
     and e.payload ? '_recipient_id' and e.payload ->> '_recipient_id' = r.id::text;
  update public.message_events e
     set recipient_id = r.id, campaign_id = r.campaign_id, customer_id = r.customer_id
    from jsonb_to_recordset(decisions) as d(id uuid, decision text, provider_message_id text, why text)
    join public.campaign_recipients r on r.id = d.id
   where d.decision = 'sent' and r.channel = 'sms' and d.provider_message_id is not null and e.recipient_id is null
     -- Twilio event ids are '<SID>:<status>': a range on the unique key finds them
     and e.provider = 'twilio' and e.provider_event_id > d.provider_message_id || ':' and e.provider_event_id < d.provider_message_id || ';';
  select coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'outcome', 'sent', 'provider_message_id', d.provider_message_id)), '[]'::jsonb)
    into results
    from jsonb_to_recordset(decisions) as d(id uuid, decision text, provider_message_id text, why text) where d.decision = 'sent';
  if jsonb_array_length(results) > 0 then
    perform private.complete_recipients(me, results);
  end if;

  -- 2./3. resend (a cancelled campaign's rows are cancelled instead), or hold for review
  update public.campaign_recipients r
     set status = case when d.decision = 'hold' then 'held'
                       when c.status = 'cancelled' then 'cancelled' else 'queued' end,
         next_attempt_at = case when d.decision = 'resend' then clock_timestamp() else r.next_attempt_at end,
         resolution = d.why || case d.decision when 'hold' then ': held for review' else ': sent again' end,
         last_error = case when d.decision = 'hold' then format('in doubt since %s: %s; held for review', r.in_doubt_since, d.why) else r.last_error end,
         updated_at = now()
    from jsonb_to_recordset(decisions) as d(id uuid, decision text, provider_message_id text, why text), public.campaigns c
   where r.id = d.id and d.decision in ('resend', 'hold') and c.id = r.campaign_id;

  select jsonb_build_object('sent', count(*) filter (where decision = 'sent'), 'resent', count(*) filter (where decision = 'resend'),
                            'held', count(*) filter (where decision = 'hold'))
    into counts from jsonb_to_recordset(decisions) as d(decision text);
  perform private.close_finished_campaigns(array(select distinct r.campaign_id from public.campaign_recipients r
                                                   join jsonb_to_recordset(decisions) as d(id uuid, decision text, provider_message_id text, why text) on d.id = r.id));
  return counts || jsonb_build_object('waiting', (select count(*) from public.campaign_recipients r
                                                   where r.status = 'in_doubt' and r.channel = resolve_in_doubt.channel));
end
$$;
create or replace function private.is_time_zone(name text)
returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  if is_time_zone.name is null or is_time_zone.name !~ '^([A-Za-z_]+(/[A-Za-z0-9_+-]+)+|UTC)$' then
    return false;
  end if;
  perform now() at time zone is_time_zone.name;
  return true;
exception when invalid_parameter_value then
  return false;
end
$$;
