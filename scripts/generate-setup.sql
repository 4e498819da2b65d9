-- Session setup for scripts/generate.sql: a fast deterministic hash and the reference data
-- (places, equipment, tags) as numbered temp tables. :today is passed in by generate.sh.
\set ON_ERROR_STOP 1
set client_min_messages = warning;

-- h(i, salt): a stable pseudo-random number in 0 .. 2^31 for a customer number and a purpose.
create or replace function pg_temp.h(i bigint, salt integer) returns bigint
language sql immutable parallel safe as $$
  select ((x # (x >> 13)) * 40503 + salt) % 2147483647
    from (select (i * 2654435761 + salt * 97531) % 4294967291 as x) s
$$;

create temporary table gen_places (n int, city text, region text, country_code text, dial text);
-- Big cities repeat so the distribution is skewed like a real customer base.
insert into gen_places
select row_number() over () - 1, city, region, cc, dial from (values
  ('Oslo', 'Oslo', 'NO', '+479'), ('Oslo', 'Oslo', 'NO', '+479'), ('Oslo', 'Oslo', 'NO', '+479'), ('Oslo', 'Oslo', 'NO', '+479'),
  ('Bergen', 'Vestland', 'NO', '+479'), ('Bergen', 'Vestland', 'NO', '+479'), ('Trondheim', 'Trøndelag', 'NO', '+479'),
  ('Stavanger', 'Rogaland', 'NO', '+479'), ('Tromsø', 'Troms', 'NO', '+479'), ('Drammen', 'Buskerud', 'NO', '+479'),
  ('Kristiansand', 'Agder', 'NO', '+479'), ('Bodø', 'Nordland', 'NO', '+479'), ('Ålesund', 'Møre og Romsdal', 'NO', '+479'),
  ('Stockholm', 'Stockholm', 'SE', '+467'), ('Stockholm', 'Stockholm', 'SE', '+467'), ('Stockholm', 'Stockholm', 'SE', '+467'),
  ('Göteborg', 'Västra Götaland', 'SE', '+467'), ('Göteborg', 'Västra Götaland', 'SE', '+467'), ('Malmö', 'Skåne', 'SE', '+467'),
  ('Uppsala', 'Uppsala', 'SE', '+467'), ('Västerås', 'Västmanland', 'SE', '+467'), ('Örebro', 'Örebro', 'SE', '+467'),
  ('Linköping', 'Östergötland', 'SE', '+467'), ('Umeå', 'Västerbotten', 'SE', '+467'),
  ('København', 'Hovedstaden', 'DK', '+452'), ('København', 'Hovedstaden', 'DK', '+452'), ('Aarhus', 'Midtjylland', 'DK', '+452'),
  ('Odense', 'Syddanmark', 'DK', '+452'), ('Aalborg', 'Nordjylland', 'DK', '+452'), ('Esbjerg', 'Syddanmark', 'DK', '+452'),
  ('Helsinki', 'Uusimaa', 'FI', '+358'), ('Helsinki', 'Uusimaa', 'FI', '+358'), ('Tampere', 'Pirkanmaa', 'FI', '+358'),
  ('Turku', 'Varsinais-Suomi', 'FI', '+358'), ('Oulu', 'Pohjois-Pohjanmaa', 'FI', '+358'), ('Reykjavík', 'Höfuðborgarsvæðið', 'IS', '+354')
) v(city, region, cc, dial);

create temporary table gen_equipment as
select (row_number() over (order by e.id) - 1)::bigint as n, e.id from public.equipment e;
create temporary table gen_tags as
select (row_number() over (order by t.id) - 1)::bigint as n, t.id from public.customer_tags t;

select count(*) as places from gen_places \gset
select count(*) as equipment_count from gen_equipment \gset
select count(*) as tag_count from gen_tags \gset
