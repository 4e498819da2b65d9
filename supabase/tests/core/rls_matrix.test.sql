-- The RLS matrix of CONTRACT §2 for every table of the core: anon, customer, admin and
-- admin+communications, each × select, insert, update, delete. A refused write raises 42501;
-- a filtered read returns only what the role may see; a filtered update/delete touches nothing.
-- customer_consent is written only through set_customer_consent (direct writes: 42501) and users
-- rows are removed only through erase_customer or the Auth server (delete: 42501).
begin;
select plan(353);

-- Fixtures ----------------------------------------------------------------------------------
create temporary table ids as
select tests.create_user('rls-customer@example.test') as c,
       tests.create_user('rls-other@example.test') as d,
       tests.create_user('rls-admin@example.test', array['admin']) as a,
       tests.create_user('rls-comms@example.test', array['admin', 'communications']) as ac,
       gen_random_uuid() as x;
insert into auth.users (id, email) select x, 'rls-clone@example.test' from ids;

insert into public.equipment_categories (id, slug, name) values ('10000000-0000-4000-8000-000000000001', 'rls-cat', 'RLS');
insert into public.equipment (id, category_id, name) values
  ('10000000-0000-4000-8000-000000000002', '10000000-0000-4000-8000-000000000001', 'RLS drill'),
  ('10000000-0000-4000-8000-000000000003', '10000000-0000-4000-8000-000000000001', 'RLS saw');
insert into public.bookings (id, customer_id, status, start_date, end_date, total_amount)
select '10000000-0000-4000-8000-000000000004', d, 'confirmed', '2026-05-03', '2026-05-05', 100 from ids;
insert into public.booking_items (booking_id, equipment_id, quantity) values
  ('10000000-0000-4000-8000-000000000004', '10000000-0000-4000-8000-000000000002', 1);
insert into public.logistics_tasks (id, booking_id, kind, scheduled_for)
values ('10000000-0000-4000-8000-000000000005', '10000000-0000-4000-8000-000000000004', 'delivery', '2026-05-03 08:00Z');
insert into public.payments (id, customer_id, booking_id, amount, status)
select '10000000-0000-4000-8000-000000000006', d, '10000000-0000-4000-8000-000000000004', 100, 'succeeded' from ids;
insert into public.manual_payments (id, customer_id, amount, method)
select '10000000-0000-4000-8000-000000000007', d, 50, 'cash' from ids;
insert into public.support_tickets (id, customer_id, subject)
select '10000000-0000-4000-8000-000000000008', d, 'RLS ticket' from ids;
insert into public.support_messages (id, ticket_id, sender_id, body)
select '10000000-0000-4000-8000-000000000009', '10000000-0000-4000-8000-000000000008', d, 'hello' from ids;
insert into public.insurance_documents (id, customer_id, kind, status, expires_at)
select '10000000-0000-4000-8000-00000000000a', d, 'liability_certificate', 'valid', '2027-01-01' from ids;
insert into public.email_logs (id, customer_id, to_email, subject)
select '10000000-0000-4000-8000-00000000000b', d, 'rls-other@example.test', 'Hello' from ids;
insert into public.customer_segments (id, name, definition)
values ('10000000-0000-4000-8000-00000000000c', 'RLS segment',
        '{"version":1,"combinator":"and","not":false,"rules":[{"field":"city","operator":"=","value":"Oslo"}]}');
insert into public.alerts (id, kind, title, customer_id)
select '10000000-0000-4000-8000-00000000000d', 'vip', 'RLS alert', d from ids;
insert into public.customer_tags (id, name) values ('10000000-0000-4000-8000-00000000000e', 'RLS tag');
insert into public.customer_tag_members (customer_id, tag_id) select d, '10000000-0000-4000-8000-00000000000e' from ids;
insert into public.customer_notes (id, customer_id, note, visibility)
select '10000000-0000-4000-8000-00000000000f', d, 'about the other customer', 'internal' from ids
union all select gen_random_uuid(), c, 'shared with the customer', 'shared' from ids
union all select gen_random_uuid(), c, 'internal about the customer', 'internal' from ids;
insert into public.customer_consent (customer_id, channel, enabled, source)
select d, 'email', true, 'admin' from ids union all select c, 'email', true, 'signup' from ids;
select private.record_timeline_event(d, 'note', 'rls_fixture', d, 'fixture', now(), 'RLS fixture event') from ids;

-- One row per table: a template row (target of update/delete by non-admins), the patch that
-- makes an insertable clone of it, its key, and what a customer and an admin may do.
create temporary table fx (
  tbl text primary key, keys text[], tmpl jsonb, patch jsonb,
  own_filter text,          -- a customer sees the rows matching this (null: none)
  c_ins text, c_upd text, c_del text,
  a_ins text, a_upd text, a_del text,
  upd_col text              -- the column an update assigns to itself
);
insert into fx
select t.tbl, t.keys, null, t.patch, t.own_filter, t.c_ins, t.c_upd, t.c_del, t.a_ins, t.a_upd, t.a_del,
       case when t.tbl = 'audit_log' then 'action' when t.patch -> 'id' = 'null'::jsonb then 'customer_id' else t.keys[1] end
  from ids, lateral (values
  ('users', '{id}'::text[], jsonb_build_object('id', x, 'email', 'rls-clone@example.test'), format('id = %L', c), 'denied', 'noop', 'denied', 'ok', 'ok', 'denied'),
  ('user_roles', '{user_id,role}', jsonb_build_object('user_id', c), format('user_id = %L', c), 'denied', 'denied', 'denied', 'denied', 'denied', 'denied'),
  ('equipment_categories', '{id}', '{"id":"20000000-0000-4000-8000-000000000001","slug":"rls-clone"}', null, 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('equipment', '{id}', '{"id":"20000000-0000-4000-8000-000000000002"}', null, 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('bookings', '{id}', '{"id":"20000000-0000-4000-8000-000000000003"}', null, 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('booking_items', '{booking_id,equipment_id}', '{"equipment_id":"10000000-0000-4000-8000-000000000003"}', null, 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('logistics_tasks', '{id}', '{"id":"20000000-0000-4000-8000-000000000004"}', null, 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('payments', '{id}', '{"id":"20000000-0000-4000-8000-000000000005"}', null, 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('manual_payments', '{id}', '{"id":"20000000-0000-4000-8000-000000000006"}', null, 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('support_tickets', '{id}', '{"id":"20000000-0000-4000-8000-000000000007"}', null, 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('support_messages', '{id}', '{"id":"20000000-0000-4000-8000-000000000008"}', null, 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('insurance_documents', '{id}', '{"id":"20000000-0000-4000-8000-000000000009"}', null, 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('email_logs', '{id}', '{"id":"20000000-0000-4000-8000-00000000000a"}', null, 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('customer_segments', '{id}', '{"id":"20000000-0000-4000-8000-00000000000b","name":"RLS clone segment"}', null, 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('alerts', '{id}', '{"id":"20000000-0000-4000-8000-00000000000c"}', null, 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('audit_log', '{id}', '{"id":null}', null, 'denied', 'denied', 'denied', 'denied', 'denied', 'denied'),
  ('customer_tags', '{id}', '{"id":"20000000-0000-4000-8000-00000000000d","name":"RLS clone tag"}', null, 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('customer_tag_members', '{customer_id,tag_id}', jsonb_build_object('customer_id', c), null, 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('customer_notes', '{id}', '{"id":"20000000-0000-4000-8000-00000000000e"}', format('customer_id = %L and visibility = %L', c, 'shared'), 'denied', 'noop', 'noop', 'ok', 'ok', 'ok'),
  ('customer_consent', '{customer_id,channel}', '{"channel":"sms"}', format('customer_id = %L', c), 'denied', 'denied', 'denied', 'denied', 'denied', 'denied'),
  ('customer_consent_history', '{id}', '{"id":null}', null, 'denied', 'denied', 'denied', 'denied', 'denied', 'denied'),
  ('customer_timeline_events', '{id}', '{"id":null,"seq":null,"event_key":"clone"}', null, 'denied', 'denied', 'denied', 'denied', 'denied', 'denied')
  ) as t(tbl, keys, patch, own_filter, c_ins, c_upd, c_del, a_ins, a_upd, a_del);

-- Template: the other customer's row where the table has one, else any row.
do $$
declare r record; d uuid := (select d from ids);
begin
  for r in select * from fx loop
    execute format(
      'update fx set tmpl = (select to_jsonb(t) from public.%I t order by (to_jsonb(t) ->> %L = %L or to_jsonb(t) ->> %L = %L) desc, 1 limit 1) where tbl = %L',
      r.tbl, 'customer_id', d, 'id', d, r.tbl);
  end loop;
end $$;
update fx set tmpl = tmpl || jsonb_build_object('customer_id', (select d from ids), 'channel', 'email')
 where tbl = 'customer_consent';
update fx set tmpl = (select to_jsonb(u) from public.users u where u.id = (select d from ids)) where tbl = 'users';
update fx set tmpl = (select to_jsonb(r) from public.user_roles r where r.user_id = (select a from ids)) where tbl = 'user_roles';
grant select on fx, ids to public;

create function pg_temp.key_cond(keys text[], row_json jsonb) returns text language sql stable as $$
  select string_agg(format('%I::text = %L', k, row_json ->> k), ' and ') from unnest(keys) k
$$;

-- Runs the four commands on every table as one role, returning pgTAP lines.
create function pg_temp.rls_as(who text, actor uuid) returns setof text language plpgsql as $$
declare
  r record; n bigint; expected bigint; clone jsonb; cols text; label text;
  ins text; upd text; del text;
begin
  for r in select * from fx order by tbl loop
    label := format('%s: %s', who, r.tbl);
    -- expected select count, computed with full rights
    perform tests.act_as_postgres();
    if who in ('admin', 'admin+communications') then
      execute format('select count(*) from public.%I', r.tbl) into expected;
    elsif who = 'customer' and r.own_filter is not null then
      execute format('select count(*) from public.%I where %s', r.tbl, r.own_filter) into expected;
    else
      expected := 0;
    end if;
    clone := (r.tmpl || r.patch);
    clone := (select jsonb_object_agg(k, v) from jsonb_each(clone) e(k, v) where v <> 'null'::jsonb);
    select string_agg(format('%I', k), ', ') into cols from jsonb_object_keys(clone) k;

    ins := case who when 'anon' then 'denied' when 'customer' then r.c_ins else r.a_ins end;
    upd := case who when 'anon' then 'denied' when 'customer' then r.c_upd else r.a_upd end;
    del := case who when 'anon' then 'denied' when 'customer' then r.c_del else r.a_del end;

    if who = 'anon' then perform tests.act_as_anon(); else perform tests.act_as(actor); end if;

    -- select
    if who = 'anon' then
      return next throws_ok(format('select count(*) from public.%I', r.tbl), '42501', null, label || ' select is refused');
    else
      execute format('select count(*) from public.%I', r.tbl) into n;
      return next is(n, expected, format('%s select sees %s row(s)', label, expected));
    end if;

    -- insert a clone
    if ins = 'denied' then
      return next throws_ok(
        format('insert into public.%I (%s) select %s from jsonb_populate_record(null::public.%I, %L::jsonb)', r.tbl, cols, cols, r.tbl, clone),
        '42501', null, label || ' insert is refused');
    else
      return next lives_ok(
        format('insert into public.%I (%s) select %s from jsonb_populate_record(null::public.%I, %L::jsonb)', r.tbl, cols, cols, r.tbl, clone),
        label || ' insert is allowed');
    end if;

    -- update the template row (a no-op assignment of its first key)
    if upd = 'denied' then
      return next throws_ok(format('update public.%I set %I = %I where %s', r.tbl, r.upd_col, r.upd_col, pg_temp.key_cond(r.keys, r.tmpl)),
                            '42501', null, label || ' update is refused');
    else
      execute format('update public.%I set %I = %I where %s', r.tbl, r.upd_col, r.upd_col, pg_temp.key_cond(r.keys, r.tmpl));
      get diagnostics n = row_count;
      return next is(n, case upd when 'ok' then 1::bigint else 0::bigint end,
                     format('%s update %s', label, case upd when 'ok' then 'changes the row' else 'touches nothing' end));
    end if;

    -- delete: admins delete their clone, others try the template row
    if del = 'denied' then
      return next throws_ok(format('delete from public.%I where %s', r.tbl, pg_temp.key_cond(r.keys, r.tmpl)),
                            '42501', null, label || ' delete is refused');
    else
      execute format('delete from public.%I where %s', r.tbl,
                     pg_temp.key_cond(r.keys, case when del = 'ok' then clone else r.tmpl end));
      get diagnostics n = row_count;
      return next is(n, case del when 'ok' then 1::bigint else 0::bigint end,
                     format('%s delete %s', label, case del when 'ok' then 'removes the row' else 'touches nothing' end));
    end if;
    perform tests.act_as_postgres();
    -- a clone an admin could insert but not delete is cleared so the next role starts clean
    if ins = 'ok' and del <> 'ok' then
      execute format('delete from public.%I where %s', r.tbl, pg_temp.key_cond(r.keys, clone));
    end if;
  end loop;
end $$;
grant execute on function pg_temp.rls_as(text, uuid), pg_temp.key_cond(text[], jsonb) to public;

select * from pg_temp.rls_as('anon', null);
select * from pg_temp.rls_as('customer', (select c from ids));
select * from pg_temp.rls_as('admin', (select a from ids));
select * from pg_temp.rls_as('admin+communications', (select ac from ids));

-- Every table of the API schema has RLS on.
select is_empty(
  $$select c.relname::text from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity$$,
  'every table in public has row level security enabled');

select * from finish();
rollback;
