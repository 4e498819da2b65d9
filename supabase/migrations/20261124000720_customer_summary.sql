-- customer_summary (CONTRACT §7): everything the customer drawer's header shows, in one call.
-- Facts follow CONTRACT §5; the overdue balance is computed live, per booking.

-- Overdue balance of one customer: for each non-cancelled booking past payment_due_at, its total
-- minus what was paid for it (succeeded payments + manual payments on that booking), never below 0.
create or replace function private.customer_overdue_balance(customer_id uuid)
returns numeric
language sql
stable
set search_path = ''
as $$
  select coalesce(sum(greatest(b.total_amount
           - coalesce((select sum(p.amount) from public.payments p where p.booking_id = b.id and p.status = 'succeeded'), 0)
           - coalesce((select sum(m.amount) from public.manual_payments m where m.booking_id = b.id), 0), 0)), 0)::numeric(12, 2)
    from public.bookings b
   where b.customer_id = customer_overdue_balance.customer_id
     and b.status <> 'cancelled'
     and b.payment_due_at < now()
$$;

create or replace function public.customer_summary(customer_id uuid)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  u public.users;
  o public.customer_risk_overrides;
  effective numeric;
  result jsonb;
begin
  perform private.require_role('admin');
  if customer_summary.customer_id is null then
    raise exception using errcode = '22023', message = 'customer_id: is required';
  end if;
  select * into u from public.users x where x.id = customer_summary.customer_id;
  if u.id is null then
    raise exception using errcode = '22023', message = format('customer_id: customer %s does not exist', customer_summary.customer_id);
  end if;
  select * into o from public.customer_risk_overrides x
   where x.customer_id = u.id and (x.expires_at is null or x.expires_at > now());
  effective := private.effective_risk(u.risk_score, o.score, o.expires_at);

  select jsonb_build_object(
    'customer', jsonb_build_object(
      'id', u.id, 'email', u.email, 'phone', u.phone, 'full_name', u.full_name, 'city', u.city, 'region', u.region,
      'country_code', u.country_code, 'preferred_contact_method', u.preferred_contact_method, 'created_at', u.created_at),
    'risk', jsonb_build_object(
      'score', effective,
      'computed', u.risk_score,
      'override', case when o.customer_id is not null then jsonb_build_object(
                    'score', o.score, 'reason', o.reason, 'expires_at', o.expires_at,
                    'created_by', o.created_by, 'created_at', o.created_at) end,
      'level', private.risk_level(effective)),
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
    into result
    from (select count(*) as booking_count, max(b.created_at) as last_booking_at
            from public.bookings b where b.customer_id = u.id and b.status <> 'cancelled') bk;
  return result;
end
$$;

grant execute on function private.customer_overdue_balance(uuid) to authenticated, service_role;
grant execute on function public.customer_summary(uuid) to authenticated, service_role;
