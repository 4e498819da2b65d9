// `npm start` on a database that exists keeps its rows and applies only the migrations it lacks
// (scripts/db-migrate.sh); a history from another branch is refused and nothing is lost. Before,
// `npm start` reset the database every time: a generated world was gone when the stack started.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/lib/stack.mjs";
import { sql } from "../support/index.ts";
import { TEST_PORTS } from "../support/ports.ts";

const migrate = () => spawnSync("bash", ["scripts/db-migrate.sh"], {
  cwd: ROOT, encoding: "utf8", env: { ...process.env, DB_URL: TEST_PORTS.dbUrl, DB_PORT: new URL(TEST_PORTS.dbUrl).port },
});
const foreign = "29990101000000";

describe("npm start on an existing database (scripts/db-migrate.sh)", () => {
  afterAll(async () => {
    await sql`delete from supabase_migrations.schema_migrations where version = ${foreign}`;
  });

  it("keeps its rows and applies nothing when it is up to date", async () => {
    const name = `kept ${randomUUID()}`;
    await sql`insert into public.customer_tags (name) values (${name})`;
    const [{ before }] = await sql`select count(*)::int as before from supabase_migrations.schema_migrations`;
    const run = migrate();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("db:migrate: 0 new migration(s) applied; the database keeps its rows");
    const [{ after }] = await sql`select count(*)::int as after from supabase_migrations.schema_migrations`;
    expect(after).toBe(before);
    const [{ kept }] = await sql`select count(*)::int as kept from public.customer_tags where name = ${name}`;
    expect(kept).toBe(1);
    await sql`delete from public.customer_tags where name = ${name}`;
  });

  it("refuses a history with a migration this checkout lacks, says how to start again, and keeps the rows", async () => {
    const name = `kept ${randomUUID()}`;
    await sql`insert into public.customer_tags (name) values (${name})`;
    await sql`insert into supabase_migrations.schema_migrations (version, name) values (${foreign}, 'from another branch')`;
    const run = migrate();
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(foreign);
    expect(run.stderr).toContain("A history with migrations this checkout lacks: npm run db:reset (or npm start -- --reset) starts it again from the migrations and the seed: its rows are lost");
    const [{ kept }] = await sql`select count(*)::int as kept from public.customer_tags where name = ${name}`;
    expect(kept).toBe(1);
    await sql`delete from public.customer_tags where name = ${name}`;
  });
});
