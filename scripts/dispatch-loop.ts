// A dispatcher process: rounds of claim → send → complete, forever (or --once / --max-idle-ms).
// `npm start` runs one; the reliability tests start and kill several.
//   deno run -A --config supabase/functions/deno.json scripts/dispatch-loop.ts [--worker w1] [--once] [--lease 60]
import { fromFileUrl, loadDotEnv } from "./lib/deno-util.ts";
import { dispatch } from "../supabase/functions/_shared/messaging/dispatch.ts";
import { closeDb } from "../supabase/functions/_shared/db.ts";

loadDotEnv(`${fromFileUrl(new URL("..", import.meta.url))}/supabase/functions/.env`);

function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

const worker = flag("worker") ?? `loop-${Deno.pid}`;
const once = Deno.args.includes("--once");
const leaseSeconds = flag("lease") ? Number(flag("lease")) : undefined;
const batchSize = flag("batch") ? Number(flag("batch")) : undefined;
const maxIdleMs = flag("max-idle-ms") ? Number(flag("max-idle-ms")) : Infinity;
const idleSleepMs = Number(flag("idle-sleep-ms") ?? "500");

let idleSince = Date.now();
console.log(`dispatcher ${worker} running`);
while (true) {
  const totals = await dispatch({ worker, budgetMs: 10_000, leaseSeconds, batchSize });
  if (totals.claimed > 0) {
    idleSince = Date.now();
    console.log(JSON.stringify({ worker, ...totals }));
  }
  if (once || Date.now() - idleSince > maxIdleMs) break;
  if (totals.claimed === 0) await new Promise((r) => setTimeout(r, idleSleepMs));
}
await closeDb();
