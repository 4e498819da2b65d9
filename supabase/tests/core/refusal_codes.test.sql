-- Every refusal a function or trigger in public/private raises reaches a PostgREST caller as a 4xx:
-- no plpgsql source raises a SQLSTATE PostgREST 12 answers with a 5xx (or, for 40001, retries
-- forever). Mapping verified against PostgREST 12.0.2: docs/errors.md.
begin;
select plan(5);

-- Every SQLSTATE (or condition name) a plpgsql function of `schemas` raises literally.
create function pg_temp.raised_codes(schemas text[])
returns table (fn text, code text)
language sql stable as $$
  select p.oid::regprocedure::text, upper(m[1])
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    join pg_language l on l.oid = p.prolang and l.lanname = 'plpgsql'
   cross join lateral regexp_matches(p.prosrc,
         $re$(?:errcode\s*=\s*'|sqlstate\s+')([0-9A-Za-z_]+)'|raise\s+(?:exception\s+)?([a-z_]{6,})\s*(?:;|using)$re$, 'gi') r
   cross join lateral (select array[coalesce(r[1], r[2])]) m(m)
   where n.nspname = any (raised_codes.schemas)
$$;

-- The codes PostgREST answers with 5xx (or never answers): classes 08 (503), 25, 38, 39, 40 (40001 is
-- retried by PostgREST: the request hangs), 53 (503), 55, 57, 58, F0, HV, XX, P0002-P0004, PT5xx,
-- and the condition names of those classes.
create function pg_temp.server_error_codes(schemas text[])
returns table (fn text, code text)
language sql stable as $$
  select fn, code from pg_temp.raised_codes(server_error_codes.schemas)
   where code ~ '^(08|25|38|39|40|53|55|57|58|F0|HV|XX)'
      or code in ('P0002', 'P0003', 'P0004')
      or code ~ '^PT5'
      or lower(code) in ('no_data_found', 'too_many_rows', 'assert_failure', 'object_not_in_prerequisite_state',
                         'lock_not_available', 'object_in_use', 'query_canceled', 'serialization_failure',
                         'deadlock_detected', 'internal_error', 'data_corrupted', 'admin_shutdown',
                         'insufficient_resources', 'disk_full', 'out_of_memory', 'too_many_connections',
                         'configuration_limit_exceeded', 'io_error', 'system_error')
$$;

-- The scanner sees what it must refuse, in each spelling.
create function private.zz_refusal_probe(k int) returns void language plpgsql set search_path = '' as $$
begin
  if k = 1 then raise exception using errcode = '55000', message = 'old style'; end if;
  if k = 2 then raise sqlstate 'P0002' using message = 'not found'; end if;
  if k = 3 then raise no_data_found; end if;
  if k = 4 then raise exception query_canceled using message = 'x'; end if;
end $$;
select set_eq(
  $$select code from pg_temp.server_error_codes(array['private']) where fn = 'private.zz_refusal_probe(integer)'$$,
  array['55000', 'P0002', 'NO_DATA_FOUND', 'QUERY_CANCELED'],
  'the scan finds 5xx-mapped codes written as errcode =, sqlstate and condition names');
drop function private.zz_refusal_probe(int);

select is_empty(
  $$select fn || ' raises ' || code from pg_temp.server_error_codes(array['public', 'private'])$$,
  'no function in public or private raises a SQLSTATE that PostgREST answers with 5xx');

-- The converted refusals are where they should be (the scan reads the real sources).
select ok(exists (select 1 from pg_temp.raised_codes(array['private'])
                   where fn = 'private.tg_customer_consent__stamp()' and code = 'PT409'),
          'the customer''s own opt-out precedence raises PT409 (HTTP 409)');
select ok(exists (select 1 from pg_temp.raised_codes(array['public'])
                   where fn like 'customer_timeline(%' and code = 'PT404'),
          'an unknown customer in customer_timeline raises PT404 (HTTP 404)');
select ok(exists (select 1 from pg_temp.raised_codes(array['public'])
                   where fn like 'evaluate_segment(%' and code = '54001'),
          'a segment statement timeout raises 54001 (HTTP 413)');

select * from finish();
rollback;
