-- Consent proof: the current state row points at the history row that set it, so a send can
-- name the exact consent record that allowed it.

alter table public.customer_consent add column consent_history_id bigint;

-- Security invoker on purpose: is_trusted()/is_admin() must see the caller.
create or replace function private.tg_customer_consent__stamp()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not private.is_trusted() and not private.is_admin() then
    new.source := 'self_service';
  end if;
  if tg_op = 'INSERT' or new.enabled is distinct from old.enabled then
    if new.enabled then
      new.granted_at := now();
    else
      new.revoked_at := now();
    end if;
  end if;
  new.updated_by := auth.uid();
  new.updated_at := now();
  -- the history row written after this change gets this id
  new.consent_history_id := nextval(pg_get_serial_sequence('public.customer_consent_history', 'id'));
  return new;
end
$$;

create or replace function private.tg_customer_consent__history()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.customer_consent_history (id, customer_id, channel, old_enabled, new_enabled, source, note, changed_by, changed_at)
  overriding system value
  values (new.consent_history_id, new.customer_id, new.channel, case when tg_op = 'UPDATE' then old.enabled end, new.enabled,
          new.source, new.note, new.updated_by, new.updated_at);
  return null;
end
$$;

grant usage on sequence public.customer_consent_history_id_seq to authenticated, service_role;

-- Rows written before this migration point at their latest history row.
update public.customer_consent c
   set consent_history_id = h.id
  from (select distinct on (customer_id, channel) customer_id, channel, id
          from public.customer_consent_history order by customer_id, channel, id desc) h
 where h.customer_id = c.customer_id and h.channel = c.channel;
