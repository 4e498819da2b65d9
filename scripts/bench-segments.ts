// npm run bench:segments — segment engine figures on the generated world (npm run generate first).
// Every figure is compared with a baseline measured in the same run, interleaved, on the same
// connection: evaluate_segment vs hand-written SQL over the same facts, facts triggers on vs off.
// Prints one JSON line per figure and a readable table. No assertions: figures are reported.
import postgres from "postgres";
import { loadavg, cpus } from "node:os";

const DB_URL = Deno.env.get("DB_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 15);
const WARMUP = 2;
const ADMIN = "00000000-0000-4000-a000-000000000001";
// --only=eval,refresh,overhead,fresh runs a part of the bench (all by default).
const ONLY = new Set((Deno.args.find((a) => a.startsWith("--only="))?.slice(7) ?? "eval,refresh,overhead,fresh").split(","));

const sql = postgres(DB_URL, { max: 1, onnotice: () => {} });
const figures: Record<string, unknown>[] = [];
function figure(f: Record<string, unknown>): void {
  figures.push(f);
  console.log(JSON.stringify(f));
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const v = await fn();
  return [performance.now() - t, v];
}

// Runs as the admin, as PostgREST would: role authenticated with the admin's claims.
async function asAdmin<T>(fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  return await sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true),
                    set_config('request.jwt.claims', ${JSON.stringify({ sub: ADMIN, role: "authenticated" })}, true)`;
    return await fn(tx);
  }) as T;
}

const customers = Number((await sql`select count(*)::int as n from public.customer_facts`)[0].n);
const tagIds: Record<string, string> = {};
for (const t of await sql`select id, name from public.customer_tags`) tagIds[t.name] = t.id;
const vip = tagIds["VIP"], late = tagIds["Late payer"], film = tagIds["Film production"] ?? tagIds["Event planner"];
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

const startLoad = loadavg();
console.log(`# bench:segments on ${customers} customers, ${cpus().length} cores, load average ${startLoad.map(r2).join(" ")}`);
console.log("# ratios are interleaved run by run");

type Case = { name: string; rules: number; definition: unknown; where: string };
const R = (field: string, operator: string, value?: unknown) => (value === undefined ? { field, operator } : { field, operator, value });
const G = (combinator: "and" | "or", rules: unknown[], not = false) => ({ combinator, not, rules });
const V1 = (combinator: "and" | "or", rules: unknown[], not = false) => ({ version: 1, combinator, not, rules });

const cases: Case[] = [
  { name: "01 city = Oslo", rules: 1, definition: V1("and", [R("city", "=", "oslo")]), where: `lower(city) = 'oslo'` },
  { name: "02 spend between", rules: 1, definition: V1("and", [R("total_spend", "between", [5000, 20000])]),
    where: `total_spend between 5000 and 20000` },
  { name: "03 five rules (and)", rules: 5,
    definition: V1("and", [R("country_code", "in", ["NO", "SE"]), R("booking_count", ">=", 2), R("total_spend", ">", 10000),
                           R("last_booking_at", "withinLastDays", 365), R("consent_email", "=", true)]),
    where: `lower(country_code) = any ('{no,se}') and booking_count >= 2 and total_spend > 10000
            and last_booking_at >= now() - interval '365 days' and consent_email = true` },
  { name: "04 nested or/and", rules: 5,
    definition: V1("or", [G("and", [R("city", "=", "Bergen"), R("booking_count", ">=", 3)]),
                          G("and", [R("region", "beginsWith", "Vest"), R("risk_score", ">", 50)]),
                          R("tag", "containsAny", [vip])]),
    where: `(lower(city) = 'bergen' and booking_count >= 3) or (lower(region) like 'vest%' and risk_score > 50)
            or tag && array[${lit(vip)}]` },
  { name: "05 categories containsAll", rules: 1, definition: V1("and", [R("equipment_category", "containsAll", ["excavators", "lifts"])]),
    where: `equipment_category @> '{excavators,lifts}'` },
  { name: "06 tag none + category any", rules: 2,
    definition: V1("and", [R("tag", "containsNone", [late]), R("equipment_category", "isNotEmpty")]),
    where: `not (tag && array[${lit(late)}]) and cardinality(equipment_category) > 0` },
  { name: "07 date ranges", rules: 2,
    definition: V1("and", [R("created_at", "between", ["2024-01-01", "2024-12-31"]), R("last_booking_at", "<", "2025-06-01")]),
    where: `created_at >= '2024-01-01 00:00+00' and created_at < '2025-01-01 00:00+00' and last_booking_at < '2025-06-01 00:00+00'` },
  { name: "08 negations", rules: 3,
    definition: V1("and", [R("city", "notIn", ["Oslo", "Stockholm"]), R("risk_score", "notBetween", [20, 80]),
                           G("and", [R("consent_sms", "=", true)], true)]),
    where: `(city is null or lower(city) <> all ('{oslo,stockholm}')) and (risk_score is null or risk_score not between 20 and 80)
            and not consent_sms` },
  { name: "09 text contains/endsWith", rules: 3,
    definition: V1("and", [R("city", "contains", "ø"), R("region", "doesNotContain", "land"), R("booking_count", ">", 0)]),
    where: `lower(city) like '%ø%' and (region is null or lower(region) not like '%land%') and booking_count > 0` },
  { name: "10 deep nesting (4 levels)", rules: 6,
    definition: V1("and", [R("consent_email", "=", true),
      G("or", [R("lifetime_value", ">=", 30000),
               G("and", [R("booking_count", "between", [2, 4]),
                         G("or", [R("tag", "containsAny", [vip, film]), R("last_booking_at", "withinLastDays", 90),
                                  R("city", "endsWith", "holm")])])])]),
    where: `consent_email and (lifetime_value >= 30000 or (booking_count between 2 and 4 and
            (tag && array[${lit(vip)}, ${lit(film)}] or last_booking_at >= now() - interval '90 days' or lower(city) like '%holm')))` },
];

function handCount(where: string): string {
  return `select count(*)::bigint as total from public.customer_facts where ${where}`;
}
function handPage(where: string): string {
  return `select coalesce(jsonb_agg(jsonb_build_object(
      'customer_id', f.customer_id, 'full_name', u.full_name, 'email', u.email, 'city', f.city, 'region', f.region,
      'booking_count', f.booking_count, 'total_spend', f.total_spend, 'last_booking_at', f.last_booking_at,
      'risk_score', f.risk_score, 'lifetime_value', f.lifetime_value,
      'tags', coalesce((select jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'color', t.color) order by t.name)
                          from public.customer_tags t where t.id = any (f.tag::uuid[])), '[]'::jsonb)) order by f.customer_id), '[]') as members
    from (select customer_id from public.customer_facts where ${where} order by customer_id limit 50) p
    join public.customer_facts f on f.customer_id = p.customer_id
    join public.users u on u.id = f.customer_id`;
}

const table: string[][] = [["definition", "rules", "total", "eval p50", "eval p95", "hand p50", "hand p95", "ratio p50", "same"]];
if (ONLY.has("eval")) console.log(`\n# evaluate_segment (count + first page of 50) vs hand-written SQL, ${RUNS} interleaved runs each`);
for (const c of ONLY.has("eval") ? cases : []) {
  const ev: number[] = [], hand: number[] = [];
  let evTotal = -1, handTotal = -1, same = true;
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const runEval = async () => {
      const [ms, res] = await timed(() => asAdmin((tx) => tx`select public.evaluate_segment(${tx.json(c.definition as any)}, 50) as r`));
      if (i >= WARMUP) ev.push(ms);
      evTotal = Number(res[0].r.total);
      return res[0].r;
    };
    const runHand = async () => {
      const [ms, res] = await timed(() => asAdmin(async (tx) => {
        const total = await tx.unsafe(handCount(c.where));
        const page = await tx.unsafe(handPage(c.where));
        return { total: Number(total[0].total), members: page[0].members };
      }));
      if (i >= WARMUP) hand.push(ms);
      handTotal = res.total;
      return res;
    };
    let a, b;
    if (i % 2 === 0) { a = await runEval(); b = await runHand(); } else { b = await runHand(); a = await runEval(); }
    if (i === WARMUP) same = JSON.stringify(a.members.map((m: any) => m.customer_id)) === JSON.stringify(b.members.map((m: any) => m.customer_id));
  }
  const f = {
    figure: "evaluate_segment_vs_hand_sql", definition: c.name, rules: c.rules, customers, total: evTotal,
    hand_total: handTotal, same_members: same && evTotal === handTotal,
    eval_p50_ms: r1(pct(ev, 50)), eval_p95_ms: r1(pct(ev, 95)), hand_p50_ms: r1(pct(hand, 50)), hand_p95_ms: r1(pct(hand, 95)),
    ratio_p50: r2(pct(ev, 50) / pct(hand, 50)), ratio_p95: r2(pct(ev, 95) / pct(hand, 95)), runs: RUNS,
  };
  figure(f);
  table.push([c.name, String(c.rules), String(evTotal), String(f.eval_p50_ms), String(f.eval_p95_ms), String(f.hand_p50_ms),
              String(f.hand_p95_ms), String(f.ratio_p50), f.same_members ? "yes" : "NO"]);
}

// refresh_segment on a segment of about 100k members, inside a transaction rolled back at the end.
const refreshRows: string[][] = [["step", "ms", "count", "entered", "exited"]];
if (ONLY.has("refresh")) console.log("\n# refresh_segment (first fill, no-op, then a change), rolled back afterwards");
if (ONLY.has("refresh")) try {
  await sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true),
                    set_config('request.jwt.claims', ${JSON.stringify({ sub: ADMIN, role: "authenticated" })}, true)`;
    // Oslo is about 11% of the generated world: ~110k members at 1M customers.
    const def = V1("and", [R("city", "=", "Oslo")]);
    const [seg] = await tx`insert into public.customer_segments (name, definition, auto_refresh)
                           values ('bench: Oslo', ${tx.json(def as any)}, true) returning id`;
    const step = async (name: string) => {
      const [ms, res] = await timed(() => tx`select public.refresh_segment(${seg.id}) as r`);
      const r = res[0].r;
      figure({ figure: "refresh_segment", step: name, ms: r1(ms), count: r.count, entered: r.entered, exited: r.exited, customers });
      refreshRows.push([name, String(r1(ms)), String(r.count), String(r.entered), String(r.exited)]);
    };
    await step("first fill (all enter)");
    await step("no change (empty diff)");
    await tx`update public.customer_segments set definition = ${tx.json(V1("and", [R("city", "=", "Oslo"), R("booking_count", ">=", 1)]) as any)}
              where id = ${seg.id}`;
    await step("definition narrowed (booking_count >= 1)");
    throw new Error("rollback");
  });
} catch (e) {
  if ((e as Error).message !== "rollback") throw e;
}

// Write overhead of keeping facts current: the same writes with the _200_facts triggers on and off.
if (ONLY.has("overhead")) console.log("\n# write overhead of the facts triggers (same writes, triggers on vs off, each rolled back)");
const sample = (await sql`select customer_id from public.customer_facts tablesample system (1) limit 2000`).map((r) => r.customer_id as string);
const equipment = (await sql`select id from public.equipment limit 1`)[0].id as string;
const FACT_TABLES = ["bookings", "booking_items", "payments"];
async function writeWorkload(tx: postgres.TransactionSql, kind: "bulk" | "single"): Promise<number> {
  const t = performance.now();
  if (kind === "bulk") {
    await tx`with b as (
               insert into public.bookings (customer_id, status, start_date, end_date, total_amount)
               select c, 'confirmed', current_date, current_date + 3, 500 from unnest(${sample}::uuid[]) c returning id, customer_id)
             , i as (insert into public.booking_items (booking_id, equipment_id) select id, ${equipment} from b)
             insert into public.payments (customer_id, booking_id, amount, status) select customer_id, id, 500, 'succeeded' from b`;
  } else {
    for (const c of sample.slice(0, 300)) {
      const [b] = await tx`insert into public.bookings (customer_id, status, start_date, end_date, total_amount)
                           values (${c}, 'confirmed', current_date, current_date + 3, 500) returning id`;
      await tx`insert into public.booking_items (booking_id, equipment_id) values (${b.id}, ${equipment})`;
      await tx`insert into public.payments (customer_id, booking_id, amount, status) values (${c}, ${b.id}, 500, 'succeeded')`;
    }
  }
  return performance.now() - t;
}
const overheadRows: string[][] = [["workload", "with facts p50 ms", "without p50 ms", "ratio"]];
for (const kind of ONLY.has("overhead") ? ["bulk", "single"] as const : []) {
  const on: number[] = [], off: number[] = [];
  const reps = kind === "bulk" ? 7 : 5;
  for (let i = 0; i < reps; i++) {
    for (const withFacts of i % 2 === 0 ? [true, false] : [false, true]) {
      try {
        await sql.begin(async (tx) => {
          if (!withFacts) {
            for (const t of FACT_TABLES) {
              for (const trg of ["_200_facts_insert", "_200_facts_update", "_200_facts_delete"]) {
                await tx.unsafe(`alter table public.${t} disable trigger ${trg}`);
              }
            }
          }
          const ms = await writeWorkload(tx, kind);
          (withFacts ? on : off).push(ms);
          throw new Error("rollback");
        });
      } catch (e) {
        if ((e as Error).message !== "rollback") throw e;
      }
    }
  }
  const f = {
    figure: "facts_write_overhead", workload: kind === "bulk"
      ? `one statement per table: ${sample.length} bookings + items + payments`
      : "300 x (booking, item, payment) as single-row statements",
    with_facts_p50_ms: r1(pct(on, 50)), without_facts_p50_ms: r1(pct(off, 50)), ratio: r2(pct(on, 50) / pct(off, 50)), runs: on.length, customers,
  };
  figure(f);
  overheadRows.push([f.workload, String(f.with_facts_p50_ms), String(f.without_facts_p50_ms), String(f.ratio)]);
}

// The alternative to stored facts that is fresh by construction: aggregate the sources per read.
if (ONLY.has("fresh")) {
  console.log("\n# provably-fresh alternative: one count computed from the sources at read time");
  const liveCount = `select count(*) from public.users u
    left join (select customer_id, count(*) n from public.bookings where status <> 'cancelled' group by 1) b on b.customer_id = u.id
    left join (select customer_id, sum(amount) s from public.payments where status = 'succeeded' group by 1) p on p.customer_id = u.id
    left join (select customer_id, sum(amount) s from public.manual_payments group by 1) m on m.customer_id = u.id
    where lower(u.city) = 'oslo' and coalesce(b.n, 0) >= 2 and coalesce(p.s, 0) + coalesce(m.s, 0) > 10000`;
  const stored = `select count(*) from public.customer_facts where lower(city) = 'oslo' and booking_count >= 2 and total_spend > 10000`;
  const live: number[] = [], st: number[] = [];
  for (let i = 0; i < 3; i++) {
    live.push((await timed(() => sql.unsafe(liveCount)))[0]);
    st.push((await timed(() => sql.unsafe(stored)))[0]);
  }
  const f = { figure: "fresh_on_read_vs_stored_facts", live_aggregate_p50_ms: r1(pct(live, 50)), stored_facts_p50_ms: r1(pct(st, 50)),
              ratio: r2(pct(live, 50) / pct(st, 50)), customers };
  figure(f);
}

const endLoad = loadavg();
console.log(`\n# load average at the end: ${endLoad.map(r2).join(" ")}`);
const fmt = (rows: string[][]) => {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join("  ")).join("\n");
};
console.log("\n" + fmt(table) + "\n\n" + fmt(refreshRows) + "\n\n" + fmt(overheadRows));
figure({ figure: "environment", customers, cores: cpus().length, load_start: startLoad.map(r2), load_end: endLoad.map(r2) });
await sql.end();
