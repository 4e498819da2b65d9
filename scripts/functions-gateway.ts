// Local stand-in for Supabase's edge gateway: serves /functions/v1/<name>, verifies the JWT the
// way Supabase's relay does (unless config.toml sets verify_jwt = false) and hands the request to
// supabase/functions/<name>/handler.ts.
import { fromFileUrl, loadDotEnv } from "./lib/deno-util.ts";
import { verifyJwt } from "../supabase/functions/_shared/auth.ts";
import { errorResponse } from "../supabase/functions/_shared/http.ts";

const root = fromFileUrl(new URL("..", import.meta.url));
loadDotEnv(`${root}/supabase/functions/.env`);

const port = Number(Deno.env.get("FUNCTIONS_PORT") ?? "54321");
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

const cors = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Headers": "authorization, x-client-info, apikey, content-type",
};

Deno.serve({ hostname: "127.0.0.1", port, onListen: () => console.log(`functions gateway on http://127.0.0.1:${port}/functions/v1/<name>`) }, async (req) => {
  const url = new URL(req.url);
  const match = /^\/functions\/v1\/([^/]+)(\/.*)?$/.exec(url.pathname);
  if (!match) return errorResponse(404, "not_found", "use /functions/v1/<name>");
  const name = match[1];
  const handler = await load(name);
  if (!handler) return errorResponse(404, "not_found", `no function named ${name}`);
  if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: cors });
  if (verifyJwtFor(name)) {
    const header = req.headers.get("Authorization") ?? "";
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!token) return errorResponse(401, "missing_jwt", "missing Authorization: Bearer <JWT> header");
    try {
      await verifyJwt(token);
    } catch (err) {
      return errorResponse(401, "invalid_jwt", (err as Error).message);
    }
  }
  try {
    return await handler(req);
  } catch (err) {
    console.error(`function ${name} threw`, err);
    return errorResponse(500, "internal", "the function failed");
  }
});
