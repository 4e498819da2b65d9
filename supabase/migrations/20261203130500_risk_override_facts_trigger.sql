-- The risk overrides' facts triggers use the one facts trigger function
-- (private.tg_refresh_customer_facts('risk')), like every table whose rows name their customer;
-- their two own trigger functions go.
set check_function_bodies = false;

CREATE OR REPLACE FUNCTION private.refresh_facts(facts text, customer_ids uuid[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
-- The facts triggers' entry: one kind of facts for the customers a statement touched (once each)
declare
  ids uuid[] := array(select distinct x.id from unnest(refresh_facts.customer_ids) x(id) where x.id is not null);
begin
  if cardinality(ids) = 0 then
    return;
  end if;
  case refresh_facts.facts
    when 'booking' then perform private.refresh_booking_facts(ids);
    when 'spend' then perform private.refresh_spend_facts(ids);
    when 'tag' then perform private.refresh_tag_facts(ids);
    when 'consent' then perform private.refresh_consent_facts(ids);
    when 'engagement' then perform private.refresh_engagement_facts(ids);
    when 'profile' then perform private.refresh_profile_facts(ids);
    when 'risk' then perform private.refresh_risk_facts(ids);
  end case;
end
$$;

drop trigger _200_facts_delete on public.customer_risk_overrides;
drop trigger _200_facts_insert on public.customer_risk_overrides;
drop trigger _200_facts_update on public.customer_risk_overrides;
CREATE TRIGGER _200_facts_delete AFTER DELETE ON public.customer_risk_overrides REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('risk');
CREATE TRIGGER _200_facts_insert AFTER INSERT ON public.customer_risk_overrides REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('risk');
CREATE TRIGGER _200_facts_update AFTER UPDATE ON public.customer_risk_overrides REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION private.tg_refresh_customer_facts('risk');
drop function private.tg_customer_risk_overrides__facts_new();
drop function private.tg_customer_risk_overrides__facts_old();
