-- No function of ours is executable by PUBLIC or anon: each grant is explicit.
begin;
select plan(4);

select is_empty($$
  select p.oid::regprocedure::text
    from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
   where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
     and a.grantee = 0 and a.privilege_type = 'EXECUTE'$$,
  'no function in public or private is executable by PUBLIC');
select is_empty($$
  select p.oid::regprocedure::text
    from pg_proc p, aclexplode(p.proacl) a
   where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
     and a.grantee = 'anon'::regrole and a.privilege_type = 'EXECUTE'$$,
  'no function in public or private is executable by anon');

select tests.create_user('fp-admin@example.test', array['admin']) as admin_id \gset
select tests.act_as(:'admin_id');
select throws_ok($$select private.record_timeline_event(auth.uid(), 'note', 'forged', auth.uid(), 'x', now(), 'forged')$$,
  '42501', null, 'a signed-in user cannot write timeline events directly');
select throws_ok($$select private.write_audit('forged', 'x', 'x')$$, '42501', null, 'nor forge audit rows');

select * from finish();
rollback;
