-- The webhook inbox applies faster (docs/webhooks.md, "Figures"):
-- - each applier part takes its share of a chunk's events by address before classifying them
--   (private.webhook_inbox_events); before, every part classified the whole chunk and kept its
--   half afterwards. private.ingest_sendgrid_events ingests what it is given, so
--   private.ingest_sendgrid_events_part goes;
-- - recipient statuses move from the events stored by this ingest only
--   (private.apply_recipient_events_of), instead of re-reading every stored event of each recipient;
--   private.apply_recipient_events(recipient_ids) (a send just recorded) applies all of theirs
--   through the same function.
set check_function_bodies = false;

CREATE OR REPLACE FUNCTION private.apply_recipient_events_of(event_ids bigint[]) RETURNS integer
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

CREATE OR REPLACE FUNCTION private.apply_recipient_events(recipient_ids uuid[]) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select private.apply_recipient_events_of(array(
    select e.id from public.message_events e where e.recipient_id = any(apply_recipient_events.recipient_ids)))
$$;

COMMENT ON FUNCTION private.apply_recipient_events(recipient_ids uuid[]) IS 'Applies every stored event of these recipients (a send just recorded: events that overtook it apply now).';

CREATE OR REPLACE FUNCTION private.ingest_sendgrid_events(events jsonb) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION private.webhook_inbox_events(ids bigint[], part integer, parts integer) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION private.apply_inbox_row(inbox_id bigint, part integer DEFAULT 0) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION private.apply_webhook_inbox(max_events integer DEFAULT 5000, part integer DEFAULT 0) RETURNS jsonb
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

drop function private.ingest_sendgrid_events_part(jsonb, integer, integer);
revoke all on function
  private.apply_recipient_events_of(bigint[]),
  private.webhook_inbox_events(bigint[],integer,integer)
from public, anon, authenticated, service_role;
