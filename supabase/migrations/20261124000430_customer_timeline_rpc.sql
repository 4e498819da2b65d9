-- customer_timeline (CONTRACT §7): one page of a customer's timeline, newest first, with an
-- opaque keyset cursor on (occurred_at desc, id desc) so that pages stay stable while events
-- arrive, and per-type counts for the current filters (from the rollup). Admin only.

-- One event as the API shows it. metadata gains 'source' (the source table, which tells a
-- payment from a manual payment) and, when the source row was deleted, 'source_deleted_at'.
create or replace function private.timeline_event_json(e public.customer_timeline_events)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', e.id, 'event_type', e.event_type, 'occurred_at', e.occurred_at,
    'day', to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD'),
    'reference_id', e.reference_id, 'title', e.title,
    'metadata', e.metadata || jsonb_build_object('source', e.source_table)
                || case when e.source_deleted_at is not null
                        then jsonb_build_object('source_deleted_at', e.source_deleted_at) else '{}'::jsonb end)
$$;

create or replace function private.timeline_cursor_encode(payload jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select translate(encode(convert_to(timeline_cursor_encode.payload::text, 'UTF8'), 'base64'), E'+/=\n', '-_')
$$;

-- The cursor's payload, or null when it is not one of ours.
create or replace function private.timeline_cursor_decode(cursor text)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
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
$$;

create or replace function public.customer_timeline(
  customer_id uuid,
  event_types text[] default null,
  since timestamptz default null,
  until timestamptz default null,
  page_size integer default 50,
  cursor text default null
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
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

  if customer_timeline.customer_id is null then
    raise exception using errcode = '22023', message = 'customer_id: is required';
  end if;
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
    raise exception using errcode = 'P0002',
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
$$;

grant execute on function private.timeline_event_types(), private.timeline_event_json(public.customer_timeline_events),
  private.timeline_cursor_encode(jsonb), private.timeline_cursor_decode(text), private.tl_stamp(timestamptz)
  to authenticated, service_role;
grant execute on function public.customer_timeline(uuid, text[], timestamptz, timestamptz, integer, text)
  to authenticated, service_role;

-- The schema-level "alter default privileges ... revoke execute ... from public" of the platform
-- migration cannot take back the global default, so functions are executable by PUBLIC unless
-- revoked one by one. The timeline's writer and helpers are revoked here; the grants above and
-- in the backfill migration are what remains.
do $$
declare f regprocedure;
begin
  for f in
    select p.oid::regprocedure from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'private'
       and (p.proname like 'tl\_%' or p.proname like 'timeline\_%' or p.proname like 'tg\_%\_\_timeline'
            or p.proname in ('record_timeline_event', 'mark_timeline_source_deleted', 'backfill_customer_timeline'))
  loop
    execute format('revoke execute on function %s from public', f);
  end loop;
end $$;
revoke execute on function public.customer_timeline(uuid, text[], timestamptz, timestamptz, integer, text) from public, anon;
