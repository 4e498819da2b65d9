// Serves the built admin console (console/dist) on CONSOLE_PORT, plus two local-only files the
// console reads at start-up:
//   /console-config.json  {apiUrl, anonKey, localSignIn}: the console's only configuration
//   /local-logins.json    the seeded logins with tokens minted by the local stack (local sign-in)
// Neither is an API: the console talks to the backend only through supabase-js at apiUrl.
//
// Until the gateway serves /rest/v1 itself, CONSOLE_REST_UPSTREAM (a PostgREST base URL) makes this
// server a stand-in for the gateway too: /rest/v1/* goes to PostgREST and /functions/v1/* to the
// functions gateway at CONSOLE_FUNCTIONS_UPSTREAM, and apiUrl is this server's own origin.
//   node scripts/console-server.mjs
import { createServer, request as httpRequest } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { existsSync } from "node:fs";
import { mintJwt } from "./mint-jwt.mjs";

const root = resolve(import.meta.dirname, "..");
const dist = join(root, "console/dist");
const port = Number(process.env.CONSOLE_PORT ?? 54323);
const host = "127.0.0.1";
const origin = `http://${host}:${port}`;
const restUpstream = process.env.CONSOLE_REST_UPSTREAM ?? "";
const functionsUpstream = process.env.CONSOLE_FUNCTIONS_UPSTREAM ?? `http://127.0.0.1:${process.env.FUNCTIONS_PORT ?? 54321}`;
const apiUrl = process.env.CONSOLE_API_URL ?? (restUpstream ? origin : functionsUpstream);
const localSignIn = process.env.CONSOLE_LOCAL_SIGN_IN !== "false";

const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".json": "application/json", ".png": "image/png" };

// With the gateway of the local stack (scripts/keys.mjs present and no stand-in): the publishable
// key, the secret key to list the logins, and ES256 access tokens as Supabase Auth issues them.
// With the stand-in PostgREST: the legacy HS256 anon / service_role JWTs and HS256 user tokens.
const keys = !restUpstream && existsSync(join(root, "scripts/keys.mjs")) ? await import("./keys.mjs") : null;

async function anonKey() {
  return process.env.CONSOLE_ANON_KEY ?? (keys ? keys.publishableKey() : await mintJwt("anon", undefined, 3600 * 24 * 365));
}

async function serviceHeaders() {
  if (keys) return { apikey: keys.secretKey() };
  const service = await mintJwt("service_role");
  return { apikey: service, Authorization: `Bearer ${service}` };
}

async function userToken(user) {
  return keys ? await keys.accessToken(user, 3600 * 12) : await mintJwt("authenticated", user.id, 3600 * 12);
}

// The seeded logins, looked up through the API with the service role (the same call any local
// tool could make), each with a fresh token for its own user.
async function localLogins() {
  const url = `${apiUrl}/rest/v1/users?select=id,email,full_name,user_roles(role)&email=like.*%40rental.test&order=email`;
  const res = await fetch(url, { headers: await serviceHeaders() });
  if (!res.ok) throw new Error(`listing the seeded logins failed: ${res.status} ${await res.text()}`);
  const users = await res.json();
  return await Promise.all(users.map(async (u) => ({
    id: u.id, email: u.email, full_name: u.full_name, roles: u.user_roles.map((r) => r.role),
    access_token: await userToken(u),
  })));
}

function proxy(req, res, upstream, stripPrefix = "") {
  const target = new URL(upstream.replace(/\/$/, "") + req.url.slice(stripPrefix.length));
  const out = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  out.on("error", (err) => {
    res.writeHead(502, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: { code: "bad_gateway", message: `${target.origin}: ${err.message}` } }));
  });
  req.pipe(out);
}

function sendJson(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  res.end(JSON.stringify(body));
}

const server = createServer(async (req, res) => {
  const path = new URL(req.url ?? "/", origin).pathname;
  try {
    if (restUpstream && path.startsWith("/rest/v1/")) return proxy(req, res, restUpstream, "/rest/v1");
    if (restUpstream && path.startsWith("/functions/v1/")) return proxy(req, res, functionsUpstream);
    if (path === "/console-config.json") return sendJson(res, 200, { apiUrl, anonKey: await anonKey(), localSignIn });
    if (path === "/local-logins.json") {
      if (!localSignIn) return sendJson(res, 404, { error: "local sign-in is off" });
      return sendJson(res, 200, await localLogins());
    }
    let file = normalize(join(dist, path));
    if (!file.startsWith(dist)) return sendJson(res, 400, { error: "bad path" });
    const s = await stat(file).catch(() => null);
    if (!s || s.isDirectory()) file = join(dist, "index.html"); // the SPA's routes
    const body = await readFile(file);
    res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream" });
    res.end(body);
  } catch (err) {
    sendJson(res, 500, { error: String(err?.message ?? err) });
  }
});
server.listen(port, host, () => console.log(`console on ${origin} (API ${apiUrl})`));
