-- One timeline trigger function for every source table (private.tg_record_timeline, told by its
-- arguments which builder and which actions), instead of eleven of the same shape. Each source's
-- rules move into its builder: which statuses yield an event (private.tl_eventful_statuses, for
-- payments and logistics), a task created already done or failed, an 'off' consent row with
-- nothing before it, a removed tag of an erased customer; notes, manual payments and support
-- messages' builders take their action like the others. Consent's old values reach its builder as
-- text like every other's; a deleted consent row's events are found through
-- mark_timeline_source_deleted's new key_prefixes. The backfill and the drift check read the
-- id-keyed sources from one list (private.tl_sources) instead of a block per source. Same events,
-- keys and content as before.

SET local check_function_bodies = off;

DROP TRIGGER "_100_timeline_delete" ON "public"."bookings";

DROP TRIGGER "_100_timeline_insert" ON "public"."bookings";

DROP TRIGGER "_100_timeline_update" ON "public"."bookings";

DROP TRIGGER "_100_timeline_delete" ON "public"."customer_consent";

DROP TRIGGER "_100_timeline_insert" ON "public"."customer_consent";

DROP TRIGGER "_100_timeline_update" ON "public"."customer_consent";

DROP TRIGGER "_100_timeline_delete" ON "public"."customer_notes";

DROP TRIGGER "_100_timeline_insert" ON "public"."customer_notes";

DROP TRIGGER "_100_timeline_delete" ON "public"."customer_tag_members";

DROP TRIGGER "_100_timeline_insert" ON "public"."customer_tag_members";

DROP TRIGGER "_100_timeline_delete" ON "public"."email_logs";

DROP TRIGGER "_100_timeline_insert" ON "public"."email_logs";

DROP TRIGGER "_100_timeline_update" ON "public"."email_logs";

DROP TRIGGER "_100_timeline_delete" ON "public"."insurance_documents";

DROP TRIGGER "_100_timeline_insert" ON "public"."insurance_documents";

DROP TRIGGER "_100_timeline_update" ON "public"."insurance_documents";

DROP TRIGGER "_100_timeline_delete" ON "public"."logistics_tasks";

DROP TRIGGER "_100_timeline_insert" ON "public"."logistics_tasks";

DROP TRIGGER "_100_timeline_update" ON "public"."logistics_tasks";

DROP TRIGGER "_100_timeline_delete" ON "public"."manual_payments";

DROP TRIGGER "_100_timeline_insert" ON "public"."manual_payments";

DROP TRIGGER "_100_timeline_delete" ON "public"."payments";

DROP TRIGGER "_100_timeline_insert" ON "public"."payments";

DROP TRIGGER "_100_timeline_update" ON "public"."payments";

DROP TRIGGER "_100_timeline_delete" ON "public"."support_messages";

DROP TRIGGER "_100_timeline_insert" ON "public"."support_messages";

DROP TRIGGER "_100_timeline_delete" ON "public"."support_tickets";

DROP TRIGGER "_100_timeline_insert" ON "public"."support_tickets";

DROP TRIGGER "_100_timeline_update" ON "public"."support_tickets";

DROP FUNCTION "private"."mark_timeline_source_deleted"(text, uuid[], text, text[]);

DROP FUNCTION "private"."tg_bookings__timeline"();

DROP FUNCTION "private"."tg_customer_consent__timeline"();

DROP FUNCTION "private"."tg_customer_notes__timeline"();

DROP FUNCTION "private"."tg_customer_tag_members__timeline"();

DROP FUNCTION "private"."tg_email_logs__timeline"();

DROP FUNCTION "private"."tg_insurance_documents__timeline"();

DROP FUNCTION "private"."tg_logistics_tasks__timeline"();

DROP FUNCTION "private"."tg_manual_payments__timeline"();

DROP FUNCTION "private"."tg_payments__timeline"();

DROP FUNCTION "private"."tg_support_messages__timeline"();

DROP FUNCTION "private"."tg_support_tickets__timeline"();

DROP FUNCTION "private"."timeline_drift_by_source"();

DROP FUNCTION "private"."tl_logistics_status_is_eventful"(text);

DROP FUNCTION "private"."tl_payment_status_is_eventful"(text);

DROP FUNCTION "private"."tl_record_consents"(public.customer_consent[], boolean[]);

DROP FUNCTION "private"."tl_record_manual_payments"(public.manual_payments[]);

DROP FUNCTION "private"."tl_record_notes"(public.customer_notes[]);

DROP FUNCTION "private"."tl_record_support_messages"(public.support_messages[]);

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
  src record;
begin
  -- creation events
  for src in select * from private.tl_sources() s where s.created is not null loop
    execute format('select private.%I($1, array(select s from public.%I s where %s not private.tl_has_event($2, s.id, $1)))',
                   src.builder, src.source_table, case when src.linked_by is not null then format('s.%I is not null and', src.linked_by) else '' end)
      using src.created, src.source_table;
  end loop;

  -- current state, where the latest event does not carry it
  for src in select * from private.tl_sources() s where s.has_status loop
    execute format('select private.%I(''status'', array_agg(s order by s.id), array_agg(last.status order by s.id))
                      from public.%I s
                     cross join lateral (select (private.tl_latest_event($1, s.id)).metadata ->> ''status'' as status) last
                     where %s coalesce(s.status = any (private.tl_eventful_statuses($1)), true) and last.status is distinct from s.status',
                   src.builder, src.source_table, case when src.linked_by is not null then format('s.%I is not null and', src.linked_by) else '' end)
      using src.source_table;
  end loop;
  perform private.tl_record_consents(array_agg(c order by c.customer_id, c.channel), array_agg(last.enabled order by c.customer_id, c.channel))
     from public.customer_consent c
     cross join lateral (select (private.tl_latest_event('customer_consent', c.customer_id, c.channel || ':')).metadata ->> 'enabled' as enabled) last
    where coalesce(last.enabled::boolean, false) is distinct from c.enabled;
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

CREATE OR REPLACE FUNCTION private.mark_timeline_source_deleted (
  source_table   text,
  reference_ids  uuid[],
  redacted_title text   DEFAULT NULL::text,
  redacted_keys  text[] DEFAULT '{}'::text[],
  key_prefixes   text[] DEFAULT NULL::text[]
)
  RETURNS void
  LANGUAGE sql
  SET search_path TO ''
  AS $function$
  -- key_prefixes: the events of reference_ids[i] are those whose key starts with key_prefixes[i]
  update public.customer_timeline_events e
     set source_deleted_at = now(),
         title = coalesce(mark_timeline_source_deleted.redacted_title, e.title),
         metadata = e.metadata - mark_timeline_source_deleted.redacted_keys
   where e.source_table = mark_timeline_source_deleted.source_table
     and e.reference_id = any (mark_timeline_source_deleted.reference_ids)
     and (mark_timeline_source_deleted.key_prefixes is null
          or exists (select 1 from unnest(mark_timeline_source_deleted.reference_ids, mark_timeline_source_deleted.key_prefixes) r(id, prefix)
                      where r.id = e.reference_id and starts_with(e.event_key, r.prefix)))
     and e.source_deleted_at is null
$function$;

CREATE OR REPLACE FUNCTION private.tg_record_timeline()
  RETURNS TRIGGER
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
-- The timeline trigger of every source table. The source's builder, tg_argv[0]
-- (private.tl_record_*), holds its rules; the arguments say what a statement's rows are to it:
--   insert: tg_argv[1:] the builder's actions for the new rows, in order (none: it takes no action);
--   update: tg_argv[1:] pairs of a column whose change is an event and the builder's action for it
--           ('': none); the changed rows in key order, their old values as text;
--   delete: tg_argv[1] the builder's action for the deleted rows, given the deleting user; without
--           one, the rows' events are marked deleted, tg_argv[2:] the redacted title and keys. A row's
--           events are its key's first column's, their keys prefixed with the other columns'.
declare
  source text := format('%I.%I', tg_table_schema, tg_table_name);
  key_columns text[];
  key_list text;
  action text;
  i integer;
begin
  if tg_op <> 'INSERT' then
    select array_agg(a.attname order by k.ord), string_agg(format('%I', a.attname), ', ' order by k.ord)
      into key_columns, key_list
      from pg_catalog.pg_index x
     cross join unnest(x.indkey) with ordinality k(attnum, ord)
      join pg_catalog.pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
     where x.indrelid = tg_relid and x.indisprimary;
  end if;
  if tg_op = 'INSERT' then
    foreach action in array coalesce(nullif(tg_argv[1:], '{}'), array[null]) loop
      execute format('select private.%I(%s array(select n::%s from new_rows n))',
                     tg_argv[0], case when action is not null then '$1,' else '' end, source)
        using action;
    end loop;
  elsif tg_op = 'UPDATE' then
    for i in 1 .. tg_nargs - 1 by 2 loop
      execute format('select private.%1$I(%2$s array_agg(n::%3$s order by %4$s), array_agg(o.%5$I::text order by %4$s))
                        from new_rows n join old_rows o using (%4$s)
                       where n.%5$I is distinct from o.%5$I',
                     tg_argv[0], case when tg_argv[i + 1] <> '' then '$1,' else '' end, source, key_list, tg_argv[i])
        using tg_argv[i + 1];
    end loop;
  elsif tg_nargs > 1 and tg_argv[1] <> '' then
    execute format('select private.%I($1, array(select o::%s from old_rows o), auth.uid())', tg_argv[0], source)
      using tg_argv[1];
  else
    execute format('select private.mark_timeline_source_deleted($1, array_agg(o.%I), $2, $3, %s) from old_rows o',
                   key_columns[1],
                   case when cardinality(key_columns) > 1
                        then format('array_agg(concat_ws('':'', %s) || '':'')',
                                    (select string_agg(format('o.%I', c), ', ') from unnest(key_columns[2:]) c))
                        else 'null' end)
      using tg_table_name::text, tg_argv[2], coalesce(tg_argv[3:], '{}');
  end if;
  return null;
end
$function$;

CREATE OR REPLACE FUNCTION private.timeline_drift_by_source()
  RETURNS TABLE (
    event_type   text,
    source_table text,
    missing      bigint,
    extra        bigint
  )
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path TO ''
  AS $function$
declare
  src record;
  counts jsonb := '{}'::jsonb;
  n bigint;
begin
  -- missing: rows without the event they yield on creation, or whose latest event is not their status
  for src in select * from private.tl_sources() loop
    execute format('select count(*) from public.%I s where %s (%s or %s)', src.source_table,
                   case when src.linked_by is not null then format('s.%I is not null and', src.linked_by) else '' end,
                   case when src.created is not null then 'not private.tl_has_event($1, s.id, $2)' else 'false' end,
                   case when src.has_status then 'coalesce(s.status = any (private.tl_eventful_statuses($1)), true)
                     and (private.tl_latest_event($1, s.id)).metadata ->> ''status'' is distinct from s.status' else 'false' end)
      into n using src.source_table, src.created;
    counts := counts || jsonb_build_object(src.source_table, n);
  end loop;
  counts := counts || jsonb_build_object(
    -- an 'off' row with no events is fine: no row already meant no consent
    'customer_consent', (select count(*) from public.customer_consent c
                          where coalesce(((private.tl_latest_event('customer_consent', c.customer_id, c.channel || ':')).metadata ->> 'enabled')::boolean, false)
                                is distinct from c.enabled),
    'customer_tag_members', (select count(*) from public.customer_tag_members m where not private.tl_tag_assignment_recorded(m)));

  return query
  with orphans as (
    select o.source_table, count(*) as n from private.tl_orphan_events() o group by 1
    union all
    select 'customer_tag_members', count(*) from private.tl_tag_assignments_gone()
  )
  select s.event_type, s.source_table, (counts ->> s.source_table)::bigint,
         coalesce((select sum(o.n) from orphans o where o.source_table = s.source_table), 0)::bigint
    from (select t.event_type, t.source_table, t.ord from private.tl_sources() with ordinality t(source_table, event_type, builder, created, has_status, linked_by, ord)
          union all values ('consent', 'customer_consent', 100), ('tag', 'customer_tag_members', 101)) s
   order by s.ord;
end
$function$;

CREATE OR REPLACE FUNCTION private.tl_eventful_statuses (
  source_table text
)
  RETURNS text[]
  LANGUAGE sql
  IMMUTABLE
  SET search_path TO ''
  AS $function$
  -- the statuses of a source that yield an event (null: every status): a pending payment and a task
  -- in transit do not. Called with a constant, it is folded once per statement, not run per row.
  select case tl_eventful_statuses.source_table
           when 'payments' then array['succeeded', 'failed', 'refunded']
           when 'logistics_tasks' then array['scheduled', 'done', 'failed']
         end
$function$;

CREATE OR REPLACE FUNCTION private.tl_record_consents (
  rows         public.customer_consent[],
  from_enabled text[]                    DEFAULT NULL::text[]
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
                       'enabled', c.enabled, 'from', tl_record_consents.from_enabled[c.ordinality]::boolean, 'source', c.source,
                       'note', c.note, 'changed_by', c.updated_by)
  )::private.timeline_event order by c.ordinality), true, true)
  from unnest(tl_record_consents.rows) with ordinality c
  -- an 'off' row with nothing before it is no event: no row already meant no consent
  where c.enabled or tl_record_consents.from_enabled[c.ordinality] is not null
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
  -- a task created already done or failed yields 'scheduled' and then its outcome ('initial_status');
  -- scheduled, done and failed yield an event, in_transit does not (tl_eventful_statuses)
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
      'from', coalesce(tl_record_logistics.from_statuses[t.ordinality],
                       case when tl_record_logistics.action = 'initial_status' then 'scheduled' end),
      'to', case when tl_record_logistics.action <> 'scheduled' then t.status end,
      'scheduled_for', t.scheduled_for, 'completed_at', t.completed_at)
  )::private.timeline_event order by t.ordinality), tl_record_logistics.action <> 'scheduled', tl_record_logistics.action = 'status')
  from unnest(tl_record_logistics.rows) with ordinality t
  join public.bookings bk on bk.id = t.booking_id
  where case tl_record_logistics.action when 'scheduled' then true
                                        when 'initial_status' then t.status in ('done', 'failed')
                                        else t.status = any (private.tl_eventful_statuses('logistics_tasks')) end
$function$;

CREATE OR REPLACE FUNCTION private.tl_record_manual_payments (
  action text,
  rows   public.manual_payments[]
)
  RETURNS void
  LANGUAGE sql
  SET search_path TO ''
  AS $function$
  select private.record_timeline_events(array_agg(row(
    m.customer_id, 'payment', 'manual_payments', m.id, tl_record_manual_payments.action, m.received_at,
    'Manual payment of ' || to_char(m.amount, 'FM999999999990.00') || ' recorded (' || replace(m.method, '_', ' ') || ')',
    jsonb_build_object('action', tl_record_manual_payments.action, 'amount', m.amount, 'method', m.method, 'booking_id', m.booking_id,
                       'recorded_by', m.recorded_by, 'received_at', m.received_at)
  )::private.timeline_event order by m.ordinality))
  from unnest(tl_record_manual_payments.rows) with ordinality m
$function$;

CREATE OR REPLACE FUNCTION private.tl_record_notes (
  action text,
  rows   public.customer_notes[]
)
  RETURNS void
  LANGUAGE sql
  SET search_path TO ''
  AS $function$
  select private.record_timeline_events(array_agg(row(
    n.customer_id, 'note', 'customer_notes', n.id, tl_record_notes.action, n.created_at,
    case n.type when 'warning' then 'Warning: ' when 'action' then 'Action: ' else '' end
      || case when char_length(n.note) > 200 then left(n.note, 199) || '…' else n.note end,
    jsonb_build_object('action', tl_record_notes.action, 'type', n.type, 'visibility', n.visibility, 'admin_id', n.admin_id, 'note', n.note)
  )::private.timeline_event order by n.ordinality))
  from unnest(tl_record_notes.rows) with ordinality n
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
  -- a new payment has no events yet ('initial_status'): only a change can repeat a key; succeeded,
  -- failed and refunded yield an event, pending does not
  select private.record_timeline_events(array_agg(row(
    p.customer_id, 'payment', 'payments', p.id, 'status:' || p.status,
    case when tl_record_payments.action = 'initial_status' then p.created_at else p.updated_at end,
    'Payment of ' || to_char(p.amount, 'FM999999999990.00') || coalesce(' ' || p.currency, '') || ' ' || p.status,
    jsonb_build_object('action', p.status, 'status', p.status, 'from', tl_record_payments.from_statuses[p.ordinality],
                       'to', p.status, 'amount', p.amount, 'currency', p.currency, 'booking_id', p.booking_id)
  )::private.timeline_event order by p.ordinality), true, tl_record_payments.action <> 'initial_status')
  from unnest(tl_record_payments.rows) with ordinality p
  where p.status = any (private.tl_eventful_statuses('payments'))
$function$;

CREATE OR REPLACE FUNCTION private.tl_record_support_messages (
  action text,
  rows   public.support_messages[]
)
  RETURNS void
  LANGUAGE sql
  SET search_path TO ''
  AS $function$
  select private.record_timeline_events(array_agg(row(
    t.customer_id, 'support', 'support_messages', m.id, tl_record_support_messages.action, m.created_at,
    case when m.sender_id = t.customer_id then 'Customer wrote: ' else 'Staff replied: ' end
      || case when char_length(x.body) > 120 then left(x.body, 119) || '…' else x.body end,
    jsonb_build_object('action', tl_record_support_messages.action, 'ticket_id', m.ticket_id, 'ticket_subject', t.subject,
                       'sender_id', m.sender_id, 'from_customer', m.sender_id is not distinct from t.customer_id,
                       'excerpt', case when char_length(m.body) > 500 then left(m.body, 499) || '…' else m.body end)
  )::private.timeline_event order by m.ordinality))
  from unnest(tl_record_support_messages.rows) with ordinality m
  join public.support_tickets t on t.id = m.ticket_id
  cross join lateral (select regexp_replace(btrim(m.body), '\s+', ' ', 'g') as body) x
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
  -- erasing the customer cascades to their assignments; their timeline goes with them
  where exists (select 1 from public.users u where u.id = m.customer_id)
$function$;

CREATE OR REPLACE FUNCTION private.tl_sources()
  RETURNS TABLE (
    source_table text,
    event_type   text,
    builder      text,
    created      text,
    has_status   boolean,
    linked_by    text
  )
  LANGUAGE sql
  IMMUTABLE
  SET search_path TO ''
  AS $function$
  -- The sources whose events are keyed by their row's id, for the backfill and the drift check:
  -- their builder, the action (and key) of the event a new row yields, whether a change of status
  -- is an event, and the column without which a row is not on any timeline. Consent and tag
  -- assignments are keyed otherwise; the triggers name their builder and actions themselves.
  values ('bookings', 'booking', 'tl_record_bookings', 'created', true, null),
         ('logistics_tasks', 'logistics', 'tl_record_logistics', 'scheduled', true, null),
         ('payments', 'payment', 'tl_record_payments', null, true, null),
         ('manual_payments', 'payment', 'tl_record_manual_payments', 'recorded', false, null),
         ('support_tickets', 'support', 'tl_record_tickets', 'opened', true, null),
         ('support_messages', 'support', 'tl_record_support_messages', 'message', false, null),
         ('insurance_documents', 'insurance', 'tl_record_insurance', 'uploaded', true, null),
         ('email_logs', 'campaign', 'tl_record_emails', 'sent', true, 'customer_id'),
         ('customer_notes', 'note', 'tl_record_notes', 'note', false, null)
$function$;

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.bookings REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_bookings'
);

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.bookings REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_bookings',
  'created'
);

CREATE TRIGGER _100_timeline_update AFTER UPDATE ON public.bookings
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_bookings',
  'status',
  'status'
);

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.customer_consent REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_consents'
);

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.customer_consent REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_consents'
);

CREATE TRIGGER _100_timeline_update AFTER UPDATE ON public.customer_consent
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_consents',
  'enabled',
  ''
);

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.customer_notes REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_notes',
  '',
  'Note deleted',
  'note'
);

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.customer_notes REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_notes',
  'note'
);

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.customer_tag_members REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_tags',
  'removed'
);

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.customer_tag_members REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_tags',
  'assigned'
);

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.email_logs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_emails'
);

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.email_logs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_emails',
  'sent'
);

CREATE TRIGGER _100_timeline_update AFTER UPDATE ON public.email_logs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_emails',
  'customer_id',
  'sent',
  'status',
  'status'
);

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.insurance_documents REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_insurance'
);

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.insurance_documents REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_insurance',
  'uploaded'
);

CREATE TRIGGER _100_timeline_update AFTER UPDATE ON public.insurance_documents
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_insurance',
  'status',
  'status'
);

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.logistics_tasks REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_logistics'
);

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.logistics_tasks REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_logistics',
  'scheduled',
  'initial_status'
);

CREATE TRIGGER _100_timeline_update AFTER UPDATE ON public.logistics_tasks
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_logistics',
  'status',
  'status'
);

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.manual_payments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_manual_payments'
);

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.manual_payments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_manual_payments',
  'recorded'
);

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.payments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_payments'
);

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.payments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_payments',
  'initial_status'
);

CREATE TRIGGER _100_timeline_update AFTER UPDATE ON public.payments
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_payments',
  'status',
  'status'
);

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.support_messages REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_support_messages',
  '',
  'Support message deleted',
  'excerpt'
);

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.support_messages REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_support_messages',
  'message'
);

CREATE TRIGGER _100_timeline_delete AFTER DELETE ON public.support_tickets REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_tickets'
);

CREATE TRIGGER _100_timeline_insert AFTER INSERT ON public.support_tickets REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_tickets',
  'opened'
);

CREATE TRIGGER _100_timeline_update AFTER UPDATE ON public.support_tickets
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_record_timeline (
  'tl_record_tickets',
  'status',
  'status'
);

REVOKE ALL ON FUNCTION "private"."mark_timeline_source_deleted"(text, uuid[], text, text[], text[]) FROM PUBLIC;

REVOKE ALL ON FUNCTION "private"."mark_timeline_source_deleted"(text, uuid[], text, text[], text[]) FROM "postgres";

GRANT EXECUTE ON FUNCTION "private"."mark_timeline_source_deleted"(text, uuid[], text, text[], text[]) TO "postgres";

REVOKE ALL ON FUNCTION "private"."tg_record_timeline"() FROM PUBLIC;

REVOKE ALL ON FUNCTION "private"."tg_record_timeline"() FROM "postgres";

GRANT EXECUTE ON FUNCTION "private"."tg_record_timeline"() TO "postgres";

REVOKE ALL ON FUNCTION "private"."timeline_drift_by_source"() FROM PUBLIC;

REVOKE ALL ON FUNCTION "private"."timeline_drift_by_source"() FROM "postgres";

GRANT EXECUTE ON FUNCTION "private"."timeline_drift_by_source"() TO "postgres";

GRANT EXECUTE ON FUNCTION "private"."timeline_drift_by_source"() TO "service_role";

REVOKE ALL ON FUNCTION "private"."tl_eventful_statuses"(text) FROM PUBLIC;

REVOKE ALL ON FUNCTION "private"."tl_eventful_statuses"(text) FROM "postgres";

GRANT EXECUTE ON FUNCTION "private"."tl_eventful_statuses"(text) TO "postgres";

REVOKE ALL ON FUNCTION "private"."tl_record_consents"(public.customer_consent[], text[]) FROM PUBLIC;

REVOKE ALL ON FUNCTION "private"."tl_record_consents"(public.customer_consent[], text[]) FROM "postgres";

GRANT EXECUTE ON FUNCTION "private"."tl_record_consents"(public.customer_consent[], text[]) TO "postgres";

REVOKE ALL ON FUNCTION "private"."tl_record_manual_payments"(text, public.manual_payments[]) FROM PUBLIC;

REVOKE ALL ON FUNCTION "private"."tl_record_manual_payments"(text, public.manual_payments[]) FROM "postgres";

GRANT EXECUTE ON FUNCTION "private"."tl_record_manual_payments"(text, public.manual_payments[]) TO "postgres";

REVOKE ALL ON FUNCTION "private"."tl_record_notes"(text, public.customer_notes[]) FROM PUBLIC;

REVOKE ALL ON FUNCTION "private"."tl_record_notes"(text, public.customer_notes[]) FROM "postgres";

GRANT EXECUTE ON FUNCTION "private"."tl_record_notes"(text, public.customer_notes[]) TO "postgres";

REVOKE ALL ON FUNCTION "private"."tl_record_support_messages"(text, public.support_messages[]) FROM PUBLIC;

REVOKE ALL ON FUNCTION "private"."tl_record_support_messages"(text, public.support_messages[]) FROM "postgres";

GRANT EXECUTE ON FUNCTION "private"."tl_record_support_messages"(text, public.support_messages[]) TO "postgres";

REVOKE ALL ON FUNCTION "private"."tl_sources"() FROM PUBLIC;

REVOKE ALL ON FUNCTION "private"."tl_sources"() FROM "postgres";

GRANT EXECUTE ON FUNCTION "private"."tl_sources"() TO "postgres";
