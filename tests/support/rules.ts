// What the database allows in a column right now: the literals of its CHECK (col in (...))
// constraint, or the values of the table its foreign key references.
import { sql } from "./index.ts";

export async function allowed(table: string, column: string, schema = "public"): Promise<string[]> {
  const checks = await sql<Array<{ def: string }>>`
    select pg_get_constraintdef(c.oid) as def
      from pg_constraint c
      join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
     where c.conrelid = format('%I.%I', ${schema}::text, ${table}::text)::regclass and c.contype = 'c'
       and cardinality(c.conkey) = 1 and a.attname = ${column} and pg_get_constraintdef(c.oid) like '%ANY (ARRAY[%'`;
  if (checks.length === 1) return [...checks[0].def.matchAll(/'((?:[^']|'')*)'::text/g)].map((m) => m[1].replaceAll("''", "'"));
  const [fk] = await sql<Array<{ ref: string; col: string }>>`
    select c.confrelid::regclass::text as ref, ra.attname as col
      from pg_constraint c
      join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
      join pg_attribute ra on ra.attrelid = c.confrelid and ra.attnum = c.confkey[1]
     where c.conrelid = format('%I.%I', ${schema}::text, ${table}::text)::regclass and c.contype = 'f'
       and cardinality(c.conkey) = 1 and a.attname = ${column}`;
  if (!fk) throw new Error(`${schema}.${table}.${column}: no list of allowed values found`);
  return (await sql.unsafe(`select ${fk.col}::text as v from ${fk.ref} order by 1`)).map((r) => r.v as string);
}
