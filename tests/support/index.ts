// What the TypeScript tests share: JWTs, the database, the functions and the fake provider.
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import postgres from "postgres";
import { TEST_PORTS } from "./ports.ts";

export const FUNCTIONS_URL = `http://127.0.0.1:${TEST_PORTS.functions}/functions/v1`;
export const PROVIDER_URL = `http://127.0.0.1:${TEST_PORTS.fakeProvider}`;
export const JWT_SECRET = process.env.SUPABASE_JWT_SECRET ?? "super-secret-jwt-token-with-at-least-32-characters-long";

export const sql = postgres(TEST_PORTS.dbUrl, { max: 4, onnotice: () => {} });

export async function mintJwt(
  role: string,
  sub?: string,
  opts: { ttlSeconds?: number; secret?: string } = {},
): Promise<string> {
  const jwt = new SignJWT({ role })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (opts.ttlSeconds ?? 3600));
  if (sub) jwt.setSubject(sub);
  return await jwt.sign(new TextEncoder().encode(opts.secret ?? JWT_SECRET));
}

export interface TestUser {
  id: string;
  email: string;
  jwt: string;
}

// A user with the given staff roles (none: a customer), and a JWT for them.
export async function createUser(roles: string[] = [], fields: Record<string, string | null> = {}): Promise<TestUser> {
  const id = randomUUID();
  const email = fields.email ?? `test-${id}@example.test`;
  await sql.begin(async (tx) => {
    await tx`insert into auth.users (id, email) values (${id}, ${email})`;
    await tx`insert into public.users (id, email, full_name, city, phone)
             values (${id}, ${email}, ${fields.full_name ?? "Test User"}, ${fields.city ?? null}, ${fields.phone ?? null})`;
    for (const role of roles) await tx`insert into public.user_roles (user_id, role) values (${id}, ${role})`;
  });
  return { id, email, jwt: await mintJwt("authenticated", id) };
}

export interface CallOptions {
  method?: string;
  jwt?: string | null;
  body?: unknown;
  query?: Record<string, string>;
  headers?: Record<string, string>;
}

export async function callFunction(name: string, opts: CallOptions = {}): Promise<Response> {
  const url = new URL(`${FUNCTIONS_URL}/${name}`);
  for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.jwt) headers.Authorization = `Bearer ${opts.jwt}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["Content-Type"] ??= "application/json";
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  }
  return await fetch(url, { method: opts.method ?? (body ? "POST" : "GET"), headers, body });
}

export const fakeProvider = {
  async reset(): Promise<void> {
    await fetch(`${PROVIDER_URL}/__reset`, { method: "POST" });
  },
  async control(settings: Record<string, unknown>): Promise<void> {
    await fetch(`${PROVIDER_URL}/__control`, { method: "POST", body: JSON.stringify(settings) });
  },
  async requests(since = 0): Promise<Array<{ seq: number; at: number; method: string; path: string; query: Record<string, string>; headers: Record<string, string>; body: any; status: number }>> {
    return await (await fetch(`${PROVIDER_URL}/__requests?since=${since}`)).json();
  },
};
