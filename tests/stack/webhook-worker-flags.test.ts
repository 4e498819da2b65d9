// The webhook worker refuses a flag that is not a whole number in range, naming it, before it
// touches the database (a NaN chunk used to reach apply_webhook_inbox on every loop).
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/lib/stack.mjs";

const worker = (...args: string[]) => spawnSync(resolve(ROOT, "node_modules/.bin/deno"), [
  "run", "--allow-net", "--allow-env", "--allow-read", "--config", "supabase/functions/deno.json", "scripts/webhook-worker.ts", ...args,
], { cwd: ROOT, encoding: "utf8", env: { ...process.env, SUPABASE_DB_URL: "postgresql://nobody@127.0.0.1:1/none" }, timeout: 30_000 });

describe("scripts/webhook-worker.ts flags", () => {
  it.each([
    [["--chunk", "0"], "--chunk must be a whole number >= 1; got 0"],
    [["--chunk"], "--chunk must be a whole number >= 1; got undefined"],
    [["--yield-ms", "-3"], "--yield-ms must be a whole number >= 0; got -3"],
    [["--appliers", "two"], "--appliers must be a whole number >= 0; got two"],
    [["--idle-ms", "1.5"], "--idle-ms must be a whole number >= 1; got 1.5"],
  ])("%j is refused with exit 2", (args, message) => {
    const run = worker(...args);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`webhook-worker: ${message}`);
  });
});
