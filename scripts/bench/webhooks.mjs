// npm run bench:webhooks [-- --batches 30 --sustained 40]
// Signed SendGrid batches of 1,000 events through the real gateway and function: time to
// acknowledge (signature check included), sustained ingestion rate, and replaying a batch 3×.
import { generateKeyPairSync, sign } from "node:crypto";
import { arg, freePort, machine, percentile, printTable, report, sql, startDeno, waitForHttp } from "./lib.mjs";

const batches = Number(arg("batches", "30"));
const sustained = Number(arg("sustained", "40"));
const port = Number(arg("port", String(await freePort())));
console.log(`# bench:webhooks at the start: ${machine()}`);
const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const url = `http://127.0.0.1:${port}/functions/v1/sendgrid-events`;

const gateway = startDeno("scripts/functions-gateway.ts", [], {
  FUNCTIONS_PORT: String(port),
  SENDGRID_WEBHOOK_PUBLIC_KEY: publicKey.export({ format: "der", type: "spki" }).toString("base64"),
  SUPABASE_DB_URL: process.env.DB_URL ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
});

async function setup(n) {
  const [{ have }] = await sql`select count(*)::int as have from public.campaign_recipients r join public.campaigns c on c.id = r.campaign_id where c.name = 'bench webhooks'`;
  if (have >= n) return;
  await sql.begin(async (tx) => {
    await tx`insert into auth.users (id, email) select md5('wh-' || i)::uuid, 'wh-' || i || '@bench.test' from generate_series(1, ${n}::int) i on conflict do nothing`;
    await tx`insert into public.users (id, email, full_name) select md5('wh-' || i)::uuid, 'wh-' || i || '@bench.test', 'Webhook ' || i
             from generate_series(1, ${n}::int) i on conflict do nothing`;
    const [c] = await tx`insert into public.campaigns (name, channel, content, audience, status) values ('bench webhooks', 'email', '{"subject":"s","text":"t"}', '{}', 'draft') returning id`;
    await tx`insert into public.campaign_recipients (campaign_id, customer_id, channel, address, status, sent_at)
             select ${c.id}, md5('wh-' || i)::uuid, 'email', 'wh-' || i || '@bench.test', 'sent', now() from generate_series(1, ${n}::int) i`;
    await tx`insert into public.email_logs (customer_id, to_email, subject, status, campaign_id, recipient_id)
             select r.customer_id, r.address, 's', 'sent', r.campaign_id, r.id from public.campaign_recipients r where r.campaign_id = ${c.id}`;
  });
}

let seq = 0;
const kinds = ["processed", "delivered", "open", "open", "click", "delivered", "deferred", "open"];
function batch(recipients, size = 1000) {
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: size }, (_, i) => {
    const r = recipients[(seq + i * 7) % recipients.length];
    const event = kinds[(seq + i) % kinds.length];
    return { email: r.address, timestamp: now, event, sg_event_id: `bench-${process.pid}-${seq++}`, sg_message_id: "bench.filter",
             recipient_id: r.id, campaign_id: r.campaign_id, ...(event === "click" ? { url: `https://rental.test/l/${i % 5}` } : {}) };
  });
}

async function post(events) {
  const body = JSON.stringify(events);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign("sha256", Buffer.from(timestamp + body), privateKey).toString("base64");
  const t = performance.now();
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json",
    "X-Twilio-Email-Event-Webhook-Signature": signature, "X-Twilio-Email-Event-Webhook-Timestamp": timestamp }, body });
  const out = await res.json();
  if (res.status !== 200) throw new Error(`status ${res.status}: ${JSON.stringify(out)}`);
  return { ms: performance.now() - t, out };
}

try {
  await setup(20_000);
  const recipients = await sql`select r.id, r.address, r.campaign_id from public.campaign_recipients r join public.campaigns c on c.id = r.campaign_id where c.name = 'bench webhooks'`;
  await waitForHttp(`http://127.0.0.1:${port}/functions/v1/health`);
  for (let i = 0; i < 3; i++) await post(batch(recipients)); // warm up

  const latencies = [];
  for (let i = 0; i < batches; i++) latencies.push((await post(batch(recipients))).ms);
  report({ figure: "ack 1,000 signed events p50", value: +percentile(latencies, 50).toFixed(1), unit: "ms" });
  report({ figure: "ack 1,000 signed events p95", value: +percentile(latencies, 95).toFixed(1), unit: "ms", target: "<= 250 ms", ok: percentile(latencies, 95) <= 250 });

  const prepared = Array.from({ length: sustained }, () => batch(recipients));
  const t = performance.now();
  let next = 0;
  await Promise.all([1, 2, 3, 4].map(async () => {
    while (next < prepared.length) await post(prepared[next++]);
  }));
  const rate = (sustained * 1000) / ((performance.now() - t) / 1000);
  report({ figure: "sustained ingestion, 4 senders", value: Math.round(rate), unit: "events/s", target: ">= 5000/s", ok: rate >= 5000 });

  const replay = batch(recipients);
  await post(replay);
  const snapshot = async () => (await sql`
    select (select count(*) from public.message_events)::int as events, (select count(*) from public.customer_timeline_events)::int as timeline,
           (select count(*) from public.suppressions)::int as suppressions, (select count(*) from public.customer_consent_history)::int as consent,
           (select md5(string_agg(status, ',' order by id)) from public.campaign_recipients r where r.campaign_id = ${recipients[0].campaign_id}) as statuses`)[0];
  const before = await snapshot();
  const replies = [];
  for (let i = 0; i < 3; i++) replies.push((await post(replay)).out);
  const after = await snapshot();
  const unchanged = JSON.stringify(before) === JSON.stringify(after) && replies.every((r) => r.new === 0);
  report({ figure: "replay the same batch 3x: rows changed", value: unchanged ? 0 : 1, unit: `events ${before.events}->${after.events}, timeline ${before.timeline}->${after.timeline}`, target: "0", ok: unchanged });
} finally {
  gateway.kill("SIGTERM");
  await sql.end();
}
printTable("bench:webhooks");
