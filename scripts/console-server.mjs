// Serves the built admin console (console/dist) on CONSOLE_PORT, plus two local-only files the
// console reads at start-up:
//   /console-config.json  {apiUrl, anonKey, localSignIn}: the console's only configuration
//   /local-logins.json    the seeded logins with tokens minted by the local stack (local sign-in)
// Neither is an API: the console talks to the backend only through supabase-js at apiUrl, the
// gateway (CONSOLE_API_URL, default http://127.0.0.1:$FUNCTIONS_PORT: /rest/v1 and /functions/v1).
//   node scripts/console-server.mjs
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { accessToken, publishableKey, secretKey } from "./keys.mjs";

const root = resolve(import.meta.dirname, "..");
const dist = join(root, "console/dist");
const port = Number(process.env.CONSOLE_PORT ?? 54323);
const host = "127.0.0.1";
const origin = `http://${host}:${port}`;
const apiUrl = process.env.CONSOLE_API_URL ?? `http://127.0.0.1:${process.env.FUNCTIONS_PORT ?? 54321}`;
const localSignIn = process.env.CONSOLE_LOCAL_SIGN_IN !== "false";

const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".json": "application/json", ".png": "image/png" };

// The publishable key, the secret key to list the logins, and ES256 access tokens as Supabase Auth
// issues them (scripts/keys.mjs: the local stack's signing key).
const anonKey = () => process.env.CONSOLE_ANON_KEY ?? publishableKey();

// The seeded logins, looked up through the API with the service role (the same call any local
// tool could make), each with a fresh token for its own user.
async function localLogins() {
  const url = `${apiUrl}/rest/v1/users?select=id,email,full_name,user_roles(role)&email=like.*%40rental.test&order=email`;
  const res = await fetch(url, { headers: { apikey: secretKey() } });
  if (!res.ok) throw new Error(`listing the seeded logins failed: ${res.status} ${await res.text()}`);
  const users = await res.json();
  return await Promise.all(users.map(async (u) => ({
    id: u.id, email: u.email, full_name: u.full_name, roles: u.user_roles.map((r) => r.role),
    access_token: await accessToken(u, 3600 * 12),
  })));
}

function sendJson(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  res.end(JSON.stringify(body));
}

const server = createServer(async (req, res) => {
  const path = new URL(req.url ?? "/", origin).pathname;
  try {
    if (path === "/console-config.json") return sendJson(res, 200, { apiUrl, anonKey: anonKey(), localSignIn });
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
