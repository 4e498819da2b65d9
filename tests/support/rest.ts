// The PostgREST the tests call: /rest/v1 behind the test stack's API gateway (tests/global-setup.ts
// starts both), reached as supabase-js reaches it, with the legacy anon JWT as `apikey`.
import { mintJwt } from "./index.ts";
import { API_URL } from "./ports.ts";

export interface RestApi {
  url: string; // base of /rest/v1 (no trailing slash)
  anonKey: string; // the legacy anon JWT, sent as `apikey` like supabase-js does
  stop(): Promise<void>;
}

export interface RestAnswer {
  status: number;
  body: any;
}

async function waitOk(url: string, headers: Record<string, string>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if ((await fetch(url, { headers })).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer 200 in ${timeoutMs} ms`);
}

export async function restApi(): Promise<RestApi> {
  const anonKey = await mintJwt("anon");
  const url = `${(process.env.SUPABASE_URL ?? API_URL).replace(/\/$/, "")}/rest/v1`;
  await waitOk(`${url}/`, { apikey: anonKey });
  return { url, anonKey, stop: async () => {} };
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
  await waitOk(`${api.url}/`, { apikey: api.anonKey }, 10_000).catch(() => {});
}
