-- Cursor paging covers every event exactly once while new events are inserted between pages
-- (newer ones, older ones, and ones at the exact time of the page boundary).
begin;
select plan(6);

select * from tests.customer_and_admin('tl-page') \gset
-- 257 events, many sharing one occurred_at so that the id breaks ties
insert into public.customer_notes (customer_id, note, created_at)
select :'customer', 'note ' || i, timestamptz '2026-01-01' + make_interval(hours => i / 3) from generate_series(1, 257) i;
create temporary table seen (page int, id uuid, occurred_at timestamptz) on commit drop;
grant all on seen to authenticated;
create temporary table snapshot on commit drop as
  select id from public.customer_timeline_events where customer_id = :'customer';

do $$
declare
  customer uuid := (select id from public.users where email = 'tl-page-customer@example.test');
  admin uuid := (select id from public.users where email = 'tl-page-admin@example.test');
  page jsonb;
  cur text := null;
  n int := 0;
  boundary timestamptz;
begin
  loop
    perform tests.act_as(admin);
    page := public.customer_timeline(customer, page_size => 20, cursor => cur);
    insert into seen select n, (e ->> 'id')::uuid, (e ->> 'occurred_at')::timestamptz from jsonb_array_elements(page -> 'events') e;
    perform tests.act_as_postgres();
    n := n + 1;
    cur := page ->> 'next_cursor';
    exit when cur is null or n > 50;
    -- between pages: a newer event, an older one, and one at the boundary's own time
    boundary := (select min(s.occurred_at) from seen s where s.page = n - 1);
    insert into public.customer_notes (customer_id, note, created_at) values
      (customer, 'newer ' || n, now()),
      (customer, 'older ' || n, timestamptz '2025-06-01' - make_interval(days => n)),
      (customer, 'tie ' || n, boundary);
  end loop;
end $$;

select is((select count(*)::int from seen), (select count(distinct id)::int from seen), 'no event is listed twice');
select is_empty($$select id from snapshot except select id from seen$$, 'every event present at the start is listed');
select is_empty($$select s.id from seen s join public.customer_timeline_events e using (id) where e.occurred_at > (select max(occurred_at) from seen where page = 0)$$,
  'events newer than the first page never show up later (the listing is stable)');
select is((select count(*)::int from seen s join public.customer_timeline_events e on e.id = s.id
             join public.customer_notes n on n.id = e.reference_id where n.note like 'older %'),
  (select count(*)::int from public.customer_notes where note like 'older %'),
  'events older than the cursor, inserted meanwhile, are listed in their place');
select ok((select bool_and(a.occurred_at >= b.occurred_at) from seen a join seen b on b.page = a.page + 1
            where a.occurred_at = (select min(occurred_at) from seen where page = a.page)), 'pages never go back in time');
select is((select count(*)::int from (select page from seen group by page having count(*) <> 20) p), 1, 'every page but the last is full');

select * from finish();
rollback;
