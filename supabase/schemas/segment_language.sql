-- Segment language
--
-- The JSON segment language: validation with precise errors, the compiler to SQL over
-- customer_facts, evaluation, explanation, and its settings.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Types
-- ------------------------------------------------------------------------------------------------

CREATE TYPE private.segment_query AS (
	predicate text,
	texts text[],
	ints bigint[],
	nums numeric[],
	times timestamp with time zone[]
);

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE private.segment_settings (
    key text NOT NULL,
    value text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT segment_settings_key_is_known CHECK ((key = 'statement_timeout'::text)),
    CONSTRAINT segment_settings_pkey PRIMARY KEY (key)
);

COMMENT ON TABLE private.segment_settings IS 'Segment engine settings. statement_timeout (default 10s) bounds evaluate_segment, explain_segment_membership and list_customers.';

insert into private.segment_settings (key, value) values
  ('statement_timeout', '10s')
on conflict do nothing;

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.assert_valid_segment(definition jsonb, context text DEFAULT NULL::text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
declare
  errors jsonb := private.segment_errors(assert_valid_segment.definition);
begin
  if jsonb_array_length(errors) > 0 then
    raise exception using errcode = '22023',
      message = format('%s%s: %s', coalesce(assert_valid_segment.context || ' ', ''), errors -> 0 ->> 'path', errors -> 0 ->> 'message'),
      detail = errors::text,
      hint = format('segment definition error %s', errors -> 0 ->> 'code');
  end if;
end
$$;

CREATE FUNCTION private.check_segment_page_size(page_size integer) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
begin
  if check_segment_page_size.page_size is null or check_segment_page_size.page_size not between 1 and 1000 then
    raise exception using errcode = '22023',
      message = format('page_size: must be between 1 and 1000; got %s', coalesce(check_segment_page_size.page_size::text, 'null'));
  end if;
end
$$;

CREATE FUNCTION private.compile_segment(definition jsonb) RETURNS private.segment_query
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  q private.segment_query := row(null, '{}'::text[], '{}'::bigint[], '{}'::numeric[], '{}'::timestamptz[]);
begin
  perform private.assert_valid_segment(compile_segment.definition);
  return private.compile_segment_group(compile_segment.definition, q);
end
$$;

CREATE FUNCTION private.compile_segment_group(node jsonb, q private.segment_query) RETURNS private.segment_query
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  child jsonb;
  parts text[] := '{}'::text[];
  sql text;
begin
  for child in select e.x from jsonb_array_elements(compile_segment_group.node -> 'rules') with ordinality e(x, ord) order by e.ord loop
    if child ? 'rules' or child ? 'combinator' then
      q := private.compile_segment_group(child, q);
    else
      q := private.compile_segment_rule(child, q);
    end if;
    parts := parts || q.predicate;
  end loop;
  sql := '(' || array_to_string(parts, case when compile_segment_group.node ->> 'combinator' = 'or' then ' or ' else ' and ' end) || ')';
  if (compile_segment_group.node -> 'not') = 'true'::jsonb then
    sql := format('(not coalesce(%s, false))', sql);
  end if;
  q.predicate := sql;
  return q;
end
$$;

CREATE FUNCTION private.compile_segment_rule(rule jsonb, q private.segment_query) RETURNS private.segment_query
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  field text := compile_segment_rule.rule ->> 'field';
  op text := compile_segment_rule.rule ->> 'operator';
  v jsonb := compile_segment_rule.rule -> 'value';
  kind text := private.segment_field_kind(compile_segment_rule.rule ->> 'field');
  col text;
  arr text;      -- which bound array: $1 texts, $2 ints, $3 nums
  a integer;     -- first position used by this rule
  b integer;     -- last position used by this rule
  positive text; -- the matching condition when the value is not null
  sql text;
begin
  if kind is null then
    raise exception using errcode = '22023', message = 'unvalidated segment rule';
  end if;
  col := format('f.%I', field);

  if op = 'null' then q.predicate := format('(%s is null)', col); return q; end if;
  if op = 'notNull' then q.predicate := format('(%s is not null)', col); return q; end if;
  if op = 'isEmpty' then q.predicate := format('(cardinality(%s) = 0)', col); return q; end if;
  if op = 'isNotEmpty' then q.predicate := format('(cardinality(%s) > 0)', col); return q; end if;

  if kind = 'boolean' then
    q.texts := q.texts || (v #>> '{}');
    q.predicate := format('(%s = ($1)[%s]::boolean)', col, cardinality(q.texts));
    return q;
  end if;

  if kind = 'array' then
    a := cardinality(q.texts) + 1;
    q.texts := q.texts || array(select case when field = 'tag' then (e.x::uuid)::text else lower(e.x) end
                                  from jsonb_array_elements_text(v) with ordinality e(x, ord) order by e.ord);
    b := cardinality(q.texts);
    sql := format(case op when 'containsAny' then '(%1$s && ($1)[%2$s:%3$s])'
                          when 'containsAll' then '(%1$s @> ($1)[%2$s:%3$s])'
                          else '(not (%1$s && ($1)[%2$s:%3$s]))' end, col, a, b);
    q.predicate := sql;
    return q;
  end if;

  if kind = 'text' then
    if op in ('in', 'notIn') then
      a := cardinality(q.texts) + 1;
      q.texts := q.texts || array(select lower(e.x) from jsonb_array_elements_text(v) with ordinality e(x, ord) order by e.ord);
      positive := format('lower(%s) = any (($1)[%s:%s])', col, a, cardinality(q.texts));
    else
      q.texts := q.texts || case op
        when '=' then lower(v #>> '{}') when '!=' then lower(v #>> '{}')
        when 'beginsWith' then private.segment_like_literal(v #>> '{}') || '%'
        when 'endsWith' then '%' || private.segment_like_literal(v #>> '{}')
        else '%' || private.segment_like_literal(v #>> '{}') || '%' end;
      positive := format(case when op in ('=', '!=') then 'lower(%s) = ($1)[%s]' else 'lower(%s) like ($1)[%s]' end,
                         col, cardinality(q.texts));
    end if;
  elsif kind in ('integer', 'number') then
    arr := case kind when 'integer' then '$2' else '$3' end;
    a := case kind when 'integer' then cardinality(q.ints) else cardinality(q.nums) end + 1;
    if kind = 'integer' then
      q.ints := q.ints || case when jsonb_typeof(v) = 'array'
                               then array(select e.x::numeric::bigint from jsonb_array_elements_text(v) with ordinality e(x, ord) order by e.ord)
                               else array[(v #>> '{}')::numeric::bigint] end;
      b := cardinality(q.ints);
    else
      q.nums := q.nums || case when jsonb_typeof(v) = 'array'
                               then array(select e.x::numeric from jsonb_array_elements_text(v) with ordinality e(x, ord) order by e.ord)
                               else array[(v #>> '{}')::numeric] end;
      b := cardinality(q.nums);
    end if;
    positive := case op
      when '=' then format('%s = (%s)[%s]', col, arr, a)
      when '!=' then format('%s = (%s)[%s]', col, arr, a)
      when '<' then format('%s < (%s)[%s]', col, arr, a)
      when '<=' then format('%s <= (%s)[%s]', col, arr, a)
      when '>' then format('%s > (%s)[%s]', col, arr, a)
      when '>=' then format('%s >= (%s)[%s]', col, arr, a)
      when 'between' then format('%1$s between (%2$s)[%3$s] and (%2$s)[%4$s]', col, arr, a, a + 1)
      when 'notBetween' then format('%1$s between (%2$s)[%3$s] and (%2$s)[%4$s]', col, arr, a, a + 1)
      else format('%s = any ((%s)[%s:%s])', col, arr, a, b) end;
  elsif kind = 'date' then
    a := cardinality(q.times) + 1;
    q.times := q.times || case op
      when '<' then array[private.segment_day_start((v #>> '{}')::date)]
      when '<=' then array[private.segment_day_start((v #>> '{}')::date + 1)]
      when '>' then array[private.segment_day_start((v #>> '{}')::date + 1)]
      when '>=' then array[private.segment_day_start((v #>> '{}')::date)]
      when 'between' then array[private.segment_day_start((v ->> 0)::date), private.segment_day_start((v ->> 1)::date + 1)]
      when 'notBetween' then array[private.segment_day_start((v ->> 0)::date), private.segment_day_start((v ->> 1)::date + 1)]
      else array[now() - make_interval(days => (v #>> '{}')::integer)] end;
    positive := case
      when op in ('<', '<=') then format('%s < ($4)[%s]', col, a)
      when op in ('>', '>=', 'withinLastDays', 'notWithinLastDays') then format('%s >= ($4)[%s]', col, a)
      else format('(%1$s >= ($4)[%2$s] and %1$s < ($4)[%3$s])', col, a, a + 1) end;
  end if;

  -- Negative operators are everyone outside the positive set, customers without a value included.
  if op in ('!=', 'notIn', 'doesNotContain', 'notBetween', 'notWithinLastDays') then
    sql := format('(%s is null or not (%s))', col, positive);
  else
    sql := format('(%s)', positive);
  end if;
  q.predicate := sql;
  return q;
end
$_$;

CREATE FUNCTION private.explain_segment_node(node jsonb, path text, customer_id uuid, facts jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  q private.segment_query;
  matched boolean;
  children jsonb := '[]'::jsonb;
  child jsonb;
  explained jsonb;
  i integer := 0;
  is_or boolean := (explain_segment_node.node ->> 'combinator') = 'or';
begin
  if not (explain_segment_node.node ? 'rules' or explain_segment_node.node ? 'combinator') then
    q := private.compile_segment_rule(explain_segment_node.node, row(null, '{}'::text[], '{}'::bigint[], '{}'::numeric[], '{}'::timestamptz[]));
    execute format('select coalesce(%s, false) from public.customer_facts f where f.customer_id = $5', q.predicate)
       into matched using q.texts, q.ints, q.nums, q.times, explain_segment_node.customer_id;
    return jsonb_build_object('path', explain_segment_node.path, 'field', explain_segment_node.node -> 'field',
      'operator', explain_segment_node.node -> 'operator', 'value', explain_segment_node.node -> 'value',
      'customer_value', explain_segment_node.facts -> (explain_segment_node.node ->> 'field'),
      'matched', coalesce(matched, false));
  end if;
  matched := not is_or;
  for child in select e.x from jsonb_array_elements(explain_segment_node.node -> 'rules') with ordinality e(x, ord) order by e.ord loop
    explained := private.explain_segment_node(child, format('%s.rules[%s]', explain_segment_node.path, i),
                                              explain_segment_node.customer_id, explain_segment_node.facts);
    children := children || jsonb_build_array(explained);
    matched := case when is_or then matched or (explained ->> 'matched')::boolean
                    else matched and (explained ->> 'matched')::boolean end;
    i := i + 1;
  end loop;
  if (explain_segment_node.node -> 'not') = 'true'::jsonb then
    matched := not matched;
  end if;
  return jsonb_build_object('path', explain_segment_node.path, 'combinator', explain_segment_node.node -> 'combinator',
    'not', coalesce(explain_segment_node.node -> 'not', 'false'::jsonb), 'matched', matched, 'rules', children);
end
$_$;

CREATE FUNCTION private.segment_check_group(node jsonb, path text, depth integer, INOUT rule_count integer, INOUT errors jsonb) RETURNS record
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
declare
  g jsonb := segment_check_group.node;
  p text := segment_check_group.path;
  child jsonb;
  child_path text;
begin
  if jsonb_typeof(g) is distinct from 'object' then
    errors := errors || private.segment_error(p, 'not_an_object', format('a group must be an object; got %s', private.segment_show(g)));
    return;
  end if;
  if segment_check_group.depth > 5 then
    errors := errors || private.segment_error(p, 'too_deep', 'groups nest at most 5 deep');
    return;
  end if;
  -- set-based and capped: one more than the cap, so the caller knows there were more
  errors := errors || coalesce((
    select jsonb_agg(private.segment_error(private.segment_path_key(p, x.k), 'unknown_key',
             format('a group has only the keys %scombinator, not, rules and id; %s is not one',
                    case when segment_check_group.depth = 1 then 'version, ' else '' end, to_jsonb(left(x.k, 64))::text)) order by x.ord)
      from (select o.k, o.ord from jsonb_object_keys(g) with ordinality o(k, ord)
             where o.k not in ('combinator', 'not', 'rules', 'id') and not (o.k = 'version' and segment_check_group.depth = 1)
             order by o.ord limit greatest(private.segment_max_errors() + 1 - jsonb_array_length(errors), 0)) x), '[]'::jsonb);
  if jsonb_array_length(errors) > private.segment_max_errors() then
    return;
  end if;
  if segment_check_group.depth = 1 and (g -> 'version') is distinct from '1'::jsonb then
    errors := errors || private.segment_error(p || '.version', 'bad_version',
      format('version must be 1; got %s', coalesce(private.segment_show(g -> 'version'), 'none')));
  end if;
  if (g -> 'combinator') is null or (g -> 'combinator') not in ('"and"'::jsonb, '"or"'::jsonb) then
    errors := errors || private.segment_error(p || '.combinator', 'bad_combinator',
      format('combinator must be "and" or "or"; got %s', coalesce(private.segment_show(g -> 'combinator'), 'none')));
  end if;
  if g ? 'not' and jsonb_typeof(g -> 'not') <> 'boolean' then
    errors := errors || private.segment_error(p || '.not', 'bad_not', format('not must be true or false; got %s', private.segment_show(g -> 'not')));
  end if;
  if jsonb_typeof(g -> 'rules') is distinct from 'array' then
    errors := errors || private.segment_error(p || '.rules', 'bad_rules', 'rules must be a list of rules and groups');
    return;
  end if;
  if jsonb_array_length(g -> 'rules') = 0 then
    errors := errors || private.segment_error(p || '.rules', 'empty_group', 'a group needs at least one rule');
    return;
  end if;
  for i in 0 .. jsonb_array_length(g -> 'rules') - 1 loop
    child := g -> 'rules' -> i;
    child_path := format('%s.rules[%s]', p, i);
    if jsonb_typeof(child) = 'object' and (child ? 'rules' or child ? 'combinator') then
      select c.rule_count, c.errors into rule_count, errors
        from private.segment_check_group(child, child_path, segment_check_group.depth + 1, rule_count, errors) c;
    elsif jsonb_typeof(child) <> 'object' then
      errors := errors || private.segment_error(child_path, 'not_an_object', format('a rule must be an object; got %s', private.segment_show(child)));
    else
      rule_count := rule_count + 1;
      if rule_count > 100 then
        errors := errors || private.segment_error(child_path, 'too_many_rules', 'a definition has at most 100 rules');
        return;
      end if;
      errors := errors || private.segment_check_rule(child, child_path);
    end if;
    if rule_count > 100 or jsonb_array_length(errors) > private.segment_max_errors() then
      return;
    end if;
  end loop;
end
$$;

CREATE FUNCTION private.segment_check_list(kind text, value jsonb, path text, is_tag boolean DEFAULT false) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $_$
declare
  v jsonb := segment_check_list.value;
  bad record;
  err jsonb;
begin
  if jsonb_typeof(v) <> 'array' then
    return private.segment_error(segment_check_list.path, 'bad_value', format('%s must be a list', private.segment_show(v)));
  end if;
  if jsonb_array_length(v) > 500 then
    return private.segment_error(segment_check_list.path, 'list_too_long',
      format('a list may have at most 500 values; this one has %s', jsonb_array_length(v)));
  end if;
  if segment_check_list.kind = 'text' then
    -- Set-based: find the first element that is not a short string (or not a tag id).
    for bad in
      select e.x, e.ord - 1 as i from jsonb_array_elements(v) with ordinality e(x, ord)
       where jsonb_typeof(e.x) <> 'string' or length(e.x #>> '{}') > 200
          or (segment_check_list.is_tag and (e.x #>> '{}') !~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$')
       order by e.ord limit 1
    loop
      if jsonb_typeof(bad.x) = 'string' and length(bad.x #>> '{}') > 200 then
        return private.segment_error(format('%s[%s]', segment_check_list.path, bad.i), 'value_too_long',
          format('a string may have at most 200 characters; this one has %s', length(bad.x #>> '{}')));
      end if;
      return private.segment_error(format('%s[%s]', segment_check_list.path, bad.i), 'bad_value',
        case when segment_check_list.is_tag then format('%s must be a tag id (uuid)', private.segment_show(bad.x))
             else format('%s must be a string', private.segment_show(bad.x)) end);
    end loop;
  else
    for i in 0 .. jsonb_array_length(v) - 1 loop
      err := private.segment_check_scalar(segment_check_list.kind, v -> i, format('%s[%s]', segment_check_list.path, i));
      if err is not null then
        return err;
      end if;
    end loop;
  end if;
  return null;
end
$_$;

CREATE FUNCTION private.segment_check_rule(rule jsonb, path text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
declare
  r jsonb := segment_check_rule.rule;
  p text := segment_check_rule.path;
  errors jsonb := '[]'::jsonb;
  field text;
  kind text;
  op text;
  v jsonb;
  err jsonb;
begin
  -- set-based and capped: one more than the cap, so the caller knows there were more
  select coalesce(jsonb_agg(private.segment_error(private.segment_path_key(p, x.k), 'unknown_key',
           format('a rule has only the keys field, operator, value and id; %s is not one', to_jsonb(left(x.k, 64))::text)) order by x.ord), '[]'::jsonb)
    into errors
    from (select o.k, o.ord from jsonb_object_keys(r) with ordinality o(k, ord)
           where o.k not in ('field', 'operator', 'value', 'id')
           order by o.ord limit private.segment_max_errors() + 1) x;

  if not r ? 'field' then
    return errors || private.segment_error(p || '.field', 'unknown_field', 'field is required; use one of ' || array_to_string(private.segment_fields(), ', '));
  end if;
  if jsonb_typeof(r -> 'field') <> 'string' or private.segment_field_kind(r ->> 'field') is null then
    return errors || private.segment_error(p || '.field', 'unknown_field',
      format('%s is not a field; use one of %s', private.segment_show(r -> 'field'), array_to_string(private.segment_fields(), ', ')));
  end if;
  field := r ->> 'field';
  kind := private.segment_field_kind(field);

  if jsonb_typeof(r -> 'operator') is distinct from 'string' or not ((r ->> 'operator') = any (private.segment_operators(kind))) then
    return errors || private.segment_error(p || '.operator', 'bad_operator',
      format('%s is not an operator of field %s; use one of %s',
             case when r ? 'operator' then private.segment_show(r -> 'operator') else 'a missing operator' end,
             field, array_to_string(private.segment_operators(kind), ' ')));
  end if;
  op := r ->> 'operator';
  v := r -> 'value';
  p := p || '.value';

  if op in ('null', 'notNull', 'isEmpty', 'isNotEmpty') then
    if v is not null and v <> 'null'::jsonb and v <> '""'::jsonb then
      err := private.segment_error(p, 'bad_value', format('operator %s takes no value; omit it or send null or ""', op));
    end if;
  elsif v is null then
    err := private.segment_error(p, 'missing_value', format('operator %s of field %s needs a value', op, field));
  elsif op in ('between', 'notBetween') then
    if jsonb_typeof(v) <> 'array' or jsonb_array_length(v) <> 2 then
      err := private.segment_error(p, 'bad_value', format('%s takes a list [lo, hi]; got %s', op, private.segment_show(v)));
    else
      err := coalesce(private.segment_check_scalar(kind, v -> 0, p || '[0]'), private.segment_check_scalar(kind, v -> 1, p || '[1]'));
      if err is null and (case kind when 'date' then (v ->> 0)::date > (v ->> 1)::date
                                    else (v ->> 0)::numeric > (v ->> 1)::numeric end) then
        err := private.segment_error(p, 'bad_range', format('between needs lo <= hi; got %s', private.segment_show(v)));
      end if;
    end if;
  elsif op in ('in', 'notIn') then
    err := private.segment_check_list(kind, v, p);
  elsif kind = 'array' then
    err := private.segment_check_list('text', v, p, field = 'tag');
  elsif op in ('withinLastDays', 'notWithinLastDays') then
    err := private.segment_check_scalar(kind, v, p, true);
  else
    err := private.segment_check_scalar(kind, v, p);
  end if;
  if err is not null then
    errors := errors || err;
  end if;
  return errors;
end
$$;

CREATE FUNCTION private.segment_check_scalar(kind text, value jsonb, path text, for_days boolean DEFAULT false) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $_$
declare
  v jsonb := segment_check_scalar.value;
  p text := segment_check_scalar.path;
  n numeric;
  s text;
begin
  if segment_check_scalar.for_days then
    if jsonb_typeof(v) <> 'number' or (v #>> '{}')::numeric <> trunc((v #>> '{}')::numeric)
       or (v #>> '{}')::numeric not between 0 and 36500 then
      return private.segment_error(p, 'bad_value', format('%s must be a whole number of days from 0 to 36500', private.segment_show(v)));
    end if;
    return null;
  end if;
  case segment_check_scalar.kind
  when 'text' then
    if jsonb_typeof(v) <> 'string' then
      return private.segment_error(p, 'bad_value', format('%s must be a string', private.segment_show(v)));
    end if;
    if length(v #>> '{}') > 200 then
      return private.segment_error(p, 'value_too_long', format('a string may have at most 200 characters; this one has %s', length(v #>> '{}')));
    end if;
  when 'integer' then
    if jsonb_typeof(v) <> 'number' then
      return private.segment_error(p, 'bad_value', format('%s must be an integer', private.segment_show(v)));
    end if;
    n := (v #>> '{}')::numeric;
    if n <> trunc(n) or n not between -2147483648 and 2147483647 then
      return private.segment_error(p, 'bad_value', format('%s must be an integer between -2147483648 and 2147483647', private.segment_show(v)));
    end if;
  when 'number' then
    if jsonb_typeof(v) <> 'number' then
      return private.segment_error(p, 'bad_value', format('%s must be a number', private.segment_show(v)));
    end if;
    if abs((v #>> '{}')::numeric) >= 1e15 then
      return private.segment_error(p, 'bad_value', format('%s must be below 1e15 in magnitude', private.segment_show(v)));
    end if;
  when 'date' then
    s := v #>> '{}';
    if jsonb_typeof(v) <> 'string' or s !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' then
      return private.segment_error(p, 'bad_value', format('%s must be a date written YYYY-MM-DD', private.segment_show(v)));
    end if;
    begin
      perform make_date(substr(s, 1, 4)::integer, substr(s, 6, 2)::integer, substr(s, 9, 2)::integer);
    exception when others then
      return private.segment_error(p, 'bad_value', format('%s is not a calendar date', private.segment_show(v)));
    end;
  when 'boolean' then
    if jsonb_typeof(v) <> 'boolean' then
      return private.segment_error(p, 'bad_value', format('%s must be true or false', private.segment_show(v)));
    end if;
  end case;
  return null;
end
$_$;

CREATE FUNCTION private.segment_day_start(day date) RETURNS timestamp with time zone
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select segment_day_start.day::timestamp at time zone 'UTC'
$$;

CREATE FUNCTION private.segment_error(path text, code text, message text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select jsonb_build_object('path', segment_error.path, 'code', segment_error.code, 'message', segment_error.message)
$$;

CREATE FUNCTION private.segment_errors(definition jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $_$
declare
  errors jsonb := (private.segment_check_group(segment_errors.definition, '$', 1, 0, '[]'::jsonb)).errors;
  cap integer := private.segment_max_errors();
begin
  if jsonb_array_length(errors) <= cap then
    return errors;
  end if;
  return (select jsonb_agg(e.x order by e.ord) from jsonb_array_elements(errors) with ordinality e(x, ord) where e.ord <= cap)
         || private.segment_error('$', 'too_many_errors',
              format('validation stopped after %s errors; fix these and validate again', cap));
end
$_$;

CREATE FUNCTION private.segment_field_kind(field text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select case segment_field_kind.field
    when 'city' then 'text' when 'region' then 'text' when 'country_code' then 'text'
    when 'booking_count' then 'integer' when 'engaged_campaigns_90d' then 'integer'
    when 'total_spend' then 'number' when 'lifetime_value' then 'number' when 'risk_score' then 'number'
    when 'last_booking_at' then 'date' when 'last_engaged_at' then 'date' when 'created_at' then 'date'
    when 'equipment_category' then 'array' when 'tag' then 'array'
    when 'consent_email' then 'boolean' when 'consent_sms' then 'boolean' when 'consent_push' then 'boolean'
  end
$$;

CREATE FUNCTION private.segment_fields() RETURNS text[]
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select array['city', 'region', 'country_code', 'booking_count', 'engaged_campaigns_90d', 'total_spend',
               'lifetime_value', 'risk_score', 'last_booking_at', 'last_engaged_at', 'created_at',
               'equipment_category', 'tag', 'consent_email', 'consent_sms', 'consent_push']
$$;

CREATE FUNCTION private.segment_like_literal(value text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select replace(replace(replace(lower(segment_like_literal.value), '\', '\\'), '%', '\%'), '_', '\_')
$$;

CREATE FUNCTION private.segment_max_errors() RETURNS integer
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select 50
$$;

CREATE FUNCTION private.segment_page(q private.segment_query, page_size integer, after uuid, OUT customer_ids uuid[], OUT next_after uuid) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
begin
  -- by customer_id after `after`; one row more than the page tells whether a next page exists
  execute format($sql$
    select coalesce(array_agg(p.customer_id order by p.customer_id) filter (where p.n < $6), '{}'::uuid[]),
           case when count(*) = $6 then (array_agg(p.customer_id) filter (where p.n = $6 - 1))[1] end
      from (select f.customer_id, row_number() over (order by f.customer_id) as n
              from public.customer_facts f
             where %s and ($5::uuid is null or f.customer_id > $5)
             order by f.customer_id
             limit $6) p
  $sql$, segment_page.q.predicate)
     into customer_ids, next_after
    using segment_page.q.texts, segment_page.q.ints, segment_page.q.nums, segment_page.q.times, segment_page.after, segment_page.page_size + 1;
end
$_$;

CREATE FUNCTION private.segment_member_ids(definition jsonb) RETURNS SETOF uuid
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  q private.segment_query := private.compile_segment(segment_member_ids.definition);
begin
  return query execute format('select f.customer_id from public.customer_facts f where %s', q.predicate)
    using q.texts, q.ints, q.nums, q.times;
end
$$;

CREATE FUNCTION private.segment_member_json(customer_id uuid) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select jsonb_build_object(
    'customer_id', f.customer_id, 'full_name', u.full_name, 'email', u.email, 'city', f.city, 'region', f.region,
    'booking_count', f.booking_count, 'total_spend', f.total_spend, 'last_booking_at', f.last_booking_at,
    'risk_score', f.risk_score, 'lifetime_value', f.lifetime_value,
    'tags', coalesce((select jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'color', t.color) order by t.name)
                        from public.customer_tags t where t.id = any (f.tag::uuid[])), '[]'::jsonb))
    from public.customer_facts f
    join public.users u on u.id = f.customer_id
   where f.customer_id = segment_member_json.customer_id
$$;

CREATE FUNCTION private.segment_operators(kind text) RETURNS text[]
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select case segment_operators.kind
    when 'text' then array['=', '!=', 'in', 'notIn', 'contains', 'doesNotContain', 'beginsWith', 'endsWith', 'null', 'notNull']
    when 'integer' then array['=', '!=', '<', '<=', '>', '>=', 'between', 'notBetween', 'in', 'notIn', 'null', 'notNull']
    when 'number' then array['=', '!=', '<', '<=', '>', '>=', 'between', 'notBetween', 'null', 'notNull']
    when 'date' then array['<', '<=', '>', '>=', 'between', 'notBetween', 'withinLastDays', 'notWithinLastDays', 'null', 'notNull']
    when 'array' then array['containsAny', 'containsAll', 'containsNone', 'isEmpty', 'isNotEmpty']
    when 'boolean' then array['=']
  end
$$;

CREATE FUNCTION private.segment_path_key(path text, key text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $_$
  select segment_path_key.path || case
    when segment_path_key.key ~ '^[A-Za-z_][A-Za-z0-9_]{0,63}$' then '.' || segment_path_key.key
    else '[' || to_jsonb(left(segment_path_key.key, 64))::text || ']' end
$_$;

CREATE FUNCTION private.segment_show(value jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select case when length(segment_show.value::text) > 60 then left(segment_show.value::text, 57) || '...'
              else coalesce(segment_show.value::text, 'null') end
$$;

CREATE FUNCTION private.segment_timeout_message() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select format('segment evaluation was cancelled by statement_timeout: narrow the definition, or raise private.segment_settings.statement_timeout (now %s)',
                coalesce((select s.value from private.segment_settings s where s.key = 'statement_timeout'), '10s'))
$$;

CREATE FUNCTION private.tg_segment_settings__apply() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  fn text;
  outer_timeout text := current_setting('statement_timeout');
begin
  if new.key = 'statement_timeout' then
    -- Let Postgres parse and normalise the duration, then put the caller's own timeout back.
    begin
      perform set_config('statement_timeout', new.value, true);
    exception when others then
      raise exception using errcode = '22023',
        message = format('segment_settings.statement_timeout: %s is not a duration (e.g. 10s, 500ms)', quote_literal(new.value));
    end;
    new.value := current_setting('statement_timeout');
    perform set_config('statement_timeout', outer_timeout, true);
    foreach fn in array array['public.evaluate_segment(jsonb, integer, uuid)', 'public.explain_segment_membership(jsonb, uuid)',
                              'public.list_customers(jsonb, integer, uuid)', 'public.validate_segment(jsonb)'] loop
      execute format('alter function %s set statement_timeout = %L', fn, new.value);
    end loop;
  end if;
  new.updated_at := now();
  return new;
end
$$;

CREATE FUNCTION public.evaluate_segment(definition jsonb, page_size integer DEFAULT 50, after uuid DEFAULT NULL::uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET statement_timeout TO '10s'
    AS $_$
declare
  q private.segment_query;
  total bigint;
  page record;
  members jsonb;
begin
  perform private.require_role('admin');
  perform private.check_segment_page_size(evaluate_segment.page_size);
  begin
    q := private.compile_segment(evaluate_segment.definition);
    execute format('select count(*) from public.customer_facts f where %s', q.predicate)
       into total using q.texts, q.ints, q.nums, q.times;
    page := private.segment_page(q, evaluate_segment.page_size, evaluate_segment.after);
    select coalesce(jsonb_agg(private.segment_member_json(m.customer_id) order by m.customer_id), '[]'::jsonb) into members
      from unnest(page.customer_ids) m(customer_id);
  exception when query_canceled then
    raise exception using errcode = '54001', message = private.segment_timeout_message(), detail = 'query_canceled (57014) by statement_timeout';
  end;
  return jsonb_build_object('total', total, 'members', members, 'next_after', page.next_after);
end
$_$;

COMMENT ON FUNCTION public.evaluate_segment(definition jsonb, page_size integer, after uuid) IS 'Admin only. {"total","members":[...],"next_after"} for a v1 definition, members by customer_id after `after`; 22023 names the path of an invalid definition.';

CREATE FUNCTION public.explain_segment_membership(definition jsonb, customer_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET statement_timeout TO '10s'
    AS $_$
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
$_$;

COMMENT ON FUNCTION public.explain_segment_membership(definition jsonb, customer_id uuid) IS 'Admin only. Why a customer is or is not in a segment: every rule with the customer''s value and whether it matched.';

CREATE FUNCTION public.segment_whitelist() RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'field', f.field,
           'kind', private.segment_field_kind(f.field),
           'operators', to_jsonb(private.segment_operators(private.segment_field_kind(f.field))))
         order by f.n), '[]'::jsonb)
    from unnest(private.segment_fields()) with ordinality as f(field, n)
$$;

COMMENT ON FUNCTION public.segment_whitelist() IS 'The v1 segment whitelist: [{"field","kind","operators":[...]}] in the validator''s order (kinds: text, integer, number, date, array, boolean).';

CREATE FUNCTION public.validate_segment(definition jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET statement_timeout TO '10s'
    AS $$
begin
  perform private.require_role('admin');
  begin
    return private.segment_errors(validate_segment.definition);
  exception when query_canceled then
    raise exception using errcode = '54001', message = private.segment_timeout_message(), detail = 'query_canceled (57014) by statement_timeout';
  end;
end
$$;

COMMENT ON FUNCTION public.validate_segment(definition jsonb) IS 'Admin only. Checks a v1 segment definition against the whitelist: [] when valid, else [{"path","code","message"}], at most 50 then too_many_errors. See docs/segments.md for the codes.';

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _100_apply BEFORE INSERT OR UPDATE ON private.segment_settings FOR EACH ROW EXECUTE FUNCTION private.tg_segment_settings__apply();

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant execute on function
  private.assert_valid_segment(jsonb,text),
  private.check_segment_page_size(integer),
  private.compile_segment_group(jsonb,private.segment_query),
  private.compile_segment_rule(jsonb,private.segment_query),
  private.compile_segment(jsonb),
  private.explain_segment_node(jsonb,text,uuid,jsonb),
  private.segment_check_group(jsonb,text,integer,integer,jsonb),
  private.segment_check_list(text,jsonb,text,boolean),
  private.segment_check_rule(jsonb,text),
  private.segment_check_scalar(text,jsonb,text,boolean),
  private.segment_day_start(date),
  private.segment_error(text,text,text),
  private.segment_errors(jsonb),
  private.segment_field_kind(text),
  private.segment_fields(),
  private.segment_like_literal(text),
  private.segment_max_errors(),
  private.segment_member_ids(jsonb),
  private.segment_member_json(uuid),
  private.segment_operators(text),
  private.segment_page(private.segment_query,integer,uuid),
  private.segment_path_key(text,text),
  private.segment_show(jsonb),
  private.segment_timeout_message(),
  public.evaluate_segment(jsonb,integer,uuid),
  public.explain_segment_membership(jsonb,uuid),
  public.segment_whitelist(),
  public.validate_segment(jsonb)
to authenticated, service_role;

reset search_path;
reset check_function_bodies;
