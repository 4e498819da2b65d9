// Shared by the benchmarks: database, child processes, timing and reporting.
import { createServer } from "node:net";
import { cpus, loadavg } from "node:os";
import postgres from "postgres";

import { resolve } from "node:path";
import { ROOT, startDeno as startStackDeno } from "../lib/stack.mjs";

// processes are started as the tests start them
export { exited, ROOT as root, startPostgrest, waitForHttp } from "../lib/stack.mjs";
// the benchmarks' Deno scripts may write .db/ (on a fresh checkout the gateway makes its signing keys there)
export const startDeno = (script, args = [], env = {}) => startStackDeno(script, args, env, { allowWrite: resolve(ROOT, ".db") });
export const DB_URL = process.env.DB_URL ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
export const sql = postgres(DB_URL, { max: 4, onnotice: () => {} });

// A TCP port nobody listens on now: benchmarks start their own servers there, so they never
// collide with a running `npm start` (or another benchmark).
export async function freePort() {
  return await new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

// The machine's state, measured: cores and the 1/5/15-minute load average.
export function machine() {
  return `${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`;
}

export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const figures = [];
// One JSON line per figure, and a table at the end.
export function report(figure) {
  figures.push(figure);
  console.log(JSON.stringify(figure));
}

export function printTable(title) {
  console.log(`\n${title}; at the end: ${machine()}`);
  const keys = ["figure", "value", "unit", "baseline", "ratio", "target", "ok"];
  const rows = figures.map((f) => keys.map((k) => (f[k] === undefined ? "" : String(f[k]))));
  const widths = keys.map((k, i) => Math.max(k.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  console.log(line(keys));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}
