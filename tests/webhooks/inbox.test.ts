// The webhook inbox: answered once stored, applied by the worker; an opt-out holds its address
// from the next send at once, even when the inbox is behind; inconsistent and unusable evidence is recorded, not
// applied; machine opens and automated clicks are counted apart; NUL characters lose nothing.
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { callFunction, fakeProvider, sql } from "../support/index.ts";
import { clearMessagingState, communicator, customerWith, drain, receivedRecipientIds, recipients } from "../support/messaging.ts";
import { eventFor, human, inboxApplied, postSendgrid, postSendgridApplied, postTwilio, sentEmail, sgEvent } from "../support/webhooks.ts";

afterAll(async () => {
  await sql.end();
});
beforeEach(async () => {
  await clearMessagingState();
  await fakeProvider.reset();
  await sql`update public.engagement_settings set value = 'false' where key in ('count_machine_opens', 'count_bot_clicks')`;
});

// Holds the applier's lock, as a worker stuck on a long chunk would: the inbox falls behind.
async function inboxBehind<T>(fn: () => Promise<T>): Promise<T> {
  const conn = await sql.reserve();
  try {
    await conn`select pg_advisory_lock(hashtext('crm.apply_webhook_inbox'), part) from generate_series(0, private.webhook_apply_parts() - 1) part`;
    return await fn();
  } finally {
    await conn`select pg_advisory_unlock_all()`;
    conn.release();
  }
}

async function inboxRow(id: number) {
  const [row] = await sql`select source, events, applied_now, applied_at, failed_at from private.webhook_inbox where id = ${id}`;
  return row;
}

async function consent(customerId: string, channel: string) {
  const [row] = await sql`select enabled, source from public.customer_consent where customer_id = ${customerId} and channel = ${channel}`;
  return row;
}

describe("the inbox answers first and applies after", () => {
  it("a batch is stored, answered and then applied by the worker", async () => {
    const { campaign_id, rows } = await sentEmail(1);
    const res = await postSendgrid([eventFor(rows[0], campaign_id, "delivered")]);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ received: 1, duplicate_batch: false, applied_now: 0 });
    expect(res.headers.get("server-timing")).toMatch(/verify;dur=.*db;dur=/);
    await inboxApplied(body.inbox_id);
    expect((await inboxRow(body.inbox_id)).applied_at).not.toBeNull();
    expect((await recipients(campaign_id))[0].status).toBe("delivered");
    const [health] = await sql`select * from public.webhook_inbox_health where source = 'sendgrid_events'`;
    expect(Number(health.applied_last_hour)).toBeGreaterThan(0);
  });

  it("an unsubscribe stops the next send while the inbox is behind: the dispatcher's send-time check sees it", async () => {
    const c = await customerWith({ consent: { email: true } });
    const other = await customerWith({ consent: { email: true } });
    const comms = await communicator();
    const first = await (await callFunction("bulk-message", {
      jwt: comms.jwt, body: { name: "first", channel: "email", content: { subject: "s", text: "t" }, audience: { customer_ids: [c.id] } },
    })).json();
    await drain([], 800);
    const [r] = await recipients(first.campaign_id);
    // a second campaign is queued for both before the opt-out arrives
    const second = await (await callFunction("bulk-message", {
      jwt: comms.jwt, body: { name: "second", channel: "email", content: { subject: "s", text: "t" }, audience: { customer_ids: [c.id, other.id] } },
    })).json();
    expect(second.queued).toBe(2);
    await fakeProvider.reset();

    await inboxBehind(async () => {
      const res = await postSendgrid([eventFor(r, first.campaign_id, "delivered"), eventFor(r, first.campaign_id, "unsubscribe")]);
      const body = await res.json();
      expect(body).toMatchObject({ applied_now: 1 });
      const row = await inboxRow(body.inbox_id);
      expect(row.applied_at).toBeNull();                          // behind: not applied yet
      expect(await consent(c.id, "email")).toMatchObject({ enabled: true }); // the consent changes when applied,
      expect((await recipients(first.campaign_id))[0].status).toBe("sent");
      await drain([], 800);
      const fate = Object.fromEntries((await recipients(second.campaign_id)).map((x) => [x.customer_id, x.status]));
      expect(fate[c.id]).toBe("queued");                         // but the address is held from sending now
      expect(fate[other.id]).toBe("sent");
      expect(receivedRecipientIds(await fakeProvider.requests())).toHaveLength(1);
      return body.inbox_id;
    }).then(inboxApplied);
    expect((await recipients(first.campaign_id))[0].status).toBe("unsubscribed");
    expect(await consent(c.id, "email")).toMatchObject({ enabled: false, source: "sendgrid" });
    // the held recipient comes back after base_backoff_seconds; the consent decides then
    await sql`update public.campaign_recipients set next_attempt_at = now() where campaign_id = ${second.campaign_id} and customer_id = ${c.id}`;
    await drain([], 800);
    const fate = Object.fromEntries((await recipients(second.campaign_id)).map((x) => [x.customer_id, x.status]));
    expect(fate[c.id]).toBe("skipped_no_consent");
    expect(receivedRecipientIds(await fakeProvider.requests())).toHaveLength(1);
    const history = await sql`select count(*)::int as n from public.customer_consent_history where customer_id = ${c.id} and channel = 'email' and not new_enabled`;
    expect(history[0].n).toBe(1);
    const [held] = await sql`select count(*)::int as n from private.webhook_opt_outs where address_key = lower(${r.address!})`;
    expect(held.n).toBe(0);                                       // applied: the hold is gone
  });

  it("a bounce holds the address at once, before the worker runs; the worker suppresses it", async () => {
    const { campaign_id, rows } = await sentEmail(1);
    await inboxBehind(async () => {
      const res = await postSendgrid([eventFor(rows[0], campaign_id, "bounce", { reason: "550 no such user" })]);
      const [held] = await sql`select event from private.webhook_opt_outs where address_key = lower(${rows[0].address!})`;
      expect(held.event).toBe("bounce");
      return (await res.json()).inbox_id;
    }).then(inboxApplied);
    const [s] = await sql`select reason from public.suppressions where address_key = lower(${rows[0].address!})`;
    expect(s.reason).toBe("bounce");
  });

  it("a Twilio STOP is applied before the answer; a status callback waits for the worker", async () => {
    const c = await customerWith({ consent: { sms: true } });
    await inboxBehind(async () => {
      const res = await postTwilio("twilio-inbound", { MessageSid: `SM${crypto.randomUUID().replace(/-/g, "")}`, From: c.phone!, Body: "STOP" });
      expect(res.status).toBe(200);
      expect(await consent(c.id, "sms")).toMatchObject({ enabled: false, source: "twilio_inbound" });
      const status = await (await postTwilio("twilio-status", { MessageSid: "SMunknown1", MessageStatus: "delivered", To: c.phone! })).json();
      expect(status).toMatchObject({ applied_now: 0 });
      expect((await inboxRow(status.inbox_id)).applied_at).toBeNull();
    });
  });

  it("a body that cannot be applied is retried and set aside after 5 attempts; the rest goes on", async () => {
    const [bad] = await sql`insert into private.webhook_inbox (source, body, body_sha256, events)
                            values ('sendgrid_events', '[{"event": ', sha256(${"bad" + Date.now()}::bytea), 1) returning id`;
    const { campaign_id, rows } = await sentEmail(1);
    const good = await postSendgridApplied([eventFor(rows[0], campaign_id, "delivered")]);
    expect((await inboxRow(good.inbox_id)).applied_at).not.toBeNull();
    for (let i = 0; i < 6; i++) await sql`select private.apply_webhook_inbox(5000, 0)`;
    const [row] = await sql`select attempts, failed_at, last_error from private.webhook_inbox where id = ${bad.id}`;
    expect(row.attempts).toBeGreaterThanOrEqual(5);
    expect(row.failed_at).not.toBeNull();
    expect(row.last_error).toMatch(/json/i);
    const [health] = await sql`select failed_rows from public.webhook_inbox_health where source = 'sendgrid_events'`;
    expect(Number(health.failed_rows)).toBeGreaterThan(0);
    await sql`delete from private.webhook_inbox where id = ${bad.id}`;
  });

  it("the pg_cron command drains the inbox in committed chunks", async () => {
    const { campaign_id, rows } = await sentEmail(1);
    const body = await (await postSendgrid([eventFor(rows[0], campaign_id, "delivered")])).json();
    for (const part of [0, 1]) {
      const [{ cmd }] = await sql`select private.apply_webhooks_job_command(1000, ${part}) as cmd`;
      await sql.unsafe(cmd); // as pg_cron runs it: one top-level statement
    }
    await inboxApplied(body.inbox_id, 5_000);
    expect((await recipients(campaign_id))[0].status).toBe("delivered");
  });
});

describe("evidence that does not fit is recorded, not applied", () => {
  it("recipient_id and email disagree: rejected as inconsistent, nobody suppressed or revoked", async () => {
    const { campaign_id, rows, customers } = await sentEmail(2);
    const [a, b] = rows;
    const before = await sql`select count(*)::int as n from public.suppressions`;
    await postSendgridApplied([
      eventFor(a, campaign_id, "spamreport", { email: b.address }),           // a's recipient, b's address
      eventFor(a, campaign_id, "unsubscribe", { email: "someone@else.test" }),
    ]);
    const fate = Object.fromEntries((await recipients(campaign_id)).map((r) => [r.id, r.status]));
    expect(fate[a.id]).toBe("sent");
    expect(fate[b.id]).toBe("sent");
    for (const c of customers) expect(await consent(c.id, "email")).toMatchObject({ enabled: true });
    expect((await sql`select count(*)::int as n from public.suppressions`)[0].n).toBe(before[0].n);
    const rejected = await sql`select event, verdict, reason from public.message_event_rejections where recipient_id = ${a.id} order by event`;
    expect(rejected).toEqual([
      { event: "spamreport", verdict: "inconsistent", reason: expect.stringContaining("is not the address of recipient") },
      { event: "unsubscribe", verdict: "inconsistent", reason: expect.stringContaining("someone@else.test") },
    ]);
  });

  it("an open for an SMS recipient is inconsistent", async () => {
    const comms = await communicator();
    const c = await customerWith({ consent: { sms: true } });
    const { campaign_id } = await (await callFunction("bulk-message", {
      jwt: comms.jwt, body: { name: "sms", channel: "sms", content: { text: "hi" }, audience: { customer_ids: [c.id] } },
    })).json();
    await drain([], 800);
    const [r] = await recipients(campaign_id);
    await postSendgridApplied([eventFor({ id: r.id, address: c.email }, campaign_id, "open")]);
    expect((await recipients(campaign_id))[0].status).toBe("sent");
    const [rej] = await sql`select verdict, reason from public.message_event_rejections where recipient_id = ${r.id}`;
    expect(rej).toMatchObject({ verdict: "inconsistent", reason: expect.stringContaining("is a sms recipient, not email") });
    expect((await sql`select count(*)::int as n from public.message_events where recipient_id = ${r.id} and provider = 'sendgrid'`)[0].n).toBe(0);
  });

  it("unknown recipient, another campaign, never sent: ignored with a reason; an ignored unsubscribe still reaches its address", async () => {
    const { campaign_id, rows, customers } = await sentEmail(1);
    const comms = await communicator();
    const skipped = await customerWith({ consent: { email: false } });
    const { campaign_id: other } = await (await callFunction("bulk-message", {
      jwt: comms.jwt, body: { name: "nobody", channel: "email", content: { subject: "s", text: "t" }, audience: { customer_ids: [skipped.id] } },
    })).json();
    const [never] = await recipients(other);
    expect(never.status).toBe("skipped_no_consent");
    const ghost = crypto.randomUUID();
    await postSendgridApplied([
      sgEvent("delivered", { email: "ghost@example.test", recipient_id: ghost }),
      eventFor(rows[0], crypto.randomUUID(), "open"),
      eventFor({ id: never.id, address: skipped.email }, other, "delivered"),
      sgEvent("unsubscribe", { email: customers[0].email, recipient_id: crypto.randomUUID() }),
    ]);
    const reasons = await sql`select verdict, reason from public.message_event_rejections
                               where payload ->> 'sg_event_id' is not null and received_at > now() - interval '1 minute' order by id desc limit 4`;
    const text = reasons.map((r) => `${r.verdict}: ${r.reason}`).join("\n");
    expect(text).toContain("ignored: unknown recipient");
    expect(text).toContain(`is not the campaign of recipient ${rows[0].id}`);
    expect(text).toContain(`recipient ${never.id} was never sent (skipped_no_consent)`);
    expect(text).toContain("applied to the address only");
    expect((await recipients(campaign_id))[0].status).toBe("sent");
    expect((await recipients(other))[0].status).toBe("skipped_no_consent");
    expect(await consent(customers[0].id, "email")).toMatchObject({ enabled: false, source: "sendgrid" });
  });
});

describe("machine opens and automated clicks are counted apart", () => {
  it("stats show human and machine opens separately; engagement facts use human ones", async () => {
    const { campaign_id, rows } = await sentEmail(3);
    const [a, b, c] = rows;
    await postSendgridApplied([
      ...rows.map((r) => eventFor(r, campaign_id, "delivered")),
      eventFor(a, campaign_id, "open", { sg_machine_open: true }),
      eventFor(b, campaign_id, "open", { sg_machine_open: false }),
      eventFor(c, campaign_id, "click", { url: "https://rental.test/x", useragent: "Mozilla/5.0 (compatible; Barracuda Sentinel)", ...human() }),
      eventFor(c, campaign_id, "click", { url: "https://rental.test/y" }), // the same second as delivery
    ]);
    const [stats] = await sql`select unique_opens, machine_opens, unique_clicks, bot_clicks, open_rate from public.campaign_stats where campaign_id = ${campaign_id}`;
    expect(stats).toMatchObject({ unique_opens: 1, machine_opens: 1, unique_clicks: 0, bot_clicks: 1 });
    const fate = Object.fromEntries((await recipients(campaign_id)).map((r) => [r.id, r.status]));
    expect(fate).toEqual({ [a.id]: "delivered", [b.id]: "opened", [c.id]: "delivered" });
    const events = await sql`select event, reason from public.message_events where recipient_id = ${c.id} and event = 'bot_click' order by reason`;
    expect(events.map((e) => e.reason)).toEqual(["automated click: link scanner user agent", "automated click: within 10 s of delivery"]);
    const facts = Object.fromEntries((await sql`select customer_id, last_engaged_at, engaged_campaigns_90d from public.customer_facts
                                                where customer_id in ${sql(rows.map((x) => x.customer_id))}`).map((f) => [f.customer_id, f]));
    expect(facts[a.customer_id]).toMatchObject({ last_engaged_at: null, engaged_campaigns_90d: 0 });
    expect(facts[b.customer_id].engaged_campaigns_90d).toBe(1);
    expect(facts[c.customer_id]).toMatchObject({ last_engaged_at: null, engaged_campaigns_90d: 0 });
    const [links] = await sql`select count(*)::int as n from public.campaign_link_clicks where campaign_id = ${campaign_id}`;
    expect(links.n).toBe(0);

    // an admin who wants machine opens counted turns it on; the facts follow at once
    await sql`update public.engagement_settings set value = 'true' where key = 'count_machine_opens'`;
    const [f] = await sql`select engaged_campaigns_90d from public.customer_facts where customer_id = ${a.customer_id}`;
    expect(f.engaged_campaigns_90d).toBe(1);
  });

  it("settings are validated and only communicators change them", async () => {
    await expect(sql`update public.engagement_settings set value = '["(unclosed"]' where key = 'bot_user_agents'`)
      .rejects.toMatchObject({ code: "22023", message: expect.stringContaining("not a valid regular expression") });
    await expect(sql`update public.engagement_settings set value = '-1' where key = 'bot_click_seconds'`)
      .rejects.toMatchObject({ code: "22023" });
  });
});

describe("NUL characters", () => {
  it("Body=STOP%00 from Twilio is cleaned: 200 and the STOP counts", async () => {
    const c = await customerWith({ consent: { sms: true } });
    const res = await postTwilio("twilio-inbound", { MessageSid: `SM${crypto.randomUUID().replace(/-/g, "")}`, From: c.phone!, Body: "STOP\u0000" });
    expect(res.status).toBe(200);
    expect(await consent(c.id, "sms")).toMatchObject({ enabled: false, source: "twilio_inbound" });
  });

  it("a SendGrid event carrying \\u0000 is stored and applied without it", async () => {
    const { campaign_id, rows } = await sentEmail(1);
    const ev = eventFor(rows[0], campaign_id, "bounce", { reason: "550 bad\u0000 mailbox" });
    const body = await postSendgridApplied([ev]);
    expect(body.received).toBe(1);
    const [e] = await sql`select reason from public.message_events where provider_event_id = ${ev.sg_event_id as string}`;
    expect(e.reason).toContain("550 bad mailbox");
    expect((await recipients(campaign_id))[0].status).toBe("bounced");
  });
});
