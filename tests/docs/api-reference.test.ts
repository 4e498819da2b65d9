// docs/api.md names every object of the API, and nothing else: every table and view of `public`
// that `authenticated` may use, every RPC it may execute, every edge function.
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sql } from "../support/index.ts";

const root = resolve(import.meta.dirname, "../..");
const doc = readFileSync(resolve(root, "docs/api.md"), "utf8");
const documented = (kind: string) =>
  [...doc.matchAll(new RegExp(`^### ${kind} \`([a-z0-9_-]+)\``, "gm"))].map((m) => m[1]).sort();

afterAll(async () => {
  await sql.end({ timeout: 5 });
});

describe("docs/api.md against the database", () => {
  it("lists exactly the tables and views authenticated may use", async () => {
    const rows = await sql`
      select c.relname as name, case c.relkind when 'v' then 'view' else 'table' end as kind
        from pg_class c
       where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'v', 'm', 'p')
         and has_table_privilege('authenticated', c.oid, 'select, insert, update, delete')`;
    expect(documented("table")).toEqual(rows.filter((r) => r.kind === "table").map((r) => r.name).sort());
    expect(documented("view")).toEqual(rows.filter((r) => r.kind === "view").map((r) => r.name).sort());
  });

  it("lists exactly the RPCs authenticated may call", async () => {
    const rows = await sql`
      select distinct p.proname as name from pg_proc p
       where p.pronamespace = 'public'::regnamespace and has_function_privilege('authenticated', p.oid, 'execute')`;
    expect(documented("rpc")).toEqual(rows.map((r) => r.name).sort());
  });

  it("lists exactly the edge functions", () => {
    const dirs = readdirSync(resolve(root, "supabase/functions"), { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith("_")).map((d) => d.name).sort();
    expect(documented("function")).toEqual(dirs);
  });

  it("no code comment cites the CONTRACT document that is not in the repository", () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (["node_modules", ".git", ".db", "migrations"].includes(e.name)) continue;
        const p = resolve(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|sql|mjs|md)$/.test(e.name) && readFileSync(p, "utf8").includes("CONTRACT " + "§")) offenders.push(p.slice(root.length + 1));
      }
    };
    for (const d of ["supabase", "tests", "scripts", "docs"]) walk(resolve(root, d));
    expect(offenders).toEqual([]);
  });
});
