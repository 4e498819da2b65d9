-- The segment language's whitelist, readable through the API: the admin console builds its
-- react-querybuilder fields and operators from this at runtime, so the UI and the validator read
-- the same three private functions (no second copy to drift).

create or replace function public.segment_whitelist()
returns jsonb
language sql
stable
set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'field', f.field,
           'kind', private.segment_field_kind(f.field),
           'operators', to_jsonb(private.segment_operators(private.segment_field_kind(f.field))))
         order by f.n), '[]'::jsonb)
    from unnest(private.segment_fields()) with ordinality as f(field, n)
$$;
comment on function public.segment_whitelist() is
  'The v1 segment whitelist: [{"field","kind","operators":[...]}] in the validator''s order (kinds: text, integer, number, date, array, boolean).';
revoke execute on function public.segment_whitelist() from public, anon;
grant execute on function public.segment_whitelist() to authenticated, service_role;
