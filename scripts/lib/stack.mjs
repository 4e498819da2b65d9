// Starting the local stack's processes, one way for the tests (tests/global-setup.ts, the
// console's harness, the dispatcher processes of the messaging tests) and the benchmarks.
import { spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

// A child process in the repository's root with the environment plus env; stdin closed, stderr
// shown, stdout ignored unless asked for.
export function startProcess(command, args, env = {}, { stdout = "ignore" } = {}) {
  return spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", stdout, "inherit"] });
}

// A Deno script of the stack (scripts/*.ts) with the functions' import map; allowWrite names the
// one folder it may write to (the gateway keeps its signing keys in .db).
export function startDeno(script, args = [], env = {}, { stdout = "ignore", allowWrite } = {}) {
  const write = allowWrite ? [`--allow-write=${allowWrite}`] : [];
  return startProcess(resolve(ROOT, "node_modules/.bin/deno"), [
    "run", "--allow-net", "--allow-env", "--allow-read", ...write, "--allow-sys", "--config", "supabase/functions/deno.json", script, ...args,
  ], env, { stdout });
}

// PostgREST (scripts/postgrest.sh) on port, against DB_PORT's database.
export function startPostgrest(port, env = {}, { stdout = "ignore" } = {}) {
  return startProcess("bash", ["scripts/postgrest.sh", String(port)], env, { stdout });
}

// Waits until url answers; with ok, until it answers 2xx (PostgREST answers 503 until its schema
// cache is loaded). With child, the process that should answer: its exit ends the wait at once.
export async function waitForHttp(url, { timeoutMs = 60_000, ok = false, stepMs = 200, child } = {}) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${url}: its process exited (${child.exitCode ?? child.signalCode}) before it answered; its stderr is above`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (!ok || res.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`${url} did not ${ok ? "answer 200" : "come up"} in ${timeoutMs} ms`);
}

// The exit code of a child process, once it has exited.
export async function exited(child) {
  if (child.exitCode !== null) return child.exitCode;
  return await new Promise((r) => child.on("exit", (code) => r(code)));
}
