-- An RPC called without a required argument is refused by one helper, private.require_argument
-- (22023 '<name>: is required'), instead of the same three lines in customer_timeline,
-- override_risk, clear_risk_override and acknowledge_alert. Same SQLSTATE and message.

SET local check_function_bodies = off;

CREATE OR REPLACE FUNCTION private.require_argument (
  name  text,
  value anyelement
)
  RETURNS void
  LANGUAGE plpgsql
  IMMUTABLE
  SET search_path TO ''
  AS $function$
begin
  -- the refusal of an RPC called without a required argument, said the same way everywhere
  if require_argument.value is null then
    raise exception using errcode = '22023', message = format('%s: is required', require_argument.name);
  end if;
end
$function$;

CREATE OR REPLACE FUNCTION public.acknowledge_alert (
  alert_id uuid
)
  RETURNS jsonb
  LANGUAGE plpgsql
  SET search_path TO ''
  AS $function$
declare
  result public.alerts;
begin
  perform private.require_role('admin');
  perform private.require_argument('alert_id', acknowledge_alert.alert_id);
  update public.alerts a
     set acknowledged_at = coalesce(a.acknowledged_at, now()),
         acknowledged_by = coalesce(a.acknowledged_by, auth.uid())
   where a.id = acknowledge_alert.alert_id
  returning * into result;
  if result.id is null then
    raise exception using errcode = '22023', message = format('alert_id: no alert %s', acknowledge_alert.alert_id);
  end if;
  return jsonb_build_object('id', result.id, 'kind', result.kind, 'acknowledged_at', result.acknowledged_at,
                            'acknowledged_by', result.acknowledged_by);
end
$function$;

CREATE OR REPLACE FUNCTION public.clear_risk_override (
  customer_id uuid
)
  RETURNS jsonb
  LANGUAGE plpgsql
  SET search_path TO ''
  AS $function$
declare
  removed public.customer_risk_overrides;
begin
  perform private.require_role('admin');
  perform private.require_argument('customer_id', clear_risk_override.customer_id);
  delete from public.customer_risk_overrides o
   where o.customer_id = clear_risk_override.customer_id and (o.expires_at is null or o.expires_at > now())
  returning * into removed;
  if removed.customer_id is null then
    raise exception using errcode = '22023',
      message = format('customer_id: customer %s has no active risk override', clear_risk_override.customer_id);
  end if;
  return jsonb_build_object(
    'customer_id', removed.customer_id, 'cleared_score', removed.score,
    'score', private.effective_risk_score(removed.customer_id),
    'level', private.risk_level(private.effective_risk_score(removed.customer_id)));
end
$function$;

CREATE OR REPLACE FUNCTION public.customer_timeline (
  customer_id uuid,
  event_types text[]                   DEFAULT NULL::text[],
  since       timestamp with time zone DEFAULT NULL::timestamp WITH time zone,
  until       timestamp with time zone DEFAULT NULL::timestamp WITH time zone,
  page_size   integer                  DEFAULT 50,
  cursor      text                     DEFAULT NULL::text
)
  RETURNS jsonb
  LANGUAGE plpgsql
  STABLE
  SET search_path TO ''
  AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION public.override_risk (
  customer_id uuid,
  score       numeric,
  reason      text,
  expires_at  timestamp with time zone DEFAULT NULL::timestamp WITH time zone
)
  RETURNS jsonb
  LANGUAGE plpgsql
  SET search_path TO ''
  AS $function$
declare
  result public.customer_risk_overrides;
begin
  perform private.require_role('admin');
  perform private.require_argument('customer_id', override_risk.customer_id);
  if override_risk.score is null or override_risk.score < 0 or override_risk.score > 100 then
    raise exception using errcode = '22023',
      message = format('score: must be a number from 0 to 100; got %s', coalesce(override_risk.score::text, 'null'));
  end if;
  if override_risk.reason is null or override_risk.reason !~ '[^[:space:]]' then
    raise exception using errcode = '22023', message = 'reason: is required (say why the computed risk is wrong)';
  end if;
  if char_length(override_risk.reason) > 1000 then
    raise exception using errcode = '22023', message = 'reason: must be at most 1000 characters';
  end if;
  if override_risk.expires_at is not null and override_risk.expires_at <= now() then
    raise exception using errcode = '22023',
      message = format('expires_at: must be in the future; got %s', override_risk.expires_at);
  end if;
  if not exists (select 1 from public.users u where u.id = override_risk.customer_id) then
    raise exception using errcode = '22023', message = format('customer_id: customer %s does not exist', override_risk.customer_id);
  end if;

  -- a new override replaces the old one: the old one's timeline says "cleared", the new one "set"
  insert into public.customer_risk_overrides as o (customer_id, score, reason, expires_at)
  values (override_risk.customer_id, round(override_risk.score, 2), btrim(override_risk.reason), override_risk.expires_at)
  on conflict on constraint customer_risk_overrides_pkey do update
    set id = gen_random_uuid(), score = excluded.score, reason = excluded.reason, expires_at = excluded.expires_at,
        created_by = auth.uid(), created_at = now()
  returning * into result;

  return jsonb_build_object(
    'customer_id', result.customer_id, 'score', result.score, 'reason', result.reason,
    'expires_at', result.expires_at, 'created_by', result.created_by, 'created_at', result.created_at,
    'computed', (select u.risk_score from public.users u where u.id = result.customer_id),
    'level', private.risk_level(result.score));
end
$function$;

REVOKE ALL ON FUNCTION "private"."require_argument"(text, anyelement) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION "private"."require_argument"(text, anyelement) TO "authenticated";

REVOKE ALL ON FUNCTION "private"."require_argument"(text, anyelement) FROM "postgres";

GRANT EXECUTE ON FUNCTION "private"."require_argument"(text, anyelement) TO "postgres";

GRANT EXECUTE ON FUNCTION "private"."require_argument"(text, anyelement) TO "service_role";
