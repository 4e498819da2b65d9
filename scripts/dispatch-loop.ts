// A dispatcher process: rounds of claim → send → complete, forever (or --once / --max-idle-ms).
// `npm start` runs one; the reliability tests start and kill several.
//   deno run -A --config supabase/functions/deno.json scripts/dispatch-loop.ts [--worker w1] [--once] [--lease 60]
import { fromFileUrl, loadDotEnv } from "./lib/deno-util.ts";
import { dispatch, isConnectionError } from "../supabase/functions/_shared/messaging/dispatch.ts";
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
let backoffMs = 0;
console.log(`dispatcher ${worker} running`);
while (true) {
  let totals;
  try {
    totals = await dispatch({ worker, budgetMs: 10_000, leaseSeconds, batchSize });
    backoffMs = 0;
  } catch (err) {
    // a database restart or a dropped connection is waited out with back-off, never an exit;
    // whatever this round had claimed is recorded as in doubt or re-claimed by the usual rules
    backoffMs = Math.min(backoffMs ? backoffMs * 2 : 250, 5_000);
    console.error(JSON.stringify({ worker, error: (err as Error).message, code: (err as { code?: string }).code,
                                   connection: isConnectionError(err), retry_in_ms: backoffMs }));
    idleSince = Date.now();
    await new Promise((r) => setTimeout(r, backoffMs));
    continue;
  }
  if (totals.claimed > 0 || totals.reconciled > 0 || totals.waiting > 0) {
    idleSince = Date.now();
    if (totals.claimed > 0 || totals.reconciled > 0) console.log(JSON.stringify({ worker, ...totals }));
  }
  if (once || Date.now() - idleSince > maxIdleMs) break;
  if (totals.claimed === 0) await new Promise((r) => setTimeout(r, idleSleepMs));
}
await closeDb();
