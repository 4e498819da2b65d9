-- Alerts
--
-- Alerts raised by scoring thresholds, their states, acknowledgement, and the nightly
-- scoring run that raises them.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE private.score_alert_states (
    customer_id uuid NOT NULL,
    kind text NOT NULL,
    crossed_at timestamp with time zone DEFAULT now() NOT NULL,
    value_at_crossing numeric NOT NULL,
    alert_id uuid,
    CONSTRAINT score_alert_states_kind_is_known CHECK ((kind = ANY (ARRAY['vip_lifetime_value'::text, 'high_risk'::text, 'churn_risk'::text]))),
    CONSTRAINT score_alert_states_pkey PRIMARY KEY (customer_id, kind)
);

CREATE TABLE public.alerts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    kind text NOT NULL,
    severity text DEFAULT 'info'::text NOT NULL,
    title text NOT NULL,
    body text,
    customer_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    acknowledged_at timestamp with time zone,
    acknowledged_by uuid,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT alerts_severity_is_known CHECK ((severity = ANY (ARRAY['info'::text, 'warning'::text, 'critical'::text]))),
    CONSTRAINT alerts_pkey PRIMARY KEY (id),
    CONSTRAINT alerts_acknowledged_by_fkey FOREIGN KEY (acknowledged_by) REFERENCES public.users(id) ON DELETE SET NULL,
    CONSTRAINT alerts_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE
);

COMMENT ON COLUMN public.alerts.details IS 'Machine-readable why: for score alerts {"metric","value","threshold","rearm_below",...}.';

CREATE INDEX alerts_acknowledged_by_idx ON public.alerts USING btree (acknowledged_by);

CREATE INDEX alerts_customer_id_idx ON public.alerts USING btree (customer_id);

CREATE INDEX alerts_unacknowledged_idx ON public.alerts USING btree (created_at DESC) WHERE (acknowledged_at IS NULL);

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.evaluate_score_alerts() RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    SET work_mem TO '256MB'
    AS $$
declare
  vip numeric := private.scoring_setting('vip_lifetime_value');
  vip_rearm numeric := private.scoring_setting('vip_rearm_lifetime_value');
  high numeric := private.scoring_setting('high_risk_score');
  high_rearm numeric := private.scoring_setting('high_risk_rearm_score');
  churn numeric := private.scoring_setting('churn_inactive_days');
  churn_rearm numeric := private.scoring_setting('churn_rearm_days');
  rearmed integer;
  raised integer;
begin
  perform private.assert_staff('admin');

  delete from private.score_alert_states st
   using private.score_alert_metrics m
   where m.customer_id = st.customer_id
     and case st.kind when 'vip_lifetime_value' then m.lifetime_value < vip_rearm
                      when 'high_risk' then m.risk_score < high_rearm
                      else m.days_since_last_booking < churn_rearm end;
  get diagnostics rearmed = row_count;

  with crossing as materialized (
    select c.customer_id, k.kind, k.value, k.threshold, k.rearm_below, gen_random_uuid() as alert_id
      from private.score_alert_metrics c
      cross join lateral (values
        ('vip_lifetime_value', c.lifetime_value, vip, vip_rearm),
        ('high_risk', c.risk_score, high, high_rearm),
        ('churn_risk', c.days_since_last_booking::numeric, churn, churn_rearm)) k(kind, value, threshold, rearm_below)
     where (c.lifetime_value >= vip or c.risk_score >= high or c.last_booking_at <= now() - churn * interval '1 day')
       and k.value >= k.threshold
       and not exists (select 1 from private.score_alert_states st where st.customer_id = c.customer_id and st.kind = k.kind)
  ),
  alerted as (
    insert into public.alerts (id, kind, severity, title, body, customer_id, details)
    select c.alert_id, c.kind,
           case c.kind when 'high_risk' then 'critical' when 'churn_risk' then 'warning' else 'info' end,
           case c.kind when 'vip_lifetime_value' then 'VIP: ' when 'high_risk' then 'High risk: ' else 'Churn risk: ' end
             || coalesce(u.full_name, u.email, c.customer_id::text),
           case c.kind when 'vip_lifetime_value' then format('Lifetime value %s reached the VIP threshold %s.', c.value, c.threshold)
                       when 'high_risk' then format('Effective risk score %s reached the high-risk threshold %s.', c.value, c.threshold)
                       else format('No booking for %s days (threshold %s).', c.value, c.threshold) end,
           c.customer_id,
           jsonb_build_object('metric', case c.kind when 'vip_lifetime_value' then 'lifetime_value'
                                                    when 'high_risk' then 'risk_score'
                                                    else 'days_since_last_booking' end,
                              'value', c.value, 'threshold', c.threshold, 'rearm_below', c.rearm_below)
             || case when c.kind = 'high_risk'
                     then jsonb_build_object('components', (select to_jsonb(cs) - 'customer_id' from public.customer_scores cs
                                                             where cs.customer_id = c.customer_id),
                                             'overridden', exists (select 1 from public.customer_risk_overrides o
                                                                    where o.customer_id = c.customer_id
                                                                      and (o.expires_at is null or o.expires_at > now())))
                     else '{}'::jsonb end
      from crossing c
      join public.users u on u.id = c.customer_id
    returning 1
  ),
  disarmed as (
    insert into private.score_alert_states (customer_id, kind, value_at_crossing, alert_id)
    select c.customer_id, c.kind, c.value, c.alert_id from crossing c
    returning 1
  )
  select count(*) into raised from alerted;

  return jsonb_build_object('raised', raised, 'rearmed', rearmed);
end
$$;

CREATE FUNCTION private.run_nightly_scoring() RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform private.assert_staff('admin');
  return jsonb_build_object('scores', private.score_customers(), 'alerts', private.evaluate_score_alerts());
end
$$;

CREATE FUNCTION public.acknowledge_alert(alert_id uuid) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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
$$;

CREATE VIEW private.score_alert_metrics AS
 SELECT e.customer_id,
    e.lifetime_value,
    e.risk_score,
    cs.last_booking_at,
        CASE
            WHEN (cs.last_booking_at IS NOT NULL) THEN (floor((EXTRACT(epoch FROM (now() - cs.last_booking_at)) / (86400)::numeric)))::integer
            ELSE NULL::integer
        END AS days_since_last_booking
   FROM (private.effective_customer_scores e
     LEFT JOIN public.customer_scores cs ON ((cs.customer_id = e.customer_id)));

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _810_erase_score_alert_states AFTER DELETE ON public.users REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_delete_dependents('customer_id', 'private.score_alert_states');

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

call private.staff_access('public.alerts', read_by => 'admin', write_by => 'admin');

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant all on table public.alerts to service_role;
grant execute on function
  private.evaluate_score_alerts(),
  private.run_nightly_scoring()
to service_role;
grant execute on function public.acknowledge_alert(uuid) to authenticated, service_role;

reset search_path;
reset check_function_bodies;
