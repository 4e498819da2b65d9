// npm run bench:webhooks [-- --batches 30 --backlog 20 --sustained 40 --interval 200 --chunk 5000 --appliers 0 --yield-ms 250 --port 54371]
// Signed SendGrid batches of 1,000 events through the real gateway, function and webhook inbox:
//   1. ack: time to answer one batch (signature check, inbox write, opt-outs held), the worker
//      applying in the background, batches offered at a steady rate below the apply rate (and,
//      apart, back to back); baseline: the synchronous apply the function did before the inbox
//      (private.ingest_sendgrid_events on the same kind of batch, timed in SQL);
//   2. applied events/s: a backlog of batches drained by private.apply_webhook_inbox, its parts side
//      by side and one after the other, against the synchronous ingest one batch at a time;
//   3. lag from ack to applied, p50/p95, with 4 senders at full speed and the worker running;
//   4. replaying an applied batch changes nothing; the signature check with node:crypto against
//      the vendor's verifier (@sendgrid/eventwebhook).
import { generateKeyPairSync, sign } from "node:crypto";
import { createRequire } from "node:module";
import { arg, exited, freePort, machine, percentile, printTable, report, sql, startDeno, waitForHttp } from "./lib.mjs";

const batches = Number(arg("batches", "30"));
const backlog = Number(arg("backlog", "20"));
const sustained = Number(arg("sustained", "40"));
const interval = Number(arg("interval", "200")); // ms between batches offered in the ack figure
const chunk = Number(arg("chunk", "5000"));      // events per apply_webhook_inbox call, as the worker takes them
const port = Number(arg("port", String(await freePort())));
console.log(`# bench:webhooks at the start: ${machine()}`);
const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const publicKeyDer = publicKey.export({ format: "der", type: "spki" }).toString("base64");
const url = `http://127.0.0.1:${port}/functions/v1/sendgrid-events`;
const DB_URL = process.env.DB_URL ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";

const gateway = startDeno("scripts/functions-gateway.ts", [], {
  FUNCTIONS_PORT: String(port),
  SENDGRID_WEBHOOK_PUBLIC_KEY: publicKeyDer,
  SUPABASE_DB_URL: DB_URL,
});
let worker = null;
const appliers = arg("appliers", "0"); // the worker's loops (0: its default, one per part)
const yieldMs = arg("yield-ms", "250"); // its extra loops wait while webhooks arrive (0: never)
function startWorker() {
  worker = startDeno("scripts/webhook-worker.ts", ["--idle-ms", "200", "--appliers", appliers, "--yield-ms", yieldMs], { SUPABASE_DB_URL: DB_URL });
}
async function stopWorker() {
  if (!worker) return;
  worker.kill("SIGTERM");
  await exited(worker);
  worker = null;
}

// Each measured phase sends a new campaign to n customers of the world that no earlier phase or
// run used (the next slice by id; it wraps around in a small world): the events move fresh
// recipients through delivered, opened and clicked, writing logs, timeline events and engagement
// facts as a real send's would. (Reusing one set of recipients made applying look cheaper: they
// were already at the top; reusing one set of customers made it look dearer run after run: their
// engagement history grew with every run.)
async function setup(n) {
  return await sql.begin(async (tx) => {
    const [{ used, total }] = await tx`select (select count(*) from public.campaigns where name like 'bench webhooks %')::int as used,
                                              (select count(*) from public.users)::int as total`;
    if (total < n) {
      await tx`insert into auth.users (id, email) select md5('wh-' || i)::uuid, 'wh-' || i || '@bench.test' from generate_series(1, ${n}::int) i on conflict do nothing`;
      await tx`insert into public.users (id, email, full_name) select md5('wh-' || i)::uuid, 'wh-' || i || '@bench.test', 'Webhook ' || i
               from generate_series(1, ${n}::int) i on conflict do nothing`;
    }
    const offset = total <= n ? 0 : (used * n) % (total - n);
    const [c] = await tx`insert into public.campaigns (name, channel, content, audience, status)
                         values ('bench webhooks ' || clock_timestamp(), 'email', '{"subject":"s","text":"t"}', '{}', 'sent') returning id`;
    await tx`insert into public.campaign_recipients (campaign_id, customer_id, channel, address, status, sent_at, attempts)
             select ${c.id}, u.id, 'email', coalesce(u.email, u.id || '@bench.test'), 'sent', now(), 1
               from (select id, email from public.users order by id offset ${offset} limit ${n}) u`;
    await tx`insert into public.email_logs (customer_id, to_email, subject, status, campaign_id, recipient_id)
             select r.customer_id, r.address, 's', 'sent', r.campaign_id, r.id from public.campaign_recipients r where r.campaign_id = ${c.id}`;
    return c.id;
  });
}

let seq = 0;
// The mix of a campaign's stream: deliveries, opens (some machine), clicks (a minute later), a few
// deferrals and, 1 in 200, an unsubscribe (its address held while answering).
const kinds = ["processed", "delivered", "open", "open", "click", "delivered", "deferred", "open"];
function batch(recipients, size = 1000) {
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: size }, (_, i) => {
    const r = recipients[(seq * 7 + i * 13) % recipients.length];
    const n = seq++;
    const event = n % 200 === 199 ? "unsubscribe" : kinds[n % kinds.length];
    return {
      email: r.address, timestamp: event === "click" ? now + 60 : now, event, sg_event_id: `bench-${process.pid}-${n}`,
      sg_message_id: "bench.filter", recipient_id: r.id, campaign_id: r.campaign_id,
      ...(event === "click" ? { url: `https://rental.test/l/${i % 5}`, useragent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)" } : {}),
      ...(event === "open" ? { sg_machine_open: n % 3 === 0, useragent: "Mozilla/5.0" } : {}),
    };
  });
}

function signed(events) {
  const body = JSON.stringify(events);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign("sha256", Buffer.from(timestamp + body), privateKey).toString("base64");
  return { body, timestamp, signature };
}

async function post(events) {
  const { body, timestamp, signature } = signed(events);
  const t = performance.now();
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json",
    "X-Twilio-Email-Event-Webhook-Signature": signature, "X-Twilio-Email-Event-Webhook-Timestamp": timestamp }, body });
  const out = await res.json();
  if (res.status !== 200) throw new Error(`status ${res.status}: ${JSON.stringify(out)}`);
  const timing = Object.fromEntries((res.headers.get("server-timing") ?? "").split(",").map((x) => x.trim().split(";dur="))
    .filter((x) => x.length === 2).map(([k, v]) => [k, Number(v)]));
  return { ms: performance.now() - t, out, timing };
}

async function pending() {
  const [{ n }] = await sql`select count(*)::int as n from private.webhook_inbox where applied_at is null and failed_at is null`;
  return n;
}
async function waitApplied(timeoutMs = 600_000) {
  const until = Date.now() + timeoutMs;
  while (await pending() > 0) {
    if (Date.now() > until) throw new Error("the inbox did not drain");
    await new Promise((r) => setTimeout(r, 100));
  }
}
const fmt = (x) => +x.toFixed(1);

try {
  const campaignId = await setup(20_000);
  const recipients = await sql`select r.id, r.address, r.campaign_id from public.campaign_recipients r where r.campaign_id = ${campaignId}`;
  const [{ customers }] = await sql`select count(*)::int as customers from public.users`;
  const [{ load }] = await sql`select pg_size_pretty(pg_database_size(current_database())) as load`;
  report({ figure: "world", value: customers, unit: `customers, database ${load}, load average ${(await import("node:os")).loadavg().map((x) => x.toFixed(2)).join(" ")}` });
  await waitForHttp(`http://127.0.0.1:${port}/functions/v1/health`);
  startWorker();
  for (let i = 0; i < 3; i++) await post(batch(recipients)); // warm up
  await waitApplied();

  // 1. ack, with the worker applying behind it: batches offered at a steady rate the appliers keep
  //    up with (one every `interval` ms), as a provider's stream arrives; then back to back, the
  //    appliers saturated (the acks then share the two cores with them)
  const acks = [], split = [];
  const [{ mark: steadyMark }] = await sql`select coalesce(max(id), 0)::bigint as mark from private.webhook_inbox`;
  for (let i = 0; i < batches; i++) {
    const started = performance.now();
    const r = await post(batch(recipients));
    acks.push(r.ms);
    split.push(r.timing);
    await new Promise((res) => setTimeout(res, Math.max(0, interval - (performance.now() - started))));
  }
  await waitApplied();
  const [steadyLag] = await sql`
    select percentile_cont(0.95) within group (order by extract(epoch from applied_at - received_at) * 1000) as p95
      from private.webhook_inbox where id > ${steadyMark} and source = 'sendgrid_events'`;
  const [{ mark: saturatedMark }] = await sql`select coalesce(max(id), 0)::bigint as mark from private.webhook_inbox`;
  const saturated = [], saturatedSplit = [];
  for (let i = 0; i < batches; i++) {
    const r = await post(batch(recipients));
    saturated.push(r.ms);
    saturatedSplit.push(r.timing);
  }
  await waitApplied();
  // the worker's own rate on that burst: its events over the time from the first answer to the last apply
  const [burst] = await sql`
    select sum(events)::int as events, extract(epoch from max(applied_at) - min(received_at))::float8 as seconds
      from private.webhook_inbox where id > ${saturatedMark} and source = 'sendgrid_events'`;
  const baseline = [];
  for (let i = 0; i < Math.min(batches, 10); i++) {
    const events = batch(recipients);
    const t = performance.now();
    await sql`select private.ingest_sendgrid_events(${sql.json(events)})`;
    baseline.push(performance.now() - t);
  }
  const p50 = percentile(acks, 50), p95 = percentile(acks, 95);
  const b50 = percentile(baseline, 50), b95 = percentile(baseline, 95);
  const part = (k, of = split, p = 50) => fmt(percentile(of.map((x) => x[k] ?? 0), p));
  const offered = Math.round(1000 * 1000 / interval);
  report({ figure: `ack 1,000 signed events p50, ${offered} events/s offered`, value: fmt(p50), unit: `ms (in the function: verify ${part("verify")}, parse ${part("parse")}, database ${part("db")}); applied within ${fmt(steadyLag.p95)} ms p95`, baseline: `${fmt(b50)} ms synchronous apply`, ratio: fmt(b50 / p50) });
  report({ figure: `ack 1,000 signed events p95, ${offered} events/s offered`, value: fmt(p95), unit: "ms", baseline: `${fmt(b95)} ms synchronous apply`, ratio: fmt(b95 / p95), target: "<= 50 ms", ok: p95 <= 50 });
  const parts95 = (of) => `verify ${part("verify", of, 95)}, parse ${part("parse", of, 95)}, database ${part("db", of, 95)}`;
  report({ figure: `ack 1,000 signed events p95 in the function, ${offered} events/s offered`, value: parts95(split), unit: "ms" });
  report({ figure: "ack 1,000 signed events p50 / p95, back to back (appliers saturated)", value: `${fmt(percentile(saturated, 50))} / ${fmt(percentile(saturated, 95))}`, unit: `ms (p95 in the function: ${parts95(saturatedSplit)})` });
  report({ figure: "the worker on that burst: first answer to last applied", value: Math.round(burst.events / burst.seconds), unit: `events/s (${burst.events} events in ${fmt(burst.seconds)} s)` });

  // 2. applied events/s: a backlog drained by the appliers alone (one after the other, then side
  //    by side), against the synchronous ingest of the same kind of batches
  await stopWorker();
  const [{ parts }] = await sql`select private.webhook_apply_parts() as parts`;
  // each measurement on a fresh campaign's recipients (see setup)
  const freshRecipients = async () =>
    await sql`select r.id, r.address, r.campaign_id from public.campaign_recipients r where r.campaign_id = ${await setup(20_000)}`;
  const fill = async () => {
    const list = await freshRecipients();
    for (let i = 0; i < backlog; i++) await post(batch(list));
    const [{ events }] = await sql`select coalesce(sum(events), 0)::int as events from private.webhook_inbox where applied_at is null and failed_at is null`;
    return events;
  };
  const drainPart = async (part) => {
    for (;;) {
      const [{ r }] = await sql`select private.apply_webhook_inbox(${chunk}, ${part}) as r`;
      if (r.rows === 0 && !r.busy) break;
    }
  };
  const partList = Array.from({ length: parts }, (_, i) => i);
  let queued = await fill();
  let t = performance.now();
  for (const part of partList) await drainPart(part);
  const oneRate = queued / ((performance.now() - t) / 1000);
  queued = await fill();
  t = performance.now();
  await Promise.all(partList.map(drainPart));
  const drainRate = queued / ((performance.now() - t) / 1000);
  const syncList = await freshRecipients();
  const sync = Array.from({ length: Math.min(backlog, 10) }, () => batch(syncList));
  t = performance.now();
  for (const events of sync) await sql`select private.ingest_sendgrid_events(${sql.json(events)})`;
  const syncRate = (sync.length * 1000) / ((performance.now() - t) / 1000);
  report({ figure: `applied events/s, ${parts} appliers side by side, backlog ${queued}`, value: Math.round(drainRate), unit: "events/s",
           baseline: `${Math.round(syncRate)}/s synchronous, batch by batch`, ratio: fmt(drainRate / syncRate), target: ">= 10000/s", ok: drainRate >= 10_000 });
  report({ figure: `applied events/s, the ${parts} parts one after the other`, value: Math.round(oneRate), unit: "events/s",
           baseline: `${Math.round(syncRate)}/s synchronous`, ratio: fmt(oneRate / syncRate) });

  // 3. lag from ack to applied, 4 senders at full speed, the worker applying
  startWorker();
  const [{ mark }] = await sql`select coalesce(max(id), 0)::bigint as mark from private.webhook_inbox`;
  const prepared = Array.from({ length: sustained }, () => batch(recipients));
  const loaded = [];
  t = performance.now();
  let next = 0;
  await Promise.all([1, 2, 3, 4].map(async () => {
    while (next < prepared.length) loaded.push((await post(prepared[next++])).ms);
  }));
  const ackRate = (sustained * 1000) / ((performance.now() - t) / 1000);
  await waitApplied();
  const [lag] = await sql`
    select percentile_cont(0.5) within group (order by extract(epoch from applied_at - received_at) * 1000) as p50,
           percentile_cont(0.95) within group (order by extract(epoch from applied_at - received_at) * 1000) as p95
      from private.webhook_inbox where id > ${mark} and source = 'sendgrid_events'`;
  report({ figure: "acknowledged, 4 senders", value: Math.round(ackRate), unit: `events/s (ack p95 ${fmt(percentile(loaded, 95))} ms)` });
  report({ figure: "lag ack -> applied p50", value: fmt(lag.p50), unit: "ms" });
  report({ figure: "lag ack -> applied p95", value: fmt(lag.p95), unit: "ms" });

  // 4. replay an applied batch: byte-identical and re-serialized
  const replay = batch(recipients);
  await post(replay);
  await waitApplied();
  const snapshot = async () => (await sql`
    select (select count(*) from public.message_events)::int as events, (select count(*) from public.customer_timeline_events)::int as timeline,
           (select count(*) from public.suppressions)::int as suppressions, (select count(*) from public.customer_consent_history)::int as consent,
           (select md5(string_agg(status, ',' order by id)) from public.campaign_recipients r where r.campaign_id = ${recipients[0].campaign_id}) as statuses`)[0];
  const before = await snapshot();
  for (let i = 0; i < 3; i++) await post(replay);
  await post([...replay].reverse());
  await waitApplied();
  const after = await snapshot();
  const unchanged = JSON.stringify(before) === JSON.stringify(after);
  report({ figure: "replay the same batch 4x: rows changed", value: unchanged ? 0 : 1, unit: `events ${before.events}->${after.events}, timeline ${before.timeline}->${after.timeline}`, target: "0", ok: unchanged });

  // signature check: ours (node:crypto) against the vendor's pure-JS verifier, same batch
  const require = createRequire(import.meta.url);
  const { EventWebhook } = require("@sendgrid/eventwebhook");
  const { verify, createPublicKey } = await import("node:crypto");
  const s = signed(batch(recipients));
  const vendor = new EventWebhook();
  const vendorKey = vendor.convertPublicKeyToECDSA(`-----BEGIN PUBLIC KEY-----\n${publicKeyDer}\n-----END PUBLIC KEY-----`);
  const ourKey = createPublicKey({ key: Buffer.from(publicKeyDer, "base64"), format: "der", type: "spki" });
  const ours = [], theirs = [];
  for (let i = 0; i < 20; i++) {
    let t0 = performance.now();
    verify("sha256", Buffer.from(s.timestamp + s.body), ourKey, Buffer.from(s.signature, "base64"));
    ours.push(performance.now() - t0);
    t0 = performance.now();
    vendor.verifySignature(vendorKey, s.body, s.signature, s.timestamp);
    theirs.push(performance.now() - t0);
  }
  report({ figure: "signature check of one batch p50 (node:crypto)", value: fmt(percentile(ours, 50)), unit: "ms",
           baseline: `${fmt(percentile(theirs, 50))} ms @sendgrid/eventwebhook`, ratio: fmt(percentile(theirs, 50) / percentile(ours, 50)) });
} finally {
  await stopWorker();
  gateway.kill("SIGTERM");
  await sql.end();
}
printTable("bench:webhooks");
