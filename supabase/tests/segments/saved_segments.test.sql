-- Saved segments: insert and update refuse an invalid definition with the validator's error and
-- path and write nothing; version counts definition changes; updated_by; audit; duplicate_segment;
-- the segment manager view.
begin;
select plan(22);

select tests.create_user('seg-admin-' || gen_random_uuid() || '@segtest.test', '{admin}', 'Sam Segment') as admin_id \gset
select tests.create_user('seg-admin2-' || gen_random_uuid() || '@segtest.test', '{admin}', 'Ola Other') as admin2_id \gset


select tests.act_as(:'admin_id');
select matches(tests.raised($$insert into public.customer_segments (name, definition)
  values ('segtest bad', '{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":5}]}')$$),
  '^22023 definition \$\.rules\[0\]\.value: 5 must be a string', 'insert refuses an invalid definition naming the path');
select is((select count(*)::int from public.customer_segments where name = 'segtest bad'), 0, 'and writes nothing');

insert into public.customer_segments (name, description, definition)
values ('segtest Oslo', 'Customers in Oslo', '{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"Oslo"}]}')
returning id as seg_id \gset
select is((select version from public.customer_segments where id = :'seg_id'), 1, 'a new segment is version 1');
select is((select created_by from public.customer_segments where id = :'seg_id'), :'admin_id'::uuid, 'created_by is the caller');
select is((select updated_by from public.customer_segments where id = :'seg_id'), :'admin_id'::uuid, 'updated_by is the caller');
select is((select count(*)::int from public.audit_log where entity = 'customer_segments' and entity_id = :'seg_id' and action = 'insert'), 1,
          'creating a segment is audited');

select matches(tests.raised(format($$update public.customer_segments set definition = '{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"Oslo"}],"sql":"drop"}' where id = %L$$, :'seg_id')),
  '^22023 definition \$\.sql: a group has only the keys', 'update refuses an invalid definition naming the path');
select is((select definition -> 'rules' -> 0 ->> 'value' from public.customer_segments where id = :'seg_id'), 'Oslo', 'and changes nothing');

select tests.act_as(:'admin2_id');
update public.customer_segments set description = 'Oslo people' where id = :'seg_id';
select is((select version from public.customer_segments where id = :'seg_id'), 1, 'a description change keeps the version');
select is((select updated_by from public.customer_segments where id = :'seg_id'), :'admin2_id'::uuid, 'updated_by follows the last editor');
update public.customer_segments set definition = '{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"Bergen"}]}' where id = :'seg_id';
select is((select version from public.customer_segments where id = :'seg_id'), 2, 'a definition change bumps the version');
select is((select count(*)::int from public.audit_log where entity = 'customer_segments' and entity_id = :'seg_id' and action = 'update'), 2,
          'each edit is audited');
select is((select after -> 'definition' -> 'rules' -> 0 ->> 'value' from public.audit_log
            where entity = 'customer_segments' and entity_id = :'seg_id' and action = 'update' order by id desc limit 1), 'Bergen',
          'the audit row holds the new definition');

-- duplicate
select public.duplicate_segment(:'seg_id') as dup_id \gset
select is((select name from public.customer_segments where id = :'dup_id'), 'segtest Oslo (copy)', 'a duplicate is named "(copy)"');
select is((select definition from public.customer_segments where id = :'dup_id'), (select definition from public.customer_segments where id = :'seg_id'),
          'with the same definition');
select is((select version from public.customer_segments where id = :'dup_id'), 1, 'as version 1');
select public.duplicate_segment(:'seg_id') as dup2_id \gset
select is((select name from public.customer_segments where id = :'dup2_id'), 'segtest Oslo (copy 2)', 'a second copy gets a number');
select public.duplicate_segment(:'seg_id', 'segtest Renamed') as dup3_id \gset
select is((select name from public.customer_segments where id = :'dup3_id'), 'segtest Renamed', 'a given name is used');
select throws_ok(format($$select public.duplicate_segment(%L, 'segtest renamed')$$, :'seg_id'), '23505', null, 'a taken name is refused');

-- manager view
select is((select row(name, description, version, updated_by_name, usage, usage_count)::text from public.segment_manager where id = :'seg_id'),
          row('segtest Oslo', 'Oslo people', 2, 'Ola Other', '[]'::jsonb, 0)::text, 'the segment manager shows name, description, version, editor and usage');
select tests.act_as_postgres();
insert into public.campaigns (id, name, channel, content, audience, segment_id, created_at)
values ('50000000-0000-4000-a000-0000000000c1', 'segtest campaign', 'email', '{"subject":"s","text":"t"}', '{}', :'seg_id', '2026-01-05 10:00+00');
select tests.act_as(:'admin2_id');
select is((select usage from public.segment_manager where id = :'seg_id'),
          '[{"campaign_id":"50000000-0000-4000-a000-0000000000c1","name":"segtest campaign","used_at":"2026-01-05T10:00:00+00:00"}]'::jsonb,
          'usage lists the campaigns that used the segment');
select tests.act_as_postgres();
select is((select count(*)::int from public.audit_log where entity = 'customer_segments' and action = 'insert' and entity_id = :'dup_id'), 1, 'duplicates are audited');

select * from finish();
rollback;
