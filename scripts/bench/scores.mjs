// npm run bench:scores [-- --customers 1000000 --summary-calls 500]
// 1. The nightly scoring job (crm_score_customers = private.run_nightly_scoring()) over N customers:
//    a first pass where every score changes, a steady pass where nothing changed, and a pass after
//    1% of customers got a new failed payment. Baseline: the compute alone (a count over
//    private.customer_score_inputs), i.e. the same aggregation without any writes.
// 2. customer_summary for a customer with 1,000 bookings, called as an admin through RLS.
//    Baseline: the plainest query on the same data (count of the customer's bookings).
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { arg, exited, percentile, printTable, report, root, sql } from "./lib.mjs";

const customers = Number(arg("customers", "1000000"));
const summaryCalls = Number(arg("summary-calls", "500"));
const ms = (t0) => Math.round(Number(process.hrtime.bigint() - t0) / 1e4) / 100;
const now = () => process.hrtime.bigint();

// ---------------------------------------------------------------------------------------------
// Fixture: the shared generator's world (`npm run generate -- --customers N`: customers with
// bookings, items, payments, tickets, insurance, tags and consents, facts rebuilt), keyed by id
// md5('gen-customer-' || i): whatever else the database holds, the missing chunks are added.
// ---------------------------------------------------------------------------------------------
async function generateCustomers(n) {
  const [{ have }] = await sql`
    select count(*)::int as have from public.users u
     where u.id in (select md5('gen-customer-' || i)::uuid from generate_series(1, ${n}::int) i)`;
  if (have === n) return;
  console.error(`bench: ${have} of ${n} generated customers present; npm run generate -- --customers ${n} --force ...`);
  const child = spawn("bash", [resolve(root, "scripts/generate.sh"), "--customers", String(n), "--force"],
    { cwd: root, env: process.env, stdio: ["ignore", "inherit", "inherit"] });
  const code = await exited(child);
  if (code !== 0) throw new Error(`bench: npm run generate exited with ${code}`);
}

async function timed(label, query) {
  const t0 = now();
  const rows = await query();
  return { label, ms: ms(t0), rows };
}

async function benchScoring() {
  await generateCustomers(customers);
  const [{ total }] = await sql`select count(*)::int as total from public.users`;
  const [{ bookings }] = await sql`select count(*)::int as bookings from public.bookings`;
  console.error(`bench: ${total} users, ${bookings} bookings; resetting scores so the first pass changes every one ...`);
  await sql`truncate public.customer_scores, public.customer_score_history`;
  await sql`truncate private.score_alert_states`;
  await sql`delete from public.alerts where kind in ('vip_lifetime_value', 'high_risk', 'churn_risk')`;
  await sql`update public.users set risk_score = null, lifetime_value = null where risk_score is not null or lifetime_value is not null`;
  await sql`vacuum analyze public.users`;

  const base = await timed("compute only", () => sql`select count(*), sum(risk_score) from private.customer_score_inputs`);
  report({ figure: "scores_compute_only_ms", value: base.ms, unit: "ms", customers: total });

  const first = await timed("first pass", () => sql`select private.run_nightly_scoring() as r`);
  report({ figure: "scores_first_pass_ms", value: first.ms, unit: "ms", baseline: base.ms,
           ratio: +(first.ms / base.ms).toFixed(2), target: "<= 60000", ok: first.ms <= 60000, result: first.rows[0].r });

  const steady = await timed("steady pass", () => sql`select private.run_nightly_scoring() as r`);
  report({ figure: "scores_steady_pass_ms", value: steady.ms, unit: "ms", baseline: base.ms,
           ratio: +(steady.ms / base.ms).toFixed(2), target: "<= 60000", ok: steady.ms <= 60000, result: steady.rows[0].r });

  // 1% of customers get a failed payment today
  await sql`
    insert into public.payments (customer_id, amount, status)
    select md5('gen-customer-' || i)::uuid, 10, 'failed' from generate_series(1, ${customers}::int) i where i % 100 = 0`;
  const changed = await timed("1% changed", () => sql`select private.run_nightly_scoring() as r`);
  report({ figure: "scores_one_percent_changed_ms", value: changed.ms, unit: "ms", baseline: base.ms,
           ratio: +(changed.ms / base.ms).toFixed(2), target: "<= 60000", ok: changed.ms <= 60000, result: changed.rows[0].r });
}

// ---------------------------------------------------------------------------------------------
// customer_summary on a customer with 1,000 bookings
// ---------------------------------------------------------------------------------------------
async function summaryFixture() {
  const customerId = (await sql`select md5('scores-bench-summary')::uuid as id`)[0].id;
  const adminId = (await sql`select md5('scores-bench-admin')::uuid as id`)[0].id;
  const [{ exists }] = await sql`select exists (select 1 from public.users where id = ${customerId}) as exists`;
  if (exists) return { customerId, adminId };
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`insert into auth.users (id, email) values (${customerId}, 'scores-bench-summary@bench.test'), (${adminId}, 'scores-bench-admin@bench.test')`;
    await tx`insert into public.users (id, email, full_name, city, country_code) values
               (${adminId}, 'scores-bench-admin@bench.test', 'Bench Admin', 'Oslo', 'NO')`;
    await tx`insert into public.users (id, email, full_name, city, country_code, account_manager_id, risk_score, lifetime_value) values
               (${customerId}, 'scores-bench-summary@bench.test', 'Bench Summary', 'Oslo', 'NO', ${adminId}, 42, 123456)`;
    await tx`insert into public.user_roles (user_id, role) values (${adminId}, 'admin')`;
    await tx`
      insert into public.bookings (id, customer_id, status, start_date, end_date, total_amount, payment_due_at, created_at)
      select md5('scores-bench-summary-b' || j)::uuid, ${customerId},
             case when j % 10 = 0 then 'cancelled' when j % 10 = 1 then 'active' else 'completed' end,
             current_date - j, current_date - j + 5, 500, now() - (j - 20) * interval '1 day', now() - j * interval '1 day'
        from generate_series(1, 1000) j`;
    await tx`
      insert into public.payments (customer_id, booking_id, amount, status)
      select ${customerId}, md5('scores-bench-summary-b' || j)::uuid, case when j % 7 = 0 then 200 else 500 end,
             case when j % 13 = 0 then 'failed' else 'succeeded' end
        from generate_series(1, 1000) j where j % 10 <> 0`;
    await tx`
      insert into public.manual_payments (customer_id, booking_id, amount, method)
      select ${customerId}, md5('scores-bench-summary-b' || j)::uuid, 100, 'cash' from generate_series(7, 1000, 49) j`;
    await tx`
      insert into public.support_tickets (customer_id, subject, status, priority)
      select ${customerId}, 'ticket ' || k, (array['open','pending','resolved','closed'])[1 + k % 4], 'normal' from generate_series(1, 40) k`;
    await tx`
      insert into public.insurance_documents (customer_id, booking_id, kind, status, expires_at)
      select ${customerId}, md5('scores-bench-summary-b' || j)::uuid, 'liability', 'valid', current_date + (j % 90)
        from generate_series(1, 1000, 10) j`;
    await tx`insert into public.customer_tags (id, name) select md5('scores-bench-tag' || k)::uuid, 'bench tag ' || k
               from generate_series(1, 5) k on conflict do nothing`;
    await tx`insert into public.customer_tag_members (customer_id, tag_id)
               select ${customerId}, md5('scores-bench-tag' || k)::uuid from generate_series(1, 5) k`;
    await tx`insert into public.customer_consent (customer_id, channel, enabled, source) values
               (${customerId}, 'email', true, 'import'), (${customerId}, 'sms', false, 'import')`;
    await tx`insert into public.customer_risk_overrides (customer_id, score, reason) values (${customerId}, 80, 'bench')`;
  });
  await sql`analyze`;
  return { customerId, adminId };
}

async function benchSummary() {
  const { customerId, adminId } = await summaryFixture();
  const claims = JSON.stringify({ sub: adminId, role: "authenticated" });
  const run = async (query) => {
    const times = [];
    await sql.begin(async (tx) => {
      await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`;
      for (let i = 0; i < 50; i++) await query(tx); // warm-up
      for (let i = 0; i < summaryCalls; i++) {
        const t0 = now();
        await query(tx);
        times.push(ms(t0));
      }
    });
    return times;
  };
  const summary = await run((tx) => tx`select public.customer_summary(${customerId}) as s`);
  const baseline = await run((tx) => tx`select count(*) from public.bookings where customer_id = ${customerId}`);
  const [{ s }] = await sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`;
    return await tx`select public.customer_summary(${customerId}) as s`;
  });
  // the same calls timed inside the database (no client scheduling or network in the figure)
  const server = await sql.begin(async (tx) => {
    await tx`create function pg_temp.time_summaries(customer uuid, n integer) returns setof double precision
             language plpgsql as $$
             declare t0 timestamptz; i integer;
             begin
               for i in 1..n loop
                 t0 := clock_timestamp();
                 perform public.customer_summary(customer);
                 return next extract(epoch from clock_timestamp() - t0) * 1000;
               end loop;
             end $$`;
    await tx`grant execute on function pg_temp.time_summaries(uuid, integer) to authenticated`;
    await tx`select pg_temp.time_summaries(${customerId}, 50)`;
    await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`;
    return (await tx`select pg_temp.time_summaries(${customerId}, ${summaryCalls}) as t`).map((r) => r.t);
  });
  report({ figure: "summary_server_side_p50_ms", value: +percentile(server, 50).toFixed(2), unit: "ms" });
  report({ figure: "summary_server_side_p95_ms", value: +percentile(server, 95).toFixed(2), unit: "ms", target: "<= 5",
           ok: percentile(server, 95) <= 5 });
  const p95 = percentile(summary, 95);
  const b95 = percentile(baseline, 95);
  report({ figure: "summary_p50_ms", value: percentile(summary, 50), unit: "ms", baseline: percentile(baseline, 50),
           ratio: +(percentile(summary, 50) / percentile(baseline, 50)).toFixed(2) });
  report({ figure: "summary_p95_ms", value: p95, unit: "ms", baseline: b95, ratio: +(p95 / b95).toFixed(2),
           target: "<= 5", ok: p95 <= 5, calls: summaryCalls, booking_count: s.booking_count });
  report({ figure: "summary_p99_ms", value: percentile(summary, 99), unit: "ms", baseline: percentile(baseline, 99),
           ratio: +(percentile(summary, 99) / percentile(baseline, 99)).toFixed(2) });
}

try {
  const only = arg("only", "all");
  if (only === "all" || only === "scores") await benchScoring();
  if (only === "all" || only === "summary") await benchSummary();
  printTable(`bench:scores (client-side timings over loopback)`);
} finally {
  await sql.end();
}
