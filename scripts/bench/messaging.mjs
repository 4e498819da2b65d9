// npm run bench:messaging [-- --customers 1000000 --emails 100000 --sms 20000 --only enqueue,email,sms,quiet,indoubt]
// Enqueue throughput (vs a bare insert ... select of the same rows), email dispatch rate through
// the fake SendGrid at 20 ms latency with 2 workers, the SMS throttle held over 10 s windows (quiet
// hours off, then on with recipients in eight zones), and the cost of settling 1,000 in-doubt
// rows after a crash (vs sending the same 1,000 normally).
import { arg, exited, freePort, machine, printTable, report, sql, startDeno, waitForHttp } from "./lib.mjs";

const customers = Number(arg("customers", "1000000"));
const emails = Number(arg("emails", "100000"));
const smsCount = Number(arg("sms", "20000"));
const providerPort = Number(arg("provider-port", String(await freePort())));
console.log(`# bench:messaging at the start: ${machine()}`);
const provider = `http://127.0.0.1:${providerPort}`;
const env = {
  FAKE_PROVIDER_PORT: String(providerPort),
  SENDGRID_BASE_URL: provider,
  SENDGRID_API_KEY: "SG.bench",
  TWILIO_BASE_URL: provider,
  TWILIO_ACCOUNT_SID: "ACbench000000000000000000000000000",
  TWILIO_AUTH_TOKEN: "bench",
  EXPO_PUSH_BASE_URL: provider,
  // status callbacks carry the recipient id; nothing listens there (the fake emits no events here)
  PUBLIC_FUNCTIONS_URL: "http://127.0.0.1:9/functions/v1",
  SUPABASE_DB_URL: process.env.DB_URL ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
  DB_POOL_SIZE: "4",
};

async function control(body) {
  await fetch(`${provider}/__control`, { method: "POST", body: JSON.stringify(body) });
}

// Fixture customers bench-1..N, keyed by id (md5('bench-' || i)): whatever else the database holds
// (other benchmarks' bench-…@bench.test users, a half-finished earlier run), the missing ones are
// created and the existing ones left alone.
async function benchCustomers(n) {
  const step = 100_000;
  for (let from = 0; from < n; from += step) {
    const to = Math.min(n, from + step);
    const [{ have }] = await sql`
      select count(*)::int as have from public.users u
       where u.id in (select md5('bench-' || i)::uuid from generate_series(${from + 1}::int, ${to}::int) i)`;
    if (have === to - from) continue;
    await sql.begin(async (tx) => {
      // fixtures only: no timeline, facts or audit triggers while loading them
      await tx`set local session_replication_role = replica`;
      await tx`
        insert into auth.users (id, email)
        select md5('bench-' || i)::uuid, 'bench-' || i || '@bench.test' from generate_series(${from + 1}::int, ${to}::int) i
        on conflict do nothing`;
      await tx`
        insert into public.users (id, email, phone, full_name, city, country_code)
        select md5('bench-' || i)::uuid, 'bench-' || i || '@bench.test', '+479' || lpad(i::text, 7, '0'), 'Bench Customer ' || i,
               (array['Oslo','Bergen','Trondheim','Tromsø'])[1 + i % 4], 'NO'
          from generate_series(${from + 1}::int, ${to}::int) i
        on conflict (id) do nothing`;
      await tx`
        insert into public.customer_consent (customer_id, channel, enabled, source)
        select md5('bench-' || i)::uuid, ch, i % 10 <> 0, 'import'
          from generate_series(${from + 1}::int, ${to}::int) i cross join (values ('email'), ('sms')) c(ch)
        on conflict do nothing`;
    });
    console.error(`bench: customers ${from + 1}..${to} present`);
  }
  const [{ missing }] = await sql`
    select count(*)::int as missing from generate_series(1, ${n}::int) i
     where not exists (select 1 from public.users u where u.id = md5('bench-' || i)::uuid)`;
  if (missing) throw new Error(`bench: ${missing} fixture customers could not be created (an e-mail bench-<i>@bench.test is taken by another id)`);
  await sql`insert into public.suppressions (channel, address, reason, source)
            select 'email', 'bench-' || i || '@bench.test', 'bounce', 'bench' from generate_series(7, ${n}::int, 100) i
            on conflict do nothing`;
  await sql`analyze`;
}

async function quiesce() {
  await sql`update public.campaigns set status = 'cancelled' where status in ('sending', 'scheduled', 'paused')`;
  await sql`update public.campaign_recipients set status = 'cancelled' where status in ('queued', 'sending', 'in_doubt', 'held')`;
  await sql`delete from private.rate_buckets`;
  // quiet hours off unless a figure measures them (the SMS default would make figures depend on the hour)
  await sql`insert into public.messaging_settings (key, value) values ('quiet_hours', '{"sms":null}')
            on conflict (key) do update set value = excluded.value`;
}

// --- 1. enqueue ------------------------------------------------------------------------------
async function benchEnqueue() {
  await benchCustomers(customers);
  await quiesce();
  await sql`insert into public.messaging_settings (key, value) values ('frequency_cap', '{"email":{"max":5,"days":7}}')
            on conflict (key) do update set value = excluded.value`;
  const ids = await sql`select array_agg(md5('bench-' || i)::uuid) as ids from generate_series(1, ${customers}::int) i`;
  // one audience of everyone, frozen outside the measurement
  const [{ campaign_id, audience_id }] = await sql`
    with c as (insert into public.campaigns (name, channel, content, audience, status)
               values ('bench enqueue', 'email', '{"subject":"s","text":"t"}', '{"kind":"bench"}', 'draft') returning id),
         a as (insert into public.campaign_audiences (campaign_id, segment_snapshot, count)
               select id, '{}', ${customers} from c returning id, campaign_id)
    select campaign_id, id as audience_id from a`;
  await sql`insert into public.campaign_audience_members (audience_id, customer_id) select ${audience_id}, x from unnest(${ids[0].ids}::uuid[]) x`;
  await sql`analyze public.campaign_audience_members`;

  const [base] = await sql`
    insert into public.campaigns (name, channel, content, audience, status) values ('bench baseline', 'email', '{}', '{}', 'draft') returning id`;
  const results = { enqueue: [], bare: [] };
  for (let round = 0; round < 2; round++) {
    let t = performance.now();
    await sql`insert into public.campaign_recipients (campaign_id, customer_id, channel, address, status, next_attempt_at, queued_at)
              select ${base.id}, m.customer_id, 'email', u.email, 'skipped_no_consent', now(), now()
                from public.campaign_audience_members m join public.users u on u.id = m.customer_id
               where m.audience_id = ${audience_id}`;
    results.bare.push(performance.now() - t);
    await sql`delete from public.campaign_recipients where campaign_id = ${base.id}`;

    t = performance.now();
    const [{ r }] = await sql`select private.enqueue_recipients(${campaign_id}, ${audience_id}) as r`;
    results.enqueue.push(performance.now() - t);
    if (round === 0) console.error(`bench: enqueue counts ${JSON.stringify(r)}`);
    await sql`delete from public.campaign_recipients where campaign_id = ${campaign_id}`;
    await sql`vacuum public.campaign_recipients`;
  }
  const enqueueMs = Math.min(...results.enqueue);
  const bareMs = Math.min(...results.bare);
  report({ figure: "enqueue recipients/s (consent+suppression+cap)", value: Math.round(customers / (enqueueMs / 1000)), unit: "recipients/s",
           baseline: Math.round(customers / (bareMs / 1000)), ratio: +(enqueueMs / bareMs).toFixed(2), target: ">= 100000/s", ok: customers / (enqueueMs / 1000) >= 100_000 });
  report({ figure: "enqueue time for audience", value: Math.round(enqueueMs), unit: `ms for ${customers}`, baseline: Math.round(bareMs), ratio: +(enqueueMs / bareMs).toFixed(2) });
  await sql`delete from public.campaigns where id in (${campaign_id}, ${base.id})`;
  await sql`delete from public.messaging_settings where key = 'frequency_cap'`;
}

async function queueCampaign(channel, n, extra = {}) {
  const content = channel === "email" ? { subject: "Bench {{first_name}}", text: "Hello {{full_name}}" } : { text: "Hi {{first_name}}" };
  // bulk-message caps customer_ids at 100k; bench sizes freeze an audience through SQL directly
  const [{ campaign_id }] = await sql`
    insert into public.campaigns (name, channel, content, audience, status, throttle_per_minute)
    values (${`bench ${channel}`}, ${channel}, ${sql.json(content)}, '{"kind":"bench"}', 'draft', ${extra.throttle_per_minute ?? null})
    returning id as campaign_id`;
  const [{ audience_id }] = await sql`insert into public.campaign_audiences (campaign_id, segment_snapshot, count)
                                      values (${campaign_id}, '{}', ${n}) returning id as audience_id`;
  await sql`insert into public.campaign_audience_members (audience_id, customer_id)
            select ${audience_id}, u.id from public.users u
              join public.customer_consent c on c.customer_id = u.id and c.channel = ${channel} and c.enabled
             where u.email like 'bench-%' and not exists (select 1 from public.suppressions s where s.address_key = u.email)
             limit ${n}`;
  const [{ r }] = await sql`select private.enqueue_recipients(${campaign_id}, ${audience_id}) as r`;
  await sql`update public.campaigns set status = 'sending' where id = ${campaign_id}`;
  return { campaign_id, ...r };
}

async function waitDone(campaignId, total, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const [{ n }] = await sql`select count(*)::int as n from public.campaign_recipients where campaign_id = ${campaignId} and status in ('queued', 'sending')`;
    if (n === 0) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

// Two dispatcher workers until the campaign is done (or the timeout): whether it finished, and the time.
async function dispatchWithTwoWorkers(name, idleSleepMs, q, timeoutMs) {
  const t = performance.now();
  const workers = [1, 2].map((i) => startDeno("scripts/dispatch-loop.ts", ["--worker", `${name}-${i}`, "--idle-sleep-ms", String(idleSleepMs)], env));
  const done = await waitDone(q.campaign_id, q.queued, timeoutMs);
  const ms = performance.now() - t;
  workers.forEach((w) => w.kill("SIGTERM"));
  await Promise.all(workers.map(exited));
  return { done, ms };
}

async function freshProvider(latencyMs) {
  await quiesce();
  await fetch(`${provider}/__reset`, { method: "POST" });
  await control({ latency_ms: latencyMs });
}

// --- 2. email dispatch -----------------------------------------------------------------------
async function benchEmail() {
  await freshProvider(20);
  const q = await queueCampaign("email", emails);
  console.error(`bench: queued ${q.queued} emails`);
  const { done, ms } = await dispatchWithTwoWorkers("bench-email", 50, q, 600_000);
  const [{ sent }] = await sql`select count(*)::int as sent from public.campaign_recipients where campaign_id = ${q.campaign_id} and status = 'sent'`;
  const rate = Math.round(sent / (ms / 1000));
  report({ figure: "email dispatch, 2 workers, provider 20 ms", value: rate, unit: "recipients/s", target: ">= 2000/s", ok: done && rate >= 2000 && sent === q.queued });
  report({ figure: "email dispatch total", value: Math.round(ms), unit: `ms for ${sent} sent` });
}

// --- 3. SMS throttle -------------------------------------------------------------------------
async function benchSms() {
  await freshProvider(0);
  const perMinute = 6000;
  const q = await queueCampaign("sms", smsCount, { throttle_per_minute: perMinute });
  console.error(`bench: queued ${q.queued} SMS at ${perMinute}/min (about ${Math.round(q.queued / (perMinute / 60))} s)`);
  const { done, ms } = await dispatchWithTwoWorkers("bench-sms", 20, q, 900_000);
  const reqs = await (await fetch(`${provider}/__requests`)).json();
  const times = reqs.filter((r) => r.path.endsWith("/Messages.json") && r.status === 201).map((r) => r.at).sort((a, b) => a - b);
  let maxInWindow = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j] - times[i] >= 10_000) i++;
    maxInWindow = Math.max(maxInWindow, j - i + 1);
  }
  const limit = perMinute / 6;
  report({ figure: "SMS max in any 10 s window", value: maxInWindow, unit: "messages", baseline: limit, ratio: +(maxInWindow / limit).toFixed(3), target: "<= 1.05 x limit", ok: done && times.length > 0 && maxInWindow <= limit * 1.05 });
  report({ figure: "SMS mean rate", value: Math.round(times.length / (ms / 1000)), unit: "messages/s", baseline: perMinute / 60 });
  smsBaselineRate = times.length / (ms / 1000);
}
let smsBaselineRate;

// --- 4. SMS throttle with quiet hours on, recipients in eight zones ----------------------------
const ZONES = ["Pacific/Kiritimati", "Pacific/Auckland", "Asia/Tokyo", "Europe/Oslo", "America/New_York", "America/Los_Angeles",
  "Pacific/Honolulu", "Pacific/Pago_Pago"];
const localHM = (zone, at) =>
  new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(at);
const allowed = (zone, at) => localHM(zone, at) >= "08:00" && localHM(zone, at) < "21:00";

async function benchQuiet() {
  await quiesce();
  await sql`delete from public.messaging_settings where key = 'quiet_hours'`; // the default: SMS 21:00-08:00
  await fetch(`${provider}/__reset`, { method: "POST" });
  await control({ latency_ms: 0 });
  const perMinute = 6000;
  const seconds = Math.ceil(smsCount / (perMinute / 60)) + 120;
  const open = ZONES.filter((z) => allowed(z, Date.now()) && allowed(z, Date.now() + seconds * 1000));
  const closed = ZONES.filter((z) => !allowed(z, Date.now()) && !allowed(z, Date.now() + seconds * 1000));
  const q = await queueCampaign("sms", Math.round(smsCount * 1.25), { throttle_per_minute: perMinute });
  // four of five recipients where it is day for the whole run, one of five where it is night
  await sql`update public.users u set time_zone = case when x.n % 5 = 4 and ${closed.length} > 0 then (${closed}::text[])[1 + x.n / 5 % ${Math.max(1, closed.length)}]
                                                     else (${open}::text[])[1 + x.n % ${open.length}] end
              from (select customer_id, row_number() over (order by customer_id) as n from public.campaign_recipients
                     where campaign_id = ${q.campaign_id}) x
             where u.id = x.customer_id`;
  await sql`select private.schedule_local_send(${q.campaign_id})`;
  const [{ due }] = await sql`select count(*)::int as due from public.campaign_recipients where campaign_id = ${q.campaign_id} and next_attempt_at <= now()`;
  console.error(`bench: quiet hours on: ${due} of ${q.queued} SMS due now in ${open.join(", ")}; the rest wait in ${closed.join(", ")}`);
  const t = performance.now();
  const workers = [1, 2].map((i) => startDeno("scripts/dispatch-loop.ts", ["--worker", `bench-quiet-${i}`, "--idle-sleep-ms", "20"], env));
  const until = Date.now() + 900_000;
  while (Date.now() < until) {
    const [{ n }] = await sql`select count(*)::int as n from public.campaign_recipients where campaign_id = ${q.campaign_id}
                                and (status = 'sending' or (status = 'queued' and next_attempt_at <= now()))`;
    if (n === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const ms = performance.now() - t;
  workers.forEach((w) => w.kill("SIGTERM"));
  await Promise.all(workers.map(exited));
  const reqs = (await (await fetch(`${provider}/__requests`)).json()).filter((r) => r.path.endsWith("/Messages.json") && r.status === 201);
  const zoneOf = new Map((await sql`select r.id, u.time_zone from public.campaign_recipients r join public.users u on u.id = r.customer_id
                                     where r.campaign_id = ${q.campaign_id}`).map((r) => [r.id, r.time_zone]));
  const outside = reqs.filter((r) => !allowed(zoneOf.get(new URL(r.body.StatusCallback).searchParams.get("rid")), r.at)).length;
  const times = reqs.map((r) => r.at).sort((a, b) => a - b);
  let maxInWindow = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j] - times[i] >= 10_000) i++;
    maxInWindow = Math.max(maxInWindow, j - i + 1);
  }
  const [{ waiting }] = await sql`select count(*)::int as waiting from public.campaign_recipients where campaign_id = ${q.campaign_id}
                                    and status = 'queued' and next_attempt_at > now()`;
  const limit = perMinute / 6;
  const rate = times.length / (ms / 1000);
  report({ figure: "SMS max in any 10 s window, quiet hours on, 8 zones", value: maxInWindow, unit: "messages", baseline: limit,
           ratio: +(maxInWindow / limit).toFixed(3), target: "<= 1.05 x limit", ok: times.length > 0 && maxInWindow <= limit * 1.05 });
  report({ figure: "SMS mean rate, quiet hours on", value: Math.round(rate), unit: "messages/s",
           baseline: smsBaselineRate ? Math.round(smsBaselineRate) : perMinute / 60,
           ratio: +(rate / (smsBaselineRate ?? perMinute / 60)).toFixed(3) });
  report({ figure: "SMS sent outside the recipient's 08:00-21:00", value: outside, unit: `of ${times.length} sent`, target: "0", ok: times.length > 0 && outside === 0 });
  report({ figure: "SMS waiting for their zone's 08:00", value: waiting, unit: `of ${q.queued} queued` });
}

// --- 5. in-doubt reconciliation after a crash ------------------------------------------------
async function timedDrain(campaignId, statuses, worker) {
  const t = performance.now();
  const w = startDeno("scripts/dispatch-loop.ts", ["--worker", worker, "--idle-sleep-ms", "20"], env);
  while (true) {
    const [{ n }] = await sql`select count(*)::int as n from public.campaign_recipients where campaign_id = ${campaignId} and status = any(${statuses})`;
    if (n === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const ms = performance.now() - t;
  w.kill("SIGTERM");
  await exited(w);
  return ms;
}

async function benchInDoubt(channel, n = 1000) {
  await quiesce();
  await fetch(`${provider}/__reset`, { method: "POST" });
  await control({ latency_ms: 0 });
  await sql`insert into public.messaging_settings (key, value) values ('in_doubt', '{"settle_seconds":0}')
            on conflict (key) do update set value = excluded.value`;
  // baseline: the same number of rows sent normally
  const base = await queueCampaign(channel, n);
  const baseMs = await timedDrain(base.campaign_id, ["queued", "sending"], `bench-base-${channel}`);
  await quiesce();
  await sql`insert into public.messaging_settings (key, value) values ('in_doubt', '{"settle_seconds":0}')
            on conflict (key) do update set value = excluded.value`;
  // a dead worker's batch: attempts recorded, leases expired, the provider has every message
  const q = await queueCampaign(channel, n);
  await sql`update public.campaign_recipients set status = 'in_doubt', attempts = 1, attempt_id = gen_random_uuid(), attempt_worker = 'bench-dead',
              attempt_started_at = clock_timestamp() - interval '30 seconds', in_doubt_since = clock_timestamp()
             where campaign_id = ${q.campaign_id} and status = 'queued'`;
  const rows = await sql`select id, address, campaign_id from public.campaign_recipients where campaign_id = ${q.campaign_id} and status = 'in_doubt'`;
  if (channel === "email") {
    const ts = Math.floor(Date.now() / 1000) - 20;
    for (let i = 0; i < rows.length; i += 500) {
      const events = rows.slice(i, i + 500).map((r, j) => ({ event: "processed", sg_event_id: `bench-${r.id}`, recipient_id: r.id, campaign_id: r.campaign_id,
        email: r.address, timestamp: ts, sg_message_id: `benchmsg.filter${i + j}` }));
      await sql`select private.ingest_sendgrid_events(${sql.json(events)})`;
    }
  } else {
    const auth = `Basic ${Buffer.from(`${env.TWILIO_ACCOUNT_SID}:${env.TWILIO_AUTH_TOKEN}`).toString("base64")}`;
    for (let i = 0; i < rows.length; i += 50) {
      await Promise.all(rows.slice(i, i + 50).map((r) => fetch(`${provider}/2010-04-01/Accounts/${env.TWILIO_ACCOUNT_SID}/Messages.json`, {
        method: "POST", headers: { Authorization: auth, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ To: r.address, From: "+15005550006", Body: "Hi Bench" }) }).then((x) => x.text())));
    }
  }
  const ms = await timedDrain(q.campaign_id, ["in_doubt"], `bench-reconcile-${channel}`);
  const [{ sent, resent }] = await sql`select count(*) filter (where status = 'sent')::int as sent, count(*) filter (where resolution like '%sent again')::int as resent
                                         from public.campaign_recipients where campaign_id = ${q.campaign_id}`;
  const evidence = channel === "email" ? "SendGrid processed events" : "Twilio Messages list, one lookup per row";
  report({ figure: `resolve ${rows.length} in-doubt ${channel} rows (${evidence})`, value: Math.round(ms), unit: "ms",
           baseline: Math.round(baseMs), ratio: +(ms / baseMs).toFixed(2), target: "all settled as sent, none resent", ok: rows.length > 0 && sent === rows.length && resent === 0 });
  await sql`delete from public.messaging_settings where key = 'in_doubt'`;
}

const providerProc = startDeno("scripts/fake-provider.ts", [], env);
try {
  await waitForHttp(`${provider}/__requests`);
  const only = arg("only", "enqueue,email,sms,quiet,indoubt").split(",");
  await benchCustomers(customers);
  if (only.includes("enqueue")) await benchEnqueue();
  if (only.includes("email")) await benchEmail();
  if (only.includes("sms")) await benchSms();
  if (only.includes("quiet")) await benchQuiet();
  if (only.includes("indoubt")) {
    await benchInDoubt("email");
    await benchInDoubt("sms");
  }
  await quiesce();
} finally {
  providerProc.kill("SIGTERM");
  await sql`delete from public.messaging_settings where key = 'quiet_hours'`;
  await sql.end();
}
printTable(`bench:messaging on ${customers} customers`);
