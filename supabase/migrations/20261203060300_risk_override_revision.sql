-- Risk override timeline events without a side channel or the clock.
-- * A change of an override in place (a direct update through the API) was keyed
--   'changed@' || now()::text: the text depended on the session's TimeZone, and two changes in one
--   transaction had the same key, so the second never reached the timeline. The row now counts
--   its revisions (a trigger sets them; a written value is ignored) and a change is keyed
--   'changed#<revision>'.
-- * Whether an override expired or was cleared came from the session setting
--   crm.risk_override_end, set by the expiry job. It is now read from the row: an override that
--   ends at or after its expires_at expired; one that ends before was cleared.

alter table public.customer_risk_overrides add column revision integer not null default 1;
comment on column public.customer_risk_overrides.revision is
  'Counts changes of this override: 1 when set, +1 per update in place (set by a trigger; written values are ignored).';

create function private.tg_customer_risk_overrides__revision()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.revision := case when tg_op = 'UPDATE' and old.id = new.id then old.revision + 1 else 1 end;
  return new;
end
$$;
revoke all on function private.tg_customer_risk_overrides__revision() from public, anon, authenticated, service_role;

create trigger _020_revision before insert or update on public.customer_risk_overrides
  for each row execute function private.tg_customer_risk_overrides__revision();

create or replace function private.tg_customer_risk_overrides__timeline()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
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

create or replace function private.expire_risk_overrides()
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  n integer;
begin
  delete from public.customer_risk_overrides o where o.expires_at <= now();
  get diagnostics n = row_count;
  return n;
end
$$;
