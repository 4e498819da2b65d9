-- audit_log: tag, assignment and consent changes are recorded with actor, action, before and
-- after; nobody may change or remove an audit row.
begin;
select plan(12);

select tests.create_user('audit-admin@example.test', array['admin']) as admin_id \gset
select tests.create_user('audit-cust@example.test') as cust_id \gset

select tests.act_as(:'admin_id');
insert into public.customer_tags (name, color) values ('Audited', '#112233');
update public.customer_tags set color = '#445566' where name = 'Audited';
insert into public.customer_tag_members (customer_id, tag_id) select :'cust_id', id from public.customer_tags where name = 'Audited';
delete from public.customer_tag_members where customer_id = :'cust_id';
delete from public.customer_tags where name = 'Audited';

select tests.act_as_postgres();
select results_eq(
  $$select action, actor_id, actor_role from public.audit_log where entity = 'customer_tags' and (after ->> 'name' = 'Audited' or before ->> 'name' = 'Audited') order by id$$,
  format($$values ('insert'::text, %1$L::uuid, 'authenticated'::text), ('update', %1$L, 'authenticated'), ('delete', %1$L, 'authenticated')$$, :'admin_id'),
  'a tag''s insert, update and delete are audited with the actor');
select is((select before ->> 'color' || '->' || (after ->> 'color') from public.audit_log where entity = 'customer_tags' and action = 'update' and after ->> 'name' = 'Audited'),
  '#112233->#445566', 'an update keeps before and after');
select is((select array_agg(action order by id) from public.audit_log where entity = 'customer_tag_members' and entity_id like :'cust_id' || ':%'),
  array['insert', 'delete'], 'tag assignment and removal are audited');
select ok((select bool_and(entity_id ~ '^[0-9a-f-]{36}:[0-9a-f-]{36}$') from public.audit_log where entity = 'customer_tag_members' and entity_id like :'cust_id' || ':%'),
  'an assignment''s entity id is customer:tag');

-- consent writes from any path are audited
select public.set_customer_consent(:'cust_id', 'push', true, 'import', 'CSV import');
select is((select after ->> 'source' from public.audit_log where entity = 'customer_consent' and entity_id = :'cust_id' || ':push'),
  'import', 'consent changes are audited');

-- nobody changes the audit log
select tests.act_as(:'admin_id');
select ok((select count(*) from public.audit_log) > 0, 'an admin reads the audit log');
select throws_ok($$update public.audit_log set action = 'forged'$$, '42501', null, 'an admin cannot update audit rows');
select throws_ok($$delete from public.audit_log$$, '42501', null, 'an admin cannot delete audit rows');
select throws_ok($$insert into public.audit_log (actor_role, action, entity) values ('x', 'forged', 'x')$$, '42501', null,
  'an admin cannot forge audit rows');
select tests.act_as(:'cust_id');
select is_empty($$select 1 from public.audit_log$$, 'a customer reads no audit rows');
select tests.act_as_postgres();
select throws_ok($$update public.audit_log set action = 'forged'$$, '42501', 'audit_log is append-only: update is not allowed',
  'not even the owner can update audit rows');
select throws_ok($$truncate public.audit_log$$, '42501', null, 'nor truncate the audit log');

select * from finish();
rollback;
