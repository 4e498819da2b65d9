-- validate_segment (issue 10): admin only like evaluate_segment, under the same statement_timeout,
-- and at most 50 errors reported. Unknown keys were collected one `errors || error` at a time,
-- so 10,000 unknown keys cost 10,000 copies of a growing array (12-17 s, 10,000 errors); they are
-- now collected set-based and capped. Redefined from their latest definitions:
-- private.segment_check_rule, private.segment_check_group (the key loops only),
-- public.validate_segment, private.assert_valid_segment (now on private.segment_errors, which does
-- not check roles: saving and evaluating segments check theirs), private.tg_segment_settings__apply
-- (validate_segment added to the functions the timeout applies to).

-- How many errors validation reports at most; one `too_many_errors` entry follows when there were more.
create or replace function private.segment_max_errors()
returns integer
language sql
immutable
set search_path = ''
as $$
  select 50
$$;

create or replace function private.segment_check_rule(rule jsonb, path text)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
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

create or replace function private.segment_check_group(
  node jsonb, path text, depth integer, inout rule_count integer, inout errors jsonb
)
language plpgsql
immutable
set search_path = ''
as $$
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

-- Every error of a definition, in document order, at most segment_max_errors() of them and then a
-- too_many_errors entry. No role check: the callers (validate_segment, saving, evaluating) check.
create or replace function private.segment_errors(definition jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
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
$$;

-- [] when valid, else the errors as {"path","code","message"} (at most 50, then too_many_errors).
create or replace function public.validate_segment(definition jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
begin
  perform private.require_role('admin');
  begin
    return private.segment_errors(validate_segment.definition);
  exception when query_canceled then
    raise exception using errcode = '54001', message = private.segment_timeout_message(), detail = 'query_canceled (57014) by statement_timeout';
  end;
end
$$;
comment on function public.validate_segment(jsonb) is
  'Admin only. Checks a v1 segment definition against the whitelist: [] when valid, else [{"path","code","message"}], at most 50 then too_many_errors. See docs/segments.md for the codes.';

create or replace function private.assert_valid_segment(definition jsonb, context text default null)
returns void
language plpgsql
immutable
set search_path = ''
as $$
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

create or replace function private.tg_segment_settings__apply()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
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

grant execute on function private.segment_max_errors(), private.segment_errors(jsonb) to authenticated, service_role;
grant execute on function public.validate_segment(jsonb) to authenticated, service_role;

-- create or replace reset the evaluating functions' settings: apply the timeout again (now to
-- validate_segment too).
update private.segment_settings set value = value where key = 'statement_timeout';
