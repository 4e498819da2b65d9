// Starts the stack on test ports (so `npm start` may run beside the tests), pointed at the real
// local database: the real PostgREST, the API gateway (/rest/v1, /functions/v1, JWKS) and the fake
// provider. Every test, supabase-js included, goes through the same gateway as `npm start`.
import type { ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { ROOT, startDeno, startPostgrest, waitForHttp } from "../scripts/lib/stack.mjs";
import { TEST_PORTS } from "./support/ports.ts";

const children: ChildProcess[] = [];
const timeoutMs = 90_000;

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
  // PostgREST serves the database the tests use
  const postgrest = startPostgrest(TEST_PORTS.postgrest, { ...env, DB_PORT: new URL(TEST_PORTS.dbUrl).port || "5432" }, { stdout: "inherit" });
  // the webhook worker applies the webhook inbox (h12b)
  const [fakeProvider, gateway, worker] = ["scripts/fake-provider.ts", "scripts/functions-gateway.ts", "scripts/webhook-worker.ts"]
    .map((script) => startDeno(script, [], env, { stdout: "inherit", allowWrite: `${ROOT}/.db` }));
  children.push(postgrest, fakeProvider, gateway, worker);
  await waitForHttp(`${provider}/__requests`, { timeoutMs, child: fakeProvider });
  await waitForHttp(`http://127.0.0.1:${TEST_PORTS.functions}/functions/v1/health`, { timeoutMs, child: gateway });
  await waitForHttp(`http://127.0.0.1:${TEST_PORTS.postgrest}/`, { timeoutMs, ok: true, child: postgrest });
}

export async function teardown(): Promise<void> {
  for (const child of children) child.kill("SIGTERM");
}
