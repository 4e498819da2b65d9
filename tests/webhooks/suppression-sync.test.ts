import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { callFunction, fakeProvider, mintJwt, PROVIDER_URL, sql } from "../support/index.ts";
import { clearMessagingState, communicator, customerWith } from "../support/messaging.ts";

afterAll(async () => {
  await sql.end();
});
beforeEach(async () => {
  await clearMessagingState();
  await fakeProvider.reset();
  await sql`delete from private.provider_sync_state`;
});

async function addSuppressions(rows: Record<string, unknown[]>) {
  await fetch(`${PROVIDER_URL}/__suppressions`, { method: "POST", body: JSON.stringify(rows) });
}

describe("sendgrid-suppression-sync", () => {
  it("pulls every list paged, upserts suppressions and revokes consent for unsubscribes and spam reports", async () => {
    const unsub = await customerWith({ consent: { email: true } });
    const spam = await customerWith({ consent: { email: true } });
    const bounced = await customerWith({ consent: { email: true } });
    const now = Math.floor(Date.now() / 1000);
    const many = Array.from({ length: 1100 }, (_, i) => ({ email: `bulk-bounce-${i}-${now}@example.test`, created: now, reason: "550", status: "5.1.1" }));
    await addSuppressions({
      unsubscribes: [{ email: unsub.email, created: now }],
      spam_reports: [{ email: spam.email, created: now, ip: "10.0.0.1" }],
      bounces: [{ email: bounced.email, created: now, reason: "550 no such user", status: "5.1.1" }, ...many],
      invalid_emails: [{ email: `not-an-address-${now}`, created: now, reason: "Mail domain invalid" }],
      blocks: [{ email: `blocked-${now}@example.test`, created: now, reason: "blocked" }],
    });
    const res = await callFunction("sendgrid-suppression-sync", { jwt: await mintJwt("service_role"), body: {} });
    expect(res.status).toBe(200);
    const { synced } = await res.json();
    expect(Object.fromEntries(synced.map((s: any) => [s.kind, s.rows]))).toEqual({
      unsubscribes: 1, bounces: 1101, spam_reports: 1, invalid_emails: 1, blocks: 1,
    });
    const bounceCalls = (await fakeProvider.requests()).filter((r) => r.path === "/v3/suppression/bounces");
    expect(bounceCalls).toHaveLength(3); // 500 + 500 + 101
    const reasons = await sql`select lower(address) as a, reason from public.suppressions where source = 'sendgrid_sync'`;
    const byAddress = Object.fromEntries(reasons.map((r) => [r.a, r.reason]));
    expect(byAddress[unsub.email!.toLowerCase()]).toBe("unsubscribe");
    expect(byAddress[spam.email!.toLowerCase()]).toBe("spamreport");
    expect(byAddress[bounced.email!.toLowerCase()]).toBe("bounce");
    const consent = await sql`select customer_id, enabled, source from public.customer_consent where customer_id in (${unsub.id}, ${spam.id}, ${bounced.id}) and channel = 'email'`;
    const byCustomer = Object.fromEntries(consent.map((c) => [c.customer_id, c]));
    expect(byCustomer[unsub.id]).toMatchObject({ enabled: false, source: "sendgrid" });
    expect(byCustomer[spam.id]).toMatchObject({ enabled: false, source: "sendgrid" });
    expect(byCustomer[bounced.id]).toMatchObject({ enabled: true }); // suppressed, not an opt-out

    // the next run asks only for what is new since this one
    await fakeProvider.reset();
    const again = await (await callFunction("sendgrid-suppression-sync", { jwt: await mintJwt("service_role"), body: {} })).json();
    expect(again.synced.every((s: any) => s.rows === 0)).toBe(true);
    const calls = await fakeProvider.requests();
    expect(calls).toHaveLength(5);
    // each list is asked from where the previous run ended, not from the beginning
    expect(calls.every((c) => Number(c.query?.start_time) >= now - 5)).toBe(true);
  });

  it("answers 403 to anyone but the service role", async () => {
    const comms = await communicator();
    expect((await callFunction("sendgrid-suppression-sync", { jwt: comms.jwt, body: {} })).status).toBe(403);
  });
});
