// The webhook inbox worker of the local stack: applies what the webhooks stored
// (private.apply_webhook_inbox), woken by NOTIFY crm_webhook_inbox, else every --idle-ms. On
// Supabase the pg_cron jobs crm_apply_webhooks(_1) do the same in the database (docs/webhooks.md).
// The parts of the customers (private.webhook_apply_parts()) are shared among --appliers loops
// that run side by side, each taking its parts in turn. By default one core is left to the
// webhooks' answers: on a 2-core machine one loop applies both parts, as fast as two side by side
// (docs/webhooks.md) and without taking the core an acknowledgement needs.
// It survives database restarts: an error is logged and the loop goes on.
//   deno run -A --config supabase/functions/deno.json scripts/webhook-worker.ts [--chunk 5000] [--idle-ms 1000] [--appliers n] [--once] [--verbose]
import postgres from "postgres";
import { fromFileUrl, loadDotEnv } from "./lib/deno-util.ts";

loadDotEnv(`${fromFileUrl(new URL("..", import.meta.url))}/supabase/functions/.env`);

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}

const chunk = Number(flag("chunk", "5000"));
const idleMs = Number(flag("idle-ms", "1000"));
const appliersWanted = Number(flag("appliers", "0")); // 0: the cores but one, at most one per part
const once = Deno.args.includes("--once");
const verbose = Deno.args.includes("--verbose");
const url = Deno.env.get("SUPABASE_DB_URL") ?? Deno.env.get("DB_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const sql = postgres(url, { max: 4, onnotice: () => {}, connection: { application_name: "webhook-worker" } });

// A loop naps until NOTIFY crm_webhook_inbox (counted in poked) or its timeout; a notice that came
// while it was applying wakes it at once.
const sleepers = new Set<() => void>();
let poked = 0;
function nap(ms: number, seen: number): Promise<void> {
  if (poked !== seen) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      sleepers.delete(done);
      resolve();
    };
    const t = setTimeout(done, ms);
    sleepers.add(done);
  });
}
function poke(): void {
  poked++;
  for (const wake of [...sleepers]) wake();
}

async function listen(): Promise<void> {
  try {
    await sql.listen("crm_webhook_inbox", poke);
  } catch (err) {
    console.error(`webhook-worker: listen failed (${(err as Error).message}); polling every ${idleMs} ms`);
  }
}

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    stopping = true;
    poke();
  });
}

// One loop over its parts of the customers, in turn; it naps when none of them had work.
async function applier(parts: number[]): Promise<void> {
  while (!stopping) {
    const seen = poked;
    try {
      let applied = 0, busy = false;
      for (const part of parts) {
        const [{ r }] = await sql<[{ r: { rows: number; events: number; failed?: number; busy?: boolean } }]>`
          select private.apply_webhook_inbox(${chunk}, ${part}) as r`;
        if (verbose && r.rows > 0) console.log(JSON.stringify({ part, applied_rows: r.rows, events: r.events, failed: r.failed ?? 0 }));
        applied += r.rows;
        busy ||= r.busy ?? false;
      }
      if (once && !busy && applied === 0) break;
      if (applied === 0) await nap(busy ? 200 : idleMs, seen);
    } catch (err) {
      console.error(`webhook-worker: ${(err as Error).message}; retrying in 1 s`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

await listen();
let parts = 1;
for (;;) {
  try {
    [{ parts }] = await sql<[{ parts: number }]>`select private.webhook_apply_parts() as parts`;
    break;
  } catch (err) {
    if (stopping) break;
    console.error(`webhook-worker: ${(err as Error).message}; retrying in 1 s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
const appliers = Math.min(parts, appliersWanted > 0 ? appliersWanted : Math.max(1, navigator.hardwareConcurrency - 1));
if (verbose) console.log(`webhook worker running, ${parts} part(s) in ${appliers} loop(s)`);
await Promise.all(Array.from({ length: appliers }, (_, i) =>
  applier(Array.from({ length: parts }, (_, part) => part).filter((part) => part % appliers === i))));
await sql.end({ timeout: 5 });
