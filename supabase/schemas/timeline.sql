-- Customer timeline
--
-- One event stream per customer: the events table, the writers, per-day counts, and the
-- paged customer_timeline RPC with its export audit.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Types
-- ------------------------------------------------------------------------------------------------

CREATE TYPE private.timeline_event AS (
	customer_id uuid,
	event_type text,
	source_table text,
	reference_id uuid,
	event_key text,
	occurred_at timestamp with time zone,
	title text,
	metadata jsonb
);

COMMENT ON TYPE private.timeline_event IS 'One event for private.record_timeline_events: the arguments of private.record_timeline_event as a row.';

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE public.customer_timeline_events (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    customer_id uuid NOT NULL,
    event_type text NOT NULL,
    reference_id uuid,
    source_table text NOT NULL,
    event_key text NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    title text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    source_deleted_at timestamp with time zone,
    seq bigint NOT NULL GENERATED ALWAYS AS IDENTITY,
    CONSTRAINT customer_timeline_events_event_type_is_known CHECK ((event_type = ANY (ARRAY['booking'::text, 'payment'::text, 'support'::text, 'note'::text, 'campaign'::text, 'logistics'::text, 'promotion'::text, 'insurance'::text, 'consent'::text, 'risk'::text, 'tag'::text, 'segment'::text]))),
    CONSTRAINT customer_timeline_events_identity_key UNIQUE NULLS NOT DISTINCT (source_table, reference_id, event_key),
    CONSTRAINT customer_timeline_events_pkey PRIMARY KEY (id),
    CONSTRAINT customer_timeline_events_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE
);

COMMENT ON TABLE public.customer_timeline_events IS 'Everything that happened with a customer, written by triggers on the sources; (source_table, reference_id, event_key) is the identity of a change.';

COMMENT ON COLUMN public.customer_timeline_events.source_deleted_at IS 'When the source row of this event was deleted; the event is kept as history.';

CREATE TABLE private.customer_timeline_counts (
    customer_id uuid NOT NULL,
    day date NOT NULL,
    event_type text NOT NULL,
    n integer NOT NULL,
    CONSTRAINT customer_timeline_counts_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE
);

COMMENT ON TABLE private.customer_timeline_counts IS 'Event count deltas per customer, UTC day and type (sum them); written by trigger on customer_timeline_events, compacted by crm_timeline_counts_compact.';

CREATE TABLE private.customer_timeline_totals (
    customer_id uuid NOT NULL,
    event_type text NOT NULL,
    n integer NOT NULL,
    CONSTRAINT customer_timeline_totals_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE
);

COMMENT ON TABLE private.customer_timeline_totals IS 'Event count deltas per customer and type (sum them); written by trigger on customer_timeline_events, compacted by crm_timeline_counts_compact.';

CREATE INDEX customer_timeline_counts_key_idx ON private.customer_timeline_counts USING btree (customer_id, day, event_type);

CREATE INDEX customer_timeline_totals_key_idx ON private.customer_timeline_totals USING btree (customer_id, event_type);

CREATE INDEX customer_timeline_events_page_idx ON public.customer_timeline_events USING btree (customer_id, occurred_at DESC, id DESC);

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.compact_timeline_counts() RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  with keys as (
    select c.customer_id, c.day, c.event_type from private.customer_timeline_counts c group by 1, 2, 3 having count(*) > 1
  ), folded as (
    delete from private.customer_timeline_counts c using keys k
     where c.customer_id = k.customer_id and c.day = k.day and c.event_type = k.event_type
    returning c.customer_id, c.day, c.event_type, c.n
  )
  insert into private.customer_timeline_counts (customer_id, day, event_type, n)
  select f.customer_id, f.day, f.event_type, sum(f.n) from folded f group by 1, 2, 3 having sum(f.n) <> 0;

  with keys as (
    select t.customer_id, t.event_type from private.customer_timeline_totals t group by 1, 2 having count(*) > 1
  ), folded as (
    delete from private.customer_timeline_totals t using keys k
     where t.customer_id = k.customer_id and t.event_type = k.event_type
    returning t.customer_id, t.event_type, t.n
  )
  insert into private.customer_timeline_totals (customer_id, event_type, n)
  select f.customer_id, f.event_type, sum(f.n) from folded f group by 1, 2 having sum(f.n) <> 0;
$$;

CREATE FUNCTION private.record_timeline_event(customer_id uuid, event_type text, source_table text, reference_id uuid, event_key text, occurred_at timestamp with time zone, title text, metadata jsonb DEFAULT '{}'::jsonb) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  with written as (
    insert into public.customer_timeline_events (customer_id, event_type, source_table, reference_id, event_key, occurred_at, title, metadata)
    select record_timeline_event.customer_id, record_timeline_event.event_type, record_timeline_event.source_table,
           record_timeline_event.reference_id, record_timeline_event.event_key, record_timeline_event.occurred_at,
           record_timeline_event.title, coalesce(record_timeline_event.metadata, '{}'::jsonb)
     where record_timeline_event.customer_id is not null
    on conflict on constraint customer_timeline_events_identity_key do nothing
    returning customer_timeline_events.customer_id, customer_timeline_events.event_type, customer_timeline_events.occurred_at
  ), counted as (
    insert into private.customer_timeline_counts (customer_id, day, event_type, n)
    select w.customer_id, (w.occurred_at at time zone 'UTC')::date, w.event_type, 1 from written w
  )
  insert into private.customer_timeline_totals (customer_id, event_type, n)
  select w.customer_id, w.event_type, 1 from written w
$$;

CREATE FUNCTION private.record_timeline_events(events private.timeline_event[], stamped boolean DEFAULT false, repeatable boolean DEFAULT false) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;

COMMENT ON FUNCTION private.record_timeline_events(events private.timeline_event[], stamped boolean, repeatable boolean) IS 'Writes many events in one insert; idempotent on (source_table, reference_id, event_key), like record_timeline_event. stamped: each key is the event''s key, ''@'' and its occurred_at (private.tl_stamp); repeatable: a key the source row has already recorded (a status reached again at the same instant) gets ''#2'', ''#3'', ...';

CREATE FUNCTION private.tg_customer_timeline_events__fixed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  if (new.customer_id, new.event_type, new.occurred_at) is distinct from (old.customer_id, old.event_type, old.occurred_at) then
    raise exception using errcode = '0A000',
      message = 'customer_timeline_events: customer_id, event_type and occurred_at of an event never change';
  end if;
  return new;
end
$$;

CREATE FUNCTION private.tg_customer_timeline_events__uncount() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  -- erasing the customer cascades here; their counts go with them
  insert into private.customer_timeline_counts (customer_id, day, event_type, n)
  select o.customer_id, (o.occurred_at at time zone 'UTC')::date, o.event_type, -count(*)
    from old_rows o where exists (select 1 from public.users u where u.id = o.customer_id) group by 1, 2, 3;
  insert into private.customer_timeline_totals (customer_id, event_type, n)
  select o.customer_id, o.event_type, -count(*)
    from old_rows o where exists (select 1 from public.users u where u.id = o.customer_id) group by 1, 2;
  return null;
end
$$;

CREATE FUNCTION private.timeline_counts(customer_id uuid, types text[], since timestamp with time zone, until timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
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
$$;

CREATE FUNCTION private.timeline_cursor_decode(cursor text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $_$
declare
  b64 text := translate(timeline_cursor_decode.cursor, '-_', '+/');
  payload jsonb;
begin
  if b64 !~ '^[A-Za-z0-9+/]+$' or char_length(b64) > 4000 then
    return null;
  end if;
  b64 := b64 || repeat('=', (4 - char_length(b64) % 4) % 4);
  payload := convert_from(decode(b64, 'base64'), 'UTF8')::jsonb;
  if jsonb_typeof(payload) <> 'object' or payload ->> 'v' is distinct from '1'
     or jsonb_typeof(payload -> 'o') <> 'string' or jsonb_typeof(payload -> 'i') <> 'string'
     or jsonb_typeof(payload -> 'f') <> 'string' then
    return null;
  end if;
  perform (payload ->> 'o')::timestamptz, (payload ->> 'i')::uuid;
  return payload;
exception
  when others then
    return null;
end
$_$;

CREATE FUNCTION private.timeline_cursor_encode(payload jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select translate(encode(convert_to(timeline_cursor_encode.payload::text, 'UTF8'), 'base64'), E'+/=\n', '-_')
$$;

CREATE FUNCTION private.timeline_event_json(e public.customer_timeline_events) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select jsonb_build_object(
    'id', e.id, 'event_type', e.event_type, 'occurred_at', e.occurred_at,
    'day', to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD'),
    'reference_id', e.reference_id, 'title', e.title,
    'metadata', e.metadata || jsonb_build_object('source', e.source_table)
                || case when e.source_deleted_at is not null
                        then jsonb_build_object('source_deleted_at', e.source_deleted_at) else '{}'::jsonb end)
$$;

CREATE FUNCTION private.timeline_event_types() RETURNS text[]
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select array['booking', 'payment', 'support', 'note', 'campaign', 'logistics', 'promotion',
               'insurance', 'consent', 'risk', 'tag', 'segment']
$$;

CREATE FUNCTION public.customer_timeline(customer_id uuid, event_types text[] DEFAULT NULL::text[], since timestamp with time zone DEFAULT NULL::timestamp with time zone, until timestamp with time zone DEFAULT NULL::timestamp with time zone, page_size integer DEFAULT 50, cursor text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  known text[] := private.timeline_event_types();
  types text[];
  bad text;
  fingerprint text;
  position jsonb;
  counts jsonb;
  filters text := 'e.customer_id = $1';
  rows jsonb;
  has_more boolean;
  last_event jsonb;
begin
  perform private.require_role('admin');

  perform private.require_argument('customer_id', customer_timeline.customer_id);
  if customer_timeline.event_types is not null then
    if cardinality(customer_timeline.event_types) = 0 then
      raise exception using errcode = '22023',
        message = 'event_types: must name at least one event type, or be null for all';
    end if;
    select t into bad from unnest(customer_timeline.event_types) t where t is null or not t = any (known) limit 1;
    if found then
      raise exception using errcode = '22023',
        message = format('event_types: %s is not an event type; use %s', coalesce(quote_literal(bad), 'null'), array_to_string(known, ', '));
    end if;
    select array_agg(distinct t order by t) into types from unnest(customer_timeline.event_types) t;
  end if;
  if not isfinite(coalesce(customer_timeline.since, now())) then
    raise exception using errcode = '22023', message = 'since: must be a finite time';
  end if;
  if not isfinite(coalesce(customer_timeline.until, now())) then
    raise exception using errcode = '22023', message = 'until: must be a finite time';
  end if;
  if customer_timeline.since is not null and customer_timeline.until is not null
     and customer_timeline.since > customer_timeline.until then
    raise exception using errcode = '22023',
      message = format('since: %s is after until (%s)', customer_timeline.since, customer_timeline.until);
  end if;
  if customer_timeline.page_size is null or customer_timeline.page_size not between 1 and 500 then
    raise exception using errcode = '22023',
      message = format('page_size: must be between 1 and 500; got %s', coalesce(customer_timeline.page_size::text, 'null'));
  end if;

  -- a cursor belongs to one listing: the same customer and filters
  fingerprint := md5(concat_ws('|', customer_timeline.customer_id, coalesce(array_to_string(types, ','), '*'),
                               coalesce(private.tl_stamp(customer_timeline.since), '-'),
                               coalesce(private.tl_stamp(customer_timeline.until), '-')));
  if customer_timeline.cursor is not null then
    position := private.timeline_cursor_decode(customer_timeline.cursor);
    if position is null then
      raise exception using errcode = '22023',
        message = 'cursor: is not a cursor of customer_timeline; pass the next_cursor of the previous page, or null';
    end if;
    if position ->> 'f' <> fingerprint then
      raise exception using errcode = '22023',
        message = 'cursor: belongs to another customer or other filters; start again with cursor null';
    end if;
  end if;

  if not exists (select 1 from public.users u where u.id = customer_timeline.customer_id) then
    raise sqlstate 'PT404' using detail = 'no_data_found (P0002)',
      message = format('customer_id: no customer %s', customer_timeline.customer_id);
  end if;

  if types is not null then
    filters := filters || ' and e.event_type = any ($2)';
  end if;
  if customer_timeline.since is not null then
    filters := filters || ' and e.occurred_at >= $3';
  end if;
  if customer_timeline.until is not null then
    filters := filters || ' and e.occurred_at < $4';
  end if;

  counts := private.timeline_counts(customer_timeline.customer_id, types, customer_timeline.since, customer_timeline.until);

  execute format(
    'select coalesce(jsonb_agg(private.timeline_event_json(p) order by p.occurred_at desc, p.id desc), ''[]''::jsonb)
       from (select e.* from public.customer_timeline_events e
              where %s %s
              order by e.occurred_at desc, e.id desc
              limit $7) p',
    filters, case when position is not null then 'and (e.occurred_at, e.id) < ($5, $6)' else '' end)
    into rows
    using customer_timeline.customer_id, types, customer_timeline.since, customer_timeline.until,
          (position ->> 'o')::timestamptz, (position ->> 'i')::uuid, customer_timeline.page_size + 1;

  has_more := jsonb_array_length(rows) > customer_timeline.page_size;
  if has_more then
    rows := rows - customer_timeline.page_size;
    last_event := rows -> (customer_timeline.page_size - 1);
  end if;

  return jsonb_build_object(
    'events', rows,
    'next_cursor', case when has_more then private.timeline_cursor_encode(jsonb_build_object(
      'v', 1, 'o', last_event ->> 'occurred_at', 'i', last_event ->> 'id', 'f', fingerprint)) end,
    'counts', counts);
end
$_$;

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _010_fixed BEFORE UPDATE OF customer_id, event_type, occurred_at ON public.customer_timeline_events FOR EACH ROW EXECUTE FUNCTION private.tg_customer_timeline_events__fixed();

CREATE TRIGGER _200_counts_delete AFTER DELETE ON public.customer_timeline_events REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_customer_timeline_events__uncount();

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

call private.staff_access('private.customer_timeline_counts', read_by => 'admin');
call private.staff_access('private.customer_timeline_totals', read_by => 'admin');
call private.staff_access('public.customer_timeline_events', read_by => 'admin');

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select on table
  private.customer_timeline_counts,
  private.customer_timeline_totals,
  public.customer_timeline_events
to service_role;
grant select, usage on sequence public.customer_timeline_events_seq_seq to authenticated;
grant select, update, usage on sequence public.customer_timeline_events_seq_seq to service_role;
grant execute on function
  private.timeline_counts(uuid,text[],timestamp with time zone,timestamp with time zone),
  private.timeline_cursor_decode(text),
  private.timeline_cursor_encode(jsonb),
  private.timeline_event_json(public.customer_timeline_events),
  private.timeline_event_types(),
  public.customer_timeline(uuid,text[],timestamp with time zone,timestamp with time zone,integer,text)
to authenticated, service_role;

reset search_path;
reset check_function_bodies;
