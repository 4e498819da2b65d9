-- The audit trigger on customer_segments compared a row of four columns with IS DISTINCT FROM;
-- Postgres stores that as nested ORs that do not read back the same way, so a schema file
-- holding its deparsed form never matched the migration under `supabase db diff`. The same
-- condition, written as the flat OR Postgres prints.
drop trigger _900_audit_update on public.customer_segments;
create trigger _900_audit_update after update on public.customer_segments
  for each row
  when (old.name is distinct from new.name or old.description is distinct from new.description
        or old.definition is distinct from new.definition or old.auto_refresh is distinct from new.auto_refresh)
  execute function private.tg_audit('id');
