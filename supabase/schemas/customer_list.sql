-- Customer list
--
-- The admin customer list: a view and a paged RPC filtered by a segment definition.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION public.list_customers(definition jsonb DEFAULT NULL::jsonb, page_size integer DEFAULT 50, after uuid DEFAULT NULL::uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET statement_timeout TO '10s'
    AS $_$
declare
  q private.segment_query := row('true', '{}'::text[], '{}'::bigint[], '{}'::numeric[], '{}'::timestamptz[]);
  page record;
  customers jsonb;
begin
  perform private.require_role('admin');
  perform private.check_segment_page_size(list_customers.page_size);
  begin
    if list_customers.definition is not null then
      q := private.compile_segment(list_customers.definition);
    end if;
    page := private.segment_page(q, list_customers.page_size, list_customers.after);
    select coalesce(jsonb_agg(to_jsonb(c) order by c.customer_id), '[]'::jsonb) into customers
      from public.admin_customers c where c.customer_id = any (page.customer_ids);
  exception when query_canceled then
    raise exception using errcode = '54001', message = private.segment_timeout_message(), detail = 'query_canceled (57014) by statement_timeout';
  end;
  return jsonb_build_object('customers', customers, 'next_after', page.next_after);
end
$_$;

COMMENT ON FUNCTION public.list_customers(definition jsonb, page_size integer, after uuid) IS 'Admin only. {"customers":[admin_customers rows],"next_after"}: filtered by an optional v1 definition, by customer_id after `after`.';

CREATE VIEW public.admin_customers WITH (security_invoker='true') AS
 SELECT f.customer_id,
    u.full_name,
    u.email,
    u.phone,
    f.city,
    f.region,
    f.country_code,
    f.created_at,
    f.risk_score,
    f.lifetime_value,
    f.booking_count,
    f.last_booking_at,
    f.total_spend,
    f.consent_email,
    f.consent_sms,
    f.consent_push,
    f.last_engaged_at,
    COALESCE(( SELECT jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'color', t.color) ORDER BY t.name) AS jsonb_agg
           FROM public.customer_tags t
          WHERE (t.id = ANY ((f.tag)::uuid[]))), '[]'::jsonb) AS tags,
    COALESCE(( SELECT jsonb_agg(jsonb_build_object('id', s.id, 'name', s.name) ORDER BY s.name) AS jsonb_agg
           FROM (public.customer_segment_members m
             JOIN public.customer_segments s ON ((s.id = m.segment_id)))
          WHERE (m.customer_id = f.customer_id)), '[]'::jsonb) AS segments
   FROM (public.customer_facts f
     JOIN public.users u ON ((u.id = f.customer_id)));

COMMENT ON VIEW public.admin_customers IS 'Admin customer list: facts plus tags and the saved segments each customer is in (as of each segment''s last refresh).';

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select on table public.admin_customers to authenticated, service_role;
grant execute on function public.list_customers(jsonb,integer,uuid) to authenticated, service_role;

reset search_path;
reset check_function_bodies;
