// Local stand-in for Supabase's API gateway at http://127.0.0.1:$FUNCTIONS_PORT:
//   /rest/v1/*                         proxied to the real PostgREST ($POSTGREST_URL)
//   /functions/v1/<name>               supabase/functions/<name>/handler.ts
//   /auth/v1/.well-known/jwks.json     the local public signing keys (also /auth/v1/jwks)
// API keys as the platform handles them: the `apikey` header (or ?apikey=) holds a publishable
// key (anon), a secret key (service_role) or a legacy anon/service_role JWT. For /rest/v1 the key
// is required; when Authorization is absent or is the key itself, the gateway substitutes a
// short-lived ES256 JWT for the key's role. A user JWT in Authorization is verified here (JWKS by
// kid, or the legacy HS256 secret; exp required) and again by PostgREST. Every refusal is JSON.
import { fromFileUrl, loadDotEnv } from "./lib/deno-util.ts";
import { keyRole, verifyJwt } from "../supabase/functions/_shared/auth.ts";
import { errorResponse, HttpError, limitBody, MiB } from "../supabase/functions/_shared/http.ts";
import { publicJwks, roleToken, stackEnv } from "./keys.mjs";

// A request body the Data API accepts (a bulk insert of some thousand rows fits).
const REST_MAX_BODY_BYTES = 8 * MiB;

const root = fromFileUrl(new URL("..", import.meta.url));
loadDotEnv(`${root}/supabase/functions/.env`);
// What Supabase gives every function (SUPABASE_URL, SUPABASE_JWKS, the keys), unless set already.
for (const [k, v] of Object.entries(await stackEnv())) if (!Deno.env.get(k) && !k.startsWith("PGRST_")) Deno.env.set(k, v);

const port = Number(Deno.env.get("FUNCTIONS_PORT") ?? "54321");
const postgrestUrl = Deno.env.get("POSTGREST_URL") ?? `http://127.0.0.1:${Deno.env.get("POSTGREST_PORT") ?? "54320"}`;
const config = await Deno.readTextFile(`${root}/supabase/config.toml`);

function verifyJwtFor(name: string): boolean {
  const section = new RegExp(`^\\[functions\\.${name.replace(/[-]/g, "\\-")}\\]([\\s\\S]*?)(?=^\\[|$(?![\\s\\S]))`, "m").exec(config);
  const flag = section && /^\s*verify_jwt\s*=\s*(true|false)/m.exec(section[1]);
  return flag ? flag[1] === "true" : true;
}

type Handler = (req: Request) => Response | Promise<Response>;
const handlers = new Map<string, Handler>();

async function load(name: string): Promise<Handler | undefined> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) return undefined;
  if (handlers.has(name)) return handlers.get(name);
  const path = `${root}/supabase/functions/${name}/handler.ts`;
  try {
    await Deno.stat(path);
  } catch {
    return undefined;
  }
  const mod = await import(`file://${path}`);
  handlers.set(name, mod.handler as Handler);
  return mod.handler as Handler;
}

const cors: Record<string, string> = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Headers": "authorization, x-client-info, apikey, content-type, prefer, range, accept-profile, content-profile, x-upsert, idempotency-key",
  "Access-Control-Allow-Methods": "GET, POST, PATCH, PUT, DELETE, HEAD, OPTIONS",
  "Access-Control-Expose-Headers": "content-range, content-location, preference-applied",
};

// PostgREST's error shape, so supabase-js reports gateway refusals like PostgREST's own.
function restError(status: number, code: string, message: string, hint: string | null = null): Response {
  return new Response(JSON.stringify({ code, details: null, hint, message }), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...cors },
  });
}

function apiKeyOf(req: Request, url: URL): string | null {
  return req.headers.get("apikey") ?? url.searchParams.get("apikey");
}

function bearerOf(req: Request): string | null | undefined {
  const header = req.headers.get("Authorization");
  if (header === null) return null;
  return /^Bearer\s+(\S+)$/i.exec(header)?.[1];
}

const HOP_BY_HOP = ["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer", "host", "content-length"];

async function rest(req: Request, url: URL): Promise<Response> {
  const apikey = apiKeyOf(req, url);
  if (!apikey) return restError(401, "PGRST000", "No API key found in request", "No `apikey` request header or url param was found.");
  let role: string | null;
  try {
    role = await keyRole(apikey, { jwtKeys: true });
  } catch (err) {
    return restError(401, "PGRST301", (err as Error).message, "Double check your publishable or secret API key.");
  }
  if (!role) return restError(401, "PGRST301", "Invalid API key", "Double check your publishable or secret API key.");

  const bearer = bearerOf(req);
  let authorization: string;
  if (bearer === undefined) {
    return restError(401, "PGRST301", "the Authorization header must be: Bearer <JWT>");
  } else if (bearer === null || bearer === apikey) {
    authorization = `Bearer ${apikey.startsWith("sb_") ? await roleToken(role, 300) : apikey}`;
  } else {
    try {
      await verifyJwt(bearer);
    } catch (err) {
      const message = err instanceof HttpError ? err.message : "the JWT is invalid";
      return restError(401, "PGRST301", message);
    }
    authorization = `Bearer ${bearer}`;
  }

  const target = new URL(postgrestUrl + url.pathname.replace(/^\/rest\/v1/, "") + url.search);
  target.searchParams.delete("apikey");
  const headers = new Headers(req.headers);
  for (const h of HOP_BY_HOP) headers.delete(h);
  headers.delete("apikey");
  headers.set("Authorization", authorization);
  headers.set("Accept-Encoding", "identity");
  // The same byte limit as the functions' (_shared/http.ts): by Content-Length up front, while
  // streaming for chunked bodies; PostgREST never receives more than REST_MAX_BODY_BYTES.
  const declared = req.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= REST_MAX_BODY_BYTES)) {
    await req.body?.cancel().catch(() => {});
    return restError(413, "PGRST413", `body: the Data API accepts at most ${REST_MAX_BODY_BYTES / MiB} MB per request`);
  }
  const limited = limitBody(req, REST_MAX_BODY_BYTES);
  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : limited.req.body,
      redirect: "manual",
    });
  } catch (err) {
    limited.discard();
    if (limited.exceeded()) {
      return restError(413, "PGRST413", `body: the Data API accepts at most ${REST_MAX_BODY_BYTES / MiB} MB per request`);
    }
    console.error("gateway: PostgREST unreachable:", (err as Error).message);
    return restError(503, "PGRST001", "the Data API (PostgREST) is unavailable; try again shortly");
  }
  const out = new Headers(upstream.headers);
  for (const h of HOP_BY_HOP) out.delete(h);
  for (const [k, v] of Object.entries(cors)) out.set(k, v);
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: out });
}

async function functions(req: Request, url: URL, name: string): Promise<Response> {
  const handler = await load(name);
  if (!handler) return errorResponse(404, "not_found", `no function named ${name}`);
  // An apikey, when sent, must be one of the project's keys (providers' webhooks send none).
  const apikey = apiKeyOf(req, url);
  if (apikey) {
    let role: string | null = null;
    try {
      role = await keyRole(apikey, { jwtKeys: true });
    } catch { /* answered below */ }
    if (!role) return errorResponse(401, "invalid_api_key", "Invalid API key: not a publishable, secret or legacy key of this project");
  }
  // The platform's verify_jwt check: a valid user JWT in Authorization (never an API key).
  if (verifyJwtFor(name)) {
    const token = bearerOf(req);
    if (!token) return errorResponse(401, "missing_jwt", "missing Authorization: Bearer <JWT> header");
    try {
      await verifyJwt(token);
    } catch (err) {
      return errorResponse(401, "invalid_jwt", err instanceof HttpError ? err.message : "the JWT is invalid");
    }
  }
  try {
    return await handler(req);
  } catch (err) {
    console.error(`function ${name} threw`, err);
    return errorResponse(500, "internal", "the function failed");
  }
}

async function jwks(): Promise<Response> {
  return new Response(JSON.stringify(await publicJwks()), {
    headers: { "Content-Type": "application/json", "Cache-Control": "public, max-age=600", ...cors },
  });
}

Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: () => console.log(`API gateway on http://127.0.0.1:${port} (/rest/v1 -> ${postgrestUrl}, /functions/v1, /auth/v1/.well-known/jwks.json)`),
}, async (req) => {
  const url = new URL(req.url);
  if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: cors });
  if (url.pathname === "/rest/v1" || url.pathname.startsWith("/rest/v1/")) return await rest(req, url);
  const fn = /^\/functions\/v1\/([^/]+)(\/.*)?$/.exec(url.pathname);
  if (fn) return await functions(req, url, fn[1]);
  if (url.pathname === "/auth/v1/.well-known/jwks.json" || url.pathname === "/auth/v1/jwks") return await jwks();
  if (url.pathname.startsWith("/auth/v1/")) {
    return errorResponse(404, "not_found", "the local stack has no Auth server: npm start prints an access token for each seeded login; only /auth/v1/.well-known/jwks.json is served");
  }
  return errorResponse(404, "not_found", "unknown route: use /rest/v1/<table or rpc/fn>, /functions/v1/<name> or /auth/v1/.well-known/jwks.json");
});
