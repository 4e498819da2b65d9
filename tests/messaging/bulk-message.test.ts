import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { callFunction, createUser, sql } from "../support/index.ts";
import { clearMessagingState, communicator, customerWith, recipients } from "../support/messaging.ts";

afterAll(async () => {
  await sql.end();
});
beforeEach(async () => {
  await clearMessagingState();
});

const content = { subject: "Spring offers, {{first_name}}", text: "Hello {{full_name}} in {{city}}" };

describe("bulk-message refuses what it must", () => {
  it("answers 401 without a JWT", async () => {
    const res = await callFunction("bulk-message", { body: {} });
    expect(res.status).toBe(401);
  });

  it("answers 403 to an admin without the communications role", async () => {
    const admin = await createUser(["admin"]);
    const c = await customerWith({ consent: { email: true } });
    const res = await callFunction("bulk-message", {
      jwt: admin.jwt,
      body: { name: "x", channel: "email", content, audience: { customer_ids: [c.id] } },
    });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("forbidden");
  });

  it("answers 403 to a customer", async () => {
    const customer = await customerWith();
    const res = await callFunction("bulk-message", {
      jwt: customer.jwt,
      body: { name: "x", channel: "email", content, audience: { customer_ids: [customer.id] } },
    });
    expect(res.status).toBe(403);
  });

  const bad: Array<[string, unknown, string]> = [
    ["missing name", { channel: "email", content, audience: { customer_ids: [] } }, "name"],
    ["unknown channel", { name: "x", channel: "fax", content, audience: { customer_ids: [] } }, "channel"],
    ["template and content", { name: "x", channel: "email", content, template_id: crypto.randomUUID(), audience: { customer_ids: [crypto.randomUUID()] } }, "template_id"],
    ["email without subject", { name: "x", channel: "email", content: { text: "hi" }, audience: { customer_ids: [crypto.randomUUID()] } }, "content.subject"],
    ["html on sms", { name: "x", channel: "sms", content: { text: "hi", html: "<b>x</b>" }, audience: { customer_ids: [crypto.randomUUID()] } }, "content"],
    ["two audiences", { name: "x", channel: "email", content, audience: { customer_ids: [crypto.randomUUID()], segment_id: crypto.randomUUID() } }, "audience"],
    ["a malformed id", { name: "x", channel: "email", content, audience: { customer_ids: ["not-a-uuid"] } }, "audience"],
    ["a throttle of 0", { name: "x", channel: "email", content, audience: { customer_ids: [crypto.randomUUID()] }, throttle_per_minute: 0 }, "throttle_per_minute"],
    ["a bad date", { name: "x", channel: "email", content, audience: { customer_ids: [crypto.randomUUID()] }, scheduled_at: "tomorrow" }, "scheduled_at"],
    ["an unknown field", { name: "x", channel: "email", content, audience: { customer_ids: [crypto.randomUUID()] }, priority: 1 }, "body"],
  ];
  for (const [label, body, field] of bad) {
    it(`answers 400 naming the field for ${label}`, async () => {
      const comms = await communicator();
      const before = await sql`select count(*)::int as n from public.campaigns`;
      const res = await callFunction("bulk-message", { jwt: comms.jwt, body });
      expect(res.status).toBe(400);
      const err = (await res.json()).error;
      expect(err.message.startsWith(field)).toBe(true);
      expect(Array.isArray(err.details)).toBe(true);
      const after = await sql`select count(*)::int as n from public.campaigns`;
      expect(after[0].n).toBe(before[0].n);
    });
  }

  it("answers 400 naming the variable when the content uses one outside the whitelist", async () => {
    const comms = await communicator();
    const c = await customerWith({ consent: { email: true } });
    const res = await callFunction("bulk-message", {
      jwt: comms.jwt,
      body: { name: "x", channel: "email", content: { subject: "Hi", text: "Your password is {{password}}" }, audience: { customer_ids: [c.id] } },
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/^content\.text: unknown variable \{\{password\}\}/);
  });

  it("answers 400 for a customer id that does not exist, and writes nothing", async () => {
    const comms = await communicator();
    const ghost = crypto.randomUUID();
    const res = await callFunction("bulk-message", {
      jwt: comms.jwt,
      body: { name: "ghost", channel: "email", content, audience: { customer_ids: [ghost] } },
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toContain(`audience.customer_ids: no customer ${ghost}`);
    expect((await sql`select count(*)::int as n from public.campaigns where name = 'ghost'`)[0].n).toBe(0);
  });

  it("answers 400 for a template that does not exist", async () => {
    const comms = await communicator();
    const c = await customerWith({ consent: { email: true } });
    const res = await callFunction("bulk-message", {
      jwt: comms.jwt,
      body: { name: "x", channel: "email", template_id: crypto.randomUUID(), audience: { customer_ids: [c.id] } },
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/^template_id: no template/);
  });
});

describe("bulk-message decides every member's fate in one statement", () => {
  it("queues the consented and skips, in order, no consent, suppressed and no address", async () => {
    const comms = await communicator();
    const ok = await customerWith({ consent: { email: true } });
    const noRow = await customerWith({});
    const revoked = await customerWith({ consent: { email: false } });
    const suppressed = await customerWith({ consent: { email: true } });
    await sql`insert into public.suppressions (channel, address, reason, source) values ('email', upper(${suppressed.email!}), 'bounce', 'test')`;
    const noAddress = await customerWith({ email: null, consent: { email: true } });
    // no consent beats suppression: checked in the contract's order
    const both = await customerWith({ consent: { email: false } });
    await sql`insert into public.suppressions (channel, address, reason, source) values ('email', ${both.email!}, 'spamreport', 'test')`;

    const ids = [ok, noRow, revoked, suppressed, noAddress, both].map((c) => c.id);
    const res = await callFunction("bulk-message", {
      jwt: comms.jwt,
      body: { name: "Spring offers", channel: "email", content, audience: { customer_ids: [...ids, ok.id] } },
    });
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body).toMatchObject({
      audience_count: 6,
      queued: 1,
      skipped: { no_consent: 3, suppressed: 1, no_address: 1, frequency_cap: 0 },
      status: "sending",
    });
    const rows = await recipients(body.campaign_id);
    const fate = Object.fromEntries(rows.map((r) => [r.customer_id, r.status]));
    expect(fate).toEqual({
      [ok.id]: "queued",
      [noRow.id]: "skipped_no_consent",
      [revoked.id]: "skipped_no_consent",
      [suppressed.id]: "skipped_suppressed",
      [noAddress.id]: "skipped_no_address",
      [both.id]: "skipped_no_consent",
    });
    const [proof] = await sql`
      select r.consent_history_id, h.new_enabled, h.source from public.campaign_recipients r
        join public.customer_consent_history h on h.id = r.consent_history_id
       where r.campaign_id = ${body.campaign_id} and r.customer_id = ${ok.id}`;
    expect(proof).toMatchObject({ new_enabled: true, source: "signup" });
    const [campaign] = await sql`select content, status, created_by from public.campaigns where id = ${body.campaign_id}`;
    expect(campaign.content).toEqual(content);
    expect(campaign.created_by).toBe(comms.id);
    const [audience] = await sql`select count, segment_snapshot from public.campaign_audiences where campaign_id = ${body.campaign_id}`;
    expect(audience.count).toBe(6);
    expect(audience.segment_snapshot).toMatchObject({ kind: "customer_ids", counts: { email: { eligible: 1, no_consent: 3, suppressed: 1, no_address: 1 } } });
    expect(audience.segment_snapshot.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("applies the frequency cap from settings, and not when unset", async () => {
    const comms = await communicator();
    const c = await customerWith({ consent: { email: true } });
    const send = async () =>
      await (await callFunction("bulk-message", {
        jwt: comms.jwt,
        body: { name: "cap", channel: "email", content, audience: { customer_ids: [c.id] } },
      })).json();
    expect((await send()).queued).toBe(1);
    expect((await send()).queued).toBe(1); // off unless set
    await sql`insert into public.messaging_settings (key, value) values ('frequency_cap', '{"email":{"max":2,"days":7}}')`;
    const third = await send();
    expect(third.queued).toBe(0);
    expect(third.skipped.frequency_cap).toBe(1);
    const sms = await customerWith({ consent: { sms: true } });
    const smsRes = await (await callFunction("bulk-message", {
      jwt: comms.jwt,
      body: { name: "cap sms", channel: "sms", content: { text: "hi" }, audience: { customer_ids: [sms.id] } },
    })).json();
    expect(smsRes.queued).toBe(1); // the cap is per channel
  });

  it("refuses a bad frequency cap setting with 22023", async () => {
    await expect(sql`insert into public.messaging_settings (key, value) values ('frequency_cap', '{"email":{"max":0,"days":7}}')`)
      .rejects.toMatchObject({ code: "22023" });
    await expect(sql`insert into public.messaging_settings (key, value) values ('frequency_cap', '{"fax":{"max":1,"days":7}}')`)
      .rejects.toMatchObject({ code: "22023" });
  });

  it("leaves a campaign with a future scheduled_at scheduled", async () => {
    const comms = await communicator();
    const c = await customerWith({ consent: { sms: true } });
    const at = new Date(Date.now() + 3600_000).toISOString();
    const res = await callFunction("bulk-message", {
      jwt: comms.jwt,
      body: { name: "later", channel: "sms", content: { text: "See you {{first_name}}" }, audience: { customer_ids: [c.id] }, scheduled_at: at },
    });
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.status).toBe("scheduled");
    const [r] = await sql`select status, next_attempt_at from public.campaign_recipients where campaign_id = ${body.campaign_id}`;
    expect(r.status).toBe("queued");
    expect(new Date(r.next_attempt_at).toISOString()).toBe(at);
  });

  it("sends a template's frozen content, and refuses a template with an unknown variable when it is saved", async () => {
    const comms = await communicator();
    await expect(sql`
      insert into public.message_templates (channel, name, subject, body_text, variables)
      values ('email', 'bad', 'Hi', 'Your code {{coupon_code}}', '{}')`).rejects.toMatchObject({ code: "22023", message: expect.stringContaining("coupon_code") });
    await expect(sql`
      insert into public.message_templates (channel, name, subject, body_text, variables)
      values ('email', 'undeclared', 'Hi', 'Hello {{city}}', '{first_name}')`).rejects.toMatchObject({ code: "22023", message: expect.stringContaining("not declared") });
    const [t] = await sql`
      insert into public.message_templates (channel, name, subject, body_text, body_html, variables)
      values ('email', ${"tmpl-" + crypto.randomUUID()}, 'Hi {{first_name}}', 'Hello {{city}}', '<p>Hello {{city}}</p>', '{first_name,city}')
      returning id, version`;
    expect(t.version).toBe(1);
    const c = await customerWith({ consent: { email: true } });
    const res = await callFunction("bulk-message", {
      jwt: comms.jwt,
      body: { name: "templated", channel: "email", template_id: t.id, audience: { customer_ids: [c.id] } },
    });
    expect(res.status).toBe(202);
    const { campaign_id } = await res.json();
    await sql`update public.message_templates set body_text = 'Changed {{city}}' where id = ${t.id}`;
    const [campaign] = await sql`select content, template_version from public.campaigns where id = ${campaign_id}`;
    expect(campaign.content.text).toBe("Hello {{city}}");
    expect(campaign.template_version).toBe(1);
    expect((await sql`select version from public.message_templates where id = ${t.id}`)[0].version).toBe(2);
  });
});

describe("communications-audience and message-preview", () => {
  it("freezes an audience and reports eligibility per channel", async () => {
    const comms = await communicator();
    const a = await customerWith({ consent: { email: true, sms: true } });
    const b = await customerWith({ consent: { email: true }, phone: null });
    const res = await callFunction("communications-audience", { jwt: comms.jwt, body: { audience: { customer_ids: [a.id, b.id] } } });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.count).toBe(2);
    expect(body.snapshot.counts).toEqual({
      email: { eligible: 2, no_consent: 0, suppressed: 0, no_address: 0 },
      sms: { eligible: 1, no_consent: 1, suppressed: 0, no_address: 0 },
      push: { eligible: 0, no_consent: 2, suppressed: 0, no_address: 0 },
    });
    const members = await sql`select customer_id from public.campaign_audience_members where audience_id = ${body.audience_id} order by 1`;
    expect(members.map((m) => m.customer_id).sort()).toEqual([a.id, b.id].sort());
  });

  it("answers 403 without the communications role and 400 for a bad audience", async () => {
    const admin = await createUser(["admin"]);
    expect((await callFunction("communications-audience", { jwt: admin.jwt, body: { audience: { customer_ids: [admin.id] } } })).status).toBe(403);
    const comms = await communicator();
    const res = await callFunction("communications-audience", { jwt: comms.jwt, body: { audience: {} } });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/^audience/);
  });

  it("answers 400 to preview content without text, or an email without a subject", async () => {
    const comms = await communicator();
    const c = await customerWith({});
    const noText = await callFunction("message-preview", { jwt: comms.jwt, body: { customer_id: c.id, channel: "sms", content: {} } });
    expect(noText.status).toBe(400);
    expect((await noText.json()).error.message).toMatch(/^content\.text/);
    const noSubject = await callFunction("message-preview", { jwt: comms.jwt, body: { customer_id: c.id, channel: "email", content: { text: "hi" } } });
    expect(noSubject.status).toBe(400);
    expect((await noSubject.json()).error.message).toMatch(/^content\.subject/);
  });

  it("renders a template for one customer, escaping values in HTML", async () => {
    const comms = await communicator();
    const c = await customerWith({ name: "Ola <script>alert(1)</script> Nordmann", city: "Tromsø" });
    const res = await callFunction("message-preview", {
      jwt: comms.jwt,
      body: { customer_id: c.id, channel: "email", content: { subject: "Hi {{first_name}}", text: "Hello {{full_name}} from {{ city }}", html: "<p>{{full_name}}</p><a href=\"{{unsubscribe_url}}\">x</a>" } },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.subject).toBe("Hi Ola");
    expect(body.text).toBe("Hello Ola <script>alert(1)</script> Nordmann from Tromsø");
    expect(body.html).toContain("<p>Ola &lt;script&gt;alert(1)&lt;/script&gt; Nordmann</p>");
  });
});
