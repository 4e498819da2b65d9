// Starts the stack on test ports (so `npm start` may run beside the tests), pointed at the real
// local database: the real PostgREST, the API gateway (/rest/v1, /functions/v1, JWKS) and the fake
// provider. Every test, supabase-js included, goes through the same gateway as `npm start`.
import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { resolve } from "node:path";
import { TEST_PORTS } from "./support/ports.ts";

const root = resolve(import.meta.dirname, "..");
const deno = resolve(root, "node_modules/.bin/deno");
const children: ChildProcess[] = [];

async function waitFor(url: string, timeoutMs = 90_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`${url} did not come up in ${timeoutMs} ms`);
}

// PostgREST answers 503 until its schema cache is loaded.
async function waitForOk(url: string, timeoutMs = 90_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if ((await fetch(url)).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer 200 in ${timeoutMs} ms`);
}

function start(script: string, env: Record<string, string>): void {
  const child = spawn(deno, ["run", "--allow-net", "--allow-env", "--allow-read", `--allow-write=${root}/.db`, "--allow-sys",
    "--config", "supabase/functions/deno.json", script], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  children.push(child);
}

export async function setup(): Promise<void> {
  const provider = `http://127.0.0.1:${TEST_PORTS.fakeProvider}`;
  // The tests sign SendGrid events with a key pair made here; the gateway gets the public half.
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const env = {
    SENDGRID_WEBHOOK_PUBLIC_KEY: publicKey.export({ format: "der", type: "spki" }).toString("base64"),
    TEST_SENDGRID_PRIVATE_KEY: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    FAKE_PROVIDER_PORT: String(TEST_PORTS.fakeProvider),
    FUNCTIONS_PORT: String(TEST_PORTS.functions),
    POSTGREST_URL: `http://127.0.0.1:${TEST_PORTS.postgrest}`,
    SUPABASE_URL: `http://127.0.0.1:${TEST_PORTS.functions}`,
    PGRST_LOG_LEVEL: "crit",
    SUPABASE_DB_URL: TEST_PORTS.dbUrl,
    PUBLIC_FUNCTIONS_URL: `http://127.0.0.1:${TEST_PORTS.functions}/functions/v1`,
    SENDGRID_API_KEY: "SG.test-key",
    SENDGRID_BASE_URL: provider,
    TWILIO_ACCOUNT_SID: "ACtest0000000000000000000000000000",
    TWILIO_AUTH_TOKEN: "test-twilio-auth-token",
    TWILIO_BASE_URL: provider,
    EXPO_PUSH_BASE_URL: provider,
  };
  Object.assign(process.env, env);
  const postgrest = spawn("bash", ["scripts/postgrest.sh", String(TEST_PORTS.postgrest)], {
    cwd: root,
    // PostgREST serves the database the tests use
    env: { ...process.env, ...env, DB_PORT: new URL(TEST_PORTS.dbUrl).port || "5432" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  children.push(postgrest);
  start("scripts/fake-provider.ts", env);
  start("scripts/functions-gateway.ts", env);
  await waitFor(`${provider}/__requests`);
  await waitFor(`http://127.0.0.1:${TEST_PORTS.functions}/functions/v1/health`);
  await waitForOk(`http://127.0.0.1:${TEST_PORTS.postgrest}/`);
}

export async function teardown(): Promise<void> {
  for (const child of children) child.kill("SIGTERM");
}
