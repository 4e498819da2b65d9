-- One timeline trigger function for every source table (private.tg_record_timeline, told by its
-- arguments which builder and which actions), instead of eleven of the same shape. Each source's
-- rules move into its builder: which statuses yield an event (payments, logistics), a task created
-- already done or failed, an 'off' consent row with nothing before it, a removed tag of an erased
-- customer. Consent's old values reach its builder as text like every other's; a deleted consent
-- row's events are found through mark_timeline_source_deleted's new key_prefixes. Same events,
-- keys, content and order as before.

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

DROP FUNCTION "private"."tl_record_consents"(public.customer_consent[], boolean[]);

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
  key_columns text[] := array(
    select a.attname from pg_catalog.pg_index i
     cross join unnest(i.indkey) with ordinality k(attnum, ord)
      join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
     where i.indrelid = tg_relid and i.indisprimary order by k.ord);
  key_list text := (select string_agg(format('%I', c), ', ') from unnest(key_columns) c);
  action text;
  i integer;
begin
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
      using tg_table_name, tg_argv[2], coalesce(tg_argv[3:], '{}');
  end if;
  return null;
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
  -- scheduled, done and failed yield an event, in_transit does not (tl_logistics_status_is_eventful)
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
                                        else private.tl_logistics_status_is_eventful(t.status) end
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
  where private.tl_payment_status_is_eventful(p.status)
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
  'tl_record_notes'
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
  'tl_record_manual_payments'
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
  'tl_record_support_messages'
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

REVOKE ALL ON FUNCTION "private"."tl_record_consents"(public.customer_consent[], text[]) FROM PUBLIC;

REVOKE ALL ON FUNCTION "private"."tl_record_consents"(public.customer_consent[], text[]) FROM "postgres";

GRANT EXECUTE ON FUNCTION "private"."tl_record_consents"(public.customer_consent[], text[]) TO "postgres";
