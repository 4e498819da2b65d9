// The API gateway as Supabase's: API keys, signing keys (ES256 + legacy HS256), refusals as JSON,
// PostgREST's bodies unchanged, 503 while the database is down and recovery without a restart.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, Socket, type Server } from "node:net";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicJwks } from "../../scripts/keys.mjs";
import { sql } from "../support/index.ts";
import { API_URL, badTokens, legacyKey, legacyUserToken, POSTGREST_DIRECT, PUBLISHABLE_KEY, REST_URL, SECRET_KEY, tokenFor, userByEmail, SEEDED } from "../support/api.ts";
import { TEST_PORTS } from "../support/ports.ts";

let ada: { id: string; email: string };
let adaToken: string;

beforeAll(async () => {
  ada = await userByEmail(SEEDED.comms);
  adaToken = await tokenFor("comms");
});

async function rest(path: string, headers: Record<string, string>, init: RequestInit = {}): Promise<Response> {
  return await fetch(`${REST_URL}${path}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> ?? {}) } });
}

async function expectJson401(res: Response): Promise<Record<string, unknown>> {
  expect(res.status).toBe(401);
  expect(res.headers.get("content-type")).toContain("application/json");
  return await res.json();
}

describe("/rest/v1: API keys", () => {
  it("refuses a request without an apikey with 401 JSON", async () => {
    const body = await expectJson401(await rest("/customer_tags", {}));
    expect(body.message).toBe("No API key found in request");
  });

  it("refuses an unknown secret or publishable key, and a JWT key from another secret", async () => {
    for (const key of ["sb_secret_not-this-project", "sb_publishable_not-this-project", (await badTokens(ada.id))["legacy HS256 with another secret"]]) {
      const body = await expectJson401(await rest("/customer_tags", { apikey: key }));
      expect(body.code).toBe("PGRST301");
    }
  });

  it("the publishable key alone acts as anon: PostgREST refuses the CRM tables (42501 as 401)", async () => {
    const res = await rest("/customer_tags?select=name", { apikey: PUBLISHABLE_KEY });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe("42501");
  });

  it("the secret key alone (or as the Bearer too) acts as service_role", async () => {
    for (const headers of [{ apikey: SECRET_KEY }, { apikey: SECRET_KEY, Authorization: `Bearer ${SECRET_KEY}` }] as Record<string, string>[]) {
      const res = await rest("/customer_tags?select=name&limit=1", headers);
      expect(res.status).toBe(200);
      expect(await res.json()).toHaveLength(1);
    }
    const viaQuery = await fetch(`${REST_URL}/customer_tags?select=name&limit=1&apikey=${SECRET_KEY}`);
    expect(viaQuery.status).toBe(200);
  });

  it("the legacy service_role and anon JWT keys still work", async () => {
    expect((await rest("/customer_tags?select=name&limit=1", { apikey: await legacyKey("service_role") })).status).toBe(200);
    expect((await rest("/customer_tags?select=name&limit=1", { apikey: await legacyKey("anon") })).status).toBe(401);
  });
});

describe("/rest/v1: user tokens", () => {
  it("an ES256 access token from the signing key reads as the user", async () => {
    const res = await rest(`/user_roles?select=role&order=role&user_id=eq.${ada.id}`, { apikey: PUBLISHABLE_KEY, Authorization: `Bearer ${adaToken}` });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([{ role: "admin" }, { role: "communications" }]);
  });

  it("a legacy HS256 user token is still accepted", async () => {
    const res = await rest(`/user_roles?select=role&order=role&user_id=eq.${ada.id}`, { apikey: PUBLISHABLE_KEY, Authorization: `Bearer ${await legacyUserToken(ada.id)}` });
    expect(res.status).toBe(200);
    expect(await res.json()).toHaveLength(2);
  });

  it("refuses every bad token with 401 JSON at the gateway, and PostgREST refuses them too", async () => {
    for (const [name, token] of Object.entries(await badTokens(ada.id))) {
      const res = await rest("/customer_tags?select=name", { apikey: PUBLISHABLE_KEY, Authorization: `Bearer ${token}` });
      const body = await expectJson401(res);
      expect(body.code, name).toBe("PGRST301");
      if (name !== "without exp") {
        // PostgREST 12 accepts a token without exp; the gateway is what refuses it (as Supabase's does).
        const direct = await fetch(`${POSTGREST_DIRECT}/customer_tags?select=name`, { headers: { Authorization: `Bearer ${token}` } });
        expect(direct.status, name).toBe(401);
      }
    }
  });

  it("passes PostgREST's error bodies through unchanged", async () => {
    const headers = { Authorization: `Bearer ${adaToken}`, "Content-Type": "application/json" };
    const body = JSON.stringify({ customer_id: ada.id, page_size: 0 });
    const direct = await fetch(`${POSTGREST_DIRECT}/rpc/customer_timeline`, { method: "POST", headers, body });
    const viaGateway = await fetch(`${REST_URL}/rpc/customer_timeline`, { method: "POST", headers: { ...headers, apikey: PUBLISHABLE_KEY }, body });
    expect(viaGateway.status).toBe(direct.status);
    expect(viaGateway.status).toBe(400);
    expect(await viaGateway.text()).toBe(await direct.text());
  });

  it("answers 404 JSON for unknown tables and functions under /rest/v1", async () => {
    const h = { apikey: PUBLISHABLE_KEY, Authorization: `Bearer ${adaToken}` };
    const table = await rest("/no_such_table", h);
    expect(table.status).toBe(404);
    expect((await table.json()).code).toBe("42P01");
    const fn = await rest("/rpc/no_such_function", { ...h, "Content-Type": "application/json" }, { method: "POST", body: "{}" });
    expect(fn.status).toBe(404);
    expect((await fn.json()).code).toBe("PGRST202");
  });
});

describe("/functions/v1 and the rest of the gateway", () => {
  it("refuses every bad token with 401 JSON", async () => {
    for (const [name, token] of Object.entries(await badTokens(ada.id))) {
      const res = await fetch(`${API_URL}/functions/v1/health`, { headers: { Authorization: `Bearer ${token}` } });
      const body = await expectJson401(res);
      expect((body.error as { code: string }).code, name).toBe("invalid_jwt");
    }
  });

  it("refuses a wrong apikey with 401 JSON", async () => {
    const res = await fetch(`${API_URL}/functions/v1/health`, { headers: { apikey: "sb_secret_wrong", Authorization: `Bearer ${adaToken}` } });
    expect((await expectJson401(res)).error).toMatchObject({ code: "invalid_api_key" });
  });

  it("accepts the ES256 token, the legacy token and the keys, each as its role", async () => {
    const as = async (headers: Record<string, string>) => {
      const res = await fetch(`${API_URL}/functions/v1/health`, { headers });
      expect(res.status).toBe(200);
      return (await res.json()).db_role;
    };
    expect(await as({ Authorization: `Bearer ${adaToken}`, apikey: PUBLISHABLE_KEY })).toBe("authenticated");
    expect(await as({ Authorization: `Bearer ${await legacyUserToken(ada.id)}` })).toBe("authenticated");
    expect(await as({ apikey: SECRET_KEY })).toBe("service_role");
    expect(await as({ Authorization: `Bearer ${await legacyKey("service_role")}` })).toBe("service_role");
    expect(await as({ apikey: PUBLISHABLE_KEY, Authorization: `Bearer ${PUBLISHABLE_KEY}` })).toBe("anon");
  });

  it("server-to-server: dispatch-messages takes a secret key or the legacy service_role key, not the publishable key", async () => {
    const call = (headers: Record<string, string>) =>
      fetch(`${API_URL}/functions/v1/dispatch-messages`, { method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify({ budget_ms: 500 }) });
    expect((await call({ apikey: SECRET_KEY })).status).toBe(200);
    expect((await call({ Authorization: `Bearer ${await legacyKey("service_role")}` })).status).toBe(200);
    expect((await call({ apikey: PUBLISHABLE_KEY })).status).toBe(403);
    // What the pg_cron jobs send, built by the same SQL (private.provider_job_headers)
    for (const key of [SECRET_KEY, await legacyKey("service_role")]) {
      const [{ headers }] = await sql<{ headers: Record<string, string> }[]>`select private.provider_job_headers(${key}) as headers`;
      expect((await call(headers)).status).toBe(200);
    }
  });

  it("serves the JWKS with the public signing key only", async () => {
    const res = await fetch(`${API_URL}/auth/v1/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    const jwks = await res.json();
    expect(jwks).toEqual(await publicJwks());
    expect(jwks.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256" });
    expect(jwks.keys.every((k: Record<string, unknown>) => !("d" in k) && k.kty !== "oct")).toBe(true);
  });

  it("answers 404 JSON for unknown routes", async () => {
    for (const path of ["/", "/nope", "/functions/v1/no-such-function", "/auth/v1/token", "/storage/v1/object"]) {
      const res = await fetch(`${API_URL}${path}`, { headers: { apikey: PUBLISHABLE_KEY } });
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type"), path).toContain("application/json");
      await res.json();
    }
  });
});

// A second stack whose database connection passes a TCP proxy this test can cut: PostgREST and
// the functions answer 503 JSON while the database is unreachable and recover without a restart.
describe("database down", () => {
  const root = resolve(import.meta.dirname, "../..");
  // free ports, asked of the OS (fixed offsets can collide with another checkout's stack)
  let proxyPort = 0;
  let postgrestPort = 0;
  let gatewayPort = 0;
  const dbPort = Number(new URL(TEST_PORTS.dbUrl).port);
  const children: ChildProcess[] = [];
  const sockets = new Set<Socket>();
  let proxy: Server | undefined;
  let down = false;

  function openProxy(): Promise<void> {
    proxy = createServer((client) => {
      if (down) return client.destroy();
      const upstream = new Socket();
      upstream.connect(dbPort, "127.0.0.1");
      sockets.add(client).add(upstream);
      const drop = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
      client.pipe(upstream).pipe(client);
    });
    return new Promise((r, reject) => {
      proxy!.once("error", reject);
      proxy!.listen(proxyPort, "127.0.0.1", () => r());
    });
  }

  async function freePort(): Promise<number> {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
    const { port } = probe.address() as { port: number };
    await new Promise((r) => probe.close(r));
    return port;
  }

  async function until(check: () => Promise<boolean>, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await check().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error("condition not reached");
  }

  const restStatus = async () => (await fetch(`http://127.0.0.1:${gatewayPort}/rest/v1/customer_tags?select=name&limit=1`, { headers: { apikey: SECRET_KEY } }));
  const fnStatus = async () => (await fetch(`http://127.0.0.1:${gatewayPort}/functions/v1/health`, { headers: { apikey: SECRET_KEY } }));

  beforeAll(async () => {
    [proxyPort, postgrestPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
    await openProxy();
    const env = { ...process.env, DB_PORT: String(proxyPort), PGRST_LOG_LEVEL: "crit" };
    children.push(spawn("bash", ["scripts/postgrest.sh", String(postgrestPort)], { cwd: root, env, stdio: "ignore" }));
    children.push(spawn(resolve(root, "node_modules/.bin/deno"), ["run", "--allow-net", "--allow-env", "--allow-read", `--allow-write=${root}/.db`, "--allow-sys",
      "--config", "supabase/functions/deno.json", "scripts/functions-gateway.ts"], {
      cwd: root,
      env: { ...env, FUNCTIONS_PORT: String(gatewayPort), POSTGREST_URL: `http://127.0.0.1:${postgrestPort}`,
        SUPABASE_DB_URL: `postgresql://postgres:postgres@127.0.0.1:${proxyPort}/postgres`, DB_POOL_SIZE: "2" },
      stdio: "ignore",
    }));
    await until(async () => (await restStatus()).status === 200 && (await fnStatus()).status === 200, 60_000);
  }, 90_000);

  afterAll(async () => {
    for (const c of children) c.kill("SIGTERM");
    down = true;
    for (const s of sockets) s.destroy();
    await new Promise((r) => proxy?.close(() => r(null)));
  });

  it("answers 503 JSON while the database is unreachable, then recovers without a restart", async () => {
    down = true;
    for (const s of sockets) s.destroy();
    await until(async () => (await restStatus()).status === 503);
    const r = await restStatus();
    expect(r.status).toBe(503);
    expect(r.headers.get("content-type")).toContain("application/json");
    expect(await r.json()).toHaveProperty("code");
    await until(async () => (await fnStatus()).status === 503);
    const f = await fnStatus();
    expect(f.status).toBe(503);
    expect((await f.json()).error.code).toBe("database_unavailable");

    down = false;
    await until(async () => (await restStatus()).status === 200, 60_000);
    await until(async () => (await fnStatus()).status === 200, 60_000);
  }, 150_000);

  it("answers 503 JSON when PostgREST itself is gone", async () => {
    children[0].kill("SIGTERM");
    await until(async () => (await restStatus()).status === 503);
    const r = await restStatus();
    expect(r.headers.get("content-type")).toContain("application/json");
    expect((await r.json()).message).toMatch(/unavailable/);
  }, 60_000);
});
