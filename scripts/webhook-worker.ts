// The webhook inbox worker of the local stack: applies what the webhooks stored
// (private.apply_webhook_inbox), woken by NOTIFY crm_webhook_inbox, else every --idle-ms. On
// Supabase the pg_cron job crm_apply_webhooks does the same in the database (docs/webhooks.md).
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
const sql = postgres(url, { max: 2, onnotice: () => {}, connection: { application_name: "webhook-worker" } });

let wake: (() => void) | null = null;
let poked = false;
function nap(ms: number): Promise<void> {
  if (poked) {
    poked = false;
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      wake = null;
      resolve();
    }
    wake = done;
  });
}

async function listen(): Promise<void> {
  try {
    await sql.listen("crm_webhook_inbox", () => {
      if (wake) wake();
      else poked = true;
    });
  } catch (err) {
    console.error(`webhook-worker: listen failed (${(err as Error).message}); polling every ${idleMs} ms`);
  }
}

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    stopping = true;
    if (wake) wake();
  });
}

await listen();
if (verbose) console.log("webhook worker running");
while (!stopping) {
  try {
    const [{ r }] = await sql<[{ r: { rows: number; events: number; failed?: number; busy?: boolean } }]>`
      select private.apply_webhook_inbox(${chunk}) as r`;
    if (verbose && r.rows > 0) console.log(JSON.stringify({ applied_rows: r.rows, events: r.events, failed: r.failed ?? 0 }));
    if (once && !r.busy && r.rows === 0) break;
    if (r.rows === 0) await nap(idleMs);
  } catch (err) {
    console.error(`webhook-worker: ${(err as Error).message}; retrying in 1 s`);
    await nap(1000);
  }
}
await sql.end({ timeout: 5 });
