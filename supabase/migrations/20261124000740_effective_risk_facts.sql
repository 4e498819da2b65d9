-- Wire the effective risk into the segments' customer_facts (after 20261124000500_customer_facts).
create or replace function private.customer_risk_scores(customer_ids uuid[])
returns table (customer_id uuid, risk_score numeric)
language sql
stable
set search_path = ''
as $$
  select e.customer_id, e.risk_score
    from private.effective_customer_scores e
   where e.customer_id = any (customer_risk_scores.customer_ids)
$$;

create or replace function private.tg_customer_risk_overrides__facts_new()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.refresh_risk_facts(array(select distinct n.customer_id from new_rows n));
  return null;
end
$$;

create or replace function private.tg_customer_risk_overrides__facts_old()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.refresh_risk_facts(array(select distinct o.customer_id from old_rows o));
  return null;
end
$$;

create trigger _200_facts_insert after insert on public.customer_risk_overrides
  referencing new table as new_rows for each statement execute function private.tg_customer_risk_overrides__facts_new();
create trigger _200_facts_update after update on public.customer_risk_overrides
  referencing new table as new_rows for each statement execute function private.tg_customer_risk_overrides__facts_new();
create trigger _200_facts_delete after delete on public.customer_risk_overrides
  referencing old table as old_rows for each statement execute function private.tg_customer_risk_overrides__facts_old();
