// The webhook inbox worker of the local stack: applies what the webhooks stored
// (private.apply_webhook_inbox), woken by NOTIFY crm_webhook_inbox, else every --idle-ms. On
// Supabase the pg_cron jobs crm_apply_webhooks(_1) do the same in the database (docs/webhooks.md).
// Answers first: one loop applies every part of the customers (private.webhook_apply_parts()) in
// turn, always; the other --appliers loops (default: one per part) join it only while no webhook
// has arrived for --yield-ms, so on a small machine they never take the core an answer needs, and
// a backlog drains side by side once the burst is over (docs/webhooks.md). A part is applied by
// one loop at a time (the database's advisory lock answers the other "busy").
// It survives database restarts: an error is logged and the loop goes on.
//   deno run -A --config supabase/functions/deno.json scripts/webhook-worker.ts [--chunk 5000] [--idle-ms 1000] [--appliers n] [--yield-ms 250] [--once] [--verbose]
import postgres from "postgres";
import { fromFileUrl, loadDotEnv } from "./lib/deno-util.ts";

loadDotEnv(`${fromFileUrl(new URL("..", import.meta.url))}/supabase/functions/.env`);

// A whole number flag at least min; anything else stops the worker with the flag's name.
function flag(name: string, fallback: number, min: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  const given = i >= 0 ? Deno.args[i + 1] : String(fallback);
  const value = Number(given);
  if (!Number.isInteger(value) || value < min) {
    console.error(`webhook-worker: --${name} must be a whole number >= ${min}; got ${given}`);
    Deno.exit(2);
  }
  return value;
}

const chunk = flag("chunk", 5000, 1);
const idleMs = flag("idle-ms", 1000, 1);
const appliersWanted = flag("appliers", 0, 0); // 0: one per part
const yieldMs = flag("yield-ms", 250, 0);
const once = Deno.args.includes("--once");
const verbose = Deno.args.includes("--verbose");
const url = Deno.env.get("SUPABASE_DB_URL") ?? Deno.env.get("DB_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const sql = postgres(url, { max: 4, onnotice: () => {}, connection: { application_name: "webhook-worker" } });

// A loop naps until NOTIFY crm_webhook_inbox (counted in poked) or its timeout; a notice that came
// while it was applying wakes it at once.
const sleepers = new Set<() => void>();
let poked = 0;
let pokedAt = -Infinity; // when the last webhook was stored (performance.now())
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
  pokedAt = performance.now();
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

// One loop over the parts, in turn from its own first part; it naps when none had work. A loop
// that yields waits while webhooks are arriving.
async function applier(parts: number[], yields: boolean): Promise<void> {
  while (!stopping) {
    const quietFor = performance.now() - pokedAt;
    if (yields && quietFor < yieldMs) {
      await new Promise((r) => setTimeout(r, yieldMs - quietFor));
      continue;
    }
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
const appliers = Math.min(parts, appliersWanted > 0 ? appliersWanted : parts);
if (verbose) console.log(`webhook worker running, ${parts} part(s), ${appliers} loop(s)`);
await Promise.all(Array.from({ length: appliers }, (_, i) =>
  applier(Array.from({ length: parts }, (_, k) => (i + k) % parts), i > 0)));
await sql.end({ timeout: 5 });
