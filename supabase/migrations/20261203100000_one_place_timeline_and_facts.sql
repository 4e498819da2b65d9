-- One place per feature (issue 13). The timeline's statement writer stamps a change's key with its
-- instant and numbers a repeated key when a builder asks (record_timeline_events(events, stamped,
-- repeatable)), instead of every tl_record_* builder doing it; orphan events and vanished tag
-- assignments are defined once for the backfill and the drift check; the customer-facts triggers of
-- tables whose rows name their customer are one function (private.tg_refresh_customer_facts, told
-- by its arguments which facts and which columns), and every facts trigger enters through
-- private.refresh_facts; admin exports are audited by private.audit_export, which the timeline and
-- consent-proof exports call. Same events, keys, facts and audit rows as before.

SET local check_function_bodies = off;

DROP TRIGGER "_200_facts_delete" ON "public"."bookings";

DROP TRIGGER "_200_facts_insert" ON "public"."bookings";

DROP TRIGGER "_200_facts_update" ON "public"."bookings";

DROP TRIGGER "_200_facts_delete" ON "public"."customer_consent";

DROP TRIGGER "_200_facts_insert" ON "public"."customer_consent";

DROP TRIGGER "_200_facts_update" ON "public"."customer_consent";

DROP TRIGGER "_200_facts_delete" ON "public"."customer_tag_members";

DROP TRIGGER "_200_facts_insert" ON "public"."customer_tag_members";

DROP TRIGGER "_200_facts_update" ON "public"."customer_tag_members";

DROP TRIGGER "_200_facts_delete" ON "public"."manual_payments";

DROP TRIGGER "_200_facts_insert" ON "public"."manual_payments";

DROP TRIGGER "_200_facts_update" ON "public"."manual_payments";

DROP TRIGGER "_200_facts_delete" ON "public"."payments";

DROP TRIGGER "_200_facts_insert" ON "public"."payments";

DROP TRIGGER "_200_facts_update" ON "public"."payments";

DROP FUNCTION "private"."audit_consent_proof_export"(uuid, jsonb);

DROP FUNCTION "private"."audit_timeline_export"(uuid, jsonb);

DROP FUNCTION "private"."record_timeline_events"(private.timeline_event[]);

DROP FUNCTION "private"."tg_bookings__facts"();

DROP FUNCTION "private"."tg_customer_consent__facts"();

DROP FUNCTION "private"."tg_customer_tag_members__facts"();

DROP FUNCTION "private"."tg_payments__facts"();

CREATE OR REPLACE FUNCTION private.audit_export (
  entity    text,
  entity_id text,
  context   jsonb
)
  RETURNS bigint
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
begin
  perform private.assert_staff('admin');
  return private.write_audit('export', audit_export.entity, audit_export.entity_id, null, null, audit_export.context);
end
$function$;

CREATE OR REPLACE FUNCTION private.backfill_customer_timeline()
  RETURNS jsonb
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
declare
  seq_before bigint := coalesce((select max(e.seq) from public.customer_timeline_events e), 0);
  marked bigint := 0;
  total bigint;
  inserted jsonb;
begin
  -- creation events
  perform private.tl_record_bookings('created',
    array(select b from public.bookings b where not private.tl_has_event('bookings', b.id, 'created')));
  perform private.tl_record_logistics('scheduled',
    array(select t from public.logistics_tasks t where not private.tl_has_event('logistics_tasks', t.id, 'scheduled')));
  perform private.tl_record_manual_payments(
    array(select m from public.manual_payments m where not private.tl_has_event('manual_payments', m.id, 'recorded')));
  perform private.tl_record_tickets('opened',
    array(select t from public.support_tickets t where not private.tl_has_event('support_tickets', t.id, 'opened')));
  perform private.tl_record_support_messages(
    array(select m from public.support_messages m where not private.tl_has_event('support_messages', m.id, 'message')));
  perform private.tl_record_insurance('uploaded',
    array(select d from public.insurance_documents d where not private.tl_has_event('insurance_documents', d.id, 'uploaded')));
  perform private.tl_record_emails('sent',
    array(select l from public.email_logs l where l.customer_id is not null and not private.tl_has_event('email_logs', l.id, 'sent')));
  perform private.tl_record_notes(
    array(select n from public.customer_notes n where not private.tl_has_event('customer_notes', n.id, 'note')));

  -- current state, where the latest event does not carry it
  perform private.tl_record_bookings('status', array_agg(b order by b.id), array_agg(last.status order by b.id))
     from public.bookings b
     cross join lateral (select (private.tl_latest_event('bookings', b.id)).metadata ->> 'status' as status) last
    where last.status is distinct from b.status;
  perform private.tl_record_logistics('status', array_agg(t order by t.id), array_agg(last.status order by t.id))
     from public.logistics_tasks t
     cross join lateral (select (private.tl_latest_event('logistics_tasks', t.id)).metadata ->> 'status' as status) last
    where private.tl_logistics_status_is_eventful(t.status) and last.status is distinct from t.status;
  perform private.tl_record_payments('status', array_agg(p order by p.id), array_agg(last.status order by p.id))
     from public.payments p
     cross join lateral (select (private.tl_latest_event('payments', p.id)).metadata ->> 'status' as status) last
    where private.tl_payment_status_is_eventful(p.status) and last.status is distinct from p.status;
  perform private.tl_record_tickets('status', array_agg(t order by t.id), array_agg(last.status order by t.id))
     from public.support_tickets t
     cross join lateral (select (private.tl_latest_event('support_tickets', t.id)).metadata ->> 'status' as status) last
    where last.status is distinct from t.status;
  perform private.tl_record_insurance('status', array_agg(d order by d.id), array_agg(last.status order by d.id))
     from public.insurance_documents d
     cross join lateral (select (private.tl_latest_event('insurance_documents', d.id)).metadata ->> 'status' as status) last
    where last.status is distinct from d.status;
  perform private.tl_record_emails('status', array_agg(l order by l.id), array_agg(last.status order by l.id))
     from public.email_logs l
     cross join lateral (select (private.tl_latest_event('email_logs', l.id)).metadata ->> 'status' as status) last
    where l.customer_id is not null and last.status is distinct from l.status;
  perform private.tl_record_consents(array_agg(c order by c.customer_id, c.channel), array_agg(last.enabled order by c.customer_id, c.channel))
     from public.customer_consent c
     cross join lateral (select ((private.tl_latest_event('customer_consent', c.customer_id, c.channel || ':')).metadata ->> 'enabled')::boolean as enabled) last
    where coalesce(last.enabled, false) is distinct from c.enabled;
  perform private.tl_record_tags('assigned',
    array(select m from public.customer_tag_members m where not private.tl_tag_assignment_recorded(m)));

  -- tag assignments gone without their 'removed' event
  perform private.tl_record_tags('removed', array(select g from private.tl_tag_assignments_gone() g));

  -- events of deleted rows: the delete rule, applied late
  update public.customer_timeline_events e
     set source_deleted_at = now(),
         title = case e.source_table when 'customer_notes' then 'Note deleted'
                                     when 'support_messages' then 'Support message deleted' else e.title end,
         metadata = e.metadata - array['note', 'excerpt']::text[]
   where e.id in (select o.id from private.tl_orphan_events() o);
  get diagnostics marked = row_count;

  select coalesce(jsonb_object_agg(x.event_type, x.n), '{}'::jsonb) into inserted
    from (select e.event_type, count(*) as n from public.customer_timeline_events e
           where e.seq > seq_before group by e.event_type) x;
  total := (select count(*) from public.customer_timeline_events e where e.seq > seq_before);
  return jsonb_build_object('inserted', inserted, 'inserted_total', total, 'marked_deleted', marked);
end
$function$;

CREATE OR REPLACE FUNCTION private.customer_summary (
  customer_id uuid
)
  RETURNS jsonb
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
declare
  u public.users;
  r record;
begin
  perform private.assert_staff('admin');
  select * into u from public.users x where x.id = customer_summary.customer_id;
  if u.id is null then
    raise exception using errcode = '22023', message = case when customer_summary.customer_id is null then 'customer_id: is required'
      else format('customer_id: customer %s does not exist', customer_summary.customer_id) end;
  end if;
  select * into r from private.effective_customer_scores e where e.customer_id = u.id;

  return (select jsonb_build_object(
    'customer', jsonb_build_object(
      'id', u.id, 'email', u.email, 'phone', u.phone, 'full_name', u.full_name, 'city', u.city, 'region', u.region,
      'country_code', u.country_code, 'preferred_contact_method', u.preferred_contact_method, 'created_at', u.created_at),
    'risk', jsonb_build_object(
      'score', r.risk_score,
      'computed', r.computed_risk_score,
      'override', case when r.override_score is not null then jsonb_build_object(
                    'score', r.override_score, 'reason', r.override_reason, 'expires_at', r.override_expires_at,
                    'created_by', r.override_created_by, 'created_at', r.override_created_at) end,
      'level', private.risk_level(r.risk_score)),
    'lifetime_value', u.lifetime_value,
    'total_spend', coalesce((select sum(p.amount) from public.payments p where p.customer_id = u.id and p.status = 'succeeded'), 0)
                 + coalesce((select sum(m.amount) from public.manual_payments m where m.customer_id = u.id), 0),
    'booking_count', bk.booking_count,
    'last_booking_at', bk.last_booking_at,
    'tags', coalesce((select jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'color', t.color) order by lower(t.name))
                        from public.customer_tag_members tm
                        join public.customer_tags t on t.id = tm.tag_id
                       where tm.customer_id = u.id), '[]'::jsonb),
    'consent', (select jsonb_build_object(
                  'email', coalesce(bool_or(c.enabled) filter (where c.channel = 'email'), false),
                  'sms', coalesce(bool_or(c.enabled) filter (where c.channel = 'sms'), false),
                  'push', coalesce(bool_or(c.enabled) filter (where c.channel = 'push'), false))
                  from public.customer_consent c where c.customer_id = u.id),
    'insurance_expiring', coalesce((select jsonb_agg(jsonb_build_object(
                                      'id', d.id, 'kind', d.kind, 'booking_id', d.booking_id, 'status', d.status,
                                      'expires_at', d.expires_at) order by d.expires_at, d.id)
                                      from public.insurance_documents d
                                     where d.customer_id = u.id
                                       and d.status in ('valid', 'pending')
                                       and d.expires_at between current_date and current_date + 30), '[]'::jsonb),
    'overdue_balance', private.customer_overdue_balance(u.id),
    'open_tickets', (select count(*) from public.support_tickets t where t.customer_id = u.id and t.status in ('open', 'pending')),
    'account_manager', (select jsonb_build_object('id', am.id, 'full_name', am.full_name, 'email', am.email)
                          from public.users am where am.id = u.account_manager_id))
    from (select count(*) as booking_count, max(b.created_at) as last_booking_at
            from public.bookings b where b.customer_id = u.id and b.status <> 'cancelled') bk);
end
$function$;

CREATE OR REPLACE FUNCTION private.lock_customer_facts (
  customer_ids uuid[]
)
  RETURNS void
  LANGUAGE sql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
  select 1 from public.customer_facts f
   where f.customer_id = any (lock_customer_facts.customer_ids)
   order by f.customer_id
     for update
$function$;

CREATE OR REPLACE FUNCTION private.record_timeline_events (
  events     private.timeline_event[],
  stamped    boolean                  DEFAULT false,
  repeatable boolean                  DEFAULT false
)
  RETURNS void
  LANGUAGE sql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
  with written as (
    insert into public.customer_timeline_events (customer_id, event_type, source_table, reference_id, event_key, occurred_at, title, metadata)
    select e.customer_id, e.event_type, e.source_table, e.reference_id,
           k.key || case when not record_timeline_events.repeatable then '' else coalesce((
             select '#' || (count(*) + 1) from public.customer_timeline_events x
              where x.source_table = e.source_table and x.reference_id = e.reference_id
                and (x.event_key = k.key or starts_with(x.event_key, k.key || '#'))
             having count(*) > 0), '') end,
           e.occurred_at, e.title, coalesce(e.metadata, '{}'::jsonb)
      from unnest(record_timeline_events.events) e
     -- the format of private.tl_stamp, inline: this runs per event
     cross join lateral (select case when not record_timeline_events.stamped then e.event_key
       else e.event_key || '@' || to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') end as key) k
     where e.customer_id is not null
    on conflict on constraint customer_timeline_events_identity_key do nothing
    returning customer_timeline_events.customer_id, customer_timeline_events.event_type, customer_timeline_events.occurred_at
  ), counted as (
    insert into private.customer_timeline_counts (customer_id, day, event_type, n)
    select w.customer_id, (w.occurred_at at time zone 'UTC')::date, w.event_type, count(*) from written w group by 1, 2, 3
  )
  insert into private.customer_timeline_totals (customer_id, event_type, n)
  select w.customer_id, w.event_type, count(*) from written w group by 1, 2
$function$;

CREATE OR REPLACE FUNCTION private.refresh_facts (
  facts        text,
  customer_ids uuid[]
)
  RETURNS void
  LANGUAGE plpgsql
  SET search_path TO ''
  AS $function$
-- The facts triggers' entry: one kind of facts for the customers a statement touched (once each)
declare
  ids uuid[] := array(select distinct x.id from unnest(refresh_facts.customer_ids) x(id) where x.id is not null);
begin
  if cardinality(ids) = 0 then
    return;
  end if;
  case refresh_facts.facts
    when 'booking' then perform private.refresh_booking_facts(ids);
    when 'spend' then perform private.refresh_spend_facts(ids);
    when 'tag' then perform private.refresh_tag_facts(ids);
    when 'consent' then perform private.refresh_consent_facts(ids);
    when 'engagement' then perform private.refresh_engagement_facts(ids);
    when 'profile' then perform private.refresh_profile_facts(ids);
  end case;
end
$function$;

CREATE OR REPLACE FUNCTION private.tg_booking_items__facts()
  RETURNS TRIGGER
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
begin
  if tg_op = 'INSERT' then
    perform private.refresh_facts('booking', array(
      select bk.customer_id from public.bookings bk where bk.id in (select n.booking_id from new_rows n)));
  elsif tg_op = 'DELETE' then
    perform private.refresh_facts('booking', array(
      select bk.customer_id from public.bookings bk where bk.id in (select o.booking_id from old_rows o)));
  else
    perform private.refresh_facts('booking', array(
      select bk.customer_id from public.bookings bk
       where bk.id in (select booking_id from new_rows union select booking_id from old_rows)));
  end if;
  return null;
end
$function$;

CREATE OR REPLACE FUNCTION private.tg_equipment__facts()
  RETURNS TRIGGER
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
begin
  perform private.refresh_facts('booking', array(
    select bk.customer_id
      from public.booking_items bi
      join public.bookings bk on bk.id = bi.booking_id
     where bi.equipment_id in (select n.id from new_rows n join old_rows o on o.id = n.id
                                where n.category_id is distinct from o.category_id)));
  return null;
end
$function$;

CREATE OR REPLACE FUNCTION private.tg_equipment_categories__facts()
  RETURNS TRIGGER
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
begin
  perform private.refresh_facts('booking', array(
    select bk.customer_id
      from public.equipment e
      join public.booking_items bi on bi.equipment_id = e.id
      join public.bookings bk on bk.id = bi.booking_id
     where e.category_id in (select n.id from new_rows n join old_rows o on o.id = n.id where n.slug is distinct from o.slug)));
  return null;
end
$function$;

CREATE OR REPLACE FUNCTION private.tg_message_events__facts()
  RETURNS TRIGGER
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
begin
  perform private.refresh_facts('engagement', array(
    select n.customer_id
      from new_rows n
     where n.customer_id is not null and n.event in ('open', 'click', 'read', 'machine_open', 'bot_click')));
  return null;
end
$function$;

CREATE OR REPLACE FUNCTION private.tg_refresh_customer_facts()
  RETURNS TRIGGER
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
-- The facts trigger of a table whose rows name their customer: tg_argv[0] names the facts to
-- refresh; on update, tg_argv[1:] the columns whose change matters to them (none: any change).
begin
  if tg_op = 'INSERT' then
    perform private.refresh_facts(tg_argv[0], array(select n.customer_id from new_rows n));
  elsif tg_op = 'DELETE' then
    perform private.refresh_facts(tg_argv[0], array(select o.customer_id from old_rows o));
  elsif tg_nargs = 1 then
    perform private.refresh_facts(tg_argv[0], array(select customer_id from new_rows union select customer_id from old_rows));
  else
    -- a row that moved to another customer changes the facts of both
    perform private.refresh_facts(tg_argv[0], array(
      select x.customer_id
        from new_rows n join old_rows o on o.id = n.id
       cross join lateral (select to_jsonb(n) as new_row, to_jsonb(o) as old_row) j
       cross join lateral (values (n.customer_id), (o.customer_id)) x(customer_id)
       where exists (select 1 from unnest(tg_argv[1:]) c where j.new_row -> c is distinct from j.old_row -> c)));
  end if;
  return null;
end
$function$;

CREATE OR REPLACE FUNCTION private.tg_users__facts()
  RETURNS TRIGGER
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
begin
  if tg_op = 'INSERT' then
    perform private.refresh_facts('profile', array(select n.id from new_rows n));
  else
    perform private.refresh_facts('profile', array(
      select n.id
        from new_rows n join old_rows o on o.id = n.id
       where (n.risk_score, n.lifetime_value, n.city, n.region, n.country_code, n.created_at)
             is distinct from (o.risk_score, o.lifetime_value, o.city, o.region, o.country_code, o.created_at)));
  end if;
  return null;
end
$function$;

CREATE OR REPLACE FUNCTION private.timeline_counts (
  customer_id uuid,
  types       text[],
  since       timestamp with time zone,
  until       timestamp with time zone
)
  RETURNS jsonb
  LANGUAGE plpgsql
  STABLE
  SET search_path TO ''
  AS $function$
declare
  since_day date := (timeline_counts.since at time zone 'UTC')::date;
  until_day date := (timeline_counts.until at time zone 'UTC')::date;
  result jsonb;
begin
  perform private.require_role('admin');
  if timeline_counts.since is null and timeline_counts.until is null then
    select jsonb_object_agg(t.event_type, coalesce(x.n, 0) order by t.ord)
      into result
      from unnest(coalesce(timeline_counts.types, private.timeline_event_types())) with ordinality t(event_type, ord)
      left join (select tt.event_type, sum(tt.n) as n from private.customer_timeline_totals tt
                  where tt.customer_id = timeline_counts.customer_id group by tt.event_type) x on x.event_type = t.event_type;
    return result;
  end if;
  with parts as (
    -- whole days inside the range, from the rollup
    select r.event_type, sum(r.n)::bigint as n
      from private.customer_timeline_counts r
     where r.customer_id = timeline_counts.customer_id
       and (timeline_counts.types is null or r.event_type = any (timeline_counts.types))
       and (since_day is null or r.day > since_day)
       and (until_day is null or r.day < until_day)
     group by r.event_type
    union all
    -- the partial days, exactly: since's day from since, and until's day up to until (unless it is
    -- since's day, counted in the first range)
    select e.event_type, count(*)
      from public.customer_timeline_events e
     where e.customer_id = timeline_counts.customer_id
       and (timeline_counts.types is null or e.event_type = any (timeline_counts.types))
       and ((since_day is not null
             and e.occurred_at >= timeline_counts.since
             and e.occurred_at < least(((since_day + 1)::timestamp at time zone 'UTC'), timeline_counts.until))
         or (until_day is not null
             and e.occurred_at >= greatest((until_day::timestamp at time zone 'UTC'), timeline_counts.since,
                                           ((since_day + 1)::timestamp at time zone 'UTC'))
             and e.occurred_at < timeline_counts.until))
     group by e.event_type
  )
  select jsonb_object_agg(t.event_type, coalesce((select sum(p.n) from parts p where p.event_type = t.event_type), 0) order by t.ord)
    into result
    from unnest(coalesce(timeline_counts.types, private.timeline_event_types())) with ordinality t(event_type, ord);
  return result;
end
$function$;

CREATE OR REPLACE FUNCTION private.timeline_drift_by_source()
  RETURNS TABLE (
    event_type   text,
    source_table text,
    missing      bigint,
    extra        bigint
  )
  LANGUAGE sql
  STABLE
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
  with missing as (
    select 'booking' as event_type, 'bookings' as source_table, count(*) as n
      from public.bookings b
     where not private.tl_has_event('bookings', b.id, 'created')
        or (private.tl_latest_event('bookings', b.id)).metadata ->> 'status' is distinct from b.status
    union all
    select 'logistics', 'logistics_tasks', count(*)
      from public.logistics_tasks t
     where not private.tl_has_event('logistics_tasks', t.id, 'scheduled')
        or (private.tl_logistics_status_is_eventful(t.status)
            and (private.tl_latest_event('logistics_tasks', t.id)).metadata ->> 'status' is distinct from t.status)
    union all
    select 'payment', 'payments', count(*)
      from public.payments p
     where private.tl_payment_status_is_eventful(p.status)
       and (private.tl_latest_event('payments', p.id)).metadata ->> 'status' is distinct from p.status
    union all
    select 'payment', 'manual_payments', count(*)
      from public.manual_payments m
     where not private.tl_has_event('manual_payments', m.id, 'recorded')
    union all
    select 'support', 'support_tickets', count(*)
      from public.support_tickets t
     where not private.tl_has_event('support_tickets', t.id, 'opened')
        or (private.tl_latest_event('support_tickets', t.id)).metadata ->> 'status' is distinct from t.status
    union all
    select 'support', 'support_messages', count(*)
      from public.support_messages m
     where not private.tl_has_event('support_messages', m.id, 'message')
    union all
    select 'insurance', 'insurance_documents', count(*)
      from public.insurance_documents d
     where not private.tl_has_event('insurance_documents', d.id, 'uploaded')
        or (private.tl_latest_event('insurance_documents', d.id)).metadata ->> 'status' is distinct from d.status
    union all
    select 'campaign', 'email_logs', count(*)
      from public.email_logs l
     where l.customer_id is not null
       and (not private.tl_has_event('email_logs', l.id, 'sent')
            or (private.tl_latest_event('email_logs', l.id)).metadata ->> 'status' is distinct from l.status)
    union all
    select 'note', 'customer_notes', count(*)
      from public.customer_notes n
     where not private.tl_has_event('customer_notes', n.id, 'note')
    union all
    select 'consent', 'customer_consent', count(*)
      from public.customer_consent c
     -- an 'off' row with no events is fine: no row already meant no consent
     where coalesce(((private.tl_latest_event('customer_consent', c.customer_id, c.channel || ':')).metadata ->> 'enabled')::boolean, false)
           is distinct from c.enabled
    union all
    select 'tag', 'customer_tag_members', count(*)
      from public.customer_tag_members m
     where not private.tl_tag_assignment_recorded(m)
  ),
  orphans as (
    select o.event_type, o.source_table, count(*) as n from private.tl_orphan_events() o group by 1, 2
    union all
    select 'tag', 'customer_tag_members', count(*) from private.tl_tag_assignments_gone()
  )
  select s.event_type, s.source_table,
         coalesce((select sum(m.n) from missing m where m.source_table = s.source_table), 0)::bigint,
         coalesce((select sum(o.n) from orphans o where o.source_table = s.source_table), 0)::bigint
    from (values ('booking', 'bookings'), ('logistics', 'logistics_tasks'), ('payment', 'payments'),
                 ('payment', 'manual_payments'), ('support', 'support_tickets'), ('support', 'support_messages'),
                 ('insurance', 'insurance_documents'), ('campaign', 'email_logs'), ('note', 'customer_notes'),
                 ('consent', 'customer_consent'), ('tag', 'customer_tag_members')) s(event_type, source_table)
$function$;

CREATE OR REPLACE FUNCTION private.tl_orphan_events()
  RETURNS SETOF public.customer_timeline_events
  LANGUAGE sql
  STABLE
  SET search_path TO ''
  AS $function$
  -- events whose source row is gone while the delete rule did not mark them (tag assignments: see
  -- private.tl_tag_assignments_gone)
  select e.* from public.customer_timeline_events e
   where e.source_deleted_at is null
     and case e.source_table
           when 'bookings' then not exists (select 1 from public.bookings s where s.id = e.reference_id)
           when 'logistics_tasks' then not exists (select 1 from public.logistics_tasks s where s.id = e.reference_id)
           when 'payments' then not exists (select 1 from public.payments s where s.id = e.reference_id)
           when 'manual_payments' then not exists (select 1 from public.manual_payments s where s.id = e.reference_id)
           when 'support_tickets' then not exists (select 1 from public.support_tickets s where s.id = e.reference_id)
           when 'support_messages' then not exists (select 1 from public.support_messages s where s.id = e.reference_id)
           when 'insurance_documents' then not exists (select 1 from public.insurance_documents s where s.id = e.reference_id)
           when 'email_logs' then not exists (select 1 from public.email_logs s where s.id = e.reference_id)
           when 'customer_notes' then not exists (select 1 from public.customer_notes s where s.id = e.reference_id)
           when 'customer_consent' then not exists (
             select 1 from public.customer_consent s
              where s.customer_id = e.reference_id and s.channel = e.metadata ->> 'channel')
           else false
         end
$function$;

CREATE OR REPLACE FUNCTION private.tl_record_bookings (
  action        text,
  rows          public.bookings[],
  from_statuses text[]            DEFAULT NULL::text[]
)
  RETURNS void
  LANGUAGE sql
  SET search_path TO ''
  AS $function$
  select private.record_timeline_events(array_agg(row(
    b.customer_id, 'booking', 'bookings', b.id,
    case when tl_record_bookings.action = 'created' then 'created' else 'status:' || b.status end,
    case when tl_record_bookings.action = 'created' then b.created_at else b.updated_at end,
    case when tl_record_bookings.action = 'created'
           then 'Booking created' || case when b.status <> 'pending' then ' (' || b.status || ')' else '' end
         else case b.status when 'confirmed' then 'Booking confirmed' when 'active' then 'Booking started'
                            when 'completed' then 'Booking completed' when 'cancelled' then 'Booking cancelled'
                            else 'Booking back to ' || b.status end
    end || ': ' || concat_ws(', ', case when i.items = 1 then '1 item' when i.items > 1 then i.items || ' items' end,
                             case
                               when b.start_date = b.end_date then to_char(b.start_date, 'FMDD Mon')
                               when date_trunc('month', b.start_date) = date_trunc('month', b.end_date)
                                 then to_char(b.start_date, 'FMDD') || '–' || to_char(b.end_date, 'FMDD Mon')
                               when extract(year from b.start_date) = extract(year from b.end_date)
                                 then to_char(b.start_date, 'FMDD Mon') || '–' || to_char(b.end_date, 'FMDD Mon')
                               else to_char(b.start_date, 'FMDD Mon YYYY') || '–' || to_char(b.end_date, 'FMDD Mon YYYY')
                             end),
    jsonb_build_object(
      'action', case when tl_record_bookings.action = 'created' then 'created'
                     when b.status = 'cancelled' then 'cancelled' else 'status_changed' end,
      'status', b.status, 'from', tl_record_bookings.from_statuses[b.ordinality],
      'to', case when tl_record_bookings.action = 'status' then b.status end,
      'start_date', b.start_date, 'end_date', b.end_date, 'total_amount', b.total_amount, 'items', i.items)
  )::private.timeline_event order by b.ordinality), tl_record_bookings.action <> 'created', tl_record_bookings.action <> 'created')
  from unnest(tl_record_bookings.rows) with ordinality b
  cross join lateral (select coalesce(sum(bi.quantity), 0)::integer as items
                        from public.booking_items bi where bi.booking_id = b.id) i
$function$;

CREATE OR REPLACE FUNCTION private.tl_record_consents (
  rows         public.customer_consent[],
  from_enabled boolean[]                 DEFAULT NULL::boolean[]
)
  RETURNS void
  LANGUAGE sql
  SET search_path TO ''
  AS $function$
  select private.record_timeline_events(array_agg(row(
    c.customer_id, 'consent', 'customer_consent', c.customer_id,
    c.channel || ':' || case when c.enabled then 'granted' else 'revoked' end, c.updated_at,
    case c.channel when 'sms' then 'SMS' else initcap(c.channel) end || ' consent '
      || case when c.enabled then 'granted' else 'revoked' end || ' (' || replace(c.source, '_', '-') || ')',
    jsonb_build_object('action', case when c.enabled then 'granted' else 'revoked' end, 'channel', c.channel,
                       'enabled', c.enabled, 'from', tl_record_consents.from_enabled[c.ordinality], 'source', c.source,
                       'note', c.note, 'changed_by', c.updated_by)
  )::private.timeline_event order by c.ordinality), true, true)
  from unnest(tl_record_consents.rows) with ordinality c
$function$;

CREATE OR REPLACE FUNCTION private.tl_record_emails (
  action        text,
  rows          public.email_logs[],
  from_statuses text[]              DEFAULT NULL::text[]
)
  RETURNS void
  LANGUAGE sql
  SET search_path TO ''
  AS $function$
  select private.record_timeline_events(array_agg(row(
    l.customer_id, 'campaign', 'email_logs', l.id,
    case when tl_record_emails.action = 'sent' then 'sent' else 'status:' || l.status end,
    case when tl_record_emails.action = 'sent' then l.created_at else l.updated_at end,
    case when l.campaign_id is not null then 'Campaign email ' else 'Email ' end
      || replace(l.status, '_', ' ') || ': ' || coalesce(nullif(btrim(l.subject), ''), '(no subject)'),
    jsonb_build_object(
      'action', case when tl_record_emails.action = 'sent' then 'sent' else 'status_changed' end,
      'kind', case when l.campaign_id is not null then 'campaign' else 'transactional' end,
      'status', l.status, 'from', tl_record_emails.from_statuses[l.ordinality],
      'to', case when tl_record_emails.action = 'status' then l.status end,
      'subject', l.subject, 'to_email', l.to_email, 'campaign_id', l.campaign_id,
      'provider_message_id', l.provider_message_id)
  )::private.timeline_event order by l.ordinality), tl_record_emails.action <> 'sent', tl_record_emails.action <> 'sent')
  from unnest(tl_record_emails.rows) with ordinality l
  where l.customer_id is not null
$function$;

CREATE OR REPLACE FUNCTION private.tl_record_insurance (
  action        text,
  rows          public.insurance_documents[],
  from_statuses text[]                       DEFAULT NULL::text[]
)
  RETURNS void
  LANGUAGE sql
  SET search_path TO ''
  AS $function$
  select private.record_timeline_events(array_agg(row(
    d.customer_id, 'insurance', 'insurance_documents', d.id,
    case when tl_record_insurance.action = 'uploaded' then 'uploaded' else 'status:' || d.status end,
    case when tl_record_insurance.action = 'uploaded' then d.created_at else d.updated_at end,
    'Insurance document ' || case when tl_record_insurance.action = 'uploaded' then 'uploaded'
                                  when d.status = 'pending' then 'back to pending' else d.status end
      || ': ' || replace(d.kind, '_', ' ')
      || coalesce(', expires ' || to_char(d.expires_at, 'FMDD Mon YYYY'), ''),
    jsonb_build_object(
      'action', case when tl_record_insurance.action = 'uploaded' then 'uploaded' else 'status_changed' end,
      'status', d.status, 'from', tl_record_insurance.from_statuses[d.ordinality],
      'to', case when tl_record_insurance.action = 'status' then d.status end,
      'kind', d.kind, 'expires_at', d.expires_at, 'booking_id', d.booking_id)
  )::private.timeline_event order by d.ordinality), tl_record_insurance.action <> 'uploaded', tl_record_insurance.action <> 'uploaded')
  from unnest(tl_record_insurance.rows) with ordinality d
$function$;

CREATE OR REPLACE FUNCTION private.tl_record_logistics (
  action        text,
  rows          public.logistics_tasks[],
  from_statuses text[]                   DEFAULT NULL::text[]
)
  RETURNS void
  LANGUAGE sql
  SET search_path TO ''
  AS $function$
  -- a task created already done or failed yields 'scheduled' and then its outcome ('initial_status')
  select private.record_timeline_events(array_agg(row(
    bk.customer_id, 'logistics', 'logistics_tasks', t.id,
    case when tl_record_logistics.action = 'scheduled' then 'scheduled' else 'status:' || t.status end,
    case
      when tl_record_logistics.action = 'scheduled' then t.created_at
      when tl_record_logistics.action = 'initial_status' then
        case when t.status = 'done' then coalesce(t.completed_at, t.created_at) else t.created_at end
      else case when t.status = 'done' then coalesce(t.completed_at, t.updated_at) else t.updated_at end
    end,
    initcap(t.kind) || case
      when tl_record_logistics.action = 'scheduled' then ' scheduled for ' || to_char(t.scheduled_for at time zone 'UTC', 'FMDD Mon, HH24:MI')
      when t.status = 'done' then ' done' || coalesce(' on ' || to_char(t.completed_at at time zone 'UTC', 'FMDD Mon, HH24:MI'), '')
      when t.status = 'failed' then ' failed'
      when t.status = 'scheduled' then ' rescheduled for ' || to_char(t.scheduled_for at time zone 'UTC', 'FMDD Mon, HH24:MI')
      else ' ' || replace(t.status, '_', ' ') end,
    jsonb_build_object(
      'action', case when tl_record_logistics.action = 'scheduled' then 'scheduled'
                     when t.status = 'scheduled' then 'rescheduled' else t.status end,
      'kind', t.kind, 'booking_id', t.booking_id,
      'status', case when tl_record_logistics.action = 'scheduled' and t.status in ('done', 'failed') then 'scheduled' else t.status end,
      'from', tl_record_logistics.from_statuses[t.ordinality],
      'to', case when tl_record_logistics.action <> 'scheduled' then t.status end,
      'scheduled_for', t.scheduled_for, 'completed_at', t.completed_at)
  )::private.timeline_event order by t.ordinality), tl_record_logistics.action <> 'scheduled', tl_record_logistics.action = 'status')
  from unnest(tl_record_logistics.rows) with ordinality t
  join public.bookings bk on bk.id = t.booking_id
$function$;

CREATE OR REPLACE FUNCTION private.tl_record_payments (
  action        text,
  rows          public.payments[],
  from_statuses text[]            DEFAULT NULL::text[]
)
  RETURNS void
  LANGUAGE sql
  SET search_path TO ''
  AS $function$
  -- a new payment has no events yet ('initial_status'): only a change can repeat a key
  select private.record_timeline_events(array_agg(row(
    p.customer_id, 'payment', 'payments', p.id, 'status:' || p.status,
    case when tl_record_payments.action = 'initial_status' then p.created_at else p.updated_at end,
    'Payment of ' || to_char(p.amount, 'FM999999999990.00') || coalesce(' ' || p.currency, '') || ' ' || p.status,
    jsonb_build_object('action', p.status, 'status', p.status, 'from', tl_record_payments.from_statuses[p.ordinality],
                       'to', p.status, 'amount', p.amount, 'currency', p.currency, 'booking_id', p.booking_id)
  )::private.timeline_event order by p.ordinality), true, tl_record_payments.action <> 'initial_status')
  from unnest(tl_record_payments.rows) with ordinality p
$function$;

CREATE OR REPLACE FUNCTION private.tl_record_tags (
  action     text,
  rows       public.customer_tag_members[],
  removed_by uuid                          DEFAULT NULL::uuid
)
  RETURNS void
  LANGUAGE sql
  SET search_path TO ''
  AS $function$
  select private.record_timeline_events(array_agg(row(
    m.customer_id, 'tag', 'customer_tag_members', m.tag_id, tl_record_tags.action || ':' || m.customer_id,
    case when tl_record_tags.action = 'assigned' then m.assigned_at else now() end,
    'Tag ' || case when tl_record_tags.action = 'assigned' then 'added' else 'removed' end || ': ' || coalesce(n.name, '(deleted tag)'),
    jsonb_build_object('action', tl_record_tags.action, 'tag_id', m.tag_id, 'tag_name', n.name, 'color', n.color,
                       case when tl_record_tags.action = 'assigned' then 'assigned_by' else 'removed_by' end,
                       case when tl_record_tags.action = 'assigned' then m.assigned_by else tl_record_tags.removed_by end)
  )::private.timeline_event order by m.ordinality), true, true)
  from unnest(tl_record_tags.rows) with ordinality m
  cross join lateral (
    -- a tag deleted with its assignments is named by its last event
    select coalesce(t.name, prev.metadata ->> 'tag_name') as name, coalesce(t.color, prev.metadata ->> 'color') as color
      from (select 1) one
      left join public.customer_tags t on t.id = m.tag_id
      left join lateral (
        select e.metadata from public.customer_timeline_events e
         where e.source_table = 'customer_tag_members' and e.reference_id = m.tag_id and e.customer_id = m.customer_id
         order by e.seq desc limit 1) prev on t.id is null
  ) n
$function$;

CREATE OR REPLACE FUNCTION private.tl_record_tickets (
  action        text,
  rows          public.support_tickets[],
  from_statuses text[]                   DEFAULT NULL::text[]
)
  RETURNS void
  LANGUAGE sql
  SET search_path TO ''
  AS $function$
  select private.record_timeline_events(array_agg(row(
    t.customer_id, 'support', 'support_tickets', t.id,
    case when tl_record_tickets.action = 'opened' then 'opened' else 'status:' || t.status end,
    case when tl_record_tickets.action = 'opened' then t.created_at else t.updated_at end,
    'Support ticket ' || case
      when tl_record_tickets.action = 'opened'
        then 'opened' || case when t.priority in ('high', 'urgent') then ' (' || t.priority || ')' else '' end
      when t.status = 'open' then 'reopened'
      when t.status = 'pending' then 'waiting on the customer'
      else t.status end || ': ' || t.subject,
    jsonb_build_object(
      'action', case when tl_record_tickets.action = 'opened' then 'opened' else 'status_changed' end,
      'status', t.status, 'from', tl_record_tickets.from_statuses[t.ordinality],
      'to', case when tl_record_tickets.action = 'status' then t.status end,
      'subject', t.subject, 'priority', t.priority)
  )::private.timeline_event order by t.ordinality), tl_record_tickets.action <> 'opened', tl_record_tickets.action <> 'opened')
  from unnest(tl_record_tickets.rows) with ordinality t
$function$;

CREATE OR REPLACE FUNCTION private.tl_tag_assignments_gone()
  RETURNS SETOF public.customer_tag_members
  LANGUAGE sql
  STABLE
  SET search_path TO ''
  AS $function$
  -- tag assignments whose latest event says 'assigned' while the row is gone (when, by whom: unknown)
  select row(last.customer_id, last.reference_id, null, null)::public.customer_tag_members
    from (select distinct on (e.reference_id, e.customer_id) e.reference_id, e.customer_id, e.metadata ->> 'action' as action
            from public.customer_timeline_events e
           where e.source_table = 'customer_tag_members'
           order by e.reference_id, e.customer_id, e.seq desc) last
   where last.action = 'assigned'
     and not exists (select 1 from public.customer_tag_members m where m.tag_id = last.reference_id and m.customer_id = last.customer_id)
$function$;

CREATE TRIGGER _200_facts_delete AFTER DELETE ON public.bookings REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts (
  'booking'
);

CREATE TRIGGER _200_facts_insert AFTER INSERT ON public.bookings REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts (
  'booking'
);

CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.bookings
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts (
  'booking',
  'customer_id',
  'status',
  'created_at'
);

CREATE TRIGGER _200_facts_delete AFTER DELETE ON public.customer_consent REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts (
  'consent'
);

CREATE TRIGGER _200_facts_insert AFTER INSERT ON public.customer_consent REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts (
  'consent'
);

CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.customer_consent
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts (
  'consent'
);

CREATE TRIGGER _200_facts_delete AFTER DELETE ON public.customer_tag_members
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts (
  'tag'
);

CREATE TRIGGER _200_facts_insert AFTER INSERT ON public.customer_tag_members
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts (
  'tag'
);

CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.customer_tag_members
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts (
  'tag'
);

CREATE TRIGGER _200_facts_delete AFTER DELETE ON public.manual_payments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts (
  'spend'
);

CREATE TRIGGER _200_facts_insert AFTER INSERT ON public.manual_payments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts (
  'spend'
);

CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.manual_payments
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts (
  'spend',
  'customer_id',
  'amount'
);

CREATE TRIGGER _200_facts_delete AFTER DELETE ON public.payments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts (
  'spend'
);

CREATE TRIGGER _200_facts_insert AFTER INSERT ON public.payments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts (
  'spend'
);

CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.payments
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts (
  'spend',
  'customer_id',
  'status',
  'amount'
);

COMMENT ON FUNCTION "private"."audit_export"(text, text, jsonb) IS 'An admin''s export of staff data, written to the audit log; refuses anyone else (42501).';

COMMENT ON FUNCTION "private"."record_timeline_events"(private.timeline_event[], boolean, boolean) IS 'Writes many events in one insert; idempotent on (source_table, reference_id, event_key), like record_timeline_event. stamped: each key is the event''s key, ''@'' and its occurred_at (private.tl_stamp); repeatable: a key the source row has already recorded (a status reached again at the same instant) gets ''#2'', ''#3'', ...';

revoke all on function
  private.audit_export(text,text,jsonb),
  private.record_timeline_events(private.timeline_event[],boolean,boolean),
  private.refresh_facts(text,uuid[]),
  private.tg_refresh_customer_facts(),
  private.tl_orphan_events(),
  private.tl_tag_assignments_gone()
from public, anon, authenticated, service_role;
grant execute on function private.audit_export(text,text,jsonb) to authenticated, service_role;
