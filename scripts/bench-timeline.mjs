// npm run bench:timeline — timeline figures against the local database (DB_URL):
//   1. paging a customer with 100,000 events, 50 per page: keyset (customer_timeline) against an
//      OFFSET baseline, p50/p95 at the first, second, middle and last page; and a one-type filter;
//   2. trigger write overhead: 100,000 bookings and 100,000 payments inserted in batches of 1,000,
//      with the timeline triggers and with them disabled, alternating, in the same run;
//   3. exporting 100,000 events through timeline-export: time, bytes, and the function process's
//      peak resident memory (VmHWM), against an export of 1,000 events.
// Prints one JSON line per figure, then a readable table. Never asserts timings.
// BENCH_PARTS=paging,writes,export (the default: all) picks parts.
// Bench data lives under bench users and is removed at the end (trigger runs roll back).
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { SignJWT } from "jose";
import postgres from "postgres";
import { freePort, machine } from "./bench/lib.mjs";

const ROOT = resolve(import.meta.dirname, "..");
const DB_URL = process.env.DB_URL ?? `postgresql://postgres:postgres@127.0.0.1:${process.env.DB_PORT ?? 54322}/postgres`;
// its own gateway on a free port: never the one a running `npm start` serves (BENCH_FUNCTIONS_PORT to pin one)
const FUNCTIONS_PORT = Number(process.env.BENCH_FUNCTIONS_PORT ?? (await freePort()));
console.log(`# bench:timeline at the start: ${machine()}`);
const JWT_SECRET = process.env.SUPABASE_JWT_SECRET ?? "super-secret-jwt-token-with-at-least-32-characters-long";
const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const BATCH = 1_000;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 100);
const PAGE = 50;

const PARTS = new Set((process.env.BENCH_PARTS ?? "paging,writes,export").split(","));

const sql = postgres(DB_URL, { max: 2, onnotice: () => {} });
const figures = [];

function record(figure) {
  figures.push(figure);
  console.log(JSON.stringify(figure));
}

function pct(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const round = (x, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

async function timed(fn, repeats = REPEATS, warmup = 5) {
  for (let i = 0; i < warmup; i++) await fn();
  const ms = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return { p50: round(pct(ms, 50)), p95: round(pct(ms, 95)), n: repeats };
}

async function createUser(tx, email, roles = []) {
  const id = randomUUID();
  await tx`insert into auth.users (id, email) values (${id}, ${email})`;
  await tx`insert into public.users (id, email, full_name) values (${id}, ${email}, 'Bench user')`;
  for (const role of roles) await tx`insert into public.user_roles (user_id, role) values (${id}, ${role})`;
  return id;
}

// ---------------------------------------------------------------------------------------------
// Setup: an admin and a customer with EVENTS events of mixed types over about three years.
// ---------------------------------------------------------------------------------------------
const tag = Date.now().toString(36);
// Events go in through the set writer in one statement (so their count deltas are one row per
// customer, day and type), then the deltas are compacted as the minutely job would.
async function writeEvents(customer, events, typeCase) {
  await sql`
    select private.record_timeline_events(array_agg(row(${customer}::uuid, t.event_type, 'bench', gen_random_uuid(), 'bench',
                                                        now() - make_interval(mins => i * 15), 'Bench event ' || i,
                                                        jsonb_build_object('i', i))::private.timeline_event))
      from generate_series(1, ${events}) i
      cross join lateral (select ${sql.unsafe(typeCase)} as event_type) t`;
  await sql`select private.compact_timeline_counts()`;
}
const users = await sql.begin(async (tx) => ({
  admin: await createUser(tx, `bench-admin-${tag}@bench.test`, ["admin"]),
  customer: await createUser(tx, `bench-customer-${tag}@bench.test`),
}));
if (PARTS.has("paging") || PARTS.has("export")) {
  const t0 = performance.now();
  await writeEvents(users.customer, EVENTS, `case
    when i % 200 = 0 then 'insurance' when i % 67 = 0 then 'tag' when i % 33 = 0 then 'consent'
    else (array['booking', 'payment', 'logistics', 'logistics', 'support', 'note', 'campaign', 'booking', 'payment', 'logistics'])[1 + i % 10]
  end`);
  record({ figure: "setup_events", events: EVENTS, seconds: round((performance.now() - t0) / 1000, 2) });
  await sql`analyze public.customer_timeline_events`;
}

if (PARTS.has("paging")) {
  // A dedicated connection acting as the admin, as PostgREST would.
  const conn = await sql.reserve();
  await conn`set role authenticated`;
  await conn`select set_config('request.jwt.claims', ${JSON.stringify({ sub: users.admin, role: "authenticated" })}, false)`;

  // ---------------------------------------------------------------------------------------------
  // 1. Paging
  // ---------------------------------------------------------------------------------------------
  async function collectCursors(types = null) {
    const cursors = [null];
    let cursor = null;
    for (;;) {
      const [{ page }] = await conn`select public.customer_timeline(${users.customer}, ${types}::text[], null, null, ${PAGE}, ${cursor}) as page`;
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
      cursors.push(cursor);
    }
    return cursors;
  }

  const cursors = await collectCursors();
  const pages = cursors.length;
  const positions = { first: 0, second: 1, middle: Math.floor(pages / 2), last: pages - 1 };

  const offsetQuery = (offset, types = null) => conn`
    select coalesce(jsonb_agg(private.timeline_event_json(p) order by p.occurred_at desc, p.id desc), '[]'::jsonb) as events
      from (select e.* from public.customer_timeline_events e
             where e.customer_id = ${users.customer} and (${types}::text[] is null or e.event_type = any (${types}::text[]))
             order by e.occurred_at desc, e.id desc offset ${offset} limit ${PAGE}) p`;

  for (const [where, index] of Object.entries(positions)) {
    const keyset = await timed(() => conn`select public.customer_timeline(${users.customer}, null, null, null, ${PAGE}, ${cursors[index]})`);
    record({ figure: "page_keyset_ms", page: where, page_number: index + 1, ...keyset, note: "with the per-type counts (from the rollups)" });
    const offset = await timed(() => offsetQuery(index * PAGE));
    record({ figure: "page_offset_ms", page: where, page_number: index + 1, ...offset });
  }

  // One rare type (insurance, 0.5% of events): paged on the page index (as shipped), and with a
  // per-type index (customer_id, event_type, occurred_at desc, id desc) created, measured, dropped.
  async function typeFilterFigures(label) {
    const rare = await collectCursors(["insurance"]);
    const mid = rare[Math.floor(rare.length / 2)];
    const first = await timed(() => conn`select public.customer_timeline(${users.customer}, array['insurance'], null, null, ${PAGE}, null)`, 30);
    const middle = await timed(() => conn`select public.customer_timeline(${users.customer}, array['insurance'], null, null, ${PAGE}, ${mid})`, 30);
    record({ figure: "page_keyset_rare_type_ms", index: label, page: "first", ...first });
    record({ figure: "page_keyset_rare_type_ms", index: label, page: "middle", ...middle });
  }
  await typeFilterFigures("page index only");
  await sql`create index bench_timeline_type_idx on public.customer_timeline_events (customer_id, event_type, occurred_at desc, id desc)`;
  await sql`analyze public.customer_timeline_events`;
  await typeFilterFigures("with a per-type index");
  await sql`drop index bench_timeline_type_idx`;
  await conn`reset role`;
  await conn`select set_config('request.jwt.claims', '', false)`;
  conn.release();
}

// ---------------------------------------------------------------------------------------------
// 2. Trigger write overhead: each batch of 1,000 is its own transaction, as an application
//    writes; each run has its own 100 customers, removed after it.
// ---------------------------------------------------------------------------------------------
// Two settings: "deployed" keeps the tables' other insert triggers (segments' _200_facts) in
// both runs, so the ratio is the timeline's share of a real write; "timeline alone" switches the
// others off in both runs, so the ratio is the timeline's cost against the bare insert.
const TIMELINE_INSERT_TRIGGER = "_100_timeline_insert";
const OTHER_INSERT_TRIGGERS = (await sql`
  select c.relname as table, t.tgname as trigger from pg_trigger t join pg_class c on c.oid = t.tgrelid
   where c.oid in ('public.bookings'::regclass, 'public.payments'::regclass) and not t.tgisinternal
     and t.tgtype & 4 <> 0 and t.tgname <> ${TIMELINE_INSERT_TRIGGER}`).map((r) => [r.table, r.trigger]);

async function setTriggers(pairs, enabled) {
  for (const [table, trigger] of pairs) {
    await sql.unsafe(`alter table public.${table} ${enabled ? "enable" : "disable"} trigger ${trigger}`);
  }
}
const TIMELINE_INSERT_TRIGGERS = [["bookings", TIMELINE_INSERT_TRIGGER], ["payments", TIMELINE_INSERT_TRIGGER]];

async function removeCustomers(ids) {
  await sql.begin(async (tx) => {
    await tx`delete from public.customer_timeline_events where customer_id = any (${ids}::uuid[])`;
    await tx`delete from public.users where id = any (${ids}::uuid[])`;
    await tx`delete from auth.users where id = any (${ids}::uuid[])`;
  });
}

async function writeRun(withTriggers, others, run) {
  const customers = await sql.begin(async (tx) => {
    const ids = [];
    for (let i = 0; i < 100; i++) ids.push(await createUser(tx, `bench-writer-${tag}-${run}-${i}@bench.test`));
    return ids;
  });
  const result = {};
  if (!withTriggers) await setTriggers(TIMELINE_INSERT_TRIGGERS, false);
  if (!others) await setTriggers(OTHER_INSERT_TRIGGERS, false);
  try {
    let t0 = performance.now();
    for (let b = 0; b < ROWS / BATCH; b++) {
      await sql`insert into public.bookings (customer_id, status, start_date, end_date, total_amount, created_at)
                select (${customers}::uuid[])[1 + i % 100], 'confirmed', current_date + i % 30, current_date + i % 30 + 3, 100 + i % 900,
                       now() - make_interval(mins => i)
                  from generate_series(${b * BATCH}::int, ${b * BATCH + BATCH - 1}::int) i`;
    }
    result.bookings = (performance.now() - t0) / 1000;
    t0 = performance.now();
    for (let b = 0; b < ROWS / BATCH; b++) {
      await sql`insert into public.payments (customer_id, amount, currency, status, created_at)
                select (${customers}::uuid[])[1 + i % 100], 100 + i % 900, 'NOK', 'succeeded', now() - make_interval(mins => i)
                  from generate_series(${b * BATCH}::int, ${b * BATCH + BATCH - 1}::int) i`;
    }
    result.payments = (performance.now() - t0) / 1000;
  } finally {
    if (!withTriggers) await setTriggers(TIMELINE_INSERT_TRIGGERS, true);
    if (!others) await setTriggers(OTHER_INSERT_TRIGGERS, true);
    await removeCustomers(customers);
  }
  return result;
}

if (PARTS.has("writes")) {
  const settings = OTHER_INSERT_TRIGGERS.length ? [["timeline alone", false], ["deployed", true]] : [["timeline alone", false]];
  for (const [setting, others] of settings) {
    const runs = { on: [], off: [] };
    for (let round_ = 0; round_ < 2; round_++) {
      runs.off.push(await writeRun(false, others, `off${round_}`));
      runs.on.push(await writeRun(true, others, `on${round_}`));
    }
    for (const table of ["bookings", "payments"]) {
      const on = Math.min(...runs.on.map((r) => r[table]));
      const off = Math.min(...runs.off.map((r) => r[table]));
      record({ figure: "trigger_write_s", setting, table, rows: ROWS, batch: BATCH, with_triggers: round(on), without_triggers: round(off),
               ratio: round(on / off, 2), runs: { on: runs.on.map((r) => round(r[table])), off: runs.off.map((r) => round(r[table])) },
               other_triggers: others ? OTHER_INSERT_TRIGGERS.map((p) => p.join(".")) : [],
               note: "best of 2 alternating runs, each batch its own transaction" });
    }
  }
}


// ---------------------------------------------------------------------------------------------
// 3. Export through the edge function
// ---------------------------------------------------------------------------------------------
async function customerWith(events) {
  const id = await sql.begin(async (tx) => await createUser(tx, `bench-export-${events}-${tag}@bench.test`));
  await writeEvents(id, events, "'note'");
  return id;
}
if (PARTS.has("export")) {
  const small = await customerWith(1000);
  const medium = await customerWith(10000);

  const base = `http://127.0.0.1:${FUNCTIONS_PORT}/functions/v1`;
  const jwt = await new SignJWT({ role: "authenticated" }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setSubject(users.admin)
    .setIssuedAt().setExpirationTime("1h").sign(new TextEncoder().encode(JWT_SECRET));

  async function exportRun(customerId) {
    const t0 = performance.now();
    const res = await fetch(`${base}/timeline-export?customer_id=${customerId}`, { headers: { Authorization: `Bearer ${jwt}` } });
    if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`);
    let bytes = 0;
    let lines = 0;
    const reader = res.body.getReader();
    let firstByte;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      firstByte ??= performance.now() - t0;
      bytes += value.length;
      for (const b of value) if (b === 10) lines++;
    }
    return { seconds: round((performance.now() - t0) / 1000, 2), first_byte_ms: round(firstByte, 1), bytes, rows: lines - 1 };
  }

  // The gateway runs the function in-process: its VmHWM (peak resident set) is the function's peak.
  // Run twice: with V8's default heap (which grows lazily: garbage, not data), and with the old
  // space capped at 24 MB, which a buffering export of 100,000 events (18 MB of CSV) could not fit.
  for (const heap of ["default", "capped"]) {
    const flags = heap === "capped" ? ["--v8-flags=--max-old-space-size=24"] : [];
    const gateway = spawn(resolve(ROOT, "node_modules/.bin/deno"), ["run", ...flags, "--allow-net", "--allow-env", "--allow-read",
      "--allow-sys", "--config", "supabase/functions/deno.json", "scripts/functions-gateway.ts"], {
      cwd: ROOT, env: { ...process.env, FUNCTIONS_PORT: String(FUNCTIONS_PORT), SUPABASE_DB_URL: DB_URL }, stdio: ["ignore", "ignore", "inherit"],
    });
    try {
      for (let i = 0; i < 240; i++) {
        try {
          await fetch(`${base}/health`);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      const memory = () => {
        const status = readFileSync(`/proc/${gateway.pid}/status`, "utf8");
        const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)[1]);
        return { rss_mb: round(kb("VmRSS") / 1024, 1), peak_mb: round(kb("VmHWM") / 1024, 1) };
      };
      await exportRun(small); // warm-up: modules loaded, pool open
      const idle = memory();
      // VmHWM only grows: exports run smallest first, so each peak says what that size needed
      const sizes = heap === "default" ? [[1000, small], [10000, medium], [EVENTS, users.customer]] : [[EVENTS, users.customer]];
      for (const [events, id] of sizes) {
        const run = await exportRun(id);
        record({ figure: "export", heap, events, ...run, peak_rss_mb: memory().peak_mb, idle_rss_mb: idle.rss_mb });
      }
    } finally {
      gateway.kill("SIGTERM");
      await new Promise((r) => gateway.once("exit", r));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Cleanup and the table
// ---------------------------------------------------------------------------------------------
await removeCustomers((await sql`select id from public.users where email like ${`bench-%-${tag}%@bench.test`}`).map((r) => r.id));
await sql.end();

console.log(`\nbench:timeline; at the end: ${machine()}\n`);
const rows = [];
for (const f of figures) {
  if (f.figure === "page_keyset_ms" || f.figure === "page_offset_ms") {
    rows.push([`${f.figure === "page_keyset_ms" ? "keyset" : "OFFSET"} page ${f.page} (#${f.page_number})`, `p50 ${f.p50} ms`, `p95 ${f.p95} ms`]);
  } else if (f.figure === "page_keyset_rare_type_ms") {
    rows.push([`keyset, type=insurance, ${f.page} (${f.index})`, `p50 ${f.p50} ms`, `p95 ${f.p95} ms`]);
  } else if (f.figure === "trigger_write_s") {
    rows.push([`insert ${f.rows} ${f.table} in batches of ${f.batch} (${f.setting})`, `on ${f.with_triggers} s / off ${f.without_triggers} s`, `ratio ${f.ratio}x`]);
  } else if (f.figure === "export") {
    rows.push([`export ${f.events} events (${f.heap} V8 heap)`, `${f.seconds} s, ${(f.bytes / 1e6).toFixed(1)} MB`, `peak RSS ${f.peak_rss_mb} MB (idle ${f.idle_rss_mb})`]);
  } else if (f.figure === "setup_events") {
    rows.push([`setup: ${f.events} events`, `${f.seconds} s`, ""]);
  }
}
const keyset = Object.fromEntries(figures.filter((f) => f.figure === "page_keyset_ms").map((f) => [f.page, f]));
const offset = Object.fromEntries(figures.filter((f) => f.figure === "page_offset_ms").map((f) => [f.page, f]));
if (keyset.last) {
  rows.push(["keyset last / first page (p95)", `${round(keyset.last.p95 / keyset.first.p95, 2)}x`, `OFFSET: ${round(offset.last.p95 / offset.first.p95, 2)}x`]);
  rows.push(["keyset last / second page (p95)", `${round(keyset.last.p95 / keyset.second.p95, 2)}x`, `OFFSET last / keyset last: ${round(offset.last.p95 / keyset.last.p95, 1)}x`]);
}
const width = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(width[i])).join("  |  "));
