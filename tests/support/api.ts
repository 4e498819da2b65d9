// supabase-js against the running test stack (gateway -> real PostgREST), as each persona.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import type { Database } from "../../types/database.ts";
import { accessToken, legacyKey, publishableKey, secretKey, signingKeys } from "../../scripts/keys.mjs";
import { sql } from "./index.ts";
import { API_URL, TEST_PORTS } from "./ports.ts";

export { API_URL };
export const REST_URL = `${API_URL}/rest/v1`;
export const POSTGREST_DIRECT = `http://127.0.0.1:${TEST_PORTS.postgrest}`;
export const PUBLISHABLE_KEY = publishableKey();
export const SECRET_KEY = secretKey();

export type Client = SupabaseClient<Database>;
export type Persona = "comms" | "admin" | "customer" | "anon" | "service";

export const SEEDED = {
  comms: "ada.admin@rental.test",
  admin: "alan.admin@rental.test",
  customer: "cora.customer@rental.test",
} as const;

export async function userByEmail(email: string): Promise<{ id: string; email: string }> {
  const [u] = await sql<{ id: string; email: string }[]>`select id, email from public.users where email = ${email}`;
  if (!u) throw new Error(`seeded user ${email} is missing`);
  return u;
}

// An ES256 access token as Supabase Auth issues it (signed with the local signing key).
export async function tokenFor(persona: "comms" | "admin" | "customer"): Promise<string> {
  return await accessToken(await userByEmail(SEEDED[persona]), 3600);
}

const options = { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false } };

// The typed client a frontend uses: the publishable key plus the signed-in user's token.
export async function clientAs(persona: Persona): Promise<Client> {
  if (persona === "anon") return createClient<Database>(API_URL, PUBLISHABLE_KEY, options);
  if (persona === "service") return createClient<Database>(API_URL, SECRET_KEY, options);
  const token = await tokenFor(persona);
  return createClient<Database>(API_URL, PUBLISHABLE_KEY, { ...options, accessToken: async () => token });
}

export async function clients(): Promise<Record<Persona, Client>> {
  const personas: Persona[] = ["comms", "admin", "customer", "anon", "service"];
  const entries = await Promise.all(personas.map(async (p) => [p, await clientAs(p)] as const));
  return Object.fromEntries(entries) as Record<Persona, Client>;
}

export { legacyKey };

// Tokens that must be refused: each is a way a hostile caller might try.
export async function badTokens(sub: string): Promise<Record<string, string>> {
  const [jwk] = await signingKeys();
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub, role: "authenticated", aud: "authenticated" };
  const other = await generateKeyPair("ES256", { extractable: true });
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const { privateKey } = { privateKey: other.privateKey };
  return {
    // signed by another ES256 key that claims our kid
    "wrong signature": await new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: jwk.kid as string, typ: "JWT" })
      .setIssuedAt().setExpirationTime(now + 600).sign(privateKey),
    // a kid the JWKS does not hold
    "unknown kid": await new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: (await exportJWK(other.publicKey)).x!.slice(0, 8), typ: "JWT" })
      .setIssuedAt().setExpirationTime(now + 600).sign(privateKey),
    "alg none": `${enc({ alg: "none", typ: "JWT" })}.${enc({ ...claims, exp: now + 600 })}.`,
    "expired": await signedWithOurKey({ ...claims, exp: now - 60, iat: now - 120 }),
    "without exp": await signedWithOurKey({ ...claims, iat: now }),
    "legacy HS256 with another secret": await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuedAt().setExpirationTime(now + 600).sign(new TextEncoder().encode("another-secret-another-secret-another-secret")),
    "malformed": "not.a.jwt",
  };
}

async function signedWithOurKey(payload: Record<string, unknown>): Promise<string> {
  const [jwk] = await signingKeys();
  const { importJWK } = await import("jose");
  const key = await importJWK({ ...jwk, key_ops: ["sign"] }, "ES256");
  return await new SignJWT(payload).setProtectedHeader({ alg: "ES256", kid: jwk.kid as string, typ: "JWT" }).sign(key);
}

// A legacy HS256 user token (the JWT secret), still accepted.
export async function legacyUserToken(sub: string): Promise<string> {
  const secret = process.env.SUPABASE_JWT_SECRET ?? "super-secret-jwt-token-with-at-least-32-characters-long";
  return await new SignJWT({ sub, role: "authenticated", aud: "authenticated" }).setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt().setExpirationTime(Math.floor(Date.now() / 1000) + 600).sign(new TextEncoder().encode(secret));
}
