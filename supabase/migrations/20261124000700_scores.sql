-- Risk and value indicators: scoring settings, the current score of every customer with the
-- components that explain it, the history of every change of those, admin risk overrides (the
-- effective risk defined in one place), and the nightly set-based scoring pass.

-- ---------------------------------------------------------------------------------------------
-- Settings: thresholds and component weights, one numeric value per known key.
-- ---------------------------------------------------------------------------------------------

create table public.scoring_settings (
  key text primary key constraint scoring_settings_key_is_known check (key in (
    'vip_lifetime_value', 'vip_rearm_lifetime_value',
    'high_risk_score', 'high_risk_rearm_score', 'medium_risk_score',
    'churn_inactive_days', 'churn_rearm_days',
    'overdue_weight', 'overdue_full_amount',
    'failed_payments_weight', 'failed_payments_full_count',
    'cancellation_weight', 'cancellation_min_bookings',
    'urgent_tickets_weight', 'urgent_tickets_full_count',
    'expired_insurance_weight')),
  value numeric not null constraint scoring_settings_value_not_negative check (value >= 0),
  description text not null,
  updated_by uuid default auth.uid() references public.users (id) on delete set null,
  updated_at timestamptz not null default now()
);
comment on table public.scoring_settings is
  'Thresholds of the score alerts (with their lower re-arm values) and the weights of the risk components; read by the nightly scoring pass and customer_summary.';
create index scoring_settings_updated_by_idx on public.scoring_settings (updated_by);

insert into public.scoring_settings (key, value, description) values
  ('vip_lifetime_value', 10000, 'VIP alert when lifetime value reaches this amount'),
  ('vip_rearm_lifetime_value', 8000, 'the VIP alert re-arms once lifetime value falls below this amount'),
  ('high_risk_score', 70, 'risk level high from this score; high-risk alert when the effective risk reaches it'),
  ('high_risk_rearm_score', 60, 'the high-risk alert re-arms once the effective risk falls below this score'),
  ('medium_risk_score', 40, 'risk level medium from this score (low below it)'),
  ('churn_inactive_days', 180, 'churn-risk alert when a customer with bookings has not booked for this many days'),
  ('churn_rearm_days', 90, 'the churn-risk alert re-arms once the last booking is fewer than this many days old'),
  ('overdue_weight', 30, 'risk points for an overdue balance of overdue_full_amount or more (linear below)'),
  ('overdue_full_amount', 1000, 'overdue balance that earns the full overdue_weight'),
  ('failed_payments_weight', 20, 'risk points for failed_payments_full_count failed payments in the last 90 days (linear below)'),
  ('failed_payments_full_count', 3, 'failed payments in 90 days that earn the full failed_payments_weight'),
  ('cancellation_weight', 20, 'risk points times the share of bookings cancelled'),
  ('cancellation_min_bookings', 2, 'the cancellation ratio counts only from this many bookings (any status)'),
  ('urgent_tickets_weight', 15, 'risk points for urgent_tickets_full_count open urgent tickets (linear below)'),
  ('urgent_tickets_full_count', 2, 'open urgent tickets that earn the full urgent_tickets_weight'),
  ('expired_insurance_weight', 15, 'risk points when an active booking has expired insurance and no valid document');

create or replace function private.scoring_setting(key text)
returns numeric
language sql
stable
security definer
set search_path = ''
as $$
  select s.value from public.scoring_settings s where s.key = scoring_setting.key
$$;

-- Range per key, and each alert's re-arm value strictly below its threshold.
create or replace function private.tg_scoring_settings__validate()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.value is null then
    raise exception using errcode = '22023', message = format('value: %s needs a value', new.key);
  end if;
  -- NaN passes every comparison below (it sorts above all numbers), and infinities break intervals
  if new.value in ('NaN'::numeric, 'Infinity'::numeric, '-Infinity'::numeric) then
    raise exception using errcode = '22023', message = format('value: %s must be a finite number; got %s', new.key, new.value);
  end if;
  if new.value < 0 then
    raise exception using errcode = '22023', message = format('value: %s must not be negative; got %s', new.key, new.value);
  end if;
  if new.key in ('failed_payments_full_count', 'urgent_tickets_full_count', 'cancellation_min_bookings', 'churn_inactive_days',
                 'churn_rearm_days') and new.value <> trunc(new.value) then
    raise exception using errcode = '22023', message = format('value: %s is a whole number; got %s', new.key, new.value);
  end if;
  if new.key in ('high_risk_score', 'high_risk_rearm_score', 'medium_risk_score') and new.value > 100 then
    raise exception using errcode = '22023', message = format('value: %s is a risk score, 0..100; got %s', new.key, new.value);
  end if;
  if new.key in ('overdue_full_amount', 'failed_payments_full_count', 'urgent_tickets_full_count', 'churn_inactive_days',
                 'churn_rearm_days', 'vip_rearm_lifetime_value', 'high_risk_rearm_score')
     and new.value <= 0 then
    raise exception using errcode = '22023', message = format('value: %s must be greater than 0; got %s', new.key, new.value);
  end if;
  if new.key in ('overdue_weight', 'failed_payments_weight', 'cancellation_weight', 'urgent_tickets_weight',
                 'expired_insurance_weight') and new.value > 100 then
    raise exception using errcode = '22023', message = format('value: %s is a weight in risk points, 0..100; got %s', new.key, new.value);
  end if;
  new.updated_by := auth.uid();
  new.updated_at := now();
  return new;
end
$$;

create or replace function private.tg_scoring_settings__check_pairs()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  bad text;
begin
  select format('%s (%s) must be below %s (%s)', lo.key, lo.value, hi.key, hi.value) into bad
    from (values ('vip_rearm_lifetime_value', 'vip_lifetime_value'), ('high_risk_rearm_score', 'high_risk_score'),
                 ('churn_rearm_days', 'churn_inactive_days'), ('medium_risk_score', 'high_risk_score')) p(lo_key, hi_key)
    join public.scoring_settings lo on lo.key = p.lo_key
    join public.scoring_settings hi on hi.key = p.hi_key
   where lo.value >= hi.value
   limit 1;
  if bad is not null then
    raise exception using errcode = '22023', message = 'value: ' || bad;
  end if;
  return null;
end
$$;

create trigger _010_validate before insert or update on public.scoring_settings
  for each row execute function private.tg_scoring_settings__validate();
create trigger _020_check_pairs after insert or update on public.scoring_settings
  for each statement execute function private.tg_scoring_settings__check_pairs();
create trigger _900_audit after insert or update or delete on public.scoring_settings
  for each row execute function private.tg_audit('key');

-- ---------------------------------------------------------------------------------------------
-- Scores: the current one per customer with its components, and every change of them.
-- ---------------------------------------------------------------------------------------------

-- Derived data, rewritten nightly for up to every customer: no foreign keys (2M per-row checks on
-- a full pass); a customer's erasure removes their rows by the statement trigger below.
create table public.customer_scores (
  customer_id uuid primary key,
  scored_at timestamptz not null,
  lifetime_value numeric(12, 2) not null,
  risk_score numeric(5, 2) not null constraint customer_scores_risk_score_between_0_and_100 check (risk_score between 0 and 100),
  -- inputs
  booking_count integer not null,
  last_booking_at timestamptz,
  bookings_total integer not null,
  bookings_cancelled integer not null,
  overdue_balance numeric(12, 2) not null,
  failed_payments_90d integer not null,
  urgent_open_tickets integer not null,
  expired_insurance_active_bookings integer not null,
  -- risk points per component; risk_score = least(100, their sum)
  overdue_points numeric(5, 2) not null,
  failed_payments_points numeric(5, 2) not null,
  cancellation_points numeric(5, 2) not null,
  urgent_tickets_points numeric(5, 2) not null,
  expired_insurance_points numeric(5, 2) not null
);
comment on table public.customer_scores is
  'The score of each customer as of the last nightly pass, with the inputs and points that explain it; users.risk_score and users.lifetime_value mirror it.';

create table public.customer_score_history (
  id bigint generated always as identity primary key,
  like public.customer_scores including constraints
);
comment on table public.customer_score_history is
  'One row each time a customer''s score or any of its components changed: every score ever shown can be explained.';
create index customer_score_history_customer_idx on public.customer_score_history (customer_id, scored_at desc);

create or replace function private.tg_users__erase_scores()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from public.customer_scores s where s.customer_id in (select e.id from erased e);
  delete from public.customer_score_history h where h.customer_id in (select e.id from erased e);
  return null;
end
$$;

create trigger _800_erase_scores after delete on public.users
  referencing old table as erased
  for each statement execute function private.tg_users__erase_scores();

-- ---------------------------------------------------------------------------------------------
-- Risk overrides: at most one per customer; active until expires_at or until cleared.
-- ---------------------------------------------------------------------------------------------

create table public.customer_risk_overrides (
  customer_id uuid primary key references public.users (id) on delete cascade,
  -- a new id per override: the timeline's reference for its set/cleared/expired events
  id uuid not null default gen_random_uuid() unique,
  score numeric(5, 2) not null constraint customer_risk_overrides_score_between_0_and_100 check (score between 0 and 100),
  reason text not null
    constraint customer_risk_overrides_reason_length_1_to_1000 check (reason ~ '[^[:space:]]' and char_length(reason) <= 1000),
  expires_at timestamptz,
  created_by uuid default auth.uid() references public.users (id) on delete set null,
  created_at timestamptz not null default now()
);
comment on table public.customer_risk_overrides is
  'An admin''s risk score for a customer; it is the effective risk while expires_at is null or in the future. Expired rows are removed by crm_expire_risk_overrides.';
create index customer_risk_overrides_created_by_idx on public.customer_risk_overrides (created_by);
create index customer_risk_overrides_expires_at_idx on public.customer_risk_overrides (expires_at) where expires_at is not null;

-- The RPCs check this too; the trigger holds for direct writes through the API (server-side roles
-- may backdate, e.g. to expire an override now).
create or replace function private.tg_customer_risk_overrides__validate()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.expires_at is not null and new.expires_at <= now() and not private.is_trusted()
     and (tg_op = 'INSERT' or new.expires_at is distinct from old.expires_at) then
    raise exception using errcode = '22023', message = format('expires_at: must be in the future; got %s', new.expires_at);
  end if;
  return new;
end
$$;
create trigger _010_validate before insert or update on public.customer_risk_overrides
  for each row execute function private.tg_customer_risk_overrides__validate();

-- THE definition of the effective scores (CONTRACT §5): risk_score is the active override if any,
-- else the computed users.risk_score; lifetime_value is users.lifetime_value. A view (not a
-- function) so that set-based readers (segments, alerts) get it inlined into their plans.
create view private.effective_customer_scores with (security_invoker = true) as
select u.id as customer_id,
       coalesce(o.score, u.risk_score) as risk_score,
       u.risk_score as computed_risk_score,
       u.lifetime_value,
       o.score as override_score,
       o.reason as override_reason,
       o.expires_at as override_expires_at,
       o.created_by as override_created_by,
       o.created_at as override_created_at
  from public.users u
  left join public.customer_risk_overrides o
    on o.customer_id = u.id and (o.expires_at is null or o.expires_at > now());
comment on view private.effective_customer_scores is
  'The one definition of the effective risk (active override, else computed) with lifetime value; segments facts and summaries read it.';

create or replace function private.effective_risk_score(customer_id uuid)
returns numeric
language sql
stable
security definer
set search_path = ''
as $$
  select e.risk_score from private.effective_customer_scores e where e.customer_id = effective_risk_score.customer_id
$$;

create or replace function private.risk_level(score numeric)
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select case when risk_level.score is null then null
              when risk_level.score >= (select s.value from public.scoring_settings s where s.key = 'high_risk_score') then 'high'
              when risk_level.score >= (select s.value from public.scoring_settings s where s.key = 'medium_risk_score') then 'medium'
              else 'low' end
$$;

-- Set-based effective risk for lists: one row per customer.
create view public.customer_effective_risk with (security_invoker = true) as
select e.customer_id, e.risk_score, e.computed_risk_score, e.override_score, e.override_expires_at,
       private.risk_level(e.risk_score) as risk_level
  from private.effective_customer_scores e
 where (select private.is_admin()) or (select private.is_trusted());
comment on view public.customer_effective_risk is
  'The effective risk of every customer (CONTRACT §5: the active admin override, else users.risk_score) and its level. Admin only.';

-- Timeline and audit of overrides, by trigger, so a direct table write is recorded as well as the RPCs.
create or replace function private.tg_customer_risk_overrides__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  ended_by text := coalesce(current_setting('crm.risk_override_end', true), '');
begin
  if tg_op in ('UPDATE', 'DELETE') and (tg_op = 'DELETE' or old.id <> new.id) then
    perform private.record_timeline_event(
      old.customer_id, 'risk', 'customer_risk_overrides', old.id,
      case when ended_by = 'expired' then 'expired' else 'cleared' end, now(),
      case when ended_by = 'expired' then format('Risk override %s expired', old.score)
           else format('Risk override %s cleared', old.score) end,
      jsonb_build_object('score', old.score, 'reason', old.reason, 'expires_at', old.expires_at,
                         'computed_score', (select u.risk_score from public.users u where u.id = old.customer_id)));
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    perform private.record_timeline_event(
      new.customer_id, 'risk', 'customer_risk_overrides', new.id,
      case when tg_op = 'UPDATE' and old.id = new.id then 'changed@' || now()::text else 'set' end, now(),
      format('Risk overridden to %s', new.score),
      jsonb_build_object('score', new.score, 'reason', new.reason, 'expires_at', new.expires_at,
                         'computed_score', (select u.risk_score from public.users u where u.id = new.customer_id)));
  end if;
  return null;
end
$$;

create trigger _100_timeline after insert or update or delete on public.customer_risk_overrides
  for each row execute function private.tg_customer_risk_overrides__timeline();
create trigger _900_audit after insert or update or delete on public.customer_risk_overrides
  for each row execute function private.tg_audit('customer_id');

-- ---------------------------------------------------------------------------------------------
-- Row level security: admins read everything; settings are changed by admins; scores are
-- written by the nightly pass only; overrides are written by admins (through the RPCs).
-- ---------------------------------------------------------------------------------------------

alter table public.scoring_settings enable row level security;
alter table public.customer_scores enable row level security;
alter table public.customer_score_history enable row level security;
alter table public.customer_risk_overrides enable row level security;

revoke all on public.scoring_settings, public.customer_scores, public.customer_score_history,
  public.customer_risk_overrides, public.customer_effective_risk from anon, authenticated, service_role;
grant select, update on public.scoring_settings to authenticated, service_role;
grant select on public.customer_scores, public.customer_score_history, public.customer_effective_risk to authenticated, service_role;
grant select, insert, update, delete on public.customer_risk_overrides to authenticated, service_role;

create policy scoring_settings_select_admin on public.scoring_settings
  for select to authenticated using ((select private.is_admin()));
create policy scoring_settings_update_admin on public.scoring_settings
  for update to authenticated using ((select private.is_admin())) with check ((select private.is_admin()));
create policy customer_scores_select_admin on public.customer_scores
  for select to authenticated using ((select private.is_admin()));
create policy customer_score_history_select_admin on public.customer_score_history
  for select to authenticated using ((select private.is_admin()));
create policy customer_risk_overrides_select_admin on public.customer_risk_overrides
  for select to authenticated using ((select private.is_admin()));
create policy customer_risk_overrides_insert_admin on public.customer_risk_overrides
  for insert to authenticated with check ((select private.is_admin()));
create policy customer_risk_overrides_update_admin on public.customer_risk_overrides
  for update to authenticated using ((select private.is_admin())) with check ((select private.is_admin()));
create policy customer_risk_overrides_delete_admin on public.customer_risk_overrides
  for delete to authenticated using ((select private.is_admin()));

-- ---------------------------------------------------------------------------------------------
-- Override RPCs (CONTRACT: public, security invoker, admin only).
-- ---------------------------------------------------------------------------------------------

create or replace function public.override_risk(
  customer_id uuid,
  score numeric,
  reason text,
  expires_at timestamptz default null
)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  result public.customer_risk_overrides;
begin
  perform private.require_role('admin');
  if override_risk.customer_id is null then
    raise exception using errcode = '22023', message = 'customer_id: is required';
  end if;
  if override_risk.score is null or override_risk.score < 0 or override_risk.score > 100 then
    raise exception using errcode = '22023',
      message = format('score: must be a number from 0 to 100; got %s', coalesce(override_risk.score::text, 'null'));
  end if;
  if override_risk.reason is null or override_risk.reason !~ '[^[:space:]]' then
    raise exception using errcode = '22023', message = 'reason: is required (say why the computed risk is wrong)';
  end if;
  if char_length(override_risk.reason) > 1000 then
    raise exception using errcode = '22023', message = 'reason: must be at most 1000 characters';
  end if;
  if override_risk.expires_at is not null and override_risk.expires_at <= now() then
    raise exception using errcode = '22023',
      message = format('expires_at: must be in the future; got %s', override_risk.expires_at);
  end if;
  if not exists (select 1 from public.users u where u.id = override_risk.customer_id) then
    raise exception using errcode = '22023', message = format('customer_id: customer %s does not exist', override_risk.customer_id);
  end if;

  -- a new override replaces the old one: the old one's timeline says "cleared", the new one "set"
  insert into public.customer_risk_overrides as o (customer_id, score, reason, expires_at)
  values (override_risk.customer_id, round(override_risk.score, 2), btrim(override_risk.reason), override_risk.expires_at)
  on conflict on constraint customer_risk_overrides_pkey do update
    set id = gen_random_uuid(), score = excluded.score, reason = excluded.reason, expires_at = excluded.expires_at,
        created_by = auth.uid(), created_at = now()
  returning * into result;

  return jsonb_build_object(
    'customer_id', result.customer_id, 'score', result.score, 'reason', result.reason,
    'expires_at', result.expires_at, 'created_by', result.created_by, 'created_at', result.created_at,
    'computed', (select u.risk_score from public.users u where u.id = result.customer_id),
    'level', private.risk_level(result.score));
end
$$;

create or replace function public.clear_risk_override(customer_id uuid)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  removed public.customer_risk_overrides;
begin
  perform private.require_role('admin');
  if clear_risk_override.customer_id is null then
    raise exception using errcode = '22023', message = 'customer_id: is required';
  end if;
  delete from public.customer_risk_overrides o
   where o.customer_id = clear_risk_override.customer_id and (o.expires_at is null or o.expires_at > now())
  returning * into removed;
  if removed.customer_id is null then
    raise exception using errcode = '22023',
      message = format('customer_id: customer %s has no active risk override', clear_risk_override.customer_id);
  end if;
  return jsonb_build_object(
    'customer_id', removed.customer_id, 'cleared_score', removed.score,
    'score', private.effective_risk_score(removed.customer_id),
    'level', private.risk_level(private.effective_risk_score(removed.customer_id)));
end
$$;

-- Cron target: remove expired overrides, so facts kept by trigger see the expiry and the
-- timeline says "expired".
create or replace function private.expire_risk_overrides()
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  n integer;
begin
  perform set_config('crm.risk_override_end', 'expired', true);
  delete from public.customer_risk_overrides o where o.expires_at <= now();
  get diagnostics n = row_count;
  perform set_config('crm.risk_override_end', '', true);
  return n;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- The nightly pass. customer_score_inputs computes every customer's inputs and points in one
-- set-based query (hash aggregates, no per-row work); score_customers writes what changed.
-- ---------------------------------------------------------------------------------------------

create or replace view private.customer_score_inputs as
with settings as (
  select max(value) filter (where key = 'overdue_weight') as overdue_weight,
         max(value) filter (where key = 'overdue_full_amount') as overdue_full_amount,
         max(value) filter (where key = 'failed_payments_weight') as failed_payments_weight,
         max(value) filter (where key = 'failed_payments_full_count') as failed_payments_full_count,
         max(value) filter (where key = 'cancellation_weight') as cancellation_weight,
         max(value) filter (where key = 'cancellation_min_bookings') as cancellation_min_bookings,
         max(value) filter (where key = 'urgent_tickets_weight') as urgent_tickets_weight,
         max(value) filter (where key = 'urgent_tickets_full_count') as urgent_tickets_full_count,
         max(value) filter (where key = 'expired_insurance_weight') as expired_insurance_weight
    from public.scoring_settings
),
booking_facts as (
  select b.customer_id,
         count(*) as bookings_total,
         count(*) filter (where b.status = 'cancelled') as bookings_cancelled,
         max(b.created_at) filter (where b.status <> 'cancelled') as last_booking_at
    from public.bookings b
   group by b.customer_id
),
payment_facts as (
  select p.customer_id,
         sum(p.amount) filter (where p.status = 'succeeded') as succeeded,
         count(*) filter (where p.status = 'failed' and p.created_at >= now() - interval '90 days') as failed_90d
    from public.payments p
   group by p.customer_id
),
manual_facts as (
  select m.customer_id, sum(m.amount) as paid
    from public.manual_payments m
   group by m.customer_id
),
overdue_facts as (
  -- each overdue booking's unpaid rest (an overpaid booking does not pay for another): the
  -- customer's overdue bookings and payments grouped by booking in one pass, no join
  select y.customer_id, sum(greatest(y.due - y.paid, 0)) as overdue
    from (select x.customer_id, sum(x.due) as due, sum(x.paid) as paid, bool_or(x.is_due) as is_due
            from (select b.customer_id, b.id as booking_id, b.total_amount as due, 0 as paid, true as is_due
                    from public.bookings b
                   where b.status <> 'cancelled' and b.payment_due_at < now()
                  union all
                  select p.customer_id, p.booking_id, 0, p.amount, false
                    from public.payments p where p.status = 'succeeded' and p.booking_id is not null
                  union all
                  select m.customer_id, m.booking_id, 0, m.amount, false
                    from public.manual_payments m where m.booking_id is not null) x
           group by x.customer_id, x.booking_id) y
   where y.is_due
   group by y.customer_id
),
ticket_facts as (
  select t.customer_id, count(*) as urgent_open
    from public.support_tickets t
   where t.priority = 'urgent' and t.status in ('open', 'pending')
   group by t.customer_id
),
insurance_facts as (
  -- active bookings whose insurance has expired and that hold no currently valid document
  select a.customer_id, count(*) as bookings
    from (select b.customer_id, b.id
            from public.bookings b
            join public.insurance_documents d on d.booking_id = b.id
           where b.status = 'active'
           group by b.customer_id, b.id
          having bool_or(d.status = 'expired' or (d.expires_at < current_date and d.status <> 'rejected'))
             and not bool_or(d.status = 'valid' and (d.expires_at is null or d.expires_at >= current_date))) a
   group by a.customer_id
),
raw as (
  select u.id as customer_id,
         coalesce(pf.succeeded, 0) + coalesce(mf.paid, 0) as total_spend,
         coalesce(bf.bookings_total - bf.bookings_cancelled, 0)::integer as booking_count,
         bf.last_booking_at,
         coalesce(bf.bookings_total, 0)::integer as bookings_total,
         coalesce(bf.bookings_cancelled, 0)::integer as bookings_cancelled,
         coalesce(od.overdue, 0) as overdue_balance,
         coalesce(pf.failed_90d, 0)::integer as failed_payments_90d,
         coalesce(tf.urgent_open, 0)::integer as urgent_open_tickets,
         coalesce(inf.bookings, 0)::integer as expired_insurance_active_bookings
    from public.users u
    left join booking_facts bf on bf.customer_id = u.id
    left join payment_facts pf on pf.customer_id = u.id
    left join manual_facts mf on mf.customer_id = u.id
    left join overdue_facts od on od.customer_id = u.id
    left join ticket_facts tf on tf.customer_id = u.id
    left join insurance_facts inf on inf.customer_id = u.id
),
pointed as (
  select r.*,
         round(s.overdue_weight * least(1, r.overdue_balance / s.overdue_full_amount), 2) as overdue_points,
         round(s.failed_payments_weight * least(1, r.failed_payments_90d / s.failed_payments_full_count), 2) as failed_payments_points,
         round(case when r.bookings_total >= greatest(s.cancellation_min_bookings, 1)
                    then s.cancellation_weight * r.bookings_cancelled / r.bookings_total else 0 end, 2) as cancellation_points,
         round(s.urgent_tickets_weight * least(1, r.urgent_open_tickets / s.urgent_tickets_full_count), 2) as urgent_tickets_points,
         case when r.expired_insurance_active_bookings > 0 then round(s.expired_insurance_weight, 2) else 0 end as expired_insurance_points
    from raw r cross join settings s
)
select p.customer_id,
       -- lifetime value = total spend to date (CONTRACT §5), as of this pass
       p.total_spend::numeric(12, 2) as lifetime_value,
       least(100, p.overdue_points + p.failed_payments_points + p.cancellation_points + p.urgent_tickets_points
                  + p.expired_insurance_points)::numeric(5, 2) as risk_score,
       p.booking_count, p.last_booking_at, p.bookings_total, p.bookings_cancelled,
       p.overdue_balance::numeric(12, 2) as overdue_balance, p.failed_payments_90d, p.urgent_open_tickets,
       p.expired_insurance_active_bookings,
       p.overdue_points::numeric(5, 2) as overdue_points, p.failed_payments_points::numeric(5, 2) as failed_payments_points,
       p.cancellation_points::numeric(5, 2) as cancellation_points, p.urgent_tickets_points::numeric(5, 2) as urgent_tickets_points,
       p.expired_insurance_points::numeric(5, 2) as expired_insurance_points
  from pointed p;
comment on view private.customer_score_inputs is 'Every customer''s score inputs and risk points as of now; read by private.score_customers.';

-- One statement: compute everything once, then write history and current scores where anything
-- changed, and users where the scores changed. Returns counts for the cron log.
create or replace function private.score_customers()
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
set work_mem = '256MB'
as $$
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
  history as (
    insert into public.customer_score_history (
      customer_id, scored_at, lifetime_value, risk_score, booking_count, last_booking_at, bookings_total, bookings_cancelled,
      overdue_balance, failed_payments_90d, urgent_open_tickets, expired_insurance_active_bookings,
      overdue_points, failed_payments_points, cancellation_points, urgent_tickets_points, expired_insurance_points)
    select customer_id, scored_at, lifetime_value, risk_score, booking_count, last_booking_at, bookings_total, bookings_cancelled,
           overdue_balance, failed_payments_90d, urgent_open_tickets, expired_insurance_active_bookings,
           overdue_points, failed_payments_points, cancellation_points, urgent_tickets_points, expired_insurance_points
      from changed
    returning 1
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
$$;

grant select on private.effective_customer_scores to authenticated, service_role;
grant execute on function private.effective_risk_score(uuid),
  private.risk_level(numeric), private.scoring_setting(text) to authenticated, service_role;
grant execute on function public.override_risk(uuid, numeric, text, timestamptz), public.clear_risk_override(uuid)
  to authenticated, service_role;
grant execute on function private.score_customers(), private.expire_risk_overrides() to service_role;
