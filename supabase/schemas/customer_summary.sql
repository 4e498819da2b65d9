-- Customer summary
--
-- One call for the customer page: profile, facts, scores, balance and recent activity.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.customer_overdue_balance(customer_id uuid) RETURNS numeric
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return (
    select coalesce(sum(greatest(per_booking.due - per_booking.paid, 0)), 0)::numeric(12, 2)
      from (select sum(x.due) as due, sum(x.paid) as paid
              from (select b.id as booking_id, b.total_amount as due, 0 as paid, true as overdue
                      from public.bookings b
                     where b.customer_id = customer_overdue_balance.customer_id
                       and b.status <> 'cancelled' and b.payment_due_at < now()
                    union all
                    select p.booking_id, 0, p.amount, false
                      from public.payments p
                     where p.customer_id = customer_overdue_balance.customer_id and p.status = 'succeeded'
                       and p.booking_id is not null
                    union all
                    select m.booking_id, 0, m.amount, false
                      from public.manual_payments m
                     where m.customer_id = customer_overdue_balance.customer_id and m.booking_id is not null) x
             group by x.booking_id
            having bool_or(x.overdue)) per_booking);
end
$$;

CREATE FUNCTION private.customer_summary(customer_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  u public.users;
  r record;
begin
  perform private.assert_staff('admin');
  perform private.require_argument('customer_id', customer_summary.customer_id);
  select * into u from public.users x where x.id = customer_summary.customer_id;
  if u.id is null then
    raise exception using errcode = '22023', message = format('customer_id: customer %s does not exist', customer_summary.customer_id);
  end if;
  select * into r from private.effective_customer_scores e where e.customer_id = u.id;

  return (select jsonb_build_object(
    'customer', jsonb_build_object(
      'id', u.id, 'email', u.email, 'phone', u.phone, 'full_name', u.full_name, 'city', u.city, 'region', u.region,
      'country_code', u.country_code, 'preferred_contact_method', u.preferred_contact_method, 'created_at', u.created_at),
    'risk', jsonb_build_object(
      'score', r.risk_score,
      'computed', r.computed_risk_score,
      'override', case when r.override_score is not null then jsonb_build_object(
                    'score', r.override_score, 'reason', r.override_reason, 'expires_at', r.override_expires_at,
                    'created_by', r.override_created_by, 'created_at', r.override_created_at) end,
      'level', private.risk_level(r.risk_score)),
    'lifetime_value', u.lifetime_value,
    'total_spend', coalesce((select sum(p.amount) from public.payments p where p.customer_id = u.id and p.status = 'succeeded'), 0)
                 + coalesce((select sum(m.amount) from public.manual_payments m where m.customer_id = u.id), 0),
    'booking_count', bk.booking_count,
    'last_booking_at', bk.last_booking_at,
    'tags', coalesce((select jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'color', t.color) order by lower(t.name))
                        from public.customer_tag_members tm
                        join public.customer_tags t on t.id = tm.tag_id
                       where tm.customer_id = u.id), '[]'::jsonb),
    'consent', (select jsonb_build_object(
                  'email', coalesce(bool_or(c.enabled) filter (where c.channel = 'email'), false),
                  'sms', coalesce(bool_or(c.enabled) filter (where c.channel = 'sms'), false),
                  'push', coalesce(bool_or(c.enabled) filter (where c.channel = 'push'), false))
                  from public.customer_consent c where c.customer_id = u.id),
    'insurance_expiring', coalesce((select jsonb_agg(jsonb_build_object(
                                      'id', d.id, 'kind', d.kind, 'booking_id', d.booking_id, 'status', d.status,
                                      'expires_at', d.expires_at) order by d.expires_at, d.id)
                                      from public.insurance_documents d
                                     where d.customer_id = u.id
                                       and d.status in ('valid', 'pending')
                                       and d.expires_at between current_date and current_date + 30), '[]'::jsonb),
    'overdue_balance', private.customer_overdue_balance(u.id),
    'open_tickets', (select count(*) from public.support_tickets t where t.customer_id = u.id and t.status in ('open', 'pending')),
    'account_manager', (select jsonb_build_object('id', am.id, 'full_name', am.full_name, 'email', am.email)
                          from public.users am where am.id = u.account_manager_id))
    from (select count(*) as booking_count, max(b.created_at) as last_booking_at
            from public.bookings b where b.customer_id = u.id and b.status <> 'cancelled') bk);
end
$$;

CREATE FUNCTION public.customer_summary(customer_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  perform private.require_role('admin');
  return private.customer_summary(customer_summary.customer_id);
end
$$;

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant execute on function
  private.customer_overdue_balance(uuid),
  private.customer_summary(uuid),
  public.customer_summary(uuid)
to authenticated, service_role;

reset search_path;
reset check_function_bodies;
