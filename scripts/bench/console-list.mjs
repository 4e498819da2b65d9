// npm run bench:console [-- --calls 30]
// The admin console's customer list, first page, against the running stack (`npm start`; the
// console server on CONSOLE_PORT gives the API URL, key and Ada's token, as the browser gets them):
// 1. what the console does for a page: rpc list_customers (50 rows) + customer_effective_risk for
//    those 50 ids, through the API; unfiltered, filtered (city = Oslo), and the page after 500,000;
// 2. the same list_customers call over SQL as the admin (role + claims as PostgREST sets them):
//    the baseline, so the ratio is the API's share;
// 3. in the browser (headless Chromium): from picking the login to the first page rendered, and the
//    console's own timer for the page's two API calls.
import { chromium } from "playwright-core";
import { arg, percentile, printTable, report, sql } from "./lib.mjs";

const calls = Number(arg("calls", "30"));
const consoleUrl = `http://127.0.0.1:${process.env.CONSOLE_PORT ?? 54323}`;
const config = await fetch(`${consoleUrl}/console-config.json`).then((r) => r.json()).catch(() => {
  console.error(`bench:console measures the running stack, and no console answers at ${consoleUrl}: run \`npm start\` first (CONSOLE_PORT sets the port)`);
  process.exit(1);
});
const logins = await (await fetch(`${consoleUrl}/local-logins.json`)).json();
const ada = logins.find((l) => l.email === "ada.admin@rental.test");
const headers = { apikey: config.anonKey, Authorization: `Bearer ${ada.access_token}`, "Content-Type": "application/json" };
const [{ n }] = await sql`select count(*)::int as n from public.customer_facts`;
console.error(`bench:console: ${n} customers; API ${config.apiUrl}; ${calls} calls per figure`);

const ms = (t0) => Math.round(Number(process.hrtime.bigint() - t0) / 1e4) / 100;
const oslo = { version: 1, combinator: "and", rules: [{ field: "city", operator: "=", value: "Oslo" }] };
const [{ mid }] = await sql`select customer_id as mid from public.customer_facts order by customer_id offset ${Math.floor(n / 2)} limit 1`;

async function apiPage(definition, after) {
  const t0 = process.hrtime.bigint();
  const res = await fetch(`${config.apiUrl}/rest/v1/rpc/list_customers`, {
    method: "POST", headers, body: JSON.stringify({ definition, page_size: 50, after }),
  });
  if (!res.ok) throw new Error(`list_customers: ${res.status} ${await res.text()}`);
  const page = await res.json();
  const ids = page.customers.map((c) => c.customer_id);
  const risk = await fetch(`${config.apiUrl}/rest/v1/customer_effective_risk?select=customer_id,risk_level,override_score&customer_id=in.(${ids.join(",")})`, { headers });
  if (!risk.ok) throw new Error(`customer_effective_risk: ${risk.status} ${await risk.text()}`);
  await risk.json();
  return ms(t0);
}

async function sqlPage(definition, after) {
  const t0 = process.hrtime.bigint();
  await sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify({ sub: ada.id, role: "authenticated" })}, true)`;
    await tx`select public.list_customers(${definition ? tx.json(definition) : null}, 50, ${after ?? null})`;
  });
  return ms(t0);
}

async function measure(label, fn, baseline) {
  await fn(); // warm
  const api = [];
  const base = [];
  for (let i = 0; i < calls; i++) {
    api.push(await fn());
    if (baseline) base.push(await baseline());
  }
  const p50 = percentile(api, 50);
  const b50 = baseline ? percentile(base, 50) : undefined;
  report({ figure: `${label} p50`, value: p50, unit: "ms", baseline: b50, ratio: b50 ? Math.round((p50 / b50) * 100) / 100 : undefined, target: 1000, ok: p50 < 1000 });
  report({ figure: `${label} p95`, value: percentile(api, 95), unit: "ms", baseline: baseline ? percentile(base, 95) : undefined, target: 1000, ok: percentile(api, 95) < 1000 });
}

await measure("console first page via API (list_customers + risk levels)", () => apiPage(null, null), () => sqlPage(null, null));
await measure("console first page, filter city = Oslo", () => apiPage(oslo, null), () => sqlPage(oslo, null));
await measure("console page after the median customer", () => apiPage(null, mid), () => sqlPage(null, mid));

// In the browser: sign in, first page rendered.
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
const shown = [];
const own = [];
for (let i = 0; i < Math.min(calls, 10); i++) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(consoleUrl);
  const button = page.getByRole("button", { name: /ada\.admin/ });
  await button.waitFor();
  const t0 = process.hrtime.bigint();
  await button.click();
  await page.getByTestId("page-ms").waitFor();
  shown.push(ms(t0));
  own.push(Number((await page.getByTestId("page-ms").textContent()).match(/(\d+)/)[1]));
  await page.context().close();
}
await browser.close();
report({ figure: "browser: login picked -> first page rendered p50", value: percentile(shown, 50), unit: "ms", target: 1000, ok: percentile(shown, 50) < 1000 });
report({ figure: "browser: the page's API calls (console timer) p50", value: percentile(own, 50), unit: "ms", target: 1000, ok: percentile(own, 50) < 1000 });
printTable(`console customer list, ${n} customers`);
await sql.end();
