-- Text fields (city, region, country_code): every operator, case-insensitive and literal,
-- with NULLs, mixed case, unicode and %, _ and \ inside values.
begin;
select plan(24);

select tests.segment_people('{ann,ben,cat,dan,eve,fay}', array['Oslo', 'OSLO', '50%_off\x', 'Tromsø', null, '5000 off']);


select * from tests.members_are($$
  field        | operator       | value              | members                 | description
  city         | =              | "oslo"             | ann,ben                 | = matches case-insensitively
  city         | =              | "TROMSØ"           | dan                     | = folds letters beyond ASCII (Tromsø = TROMSØ)
  city         | !=             | "Oslo"             | cat,dan,eve,fay         | != includes customers without a city
  city         | in             | ["OSLO", "tromsø"] | ann,ben,dan             | in matches any, case-insensitively
  city         | in             | []                 |                         | in [] matches nobody
  city         | notIn          | ["oslo"]           | cat,dan,eve,fay         | notIn includes NULLs
  city         | notIn          | []                 | ann,ben,cat,dan,eve,fay | notIn [] is everyone
  city         | contains       | "SL"               | ann,ben                 | contains is case-insensitive
  city         | contains       | "50%"              | cat                     | % is a plain character (not a wildcard)
  city         | contains       | "_o"               | cat                     | _ is a plain character (not a wildcard)
  city         | contains       | "\\x"              | cat                     | backslash is a plain character
  city         | contains       | "%"                | cat                     | a lone % matches only a literal %
  city         | doesNotContain | "O"                | eve                     | doesNotContain is case-insensitive and includes NULLs
  city         | doesNotContain | "%"                | ann,ben,dan,eve,fay     | doesNotContain % excludes only the literal %
  city         | beginsWith     | "os"               | ann,ben                 | beginsWith
  city         | beginsWith     | "50%_"             | cat                     | beginsWith is literal
  city         | beginsWith     | "5_"               |                         | beginsWith 5_ does not match 50% (no wildcard)
  city         | endsWith       | "SØ"               | dan                     | endsWith with unicode and case
  city         | endsWith       | "off\\x"           | cat                     | endsWith with a backslash
  city         | null           |                    | eve                     | null
  city         | notNull        |                    | ann,ben,cat,dan,fay     | notNull
  city         | null           | ""                 | eve                     | null ignores an empty-string value
  country_code | =              | "no"               | ann,ben,cat,dan,eve,fay | country_code = is case-insensitive
  region       | null           |                    | ann,ben,cat,dan,eve,fay | region null (none set)
$$);

select * from finish();
rollback;
