// Anon's OpenAPI document at /rest/v1/ (PostgREST's openapi-mode follow-privileges, as on
// Supabase) lists nothing of the CRM: no table, view or RPC. A signed-in admin's lists them, so the
// check is not vacuous. The SQL side is supabase/tests/core/grants.test.sql.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, sql, type TestUser } from "../support/index.ts";
import { restApi, restCall, type RestApi } from "../support/rest.ts";

let api: RestApi;
let admin: TestUser;

beforeAll(async () => {
  api = await restApi();
  admin = await createUser(["admin", "communications"]);
});
afterAll(async () => {
  await api.stop();
});

async function openapi(jwt: string | null): Promise<{ paths: Record<string, unknown>; definitions?: Record<string, unknown> }> {
  const res = await restCall(api, "/", { jwt, headers: { Accept: "application/openapi+json" } });
  expect(res.status).toBe(200);
  return res.body;
}

describe("anon's view of /rest/v1", () => {
  it("the OpenAPI document lists no table, view or RPC for anon", async () => {
    const doc = await openapi(null);
    expect(Object.keys(doc.paths).filter((p) => p !== "/")).toEqual([]);
    expect(Object.keys(doc.definitions ?? {})).toEqual([]);
  });

  it("while an admin's lists the CRM, the analytics views included", async () => {
    const doc = await openapi(admin.jwt);
    const paths = Object.keys(doc.paths);
    for (const p of ["/customer_notes", "/campaign_stats", "/campaign_link_clicks", "/rpc/evaluate_segment", "/rpc/customer_timeline"]) {
      expect(paths).toContain(p);
    }
  });

  it("anon reading the analytics views or any CRM table is refused, not answered with rows", async () => {
    const [{ relname: views }] = await sql`select count(*)::int as relname from pg_class where relnamespace = 'public'::regnamespace and relkind = 'v'`;
    expect(views).toBeGreaterThan(0);
    for (const table of ["campaign_stats", "campaign_link_clicks", "customer_notes", "users", "audit_log"]) {
      const res = await restCall(api, `/${table}?select=*`);
      expect({ table, status: res.status, code: res.body.code }).toEqual({ table, status: 401, code: "42501" });
    }
    const rpc = await restCall(api, "/rpc/customer_summary", { body: { customer_id: admin.id } });
    expect(rpc.status).toBe(401);
  });
});
