-- refresh_segment applies only the difference: entries inserted, exits deleted, unchanged rows
-- untouched; count and time stored; each entry and exit a segment timeline event. The nightly
-- job is registered once under its name.
begin;
select plan(17);

select * from tests.segment_world(4, 'R', 'Zqx Refreshville') \gset

select tests.act_as(:'admin_id');
insert into public.customer_segments (name, definition, auto_refresh)
values ('segtest refresh', '{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"zqx refreshville"}]}', true)
returning id as seg_id \gset

select is(public.refresh_segment(:'seg_id') - 'refreshed_at' - 'segment_id', '{"count":4,"entered":4,"exited":0}'::jsonb, 'first refresh: everyone enters');
select is((select last_count from public.customer_segments where id = :'seg_id'), 4, 'the count is stored');
select ok((select last_refreshed_at is not null from public.customer_segments where id = :'seg_id'), 'the time is stored');
select is((select count(*)::int from public.customer_segment_members where segment_id = :'seg_id'), 4, 'members are stored');
select is((select count(*)::int from public.customer_timeline_events where event_type = 'segment' and reference_id = :'seg_id'
            and metadata ->> 'change' = 'entered'), 4, 'each entry is a segment timeline event');
select is((select title from public.customer_timeline_events where event_type = 'segment' and reference_id = :'seg_id' limit 1),
          'Entered segment segtest refresh', 'titled with the segment name');

create temporary table t_before as select customer_id, entered_at, ctid::text as row_version from public.customer_segment_members where segment_id = :'seg_id';
grant select on t_before to authenticated;
select is(public.refresh_segment(:'seg_id') - 'refreshed_at' - 'segment_id', '{"count":4,"entered":0,"exited":0}'::jsonb, 'no change: an empty diff');
select is((select count(*)::int from public.customer_timeline_events where event_type = 'segment' and reference_id = :'seg_id'), 4,
          'an empty diff writes no events');

-- r1 leaves (moves away), r5 arrives
select tests.act_as_postgres();
update public.users set city = 'Elsewhere' where id = (select id from t_people where i = 1);
insert into t_people (name, id, i) select 'R5', tests.create_user('seg-r5-' || gen_random_uuid() || '@segtest.test', '{}', 'R5', 'ZQX REFRESHVILLE'), 5;
select tests.act_as(:'admin_id');
select is(public.refresh_segment(:'seg_id') - 'refreshed_at' - 'segment_id', '{"count":4,"entered":1,"exited":1}'::jsonb, 'one in, one out');
select is((select array_agg(customer_id order by customer_id) from public.customer_segment_members where segment_id = :'seg_id'),
          (select array_agg(id order by id) from t_people where i <> 1), 'members are the new set');
select is((select count(*)::int from public.customer_segment_members m join t_before b using (customer_id)
            where m.segment_id = :'seg_id' and m.ctid::text = b.row_version), 3, 'members who stayed were not rewritten');
select is((select customer_id from public.customer_timeline_events where event_type = 'segment' and reference_id = :'seg_id'
            and metadata ->> 'change' = 'exited'), (select id from t_people where i = 1), 'the exit is a timeline event of the customer who left');
select is((select title from public.customer_timeline_events where event_type = 'segment' and reference_id = :'seg_id' and metadata ->> 'change' = 'exited'),
          'Left segment segtest refresh', 'titled as a departure');
select is((select count(*)::int from public.audit_log where entity = 'customer_segments' and entity_id = :'seg_id' and action = 'update'), 0,
          'a refresh (new count and time) is not an edit in the audit log');

select tests.act_as(:'customer_id');
select throws_ok(format('select public.refresh_segment(%L)', :'seg_id'), '42501', null, 'a customer may not refresh segments');
select throws_ok(format('select private.apply_segment_refresh(%L)', :'seg_id'), '42501', null, 'nor call the private refresh directly');

select tests.act_as_postgres();
select is((select count(*)::int from cron.job where jobname = 'crm_refresh_segments' and command = 'select private.refresh_auto_segments()'), 1,
          'the nightly job is registered once');

select * from finish();
rollback;
