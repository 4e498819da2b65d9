-- The scoring pass writes each changed customer's history row from the row it wrote to
-- customer_scores (returning cs.*), instead of a second copy of the select list. Same rows.

SET local check_function_bodies = off;

CREATE OR REPLACE FUNCTION private.score_customers()
  RETURNS jsonb
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path TO ''
  SET work_mem TO '256MB'
  AS $function$
declare
  result jsonb;
begin
  perform private.assert_staff('admin');
  -- two passes at once would only repeat each other's work
  if not pg_try_advisory_xact_lock(hashtext('crm_score_customers')) then
    return jsonb_build_object('skipped', 'another scoring pass is running');
  end if;

  with computed as materialized (
    select i.*, now() as scored_at from private.customer_score_inputs i
  ),
  changed as materialized (
    select c.*
      from computed c
      left join public.customer_scores cs on cs.customer_id = c.customer_id
     where cs.customer_id is null
        or (cs.lifetime_value, cs.risk_score, cs.booking_count, cs.last_booking_at, cs.bookings_total, cs.bookings_cancelled,
            cs.overdue_balance, cs.failed_payments_90d, cs.urgent_open_tickets, cs.expired_insurance_active_bookings,
            cs.overdue_points, cs.failed_payments_points, cs.cancellation_points, cs.urgent_tickets_points,
            cs.expired_insurance_points)
           is distinct from
           (c.lifetime_value, c.risk_score, c.booking_count, c.last_booking_at, c.bookings_total, c.bookings_cancelled,
            c.overdue_balance, c.failed_payments_90d, c.urgent_open_tickets, c.expired_insurance_active_bookings,
            c.overdue_points, c.failed_payments_points, c.cancellation_points, c.urgent_tickets_points,
            c.expired_insurance_points)
  ),
  current_scores as (
    insert into public.customer_scores as cs (
      customer_id, scored_at, lifetime_value, risk_score, booking_count, last_booking_at, bookings_total, bookings_cancelled,
      overdue_balance, failed_payments_90d, urgent_open_tickets, expired_insurance_active_bookings,
      overdue_points, failed_payments_points, cancellation_points, urgent_tickets_points, expired_insurance_points)
    select customer_id, scored_at, lifetime_value, risk_score, booking_count, last_booking_at, bookings_total, bookings_cancelled,
           overdue_balance, failed_payments_90d, urgent_open_tickets, expired_insurance_active_bookings,
           overdue_points, failed_payments_points, cancellation_points, urgent_tickets_points, expired_insurance_points
      from changed
    on conflict on constraint customer_scores_pkey do update
      set scored_at = excluded.scored_at, lifetime_value = excluded.lifetime_value, risk_score = excluded.risk_score,
          booking_count = excluded.booking_count, last_booking_at = excluded.last_booking_at,
          bookings_total = excluded.bookings_total, bookings_cancelled = excluded.bookings_cancelled,
          overdue_balance = excluded.overdue_balance, failed_payments_90d = excluded.failed_payments_90d,
          urgent_open_tickets = excluded.urgent_open_tickets,
          expired_insurance_active_bookings = excluded.expired_insurance_active_bookings,
          overdue_points = excluded.overdue_points, failed_payments_points = excluded.failed_payments_points,
          cancellation_points = excluded.cancellation_points, urgent_tickets_points = excluded.urgent_tickets_points,
          expired_insurance_points = excluded.expired_insurance_points
    returning cs.*
  ),
  history as (
    -- every row written, as written (customer_score_history is LIKE customer_scores, after its id)
    insert into public.customer_score_history (
      customer_id, scored_at, lifetime_value, risk_score, booking_count, last_booking_at, bookings_total, bookings_cancelled,
      overdue_balance, failed_payments_90d, urgent_open_tickets, expired_insurance_active_bookings,
      overdue_points, failed_payments_points, cancellation_points, urgent_tickets_points, expired_insurance_points)
    select w.* from current_scores w
    returning 1
  ),
  user_scores as (
    update public.users u
       set risk_score = c.risk_score, lifetime_value = c.lifetime_value
      from computed c
     where u.id = c.customer_id
       and (u.risk_score, u.lifetime_value) is distinct from (c.risk_score, c.lifetime_value)
    returning 1
  )
  select jsonb_build_object(
           'customers', (select count(*) from computed),
           'components_changed', (select count(*) from history),
           'current_written', (select count(*) from current_scores),
           'users_updated', (select count(*) from user_scores))
    into result;

  return result;
end
$function$;
