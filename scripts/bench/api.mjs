// npm run bench:api [-- --calls 200 --evaluate-calls 50]
// The cost of the Data API: the same calls through the real PostgREST 12.0.2 (over HTTP, as
// supabase-js makes them, with an ES256 access token) and through the API gateway (/rest/v1), vs
// the same statement over SQL (one connection, a transaction acting as the admin exactly as
// PostgREST does: role authenticated + request.jwt.claims). Calls run one at a time; each series
// is warmed up first. Prints p50/p95 per path and the ratio to SQL; measured facts only.
//   customer_timeline  the customer with the most timeline events, 50 per page
//   evaluate_segment   a two-rule definition (city and bookings), first page of 50
//   notes page         customer_notes of one customer, newest 50
// Run on the world of `npm run generate -- --customers 1000000`; the database must be up.
import { accessToken, publishableKey } from "../keys.mjs";
import { arg, percentile, printTable, report, sql, startDeno, startPostgrest, waitForHttp } from "./lib.mjs";

const calls = Number(arg("calls", "200"));
const evaluateCalls = Number(arg("evaluate-calls", "50"));
const postgrestPort = Number(process.env.BENCH_POSTGREST_PORT ?? Number(process.env.TEST_POSTGREST_PORT ?? 25430) + 10);
const gatewayPort = Number(process.env.BENCH_GATEWAY_PORT ?? Number(process.env.TEST_FUNCTIONS_PORT ?? 25431) + 10);
const now = () => process.hrtime.bigint();
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

const [admin] = await sql`select u.id, u.email from public.users u join public.user_roles r on r.user_id = u.id and r.role = 'admin' order by u.email limit 1`;
const [{ customer_id: timelineCustomer, events }] = await sql`
  select customer_id, sum(n)::int as events from (select customer_id, count(*) as n from public.customer_timeline_events group by customer_id order by n desc limit 1) t group by customer_id`;
const [{ customer_id: notesCustomer }] = await sql`select customer_id from public.customer_notes group by customer_id order by count(*) desc limit 1`;
const [{ customers }] = await sql`select count(*)::int as customers from public.users`;
const [{ city }] = await sql`select city from public.users where city is not null group by city order by count(*) desc limit 1`;
const definition = { version: 1, combinator: "and", rules: [{ field: "city", operator: "=", value: city }, { field: "booking_count", operator: ">=", value: 1 }] };

const token = await accessToken(admin, 3600);
const claims = JSON.stringify({ sub: admin.id, role: "authenticated", aud: "authenticated" });

const children = [];
children.push(startPostgrest(postgrestPort, { PGRST_LOG_LEVEL: "crit" }));
children.push(startDeno("scripts/functions-gateway.ts", [], { FUNCTIONS_PORT: String(gatewayPort), POSTGREST_URL: `http://127.0.0.1:${postgrestPort}` }));
const stop = () => { for (const c of children) c.kill("SIGTERM"); };
process.on("exit", stop);
await waitForHttp(`http://127.0.0.1:${gatewayPort}/auth/v1/.well-known/jwks.json`);
await waitForHttp(`http://127.0.0.1:${postgrestPort}/`, { ok: true });

const ops = {
  customer_timeline: {
    n: calls,
    sql: (tx) => tx`select public.customer_timeline(${timelineCustomer}::uuid, null, null, null, 50, null) as r`,
    http: { method: "POST", path: "/rpc/customer_timeline", body: { customer_id: timelineCustomer, page_size: 50 } },
  },
  evaluate_segment: {
    n: evaluateCalls,
    sql: (tx) => tx`select public.evaluate_segment(${tx.json(definition)}, 50, null) as r`,
    http: { method: "POST", path: "/rpc/evaluate_segment", body: { definition, page_size: 50 } },
  },
  notes_page: {
    n: calls,
    sql: (tx) => tx`select * from public.customer_notes where customer_id = ${notesCustomer} order by created_at desc limit 50`,
    http: { method: "GET", path: `/customer_notes?select=*&customer_id=eq.${notesCustomer}&order=created_at.desc&limit=50` },
  },
};

const conn = await sql.reserve();
async function viaSql(op) {
  const t0 = now();
  await conn`begin`;
  await conn`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`;
  const rows = await op.sql(conn);
  await conn`commit`;
  if (!rows.length && op !== ops.notes_page) throw new Error("no result");
  return ms(t0);
}

async function viaHttp(base, op, extra = {}) {
  const t0 = now();
  const res = await fetch(`${base}${op.http.path}`, {
    method: op.http.method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...extra },
    body: op.http.body ? JSON.stringify(op.http.body) : undefined,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${op.http.path}: ${res.status} ${text.slice(0, 300)}`);
  return ms(t0);
}

const paths = {
  sql: (op) => viaSql(op),
  postgrest: (op) => viaHttp(`http://127.0.0.1:${postgrestPort}`, op),
  gateway: (op) => viaHttp(`http://127.0.0.1:${gatewayPort}/rest/v1`, op, { apikey: publishableKey() }),
};

console.error(`bench:api: ${customers} customers; timeline customer ${timelineCustomer} (${events} events); notes customer ${notesCustomer}; ${calls} calls (${evaluateCalls} for evaluate_segment) per path`);
for (const [name, op] of Object.entries(ops)) {
  const times = { sql: [], postgrest: [], gateway: [] };
  for (const fn of Object.values(paths)) for (let i = 0; i < Math.min(10, op.n); i++) await fn(op); // warm-up
  // interleaved, so that drift (cache, other load) hits every path alike
  for (let i = 0; i < op.n; i++) for (const [p, fn] of Object.entries(paths)) times[p].push(await fn(op));
  const p = (path, q) => +percentile(times[path], q).toFixed(2);
  for (const q of [50, 95]) {
    report({ figure: `${name}_sql_p${q}_ms`, value: p("sql", q), unit: "ms", customers });
    for (const path of ["postgrest", "gateway"]) {
      report({ figure: `${name}_${path}_p${q}_ms`, value: p(path, q), unit: "ms", baseline: p("sql", q),
        ratio: +(p(path, q) / p("sql", q)).toFixed(2),
        ...(name !== "notes_page" && path === "postgrest" ? { target: "<= 1.2x", ok: p(path, q) / p("sql", q) <= 1.2 } : {}), customers });
    }
  }
}
conn.release();
await sql.end();
printTable(`bench:api (${customers} customers; PostgREST ${postgrestPort}, gateway ${gatewayPort}; ratio = path / SQL)`);
stop();
process.exit(0);
