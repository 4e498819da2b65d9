// One message per person and address, one campaign per request (issue 12), with real parallel
// HTTP calls to bulk-message and the fake provider's recorded requests as the judge.
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { callFunction, fakeProvider, sql } from "../support/index.ts";
import { clearMessagingState, communicator, customerWith, drain, receivedRecipientIds, recipients } from "../support/messaging.ts";

afterAll(async () => {
  await sql.end();
});
beforeEach(async () => {
  await clearMessagingState();
  await fakeProvider.reset();
});

const content = { subject: "Spring offers, {{first_name}}", text: "Hello {{full_name}}" };

async function post(jwt: string, body: unknown, key?: string): Promise<{ status: number; body: any }> {
  const res = await callFunction("bulk-message", { jwt, body, headers: key === undefined ? {} : { "Idempotency-Key": key } });
  return { status: res.status, body: await res.json() };
}

// Emails the fake provider received for these recipient rows, counted per customer.
async function emailsPerCustomer(campaignIds: string[]): Promise<Map<string, number>> {
  const received = receivedRecipientIds(await fakeProvider.requests());
  const rows = await sql<Array<{ id: string; customer_id: string }>>`
    select id, customer_id from public.campaign_recipients where campaign_id = any(${campaignIds}::uuid[])`;
  const owner = new Map(rows.map((r) => [r.id, r.customer_id]));
  const counts = new Map<string, number>();
  for (const id of received) {
    const customer = owner.get(id);
    if (customer) counts.set(customer, (counts.get(customer) ?? 0) + 1);
  }
  return counts;
}

describe("the frequency cap holds under concurrency", () => {
  it("eight parallel identical requests with a cap of 1 per 7 days send one email (three customers at once)", async () => {
    const comms = await communicator();
    const people = await Promise.all([1, 2, 3].map(() => customerWith({ consent: { email: true } })));
    await sql`insert into public.messaging_settings (key, value) values ('frequency_cap', '{"email":{"max":1,"days":7}}')`;
    const answers = await Promise.all(people.flatMap((c) => Array.from({ length: 8 }, () =>
      post(comms.jwt, { name: "Capped", channel: "email", content, audience: { customer_ids: [c.id] } }))));
    expect(answers.map((a) => a.status)).toEqual(Array(24).fill(202));
    // no key: 24 campaigns, but the cap lets one per customer queue
    expect(answers.reduce((n, a) => n + a.body.queued, 0)).toBe(3);
    expect(answers.reduce((n, a) => n + a.body.skipped.frequency_cap, 0)).toBe(21);
    await drain();
    const sent = await emailsPerCustomer(answers.map((a) => a.body.campaign_id));
    expect(Object.fromEntries(sent)).toEqual(Object.fromEntries(people.map((c) => [c.id, 1])));
  });

  it("holds for overlapping audiences too: each customer gets one whatever the campaign", async () => {
    const comms = await communicator();
    const people = await Promise.all(Array.from({ length: 6 }, () => customerWith({ consent: { sms: true } })));
    await sql`insert into public.messaging_settings (key, value) values ('frequency_cap', '{"sms":{"max":1,"days":7}}')`;
    // eight campaigns, each to a different window of the six customers, in parallel
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => post(comms.jwt, {
      name: `Overlap ${i}`, channel: "sms", content: { text: "hi" },
      audience: { customer_ids: [0, 1, 2].map((d) => people[(i + d) % people.length].id) },
    })));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(202));
    const [{ queued }] = await sql`
      select count(*)::int as queued from public.campaign_recipients
       where campaign_id = any(${answers.map((a) => a.body.campaign_id)}::uuid[]) and status = 'queued'`;
    expect(queued).toBe(6);
  });
  it("holds for audiences above the per-customer lock limit (the channel is locked instead), beside small ones", async () => {
    const comms = await communicator();
    // 150 consented customers, made in bulk
    const ids: string[] = (await sql`
      with made as (
        insert into auth.users (id, email) select gen_random_uuid(), 'big-' || gen_random_uuid() || '@example.test'
          from generate_series(1, 150) returning id, email)
      insert into public.users (id, email, full_name) select id, email, 'Big Audience' from made returning id`).map((r) => r.id);
    await sql`select public.set_customer_consent(id, 'email', true, 'signup') from unnest(${ids}::uuid[]) id`;
    await sql`insert into public.messaging_settings (key, value) values ('frequency_cap', '{"email":{"max":1,"days":7}}')`;
    const big = { name: "Big", channel: "email", content, audience: { customer_ids: ids } };
    const answers = await Promise.all([
      post(comms.jwt, big), post(comms.jwt, big),
      ...ids.slice(0, 6).map((id) => post(comms.jwt, { name: "Small", channel: "email", content, audience: { customer_ids: [id] } })),
    ]);
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(202));
    const [{ queued, customers }] = await sql`
      select count(*)::int as queued, count(distinct customer_id)::int as customers from public.campaign_recipients
       where campaign_id = any(${answers.map((a) => a.body.campaign_id)}::uuid[]) and status = 'queued'`;
    expect({ queued, customers }).toEqual({ queued: 150, customers: 150 });
  });
});

describe("Idempotency-Key", () => {
  it("eight parallel requests with one key make one campaign, answer the first answer eight times, and send one email", async () => {
    const comms = await communicator();
    const c = await customerWith({ consent: { email: true } });
    const key = crypto.randomUUID();
    const body = { name: "Once", channel: "email", content, audience: { customer_ids: [c.id] } };
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(comms.jwt, body, key)));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(202));
    for (const a of answers) expect(a.body).toEqual(answers[0].body);
    expect(answers[0].body).toMatchObject({ queued: 1, audience_count: 1 });
    const [{ n }] = await sql`select count(*)::int as n from public.campaigns where name = 'Once' and created_by = ${comms.id}`;
    expect(n).toBe(1);
    await drain();
    expect(Object.fromEntries(await emailsPerCustomer([answers[0].body.campaign_id]))).toEqual({ [c.id]: 1 });
    // and later, the same key and body still answer the same
    const again = await post(comms.jwt, body, key);
    expect(again).toEqual({ status: 202, body: answers[0].body });
  });

  it("without a key, eight parallel requests are eight campaigns (the key is what makes a retry safe)", async () => {
    const comms = await communicator();
    const c = await customerWith({ consent: { sms: true } });
    const answers = await Promise.all(Array.from({ length: 8 }, () =>
      post(comms.jwt, { name: "No key", channel: "sms", content: { text: "hi" }, audience: { customer_ids: [c.id] } })));
    expect(new Set(answers.map((a) => a.body.campaign_id)).size).toBe(8);
  });

  it("the same key with another body is a 422 naming the key, and makes no second campaign", async () => {
    const comms = await communicator();
    const c = await customerWith({ consent: { email: true } });
    const key = crypto.randomUUID();
    const first = await post(comms.jwt, { name: "First", channel: "email", content, audience: { customer_ids: [c.id] } }, key);
    expect(first.status).toBe(202);
    const second = await post(comms.jwt, { name: "Second", channel: "email", content, audience: { customer_ids: [c.id] } }, key);
    expect(second.status).toBe(422);
    expect(second.body.error.message).toMatch(/^idempotency_key: this key was already used for a different request/);
    expect((await sql`select count(*)::int as n from public.campaigns where name = 'Second' and created_by = ${comms.id}`)[0].n).toBe(0);
  });

  it("a refused request keeps nothing: the corrected request with the same key goes through", async () => {
    const comms = await communicator();
    const c = await customerWith({ consent: { email: true } });
    const key = crypto.randomUUID();
    const bad = await post(comms.jwt, { name: "Fixed", channel: "email", content: { text: "no subject" }, audience: { customer_ids: [c.id] } }, key);
    expect(bad.status).toBe(400);
    const good = await post(comms.jwt, { name: "Fixed", channel: "email", content, audience: { customer_ids: [c.id] } }, key);
    expect(good.status).toBe(202);
    expect(good.body.queued).toBe(1);
  });

  it("keys belong to their caller: another communicator's same key is another request", async () => {
    const [a, b] = [await communicator(), await communicator()];
    const c = await customerWith({ consent: { sms: true } });
    const key = crypto.randomUUID();
    const body = { name: "Per caller", channel: "sms", content: { text: "hi" }, audience: { customer_ids: [c.id] } };
    const [ra, rb] = [await post(a.jwt, body, key), await post(b.jwt, body, key)];
    expect(ra.status).toBe(202);
    expect(rb.status).toBe(202);
    expect(ra.body.campaign_id).not.toBe(rb.body.campaign_id);
  });

  it("refuses a key that is not visible ASCII or longer than the database keeps", async () => {
    const comms = await communicator();
    const c = await customerWith({ consent: { sms: true } });
    const body = { name: "Bad key", channel: "sms", content: { text: "hi" }, audience: { customer_ids: [c.id] } };
    const [{ max }] = await sql`select (private.messaging_rules() #>> '{request,idempotency_key,max_chars}')::int as max`;
    for (const key of ["has space", "x".repeat(max + 1)]) {
      const res = await post(comms.jwt, body, key);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/^Idempotency-Key: /);
    }
    expect((await post(comms.jwt, body, "k".repeat(max))).status).toBe(202);
    expect((await sql`select count(*)::int as n from public.campaigns where name = 'Bad key' and created_by = ${comms.id}`)[0].n).toBe(1);
  });
});

describe("one message per address per campaign", () => {
  it("two customers sharing a phone number get one SMS; the other row says why", async () => {
    const comms = await communicator();
    const a = await customerWith({ phone: "+4791555001", consent: { sms: true } });
    const b = await customerWith({ phone: "+4791555001", consent: { sms: true } });
    const res = await post(comms.jwt, { name: "Shared phone", channel: "sms", content: { text: "hi" }, audience: { customer_ids: [a.id, b.id] } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ queued: 1, skipped: { duplicate_address: 1 } });
    const rows = await recipients(res.body.campaign_id);
    const skipped = rows.find((r) => r.status === "skipped_duplicate_address")!;
    const winner = rows.find((r) => r.status === "queued")!;
    expect(skipped.last_error).toBe(`address shared with customer ${winner.customer_id}, who gets this campaign's message`);
    await drain();
    const sms = (await fakeProvider.requests()).filter((r) => r.path.endsWith("/Messages.json"));
    expect(sms.length).toBe(1);
  });

  it("two customers whose email addresses differ only in case and spaces get one email", async () => {
    const comms = await communicator();
    const shared = `shared-${crypto.randomUUID()}@example.test`;
    const a = await customerWith({ email: shared, consent: { email: true } });
    // users.email is unique case-insensitively, so the second copy carries a space (an import's)
    const b = await customerWith({ email: ` ${shared.toUpperCase()}`, consent: { email: true } });
    const res = await post(comms.jwt, { name: "Shared email", channel: "email", content, audience: { customer_ids: [a.id, b.id] } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ queued: 1, skipped: { duplicate_address: 1 } });
    await drain();
    expect([...(await emailsPerCustomer([res.body.campaign_id])).values()]).toEqual([1]);
  });

  it("the one who consented gets it when a sharer has not", async () => {
    const comms = await communicator();
    const noConsent = await customerWith({ phone: "+4791555002", consent: { sms: false } });
    const consented = await customerWith({ phone: "+4791555002", consent: { sms: true } });
    const res = await post(comms.jwt, { name: "Shared, one consent", channel: "sms", content: { text: "hi" }, audience: { customer_ids: [noConsent.id, consented.id] } });
    const fate = Object.fromEntries((await recipients(res.body.campaign_id)).map((r) => [r.customer_id, r.status]));
    expect(fate).toEqual({ [noConsent.id]: "skipped_no_consent", [consented.id]: "queued" });
  });
});
