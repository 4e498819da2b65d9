// The webhook inbox worker of the local stack: applies what the webhooks stored
// (private.apply_webhook_inbox), woken by NOTIFY crm_webhook_inbox, else every --idle-ms. On
// Supabase the pg_cron jobs crm_apply_webhooks(_1) do the same in the database (docs/webhooks.md).
// One loop per part of the customers (private.webhook_apply_parts()), side by side.
// It survives database restarts: an error is logged and the loop goes on.
//   deno run -A --config supabase/functions/deno.json scripts/webhook-worker.ts [--chunk 5000] [--idle-ms 1000] [--once] [--verbose]
import postgres from "postgres";
import { fromFileUrl, loadDotEnv } from "./lib/deno-util.ts";

loadDotEnv(`${fromFileUrl(new URL("..", import.meta.url))}/supabase/functions/.env`);

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}

const chunk = Number(flag("chunk", "5000"));
const idleMs = Number(flag("idle-ms", "1000"));
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

// One loop per part of the customers (private.webhook_apply_parts()): they run side by side.
async function applier(part: number): Promise<void> {
  while (!stopping) {
    const seen = poked;
    try {
      const [{ r }] = await sql<[{ r: { rows: number; events: number; failed?: number; busy?: boolean } }]>`
        select private.apply_webhook_inbox(${chunk}, ${part}) as r`;
      if (verbose && r.rows > 0) console.log(JSON.stringify({ part, applied_rows: r.rows, events: r.events, failed: r.failed ?? 0 }));
      if (once && !r.busy && r.rows === 0) break;
      if (r.rows === 0) await nap(r.busy ? 200 : idleMs, seen);
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
if (verbose) console.log(`webhook worker running, ${parts} part(s)`);
await Promise.all(Array.from({ length: parts }, (_, part) => applier(part)));
await sql.end({ timeout: 5 });
