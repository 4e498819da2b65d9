// The local stack's signing keys and API keys, as Supabase has them today:
// - an ES256 key pair (JWT signing key) made once and kept in .db/signing-keys.json (private JWKs,
//   the format of `supabase/signing_keys.json`); its public half is the JWKS served at
//   /auth/v1/.well-known/jwks.json and given to PostgREST and the functions;
// - the publishable / secret API keys (sb_publishable_… / sb_secret_…, from the environment);
// - the legacy HS256 secret and the legacy anon / service_role JWTs (still accepted).
// Used by Node (scripts, tests) and Deno (the gateway). CLI:
//   node scripts/keys.mjs env                         shell exports for the stack
//   node scripts/keys.mjs token <email> [ttl-seconds]  an access token for a seeded login
//   node scripts/keys.mjs role <anon|service_role> [ttl]  a short-lived ES256 token for a role
import { exportJWK, generateKeyPair, importJWK, SignJWT } from "jose";
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { randomUUID } from "node:crypto";
import { Buffer } from "node:buffer";
import { fileURLToPath } from "node:url";

const env = (name, fallback) => {
  const v = globalThis.Deno ? globalThis.Deno.env.get(name) : globalThis.process?.env[name];
  return v === undefined || v === "" ? fallback : v;
};

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
export const jwtSecret = () => env("SUPABASE_JWT_SECRET", DEFAULT_JWT_SECRET);
export const publishableKey = () => env("SUPABASE_PUBLISHABLE_KEY", "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH");
export const secretKey = () => env("SUPABASE_SECRET_KEY", "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz");
export const signingKeysPath = () => env("SUPABASE_SIGNING_KEYS_PATH", resolve(ROOT, ".db/signing-keys.json"));
export const apiUrl = () => `http://127.0.0.1:${env("FUNCTIONS_PORT", "54321")}`;

// The private signing keys (an array of JWKs), made once.
export async function signingKeys() {
  const path = signingKeysPath();
  if (!existsSync(path)) {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: "ES256", use: "sig", key_ops: ["sign", "verify"], ext: true };
    mkdirSync(dirname(path), { recursive: true });
    // the stack's processes start side by side and may all find no keys: the first link wins and
    // every process reads that one (a file written in place could be overwritten by a second key)
    const tmp = `${path}.${randomUUID()}.tmp`;
    writeFileSync(tmp, JSON.stringify([jwk], null, 2) + "\n", { mode: 0o600 });
    chmodSync(tmp, 0o600);
    try {
      linkSync(tmp, path);
    } catch (err) {
      if (err?.code !== "EEXIST") throw err;
    } finally {
      unlinkSync(tmp);
    }
  }
  return JSON.parse(readFileSync(path, "utf8"));
}

// What /auth/v1/.well-known/jwks.json serves: the public halves only.
export async function publicJwks() {
  return { keys: (await signingKeys()).map(({ d: _d, key_ops: _ops, ...pub }) => ({ ...pub, key_ops: ["verify"] })) };
}

// PostgREST's jwt-secret: the public signing keys plus the legacy HS256 secret as an oct key.
export async function postgrestJwks() {
  const k = Buffer.from(jwtSecret()).toString("base64url");
  return { keys: [...(await publicJwks()).keys, { kty: "oct", k, alg: "HS256" }] };
}

const now = () => Math.floor(Date.now() / 1000);

export async function signEs256(claims, ttlSeconds) {
  const [jwk] = await signingKeys();
  const key = await importJWK({ ...jwk, key_ops: ["sign"] }, "ES256");
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: jwk.kid, typ: "JWT" })
    .setIssuer(`${apiUrl()}/auth/v1`)
    .setIssuedAt()
    .setExpirationTime(now() + Number(ttlSeconds))
    .sign(key);
}

// A role token as the gateway substitutes for an API key (short-lived).
export async function roleToken(role, ttlSeconds = 300) {
  return await signEs256({ role }, ttlSeconds);
}

// An access token as Supabase Auth issues it for a signed-in user.
export async function accessToken(user, ttlSeconds = 3600) {
  return await signEs256({
    sub: user.id, aud: "authenticated", role: "authenticated", email: user.email, phone: "",
    app_metadata: { provider: "email", providers: ["email"] }, user_metadata: {},
    aal: "aal1", amr: [{ method: "password", timestamp: now() }], session_id: randomUUID(), is_anonymous: false,
  }, ttlSeconds);
}

// The legacy anon / service_role keys: HS256 JWTs with the legacy secret (as `supabase start` makes them).
export async function legacyKey(role) {
  return await new SignJWT({ iss: "supabase-demo", role })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setExpirationTime(1983812996)
    .sign(new TextEncoder().encode(jwtSecret()));
}

export async function stackEnv() {
  return {
    SUPABASE_URL: apiUrl(),
    SUPABASE_PUBLISHABLE_KEY: publishableKey(),
    SUPABASE_SECRET_KEY: secretKey(),
    SUPABASE_JWT_SECRET: jwtSecret(),
    SUPABASE_JWKS: JSON.stringify(await publicJwks()),
    SUPABASE_ANON_KEY: await legacyKey("anon"),
    SUPABASE_SERVICE_ROLE_KEY: await legacyKey("service_role"),
    PGRST_JWT_SECRET: JSON.stringify(await postgrestJwks()),
  };
}

const isMain = globalThis.process?.argv?.[1] && resolve(globalThis.process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const [cmd, arg, ttl] = process.argv.slice(2);
  if (cmd === "env") {
    for (const [k, v] of Object.entries(await stackEnv())) console.log(`export ${k}='${v}'`);
  } else if (cmd === "token") {
    const { default: postgres } = await import("postgres");
    const sql = postgres(env("DB_URL", "postgresql://postgres:postgres@127.0.0.1:54322/postgres"), { max: 1, onnotice: () => {} });
    const [user] = await sql`select id, email from public.users where lower(email) = lower(${arg})`;
    await sql.end();
    if (!user) { console.error(`no user with email ${arg}`); process.exit(1); }
    console.log(await accessToken(user, ttl ?? 3600));
  } else if (cmd === "role") {
    console.log(await roleToken(arg, ttl ?? 300));
  } else {
    console.error("usage: node scripts/keys.mjs env | token <email> [ttl] | role <anon|service_role> [ttl]");
    process.exit(2);
  }
}
