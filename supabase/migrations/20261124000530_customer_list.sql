-- The admin customer list: every customer with tags, saved segments they belong to, risk score,
-- consent flags, last booking and spend; list_customers filters it by a v1 definition (the same
-- compiler as evaluate_segment) and pages by keyset on customer_id.

create view public.admin_customers with (security_invoker = true) as
select f.customer_id, u.full_name, u.email, u.phone, f.city, f.region, f.country_code, f.created_at,
       f.risk_score, f.lifetime_value, f.booking_count, f.last_booking_at, f.total_spend,
       f.consent_email, f.consent_sms, f.consent_push, f.last_engaged_at,
       coalesce((select jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'color', t.color) order by t.name)
                   from public.customer_tags t where t.id = any (f.tag::uuid[])), '[]'::jsonb) as tags,
       coalesce((select jsonb_agg(jsonb_build_object('id', s.id, 'name', s.name) order by s.name)
                   from public.customer_segment_members m
                   join public.customer_segments s on s.id = m.segment_id
                  where m.customer_id = f.customer_id), '[]'::jsonb) as segments
  from public.customer_facts f
  join public.users u on u.id = f.customer_id;
comment on view public.admin_customers is
  'Admin customer list: facts plus tags and the saved segments each customer is in (as of each segment''s last refresh).';
revoke all on public.admin_customers from anon;
grant select on public.admin_customers to authenticated, service_role;

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
    raise exception using errcode = '57014', message = private.segment_timeout_message();
  end;
  return jsonb_build_object('customers', customers, 'next_after', next_after);
end
$$;
comment on function public.list_customers(jsonb, integer, uuid) is
  'Admin only. {"customers":[admin_customers rows],"next_after"}: filtered by an optional v1 definition, by customer_id after `after`.';
grant execute on function public.list_customers(jsonb, integer, uuid) to authenticated, service_role;

-- The evaluation budget now covers the list too.
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
                              'public.list_customers(jsonb, integer, uuid)'] loop
      execute format('alter function %s set statement_timeout = %L', fn, new.value);
    end loop;
  end if;
  new.updated_at := now();
  return new;
end
$$;
update private.segment_settings set value = value where key = 'statement_timeout';
