// RFC 8058 one-click unsubscribe: every bulk email carries List-Unsubscribe (an HTTPS link in
// production; loopback HTTP locally) and List-Unsubscribe-Post; the link is signed per recipient
// and campaign, expires, and replaying it (sequentially or at once) changes nothing.
import { createHmac } from "node:crypto";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { callFunction, fakeProvider, FUNCTIONS_URL, JWT_SECRET, sql } from "../support/index.ts";
import { clearMessagingState, communicator, customerWith, drain } from "../support/messaging.ts";

afterAll(async () => {
  await sql.end();
});
beforeEach(async () => {
  await clearMessagingState();
  await fakeProvider.reset();
});

async function sendEmail(customerIds: string[]) {
  const comms = await communicator();
  const res = await callFunction("bulk-message", {
    jwt: comms.jwt,
    body: { name: "unsubscribe", channel: "email", content: { subject: "Offers", text: "Hi, unsubscribe: {{unsubscribe_url}}" },
            audience: { customer_ids: customerIds } },
  });
  expect(res.status).toBe(202);
  const { campaign_id } = await res.json();
  await drain();
  const [req] = (await fakeProvider.requests()).filter((r) => r.path === "/v3/mail/send");
  return { campaign_id, personalizations: req.body.personalizations as Array<any> };
}

const oneClick = (url: string) =>
  fetch(url, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "List-Unsubscribe=One-Click" });

async function trail(customerId: string) {
  const [h] = await sql`select count(*)::int as n from public.customer_consent_history where customer_id = ${customerId} and channel = 'email' and new_enabled = false`;
  const [a] = await sql`select count(*)::int as n from public.audit_log where entity like 'customer_consent%' and entity_id like ${`${customerId}%`}`;
  return { history: h.n, audit: a.n };
}

function linkFor(p: any): string {
  return /^<(.*)>$/.exec(p.headers["List-Unsubscribe"])![1];
}

describe("one-click unsubscribe", () => {
  it("every email carries List-Unsubscribe and List-Unsubscribe-Post with a link signed for its recipient and campaign", async () => {
    const a = await customerWith({ consent: { email: true } });
    const { campaign_id, personalizations } = await sendEmail([a.id]);
    const p = personalizations[0];
    expect(p.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
    const url = new URL(linkFor(p));
    expect(`${url.origin}${url.pathname}`).toBe(`${FUNCTIONS_URL}/unsubscribe`);
    expect(url.searchParams.get("r")).toBe(p.custom_args.recipient_id);
    expect(url.searchParams.get("c")).toBe(campaign_id);
    const days = (Number(url.searchParams.get("e")) * 1000 - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89);
    expect(days).toBeLessThan(91);
    // the same link is the {{unsubscribe_url}} of the body
    expect(p.substitutions["{{unsubscribe_url}}"]).toBe(linkFor(p));
  });

  it("three POSTs of one link, one after another and at once: one history row, one audit row", async () => {
    const a = await customerWith({ consent: { email: true } });
    const b = await customerWith({ consent: { email: true } });
    const { personalizations } = await sendEmail([a.id, b.id]);
    const link = (id: string) => linkFor(personalizations.find((p) => p.to[0].email === (id === a.id ? a.email : b.email)));
    const before = await trail(a.id);
    for (let i = 0; i < 3; i++) expect((await oneClick(link(a.id))).status).toBe(200);
    const after = await trail(a.id);
    expect(after.history - before.history).toBe(1);
    expect(after.audit - before.audit).toBe(1);
    const [consent] = await sql`select enabled, source from public.customer_consent where customer_id = ${a.id} and channel = 'email'`;
    expect(consent).toMatchObject({ enabled: false, source: "self_service" });

    const beforeB = await trail(b.id);
    const answers = await Promise.all([0, 1, 2].map(() => oneClick(link(b.id))));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    const afterB = await trail(b.id);
    expect(afterB.history - beforeB.history).toBe(1);
    expect(afterB.audit - beforeB.audit).toBe(1);
  });

  it("GET only asks (link scanners prefetch); a tampered, an old-style or an expired link is refused", async () => {
    const a = await customerWith({ consent: { email: true } });
    const { personalizations } = await sendEmail([a.id]);
    const url = new URL(linkFor(personalizations[0]));
    const get = await fetch(url);
    expect(get.status).toBe(200);
    expect(await get.text()).toContain("<form method=\"post\">");
    expect((await sql`select enabled from public.customer_consent where customer_id = ${a.id} and channel = 'email'`)[0].enabled).toBe(true);

    const other = new URL(url);
    other.searchParams.set("c", "00000000-0000-4000-8000-000000000000");
    const tampered = await oneClick(other.toString());
    expect(tampered.status).toBe(400);
    expect((await tampered.json()).error.code).toBe("bad_link");

    const old = new URL(`${FUNCTIONS_URL}/unsubscribe`);
    old.searchParams.set("r", url.searchParams.get("r")!);
    old.searchParams.set("s", createHmac("sha256", JWT_SECRET).update(url.searchParams.get("r")!).digest("base64url"));
    expect((await oneClick(old.toString())).status).toBe(400);

    const expired = new URL(url);
    const e = String(Math.floor(Date.now() / 1000) - 60);
    expired.searchParams.set("e", e);
    expired.searchParams.set("s", createHmac("sha256", process.env.LINK_SIGNING_SECRET ?? JWT_SECRET)
      .update(`unsubscribe:${url.searchParams.get("r")}:${url.searchParams.get("c")}:${e}`).digest("base64url"));
    const gone = await oneClick(expired.toString());
    expect(gone.status).toBe(410);
    expect((await gone.json()).error.code).toBe("link_expired");
    expect((await sql`select enabled from public.customer_consent where customer_id = ${a.id} and channel = 'email'`)[0].enabled).toBe(true);
  });

  it("the link lifetime is a setting, at least 30 days", async () => {
    await expect(sql`insert into public.messaging_settings (key, value) values ('unsubscribe', '{"link_ttl_days": 7}')`)
      .rejects.toMatchObject({ code: "22023" });
    await sql`insert into public.messaging_settings (key, value) values ('unsubscribe', '{"link_ttl_days": 45}')`;
    const a = await customerWith({ consent: { email: true } });
    const { personalizations } = await sendEmail([a.id]);
    const days = (Number(new URL(linkFor(personalizations[0])).searchParams.get("e")) * 1000 - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(45);
  });
});
