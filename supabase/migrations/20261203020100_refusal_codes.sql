-- Refusals keep their meaning through PostgREST (issue 10). PostgREST 12 answers SQLSTATE 55000,
-- P0002 and 57014 with HTTP 500; the verified mapping (/work/coordination-errors.md, docs/api.md
-- "Errors") gives each refusal a code PostgREST answers with a 4xx, message unchanged:
--   55000 object_not_in_prerequisite_state -> PT409 (HTTP 409), detail names the old meaning;
--   P0002 "no <thing> <id>"                 -> PT404 (HTTP 404);
--   57014 caught segment statement_timeout  -> 54001 statement_too_complex (HTTP 413).
-- Each function below is its latest definition with only the raise changed.

create or replace function private.tg_customer_consent__stamp()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not private.is_trusted() and not private.is_admin() then
    new.source := 'self_service';
  end if;
  if tg_op = 'UPDATE' and new.enabled and not old.enabled
     and private.consent_source_is_customers_own(old.source) and not private.consent_source_is_customers_own(new.source)
     and coalesce(current_setting('crm.consent_override', true), '') <> 'on' then
    raise sqlstate 'PT409' using detail = 'object_not_in_prerequisite_state (55000)',
      message = format('consent: the customer opted out of %s themselves (%s, %s); re-consent on their behalf only with override_opt_out => true and a note saying why',
                       old.channel, old.source, to_char(old.revoked_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'));
  end if;
  if tg_op = 'INSERT' or new.enabled is distinct from old.enabled then
    if new.enabled then
      new.granted_at := now();
    else
      new.revoked_at := now();
    end if;
  end if;
  new.updated_by := auth.uid();
  new.updated_at := now();
  new.consent_history_id := nextval(pg_get_serial_sequence('public.customer_consent_history', 'id'));
  return new;
end
$$;

create or replace function private.tg_campaigns__status()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.status is distinct from old.status and not (
       (old.status = 'draft' and new.status in ('scheduled', 'sending', 'cancelled'))
    or (old.status = 'scheduled' and new.status in ('sending', 'paused', 'cancelled'))
    or (old.status = 'sending' and new.status in ('paused', 'sent', 'cancelled'))
    or (old.status = 'paused' and new.status in ('sending', 'scheduled', 'cancelled'))) then
    raise sqlstate 'PT409' using detail = 'object_not_in_prerequisite_state (55000)',
      message = format('status: a %s campaign cannot become %s', old.status, new.status);
  end if;
  if new.status = 'sending' and old.status <> 'sending' then
    new.started_at := coalesce(old.started_at, now());
  end if;
  if new.status = 'sent' then new.completed_at := now(); end if;
  if new.status = 'cancelled' then new.cancelled_at := now(); end if;
  new.updated_at := now();
  return new;
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
$$;

create or replace function public.duplicate_segment(segment_id uuid, name text default null)
returns uuid
language plpgsql
volatile
set search_path = ''
as $$
declare
  source public.customer_segments;
  new_name text := nullif(btrim(duplicate_segment.name), '');
  n integer := 1;
  new_id uuid;
begin
  perform private.require_role('admin');
  select * into source from public.customer_segments s where s.id = duplicate_segment.segment_id;
  if not found then
    raise sqlstate 'PT404' using detail = 'no_data_found (P0002)', message = format('segment_id: no segment %s', coalesce(duplicate_segment.segment_id::text, 'null'));
  end if;
  if new_name is null then
    new_name := left(source.name, 110) || ' (copy)';
    while exists (select 1 from public.customer_segments s where lower(s.name) = lower(new_name)) loop
      n := n + 1;
      new_name := format('%s (copy %s)', left(source.name, 105), n);
    end loop;
  elsif exists (select 1 from public.customer_segments s where lower(s.name) = lower(new_name)) then
    raise exception using errcode = '23505', message = format('name: a segment named %s exists already', quote_literal(new_name));
  end if;
  insert into public.customer_segments (name, description, definition, auto_refresh)
  values (new_name, source.description, source.definition, source.auto_refresh)
  returning id into new_id;
  return new_id;
end
$$;

create or replace function private.apply_segment_refresh(segment_id uuid)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  seg public.customer_segments;
  target uuid[];
  entering_ids uuid[];
  leaving_ids uuid[];
  entered integer;
  exited integer;
  total integer;
  refreshed_at timestamptz := clock_timestamp();
begin
  if auth.uid() is not null and not private.has_role('admin') then
    raise exception using errcode = '42501', message = 'permission denied: the admin role is required';
  end if;
  -- One refresh per segment at a time.
  select * into seg from public.customer_segments s where s.id = apply_segment_refresh.segment_id for update;
  if not found then
    raise sqlstate 'PT404' using detail = 'no_data_found (P0002)', message = format('segment_id: no segment %s', apply_segment_refresh.segment_id);
  end if;

  select coalesce(array_agg(m), '{}'::uuid[]) into target from private.segment_member_ids(seg.definition) m;

  -- The difference, computed once each way (hash set operations), then applied by key.
  select coalesce(array_agg(d.customer_id), '{}'::uuid[]) into entering_ids
    from (select unnest(target) as customer_id
          except
          select m.customer_id from public.customer_segment_members m where m.segment_id = seg.id) d;
  select coalesce(array_agg(d.customer_id), '{}'::uuid[]) into leaving_ids
    from (select m.customer_id from public.customer_segment_members m where m.segment_id = seg.id
          except
          select unnest(target)) d;

  insert into public.customer_segment_members (segment_id, customer_id, entered_at)
  select seg.id, e.customer_id, refreshed_at from unnest(entering_ids) e(customer_id);
  delete from public.customer_segment_members m
   where m.segment_id = seg.id and m.customer_id = any (leaving_ids);

  perform private.record_timeline_event(
            x.customer_id, 'segment', 'customer_segment_members', seg.id,
            format('%s:%s@%s', x.change, x.customer_id, to_char(refreshed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
            refreshed_at,
            case x.change when 'entered' then format('Entered segment %s', seg.name) else format('Left segment %s', seg.name) end,
            jsonb_build_object('segment_id', seg.id, 'segment_name', seg.name, 'change', x.change, 'segment_version', seg.version))
     from (select e.customer_id, 'entered' as change from unnest(entering_ids) e(customer_id)
           union all
           select l.customer_id, 'exited' from unnest(leaving_ids) l(customer_id)) x;
  entered := cardinality(entering_ids);
  exited := cardinality(leaving_ids);

  total := cardinality(target);
  -- Stats only: the validate trigger leaves version alone when the definition is unchanged.
  update public.customer_segments s
     set last_count = total, last_refreshed_at = refreshed_at
   where s.id = seg.id;

  return jsonb_build_object('segment_id', seg.id, 'count', total, 'entered', entered, 'exited', exited,
                            'refreshed_at', refreshed_at);
end
$$;

create or replace function public.message_preview_context(customer_id uuid, template_id uuid default null)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  u public.users;
  t public.message_templates;
begin
  perform private.require_role('communications');
  select * into u from public.users where id = message_preview_context.customer_id;
  if not found then
    raise sqlstate 'PT404' using detail = 'no_data_found (P0002)', message = format('customer_id: no customer %s', message_preview_context.customer_id);
  end if;
  if message_preview_context.template_id is not null then
    select * into t from public.message_templates where id = message_preview_context.template_id;
    if not found then
      raise sqlstate 'PT404' using detail = 'no_data_found (P0002)', message = format('template_id: no template %s', message_preview_context.template_id);
    end if;
  end if;
  return jsonb_build_object(
    'vars', jsonb_build_object('first_name', split_part(coalesce(u.full_name, ''), ' ', 1), 'full_name', coalesce(u.full_name, ''),
                               'city', coalesce(u.city, ''), 'region', coalesce(u.region, ''), 'email', coalesce(u.email, '')),
    'template', case when t.id is null then null else jsonb_strip_nulls(jsonb_build_object(
      'id', t.id, 'channel', t.channel, 'version', t.version, 'subject', t.subject, 'text', t.body_text, 'html', t.body_html)) end);
end
$$;

create or replace function private.set_campaign_state(campaign_id uuid, action text)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  c public.campaigns;
  stopped integer := 0;
begin
  perform private.assert_staff('communications');
  select * into c from public.campaigns where id = set_campaign_state.campaign_id for update;
  if not found then
    raise sqlstate 'PT404' using detail = 'no_data_found (P0002)', message = format('campaign_id: no campaign %s', set_campaign_state.campaign_id);
  end if;
  case set_campaign_state.action
    when 'pause' then
      update public.campaigns set status = 'paused' where id = c.id;
    when 'resume' then
      update public.campaigns set status = case when c.scheduled_at > now() then 'scheduled' else 'sending' end where id = c.id;
      perform private.close_finished_campaigns(array[c.id]);
    when 'cancel' then
      update public.campaigns set status = 'cancelled' where id = c.id;
      -- everything that has not left: queued, and leases whose worker is gone
      update public.campaign_recipients r set status = 'cancelled', lease_expires_at = null, leased_by = null, updated_at = now()
       where r.campaign_id = c.id and (r.status = 'queued' or (r.status = 'sending' and r.lease_expires_at < clock_timestamp()));
      get diagnostics stopped = row_count;
  end case;
  return jsonb_build_object('campaign_id', c.id, 'status', (select x.status from public.campaigns x where x.id = c.id),
                            'cancelled_recipients', stopped);
end
$$;

create or replace function public.evaluate_segment(definition jsonb, page_size integer default 50, after uuid default null)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  q private.segment_query;
  total bigint;
  members jsonb;
  next_after uuid;
begin
  perform private.require_role('admin');
  if evaluate_segment.page_size is null or evaluate_segment.page_size not between 1 and 1000 then
    raise exception using errcode = '22023',
      message = format('page_size: must be between 1 and 1000; got %s', coalesce(evaluate_segment.page_size::text, 'null'));
  end if;
  begin
    q := private.compile_segment(evaluate_segment.definition);
    execute format('select count(*) from public.customer_facts f where %s', q.predicate)
       into total using q.texts, q.ints, q.nums, q.times;
    execute format($sql$
      with page as (
        select f.customer_id from public.customer_facts f
         where %s and ($5::uuid is null or f.customer_id > $5)
         order by f.customer_id
         limit $6
      )
      select coalesce(jsonb_agg(m.member order by m.customer_id) filter (where m.n <= $6 - 1), '[]'::jsonb),
             case when count(*) = $6 then (array_agg(m.customer_id) filter (where m.n = $6 - 1))[1] end
        from (select p.customer_id, row_number() over (order by p.customer_id) as n, private.segment_member_json(p.customer_id) as member
                from page p) m
    $sql$, q.predicate)
       into members, next_after
      using q.texts, q.ints, q.nums, q.times, evaluate_segment.after, evaluate_segment.page_size + 1;
  exception when query_canceled then
    raise exception using errcode = '54001', message = private.segment_timeout_message(), detail = 'query_canceled (57014) by statement_timeout';
  end;
  return jsonb_build_object('total', total, 'members', members, 'next_after', next_after);
end
$$;

create or replace function public.explain_segment_membership(definition jsonb, customer_id uuid)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  facts jsonb;
  explained jsonb;
begin
  perform private.require_role('admin');
  perform private.assert_valid_segment(explain_segment_membership.definition);
  select to_jsonb(f) - 'updated_at' into facts from public.customer_facts f where f.customer_id = explain_segment_membership.customer_id;
  if facts is null then
    raise sqlstate 'PT404' using detail = 'no_data_found (P0002)',
      message = format('customer_id: no customer %s', coalesce(explain_segment_membership.customer_id::text, 'null'));
  end if;
  begin
    explained := private.explain_segment_node(explain_segment_membership.definition, '$', explain_segment_membership.customer_id, facts);
  exception when query_canceled then
    raise exception using errcode = '54001', message = private.segment_timeout_message(), detail = 'query_canceled (57014) by statement_timeout';
  end;
  return jsonb_build_object('customer_id', explain_segment_membership.customer_id, 'member', explained -> 'matched',
                            'facts', facts, 'explanation', explained);
end
$$;

create or replace function public.list_customers(definition jsonb default null, page_size integer default 50, after uuid default null)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  q private.segment_query := row('true', '{}'::text[], '{}'::bigint[], '{}'::numeric[], '{}'::timestamptz[]);
  customers jsonb;
  next_after uuid;
begin
  perform private.require_role('admin');
  if list_customers.page_size is null or list_customers.page_size not between 1 and 1000 then
    raise exception using errcode = '22023',
      message = format('page_size: must be between 1 and 1000; got %s', coalesce(list_customers.page_size::text, 'null'));
  end if;
  begin
    if list_customers.definition is not null then
      q := private.compile_segment(list_customers.definition);
    end if;
    execute format($sql$
      with page as (
        select f.customer_id, row_number() over (order by f.customer_id) as n
          from (select f.customer_id from public.customer_facts f
                 where %s and ($5::uuid is null or f.customer_id > $5)
                 order by f.customer_id
                 limit $6) f
      )
      select coalesce((select jsonb_agg(to_jsonb(c) order by c.customer_id)
                         from public.admin_customers c
                        where c.customer_id in (select p.customer_id from page p where p.n < $6)), '[]'::jsonb),
             (select p.customer_id from page p where p.n = $6 - 1 and exists (select 1 from page x where x.n = $6))
    $sql$, q.predicate)
       into customers, next_after
      using q.texts, q.ints, q.nums, q.times, list_customers.after, list_customers.page_size + 1;
  exception when query_canceled then
    raise exception using errcode = '54001', message = private.segment_timeout_message(), detail = 'query_canceled (57014) by statement_timeout';
  end;
  return jsonb_build_object('customers', customers, 'next_after', next_after);
end
$$;

-- create or replace resets each function's SET clauses: apply the segment statement_timeout again
-- (private.tg_segment_settings__apply sets it on the evaluating functions).
update private.segment_settings set value = value where key = 'statement_timeout';
