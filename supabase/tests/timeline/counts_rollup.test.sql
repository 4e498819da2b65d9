-- The per-type counts come from a rollup per (customer, UTC day, type) plus exact partial days;
-- they equal a plain count for any range, follow inserts and erasures, and events cannot move.
begin;
select plan(9);

select tests.create_user('tl-cnt-customer@example.test') as customer \gset
select tests.create_user('tl-cnt-other@example.test') as other \gset
insert into public.customer_notes (customer_id, note, created_at)
select :'customer', 'n' || i, timestamptz '2026-04-01' + make_interval(hours => i * 5) from generate_series(0, 40) i;
insert into public.payments (customer_id, amount, status, created_at)
select :'customer', 10, 'succeeded', timestamptz '2026-04-01 23:59:59.999999' + make_interval(days => i) from generate_series(0, 8) i;
insert into public.customer_notes (customer_id, note, created_at) values (:'other', 'x', '2026-04-02');

create temporary table ranges (since timestamptz, until timestamptz) on commit drop;
insert into ranges values (null, null), ('2026-04-02 12:00+00', null), (null, '2026-04-05 06:00+00'),
  ('2026-04-02 12:00+00', '2026-04-02 18:00+00'), ('2026-04-02 00:00+00', '2026-04-05 00:00+00'),
  ('2026-04-01 23:59:59.999999+00', '2026-04-06 00:00:00.000001+00'), ('2026-04-03 05:00+00', '2026-04-03 05:00+00'),
  ('2026-04-03 04:59:59+00', '2026-04-08 10:00:01+00'), ('2020-01-01+00', '2030-01-01+00');

select is_empty(format($$
  select r.since, r.until, c.key, c.value
    from ranges r cross join lateral jsonb_each(private.timeline_counts(%1$L, null, r.since, r.until)) c
   where c.value::int <> (select count(*) from public.customer_timeline_events e
                           where e.customer_id = %1$L and e.event_type = c.key
                             and (r.since is null or e.occurred_at >= r.since) and (r.until is null or e.occurred_at < r.until))$$, :'customer'),
  'counts equal a plain count for every range, boundaries inside days included');
select is(private.timeline_counts(:'customer', array['payment', 'note'], '2026-04-02 12:00+00', '2026-04-05 06:00+00'),
  jsonb_build_object('payment', 3, 'note', (select count(*) from public.customer_notes where customer_id = :'customer'
                                              and created_at >= '2026-04-02 12:00+00' and created_at < '2026-04-05 06:00+00')),
  'with a type filter, only those types');
select is((select sum(n)::int from private.customer_timeline_counts where customer_id = :'customer'),
  (select count(*)::int from public.customer_timeline_events where customer_id = :'customer'), 'the rollup holds every event once');

select is((select jsonb_object_agg(event_type, n) from (select event_type, sum(n) as n from private.customer_timeline_totals
                                                           where customer_id = :'customer' group by 1) x),
  (select jsonb_object_agg(event_type, n) from (select event_type, count(*) as n from public.customer_timeline_events
                                                 where customer_id = :'customer' group by 1) x), 'the totals hold every event once');
-- compaction folds the deltas into one row per key and changes no count
create temporary table before_compaction on commit drop as select r.since, r.until, private.timeline_counts(:'customer', null, r.since, r.until) as counts from ranges r;
insert into public.customer_notes (customer_id, note, created_at) values (:'customer', 'late', '2026-04-02 13:00+00'), (:'customer', 'later', '2026-04-02 14:00+00');
update before_compaction set counts = private.timeline_counts(:'customer', null, since, until);
select private.compact_timeline_counts();
select is_empty($$select customer_id, day, event_type from private.customer_timeline_counts group by 1, 2, 3 having count(*) > 1
                  union all select customer_id, null, event_type from private.customer_timeline_totals group by 1, 3 having count(*) > 1$$,
  'after compaction every key has one row');
select is_empty($$select 1 from before_compaction b where b.counts is distinct from private.timeline_counts(
                    (select id from public.users where email = 'tl-cnt-customer@example.test'), null, b.since, b.until)$$,
  'and every count is what it was');
select throws_ok(format($$update public.customer_timeline_events set occurred_at = occurred_at + interval '1 day' where customer_id = %L$$, :'customer'),
  '0A000', null, 'an event''s time cannot change under the rollup');

delete from public.users where id = :'other';
select is_empty(format('select 1 from private.customer_timeline_counts where customer_id = %1$L union all select 1 from private.customer_timeline_totals where customer_id = %1$L', :'other'),
  'an erased customer leaves no counts');

select tests.act_as(:'other');
select throws_ok(format($$select private.timeline_counts(%L, null, null, null)$$, :'customer'), '42501', null, 'counts are for admins only');

select * from finish();
rollback;
