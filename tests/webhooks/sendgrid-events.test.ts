import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { callFunction, createUser, fakeProvider, sql } from "../support/index.ts";
import { clearMessagingState, communicator, customerWith, drain, recipients } from "../support/messaging.ts";
import { postSendgrid, sgEvent } from "../support/webhooks.ts";

afterAll(async () => {
  await sql.end();
});
beforeEach(async () => {
  await clearMessagingState();
  await fakeProvider.reset();
});

// A sent email campaign to n consenting customers; returns its recipients.
async function sentEmail(n = 1) {
  const comms = await communicator();
  const customers = [];
  for (let i = 0; i < n; i++) customers.push(await customerWith({ consent: { email: true } }));
  const res = await callFunction("bulk-message", {
    jwt: comms.jwt,
    body: { name: "Webhook test", channel: "email", content: { subject: "Hi", text: "Hello" }, audience: { customer_ids: customers.map((c) => c.id) } },
  });
  const { campaign_id } = await res.json();
  await drain([], 800);
  const rows = await recipients(campaign_id);
  expect(rows.every((r) => r.status === "sent")).toBe(true);
  return { campaign_id, comms, customers, rows };
}

function eventFor(r: { id: string; address: string | null }, campaignId: string, event: string, extra: Record<string, unknown> = {}) {
  return sgEvent(event, { email: r.address, recipient_id: r.id, campaign_id: campaignId, ...extra });
}

async function counts() {
  const [row] = await sql`select (select count(*)::int from public.message_events) as events,
                                 (select count(*)::int from public.customer_timeline_events) as timeline,
                                 (select count(*)::int from public.suppressions) as suppressions,
                                 (select count(*)::int from public.customer_consent_history) as consent_history`;
  return row;
}

describe("sendgrid-events signatures", () => {
  it("accepts a valid signature", async () => {
    const res = await postSendgrid([sgEvent("processed", { email: "nobody@example.test" })]);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ received: 1, new: 1, duplicates: 0 });
  });

  it("refuses a batch signed with another key", async () => {
    const other = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const res = await postSendgrid([sgEvent("open")], { key: other });
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("bad_signature");
  });

  it("refuses a tampered body", async () => {
    const res = await postSendgrid([sgEvent("open", { email: "a@example.test" })], { tamper: (b) => b.replace("a@example", "b@example") });
    expect(res.status).toBe(401);
  });

  it("refuses a stale timestamp, and one from the future", async () => {
    expect((await postSendgrid([sgEvent("open")], { timestamp: Math.floor(Date.now() / 1000) - 11 * 60 })).status).toBe(401);
    expect((await postSendgrid([sgEvent("open")], { timestamp: Math.floor(Date.now() / 1000) + 11 * 60 })).status).toBe(401);
    expect((await postSendgrid([sgEvent("processed")], { timestamp: Math.floor(Date.now() / 1000) - 9 * 60 })).status).toBe(200);
  });

  it("answers 413 to a batch over 10 MB, before reading the signature", async () => {
    const big = JSON.stringify([sgEvent("open", { email: "x@example.test", padding: "x".repeat(10 * 1024 * 1024) })]);
    const { signSendgrid } = await import("../support/webhooks.ts");
    const res = await fetch(`${process.env.PUBLIC_FUNCTIONS_URL}/sendgrid-events`, { method: "POST", headers: signSendgrid(big), body: big });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe("too_large");
  });

  it("refuses a request without the signature headers", async () => {
    const res = await callFunction("sendgrid-events", { body: [sgEvent("open")] });
    expect(res.status).toBe(401);
  });

  it("answers 400 to malformed JSON and to a body that is not an array, when signed", async () => {
    const { signSendgrid } = await import("../support/webhooks.ts");
    const bad = "[{\"event\": ";
    const res = await fetch(`${process.env.PUBLIC_FUNCTIONS_URL}/sendgrid-events`, { method: "POST", headers: signSendgrid(bad), body: bad });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe("invalid_json");
    expect((await postSendgrid({ event: "open" })).status).toBe(400);
  });
});

describe("sendgrid-events effects", () => {
  it("a retried batch changes nothing", async () => {
    const { campaign_id, rows } = await sentEmail(2);
    const batch = rows.flatMap((r) => [eventFor(r, campaign_id, "delivered"), eventFor(r, campaign_id, "open"), eventFor(r, campaign_id, "click", { url: "https://rental.test/offers" })]);
    expect(await (await postSendgrid(batch)).json()).toMatchObject({ new: 6, duplicates: 0 });
    const before = await counts();
    const statuses = (await recipients(campaign_id)).map((r) => r.status);
    for (let i = 0; i < 3; i++) expect(await (await postSendgrid(batch)).json()).toMatchObject({ new: 0, duplicates: 6 });
    expect(await counts()).toEqual(before);
    expect((await recipients(campaign_id)).map((r) => r.status)).toEqual(statuses);
  });

  it("is order-proof: a late delivered never overwrites clicked", async () => {
    const { campaign_id, rows } = await sentEmail(1);
    const r = rows[0];
    await postSendgrid([eventFor(r, campaign_id, "click", { url: "https://rental.test/a" })]);
    expect((await recipients(campaign_id))[0].status).toBe("clicked");
    await postSendgrid([eventFor(r, campaign_id, "open")]);
    await postSendgrid([eventFor(r, campaign_id, "delivered")]);
    const [row] = await sql`select status, delivered_at from public.campaign_recipients where id = ${r.id}`;
    expect(row.status).toBe("clicked");
    expect(row.delivered_at).not.toBeNull();
    const [log] = await sql`select status from public.email_logs where recipient_id = ${r.id}`;
    expect(log.status).toBe("clicked");
  });

  it("applies an event that arrives before its send was recorded", async () => {
    const c = await customerWith({ consent: { email: true } });
    const comms = await communicator();
    const { campaign_id } = await (await callFunction("bulk-message", {
      jwt: comms.jwt,
      body: { name: "race", channel: "email", content: { subject: "s", text: "t" }, audience: { customer_ids: [c.id] } },
    })).json();
    const [r] = await recipients(campaign_id);
    await sql`update public.campaign_recipients set status = 'sending', leased_by = 'slow', lease_expires_at = now() + interval '1 minute' where id = ${r.id}`;
    await postSendgrid([eventFor(r, campaign_id, "delivered")]);
    expect((await recipients(campaign_id))[0].status).toBe("sending");
    await sql`select private.complete_recipients('slow', ${sql.json([{ id: r.id, outcome: "sent" }])})`;
    expect((await recipients(campaign_id))[0].status).toBe("delivered");
  });

  it("stores unknown event types and otherwise ignores them", async () => {
    const { campaign_id, rows } = await sentEmail(1);
    const res = await postSendgrid([eventFor(rows[0], campaign_id, "machine_opened_by_ai")]);
    expect(await res.json()).toMatchObject({ new: 1, status_changed: 0 });
    expect((await recipients(campaign_id))[0].status).toBe("sent");
    const [e] = await sql`select event, payload from public.message_events where recipient_id = ${rows[0].id}`;
    expect(e.event).toBe("machine_opened_by_ai");
  });

  it("bounce, spam report and invalid drops suppress the address; other drops do not", async () => {
    const { campaign_id, rows } = await sentEmail(4);
    const [a, b, c, d] = rows;
    await postSendgrid([
      eventFor(a, campaign_id, "bounce", { reason: "550 mailbox unavailable", type: "bounce" }),
      eventFor(b, campaign_id, "spamreport"),
      eventFor(c, campaign_id, "dropped", { reason: "Invalid" }),
      eventFor(d, campaign_id, "dropped", { reason: "Unsubscribed Address" }),
    ]);
    const suppressed = await sql`select lower(address) as a, reason from public.suppressions where source = 'sendgrid' order by 1`;
    const byAddress = Object.fromEntries(suppressed.map((s) => [s.a, s.reason]));
    expect(byAddress[a.address!.toLowerCase()]).toBe("bounce");
    expect(byAddress[b.address!.toLowerCase()]).toBe("spamreport");
    expect(byAddress[c.address!.toLowerCase()]).toBe("invalid");
    expect(byAddress[d.address!.toLowerCase()]).toBeUndefined();
    const statuses = Object.fromEntries((await recipients(campaign_id)).map((r) => [r.id, r.status]));
    expect(statuses[a.id]).toBe("bounced");
    expect(statuses[b.id]).toBe("spam_reported");
  });

  it("an unsubscribe revokes email consent, and a later bulk-message skips the customer", async () => {
    const { campaign_id, rows, comms, customers } = await sentEmail(1);
    await postSendgrid([eventFor(rows[0], campaign_id, "unsubscribe")]);
    const [consent] = await sql`select enabled, source, note from public.customer_consent where customer_id = ${customers[0].id} and channel = 'email'`;
    expect(consent).toMatchObject({ enabled: false, source: "sendgrid", note: "SendGrid: unsubscribed" });
    const res = await callFunction("bulk-message", {
      jwt: comms.jwt,
      body: { name: "after", channel: "email", content: { subject: "s", text: "t" }, audience: { customer_ids: [customers[0].id] } },
    });
    expect(await res.json()).toMatchObject({ queued: 0, skipped: { no_consent: 1 } });
  });

  it("a group unsubscribe revokes with the group in the reason; an older resubscribe does not undo a newer unsubscribe", async () => {
    const { campaign_id, rows, customers } = await sentEmail(1);
    const now = Math.floor(Date.now() / 1000);
    await postSendgrid([
      eventFor(rows[0], campaign_id, "group_unsubscribe", { asm_group_id: 42, timestamp: now }),
      eventFor(rows[0], campaign_id, "group_resubscribe", { asm_group_id: 42, timestamp: now - 3600 }),
    ]);
    const [consent] = await sql`select enabled, note from public.customer_consent where customer_id = ${customers[0].id} and channel = 'email'`;
    expect(consent).toMatchObject({ enabled: false, note: "SendGrid: unsubscribed from group 42" });
  });

  it("the customer's own unsubscribe beats a later admin re-consent unless the admin overrides, which is audited", async () => {
    const { campaign_id, rows, customers } = await sentEmail(1);
    await postSendgrid([eventFor(rows[0], campaign_id, "unsubscribe")]);
    const admin = await createUser(["admin"]);
    const asAdmin = async (q: (tx: any) => Promise<unknown>) =>
      await sql.begin(async (tx) => {
        await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify({ sub: admin.id, role: "authenticated" })}, true)`;
        return await q(tx);
      });
    // the precedence rule, not double opt-in, is under test here (the demo seed holds email grants for confirmation)
    const [{ doi }] = await sql`select double_opt_in as doi from public.consent_settings where channel = 'email'`;
    await sql`update public.consent_settings set double_opt_in = false where channel = 'email'`;
    try {
      await expect(asAdmin((tx) => tx`select public.set_customer_consent(${customers[0].id}, 'email', true, 'admin', 'called us')`))
        .rejects.toMatchObject({ code: "PT409", message: expect.stringContaining("opted out of email themselves") });
      await expect(asAdmin((tx) => tx`select public.set_customer_consent(${customers[0].id}, 'email', true, 'admin', null, true)`))
        .rejects.toMatchObject({ code: "22023", message: expect.stringMatching(/^note:/) });
      await asAdmin((tx) => tx`select public.set_customer_consent(${customers[0].id}, 'email', true, 'admin', 'Customer asked by phone to get offers again', true)`);
    } finally {
      await sql`update public.consent_settings set double_opt_in = ${doi} where channel = 'email'`;
    }
    const [consent] = await sql`select enabled, source from public.customer_consent where customer_id = ${customers[0].id} and channel = 'email'`;
    expect(consent).toMatchObject({ enabled: true, source: "admin" });
    // the audit row holds who and when; the free-text reason is in the history row that names it
    const [audit] = await sql`select id, actor_id from public.audit_log where action = 'override_opt_out' and entity_id = ${customers[0].id + ":email"}`;
    expect(audit).toMatchObject({ actor_id: admin.id });
    const [history] = await sql`select note from public.customer_consent_history where override_audit_id = ${audit.id}`;
    expect(history.note).toBe("Customer asked by phone to get offers again");
  });

  it("campaign_stats and link clicks count the events", async () => {
    const { campaign_id, rows } = await sentEmail(4);
    const [a, b, c, d] = rows;
    await postSendgrid([
      ...[a, b, c].map((r) => eventFor(r, campaign_id, "delivered")),
      eventFor(a, campaign_id, "open"), eventFor(a, campaign_id, "open"), eventFor(b, campaign_id, "open"),
      eventFor(a, campaign_id, "click", { url: "https://rental.test/x" }), eventFor(a, campaign_id, "click", { url: "https://rental.test/x" }),
      eventFor(a, campaign_id, "click", { url: "https://rental.test/y" }),
      eventFor(d, campaign_id, "bounce", { reason: "550" }),
      eventFor(c, campaign_id, "unsubscribe"),
    ]);
    const [stats] = await sql`select * from public.campaign_stats where campaign_id = ${campaign_id}`;
    expect(stats).toMatchObject({ audience: 4, queued: 0, sent: 4, delivered: 3, unique_opens: 2, unique_clicks: 1, bounces: 1, unsubscribes: 1, failed: 0 });
    expect(Number(stats.open_rate)).toBeCloseTo(2 / 3, 3);
    expect(Number(stats.click_rate)).toBeCloseTo(1 / 3, 3);
    const links = await sql`select url, clicks::int, unique_clickers::int from public.campaign_link_clicks where campaign_id = ${campaign_id} order by url`;
    expect(links).toEqual([
      { url: "https://rental.test/x", clicks: 2, unique_clickers: 1 },
      { url: "https://rental.test/y", clicks: 1, unique_clickers: 1 },
    ]);
  });
});
