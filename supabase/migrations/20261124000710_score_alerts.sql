-- Threshold alerts on scores: a customer crossing the VIP lifetime value, the high effective risk
-- or the churn inactivity threshold gets one alert per crossing. Hysteresis: the alert re-arms only
-- once the customer falls below the lower (re-arm) value of scoring_settings.

alter table public.alerts add column if not exists details jsonb not null default '{}'::jsonb;
comment on column public.alerts.details is
  'Machine-readable why: for score alerts {"metric","value","threshold","rearm_below",...}.';

-- Which (customer, kind) is disarmed: present from the crossing until the customer falls below
-- the re-arm value. Written by the scoring pass only; no foreign key (a first pass may disarm
-- hundreds of thousands at once), erased with the customer by a statement trigger.
create table private.score_alert_states (
  customer_id uuid not null,
  kind text not null constraint score_alert_states_kind_is_known check (kind in ('vip_lifetime_value', 'high_risk', 'churn_risk')),
  crossed_at timestamptz not null default now(),
  value_at_crossing numeric not null,
  -- the alert raised at the crossing (informational: alerts may be deleted)
  alert_id uuid,
  primary key (customer_id, kind)
);

create or replace function private.tg_users__erase_score_alert_states()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from private.score_alert_states s where s.customer_id in (select e.id from erased e);
  return null;
end
$$;

create trigger _810_erase_score_alert_states after delete on public.users
  referencing old table as erased
  for each statement execute function private.tg_users__erase_score_alert_states();

-- Every customer's alert metrics now: lifetime value and effective risk (as of the last scoring
-- pass, plus active overrides), days since the last booking.
create or replace view private.score_alert_metrics as
select e.customer_id,
       e.lifetime_value,
       e.risk_score,
       cs.last_booking_at,
       case when cs.last_booking_at is not null
            then floor(extract(epoch from now() - cs.last_booking_at) / 86400)::integer end as days_since_last_booking
  from private.effective_customer_scores e
  left join public.customer_scores cs on cs.customer_id = e.customer_id;

-- Two statements, each planned on table statistics: re-arm the disarmed customers now below their
-- re-arm value, then alert the customers at or above a threshold who are armed.
create or replace function private.evaluate_score_alerts()
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
set work_mem = '256MB'
as $$
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

-- Admins acknowledge an alert (the update policy on alerts also lets them do it directly).
create or replace function public.acknowledge_alert(alert_id uuid)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  result public.alerts;
begin
  perform private.require_role('admin');
  if acknowledge_alert.alert_id is null then
    raise exception using errcode = '22023', message = 'alert_id: is required';
  end if;
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

-- The nightly job: scores, then the alerts they cross.
create or replace function private.run_nightly_scoring()
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  perform private.assert_staff('admin');
  return jsonb_build_object('scores', private.score_customers(), 'alerts', private.evaluate_score_alerts());
end
$$;

grant execute on function public.acknowledge_alert(uuid) to authenticated, service_role;
grant execute on function private.evaluate_score_alerts(), private.run_nightly_scoring() to service_role;
