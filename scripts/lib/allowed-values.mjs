// What the database allows in a column right now: the string literals of its single-column CHECK
// (col in (...)) constraint, else the values of the key its foreign key references. Shared by
// scripts/gen-constants.mjs (the edge functions' lists) and the tests (tests/support/rules.ts).
export async function allowedValues(sql, schema, table, column) {
  const checks = await sql`
    select pg_get_constraintdef(c.oid) as def
      from pg_constraint c
      join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
     where c.conrelid = format('%I.%I', ${schema}::text, ${table}::text)::regclass and c.contype = 'c'
       and cardinality(c.conkey) = 1 and a.attname = ${column}
       and pg_get_constraintdef(c.oid) ~ 'ANY \\(ARRAY\\['`;
  if (checks.length === 1) {
    return [...checks[0].def.matchAll(/'((?:[^']|'')*)'::text/g)].map((m) => m[1].replaceAll("''", "'"));
  }
  const [fk] = await sql`
    select c.confrelid::regclass::text as ref, ra.attname as ref_column
      from pg_constraint c
      join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
      join pg_attribute ra on ra.attrelid = c.confrelid and ra.attnum = c.confkey[1]
     where c.conrelid = format('%I.%I', ${schema}::text, ${table}::text)::regclass and c.contype = 'f'
       and cardinality(c.conkey) = 1 and a.attname = ${column}`;
  if (fk) {
    const rows = await sql`select ${sql(fk.ref_column)}::text as v from ${sql.unsafe(fk.ref)} order by 1`;
    return rows.map((r) => r.v);
  }
  throw new Error(`${schema}.${table}.${column}: no CHECK (... in (...)) constraint and no foreign key to read its values from`);
}
