-- customer_notes -> 'note' event: the title is the note itself (warnings and actions say so).
begin;
select plan(4);

select * from tests.customer_and_admin('tl-note') \gset
select tests.act_as(:'admin');
insert into public.customer_notes (id, customer_id, note, type, visibility, created_at)
values ('10000000-0000-4000-a000-0000000006a1', :'customer', E'Prefers morning deliveries, "before 9".\nCall first.', 'info', 'shared',
        '2026-04-20 10:00+00'),
       ('10000000-0000-4000-a000-0000000006a2', :'customer', 'Paid late twice.', 'warning', 'internal', '2026-04-21 10:00+00');
select tests.act_as_postgres();

select results_eq(
  $$select event_type, event_key, occurred_at, title from public.customer_timeline_events
     where source_table = 'customer_notes' and reference_id = '10000000-0000-4000-a000-0000000006a1'$$,
  $$values ('note', 'note', '2026-04-20 10:00+00'::timestamptz, E'Prefers morning deliveries, "before 9".\nCall first.')$$,
  'a note yields a note event at created_at titled with the note, as written');
select is((select metadata from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000006a1'),
  jsonb_build_object('action', 'note', 'type', 'info', 'visibility', 'shared', 'admin_id', :'admin',
                     'note', E'Prefers morning deliveries, "before 9".\nCall first.'),
  'metadata has type, visibility, author and the full note');
select is((select title from public.customer_timeline_events where reference_id = '10000000-0000-4000-a000-0000000006a2'),
  'Warning: Paid late twice.', 'a warning says so');
insert into public.customer_notes (customer_id, note, created_at) values (:'customer', repeat('x', 5000), '2026-04-22 10:00+00');
select is((select char_length(title) from public.customer_timeline_events where source_table = 'customer_notes' and occurred_at = '2026-04-22 10:00+00'),
  200, 'a long note is cut to 200 characters in the title');

select * from finish();
rollback;
