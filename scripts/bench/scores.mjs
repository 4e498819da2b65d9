// npm run bench:scores [-- --customers 1000000 --summary-calls 500]
// 1. The nightly scoring job (crm_score_customers = private.run_nightly_scoring()) over N customers:
//    a first pass where every score changes, a steady pass where nothing changed, and a pass after
//    1% of customers got a new failed payment. Baseline: the compute alone (a count over
//    private.customer_score_inputs), i.e. the same aggregation without any writes.
// 2. customer_summary for a customer with 1,000 bookings, called as an admin through RLS.
//    Baseline: the plainest query on the same data (count of the customer's bookings).
import { arg, percentile, printTable, report, sql } from "./lib.mjs";

const customers = Number(arg("customers", "1000000"));
const summaryCalls = Number(arg("summary-calls", "500"));
const ms = (t0) => Math.round(Number(process.hrtime.bigint() - t0) / 1e4) / 100;
const now = () => process.hrtime.bigint();

// ---------------------------------------------------------------------------------------------
// Fixture generator (set-based, deterministic). Kept here, separate from the measurements, until
// the shared `npm run generate -- --customers N` lands; triggers are skipped while loading
// (session_replication_role = replica) because the fixture is not what is measured.
// Per customer i: i % 4 bookings (1.5 on average, 10% cancelled, 10% active), one payment per
// booking (6% failed, 20% of customers pay half), a manual payment for 5%, a ticket for 10%
// (a third of them urgent, half open), insurance on active bookings (a third expired).
// ---------------------------------------------------------------------------------------------
async function generateCustomers(n) {
  await generateFixture(n);
  // the fixture loads without triggers; as in production, every customer has a facts row, so the
  // nightly pass pays for keeping segment facts current too
  const [{ missing }] = await sql`select count(*)::int as missing from public.users u
                                   where not exists (select 1 from public.customer_facts f where f.customer_id = u.id)`;
  if (missing > 0) {
    console.error(`bench: building facts for ${missing} customers ...`);
    await sql`select private.refresh_customer_facts(null)`;
  }
}

async function generateFixture(n) {
  const [{ have }] = await sql`select count(*)::int as have from public.users where email like 'scores-bench-%@bench.test'`;
  if (have >= n) return;
  console.error(`bench: creating customers ${have + 1}..${n} with bookings, payments, tickets and insurance ...`);
  const step = 100_000;
  for (let from = have + 1; from <= n; from += step) {
    const to = Math.min(n, from + step - 1);
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`create temporary table gen on commit drop as
                select i, md5('scores-bench-' || i)::uuid as id from generate_series(${from}::int, ${to}::int) i`;
      await tx`insert into auth.users (id, email) select id, 'scores-bench-' || i || '@bench.test' from gen`;
      await tx`
        insert into public.users (id, email, full_name, city, country_code, created_at)
        select id, 'scores-bench-' || i || '@bench.test', 'Bench Customer ' || i,
               (array['Oslo','Bergen','Trondheim','Tromsø'])[1 + i % 4], 'NO', now() - (i % 1500) * interval '1 day'
          from gen`;
      await tx`create temporary table gen_bookings on commit drop as
        select md5('scores-bench-b-' || g.i || '-' || j)::uuid as booking_id, g.id as customer_id, g.i, j,
               case (g.i * 7 + j) % 10 when 0 then 'cancelled' when 1 then 'active' when 2 then 'pending'
                                       when 3 then 'confirmed' when 4 then 'confirmed' else 'completed' end as status,
               now() - ((g.i * 13 + j * 101) % 900) * interval '1 day' as created_at,
               (100 + (g.i * 31 + j * 17) % 2000)::numeric(12, 2) as total_amount
          from gen g cross join generate_series(1, 3) j
         where j <= g.i % 4`;
      await tx`
        insert into public.bookings (id, customer_id, status, start_date, end_date, total_amount, payment_due_at, created_at)
        select booking_id, customer_id, status, created_at::date + 3, created_at::date + 10, total_amount,
               created_at + interval '14 days', created_at
          from gen_bookings`;
      await tx`
        insert into public.payments (customer_id, booking_id, amount, status, created_at)
        select customer_id, booking_id, case when i % 5 = 0 then round(total_amount / 2, 2) else total_amount end,
               case when (i + j) % 17 = 0 then 'failed' else 'succeeded' end, created_at + interval '1 day'
          from gen_bookings where status <> 'cancelled'`;
      await tx`
        insert into public.manual_payments (customer_id, booking_id, amount, method, received_at)
        select customer_id, booking_id, 250, 'cash', created_at + interval '2 days' from gen_bookings where i % 20 = 0 and j = 1`;
      await tx`
        insert into public.support_tickets (customer_id, subject, status, priority, created_at)
        select id, 'Bench ticket', case when i % 20 = 0 then 'open' else 'resolved' end,
               case when i % 30 = 0 then 'urgent' else 'normal' end, now() - (i % 60) * interval '1 day'
          from gen where i % 10 = 0`;
      await tx`
        insert into public.insurance_documents (customer_id, booking_id, kind, status, expires_at)
        select customer_id, booking_id, 'liability', case when i % 3 = 0 then 'expired' else 'valid' end,
               case when i % 3 = 0 then current_date - 10 else current_date + 60 end
          from gen_bookings where status = 'active'`;
    });
    console.error(`bench: ${to}/${n} customers`);
  }
  await sql`analyze`;
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
    select id, 10, 'failed' from public.users where email like 'scores-bench-%' and abs(hashtext(id::text)) % 100 = 0`;
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
  printTable(`bench:scores (2 cores shared with other engineers' databases and benchmarks; client-side timings over loopback)`);
} finally {
  await sql.end();
}
