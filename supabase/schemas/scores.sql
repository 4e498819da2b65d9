-- Scores
--
-- Customer value and risk scores: settings, nightly scoring, history, staff risk
-- overrides with expiry, and the effective risk.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE public.scoring_settings (
    key text NOT NULL,
    value numeric NOT NULL,
    description text NOT NULL,
    updated_by uuid DEFAULT auth.uid(),
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT scoring_settings_key_is_known CHECK ((key = ANY (ARRAY['vip_lifetime_value'::text, 'vip_rearm_lifetime_value'::text, 'high_risk_score'::text, 'high_risk_rearm_score'::text, 'medium_risk_score'::text, 'churn_inactive_days'::text, 'churn_rearm_days'::text, 'overdue_weight'::text, 'overdue_full_amount'::text, 'failed_payments_weight'::text, 'failed_payments_full_count'::text, 'cancellation_weight'::text, 'cancellation_min_bookings'::text, 'urgent_tickets_weight'::text, 'urgent_tickets_full_count'::text, 'expired_insurance_weight'::text]))),
    CONSTRAINT scoring_settings_value_not_negative CHECK ((value >= (0)::numeric)),
    CONSTRAINT scoring_settings_pkey PRIMARY KEY (key),
    CONSTRAINT scoring_settings_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES public.users(id) ON DELETE SET NULL
);

COMMENT ON TABLE public.scoring_settings IS 'Thresholds of the score alerts (with their lower re-arm values) and the weights of the risk components; read by the nightly scoring pass and customer_summary.';

CREATE TABLE public.customer_risk_overrides (
    customer_id uuid NOT NULL,
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    score numeric(5,2) NOT NULL,
    reason text NOT NULL,
    expires_at timestamp with time zone,
    created_by uuid DEFAULT auth.uid(),
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    revision integer DEFAULT 1 NOT NULL,
    CONSTRAINT customer_risk_overrides_reason_length_1_to_1000 CHECK (((reason ~ '[^[:space:]]'::text) AND (char_length(reason) <= 1000))),
    CONSTRAINT customer_risk_overrides_score_between_0_and_100 CHECK (((score >= (0)::numeric) AND (score <= (100)::numeric))),
    CONSTRAINT customer_risk_overrides_id_key UNIQUE (id),
    CONSTRAINT customer_risk_overrides_pkey PRIMARY KEY (customer_id),
    CONSTRAINT customer_risk_overrides_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id) ON DELETE SET NULL,
    CONSTRAINT customer_risk_overrides_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE
);

COMMENT ON TABLE public.customer_risk_overrides IS 'An admin''s risk score for a customer; it is the effective risk while expires_at is null or in the future. Expired rows are removed by crm_expire_risk_overrides.';

COMMENT ON COLUMN public.customer_risk_overrides.revision IS 'Counts changes of this override: 1 when set, +1 per update in place (set by a trigger; written values are ignored).';

CREATE TABLE public.customer_scores (
    customer_id uuid NOT NULL,
    scored_at timestamp with time zone NOT NULL,
    lifetime_value numeric(12,2) NOT NULL,
    risk_score numeric(5,2) NOT NULL,
    booking_count integer NOT NULL,
    last_booking_at timestamp with time zone,
    bookings_total integer NOT NULL,
    bookings_cancelled integer NOT NULL,
    overdue_balance numeric(12,2) NOT NULL,
    failed_payments_90d integer NOT NULL,
    urgent_open_tickets integer NOT NULL,
    expired_insurance_active_bookings integer NOT NULL,
    overdue_points numeric(5,2) NOT NULL,
    failed_payments_points numeric(5,2) NOT NULL,
    cancellation_points numeric(5,2) NOT NULL,
    urgent_tickets_points numeric(5,2) NOT NULL,
    expired_insurance_points numeric(5,2) NOT NULL,
    CONSTRAINT customer_scores_risk_score_between_0_and_100 CHECK (((risk_score >= (0)::numeric) AND (risk_score <= (100)::numeric))),
    CONSTRAINT customer_scores_pkey PRIMARY KEY (customer_id)
);

COMMENT ON TABLE public.customer_scores IS 'The score of each customer as of the last nightly pass, with the inputs and points that explain it; users.risk_score and users.lifetime_value mirror it.';

-- a history row is a customer_scores row as it was (columns and checks copied, not repeated)
CREATE TABLE public.customer_score_history (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY,
    LIKE public.customer_scores INCLUDING CONSTRAINTS,
    CONSTRAINT customer_score_history_pkey PRIMARY KEY (id)
);

COMMENT ON TABLE public.customer_score_history IS 'One row each time a customer''s score or any of its components changed: every score ever shown can be explained.';

CREATE INDEX customer_risk_overrides_created_by_idx ON public.customer_risk_overrides USING btree (created_by);

CREATE INDEX customer_risk_overrides_expires_at_idx ON public.customer_risk_overrides USING btree (expires_at) WHERE (expires_at IS NOT NULL);

CREATE INDEX customer_score_history_customer_idx ON public.customer_score_history USING btree (customer_id, scored_at DESC);

CREATE INDEX scoring_settings_updated_by_idx ON public.scoring_settings USING btree (updated_by);

insert into public.scoring_settings (key, value, description, updated_by) values
  ('cancellation_min_bookings', '2', 'the cancellation ratio counts only from this many bookings (any status)', null),
  ('cancellation_weight', '20', 'risk points times the share of bookings cancelled', null),
  ('churn_inactive_days', '180', 'churn-risk alert when a customer with bookings has not booked for this many days', null),
  ('churn_rearm_days', '90', 'the churn-risk alert re-arms once the last booking is fewer than this many days old', null),
  ('expired_insurance_weight', '15', 'risk points when an active booking has expired insurance and no valid document', null),
  ('failed_payments_full_count', '3', 'failed payments in 90 days that earn the full failed_payments_weight', null),
  ('failed_payments_weight', '20', 'risk points for failed_payments_full_count failed payments in the last 90 days (linear below)', null),
  ('high_risk_rearm_score', '60', 'the high-risk alert re-arms once the effective risk falls below this score', null),
  ('high_risk_score', '70', 'risk level high from this score; high-risk alert when the effective risk reaches it', null),
  ('medium_risk_score', '40', 'risk level medium from this score (low below it)', null),
  ('overdue_full_amount', '1000', 'overdue balance that earns the full overdue_weight', null),
  ('overdue_weight', '30', 'risk points for an overdue balance of overdue_full_amount or more (linear below)', null),
  ('urgent_tickets_full_count', '2', 'open urgent tickets that earn the full urgent_tickets_weight', null),
  ('urgent_tickets_weight', '15', 'risk points for urgent_tickets_full_count open urgent tickets (linear below)', null),
  ('vip_lifetime_value', '10000', 'VIP alert when lifetime value reaches this amount', null),
  ('vip_rearm_lifetime_value', '8000', 'the VIP alert re-arms once lifetime value falls below this amount', null)
on conflict do nothing;

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.effective_risk_score(customer_id uuid) RETURNS numeric
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select e.risk_score from private.effective_customer_scores e where e.customer_id = effective_risk_score.customer_id
$$;

CREATE FUNCTION private.expire_risk_overrides() RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  with expired as (delete from public.customer_risk_overrides o where o.expires_at <= now() returning 1)
  select count(*)::integer from expired
$$;

CREATE FUNCTION private.risk_level(score numeric) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select case when risk_level.score is null then null
              when risk_level.score >= (select s.value from public.scoring_settings s where s.key = 'high_risk_score') then 'high'
              when risk_level.score >= (select s.value from public.scoring_settings s where s.key = 'medium_risk_score') then 'medium'
              else 'low' end
$$;

CREATE FUNCTION private.score_customers() RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    SET work_mem TO '256MB'
    AS $$
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
$$;

CREATE FUNCTION private.scoring_setting(key text) RETURNS numeric
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select s.value from public.scoring_settings s where s.key = scoring_setting.key
$$;

CREATE FUNCTION private.tg_customer_risk_overrides__revision() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  new.revision := case when tg_op = 'UPDATE' and old.id = new.id then old.revision + 1 else 1 end;
  return new;
end
$$;

CREATE FUNCTION private.tg_customer_risk_overrides__timeline() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  expired boolean;
begin
  if tg_op in ('UPDATE', 'DELETE') and (tg_op = 'DELETE' or old.id <> new.id) then
    expired := old.expires_at is not null and old.expires_at <= now();
    perform private.record_timeline_event(
      old.customer_id, 'risk', 'customer_risk_overrides', old.id,
      case when expired then 'expired' else 'cleared' end, now(),
      format(case when expired then 'Risk override %s expired' else 'Risk override %s cleared' end, old.score),
      jsonb_build_object('score', old.score, 'reason', old.reason, 'expires_at', old.expires_at,
                         'computed_score', (select u.risk_score from public.users u where u.id = old.customer_id)));
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    perform private.record_timeline_event(
      new.customer_id, 'risk', 'customer_risk_overrides', new.id,
      case when tg_op = 'UPDATE' and old.id = new.id then 'changed#' || new.revision else 'set' end, now(),
      format('Risk overridden to %s', new.score),
      jsonb_build_object('score', new.score, 'reason', new.reason, 'expires_at', new.expires_at,
                         'computed_score', (select u.risk_score from public.users u where u.id = new.customer_id)));
  end if;
  return null;
end
$$;

CREATE FUNCTION private.tg_customer_risk_overrides__validate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  if new.expires_at is not null and new.expires_at <= now() and not private.is_trusted()
     and (tg_op = 'INSERT' or new.expires_at is distinct from old.expires_at) then
    raise exception using errcode = '22023', message = format('expires_at: must be in the future; got %s', new.expires_at);
  end if;
  return new;
end
$$;

CREATE FUNCTION private.tg_scoring_settings__check_pairs() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION private.tg_scoring_settings__validate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION public.clear_risk_override(customer_id uuid) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  removed public.customer_risk_overrides;
begin
  perform private.require_role('admin');
  perform private.require_argument('customer_id', clear_risk_override.customer_id);
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

CREATE FUNCTION public.override_risk(customer_id uuid, score numeric, reason text, expires_at timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  result public.customer_risk_overrides;
begin
  perform private.require_role('admin');
  perform private.require_argument('customer_id', override_risk.customer_id);
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

CREATE VIEW private.customer_score_inputs AS
 WITH settings AS (
         SELECT max(scoring_settings.value) FILTER (WHERE (scoring_settings.key = 'overdue_weight'::text)) AS overdue_weight,
            max(scoring_settings.value) FILTER (WHERE (scoring_settings.key = 'overdue_full_amount'::text)) AS overdue_full_amount,
            max(scoring_settings.value) FILTER (WHERE (scoring_settings.key = 'failed_payments_weight'::text)) AS failed_payments_weight,
            max(scoring_settings.value) FILTER (WHERE (scoring_settings.key = 'failed_payments_full_count'::text)) AS failed_payments_full_count,
            max(scoring_settings.value) FILTER (WHERE (scoring_settings.key = 'cancellation_weight'::text)) AS cancellation_weight,
            max(scoring_settings.value) FILTER (WHERE (scoring_settings.key = 'cancellation_min_bookings'::text)) AS cancellation_min_bookings,
            max(scoring_settings.value) FILTER (WHERE (scoring_settings.key = 'urgent_tickets_weight'::text)) AS urgent_tickets_weight,
            max(scoring_settings.value) FILTER (WHERE (scoring_settings.key = 'urgent_tickets_full_count'::text)) AS urgent_tickets_full_count,
            max(scoring_settings.value) FILTER (WHERE (scoring_settings.key = 'expired_insurance_weight'::text)) AS expired_insurance_weight
           FROM public.scoring_settings
        ), booking_facts AS (
         SELECT b.customer_id,
            count(*) AS bookings_total,
            count(*) FILTER (WHERE (b.status = 'cancelled'::text)) AS bookings_cancelled,
            max(b.created_at) FILTER (WHERE (b.status <> 'cancelled'::text)) AS last_booking_at
           FROM public.bookings b
          GROUP BY b.customer_id
        ), payment_facts AS (
         SELECT p_1.customer_id,
            sum(p_1.amount) FILTER (WHERE (p_1.status = 'succeeded'::text)) AS succeeded,
            count(*) FILTER (WHERE ((p_1.status = 'failed'::text) AND (p_1.created_at >= (now() - '90 days'::interval)))) AS failed_90d
           FROM public.payments p_1
          GROUP BY p_1.customer_id
        ), manual_facts AS (
         SELECT m.customer_id,
            sum(m.amount) AS paid
           FROM public.manual_payments m
          GROUP BY m.customer_id
        ), overdue_facts AS (
         SELECT y.customer_id,
            sum(GREATEST((y.due - y.paid), (0)::numeric)) AS overdue
           FROM ( SELECT x.customer_id,
                    sum(x.due) AS due,
                    sum(x.paid) AS paid,
                    bool_or(x.is_due) AS is_due
                   FROM ( SELECT b.customer_id,
                            b.id AS booking_id,
                            b.total_amount AS due,
                            0 AS paid,
                            true AS is_due
                           FROM public.bookings b
                          WHERE ((b.status <> 'cancelled'::text) AND (b.payment_due_at < now()))
                        UNION ALL
                         SELECT p_1.customer_id,
                            p_1.booking_id,
                            0,
                            p_1.amount,
                            false
                           FROM public.payments p_1
                          WHERE ((p_1.status = 'succeeded'::text) AND (p_1.booking_id IS NOT NULL))
                        UNION ALL
                         SELECT m.customer_id,
                            m.booking_id,
                            0,
                            m.amount,
                            false
                           FROM public.manual_payments m
                          WHERE (m.booking_id IS NOT NULL)) x
                  GROUP BY x.customer_id, x.booking_id) y
          WHERE y.is_due
          GROUP BY y.customer_id
        ), ticket_facts AS (
         SELECT t.customer_id,
            count(*) AS urgent_open
           FROM public.support_tickets t
          WHERE ((t.priority = 'urgent'::text) AND (t.status = ANY (ARRAY['open'::text, 'pending'::text])))
          GROUP BY t.customer_id
        ), insurance_facts AS (
         SELECT a.customer_id,
            count(*) AS bookings
           FROM ( SELECT b.customer_id,
                    b.id
                   FROM (public.bookings b
                     JOIN public.insurance_documents d ON ((d.booking_id = b.id)))
                  WHERE (b.status = 'active'::text)
                  GROUP BY b.customer_id, b.id
                 HAVING (bool_or(((d.status = 'expired'::text) OR ((d.expires_at < CURRENT_DATE) AND (d.status <> 'rejected'::text)))) AND (NOT bool_or(((d.status = 'valid'::text) AND ((d.expires_at IS NULL) OR (d.expires_at >= CURRENT_DATE))))))) a
          GROUP BY a.customer_id
        ), raw AS (
         SELECT u.id AS customer_id,
            (COALESCE(pf.succeeded, (0)::numeric) + COALESCE(mf.paid, (0)::numeric)) AS total_spend,
            (COALESCE((bf.bookings_total - bf.bookings_cancelled), (0)::bigint))::integer AS booking_count,
            bf.last_booking_at,
            (COALESCE(bf.bookings_total, (0)::bigint))::integer AS bookings_total,
            (COALESCE(bf.bookings_cancelled, (0)::bigint))::integer AS bookings_cancelled,
            COALESCE(od.overdue, (0)::numeric) AS overdue_balance,
            (COALESCE(pf.failed_90d, (0)::bigint))::integer AS failed_payments_90d,
            (COALESCE(tf.urgent_open, (0)::bigint))::integer AS urgent_open_tickets,
            (COALESCE(inf.bookings, (0)::bigint))::integer AS expired_insurance_active_bookings
           FROM ((((((public.users u
             LEFT JOIN booking_facts bf ON ((bf.customer_id = u.id)))
             LEFT JOIN payment_facts pf ON ((pf.customer_id = u.id)))
             LEFT JOIN manual_facts mf ON ((mf.customer_id = u.id)))
             LEFT JOIN overdue_facts od ON ((od.customer_id = u.id)))
             LEFT JOIN ticket_facts tf ON ((tf.customer_id = u.id)))
             LEFT JOIN insurance_facts inf ON ((inf.customer_id = u.id)))
        ), pointed AS (
         SELECT r.customer_id,
            r.total_spend,
            r.booking_count,
            r.last_booking_at,
            r.bookings_total,
            r.bookings_cancelled,
            r.overdue_balance,
            r.failed_payments_90d,
            r.urgent_open_tickets,
            r.expired_insurance_active_bookings,
            round((s.overdue_weight * LEAST((1)::numeric, (r.overdue_balance / s.overdue_full_amount))), 2) AS overdue_points,
            round((s.failed_payments_weight * LEAST((1)::numeric, ((r.failed_payments_90d)::numeric / s.failed_payments_full_count))), 2) AS failed_payments_points,
            round(
                CASE
                    WHEN ((r.bookings_total)::numeric >= GREATEST(s.cancellation_min_bookings, (1)::numeric)) THEN ((s.cancellation_weight * (r.bookings_cancelled)::numeric) / (r.bookings_total)::numeric)
                    ELSE (0)::numeric
                END, 2) AS cancellation_points,
            round((s.urgent_tickets_weight * LEAST((1)::numeric, ((r.urgent_open_tickets)::numeric / s.urgent_tickets_full_count))), 2) AS urgent_tickets_points,
                CASE
                    WHEN (r.expired_insurance_active_bookings > 0) THEN round(s.expired_insurance_weight, 2)
                    ELSE (0)::numeric
                END AS expired_insurance_points
           FROM (raw r
             CROSS JOIN settings s)
        )
 SELECT p.customer_id,
    (p.total_spend)::numeric(12,2) AS lifetime_value,
    (LEAST((100)::numeric, ((((p.overdue_points + p.failed_payments_points) + p.cancellation_points) + p.urgent_tickets_points) + p.expired_insurance_points)))::numeric(5,2) AS risk_score,
    p.booking_count,
    p.last_booking_at,
    p.bookings_total,
    p.bookings_cancelled,
    (p.overdue_balance)::numeric(12,2) AS overdue_balance,
    p.failed_payments_90d,
    p.urgent_open_tickets,
    p.expired_insurance_active_bookings,
    (p.overdue_points)::numeric(5,2) AS overdue_points,
    (p.failed_payments_points)::numeric(5,2) AS failed_payments_points,
    (p.cancellation_points)::numeric(5,2) AS cancellation_points,
    (p.urgent_tickets_points)::numeric(5,2) AS urgent_tickets_points,
    (p.expired_insurance_points)::numeric(5,2) AS expired_insurance_points
   FROM pointed p;

COMMENT ON VIEW private.customer_score_inputs IS 'Every customer''s score inputs and risk points as of now; read by private.score_customers.';

CREATE VIEW private.effective_customer_scores WITH (security_invoker='true') AS
 SELECT u.id AS customer_id,
    COALESCE(o.score, u.risk_score) AS risk_score,
    u.risk_score AS computed_risk_score,
    u.lifetime_value,
    o.score AS override_score,
    o.reason AS override_reason,
    o.expires_at AS override_expires_at,
    o.created_by AS override_created_by,
    o.created_at AS override_created_at
   FROM (public.users u
     LEFT JOIN public.customer_risk_overrides o ON (((o.customer_id = u.id) AND ((o.expires_at IS NULL) OR (o.expires_at > now())))));

COMMENT ON VIEW private.effective_customer_scores IS 'The one definition of the effective risk (active override, else computed) with lifetime value; segments facts and summaries read it.';

CREATE VIEW public.customer_effective_risk WITH (security_invoker='true') AS
 SELECT e.customer_id,
    e.risk_score,
    e.computed_risk_score,
    e.override_score,
    e.override_expires_at,
    private.risk_level(e.risk_score) AS risk_level
   FROM private.effective_customer_scores e
  WHERE (( SELECT private.is_admin() AS is_admin) OR ( SELECT private.is_trusted() AS is_trusted));

COMMENT ON VIEW public.customer_effective_risk IS 'The effective risk of every customer (docs/api.md §5: the active admin override, else users.risk_score) and its level. Admin only.';

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _010_validate BEFORE INSERT OR UPDATE ON public.customer_risk_overrides FOR EACH ROW EXECUTE FUNCTION private.tg_customer_risk_overrides__validate();

CREATE TRIGGER _010_validate BEFORE INSERT OR UPDATE ON public.scoring_settings FOR EACH ROW EXECUTE FUNCTION private.tg_scoring_settings__validate();

CREATE TRIGGER _020_check_pairs AFTER INSERT OR UPDATE ON public.scoring_settings FOR EACH STATEMENT EXECUTE FUNCTION private.tg_scoring_settings__check_pairs();

CREATE TRIGGER _020_revision BEFORE INSERT OR UPDATE ON public.customer_risk_overrides FOR EACH ROW EXECUTE FUNCTION private.tg_customer_risk_overrides__revision();

CREATE TRIGGER _100_timeline AFTER INSERT OR DELETE OR UPDATE ON public.customer_risk_overrides FOR EACH ROW EXECUTE FUNCTION private.tg_customer_risk_overrides__timeline();

CREATE TRIGGER _200_facts_delete AFTER DELETE ON public.customer_risk_overrides REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('risk');

CREATE TRIGGER _200_facts_insert AFTER INSERT ON public.customer_risk_overrides REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('risk');

CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.customer_risk_overrides REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('risk');

CREATE TRIGGER _800_erase_scores AFTER DELETE ON public.users REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_delete_dependents('customer_id', 'public.customer_scores', 'public.customer_score_history');

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON public.customer_risk_overrides FOR EACH ROW EXECUTE FUNCTION private.tg_audit('customer_id');

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON public.scoring_settings FOR EACH ROW EXECUTE FUNCTION private.tg_audit('key');

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

call private.staff_access('public.customer_risk_overrides', read_by => 'admin', write_by => 'admin');
call private.staff_access('public.customer_score_history', read_by => 'admin');
call private.staff_access('public.customer_scores', read_by => 'admin');
call private.staff_access('public.scoring_settings', read_by => 'admin', write_by => 'admin', writes => '{update}');

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select on table
  private.effective_customer_scores,
  public.customer_effective_risk
to authenticated, service_role;
grant select on table
  public.customer_score_history,
  public.customer_scores
to service_role;
grant select, insert, update, delete on table public.customer_risk_overrides to service_role;
grant select, update on table public.scoring_settings to service_role;
grant select, usage on sequence public.customer_score_history_id_seq to authenticated;
grant select, update, usage on sequence public.customer_score_history_id_seq to service_role;
grant execute on function
  private.effective_risk_score(uuid),
  private.risk_level(numeric),
  private.scoring_setting(text),
  public.clear_risk_override(uuid),
  public.override_risk(uuid,numeric,text,timestamp with time zone)
to authenticated, service_role;
grant execute on function
  private.expire_risk_overrides(),
  private.score_customers()
to service_role;

reset search_path;
reset check_function_bodies;
