// Dispatch against the fake provider over real HTTP with real dispatcher processes.
import { describe, expect, it } from "vitest";
import { callFunction, fakeProvider, mintJwt, sql } from "../support/index.ts";
import {
  communicator,
  customerWith,
  drain,
  exited,
  isolateMessagingTests,
  queueCampaign,
  recipients,
  startDispatcher,
  tally,
  timesReceived,
  waitUntil,
} from "../support/messaging.ts";

isolateMessagingTests();

async function queue(channel: "email" | "sms" | "push", customerIds: string[], extra: Record<string, unknown> = {}) {
  const content = channel === "email"
    ? { subject: "Hi {{first_name}}", text: "Hello {{full_name}}, unsubscribe: {{unsubscribe_url}}", html: "<p>Hello {{full_name}}</p>" }
    : { text: "Hello {{first_name}} from {{city}}" };
  return await queueCampaign({ name: `dispatch ${channel}`, channel, content, customerIds, ...extra });
}

async function manyCustomers(n: number, channel: "email" | "sms" = "email") {
  const rows = await sql<Array<{ id: string }>>`
    with u as (
      insert into auth.users (id, email) select gen_random_uuid(), 'bulk-' || gen_random_uuid() || '@example.test' from generate_series(1, ${n})
      returning id, email
    ), p as (
      insert into public.users (id, email, full_name, city, phone)
      select id, email, 'Bulk Customer', 'Bergen', '+4792' || lpad((row_number() over ())::text, 6, '0') from u
      returning id
    )
    select id from p`;
  await sql`insert into public.customer_consent (customer_id, channel, enabled, source)
            select id::uuid, ${channel}, true, 'import' from unnest(${rows.map((r) => r.id)}::uuid[]) id`;
  return rows.map((r) => r.id);
}

describe("dispatch sends through the providers", () => {
  it("sends email in one SendGrid call with custom_args, logs it and writes the timeline; the campaign ends sent", async () => {
    const a = await customerWith({ consent: { email: true }, name: "Åse <b>Berg</b>" });
    const b = await customerWith({ consent: { email: true } });
    const { campaign_id } = await queue("email", [a.id, b.id]);
    await drain();
    const reqs = (await fakeProvider.requests()).filter((r) => r.path === "/v3/mail/send");
    expect(reqs).toHaveLength(1);
    expect(reqs[0].headers.authorization).toBe("Bearer SG.test-key");
    const p = reqs[0].body.personalizations;
    expect(p).toHaveLength(2);
    const mine = p.find((x: any) => x.to[0].email === a.email);
    expect(mine.custom_args).toMatchObject({ campaign_id });
    expect(mine.substitutions["{{first_name}}"]).toBe("Åse");
    expect(mine.substitutions["{{full_name__html}}"]).toBe("Åse &lt;b&gt;Berg&lt;/b&gt;");
    expect(reqs[0].body.content.find((c: any) => c.type === "text/html").value).toBe("<p>Hello {{full_name__html}}</p>");
    const rows = await recipients(campaign_id);
    expect(rows.map((r) => r.status)).toEqual(["sent", "sent"]);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(p.map((x: any) => x.custom_args.recipient_id)));
    const logs = await sql`select to_email, status, campaign_id from public.email_logs where campaign_id = ${campaign_id}`;
    expect(logs).toHaveLength(2);
    const events = await sql`select title, metadata from public.customer_timeline_events
                              where customer_id = ${a.id} and event_type = 'campaign'`;
    expect(events).toHaveLength(1);
    expect(events[0].title).toBe("Campaign email sent: Hi {{first_name}}");
    expect(events[0].metadata).toMatchObject({ campaign_id, kind: "campaign" });
    expect((await sql`select status from public.campaigns where id = ${campaign_id}`)[0].status).toBe("sent");
  });

  it("sends SMS through Twilio's form API with basic auth", async () => {
    const c = await customerWith({ consent: { sms: true }, name: "Kari Nordmann", city: "Bodø" });
    const { campaign_id } = await queue("sms", [c.id]);
    await drain();
    const reqs = (await fakeProvider.requests()).filter((r) => r.path.endsWith("/Messages.json"));
    expect(reqs).toHaveLength(1);
    expect(reqs[0].path).toBe(`/2010-04-01/Accounts/${process.env.TWILIO_ACCOUNT_SID}/Messages.json`);
    expect(reqs[0].headers["content-type"]).toContain("application/x-www-form-urlencoded");
    expect(reqs[0].headers.authorization).toBe(`Basic ${Buffer.from(`${process.env.TWILIO_ACCOUNT_SID}:${process.env.TWILIO_AUTH_TOKEN}`).toString("base64")}`);
    expect(reqs[0].body).toMatchObject({ To: c.phone, Body: "Hello Kari from Bodø" });
    const [r] = await recipients(campaign_id);
    expect(r.status).toBe("sent");
    expect((await sql`select count(*)::int as n from public.sms_logs where recipient_id = ${r.id}`)[0].n).toBe(1);
  });

  it("sends push through Expo to the customer's latest token", async () => {
    const c = await customerWith({ consent: { push: true } });
    await sql`insert into public.customer_push_tokens (customer_id, token, platform, last_seen_at)
              values (${c.id}, ${`ExponentPushToken[old-${c.id}]`}, 'ios', now() - interval '1 day'), (${c.id}, ${`ExponentPushToken[new-${c.id}]`}, 'ios', now())`;
    const { campaign_id } = await queue("push", [c.id]);
    await drain();
    const reqs = (await fakeProvider.requests()).filter((r) => r.path === "/--/api/v2/push/send");
    expect(reqs).toHaveLength(1);
    expect(reqs[0].body[0]).toMatchObject({ to: `ExponentPushToken[new-${c.id}]`, body: "Hello Test from Oslo" });
    expect((await recipients(campaign_id))[0].status).toBe("sent");
  });

  it("does not send to a customer whose consent was revoked after queueing", async () => {
    const keep = await customerWith({ consent: { email: true } });
    const revoke = await customerWith({ consent: { email: true } });
    const { campaign_id, queued } = await queue("email", [keep.id, revoke.id]);
    expect(queued).toBe(2);
    await sql`select public.set_customer_consent(${revoke.id}, 'email', false, 'self_service')`;
    await drain();
    const sentTo = (await fakeProvider.requests()).flatMap((r) => r.body.personalizations?.map((p: any) => p.to[0].email) ?? []);
    expect(sentTo).toEqual([keep.email]);
    const fate = Object.fromEntries((await recipients(campaign_id)).map((r) => [r.customer_id, r.status]));
    expect(fate[revoke.id]).toBe("skipped_no_consent");
    expect(fate[keep.id]).toBe("sent");
  });

  it("does not send to an address suppressed after queueing", async () => {
    const c = await customerWith({ consent: { email: true } });
    const { campaign_id } = await queue("email", [c.id]);
    await sql`insert into public.suppressions (channel, address, reason, source) values ('email', ${c.email!}, 'bounce', 'test')`;
    await drain();
    expect(await fakeProvider.requests()).toHaveLength(0);
    expect((await recipients(campaign_id))[0].status).toBe("skipped_suppressed");
  });

  it("fails a recipient for good on a permanent 4xx, keeping the provider's error", async () => {
    const bad = await customerWith({ consent: { sms: true } });
    const { campaign_id } = await queue("sms", [bad.id]);
    // an address the provider rejects (our E.164 check keeps such numbers out of users)
    await sql`update public.campaign_recipients set address = '+0000' where campaign_id = ${campaign_id}`;
    await drain();
    const [r] = await recipients(campaign_id);
    expect(r.status).toBe("failed");
    expect(r.attempts).toBe(1);
    expect(r.last_error).toMatch(/twilio 400 21211/);
  });

  // One email through SendGrid answering `faults`, with the dispatch settings given: its recipient.
  async function emailThroughFaults(dispatch: Record<string, number>, faults: Array<{ status: number; count: number }>) {
    await sql`insert into public.messaging_settings (key, value) values ('dispatch', ${sql.json(dispatch)})`;
    await fakeProvider.control({ faults });
    const c = await customerWith({ consent: { email: true } });
    const { campaign_id } = await queue("email", [c.id]);
    await drain([], 2500);
    const [r] = await recipients(campaign_id);
    return r;
  }

  it("retries a 5xx up to the limit, then fails with the error", async () => {
    const r = await emailThroughFaults({ max_attempts: 3, base_backoff_seconds: 0.05 }, [{ status: 503, count: -1 }]);
    expect(r.status).toBe("failed");
    expect(r.attempts).toBe(3);
    expect(r.last_error).toMatch(/sendgrid 503/);
    expect((await fakeProvider.requests()).length).toBe(3);
  });

  it("recovers from a 5xx: a later attempt is sent", async () => {
    const r = await emailThroughFaults({ base_backoff_seconds: 0.05 }, [{ status: 500, count: 2 }]);
    expect(r.status).toBe("sent");
    expect(r.attempts).toBe(3);
  });

  it("a provider that does not answer (timeout) leaves the SMS in doubt; Twilio's list shows it never arrived, so it is sent again", async () => {
    await sql`insert into public.messaging_settings (key, value) values ('dispatch', '{"base_backoff_seconds":0.05}')`;
    await sql`insert into public.messaging_settings (key, value) values ('in_doubt', '{"settle_seconds":1}')`;
    await fakeProvider.control({ timeout_count: 1 });
    const a = await customerWith({ consent: { sms: true } });
    const { campaign_id } = await queue("sms", [a.id]);
    await drain([], 2500, { PROVIDER_TIMEOUT_MS: "800" });
    const [r] = await recipients(campaign_id);
    expect(r.status).toBe("sent");
    expect(r.attempts).toBe(2);
  });

  it("survives a 429 storm: honours Retry-After for every worker and sends everything in the end", async () => {
    await fakeProvider.control({ faults: [{ status: 429, count: 3, retry_after: 1, path_prefix: "/2010-04-01/" }] });
    const ids = await manyCustomers(30, "sms");
    const { campaign_id } = await queue("sms", ids);
    const workers = [startDispatcher(["--max-idle-ms", "2500", "--idle-sleep-ms", "100", "--batch", "10"]),
                     startDispatcher(["--max-idle-ms", "2500", "--idle-sleep-ms", "100", "--batch", "10"])];
    await Promise.all(workers.map(exited));
    const rows = await recipients(campaign_id);
    expect(rows.every((r) => r.status === "sent")).toBe(true);
    const reqs = (await fakeProvider.requests()).filter((r) => r.path.endsWith("/Messages.json"));
    const limited = reqs.filter((r) => r.status === 429);
    const ok = reqs.filter((r) => r.status === 201);
    expect(limited.length).toBe(3);
    expect(ok.length).toBe(30);
    // once a 429 was answered, no worker sent anything new until its Retry-After (1 s) had passed;
    // only requests already claimed or in flight beside it (within a few hundred ms) may land meanwhile
    for (const l of limited) {
      const meanwhile = reqs.filter((r) => r.at > l.at + 300 && r.at < l.at + 900);
      expect(meanwhile).toHaveLength(0);
    }
    const last429 = Math.max(...limited.map((r) => r.at));
    expect(Math.max(...ok.map((r) => r.at))).toBeGreaterThanOrEqual(last429 + 900);
  });

  it("holds the throttle: a 600/min campaign never beats the token bucket", async () => {
    const ids = await manyCustomers(40, "sms");
    await queue("sms", ids, { throttle_per_minute: 600 });
    await Promise.all([0, 1].map(() => exited(startDispatcher(["--max-idle-ms", "1500", "--idle-sleep-ms", "50"]))));
    const times = (await fakeProvider.requests()).filter((r) => r.path.endsWith("/Messages.json")).map((r) => r.at).sort((x, y) => x - y);
    expect(times).toHaveLength(40);
    // 10/s with a burst of at most 2.5 tokens: any window of w ms holds at most 3 + 10*w/1000 sends
    for (let i = 0; i < times.length; i++) {
      for (let j = i; j < times.length; j++) {
        const w = times[j] - times[i];
        expect(j - i + 1).toBeLessThanOrEqual(Math.floor(3 + (10 * w) / 1000) + 1);
      }
    }
    expect(times[times.length - 1] - times[0]).toBeGreaterThanOrEqual(3000);
  });
});

describe("never lost, never doubled", () => {
  it("4 concurrent dispatchers send every recipient exactly once", async () => {
    const ids = await manyCustomers(2000);
    const { campaign_id } = await queue("email", ids);
    const workers = [1, 2, 3, 4].map(() => startDispatcher(["--max-idle-ms", "1500", "--idle-sleep-ms", "50", "--batch", "100"]));
    await Promise.all(workers.map(exited));
    const received = await timesReceived();
    const rows = await recipients(campaign_id);
    expect(rows).toHaveLength(2000);
    expect(rows.every((r) => r.status === "sent")).toBe(true);
    expect(received.size).toBe(2000);
    expect([...received.values()].every((n) => n === 1)).toBe(true);
  });

  it("a dispatcher killed mid-batch loses nothing and doubles nothing: its in-flight batch is settled from the provider's events", async () => {
    await sql`insert into public.messaging_settings (key, value) values ('in_doubt', '{"email":{"wait_seconds":30,"then":"hold"},"settle_seconds":1}')`;
    const ids = await manyCustomers(300);
    const { campaign_id } = await queue("email", ids);
    await fakeProvider.control({ latency_ms: 1500, emit_events: true });
    const victim = startDispatcher(["--worker", "victim", "--lease", "2", "--batch", "100"]);
    // kill it while its first batch is at the provider
    await waitUntil(async () => (await sql`select count(*)::int as n from public.campaign_recipients where campaign_id = ${campaign_id} and leased_by = 'victim'`)[0].n > 0);
    const inFlight = new Set((await sql`select id from public.campaign_recipients where campaign_id = ${campaign_id} and leased_by = 'victim'`).map((r) => r.id));
    await new Promise((r) => setTimeout(r, 300));
    victim.kill("SIGKILL");
    await exited(victim);
    await fakeProvider.control({ latency_ms: 0 });
    await drain(["--worker", "rescuer"], 3000);

    const rows = await recipients(campaign_id);
    expect(rows.every((r) => ["sent", "delivered"].includes(r.status))).toBe(true);
    const received = await timesReceived();
    expect(received.size).toBe(300);
    expect([...received.values()].every((n) => n === 1)).toBe(true);
    const attempts = rows.filter((r) => inFlight.has(r.id)).map((r) => r.attempts);
    expect(attempts.every((n) => n === 1)).toBe(true);
    expect((await sql`select count(*)::int as n from public.email_logs where campaign_id = ${campaign_id}`)[0].n).toBe(300);
  });
});

describe("campaign control", () => {
  it("pause holds everything, resume sends, cancel stops what has not left", async () => {
    const comms = await communicator();
    const ids = await manyCustomers(20, "sms");
    const { campaign_id } = await queue("sms", ids);
    const rpc = async (fn: string) => {
      const jwt = comms.jwt;
      return await sql.begin(async (tx) => {
        await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify({ sub: comms.id, role: "authenticated" })}, true)`;
        const [r] = await tx`select ${tx.unsafe(`public.${fn}`)}(${campaign_id}::uuid) as r`;
        return r.r;
      });
    };
    expect((await rpc("pause_campaign")).status).toBe("paused");
    await drain([], 800);
    expect(await fakeProvider.requests()).toHaveLength(0);
    expect((await rpc("resume_campaign")).status).toBe("sending");
    await sql`update public.campaign_recipients set next_attempt_at = now() + interval '1 hour'
               where campaign_id = ${campaign_id} and customer_id = any(${ids.slice(10)}::uuid[])`;
    await drain([], 800);
    const cancelled = await rpc("cancel_campaign");
    expect(cancelled).toMatchObject({ status: "cancelled", cancelled_recipients: 10 });
    await sql`update public.campaign_recipients set next_attempt_at = now() where campaign_id = ${campaign_id}`;
    await drain([], 800);
    const statuses = tally((await recipients(campaign_id)).map((r) => r.status));
    expect(Object.fromEntries(statuses)).toEqual({ sent: 10, cancelled: 10 });
    expect((await fakeProvider.requests())).toHaveLength(10);
    await expect(rpc("resume_campaign")).rejects.toMatchObject({ code: "PT409" });
  });

  it("dispatch-messages answers only the service role", async () => {
    const comms = await communicator();
    expect((await callFunction("dispatch-messages", { jwt: comms.jwt, body: {} })).status).toBe(403);
    const res = await callFunction("dispatch-messages", { jwt: await mintJwt("service_role"), body: { budget_ms: 500 } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ claimed: 0 });
    expect((await callFunction("dispatch-messages", { jwt: await mintJwt("service_role"), body: { budget_ms: 5 } })).status).toBe(400);
    const bad = await callFunction("dispatch-messages", { jwt: await mintJwt("service_role"), body: "{not json" });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe("invalid_json");
    expect((await callFunction("dispatch-messages", { jwt: await mintJwt("service_role"), body: { budget_ms: "500" } })).status).toBe(400);
  });
});
