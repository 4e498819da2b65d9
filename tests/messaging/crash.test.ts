// Never doubled: real dispatcher processes killed with SIGKILL after the fake provider accepted
// their request and before they could record the outcome (the provider holds its answer 3 s).
// The fake provider's recorded requests are the judge: every recipient received exactly once.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { fakeProvider, sql } from "../support/index.ts";
import {
  communicator,
  customerWith,
  drain,
  exited,
  isolateMessagingTests,
  queueCampaign,
  recipients,
  startDispatcher,
  timesReceived,
  waitUntil,
} from "../support/messaging.ts";

isolateMessagingTests();

type Channel = "email" | "sms";

async function queue(channel: Channel, n: number) {
  const customers = [];
  for (let i = 0; i < n; i++) customers.push(await customerWith({ consent: { [channel]: true } }));
  const content = channel === "email" ? { subject: "Crash {{first_name}}", text: "Hello {{full_name}}" } : { text: "Crash test {{first_name}}" };
  return await queueCampaign({
    name: `crash ${channel}`, channel, content, customerIds: customers.map((c) => c.id),
    // the quiet-hours override keeps this test independent of the hour it runs at
    ...(channel === "sms" ? { quiet_hours_override: { reason: "crash test: any hour of the day" } } : {}),
  });
}

function postsTo(channel: Channel) {
  return async () => (await fakeProvider.requests()).filter((r) => r.method === "POST" &&
    (channel === "email" ? r.path === "/v3/mail/send" : r.path.endsWith("/Messages.json"))).length;
}

// One crash: a victim sends, the provider accepts and holds its answer 3 s, the victim is killed in
// that window; a rescuer then settles and finishes the campaign.
async function crashOnce(channel: Channel, n: number, evidence: boolean) {
  await fakeProvider.reset();
  await fakeProvider.control({ answer_delay_ms: 3000, emit_events: evidence });
  const { campaign_id } = await queue(channel, n);
  const victim = startDispatcher(["--worker", `victim-${channel}`, "--lease", "1", "--batch", String(n)]);
  await waitUntil(async () => (await postsTo(channel)()) > 0, 20_000, 20);
  await new Promise((r) => setTimeout(r, 200)); // the other SMS of the batch reach the provider too
  victim.kill("SIGKILL");
  await exited(victim);
  const inDoubt = await sql`select count(*)::int as n from public.campaign_recipients where campaign_id = ${campaign_id} and status = 'sending' and attempt_id is not null`;
  expect(inDoubt[0].n).toBeGreaterThan(0); // the outcome was never recorded
  await fakeProvider.control({ answer_delay_ms: 0 });
  await drain(["--worker", `rescuer-${channel}`], 2500);
  const rows = await recipients(campaign_id);
  const received = await timesReceived();
  return { campaign_id, rows, received };
}

describe("kill -9 between the provider's acceptance and the recorded outcome", () => {
  for (const channel of ["email", "sms"] as const) {
    it(`${channel}: 3 crashes in a row, 0 duplicates and 0 lost`, async () => {
      await sql`insert into public.messaging_settings (key, value)
                values ('in_doubt', '{"email":{"wait_seconds":60,"then":"hold"},"sms":{"wait_seconds":60,"then":"hold"},"settle_seconds":1}')`;
      for (let round = 0; round < 3; round++) {
        const n = 5;
        const { campaign_id, rows, received } = await crashOnce(channel, n, true);
        expect(rows).toHaveLength(n);
        expect(rows.map((r) => r.status).every((s) => ["sent", "delivered"].includes(s))).toBe(true);
        expect(received.size).toBe(n);
        expect([...received.values()]).toEqual(Array(n).fill(1));
        const table = channel === "email" ? "email_logs" : "sms_logs";
        expect((await sql`select count(*)::int as n from ${sql(table)} where campaign_id = ${campaign_id}`)[0].n).toBe(n);
        const how = await sql`select resolution from public.campaign_recipients where campaign_id = ${campaign_id}`;
        expect(how.every((r) => /^evidence/.test(r.resolution ?? ""))).toBe(true);
        expect((await sql`select status from public.campaigns where id = ${campaign_id}`)[0].status).toBe("sent");
      }
    });
  }

  it("sms without callbacks: Twilio's Messages list is the evidence, nothing is sent twice", async () => {
    await sql`insert into public.messaging_settings (key, value) values ('in_doubt', '{"sms":{"wait_seconds":60,"then":"hold"},"settle_seconds":1}')`;
    const { rows, received } = await crashOnce("sms", 4, false);
    expect(received.size).toBe(4);
    expect([...received.values()].every((x) => x === 1)).toBe(true);
    expect(rows.every((r) => r.status === "sent")).toBe(true);
    const lookups = (await fakeProvider.requests()).filter((r) => r.method === "GET" && r.path.endsWith("/Messages.json"));
    expect(lookups.length).toBeGreaterThan(0);
  });

  it("email without any evidence is held for review (then: hold), never sent twice; review marks it sent", async () => {
    await sql`insert into public.messaging_settings (key, value) values ('in_doubt', '{"email":{"wait_seconds":1,"then":"hold"},"settle_seconds":0}')`;
    const { campaign_id, rows, received } = await crashOnce("email", 3, false);
    expect([...received.values()]).toEqual([1, 1, 1]);
    expect(rows.map((r) => r.status)).toEqual(["held", "held", "held"]);
    expect(rows[0].last_error).toMatch(/no evidence within 1 s; held for review/);
    expect((await sql`select status from public.campaigns where id = ${campaign_id}`)[0].status).toBe("sending");
    const comms = await communicator();
    const out = await sql.begin(async (tx) => {
      await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify({ sub: comms.id, role: "authenticated" })}, true)`;
      return (await tx`select public.release_held_recipients(${campaign_id}, 'mark_sent') as r`)[0].r;
    });
    expect(out).toMatchObject({ recipients: 3 });
    expect((await recipients(campaign_id)).map((r) => r.status)).toEqual(["sent", "sent", "sent"]);
    expect((await sql`select status from public.campaigns where id = ${campaign_id}`)[0].status).toBe("sent");
  });

  it("email without any evidence and then: resend is sent again after the wait (the documented trade-off)", async () => {
    await sql`insert into public.messaging_settings (key, value) values ('in_doubt', '{"email":{"wait_seconds":1,"then":"resend"},"settle_seconds":0}')`;
    const { rows, received } = await crashOnce("email", 2, false);
    expect(rows.every((r) => r.status === "sent")).toBe(true);
    expect([...received.values()]).toEqual([2, 2]);
    expect(rows.every((r) => r.attempts === 2)).toBe(true);
  });

  it("refuses a bad in_doubt setting with 22023", async () => {
    await expect(sql`insert into public.messaging_settings (key, value) values ('in_doubt', '{"sms":{"then":"pray"}}')`)
      .rejects.toMatchObject({ code: "22023", message: expect.stringMatching(/value.sms: must be/) });
  });
});

describe("a database restart", () => {
  it("does not stop scripts/dispatch-loop.ts: it reconnects with back-off and sends what is queued afterwards", async () => {
    const worker = startDispatcher(["--worker", "survivor", "--idle-sleep-ms", "100"]);
    let exitCode: number | null | undefined;
    worker.on("exit", (code) => (exitCode = code));
    await new Promise((r) => setTimeout(r, 1500));
    const [{ data_directory }] = await sql`show data_directory`;
    // as scripts/env.sh's as_postgres: the server runs as the postgres OS user
    const pgCtl = [`${process.env.PGBIN ?? "/usr/lib/postgresql/15/bin"}/pg_ctl`, "-D", data_directory, "-w", "-m", "fast", "restart"];
    if (process.getuid?.() === 0) execFileSync("runuser", ["-u", "postgres", "--", ...pgCtl], { stdio: "ignore", env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    else execFileSync(pgCtl[0], pgCtl.slice(1), { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 1500));
    expect(exitCode).toBeUndefined();
    await waitUntil(async () => {
      try {
        await sql`select 1`;
        return true;
      } catch {
        return false;
      }
    });
    const c = await customerWith({ consent: { email: true } });
    const { campaign_id } = await queueCampaign({ name: "after restart", channel: "email", content: { subject: "s", text: "t" }, customerIds: [c.id] });
    await waitUntil(async () => (await recipients(campaign_id))[0].status === "sent", 20_000);
    expect(exitCode).toBeUndefined();
    worker.kill("SIGTERM");
    await exited(worker);
  });
});
