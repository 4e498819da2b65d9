-- The source of a consent change follows from who calls and through which path: every
-- (caller x source x path) pair, each attempt in its own rolled-back subtransaction. A refusal is
-- 42501 and writes nothing (no consent row change, no history row, no audit row).
begin;
select plan(234);
-- double opt-in has its own test (consent/double_opt_in); here grants take effect at once
update public.consent_settings set double_opt_in = false;

select * from tests.consent_cast('matrix') \gset
-- the customer starts with push consent granted by staff
select public.set_customer_consent(:'cust_id', 'push', true, 'signup');

-- Runs stmt as caller, always rolls it back; answers 'ok' or the SQLSTATE. A refusal that wrote
-- anything answers 'WROTE ' || sqlstate, which no expectation matches.
create function pg_temp.attempt(caller text, caller_id uuid, stmt text)
returns text
language plpgsql
as $$
declare
  fingerprint text;
  outcome text;
  state text;
  msg text;
begin
  select count(*) || '/' || (select count(*) from public.customer_consent_history) || '/' || (select count(*) from public.audit_log)
         || '/' || coalesce((select string_agg(c::text, ',' order by channel) from public.customer_consent c), '')
    into fingerprint from public.customer_consent;
  begin
    case caller
      when 'anon' then perform tests.act_as_anon();
      when 'service' then perform tests.act_as_service();
      else perform tests.act_as(caller_id);
    end case;
    execute stmt;
    perform tests.act_as_postgres();
    raise exception using errcode = 'P0001', message = '__rolled_back__';
  exception when others then
    get stacked diagnostics state = returned_sqlstate, msg = message_text;
    perform tests.act_as_postgres();
    outcome := case when msg = '__rolled_back__' then 'ok' else state end;
  end;
  if outcome <> 'ok' and fingerprint <> (
       select count(*) || '/' || (select count(*) from public.customer_consent_history) || '/' || (select count(*) from public.audit_log)
              || '/' || coalesce((select string_agg(c::text, ',' order by channel) from public.customer_consent c), '')
         from public.customer_consent) then
    outcome := 'WROTE ' || outcome;
  end if;
  return outcome;
end
$$;

create temp table callers (caller text, caller_id uuid);
insert into callers values ('anon', null), ('customer', :'cust_id'), ('admin', :'admin_id'), ('admin+communications', :'comms_id'),
  ('service', null);
create temp table sources (source text);
insert into sources values (null), ('admin'), ('self_service'), ('signup'), ('import'), ('sendgrid'), ('twilio_inbound'),
  ('twilio_status'), ('system');

-- What the rules allow through the RPC.
create function pg_temp.expected(caller text, source text, enabled boolean)
returns text language sql immutable as $$
  select case
    when caller = 'anon' then '42501'
    when source in ('sendgrid', 'twilio_inbound', 'twilio_status') then '42501'
    when caller = 'customer' then case when source is null or source = 'self_service' then 'ok' else '42501' end
    when caller in ('admin', 'admin+communications') then case when source is null or source in ('admin', 'signup', 'import') then 'ok' else '42501' end
    when caller = 'service' then case when source = 'self_service' and enabled then '42501' else 'ok' end
  end
$$;

create temp table matrix as
select c.caller, c.caller_id, s.source, p.path,
       case p.path
         when 'rpc grant' then format('select public.set_customer_consent(%L, ''email'', true, %L)', :'cust_id', s.source)
         when 'rpc revoke' then format('select public.set_customer_consent(%L, ''push'', false, %L)', :'cust_id', s.source)
         when 'insert' then format('insert into public.customer_consent (customer_id, channel, enabled, source) values (%L, ''sms'', true, %L)',
                                   :'cust_id', coalesce(s.source, 'admin'))
         when 'update' then format('update public.customer_consent set enabled = false, source = %L, granted_at = ''2001-01-01'' where customer_id = %L',
                                   coalesce(s.source, 'admin'), :'cust_id')
         when 'delete' then format('delete from public.customer_consent where customer_id = %L', :'cust_id')
       end as stmt,
       case when p.path in ('rpc grant', 'rpc revoke') then pg_temp.expected(c.caller, s.source, p.path = 'rpc grant') else '42501' end as expected
  from callers c cross join sources s
 cross join (values ('rpc grant'), ('rpc revoke'), ('insert'), ('update'), ('delete')) p(path);

select is(pg_temp.attempt(m.caller, m.caller_id, m.stmt), m.expected,
          format('%s, source %s, %s: %s', m.caller, coalesce(m.source, '(none)'), m.path,
                 case m.expected when 'ok' then 'allowed' else 'refused with ' || m.expected end))
  from matrix m order by m.caller, m.source nulls first, m.path;

-- the history is not writable either
select is(pg_temp.attempt(c.caller, c.caller_id,
            format('insert into public.customer_consent_history (customer_id, channel, new_enabled, source) values (%L, ''email'', true, ''self_service'')', :'cust_id')),
          '42501', format('%s cannot insert consent history', c.caller))
  from callers c order by c.caller;

-- the derived sources
select tests.act_as(:'cust_id');
select is(public.set_customer_consent(:'cust_id', 'sms', true) ->> 'source', 'self_service', 'a customer''s own change is self_service');
select tests.act_as(:'admin_id');
select is(public.set_customer_consent(:'cust_id', 'sms', false) ->> 'source', 'admin', 'staff default to admin');
select is(public.set_customer_consent(:'admin_id', 'sms', false) ->> 'source', 'self_service', 'staff on their own record are self_service');
select tests.act_as_service();
select is(public.set_customer_consent(:'cust_id', 'sms', false) ->> 'source', 'system', 'the service role defaults to system');
select tests.act_as_postgres();

select * from finish();
rollback;
