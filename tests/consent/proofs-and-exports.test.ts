// A campaign's consent proofs as CSV (consent-proofs) and the data-subject export for the customer
// themselves and for admins (customer-data-export).
import { randomUUID } from "node:crypto";
import { parse } from "csv-parse/sync";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { callFunction, createUser, fakeProvider, sql } from "../support/index.ts";
import { clearMessagingState, communicator, customerWith, drain } from "../support/messaging.ts";
import { postSendgridApplied, sgEvent } from "../support/webhooks.ts";

afterAll(async () => {
  await sql.end();
});
beforeEach(async () => {
  await clearMessagingState();
  await fakeProvider.reset();
});

async function sendCampaign(customerIds: string[]): Promise<string> {
  const comms = await communicator();
  const res = await callFunction("bulk-message", {
    jwt: comms.jwt, body: { name: `proofs ${randomUUID()}`, channel: "email", content: { subject: "Hi", text: "Hello" }, audience: { customer_ids: customerIds } },
  });
  expect(res.status).toBe(202);
  const { campaign_id } = await res.json();
  await drain([], 800);
  return campaign_id;
}

describe("consent-proofs", () => {
  it("streams one formula-safe line per recipient with the proof, and audits the export", async () => {
    const a = await customerWith({ email: `=1+1-${randomUUID().slice(0, 8)}@example.test`, consent: { email: true } });
    const b = await customerWith({ email: `proof-${randomUUID()}@example.test`, consent: { email: true } });
    const c = await customerWith({ email: `proof-${randomUUID()}@example.test`, consent: { email: false } });
    const campaignId = await sendCampaign([a.id, b.id, c.id]);
    const [rb] = await sql`select id from public.campaign_recipients where campaign_id = ${campaignId} and customer_id = ${b.id}`;
    // the webhook answers once the batch is in the inbox; the proof shows it once it is applied
    await postSendgridApplied([sgEvent("delivered", { email: b.email, recipient_id: rb.id, campaign_id: campaignId })]);

    const admin = await createUser(["admin"]);
    const res = await callFunction("consent-proofs", { jwt: admin.jwt, query: { campaign_id: campaignId } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/csv");
    const text = await res.text();
    const rows = parse(text, { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(3);
    const byCustomer = Object.fromEntries(rows.map((r) => [r.customer_id, r]));
    expect(byCustomer[b.id]).toMatchObject({ status: "delivered", consent_source: "signup", consent_granted: "true", valid: "true", problem: "" });
    expect(byCustomer[b.id].consent_history_id).toMatch(/^\d+$/);
    expect(byCustomer[b.id].wording_version).toMatch(/^\d+$/);
    expect(byCustomer[c.id]).toMatchObject({ status: "skipped_no_consent", valid: "true" });
    // a cell a spreadsheet would run as a formula is neutralised
    expect(byCustomer[a.id].address.startsWith("'=1+1")).toBe(true);
    expect(text).not.toMatch(/(^|,)=1\+1/m);
    const [audit] = await sql`select actor_id, context from public.audit_log where action = 'export' and entity = 'consent_proofs' and entity_id = ${campaignId}`;
    expect(audit).toMatchObject({ actor_id: admin.id, context: { rows: 3, invalid: 0, completed: true } });
  });

  it("refuses without a JWT, a customer, a bad or unknown campaign id", async () => {
    const customer = await createUser();
    const admin = await createUser(["admin"]);
    expect((await callFunction("consent-proofs", { query: { campaign_id: randomUUID() } })).status).toBe(401);
    expect((await callFunction("consent-proofs", { jwt: customer.jwt, query: { campaign_id: randomUUID() } })).status).toBe(403);
    const bad = await callFunction("consent-proofs", { jwt: admin.jwt, query: { campaign_id: "nope" } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toBe("campaign_id: must be a uuid");
    expect((await callFunction("consent-proofs", { jwt: admin.jwt, query: { campaign_id: randomUUID() } })).status).toBe(404);
  });
});

describe("customer-data-export", () => {
  it("gives a customer their own data, without internal records, and audits it", async () => {
    const c = await customerWith({ email: `dsr-${randomUUID()}@example.test`, consent: { email: true } });
    const admin = await createUser(["admin"]);
    await sql`insert into public.customer_notes (customer_id, admin_id, note, visibility) values
      (${c.id}, ${admin.id}, 'Shared with you', 'shared'), (${c.id}, ${admin.id}, 'Internal only', 'internal')`;
    await sql`insert into public.bookings (customer_id, status, start_date, end_date, total_amount) values (${c.id}, 'confirmed', '2026-06-01', '2026-06-02', 10)`;
    await sendCampaign([c.id]);

    const res = await callFunction("customer-data-export", { jwt: c.jwt });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    const doc = await res.json();
    expect(doc.customer_id).toBe(c.id);
    expect(doc.sections.profile[0].email).toBe(c.email);
    expect(doc.sections.notes.map((n: any) => n.note)).toEqual(["Shared with you"]);
    expect(doc.sections.bookings).toHaveLength(1);
    expect(doc.sections.messages).toHaveLength(1);
    expect(doc.sections.consent.map((x: any) => x.channel)).toEqual(["email"]);
    expect(doc.sections.risk_overrides).toBeUndefined();
    expect(doc.counts).toMatchObject({ profile: 1, notes: 1, bookings: 1, messages: 1 });
    const [audit] = await sql`select actor_id, context from public.audit_log where action = 'export' and entity = 'customer_data' and entity_id = ${c.id}`;
    expect(audit).toMatchObject({ actor_id: c.id, context: { completed: true, include_internal: false, counts: { notes: 1 } } });

    // an admin sees the internal note too
    const asAdmin = await (await callFunction("customer-data-export", { jwt: admin.jwt, query: { customer_id: c.id } })).json();
    expect(asAdmin.sections.notes).toHaveLength(2);
    expect(asAdmin.sections.risk_overrides).toEqual([]);
  });

  it("refuses another customer's data (403), anon (401), a bad or unknown id (400)", async () => {
    const c = await customerWith({});
    const other = await customerWith({});
    const res = await callFunction("customer-data-export", { jwt: c.jwt, query: { customer_id: other.id } });
    expect(res.status).toBe(403);
    expect((await res.json()).error.message).toBe("permission denied: a customer may export only their own data");
    expect((await callFunction("customer-data-export", {})).status).toBe(401);
    expect((await callFunction("customer-data-export", { jwt: c.jwt, query: { customer_id: "x" } })).status).toBe(400);
    const admin = await createUser(["admin"]);
    const unknown = await callFunction("customer-data-export", { jwt: admin.jwt, query: { customer_id: randomUUID() } });
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).error.message).toMatch(/^customer_id: no customer /);
  });
});
