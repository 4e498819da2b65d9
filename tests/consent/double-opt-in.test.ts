// Double opt-in end to end: a grant through the API is pending; the confirmation goes out through
// the normal dispatcher to the fake provider; the signed link (consent-confirm) or an SMS YES
// (twilio-inbound) confirms it with proof; expired, reused, tampered and foreign links change nothing.
import { createHmac, randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { callFunction, fakeProvider, FUNCTIONS_URL, JWT_SECRET, sql } from "../support/index.ts";
import { clearMessagingState, communicator, customerWith, drain } from "../support/messaging.ts";
import { postTwilio } from "../support/webhooks.ts";

const linkSecret = process.env.LINK_SIGNING_SECRET ?? JWT_SECRET;
const sign = (value: string) => createHmac("sha256", linkSecret).update(value).digest("base64url");

// Calls an RPC as PostgREST would for this user: role authenticated and the JWT claims.
async function asUser(userId: string, fn: (tx: any) => Promise<any>): Promise<any> {
  return await sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify({ sub: userId, role: "authenticated" })}, true)`;
    return await fn(tx);
  });
}

async function consent(customerId: string, channel: string) {
  const [row] = await sql`select enabled, source, confirmation_id from public.customer_consent where customer_id = ${customerId} and channel = ${channel}`;
  return row;
}

async function confirmationLinkFor(customerId: string): Promise<string> {
  const [req] = await sql`select recipient_id from public.consent_confirmations where customer_id = ${customerId} and status = 'pending'`;
  const sent = (await fakeProvider.requests()).filter((r) => r.path === "/v3/mail/send");
  const mail = sent.find((r) => r.body.personalizations.some((p: any) => p.custom_args?.recipient_id === req.recipient_id));
  expect(mail, "the confirmation email reached the provider").toBeTruthy();
  const text: string = mail!.body.content.find((c: any) => c.type === "text/plain").value;
  const url = /(http\S+\/consent-confirm\?r=[0-9a-f-]+&s=[A-Za-z0-9_-]+)/.exec(text)?.[1];
  expect(url, "the email carries the confirmation link").toBeTruthy();
  return url!;
}

beforeAll(async () => {
  await sql`update public.consent_settings set double_opt_in = true where channel in ('email', 'sms')`;
});
afterAll(async () => {
  await sql`update public.consent_settings set double_opt_in = (channel = 'email')`;
  await sql.end();
});
beforeEach(async () => {
  await clearMessagingState();
  await fakeProvider.reset();
});

describe("email double opt-in", () => {
  it("is pending until the customer follows the signed link; the proof is kept", async () => {
    const c = await customerWith({ email: `doi-${randomUUID()}@example.test` });
    const [{ r }] = await asUser(c.id, (tx) => tx`select public.set_customer_consent(${c.id}, 'email', true) as r`);
    expect(r).toMatchObject({ status: "pending", enabled: false });
    expect(await consent(c.id, "email")).toBeUndefined();

    // pending is not consent at enqueue either
    const comms = await communicator();
    const bulk = await callFunction("bulk-message", {
      jwt: comms.jwt, body: { name: "doi news", channel: "email", content: { subject: "News", text: "Hi" }, audience: { customer_ids: [c.id] } },
    });
    expect((await bulk.json()).skipped.no_consent).toBe(1);

    await drain([], 800);
    const url = await confirmationLinkFor(c.id);

    // GET shows the wording and changes nothing (mail scanners prefetch)
    const page = await fetch(url);
    expect(page.status).toBe(200);
    const html = await page.text();
    const [wording] = await sql`select wording, version from public.consent_texts where channel = 'email' order by version desc limit 1`;
    expect(html).toContain(wording.wording.slice(0, 40));
    expect(await (await fetch(url, { headers: { Accept: "application/json" } })).json()).toMatchObject({ status: "pending", wording_version: wording.version });
    expect(await consent(c.id, "email")).toBeUndefined();

    // tampered, foreign (an unsubscribe-style signature), unknown: 4xx, nothing changes
    const recipientId = new URL(url).searchParams.get("r")!;
    const tampered = url.slice(0, -2) + (url.endsWith("AA") ? "BB" : "AA");
    const tamperedRes = await fetch(tampered, { method: "POST", headers: { Accept: "application/json" } });
    expect(tamperedRes.status).toBe(400);
    expect((await tamperedRes.json()).error.code).toBe("bad_link");
    const foreign = `${FUNCTIONS_URL}/consent-confirm?r=${recipientId}&s=${sign(recipientId)}`;
    expect((await fetch(foreign, { method: "POST" })).status).toBe(400);
    const unknown = randomUUID();
    const unknownRes = await fetch(`${FUNCTIONS_URL}/consent-confirm?r=${unknown}&s=${sign("consent-confirm:" + unknown)}&format=json`, { method: "POST" });
    expect(unknownRes.status).toBe(404);
    expect(await consent(c.id, "email")).toBeUndefined();

    // POST confirms
    const ok = await fetch(url, { method: "POST", headers: { Accept: "application/json", "User-Agent": "DOI-Test/1.0", "X-Forwarded-For": "203.0.113.7, 10.0.0.1" } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: "confirmed", channel: "email" });
    const granted = await consent(c.id, "email");
    expect(granted).toMatchObject({ enabled: true, source: "self_service" });
    const [proof] = await sql`
      select k.requested_at, k.confirmed_at, k.confirmed_via, k.confirmed_ip, k.confirmed_user_agent, k.confirmed_link, h.consent_text_id, t.version
        from public.consent_confirmations k
        join public.customer_consent_history h on h.confirmation_id = k.id
        join public.consent_texts t on t.id = h.consent_text_id
       where k.id = ${granted.confirmation_id}`;
    expect(proof).toMatchObject({ confirmed_via: "link", confirmed_ip: "203.0.113.7", confirmed_user_agent: "DOI-Test/1.0", version: wording.version });
    expect(proof.confirmed_link).toContain(`consent-confirm?r=${recipientId}`);
    expect(proof.confirmed_link).not.toContain("&s=");
    expect(proof.requested_at.getTime()).toBeLessThanOrEqual(proof.confirmed_at.getTime());

    // reused
    const again = await fetch(url, { method: "POST", headers: { Accept: "application/json" } });
    expect(again.status).toBe(409);
    expect((await again.json()).error.code).toBe("used");
    const reusedPage = await fetch(url, { method: "POST" });
    expect(reusedPage.status).toBe(409);
    expect(await reusedPage.text()).toContain("already used");
    const [{ n }] = await sql`select count(*)::int as n from public.customer_consent_history where customer_id = ${c.id}`;
    expect(n).toBe(1);
  });

  it("an expired link is refused and changes nothing", async () => {
    const c = await customerWith({ email: `doi-exp-${randomUUID()}@example.test` });
    await asUser(c.id, (tx) => tx`select public.set_customer_consent(${c.id}, 'email', true)`);
    await drain([], 800);
    const url = await confirmationLinkFor(c.id);
    await sql`update public.consent_confirmations set expires_at = now() - interval '1 minute' where customer_id = ${c.id}`;
    const res = await fetch(url, { method: "POST", headers: { Accept: "application/json" } });
    expect(res.status).toBe(410);
    expect((await res.json()).error.code).toBe("expired");
    expect((await fetch(url)).status).toBe(410);
    expect(await consent(c.id, "email")).toBeUndefined();
  });
});

describe("SMS double opt-in", () => {
  it("is confirmed by replying YES through twilio-inbound", async () => {
    const c = await customerWith({});
    const [{ r }] = await asUser(c.id, (tx) => tx`select public.set_customer_consent(${c.id}, 'sms', true) as r`);
    expect(r.status).toBe("pending");
    await drain([], 800);
    const sms = (await fakeProvider.requests()).filter((x) => x.path.endsWith("/Messages.json") && x.body?.To === c.phone);
    expect(sms).toHaveLength(1);
    expect(sms[0].body.Body).toContain("Reply YES");
    expect(await consent(c.id, "sms")).toBeUndefined();

    const sid = `SM${randomUUID().replace(/-/g, "")}`;
    expect((await postTwilio("twilio-inbound", { MessageSid: sid, From: c.phone!, To: "+15005550006", Body: "Yes" })).status).toBe(200);
    const granted = await consent(c.id, "sms");
    expect(granted).toMatchObject({ enabled: true, source: "self_service" });
    const [proof] = await sql`select confirmed_via, confirmed_message_sid from public.consent_confirmations where id = ${granted.confirmation_id}`;
    expect(proof).toEqual({ confirmed_via: "sms_reply", confirmed_message_sid: sid });
  });
});
