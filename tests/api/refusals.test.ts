// Every refusal an RPC or trigger raises reaches a frontend through /rest/v1 (the real PostgREST
// 12) as a 4xx with its message intact. The SQLSTATE -> HTTP mapping is docs/errors.md;
// supabase/tests/core/refusal_codes.test.sql keeps 5xx-mapped codes out of every function.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, sql, type TestUser } from "../support/index.ts";
import { reloadSchema, restApi, rpc, type RestApi } from "../support/rest.ts";

let api: RestApi;
let admin: TestUser; // admin + communications
let customer: TestUser;
const missing = "00000000-0000-4000-8000-00000000dead";

beforeAll(async () => {
  api = await restApi();
  admin = await createUser(["admin", "communications"]);
  customer = await createUser([]);
});
afterAll(async () => {
  await api.stop();
});

function refused(answer: { status: number; body: any }, status: number, code: string, message: string | RegExp) {
  expect({ status: answer.status, code: answer.body?.code }).toEqual({ status, code });
  if (typeof message === "string") expect(answer.body.message).toBe(message);
  else expect(answer.body.message).toMatch(message);
}

describe("state conflicts answer 409 (PT409, was 55000 = HTTP 500)", () => {
  it("the customer's own opt-out beats an admin re-consent: 409 naming the rule, nothing changed", async () => {
    expect((await rpc(api, "set_customer_consent", { customer_id: customer.id, channel: "email", enabled: true }, customer.jwt)).status).toBe(200);
    expect((await rpc(api, "set_customer_consent", { customer_id: customer.id, channel: "email", enabled: false }, customer.jwt)).status).toBe(200);
    const answer = await rpc(api, "set_customer_consent",
      { customer_id: customer.id, channel: "email", enabled: true, source: "admin", note: "called us" }, admin.jwt);
    refused(answer, 409, "PT409", /^consent: the customer opted out of email themselves \(self_service, .*override_opt_out => true/);
    expect(answer.body.details).toMatch(/55000/);
    const [row] = await sql`select enabled, source from public.customer_consent where customer_id = ${customer.id} and channel = 'email'`;
    expect(row).toEqual({ enabled: false, source: "self_service" });
  });

  it("a campaign state change the state machine forbids (trigger on campaigns): 409", async () => {
    const [c] = await sql`insert into public.campaigns (name, channel, status, content, audience, created_by)
                          values ('refusal test', 'email', 'sent', '{"subject":"s","text":"t"}', '{"customer_ids":[]}', ${admin.id})
                          returning id`;
    refused(await rpc(api, "resume_campaign", { campaign_id: c.id }, admin.jwt), 409, "PT409", "status: a sent campaign cannot become sending");
    const [after] = await sql`select status from public.campaigns where id = ${c.id}`;
    expect(after.status).toBe("sent");
  });
});

describe("unknown ids answer 404 (PT404, was P0002 = HTTP 500)", () => {
  it.each([
    ["customer_timeline", { customer_id: missing }, `customer_id: no customer ${missing}`],
    ["duplicate_segment", { segment_id: missing }, `segment_id: no segment ${missing}`],
    ["refresh_segment", { segment_id: missing }, `segment_id: no segment ${missing}`],
    ["explain_segment_membership", { definition: { version: 1, combinator: "and", rules: [{ field: "city", operator: "=", value: "Oslo" }] }, customer_id: missing }, `customer_id: no customer ${missing}`],
    ["message_preview_context", { customer_id: missing, template_id: null }, `customer_id: no customer ${missing}`],
    ["pause_campaign", { campaign_id: missing }, `campaign_id: no campaign ${missing}`],
  ])("%s", async (fn, args, message) => {
    refused(await rpc(api, fn, args, admin.jwt), 404, "PT404", message);
  });

  it("message_preview_context with an unknown template", async () => {
    refused(await rpc(api, "message_preview_context", { customer_id: customer.id, template_id: missing }, admin.jwt),
      404, "PT404", `template_id: no template ${missing}`);
  });
});

describe("a segment over its time budget answers 413 (54001, was 57014 = HTTP 500)", () => {
  // 100 rules of 500 values (the language's limits): seconds of work on the seed world, far over a
  // 100 ms budget even on an idle machine (50 values per rule finished in time there).
  const heavy = {
    version: 1, combinator: "or",
    rules: Array.from({ length: 100 }, (_, j) => ({ field: "city", operator: "in", value: Array.from({ length: 500 }, (_, k) => `c${k}-${j}`) })),
  };
  it.each([
    ["evaluate_segment", { definition: heavy }],
    ["list_customers", { definition: heavy }],
  ])("%s", async (fn, args) => {
    await sql`update private.segment_settings set value = '100ms' where key = 'statement_timeout'`;
    try {
      await reloadSchema(api, () => sql`notify pgrst, 'reload schema'`);
      // PostgREST applies the function's statement_timeout once its schema cache has reloaded.
      let answer = await rpc(api, fn, args, admin.jwt);
      for (let i = 0; i < 20 && answer.status === 200; i++) {
        await new Promise((r) => setTimeout(r, 250));
        answer = await rpc(api, fn, args, admin.jwt);
      }
      refused(answer, 413, "54001", /^segment evaluation was cancelled by statement_timeout: narrow the definition, or raise private\.segment_settings\.statement_timeout \(now 100ms\)$/);
    } finally {
      await sql`update private.segment_settings set value = '10s' where key = 'statement_timeout'`;
      await reloadSchema(api, () => sql`notify pgrst, 'reload schema'`);
    }
  });
});

describe("the other refusals keep their 4xx", () => {
  it("42501: 403 for a signed-in customer, 401 for anon", async () => {
    refused(await rpc(api, "evaluate_segment", { definition: { version: 1, combinator: "and", rules: [] } }, customer.jwt),
      403, "42501", /admin role is required/);
    const anon = await rpc(api, "evaluate_segment", { definition: {} }, null);
    expect({ status: anon.status, code: anon.body.code }).toEqual({ status: 401, code: "42501" });
  });

  it("validate_segment is admin only (403 for a customer) and reports at most 50 errors, then too_many_errors", async () => {
    const hostile = { ...Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i])), version: 1, combinator: "and", rules: [{ field: "city", operator: "null" }] };
    refused(await rpc(api, "validate_segment", { definition: hostile }, customer.jwt), 403, "42501", "permission denied: the admin role is required");
    const answer = await rpc(api, "validate_segment", { definition: hostile }, admin.jwt);
    expect(answer.status).toBe(200);
    expect(answer.body).toHaveLength(51);
    expect(answer.body[50]).toMatchObject({ path: "$", code: "too_many_errors" });
  });

  it("22023 (bad argument): 400 naming the parameter", async () => {
    refused(await rpc(api, "customer_timeline", { customer_id: customer.id, page_size: 0 }, admin.jwt), 400, "22023", /^page_size: /);
  });

  it("23505 (duplicate): 409", async () => {
    const name = `refusals ${randomUUID()}`;
    const [seg] = await sql`insert into public.customer_segments (name, definition, created_by)
                            values (${name}, '{"version":1,"combinator":"and","rules":[{"field":"city","operator":"=","value":"Oslo"}]}', ${admin.id})
                            returning id`;
    refused(await rpc(api, "duplicate_segment", { segment_id: seg.id, name }, admin.jwt), 409, "23505", /^name: a segment named /);
  });
});
